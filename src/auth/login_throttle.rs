//! Failed logins, counted so that guessing passwords is slow without letting anyone lock a city
//! out. Three counts, each within `window` of its last failure:
//! - one username from one client address: after `pair_failures`, that pair is refused without
//!   checking the password;
//! - one username from anywhere: after `username_failures` (a guess spread over many
//!   addresses), the username is refused everywhere;
//! - one client address, any usernames: after `address_failures`, its *failed* logins are
//!   answered only after `address_delay`, but it is never refused outright, so the right
//!   password of an account that is not itself under attack still signs in at once, even when
//!   it shares its address (an office behind one NAT, every client behind a reverse proxy)
//!   with someone guessing.
//!
//! A refusal lasts until `window` has passed since the count's last failure. A successful login
//! clears its username's and its pair's counts. The counts live in this process's memory.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

/// How strict the throttle is.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures of one username from one address before that pair is refused.
    pub pair_failures: u32,
    /// Failures of one username from any addresses before it is refused everywhere.
    pub username_failures: u32,
    /// Failures from one address before its failed logins are slowed.
    pub address_failures: u32,
    /// How long a failed login from a slowed address waits before it is answered.
    pub address_delay: Duration,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            pair_failures: 5,
            username_failures: 10,
            address_failures: 20,
            address_delay: Duration::from_secs(2),
            window: Duration::from_secs(300),
        }
    }
}

/// The most keys tracked; beyond it expired ones are dropped, and if that is not enough new keys
/// are not tracked (existing ones still are), so the map cannot grow without bound.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Username(String),
    Pair(String, IpAddr),
    Address(IpAddr),
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    failures: HashMap<Key, Failures>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            failures: HashMap::new(),
        }
    }

    /// `Some(wait)` when a login for `username` from `address` must be refused now (its pair or
    /// its username has failed too often); an address alone never refuses.
    pub fn refusal(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let username = username.to_lowercase();
        let pair_wait = address.and_then(|address| {
            self.wait(
                &Key::Pair(username.clone(), address),
                self.policy.pair_failures,
                now,
            )
        });
        let username_wait = self.wait(&Key::Username(username), self.policy.username_failures, now);
        pair_wait.max(username_wait)
    }

    /// How long a failed login from `address` waits before it is answered: `Some` once the
    /// address has failed too often.
    pub fn slowdown(&self, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let address = address?;
        self.wait(&Key::Address(address), self.policy.address_failures, now)
            .map(|_| self.policy.address_delay)
    }

    pub fn record_failure(&mut self, username: &str, address: Option<IpAddr>, now: Instant) {
        let username = username.to_lowercase();
        if let Some(address) = address {
            self.count(Key::Pair(username.clone(), address), now);
            self.count(Key::Address(address), now);
        }
        self.count(Key::Username(username), now);
    }

    pub fn record_success(&mut self, username: &str, address: Option<IpAddr>) {
        let username = username.to_lowercase();
        if let Some(address) = address {
            self.failures.remove(&Key::Pair(username.clone(), address));
        }
        self.failures.remove(&Key::Username(username));
    }

    fn wait(&self, key: &Key, max_failures: u32, now: Instant) -> Option<Duration> {
        let failures = self.failures.get(key)?;
        let since = now.saturating_duration_since(failures.last);
        (failures.count >= max_failures && since < self.policy.window)
            .then(|| self.policy.window - since)
    }

    fn count(&mut self, key: Key, now: Instant) {
        let window = self.policy.window;
        if self.failures.len() >= MAX_TRACKED && !self.failures.contains_key(&key) {
            self.failures
                .retain(|_, f| now.saturating_duration_since(f.last) < window);
            if self.failures.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = self.failures.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) >= window {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn a_username_from_one_address_is_refused_after_its_failures_until_the_window_passes() {
        let mut throttle = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..5 {
            assert_eq!(
                throttle.refusal("dinsos", at(1), start),
                None,
                "attempt {i}"
            );
            throttle.record_failure("dinsos", at(1), start);
        }
        assert_eq!(
            throttle.refusal("DINSOS", at(1), start),
            Some(Duration::from_secs(300))
        );
        let later = start + Duration::from_secs(299);
        assert_eq!(
            throttle.refusal("dinsos", at(1), later),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.refusal("dinsos", at(1), start + Duration::from_secs(300)),
            None
        );
        // The same user from their own desk, and others from the guessing address, still sign in.
        assert_eq!(throttle.refusal("dinsos", at(2), start), None);
        assert_eq!(throttle.refusal("auditor", at(1), start), None);
    }

    #[test]
    fn a_username_guessed_from_many_addresses_is_refused_everywhere() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..10 {
            throttle.record_failure("kaltimtara", at(i), now);
        }
        assert!(throttle.refusal("kaltimtara", at(200), now).is_some());
        assert!(throttle.refusal("kaltimtara", None, now).is_some());
    }

    #[test]
    fn an_address_guessing_many_usernames_is_slowed_never_refused() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..19 {
            throttle.record_failure(&format!("user{i}"), at(2), now);
        }
        assert_eq!(throttle.slowdown(at(2), now), None);
        throttle.record_failure("user19", at(2), now);
        assert_eq!(throttle.slowdown(at(2), now), Some(Duration::from_secs(2)));
        assert_eq!(throttle.refusal("someone-else", at(2), now), None);
        assert_eq!(throttle.slowdown(at(3), now), None);
        assert_eq!(throttle.slowdown(None, now), None);
    }

    #[test]
    fn a_success_clears_its_username_and_pair() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..4 {
            throttle.record_failure("kaltimtara", at(1), now);
        }
        throttle.record_success("kaltimtara", at(1));
        throttle.record_failure("kaltimtara", at(1), now);
        assert!(throttle.refusal("kaltimtara", at(1), now).is_none());
    }
}
