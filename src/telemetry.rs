//! Structured logs with `tracing`: readable text by default, JSON with `SSN_LOG_FORMAT=json`.
//! Levels come from `SSN_LOG` (e.g. `info,ssn=debug`), default `info` (`warn` for benchmarks, where
//! a line per request would measure the terminal instead of the service). Logs go to stderr so that
//! commands can print their results on stdout.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

pub fn init(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_env("SSN_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only on a terminal: a log redirected to a file or a journal stays plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours);
    // A second init (as in tests that start several apps) is harmless, so its error is ignored.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Replaces every run of 12 or more digits (a card number, possibly a NIK or KK) with its last four
/// digits behind asterisks, for anything logged from outside input such as request paths.
pub fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 12 {
            out.push_str(&crate::domain::pan::mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_digit_runs_are_masked_and_short_ones_kept() {
        assert_eq!(
            super::mask_digit_runs("/v1/x/6019010123456789?rt=012"),
            "/v1/x/************6789?rt=012"
        );
    }
}
