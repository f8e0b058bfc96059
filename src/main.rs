//! `ssn`: parse flags, start logging, run the chosen subcommand.

use clap::Parser;
use ssn::cli::{Cli, Command};

/// mimalloc instead of glibc's malloc: glibc kept the blocks of argon2id password checks and
/// large uploads in per-thread arenas after they were freed (1 GiB after 300 logins); mimalloc
/// returns freed pages to the OS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ssn::telemetry::init(cli.common.log_format, "info");
    let outcome = match cli.command {
        Command::Serve(args) => ssn::startup::serve(&cli.common, args).await,
        Command::Migrate => ssn::cli::migrate(&cli.common).await,
        Command::User(command) => ssn::cli::user_add(&cli.common, command).await,
        Command::Quota(command) => ssn::cli::quota(command).await,
        Command::Close { client, date, json } => {
            ssn::client::recon::close(&client, date, json).await
        }
        Command::Recon(command) => ssn::client::recon::recon(command).await,
        Command::Settle {
            client,
            date,
            output,
            json,
        } => ssn::client::recon::settle(&client, date, &output, json).await,
        Command::Ledger(command) => ssn::cli::ledger(&cli.common, command).await,
        Command::Audit(command) => ssn::cli::audit::audit(&cli.common, command).await,
        Command::Backup {
            output,
            pages_per_step,
            pause_ms,
        } => ssn::cli::backup(&cli.common, output, pages_per_step, pause_ms).await,
        Command::Restore { input } => ssn::cli::restore(&cli.common, input).await,
        Command::Keys(command) => ssn::cli::keys(&cli.common, command).await,
        Command::Terminal(ssn::cli::TerminalCommand::Gateway(args)) => {
            ssn::gateway::run(&cli.common.data_dir, args).await
        }
        Command::Terminal(ssn::cli::TerminalCommand::Outbox(args)) => {
            ssn::gateway::outbox_command(&cli.common.data_dir, args).await
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
