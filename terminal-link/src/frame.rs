//! Frames on the serial line:
//! `STX(0x02) | VER(0x01) | SEQ | LEN (u16 BE) | PAYLOAD | ETX(0x03) | CRC (u16 BE)`, the CRC over
//! VER..ETX. A receiver answers a frame with ACK (0x06) or NAK (0x15); those are single bytes
//! outside any frame.
//!
//! [`FrameDecoder`] is a byte-at-a-time state machine with no I/O and no clock of its own: the
//! caller passes the time each byte arrived. It never allocates from a length it has not checked
//! (its buffer is sized once for the largest legal frame), abandons a partial frame after an
//! inter-byte gap, and after a damaged frame looks for the next STX.

use std::time::{Duration, Instant};

use crate::crc::{crc16, Crc16};

pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;
pub const ACK: u8 = 0x06;
pub const NAK: u8 = 0x15;
pub const VERSION: u8 = 0x01;
/// The largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 1024;
/// STX, VER, SEQ and the two length bytes.
const HEADER_LEN: usize = 5;
/// ETX and the two CRC bytes.
const TRAILER_LEN: usize = 3;
pub const MAX_FRAME: usize = HEADER_LEN + MAX_PAYLOAD + TRAILER_LEN;
/// A partial frame whose next byte is later than this is abandoned.
pub const INTER_BYTE_TIMEOUT: Duration = Duration::from_millis(500);

/// The payload does not fit in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a frame carries at most {MAX_PAYLOAD} payload bytes, not {0}")]
pub struct PayloadTooLong(pub usize);

/// The bytes of one frame.
pub fn encode(seq: u8, payload: &[u8]) -> Result<Vec<u8>, PayloadTooLong> {
    if payload.len() > MAX_PAYLOAD {
        return Err(PayloadTooLong(payload.len()));
    }
    let mut frame = Vec::with_capacity(wire_len(payload.len()));
    frame.push(STX);
    frame.push(VERSION);
    frame.push(seq);
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(payload);
    frame.push(ETX);
    let crc = crc16(&frame[1..]);
    frame.extend_from_slice(&crc.to_be_bytes());
    Ok(frame)
}

/// How many bytes a frame with a payload of `payload_len` bytes takes on the line.
pub const fn wire_len(payload_len: usize) -> usize {
    HEADER_LEN + payload_len + TRAILER_LEN
}

/// A frame that arrived whole and checked. Its `Debug` shows the payload's length only: a
/// payload carries card numbers and PIN blocks.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("seq", &self.seq)
            .field("payload", &format_args!("({} bytes)", self.payload.len()))
            .finish()
    }
}

/// What the decoder recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Frame(Frame),
    Ack,
    Nak,
    /// Bytes that began like a frame but were not one; the link answers NAK (except after a gap).
    Rejected(Rejection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("unknown protocol version {0:#04x}")]
    BadVersion(u8),
    #[error("declared payload length {0} is over {MAX_PAYLOAD}")]
    TooLong(u16),
    #[error("expected ETX after the payload, found {0:#04x}")]
    MissingEtx(u8),
    #[error("CRC mismatch on frame {seq}: sent {sent:#06x}, computed {computed:#06x}")]
    BadCrc { seq: u8, sent: u16, computed: u16 },
    #[error("abandoned a partial frame of {0} bytes after an inter-byte gap")]
    Gap(usize),
}

/// Turns arriving bytes into [`Received`] events.
pub struct FrameDecoder {
    buf: Box<[u8; MAX_FRAME]>,
    len: usize,
    last_byte_at: Option<Instant>,
    noise: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self {
            buf: Box::new([0; MAX_FRAME]),
            len: 0,
            last_byte_at: None,
            noise: 0,
        }
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes that arrived at `now`; events are appended to `out` in order.
    pub fn push(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<Received>) {
        for &byte in bytes {
            if let Some(rejected) = self.expire(now) {
                out.push(rejected);
            }
            self.last_byte_at = Some(now);
            self.step(byte, out);
        }
    }

