//! Sightline: campaign lookbooks and fraud-ring hunting in one offline-first desktop app.
//!
//! Domain modules know nothing of egui; `app` and `ui` draw state and send commands.

pub mod fixtures; // deterministic generators for the demo workspace and benchmarks
pub mod fraud; // ingest, graph, ring detection, scoring: no egui
pub mod imaging; // enhancement operations and recipes: no egui
pub mod store; // the SQLite workspace: schema, migrations, blobs, the writer
