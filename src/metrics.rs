//! What a monitoring system scrapes at `GET /metrics` (Prometheus / OpenMetrics text). One
//! registry for the process (`metrics()`), so that any layer can count what it sees without
//! threading a handle through; every metric is listed here with its meaning (README: Metrics).
//! Labels are bounded sets (route templates, response codes, SQLSTATEs), never ids or values.

use std::sync::OnceLock;

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// The exposition's media type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels<const N: usize> = [(&'static str, String); N];

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests answered, by route template, method and status.
    pub http_requests: Family<Labels<3>, Counter>,
    /// Seconds from a request's arrival to its answer, by route template.
    pub http_seconds: Family<Labels<1>, Histogram>,
    /// Terminal requests answered, by action (authorize, complete, …) and ISO response code.
    pub redemptions: Family<Labels<2>, Counter>,
    /// Write jobs per SQLite group commit (one fsync each).
    pub group_commit_jobs: Histogram,
    /// PostgreSQL transactions run again after a serialization failure or deadlock, by SQLSTATE.
    pub pg_retries: Family<Labels<1>, Counter>,
    /// Logins by outcome: `ok`, `wrong` (password or user), `throttled` (refused unchecked),
    /// `slowed` (a failure answered late: its address fails often).
    pub logins: Family<Labels<1>, Counter>,
    /// Passes of the hold sweeper, and holds it released.
    pub sweeper_runs: Counter,
    pub holds_expired: Counter,
    /// When the last scheduled backup was written (Unix seconds; 0: none since start), and
    /// scheduled backups that failed.
    pub backup_last_success: Gauge,
    pub backup_failures: Counter,
    /// Seconds a database job waited for its connection, by pool: `postgres` (a pooled
    /// connection for a write transaction) or `sqlite_writer` (the queue before the single
    /// writer's next group commit).
    pub db_wait_seconds: Family<Labels<1>, Histogram>,
    /// The read pool's connections at the scrape, by state (`open`, `idle`).
    pub db_pool_connections: Family<Labels<1>, Gauge>,
    /// The terminal gateway's serial link, by event: `retransmission` (a frame sent again),
    /// `nak_sent` (a damaged frame refused), `rejected_frame`, `duplicate` (a repeat suppressed),
    /// `no_ack` (a frame given up on), `unreadable_message`, `device_lost`.
    pub gateway_link_events: Family<Labels<1>, Counter>,
    /// The gateway's store-and-forward file: advices waiting to be delivered, and parked ones
    /// (given up on, with an alarm, until `ssn terminal outbox --retry-parked`).
    pub outbox_pending: Gauge,
    pub outbox_parked: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("ssn");
        let metrics = Self {
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency_histogram),
            redemptions: Family::default(),
            group_commit_jobs: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            pg_retries: Family::default(),
            logins: Family::default(),
            sweeper_runs: Counter::default(),
            holds_expired: Counter::default(),
            backup_last_success: Gauge::default(),
            backup_failures: Counter::default(),
            db_wait_seconds: Family::new_with_constructor(latency_histogram),
            db_pool_connections: Family::default(),
            gateway_link_events: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_parked: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Seconds from a request's arrival to its answer, by route template",
            metrics.http_seconds.clone(),
        );
        registry.register(
            "redemptions",
            "Terminal requests answered, by action and ISO 8583 response code",
            metrics.redemptions.clone(),
        );
        registry.register(
            "sqlite_group_commit_jobs",
            "Write jobs committed together in one SQLite group commit (one fsync)",
            metrics.group_commit_jobs.clone(),
        );
        registry.register(
            "postgres_retries",
            "PostgreSQL transactions run again, by SQLSTATE (40001 serialization, 40P01 deadlock)",
            metrics.pg_retries.clone(),
        );
        registry.register(
            "logins",
            "Logins by outcome: ok, wrong, throttled (refused unchecked), slowed",
            metrics.logins.clone(),
        );
        registry.register(
            "hold_sweeper_runs",
            "Passes of the hold sweeper",
            metrics.sweeper_runs.clone(),
        );
        registry.register(
            "holds_expired",
            "Holds the sweeper released after their timeout",
            metrics.holds_expired.clone(),
        );
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the last scheduled backup was written (Unix seconds; 0: none since start)",
            metrics.backup_last_success.clone(),
        );
        registry.register(
            "backup_failures",
            "Scheduled backups that failed",
            metrics.backup_failures.clone(),
        );
        registry.register(
            "db_wait_seconds",
            "Seconds a database job waited for its connection: postgres (pooled connection), sqlite_writer (queue before the writer's next group commit)",
            metrics.db_wait_seconds.clone(),
        );
        registry.register(
            "db_pool_connections",
            "The read pool's connections at the scrape, by state: open, idle",
            metrics.db_pool_connections.clone(),
        );
        registry.register(
            "gateway_link_events",
            "Terminal gateway serial link events: retransmission, nak_sent, rejected_frame, duplicate, no_ack, unreadable_message, device_lost",
            metrics.gateway_link_events.clone(),
        );
        registry.register(
            "gateway_outbox_pending",
            "Advices in the gateway's store-and-forward file waiting to be delivered",
            metrics.outbox_pending.clone(),
        );
        registry.register(
            "gateway_outbox_parked",
            "Advices the gateway gave up on (alarm) until retried with ssn terminal outbox --retry-parked",
            metrics.outbox_parked.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// The exposition, in OpenMetrics text (which Prometheus reads).
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    pub fn redemption(&self, action: &'static str, response_code: &str) {
        self.redemptions
            .get_or_create(&[
                ("action", action.to_string()),
                ("response_code", response_code.to_string()),
            ])
            .inc();
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins
            .get_or_create(&[("outcome", outcome.to_string())])
            .inc();
    }

    pub fn db_wait(&self, pool: &'static str, waited: std::time::Duration) {
        self.db_wait_seconds
            .get_or_create(&[("pool", pool.to_string())])
            .observe(waited.as_secs_f64());
    }

    pub fn pool_usage(&self, open: u32, idle: u32) {
        for (state, count) in [("open", open), ("idle", idle)] {
            self.db_pool_connections
                .get_or_create(&[("state", state.to_string())])
                .set(i64::from(count));
        }
    }

    /// Counts `count` link events of one kind (the gateway adds its link's counters as they grow).
    pub fn link_events(&self, event: &'static str, count: u64) {
        if count > 0 {
            self.gateway_link_events
                .get_or_create(&[("event", event.to_string())])
                .inc_by(count);
        }
    }

    pub fn pg_retry(&self, sqlstate: &str) {
        self.pg_retries
            .get_or_create(&[("sqlstate", sqlstate.to_string())])
            .inc();
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_with_its_help() {
        let metrics = metrics();
        metrics.redemption("authorize", "00");
        metrics.login("ok");
        let text = metrics.render();
        for name in [
            "ssn_http_requests",
            "ssn_redemptions_total{action=\"authorize\",response_code=\"00\"}",
            "ssn_sqlite_group_commit_jobs",
            "ssn_logins_total{outcome=\"ok\"}",
            "ssn_backup_last_success_timestamp_seconds",
            "# EOF",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
}
