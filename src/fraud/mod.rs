//! Fraud analytics: ingest, graph build, ring detection, features, model and scoring. No egui here.

pub mod browse; // read-only queries behind the fraud views
pub mod cli; // `sightline score` arguments and driver
pub mod csr; // compressed sparse rows: components, label propagation, PageRank
pub mod dataset; // one read of the workspace into dense columns
pub mod detect; // typology detectors and candidate rings
pub mod features; // per-account features, label-derived ones per fold
pub mod forwarding; // money passed on soon after it arrived (mules, collectors)
pub mod gbm; // histogram gradient-boosted trees
pub mod graph; // pair-aggregated transaction graph and the petgraph view
pub mod ingest; // exports into the workspace: presets, mappings, rejects, labels
pub mod model; // grouped folds and evaluation metrics
pub mod motifs; // triangles, four-cycles, reciprocity and k-cores per account
pub mod reasons; // evidence worded for analysts
pub mod rings_view; // the latest scoring run as the Rings view reads it
pub mod score; // the scoring run, its files and its SQLite copy

pub use cli::{ScoreArgs, run_score_cli};
pub use score::{ModelKind, ScoreError, ScoreOptions, ScoreProgress, ScoreReport, score_workspace};
