//! The workspace's one writer: a named thread owning the write connection.
//!
//! Jobs (ingest, scoring results, asset imports) send closures here and wait on their own
//! thread for the answer, so writes are serialised in one place and the UI thread never holds
//! the database.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::error::StoreError;
use super::workspace::{OpenMode, Workspace};

type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Handle to the writer thread; cloneable senders, the thread ends when all handles drop.
pub struct Writer {
    tx: Option<mpsc::SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Opens the workspace on a new thread that becomes its writer.
    pub fn spawn(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(64);
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("workspace-writer".into())
            .spawn(move || {
                let mut ws = match Workspace::open(&path, mode) {
                    Ok(ws) => {
                        let _ = ready_tx.send(Ok(()));
                        ws
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut ws);
                }
            })
            .map_err(|source| StoreError::Blob {
                path: std::path::PathBuf::from("<writer thread>"),
                source,
            })?;
        ready_rx.recv().map_err(|_| StoreError::WriterGone)??;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer thread and waits for its result. Never call from the UI thread.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Workspace) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |ws| {
            let _ = rtx.send(f(ws));
        });
        self.tx
            .as_ref()
            .ok_or(StoreError::WriterGone)?
            .send(job)
            .map_err(|_| StoreError::WriterGone)?;
        rrx.recv().map_err(|_| StoreError::WriterGone)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
