//! `ssn-bench`: the benchmarks behind `docs/benchmarks.md` (see `scripts/bench`).

use clap::Parser;

// The same allocator as `ssn` (see its main.rs): the in-process benchmarks measure the service as
// it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "ssn-bench",
    version,
    about = "Benchmarks of ssn whose figures go in docs/benchmarks.md"
)]
struct Cli {
    #[command(subcommand)]
    command: ssn_bench::BenchCommand,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ssn::telemetry::init(ssn::config::LogFormat::Text, "warn");
    ssn_bench::run(Cli::parse().command).await
}
