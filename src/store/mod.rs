//! The SQLite workspace: schema, migrations, content-addressed blobs and the single writer.
