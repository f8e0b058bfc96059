//! Any bytes, split at any points and with any gaps, go through the frame decoder without a
//! panic; every frame it delivers is within the size limit and re-encodes to valid bytes.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use terminal_link::frame::{self, FrameDecoder, Received, MAX_PAYLOAD};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else {
        return;
    };
    let mut decoder = FrameDecoder::new();
    let mut out = Vec::new();
    let start = Instant::now();
    // The first byte picks a chunk size and whether chunks are 0.6 s apart (a gap).
    let chunk = usize::from(control & 0x7F) + 1;
    let gap = if control & 0x80 != 0 {
        Duration::from_millis(600)
    } else {
        Duration::ZERO
    };
    for (index, part) in bytes.chunks(chunk).enumerate() {
        decoder.push(part, start + gap * index as u32, &mut out);
    }
    for event in out {
        if let Received::Frame(received) = event {
            assert!(received.payload.len() <= MAX_PAYLOAD);
            let again = frame::encode(received.seq, &received.payload).expect("fits");
            let mut check = FrameDecoder::new();
            let mut events = Vec::new();
            check.push(&again, start, &mut events);
            assert_eq!(events, vec![Received::Frame(received)]);
        }
    }
});
