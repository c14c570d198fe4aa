//! The SQLite workspace: schema, migrations, content-addressed blobs and the single writer.
//!
//! One workspace is one SQLite file (WAL, foreign keys on) plus a blob folder beside it. The
//! file is the index of record: a blob is written before its row, and blobs no row names are
//! swept on open.

mod blobs;
mod error;
pub mod schema;
mod workspace;
mod writer;

pub use blobs::BlobStore;
pub use error::StoreError;
pub use workspace::{BUSY_TIMEOUT, OpenMode, Workspace, default_workspace_path, now_secs};
pub use writer::Writer;
