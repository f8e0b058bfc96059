//! A frame's payload: tag-length-value entries whose tags are ISO 8583 data element numbers.
//! Entry: `TAG (u8) | LEN (u16 BE) | VALUE`. Tag 0 is the message type indicator (MTI, four
//! ASCII digits) and comes first; the other tags follow in strictly ascending order, so a message
//! has one encoding and a duplicate element cannot be sent. Tags run from 2 to 128 (element 1,
//! the bitmap, is what TLV replaces).

use std::{collections::BTreeMap, fmt};

use crate::frame::MAX_PAYLOAD;

/// The highest data element number (with a secondary bitmap, ISO 8583 has 128).
pub const MAX_TAG: u8 = 128;

/// The data elements this link defines (docs/terminal-protocol.md, "Data elements"); any other tag
/// is refused, so a terminal that sends one learns at once instead of being half understood.
pub const DEFINED_TAGS: [u8; 28] = [
    2, 3, 4, 7, 11, 12, 13, 37, 38, 39, 41, 42, 44, 48, 52, 54, 60, 61, 62, 63, 70, 74, 76, 77, 86,
    88, 89, 90,
];
const ENTRY_HEADER: usize = 3;

/// Message type indicator, e.g. `0200`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

impl Mti {
    pub const fn new(digits: &[u8; 4]) -> Self {
        Self(*digits)
    }

    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let digits: [u8; 4] = bytes.try_into().ok()?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then_some(Self(digits))
    }

    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Four ASCII digits, checked on construction.
        f.write_str(std::str::from_utf8(&self.0).unwrap_or("????"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("the payload is empty")]
    Empty,
    #[error("an entry at byte {0} is cut short")]
    Truncated(usize),
    #[error("the first entry must be tag 0 (the MTI), found tag {0}")]
    MtiNotFirst(u8),
    #[error("the MTI must be four ASCII digits")]
    BadMti,
    #[error("tag {0} is not a data element this link defines")]
    BadTag(u8),
    #[error("tag {tag} follows tag {after}: tags must ascend, each once")]
    OutOfOrder { tag: u8, after: u8 },
    #[error("the message needs {0} bytes, over the {MAX_PAYLOAD}-byte payload limit")]
    TooLong(usize),
}

/// An ISO 8583 message as MTI plus data elements, values as raw bytes. Its `Debug` names the
/// data elements and their lengths, never their values (DE2 is a card number, DE52 a PIN block).
#[derive(Clone, PartialEq, Eq)]
pub struct IsoMessage {
    pub mti: Mti,
    fields: BTreeMap<u8, Vec<u8>>,
}

impl std::fmt::Debug for IsoMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(number, value)| format!("DE{number} ({} bytes)", value.len()))
            .collect();
        f.debug_struct("IsoMessage")
            .field("mti", &self.mti)
            .field("fields", &fields)
            .finish()
    }
}

impl IsoMessage {
    pub fn new(mti: Mti) -> Self {
        Self {
            mti,
            fields: BTreeMap::new(),
        }
    }

    /// Sets data element `tag`. Panics on a tag this link does not define: tags are constants in
    /// code.
    pub fn set(&mut self, tag: u8, value: impl Into<Vec<u8>>) -> &mut Self {
        assert!(
            DEFINED_TAGS.contains(&tag),
            "data element {tag} is not defined on this link"
        );
        self.fields.insert(tag, value.into());
        self
    }

    pub fn get(&self, tag: u8) -> Option<&[u8]> {
        self.fields.get(&tag).map(Vec::as_slice)
    }

    pub fn tags(&self) -> impl Iterator<Item = u8> + '_ {
        self.fields.keys().copied()
    }

    /// The payload bytes, or `TooLong` if they would not fit in a frame.
    pub fn encode(&self) -> Result<Vec<u8>, TlvError> {
        let needed = ENTRY_HEADER
            + 4
            + self
                .fields
                .values()
                .map(|value| ENTRY_HEADER + value.len())
                .sum::<usize>();
        if needed > MAX_PAYLOAD {
            return Err(TlvError::TooLong(needed));
        }
        let mut out = Vec::with_capacity(needed);
        push_entry(&mut out, 0, self.mti.as_bytes());
        for (&tag, value) in &self.fields {
            push_entry(&mut out, tag, value);
        }
        Ok(out)
    }

    /// Reads a payload. Every length is checked against what is left before it is used.
    pub fn decode(payload: &[u8]) -> Result<Self, TlvError> {
        if payload.is_empty() {
            return Err(TlvError::Empty);
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(TlvError::TooLong(payload.len()));
        }
        let mut entries = Entries {
            rest: payload,
            at: 0,
        };
        let (tag, mti) = entries.next().ok_or(TlvError::Empty)??;
        if tag != 0 {
            return Err(TlvError::MtiNotFirst(tag));
        }
        let mti = Mti::parse(mti).ok_or(TlvError::BadMti)?;
        let mut message = Self::new(mti);
        let mut previous = 0u8;
        for entry in entries {
            let (tag, value) = entry?;
            if !DEFINED_TAGS.contains(&tag) {
                return Err(TlvError::BadTag(tag));
            }
            if tag <= previous {
                return Err(TlvError::OutOfOrder {
                    tag,
                    after: previous,
                });
            }
            previous = tag;
            message.fields.insert(tag, value.to_vec());
        }
        Ok(message)
    }
}

