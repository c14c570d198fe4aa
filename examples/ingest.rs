//! `sightline ingest` as a stand-alone binary over the library's CLI code (the benchmark script
//! runs it; `main` calls the same `run_ingest_cli`).

use clap::Parser;
use sightline::fraud::ingest::cli::{IngestArgs, run_ingest_cli};

/// Load transaction exports into a Sightline workspace.
#[derive(Parser)]
#[command(name = "ingest")]
struct Cli {
    #[command(flatten)]
    args: IngestArgs,
}

fn main() -> anyhow::Result<()> {
    run_ingest_cli(Cli::parse().args)
}
