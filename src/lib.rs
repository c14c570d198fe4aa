//! Sightline: campaign lookbooks and fraud-ring hunting in one offline-first desktop app.
//!
//! Domain modules know nothing of egui; `app` and `ui` draw state and send commands.

pub mod app; // eframe application: state, jobs, commands, launch
pub mod cli; // the command line: GUI launch and headless subcommands

pub mod demo; // builds the offline demo workspace from the embedded fixtures
pub mod fixtures; // deterministic generators for the demo workspace and benchmarks
pub mod fraud; // ingest, graph, ring detection, scoring: no egui
pub mod imaging; // enhancement operations and recipes: no egui
pub mod jobs; // background jobs: progress, cancel, results for the UI and CLI
pub mod library; // product-image library: import, metadata, listing
pub mod store; // the SQLite workspace: schema, migrations, blobs, the writer
pub mod ui; // views and widgets: draw state, emit commands
