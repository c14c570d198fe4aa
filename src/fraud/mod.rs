//! Fraud analytics: ingest, graph build, ring detection, features, model and scoring. No egui here.

pub mod browse;
pub mod ingest; // exports into the workspace: presets, mappings, rejects, labels