    /// Abandons a partial frame whose last byte is older than the inter-byte timeout. The link
    /// calls this when its read times out, so a half frame does not wait for the next byte.
    pub fn expire(&mut self, now: Instant) -> Option<Received> {
        let last = self.last_byte_at?;
        if self.len > 0 && now.saturating_duration_since(last) > INTER_BYTE_TIMEOUT {
            let had = self.len;
            self.len = 0;
            return Some(Received::Rejected(Rejection::Gap(had)));
        }
        None
    }

    /// Bytes seen outside any frame (line noise, or what is left of damaged frames).
    pub fn noise_bytes(&self) -> u64 {
        self.noise
    }

    /// Whether a frame is partly received.
    pub fn in_frame(&self) -> bool {
        self.len > 0
    }

    fn step(&mut self, byte: u8, out: &mut Vec<Received>) {
        // A rejected frame's bytes after its STX are looked through again for the next STX,
        // ahead of anything still queued. Each pass starts later in a bounded buffer, so this ends.
        let mut queue = std::collections::VecDeque::new();
        let mut next = Some(byte);
        while let Some(byte) = next.take().or_else(|| queue.pop_front()) {
            if let Some(rescan) = self.accept(byte, out) {
                for &byte in rescan.iter().rev() {
                    queue.push_front(byte);
                }
            }
        }
    }

    /// One byte through the state machine. A rejection that should be rescanned returns the
    /// bytes after the rejected STX, this one included.
    fn accept(&mut self, byte: u8, out: &mut Vec<Received>) -> Option<Vec<u8>> {
        if self.len == 0 {
            match byte {
                STX => {
                    self.buf[0] = STX;
                    self.len = 1;
                }
                ACK => out.push(Received::Ack),
                NAK => out.push(Received::Nak),
                _ => self.noise += 1,
            }
            return None;
        }
        self.buf[self.len] = byte;
        self.len += 1;
        let rejection = match self.len {
            2 if byte != VERSION => Some(Rejection::BadVersion(byte)),
            HEADER_LEN => {
                let declared = self.declared_len();
                (usize::from(declared) > MAX_PAYLOAD).then_some(Rejection::TooLong(declared))
            }
            len if len > HEADER_LEN => {
                let payload = usize::from(self.declared_len());
                if len == HEADER_LEN + payload + 1 && byte != ETX {
                    Some(Rejection::MissingEtx(byte))
                } else {
                    if len == wire_len(payload) {
                        self.finish_frame(out);
                    }
                    None
                }
            }
            _ => None,
        };
        rejection.map(|rejection| {
            out.push(Received::Rejected(rejection));
            let rescan = self.buf[1..self.len].to_vec();
            self.len = 0;
            rescan
        })
    }

    fn declared_len(&self) -> u16 {
        u16::from_be_bytes([self.buf[3], self.buf[4]])
    }

