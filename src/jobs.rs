//! Background jobs: every long piece of work (ingest, scoring, demo build, thumbnails) runs
//! here, off the UI thread, reporting progress on a bounded channel and checking a cancel token.
//!
//! The manager is front-end agnostic: the GUI polls it each frame (time-boxed), the CLI can
//! drive the same job functions directly with a [`JobCtx`] of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Shared cancel flag of one job.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks the job to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The raw flag, for domain functions that take `&AtomicBool`.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Identifies a job within one manager.
pub type JobId = u64;

/// How a job ended, when it is not a success.
#[derive(Clone, Debug, PartialEq)]
pub enum JobFailure {
    /// The user cancelled it.
    Cancelled,
    /// It failed; the message is for the user.
    Failed(String),
}

enum Msg<T> {
    Progress {
        id: JobId,
        fraction: Option<f32>,
        message: String,
    },
    Done {
        id: JobId,
        result: Result<T, JobFailure>,
    },
}

/// What a running job gets: progress reporting and its cancel token.
pub struct JobCtx<T> {
    id: JobId,
    tx: Option<SyncSender<Msg<T>>>,
    cancel: CancelToken,
    repaint: Arc<dyn Fn() + Send + Sync>,
}

impl<T> JobCtx<T> {
    /// A context that reports nowhere (for the CLI and tests); `cancel` still works.
    pub fn detached(cancel: CancelToken) -> Self {
        Self {
            id: 0,
            tx: None,
            cancel,
            repaint: Arc::new(|| {}),
        }
    }

    /// Reports progress (`fraction` in 0..=1, `None` when unknown). Lossy when the UI lags:
    /// a full channel drops the update rather than blocking the job.
    pub fn progress(&self, fraction: Option<f32>, message: impl Into<String>) {
        if let Some(tx) = &self.tx {
            let msg = Msg::Progress {
                id: self.id,
                fraction: fraction.map(|f| f.clamp(0.0, 1.0)),
                message: message.into(),
            };
            match tx.try_send(msg) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
            (self.repaint)();
        }
    }

    /// Whether the user asked this job to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The job's cancel token.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
}

/// State of one job as the UI shows it.
#[derive(Clone, Debug)]
pub struct JobInfo {
    /// The job's id.
    pub id: JobId,
    /// What it does, for people ("Building demo workspace").
    pub title: String,
    /// Latest progress fraction, if known.
    pub fraction: Option<f32>,
    /// Latest progress message.
    pub message: String,
    /// When it started.
    pub started: Instant,
    cancel: CancelToken,
}

