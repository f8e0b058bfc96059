//! How cards are numbered and how hard PIN guessing is made: settings the card handlers, the PIN
//! check and the redemption rules share.

use std::time::Duration;

use crate::domain::pan::CardPrefix;

#[derive(Debug, Clone)]
pub struct CardPolicy {
    pub prefix: CardPrefix,
    pub pin_max_failures: u32,
    pub pin_lock: Duration,
}
