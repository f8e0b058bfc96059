//! Typed configuration. Every setting is a flag with a doc line and an `SSN_*` environment variable
//! (see `ssn serve --help`); defaults are what a fresh machine needs to run the demo.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

use crate::{domain::pan::CardPrefix, store::ConnectOptions};

// The defaults, shared by the flags and by `Default` (what tests and benchmarks build on).
const DEFAULT_DATA_DIR: &str = "data";
const DEFAULT_DB_MAX_CONNECTIONS: u32 = 8;
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_TOKEN_TTL_SECONDS: u64 = 900;
const DEFAULT_PIN_MAX_FAILURES: u32 = 3;
const DEFAULT_PIN_LOCK_SECONDS: u64 = 86_400;
const DEFAULT_CARD_PREFIX: &str = "6019010";
const DEFAULT_BODY_LIMIT_BYTES: usize = 64 * 1024;
const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 30;
const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
const DEFAULT_HOLD_TIMEOUT_SECONDS: u64 = 120;
const DEFAULT_SWEEP_INTERVAL_SECONDS: u64 = 5;

/// A key given on the command line or in the environment: `Debug` shows no part of it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_string()))
    }
}

/// Settings every subcommand shares: where the data lives and how to log.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Database URL: `sqlite://PATH` (default: `DATA_DIR/ssn.db`) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SSN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and generated keys.
    #[arg(long, env = "SSN_DATA_DIR", default_value = DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "SSN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Connections in the database pool (SQLite: read connections; writes use one connection).
    #[arg(
        long,
        env = "SSN_DB_MAX_CONNECTIONS",
        default_value_t = DEFAULT_DB_MAX_CONNECTIONS,
        global = true
    )]
    pub db_max_connections: u32,

    /// Ed25519 key that signs each closed business date's audit head, base64 (the first 32
    /// bytes are the seed). Default: generated once into DATA_DIR/audit-signing.key. Keep it
    /// outside the database and its backups: with it, a rewritten trail could be signed again.
    #[arg(long, env = "SSN_AUDIT_KEY", hide_env_values = true, global = true)]
    pub audit_key: Option<Secret>,
}

/// The flags' defaults, without reading argv or the environment.
impl Default for CommonArgs {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log_format: LogFormat::Text,
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            audit_key: None,
        }
    }
}

impl CommonArgs {
    /// Pool settings for the store.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            max_connections: self.db_max_connections,
            ..ConnectOptions::default()
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ssn.db").display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (it is logged).
    #[arg(long, env = "SSN_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Load demo data (program, catalog, E-Warungs, terminals, households, cards, one user per
    /// role) into an empty database and print the credentials.
    #[arg(long, env = "SSN_DEMO")]
    pub demo: bool,

    /// JWT signing key, base64, at least 32 bytes. Default: generated once into DATA_DIR/jwt.key.
    #[arg(long, env = "SSN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// How long an access token lives, in seconds.
    #[arg(long, env = "SSN_TOKEN_TTL_SECONDS", default_value_t = DEFAULT_TOKEN_TTL_SECONDS)]
    pub token_ttl_seconds: u64,

    /// PIN key, base64, at least 32 bytes. Default: generated once into DATA_DIR/pin.key. Keep it
    /// outside the database and its backups: with it, PIN values can be brute-forced.
    #[arg(long, env = "SSN_PIN_KEY", hide_env_values = true)]
    pub pin_key: Option<Secret>,

    /// Consecutive wrong PINs that lock a card.
    #[arg(long, env = "SSN_PIN_MAX_FAILURES", default_value_t = DEFAULT_PIN_MAX_FAILURES, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub pin_max_failures: u32,

    /// How long a PIN lock lasts, in seconds (an office user can unlock sooner).
    #[arg(long, env = "SSN_PIN_LOCK_SECONDS", default_value_t = DEFAULT_PIN_LOCK_SECONDS)]
    pub pin_lock_seconds: u64,

    /// Issuer prefix (6 to 10 digits) that new card numbers are drawn under.
    #[arg(long, env = "SSN_CARD_PREFIX", default_value = DEFAULT_CARD_PREFIX)]
    pub card_prefix: CardPrefix,

    /// Reverse proxies (addresses or networks, comma-separated: `127.0.0.1,10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client; from any other peer the header is ignored. None by
    /// default: the client is the TCP peer.
    #[arg(long, env = "SSN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// SQLite: write a backup into this directory every `--backup-every` (the first at start),
    /// named `ssn-UTCTIME.db`, keeping the newest `--backup-keep`.
    #[arg(long, env = "SSN_BACKUP_DIR")]
    pub backup_dir: Option<std::path::PathBuf>,