impl IsoMessage {
    /// Reads what can be read of a payload that [`IsoMessage::decode`] refuses: the MTI if it
    /// comes first, then every defined element in any order, the first of repeats, up to where the
    /// entries stop making sense. Only for answering an unreadable message (DE39 `30`): nothing
    /// read this way is acted on.
    pub fn decode_leniently(payload: &[u8]) -> Option<Self> {
        let mut entries = Entries {
            rest: payload.get(..payload.len().min(MAX_PAYLOAD))?,
            at: 0,
        };
        let (tag, mti) = entries.next()?.ok()?;
        if tag != 0 {
            return None;
        }
        let mut message = Self::new(Mti::parse(mti)?);
        for (tag, value) in entries.map_while(Result::ok) {
            if DEFINED_TAGS.contains(&tag) {
                message.fields.entry(tag).or_insert_with(|| value.to_vec());
            }
        }
        Some(message)
    }
}

fn push_entry(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    // Values are bounded by MAX_PAYLOAD, checked before encoding.
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

struct Entries<'a> {
    rest: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(u8, &'a [u8]), TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let Some((header, rest)) = self.rest.split_first_chunk::<ENTRY_HEADER>() else {
            self.rest = &[];
            return Some(Err(TlvError::Truncated(self.at)));
        };
        let len = usize::from(u16::from_be_bytes([header[1], header[2]]));
        if rest.len() < len {
            self.rest = &[];
            return Some(Err(TlvError::Truncated(self.at)));
        }
        let (value, rest) = rest.split_at(len);
        self.rest = rest;
        self.at += ENTRY_HEADER + len;
        Some(Ok((header[0], value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_mti_first_then_ascending_tags() {
        let mut message = IsoMessage::new(Mti::new(b"0800"));
        message.set(70, "301").set(11, "000001");
        let bytes = message.encode().unwrap();
        assert_eq!(
            bytes,
            [
                &[0, 0, 4][..],
                b"0800",
                &[11, 0, 6],
                b"000001",
                &[70, 0, 3],
                b"301"
            ]
            .concat()
        );
        assert_eq!(IsoMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn refuses_malformed_payloads() {
        assert_eq!(IsoMessage::decode(&[]), Err(TlvError::Empty));
        assert_eq!(IsoMessage::decode(&[0, 0]), Err(TlvError::Truncated(0)));
        assert_eq!(
            IsoMessage::decode(&[0, 0, 9, b'0']),
            Err(TlvError::Truncated(0))
        );
        assert_eq!(
            IsoMessage::decode(&[11, 0, 0]),
            Err(TlvError::MtiNotFirst(11))
        );
        assert_eq!(IsoMessage::decode(b"\0\0\x040A00"), Err(TlvError::BadMti));
        let mut twice = b"\0\0\x040800".to_vec();
        twice.extend([11, 0, 1, b'1', 11, 0, 1, b'2']);
        assert_eq!(
            IsoMessage::decode(&twice),
            Err(TlvError::OutOfOrder { tag: 11, after: 11 })
        );
        let mut bitmap = b"\0\0\x040800".to_vec();
        bitmap.extend([1, 0, 0]);
        assert_eq!(IsoMessage::decode(&bitmap), Err(TlvError::BadTag(1)));
    }

    #[test]
    fn a_message_over_the_frame_limit_is_refused_on_encoding() {
        let mut message = IsoMessage::new(Mti::new(b"0210"));
        message.set(44, vec![b'x'; MAX_PAYLOAD]);
        assert!(matches!(message.encode(), Err(TlvError::TooLong(_))));
    }
}