impl JobInfo {
    /// Estimated time left, from the progress so far (None until there is enough to tell).
    pub fn eta(&self) -> Option<Duration> {
        let f = self.fraction?;
        let elapsed = self.started.elapsed().as_secs_f32();
        if !(0.02..1.0).contains(&f) || elapsed < 0.5 {
            return None;
        }
        Some(Duration::from_secs_f32(elapsed * (1.0 - f) / f))
    }

    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether cancellation has been requested.
    pub fn cancel_requested(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// Runs jobs on the blocking pool of the app's tokio runtime and collects their results.
pub struct JobManager<T> {
    runtime: tokio::runtime::Handle,
    tx: SyncSender<Msg<T>>,
    rx: Receiver<Msg<T>>,
    running: Vec<JobInfo>,
    background: Vec<JobInfo>,
    next_id: JobId,
    repaint: Arc<dyn Fn() + Send + Sync>,
}

impl<T: Send + 'static> JobManager<T> {
    /// A manager whose jobs call `repaint` when they have news.
    pub fn new(runtime: tokio::runtime::Handle, repaint: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = sync_channel(256);
        Self {
            runtime,
            tx,
            rx,
            running: Vec::new(),
            background: Vec::new(),
            next_id: 1,
            repaint,
        }
    }

    /// Starts `work` in the background, shown in the jobs tray, and returns its id.
    pub fn spawn(
        &mut self,
        title: impl Into<String>,
        work: impl FnOnce(&JobCtx<T>) -> Result<T, JobFailure> + Send + 'static,
    ) -> JobId {
        self.start(title.into(), false, work)
    }

    /// Starts a short background read that is not shown in the tray (pages, thumbnails).
    pub fn spawn_quiet(
        &mut self,
        work: impl FnOnce(&JobCtx<T>) -> Result<T, JobFailure> + Send + 'static,
    ) -> JobId {
        self.start(String::new(), true, work)
    }

    fn start(
        &mut self,
        title: String,
        quiet: bool,
        work: impl FnOnce(&JobCtx<T>) -> Result<T, JobFailure> + Send + 'static,
    ) -> JobId {
        let id = self.next_id;
        self.next_id += 1;
        let cancel = CancelToken::default();
        let info = JobInfo {
            id,
            title,
            fraction: Some(0.0),
            message: String::new(),
            started: Instant::now(),
            cancel: cancel.clone(),
        };
        if quiet {
            self.background.push(info);
        } else {
            self.running.push(info);
        }
        let ctx = JobCtx {
            id,
            tx: Some(self.tx.clone()),
            cancel,
            repaint: self.repaint.clone(),
        };
        self.runtime.spawn_blocking(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&ctx)))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    Err(JobFailure::Failed(format!("internal error: {what}")))
                });
            let result = match result {
                Err(JobFailure::Failed(_)) if ctx.is_cancelled() => Err(JobFailure::Cancelled),
                other => other,
            };
            if let Some(tx) = &ctx.tx {
                // Blocking send: a result must never be dropped; the UI drains every frame.
                let _ = tx.send(Msg::Done { id, result });
            }
            (ctx.repaint)();
        });
        id
    }

    /// Jobs shown in the tray that are still running, oldest first.
    pub fn running(&self) -> &[JobInfo] {
        &self.running
    }

    /// Whether no job at all (shown or quiet) is running.
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.background.is_empty()
    }

    /// Asks job `id` to stop.
    pub fn cancel(&self, id: JobId) {
        if let Some(job) = self.running.iter().find(|j| j.id == id) {
            job.cancel();
        }
    }

    /// Applies queued progress and returns finished jobs, spending at most `budget`.
    pub fn poll(&mut self, budget: Duration) -> Vec<(JobInfo, Result<T, JobFailure>)> {
        let start = Instant::now();
        let mut finished = Vec::new();
        while start.elapsed() < budget {
            let Ok(msg) = self.rx.try_recv() else { break };
            match msg {
                Msg::Progress {
                    id,
                    fraction,
                    message,
                } => {
                    if let Some(job) = self.running.iter_mut().find(|j| j.id == id) {
                        job.fraction = fraction;
                        job.message = message;
                    }
                }
                Msg::Done { id, result } => {
                    if let Some(pos) = self.running.iter().position(|j| j.id == id) {
                        finished.push((self.running.remove(pos), result));
                    } else if let Some(pos) = self.background.iter().position(|j| j.id == id) {
                        finished.push((self.background.remove(pos), result));
                    }
                }
            }
        }
        finished
    }

    /// Blocks until every job has finished (tests and orderly shutdown).
    pub fn wait_all(&mut self, timeout: Duration) -> Vec<(JobInfo, Result<T, JobFailure>)> {
        let deadline = Instant::now() + timeout;
        let mut all = Vec::new();
        while !self.is_idle() && Instant::now() < deadline {
            all.extend(self.poll(Duration::from_millis(10)));
            std::thread::sleep(Duration::from_millis(5));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime")
    }

    #[test]
    fn job_reports_result_and_progress() {
        let rt = runtime();
        let mut jobs = JobManager::<u32>::new(rt.handle().clone(), Arc::new(|| {}));
        jobs.spawn("sum", |ctx| {
            ctx.progress(Some(0.5), "half");
            Ok(41 + 1)
        });
        let done = jobs.wait_all(Duration::from_secs(5));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].1, Ok(42));
        assert!(jobs.running().is_empty());
    }

    #[test]
    fn cancelled_job_reports_cancelled() {
        let rt = runtime();
        let mut jobs = JobManager::<()>::new(rt.handle().clone(), Arc::new(|| {}));
        let id = jobs.spawn("spin", |ctx| {
            while !ctx.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(JobFailure::Cancelled)
        });
        jobs.cancel(id);
        let done = jobs.wait_all(Duration::from_secs(5));
        assert_eq!(done[0].1, Err(JobFailure::Cancelled));
    }

    #[test]
    fn panicking_job_becomes_an_error_not_a_crash() {
        let rt = runtime();
        let mut jobs = JobManager::<()>::new(rt.handle().clone(), Arc::new(|| {}));
        jobs.spawn("boom", |_| panic!("kaboom"));
        let done = jobs.wait_all(Duration::from_secs(5));
        match &done[0].1 {
            Err(JobFailure::Failed(msg)) => assert!(msg.contains("kaboom")),
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn eta_follows_progress() {
        let info = JobInfo {
            id: 1,
            title: "t".into(),
            fraction: Some(0.5),
            message: String::new(),
            started: Instant::now() - Duration::from_secs(10),
            cancel: CancelToken::default(),
        };
        let eta = info.eta().expect("eta").as_secs_f32();
        assert!((9.0..11.0).contains(&eta), "eta {eta}");
    }
}
