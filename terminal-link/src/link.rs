//! The link layer over any byte stream (a serial port, a pseudo-terminal): frames sent with
//! acknowledgement and retries, frames received with ACK/NAK and duplicate suppression.
//!
//! - A sender tries a frame at most [`LinkConfig::attempts`] times: after a NAK, or when no ACK
//!   came within [`LinkConfig::ack_timeout`] of its last byte. Then it reports [`LinkError::NoAck`].
//! - A receiver ACKs every good frame and NAKs a damaged one. A frame with the same SEQ and
//!   payload as the last one delivered is a retransmission whose ACK was lost: ACKed again, not
//!   delivered twice.
//! - A partial frame is abandoned after an inter-byte gap (see [`FrameDecoder`]).
//!
//! The protocol is request/response, so one task owns a link: frames that arrive while it waits
//! for an ACK are acknowledged and queued for the next [`Link::recv`].

use std::{collections::VecDeque, io, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    time::Instant,
};

use crate::frame::{self, Frame, FrameDecoder, Received, Rejection, ACK, NAK};

#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub ack_timeout: Duration,
    pub attempts: u32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(2),
            attempts: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("no ACK after {0} attempts")]
    NoAck(u32),
    #[error("the device closed (end of file)")]
    Closed,
    #[error("timed out waiting for a frame")]
    Timeout,
    #[error(transparent)]
    Frame(#[from] frame::PayloadTooLong),
    #[error("device I/O: {0}")]
    Io(#[from] io::Error),
}

impl LinkError {
    /// Whether the device itself is gone (unplugged, closed, EIO), so it must be reopened.
    pub fn device_lost(&self) -> bool {
        match self {
            LinkError::Closed => true,
            LinkError::Io(error) => !matches!(
                error.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            _ => false,
        }
    }
}

/// Counters for logs and the campaign report.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkStats {
    pub frames_sent: u64,
    pub retransmissions: u64,
    pub frames_delivered: u64,
    pub duplicates_suppressed: u64,
    pub rejected: u64,
    pub naks_sent: u64,
}

/// What to do instead of the normal ACK/NAK, for fault injection in `terminal-sim`.
pub trait AckPolicy: Send {
    /// Called for every good frame; `false` withholds the ACK (as if it were lost on the line).
    fn send_ack(&mut self) -> bool {
        true
    }
    /// Called for every good frame; `true` answers NAK instead.
    fn nak_anyway(&mut self) -> bool {
        false
    }
}

/// The normal link: every good frame is acknowledged.
pub struct Honest;
impl AckPolicy for Honest {}

pub struct Link<S> {
    stream: S,
    config: LinkConfig,
    decoder: FrameDecoder,
    next_seq: u8,
    last_delivered: Option<(u8, Vec<u8>)>,
    inbox: VecDeque<Vec<u8>>,
    acks: u32,
    naks: u32,
    policy: Box<dyn AckPolicy>,
    stats: LinkStats,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Link<S> {
    pub fn new(stream: S, config: LinkConfig) -> Self {
        Self {
            stream,
            config,
            decoder: FrameDecoder::new(),
            next_seq: rand::random(),
            last_delivered: None,
            inbox: VecDeque::new(),
            acks: 0,
            naks: 0,
            policy: Box::new(Honest),
            stats: LinkStats::default(),
        }
    }

    pub fn with_policy(mut self, policy: Box<dyn AckPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// Starts numbering frames at `seq` (a terminal keeps its counter across power loss).
    pub fn with_next_seq(mut self, seq: u8) -> Self {
        self.next_seq = seq;
        self
    }

    pub fn next_seq(&self) -> u8 {
        self.next_seq
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Sends one payload and waits for its ACK, retrying as the protocol says.
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let bytes = frame::encode(seq, payload)?;
        for attempt in 1..=self.config.attempts {
            if attempt > 1 {
                self.stats.retransmissions += 1;
            }
            self.write_all(&bytes).await?;
            self.stats.frames_sent += 1;
            // ACKs and NAKs counted from here belong to this attempt.
            self.acks = 0;
            self.naks = 0;
            let deadline = Instant::now() + self.config.ack_timeout;
            loop {
                if self.acks > 0 {
                    return Ok(());
                }
                if self.naks > 0 {
                    break;
                }
                if !self.pump(deadline).await? {
                    break;
                }
            }
        }
        Err(LinkError::NoAck(self.config.attempts))
    }

    /// The next delivered payload, waiting at most `wait` (forever when `None`).
    pub async fn recv(&mut self, wait: Option<Duration>) -> Result<Vec<u8>, LinkError> {
        let deadline = wait.map(|wait| Instant::now() + wait);
        loop {
            if let Some(payload) = self.inbox.pop_front() {
                return Ok(payload);
            }
            let step_deadline =
                deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            if !self.pump(step_deadline).await? && deadline.is_some() {
                return Err(LinkError::Timeout);
            }
        }
    }

    /// Reads what arrives until `deadline` or until something happened. Returns `false` on the
    /// deadline. Partial frames are expired on the inter-byte timeout even when nothing arrives.
    async fn pump(&mut self, deadline: Instant) -> Result<bool, LinkError> {
        let mut buf = [0u8; 256];
        let wake = if self.decoder.in_frame() {
            deadline.min(Instant::now() + frame::INTER_BYTE_TIMEOUT)
        } else {
            deadline
        };
        let read = tokio::time::timeout_at(wake, self.stream.read(&mut buf)).await;
        let now = Instant::now().into_std();
        let mut events = Vec::new();
        match read {
            Err(_) => {
                if let Some(event) = self.decoder.expire(now) {
                    events.push(event);
                }
                self.handle(events).await?;
                return Ok(Instant::now() < deadline);
            }
            Ok(Ok(0)) => return Err(LinkError::Closed),
            Ok(Ok(n)) => self.decoder.push(&buf[..n], now, &mut events),
            Ok(Err(error)) => return Err(error.into()),
        }
        self.handle(events).await?;
        Ok(true)
    }

    async fn handle(&mut self, events: Vec<Received>) -> Result<(), LinkError> {
        for event in events {
            match event {
                Received::Ack => self.acks += 1,
                Received::Nak => self.naks += 1,
                Received::Frame(frame) => self.accept_frame(frame).await?,
                Received::Rejected(rejection) => {
                    self.stats.rejected += 1;
                    tracing::debug!(%rejection, "link: rejected bytes");
                    // After a gap the sender retries on its own timeout; anything else is answered.
                    if !matches!(rejection, Rejection::Gap(_)) {
                        self.stats.naks_sent += 1;
                        self.write_all(&[NAK]).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn accept_frame(&mut self, frame: Frame) -> Result<(), LinkError> {
        if self.policy.nak_anyway() {
            self.stats.naks_sent += 1;
            return self.write_all(&[NAK]).await;
        }
        let duplicate = self
            .last_delivered
            .as_ref()
            .is_some_and(|(seq, payload)| *seq == frame.seq && *payload == frame.payload);
        if self.policy.send_ack() {
            self.write_all(&[ACK]).await?;
        }
        if duplicate {
            self.stats.duplicates_suppressed += 1;
            return Ok(());
        }
        self.stats.frames_delivered += 1;
        self.inbox.push_back(frame.payload.clone());
        self.last_delivered = Some((frame.seq, frame.payload));
        Ok(())
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Link<tokio::io::DuplexStream>, Link<tokio::io::DuplexStream>) {
        let (a, b) = tokio::io::duplex(4096);
        let config = LinkConfig {
            ack_timeout: Duration::from_millis(200),
            attempts: 3,
        };
        (Link::new(a, config), Link::new(b, config))
    }

    #[tokio::test]
    async fn a_payload_crosses_and_is_acknowledged() {
        let (mut terminal, mut host) = pair();
        let receiver = tokio::spawn(async move {
            let got = host.recv(Some(Duration::from_secs(2))).await.unwrap();
            host.send(b"pong").await.unwrap();
            got
        });
        terminal.send(b"ping").await.unwrap();
        assert_eq!(
            terminal.recv(Some(Duration::from_secs(2))).await.unwrap(),
            b"pong"
        );
        assert_eq!(receiver.await.unwrap(), b"ping");
    }

    struct DropFirstAcks(u32);
    impl AckPolicy for DropFirstAcks {
        fn send_ack(&mut self) -> bool {
            if self.0 > 0 {
                self.0 -= 1;
                false
            } else {
                true
            }
        }
    }

    #[tokio::test]
    async fn a_lost_ack_means_a_retransmission_delivered_once() {
        let (mut terminal, host) = pair();
        let mut host = host.with_policy(Box::new(DropFirstAcks(1)));
        let listener = tokio::spawn(async move {
            let first = host.recv(Some(Duration::from_secs(2))).await.unwrap();
            // The retransmission arrives and is ACKed but not delivered again.
            let second = host.recv(Some(Duration::from_millis(500))).await;
            (
                first,
                matches!(second, Err(LinkError::Timeout)),
                host.stats(),
            )
        });
        terminal.send(b"once").await.unwrap();
        assert_eq!(terminal.stats().retransmissions, 1);
        let (first, nothing_more, stats) = listener.await.unwrap();
        assert_eq!(first, b"once");
        assert!(nothing_more);
        assert_eq!(stats.duplicates_suppressed, 1);
        assert_eq!(stats.frames_delivered, 1);
    }

    struct NakEverything;
    impl AckPolicy for NakEverything {
        fn nak_anyway(&mut self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_sender_gives_up_after_three_naks() {
        let (mut terminal, host) = pair();
        let mut host = host.with_policy(Box::new(NakEverything));
        let listener = tokio::spawn(async move {
            let _ = host.recv(Some(Duration::from_secs(2))).await;
            host.stats()
        });
        assert!(matches!(
            terminal.send(b"refused").await,
            Err(LinkError::NoAck(3))
        ));
        assert_eq!(terminal.stats().frames_sent, 3);
        assert_eq!(listener.await.unwrap().naks_sent, 3);
    }

    #[tokio::test]
    async fn silence_is_no_ack_and_a_closed_device_is_reported() {
        let (mut terminal, host) = pair();
        let started = Instant::now();
        assert!(matches!(
            terminal.send(b"hello?").await,
            Err(LinkError::NoAck(3))
        ));
        assert!(started.elapsed() >= Duration::from_millis(600));
        drop(host);
        let error = terminal.recv(None).await.unwrap_err();
        assert!(error.device_lost(), "{error}");
    }
}
