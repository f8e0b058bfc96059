//! Wrong answers from one client address, counted so that trying many card numbers and PINs from
//! one place is refused for a while (each card has its own PIN lock-out besides). Past
//! `max_failures` within `window` of its last failure, an address is refused until `window` has
//! passed since that failure. An address that cannot be told (no peer address) is one key of its
//! own. The counts live in this process's memory and are bounded: the oldest are dropped first.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Addresses remembered at most; past that, the stalest go.
const MAX_ADDRESSES: usize = 100_000;

pub struct AddressThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<Option<IpAddr>, (u32, Instant)>>,
}

impl AddressThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::default(),
        }
    }

    /// Whether `address` is refused now.
    pub fn refused(&self, address: Option<IpAddr>, now: Instant) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.get(&address).is_some_and(|(count, last)| {
            *count >= self.max_failures && now.duration_since(*last) < self.window
        })
    }

    pub fn record_failure(&self, address: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&address) {
            let window = self.window;
            failures.retain(|_, (_, last)| now.duration_since(*last) < window);
            if failures.len() >= MAX_ADDRESSES {
                if let Some(stalest) = failures
                    .iter()
                    .min_by_key(|(_, (_, last))| *last)
                    .map(|(key, _)| *key)
                {
                    failures.remove(&stalest);
                }
            }
        }
        let entry = failures.entry(address).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_passes() {
        let throttle = AddressThrottle::new(3, Duration::from_secs(60));
        let (here, there) = (
            Some("10.0.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap()),
        );
        let start = Instant::now();
        for _ in 0..3 {
            assert!(!throttle.refused(here, start));
            throttle.record_failure(here, start);
        }
        assert!(throttle.refused(here, start));
        assert!(
            !throttle.refused(there, start),
            "another address is not touched"
        );
        assert!(!throttle.refused(here, start + Duration::from_secs(61)));
        throttle.record_failure(here, start + Duration::from_secs(61));
        assert!(
            !throttle.refused(here, start + Duration::from_secs(61)),
            "a new window counts anew"
        );
    }
}
