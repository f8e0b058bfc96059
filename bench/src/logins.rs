//! `ssn-bench logins`: the server's resident memory while it checks passwords. Starts `ssn serve
//! --demo` as a child process on SQLite, reads its resident set size from /proc before, during (the
//! peak, `VmHWM`) and after a burst of logins with the right password, and after it has been idle
//! for a while. argon2id needs 19 MiB a check; what matters is that the server keeps a bounded
//! number of those blocks, and gives back what it used.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Args)]
pub struct LoginsArgs {
    /// Logins to make.
    #[arg(long, default_value_t = 1_000)]
    pub logins: usize,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long the server is left idle before the settled figure is read.
    #[arg(long, default_value_t = 5)]
    pub idle_seconds: u64,
}

pub async fn run(args: LoginsArgs) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = tokio::process::Command::new(crate::ssn_binary()?)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("SSN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting ssn serve")?;
    let pid = server.id().context("the server has a pid")?;
    let mut lines = BufReader::new(server.stdout.take().context("server stdout")?).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .context("the server stopped before it listened")?;
        if let Some(address) = line.strip_prefix("ssn listening on ") {
            break address.to_string();
        }
    };
    // Let start-up settle (the demo load hashes its users' passwords too).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = memory(pid)?;

    let client = reqwest::Client::new();
    let started = Instant::now();
    let (mut ok, mut overloaded, mut other) = (0usize, 0usize, 0usize);
    let mut answers = futures_util::stream::iter(0..args.logins)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/v1/auth/login");
            async move {
                client
                    .post(url)
                    .json(
                        &serde_json::json!({"username": "dinsos", "password": "demo-office-pass"}),
                    )
                    .send()
                    .await
                    .map(|response| response.status().as_u16())
            }
        })
        .buffer_unordered(args.concurrency);
    use futures_util::StreamExt;
    while let Some(answer) = answers.next().await {
        match answer {
            Ok(200) => ok += 1,
            Ok(503) => overloaded += 1,
            _ => other += 1,
        }
    }
    let elapsed = started.elapsed();
    let during = memory(pid)?;
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let settled = memory(pid)?;
    let _ = server.kill().await;

    println!(
        "logins: {} at {} at a time in {:.1} s ({:.0}/s): {ok} ok, {overloaded} overloaded (503), {other} other",
        args.logins,
        args.concurrency,
        elapsed.as_secs_f64(),
        args.logins as f64 / elapsed.as_secs_f64()
    );
    println!(
        "resident memory: before {:.0} MiB, peak {:.0} MiB, right after {:.0} MiB, after {} s idle {:.0} MiB",
        before.resident_mib, during.peak_mib, during.resident_mib, args.idle_seconds, settled.resident_mib
    );
    Ok(())
}

struct Memory {
    resident_mib: f64,
    peak_mib: f64,
}

/// `VmRSS` and `VmHWM` (the peak so far) of a process, from /proc.
fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading the server's /proc status (Linux only)")?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .with_context(|| format!("{name} in /proc status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("a number")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok(Memory {
        resident_mib: field("VmRSS:")?,
        peak_mib: field("VmHWM:")?,
    })
}
