//! Criterion benchmarks for the hot enhancement chain (placeholder until the chain lands).
fn main() {}
