//! Failed logins, counted per username and per client address, so that guessing passwords is slow
//! whether one account is attacked from many places or many accounts from one. After
//! `max_failures` failures with less than `window` between them, that username (or address) is
//! refused without checking the password until `window` has passed since its last failure. A
//! successful login clears its username's count. The counts live in this process's memory.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

/// How strict the throttle is.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub username_failures: u32,
    pub address_failures: u32,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            username_failures: 5,
            address_failures: 20,
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

    /// `Some(wait)` when a login for `username` from `address` must be refused now.
    pub fn refusal(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let username_wait = self.wait(
            &Key::Username(username.to_lowercase()),
            self.policy.username_failures,
            now,
        );
        let address_wait =
            address.and_then(|a| self.wait(&Key::Address(a), self.policy.address_failures, now));
        username_wait.max(address_wait)
    }

    pub fn record_failure(&mut self, username: &str, address: Option<IpAddr>, now: Instant) {
        self.count(Key::Username(username.to_lowercase()), now);
        if let Some(address) = address {
            self.count(Key::Address(address), now);
        }
    }

    pub fn record_success(&mut self, username: &str) {
        self.failures
            .remove(&Key::Username(username.to_lowercase()));
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

    #[test]
    fn a_username_is_refused_after_its_failures_until_the_window_passes() {
        let mut throttle = LoginThrottle::default();
        let start = Instant::now();
        let from = Some(IpAddr::from([10, 0, 0, 1]));
        for i in 0..5 {
            assert_eq!(throttle.refusal("dinsos", from, start), None, "attempt {i}");
            throttle.record_failure("dinsos", from, start);
        }
        assert_eq!(
            throttle.refusal("DINSOS", None, start),
            Some(Duration::from_secs(300))
        );
        let later = start + Duration::from_secs(299);
        assert_eq!(
            throttle.refusal("dinsos", from, later),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.refusal("dinsos", from, start + Duration::from_secs(300)),
            None
        );
        assert_eq!(
            throttle.refusal("auditor", from, start),
            None,
            "others may still log in"
        );
    }

    #[test]
    fn an_address_guessing_many_usernames_is_refused_and_success_clears_a_username() {
        let mut throttle = LoginThrottle::default();
        let now = Instant::now();
        let from = Some(IpAddr::from([10, 0, 0, 2]));
        for i in 0..20 {
            throttle.record_failure(&format!("user{i}"), from, now);
        }
        assert!(throttle.refusal("someone-else", from, now).is_some());
        assert!(throttle
            .refusal("someone-else", Some(IpAddr::from([10, 0, 0, 3])), now)
            .is_none());
        let mut throttle = LoginThrottle::default();
        for _ in 0..4 {
            throttle.record_failure("kaltimtara", None, now);
        }
        throttle.record_success("kaltimtara");
        throttle.record_failure("kaltimtara", None, now);
        assert!(throttle.refusal("kaltimtara", None, now).is_none());
    }
}