    /// A whole frame is buffered: check its CRC. A bad CRC on a frame whose length and ETX
    /// agree means the boundary is right and the contents are not, so nothing is rescanned.
    fn finish_frame(&mut self, out: &mut Vec<Received>) {
        let total = self.len;
        self.len = 0;
        let mut crc = Crc16::default();
        crc.update(&self.buf[1..total - 2]);
        let sent = u16::from_be_bytes([self.buf[total - 2], self.buf[total - 1]]);
        let seq = self.buf[2];
        if crc.value() == sent {
            out.push(Received::Frame(Frame {
                seq,
                payload: self.buf[HEADER_LEN..total - TRAILER_LEN].to_vec(),
            }));
        } else {
            out.push(Received::Rejected(Rejection::BadCrc {
                seq,
                sent,
                computed: crc.value(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<Received> {
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        decoder.push(bytes, Instant::now(), &mut out);
        out
    }

    fn frame(seq: u8, payload: &[u8]) -> Received {
        Received::Frame(Frame {
            seq,
            payload: payload.to_vec(),
        })
    }

    #[test]
    fn a_frame_is_laid_out_as_documented() {
        let bytes = encode(7, b"AB").unwrap();
        assert_eq!(&bytes[..7], &[STX, VERSION, 7, 0x00, 0x02, b'A', b'B']);
        assert_eq!(bytes[7], ETX);
        assert_eq!(
            u16::from_be_bytes([bytes[8], bytes[9]]),
            crc16(&[VERSION, 7, 0, 2, b'A', b'B', ETX])
        );
        assert_eq!(decode(&bytes), vec![frame(7, b"AB")]);
    }

    #[test]
    fn noise_ack_and_nak_around_frames() {
        let mut bytes = vec![0xFF, 0x00, ACK, 0x41];
        bytes.extend(encode(1, b"x").unwrap());
        bytes.push(NAK);
        bytes.extend(encode(2, b"").unwrap());
        assert_eq!(
            decode(&bytes),
            vec![Received::Ack, frame(1, b"x"), Received::Nak, frame(2, b"")]
        );
    }

    #[test]
    fn a_bad_crc_is_rejected_and_the_next_frame_still_arrives() {
        let mut damaged = encode(3, b"hello").unwrap();
        damaged[6] ^= 0x20;
        let mut bytes = damaged;
        bytes.extend(encode(4, b"world").unwrap());
        let events = decode(&bytes);
        assert!(matches!(
            events[0],
            Received::Rejected(Rejection::BadCrc { seq: 3, .. })
        ));
        assert_eq!(events[1], frame(4, b"world"));
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn an_oversized_length_is_refused_before_anything_is_read() {
        let mut bytes = vec![STX, VERSION, 0, 0xFF, 0xFF];
        bytes.extend(encode(9, b"ok").unwrap());
        let events = decode(&bytes);
        assert_eq!(
            events,
            vec![
                Received::Rejected(Rejection::TooLong(0xFFFF)),
                frame(9, b"ok")
            ]
        );
    }

    #[test]
    fn a_missing_etx_resynchronises_on_a_later_stx() {
        let mut broken = encode(5, b"abc").unwrap();
        broken[8] = b'!';
        broken.truncate(9);
        let mut bytes = broken;
        bytes.extend(encode(6, b"def").unwrap());
        let events = decode(&bytes);
        assert_eq!(events[0], Received::Rejected(Rejection::MissingEtx(b'!')));
        assert_eq!(events.last(), Some(&frame(6, b"def")));
    }

    #[test]
    fn a_false_stx_in_noise_does_not_swallow_an_ack() {
        // Noise 0x02 followed by a real ACK: the ACK is not a version byte, so it is seen again.
        assert_eq!(
            decode(&[STX, ACK]),
            vec![
                Received::Rejected(Rejection::BadVersion(ACK)),
                Received::Ack
            ]
        );
    }

    #[test]
    fn a_gap_abandons_a_partial_frame() {
        let bytes = encode(1, b"late").unwrap();
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        let start = Instant::now();
        decoder.push(&bytes[..4], start, &mut out);
        decoder.push(&bytes[4..], start + Duration::from_millis(600), &mut out);
        assert_eq!(out, vec![Received::Rejected(Rejection::Gap(4))]);
        // The tail alone is noise; the next whole frame is fine.
        decoder.push(
            &encode(2, b"on time").unwrap(),
            start + Duration::from_millis(700),
            &mut out,
        );
        assert_eq!(out.last(), Some(&frame(2, b"on time")));
    }

    #[test]
    fn expire_reports_a_stale_partial_frame_without_waiting_for_a_byte() {
        let mut decoder = FrameDecoder::new();
        let mut out = Vec::new();
        let start = Instant::now();
        decoder.push(&[STX, VERSION], start, &mut out);
        assert_eq!(decoder.expire(start + Duration::from_millis(100)), None);
        assert_eq!(
            decoder.expire(start + Duration::from_millis(501)),
            Some(Received::Rejected(Rejection::Gap(2)))
        );
        assert!(!decoder.in_frame());
    }

    #[test]
    fn the_largest_payload_fits_and_one_more_byte_does_not() {
        let big = vec![0x55; MAX_PAYLOAD];
        assert_eq!(decode(&encode(0, &big).unwrap()), vec![frame(0, &big)]);
        assert_eq!(
            encode(0, &[0; MAX_PAYLOAD + 1]),
            Err(PayloadTooLong(MAX_PAYLOAD + 1))
        );
    }
}
