//! `ssn terminal gateway`: the bridge between an EDC terminal on a serial line and the service's
//! redemption API (see `docs/terminal-protocol.md`). It opens the device, speaks the link, relays
//! each message, and keeps unacknowledged advices in a local store-and-forward file. A device
//! that vanishes (unplugged, EIO, end of file) is closed and reopened with backoff.

pub mod host;
pub mod outbox;
pub mod session;
pub mod translate;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;
use zeroize::Zeroizing;

use terminal_link::link::LinkConfig;

#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// The terminal's serial device (or a pseudo-terminal, or a symlink to one).
    #[arg(long)]
    pub device: PathBuf,
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
    /// The ssn server. The operator's credentials come from SSN_USERNAME and SSN_PASSWORD.
    #[arg(long, env = "SSN_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    #[arg(long, env = "SSN_USERNAME")]
    pub username: String,
    /// The store-and-forward file (default: gateway-outbox.sqlite in the data directory).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// How long a request may wait for the host before the terminal gets 91.
    #[arg(long, default_value_t = 5)]
    pub host_timeout_seconds: u64,
    /// Tries of an advice before it is parked with an alarm.
    #[arg(long, default_value_t = 20)]
    pub outbox_attempts: u32,
    /// Serve `GET /metrics` (Prometheus text: link events, outbox depth and parked items) on
    /// this address, e.g. 127.0.0.1:9187. Off unless given.
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `ssn terminal outbox`: what a gateway's store-and-forward file holds.
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// The gateway's outbox file (default: gateway-outbox.sqlite in the data directory).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// Put parked items back in line (after the cause of the alarm is fixed); the running gateway
    /// sends them at its next look.
    #[arg(long)]
    pub retry_parked: bool,
}

/// Lists the outbox (and re-queues parked items with `--retry-parked`).
pub async fn outbox_command(data_dir: &std::path::Path, args: OutboxArgs) -> anyhow::Result<()> {
    let path = args
        .outbox
        .unwrap_or_else(|| data_dir.join("gateway-outbox.sqlite"));
    anyhow::ensure!(path.exists(), "no outbox at {}", path.display());
    let outbox = outbox::Outbox::open(&path).await?;
    if args.retry_parked {
        let count = outbox.unpark_all().await?;
        println!("{count} parked item(s) back in line");
    }
    let items = outbox.all().await?;
    println!("{} item(s) in {}", items.len(), path.display());
    for outbox::Listed {
        item,
        parked,
        last_error,
    } in items
    {
        println!(
            "#{} {:<8} {} {} {} tries={} {}{}",
            item.id,
            item.action,
            item.terminal_id,
            item.stan,
            item.local_date,
            item.attempts,
            if parked { "PARKED" } else { "pending" },
            last_error
                .map(|e| format!(" last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Backoff between attempts to open the device: never a busy loop.
const REOPEN_FIRST: Duration = Duration::from_millis(200);
const REOPEN_MAX: Duration = Duration::from_secs(5);

pub async fn run(data_dir: &std::path::Path, args: GatewayArgs) -> anyhow::Result<()> {
    let password = Zeroizing::new(
        std::env::var("SSN_PASSWORD").context("set SSN_PASSWORD to the operator's password")?,
    );
    let host = host::HostClient::new(
        &args.server,
        &args.username,
        password,
        Duration::from_secs(args.host_timeout_seconds),
    )?;
    let outbox_path = args
        .outbox
        .clone()
        .unwrap_or_else(|| data_dir.join("gateway-outbox.sqlite"));
    let outbox = outbox::Outbox::open(&outbox_path)
        .await
        .with_context(|| format!("opening the outbox {}", outbox_path.display()))?;
    let gateway = session::Gateway {
        host,
        outbox,
        outbox_attempts: args.outbox_attempts,
        link: LinkConfig::default(),
    };
    tracing::info!(device = %args.device.display(), baud = args.baud, server = %args.server,
        outbox = %outbox_path.display(), pending = gateway.outbox.pending_count().await?,
        parked = gateway.outbox.parked_count().await?, "gateway: starting");
    if let Some(address) = args.metrics_listen {
        serve_metrics(address).await?;
    }
    // The counts are on /metrics from the start, not only after the first advice.
    gateway.drain(false).await;
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    let mut wait = REOPEN_FIRST;
    loop {
        let served = async {
            match open(&args.device, args.baud) {
                Ok(port) => {
                    tracing::info!(device = %args.device.display(), "gateway: device open");
                    let opened = std::time::Instant::now();
                    let error = gateway.serve(port).await;
                    tracing::warn!(%error, "gateway: device lost; reopening");
                    // A device that fails at once is not back yet: keep backing off.
                    opened.elapsed() > Duration::from_secs(2)
                }
                Err(error) => {
                    tracing::warn!(device = %args.device.display(), %error, "gateway: cannot open the device");
                    false
                }
            }
        };
        tokio::select! {
            _ = &mut shutdown => break,
            opened = served => {
                wait = if opened { REOPEN_FIRST } else { (wait * 2).min(REOPEN_MAX) };
            }
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("gateway: stopped");
    Ok(())
}

/// Serves the process's metrics in the background.
async fn serve_metrics(address: std::net::SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for /metrics on {address}"))?;
    tracing::info!(address = %listener.local_addr()?, "gateway: serving /metrics");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    crate::metrics::CONTENT_TYPE,
                )],
                crate::metrics::metrics().render(),
            )
        }),
    );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "gateway: /metrics stopped");
        }
    });
    Ok(())
}

fn open(device: &std::path::Path, baud: u32) -> anyhow::Result<tokio_serial::SerialStream> {
    use tokio_serial::SerialPortBuilderExt;
    Ok(tokio_serial::new(device.to_string_lossy(), baud)
        .timeout(Duration::from_millis(100))
        .open_native_async()?)
}
