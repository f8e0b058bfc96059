//! The EDC terminal link, as layers (see `docs/terminal-protocol.md`):
//! - [`crc`] and [`frame`]: bytes on the serial line, framed and checked (pure, no I/O);
//! - [`link`]: ACK/NAK, retries and duplicate suppression over any byte stream;
//! - [`tlv`]: a frame's payload as ISO 8583 data elements (pure);
//! - [`messages`]: the typed messages terminals and the host exchange (pure);
//! - [`pin_block`]: ISO 9564 format 4 PIN blocks under a per-terminal key (pure).
//!
//! Everything here is shared by the host's gateway and by `terminal-sim`, so both sides speak
//! exactly the same bytes. A crate of its own, so that the simulator and the fuzzers build without
//! the service (no HTTP server, no database drivers).

pub mod crc;
pub mod frame;
pub mod link;
pub mod messages;
pub mod pin_block;
pub mod tlv;

#[doc(hidden)]
pub mod examples;
#[cfg(test)]
mod properties;
