//! Writes the synthetic fraud dataset and reports time and size:
//! `cargo run --example txgen -- demo|benchmark <dir> [--plain]`.

use std::path::PathBuf;
use std::time::Instant;

use sightline::fixtures::transactions::{TxGenConfig, write_dir};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "demo".to_owned());
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| format!("target/txgen-{which}")),
    );
    let gzip = !args.any(|a| a == "--plain");
    let cfg = match which.as_str() {
        "demo" => TxGenConfig::demo(),
        "benchmark" => TxGenConfig::benchmark(),
        other => anyhow::bail!("unknown config {other:?}: use demo or benchmark"),
    };
    let started = Instant::now();
    let summary = write_dir(&cfg, &dir, gzip)?;
    let secs = started.elapsed().as_secs_f64();
    let mut bytes = 0;
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let len = entry.metadata()?.len();
        bytes += len;
        println!("{:>12} {}", len, entry.path().display());
    }
    println!("{summary:#?}");
    println!(
        "generated {which} in {secs:.2} s, {:.2} MB on disk",
        bytes as f64 / 1e6
    );
    Ok(())
}
