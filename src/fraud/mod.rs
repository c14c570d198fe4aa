//! Fraud analytics: ingest, graph build, ring detection, features, model and scoring. No egui here.

pub mod csr;
pub mod dataset;
pub mod detect;
pub mod gbm;
pub mod graph;
