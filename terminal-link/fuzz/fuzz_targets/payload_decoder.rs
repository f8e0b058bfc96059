//! Any payload either decodes as a TLV message and a terminal or host message, or is refused,
//! without a panic; whatever decodes encodes back to something that decodes to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terminal_link::{
    messages::{HostMessage, TerminalMessage},
    tlv::IsoMessage,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(iso) = IsoMessage::decode(data) {
        assert_eq!(iso.encode().expect("decoded, so it fits"), data);
    }
    if let Ok(message) = TerminalMessage::decode(data) {
        let bytes = message.encode().expect("decoded, so it fits");
        assert_eq!(
            TerminalMessage::decode(&bytes).expect("re-decodes"),
            message
        );
    }
    if let Ok(message) = HostMessage::decode(data) {
        let bytes = message.encode().expect("decoded, so it fits");
        assert_eq!(HostMessage::decode(&bytes).expect("re-decodes"), message);
    }
});
