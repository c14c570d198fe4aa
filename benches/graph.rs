//! Graph kernels on a 1,000,000-edge planted-partition graph (1,000 groups of 200):
//! connected components, PageRank, personalized PageRank and label propagation, plus the
//! pair aggregation and detectors on the demo transaction fixture.
//! Run with `cargo bench --bench graph`; figures are recorded in docs/scoring.md.

use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use sightline::fixtures::graphs::planted_partition;
use sightline::fraud::csr::{
    Csr, PageRankGraph, PageRankOptions, csr_components, label_propagation, pagerank,
};

fn kernels(c: &mut Criterion) {
    let n = 200_000;
    let edges: Vec<(u32, u32, f32)> = planted_partition(1000, 200, 4, 1, 7)
        .into_iter()
        .map(|(a, b)| (a, b, 1.0))
        .collect();
    let undirected = Csr::from_edges(n, &edges, true);
    let directed = Csr::from_edges(n, &edges, false);
    let mut g = c.benchmark_group("csr_1m_edges");
    g.sample_size(10);
    g.bench_function("build_undirected_csr", |b| {
        b.iter(|| Csr::from_edges(n, &edges, true))
    });
    g.bench_function("connected_components", |b| {
        b.iter(|| csr_components(&undirected))
    });
    g.bench_function("pagerank", |b| {
        b.iter(|| pagerank(&directed, PageRankOptions::default()))
    });
    let prepared = PageRankGraph::new(&undirected);
    let restart: Vec<f64> = (0..n)
        .map(|v| if v % 97 == 0 { 1.0 } else { 0.0 })
        .collect();
    g.bench_function("personalized_pagerank_15_steps", |b| {
        b.iter(|| {
            prepared.run(
                Some(&restart),
                PageRankOptions {
                    max_iterations: 15,
                    tolerance: 1e-6,
                    ..Default::default()
                },
            )
        })
    });
    g.bench_function("label_propagation", |b| {
        b.iter(|| label_propagation(&undirected, 1, 100))
    });
    g.finish();
}

fn detectors(c: &mut Criterion) {
    use sightline::fixtures::transactions::TxGenConfig;
    let dir = tempfile::tempdir().expect("tempdir");
    let ws_path = dir.path().join("demo.sqlite");
    let cfg = TxGenConfig::demo();
    let data = dir.path().join("demo");
    sightline::fixtures::transactions::write_dir(&cfg, &data, false).expect("fixture");
    let mut ws =
        sightline::store::Workspace::open(&ws_path, sightline::store::OpenMode::CreateIfMissing)
            .expect("workspace");
    let files: Vec<_> = [
        "accounts.csv",
        "merchants.csv",
        "transactions.csv",
        "labels.csv",
    ]
    .iter()
    .map(|f| data.join(f))
    .collect();
    let plan = sightline::fraud::ingest::detect(&files, "native", None, &Default::default())
        .expect("plan");
    sightline::fraud::ingest::run(
        &mut ws,
        &plan,
        &Default::default(),
        &AtomicBool::new(false),
        &|_| {},
    )
    .expect("ingest");
    let ds = sightline::fraud::dataset::Dataset::load(ws.conn()).expect("load");
    let mut g = c.benchmark_group("demo_fixture");
    g.sample_size(10);
    g.bench_function("load_dataset", |b| {
        b.iter(|| sightline::fraud::dataset::Dataset::load(ws.conn()))
    });
    g.bench_function("aggregate_graph", |b| {
        b.iter(|| sightline::fraud::graph::TxGraph::build(&ds))
    });
    let graph = sightline::fraud::graph::TxGraph::build(&ds);
    let money = graph.money_undirected(ds.n_accounts());
    g.bench_function("all_detectors", |b| {
        b.iter(|| {
            sightline::fraud::detect::detect_all(
                &ds,
                &graph,
                &money,
                &Default::default(),
                &AtomicBool::new(false),
            )
        })
    });
    g.bench_function("score_workspace", |b| {
        b.iter(|| {
            sightline::fraud::score_workspace(
                ws.conn(),
                &Default::default(),
                &AtomicBool::new(false),
                &|_| {},
            )
        })
    });
    g.finish();
}

criterion_group!(benches, kernels, detectors);
criterion_main!(benches);