    /// How often a scheduled backup is written: a number and a unit, `s`, `m`, `h` or `d`
    /// (`6h`).
    #[arg(long, env = "SSN_BACKUP_EVERY", default_value = "6h", value_parser = parse_period)]
    pub backup_every: std::time::Duration,

    /// How many scheduled backups are kept (the oldest go first).
    #[arg(long, env = "SSN_BACKUP_KEEP", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub backup_keep: u32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "SSN_BODY_LIMIT_BYTES", default_value_t = DEFAULT_BODY_LIMIT_BYTES)]
    pub body_limit_bytes: usize,

    /// How long requests in flight may take to finish after SIGTERM, in seconds.
    #[arg(long, env = "SSN_SHUTDOWN_GRACE_SECONDS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECONDS)]
    pub shutdown_grace_seconds: u64,

    /// Longest time one request may take before it is answered 503, in seconds.
    #[arg(long, env = "SSN_REQUEST_TIMEOUT_SECONDS", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECONDS)]
    pub request_timeout_seconds: u64,

    /// How long an approved purchase's hold waits for the terminal to complete it before the
    /// sweeper returns the money to the household.
    #[arg(long, env = "SSN_HOLD_TIMEOUT_SECONDS", default_value_t = DEFAULT_HOLD_TIMEOUT_SECONDS, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub hold_timeout_seconds: u64,

    /// Time of day (WITA, HH:MM) from which activity belongs to the next business date. Stored in
    /// the database, so every server agrees; when not given, the stored value stays (00:00 on a
    /// new database: the calendar day).
    #[arg(long, env = "SSN_BUSINESS_CUTOFF")]
    pub business_cutoff: Option<crate::business_day::Cutoff>,

    /// How often the sweeper looks for overdue holds.
    #[arg(long, env = "SSN_SWEEP_INTERVAL_SECONDS", default_value_t = DEFAULT_SWEEP_INTERVAL_SECONDS, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub sweep_interval_seconds: u64,
}

/// The flags' defaults, without reading argv or the environment: what tests and benchmarks start
/// from (`ServeArgs { demo: true, ..ServeArgs::default() }`).
impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            demo: false,
            jwt_secret: None,
            token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
            pin_key: None,
            pin_max_failures: DEFAULT_PIN_MAX_FAILURES,
            pin_lock_seconds: DEFAULT_PIN_LOCK_SECONDS,
            card_prefix: DEFAULT_CARD_PREFIX
                .parse()
                .expect("the default card prefix parses"),
            trusted_proxies: Vec::new(),
            backup_dir: None,
            backup_every: std::time::Duration::from_secs(6 * 3600),
            backup_keep: 8,
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            shutdown_grace_seconds: DEFAULT_SHUTDOWN_GRACE_SECONDS,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
            hold_timeout_seconds: DEFAULT_HOLD_TIMEOUT_SECONDS,
            business_cutoff: None,
            sweep_interval_seconds: DEFAULT_SWEEP_INTERVAL_SECONDS,
        }
    }
}

impl ServeArgs {
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_seconds)
    }

    pub fn pin_lock(&self) -> Duration {
        Duration::from_secs(self.pin_lock_seconds)
    }
}

/// A period as a number and a unit: `90s`, `30m`, `6h`, `1d` (at least a second).
pub fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' needs a unit: s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a number"))?;
    let seconds = match unit {
        "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3_600),
        "d" => number.checked_mul(86_400),
        _ => return Err(format!("'{unit}' is not a unit: s, m, h or d")),
    }
    .filter(|seconds| *seconds > 0)
    .ok_or_else(|| format!("'{text}' is not a period of at least a second"))?;
    Ok(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_defaults_are_the_flags_defaults() {
        let cli = crate::cli::Cli::try_parse_from(["ssn", "serve"]).unwrap();
        let crate::cli::Command::Serve(serve) = cli.command else {
            panic!("parsed as serve")
        };
        assert_eq!(
            format!("{:?}", cli.common),
            format!("{:?}", CommonArgs::default())
        );
        assert_eq!(format!("{serve:?}"), format!("{:?}", ServeArgs::default()));
    }

    #[test]
    fn periods_are_a_number_and_a_unit() {
        assert_eq!(parse_period("90s"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(
            parse_period("6h"),
            Ok(std::time::Duration::from_secs(21_600))
        );
        assert_eq!(
            parse_period("1d"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        for bad in ["", "6", "h", "0s", "6w", "-1h", "99999999999999999999d"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }
}
