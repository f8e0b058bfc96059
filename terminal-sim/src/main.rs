//! `terminal-sim`: a simulated EDC terminal for `ssn`. It speaks the same link as a real terminal
//! (the codec is `terminal_link`, the very code the host's gateway runs) over a serial device or a
//! pseudo-terminal it creates, at the configured baud rate, and fails the way terminals in the
//! field do when asked to (see `--help` for the faults).
//!
//! Modes: `interactive` (a person at the counter), `script FILE` (one command per line; one JSON
//! report per line on standard output), `load` (N purchases across M terminals, then a summary
//! and a check against the host).

mod faults;
mod load;
mod paced;
mod pty;
mod script;
mod state;
mod terminal;

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use terminal_link::pin_block::TerminalKey;

use crate::{
    faults::{FaultArgs, Faults},
    paced::Paced,
    state::State,
    terminal::{Terminal, TerminalConfig},
};

#[derive(Debug, Parser)]
#[command(
    name = "terminal-sim",
    version,
    about = "A simulated EDC terminal for ssn",
    // A flag given twice takes its last value (scripts add to a base command line).
    args_override_self = true
)]
struct Cli {
    #[command(flatten)]
    line: LineArgs,
    #[command(flatten)]
    faults: FaultArgs,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Clone, Args)]
pub struct LineArgs {
    /// A serial device to open. Without it, the simulator creates a pseudo-terminal pair and
    /// prints the path the gateway should open.
    #[arg(long, global = true)]
    device: Option<PathBuf>,
    /// With a pseudo-terminal: a symlink to make at this path (stable across restarts).
    #[arg(long, global = true)]
    pty_link: Option<PathBuf>,
    #[arg(long, default_value_t = 9600, global = true)]
    baud: u32,
    #[arg(long, default_value = "SMD00001", global = true)]
    terminal_id: String,
    #[arg(long, default_value = "EW-DEMO", global = true)]
    ewarung_id: String,
    /// The terminal's PIN key (32 hex digits); the default is the demo terminals' key.
    #[arg(long, env = "TERMINAL_PIN_KEY", default_value = terminal_link::pin_block::DEMO_KEY_HEX, global = true)]
    pin_key: String,
    /// Where the terminal keeps its STAN, pending advice and totals across restarts.
    #[arg(long, global = true)]
    state: Option<PathBuf>,
    /// Seconds to wait for the host's answer before reversing.
    #[arg(long, default_value_t = 30, global = true)]
    response_timeout_seconds: u64,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// A person at the counter: card, PIN and basket typed in; the host's message shown.
    Interactive,
    /// Runs a scenario file (see the README's terminal section for the commands).
    Script { file: PathBuf },
    /// N purchases across M terminals, then a summary and a check against the host.
    Load(load::LoadArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber_init();
    let cli = Cli::parse();
    let outcome = match cli.mode {
        Mode::Interactive => script::interactive(&cli.line, &cli.faults).await,
        Mode::Script { file } => script::run_file(&cli.line, &cli.faults, &file).await,
        Mode::Load(args) => load::run(&cli.line, &cli.faults, args).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("terminal-sim: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn tracing_subscriber_init() {
    // Plain stderr logs when TERMINAL_SIM_LOG is set; quiet otherwise.
    if std::env::var_os("TERMINAL_SIM_LOG").is_some() {
        tracing::subscriber::set_global_default(SimpleLogger).ok();
    }
}

/// A minimal logger (the simulator needs no more), to stderr.
struct SimpleLogger;

impl tracing::Subscriber for SimpleLogger {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        eprintln!("terminal-sim {}:{}", event.metadata().level(), fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The byte stream to the gateway: a serial device, or a new pseudo-terminal.
pub enum Line {
    Serial(tokio_serial::SerialStream),
    Pty(pty::PtyMaster),
}

impl tokio::io::AsyncRead for Line {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Line::Serial(port) => std::pin::Pin::new(port).poll_read(cx, buf),
            Line::Pty(pty) => std::pin::Pin::new(pty).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Line {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Line::Serial(port) => std::pin::Pin::new(port).poll_write(cx, buf),
            Line::Pty(pty) => std::pin::Pin::new(pty).poll_write(cx, buf),
        }
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Line::Serial(port) => std::pin::Pin::new(port).poll_flush(cx),
            Line::Pty(pty) => std::pin::Pin::new(pty).poll_flush(cx),
        }
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Line::Serial(port) => std::pin::Pin::new(port).poll_shutdown(cx),
            Line::Pty(pty) => std::pin::Pin::new(pty).poll_shutdown(cx),
        }
    }
}

/// Opens the line: the device, or a pseudo-terminal whose path is printed on standard error as
/// `terminal-sim: pty PATH` (and linked at `link`).
pub fn open_line(
    device: Option<&PathBuf>,
    link: Option<&PathBuf>,
    baud: u32,
) -> anyhow::Result<Line> {
    match device {
        Some(device) => {
            use tokio_serial::SerialPortBuilderExt;
            Ok(Line::Serial(
                tokio_serial::new(device.to_string_lossy(), baud).open_native_async()?,
            ))
        }
        None => {
            let pty = pty::PtyMaster::open(link.map(PathBuf::as_path))?;
            eprintln!("terminal-sim: pty {}", pty.slave_path.display());
            Ok(Line::Pty(pty))
        }
    }
}

/// A terminal on a freshly opened line, from the state file.
pub fn terminal(
    line: &LineArgs,
    faults: &FaultArgs,
    stream_index: u64,
    opened: Line,
    terminal_id: &str,
    state_path: Option<&PathBuf>,
) -> anyhow::Result<Terminal<Paced<Line>>> {
    let config = TerminalConfig {
        terminal_id: terminal_id.to_string(),
        ewarung_id: line.ewarung_id.clone(),
        key: TerminalKey::from_hex(&line.pin_key)
            .map_err(|error| anyhow::anyhow!("--pin-key: {error}"))?,
        response_timeout: Duration::from_secs(line.response_timeout_seconds),
    };
    let state = State::load(state_path.map(PathBuf::as_path))?;
    Ok(Terminal::new(
        Paced::new(opened, line.baud),
        state,
        config,
        Faults::new(faults.clone(), stream_index),
    ))
}
