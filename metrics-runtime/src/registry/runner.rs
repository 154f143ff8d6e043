//! Collectors, run off the scraping thread: a scrape starts every collector that is not
//! already running, waits for them until its deadline, and writes what came back. A collector
//! that blocks holds one worker thread and never more than one run: later scrapes find it
//! still running, share that run, wait no longer than their own deadline, and count a timeout.
//! A collector may register other collectors while it runs: no lock is held around a run.
//!
//! A synchronous scrape ([`finish_all`]) waits on its own thread; the `/metrics` endpoint
//! ([`finish_all_async`]) awaits the end of each run without a thread of its own, so that
//! scrapes waiting for a stuck collector cost no thread each, and a scrape whose client went
//! away stops waiting when its future is dropped.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::catalog::FamilySpec;

/// The series of one family, as a collector read them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Samples {
    /// Each series: its label values (in the order of the family's label names) and value.
    pub(crate) series: Vec<(Vec<Cow<'static, str>>, f64)>,
}

/// What one run of a collector gives: the samples of each of its families, in the order of
/// its specs, or why it failed.
pub(crate) type Collected = Result<Vec<Samples>, String>;

/// What a scrape writes of each of its collectors: the run's result, or `None` for one that
/// failed or that it could not wait for.
pub(crate) type Results = Vec<Option<Arc<Collected>>>;

/// The function a collector runs.
pub(crate) type Read = Box<dyn Fn() -> Collected + Send + Sync>;

/// A registered collector.
pub(crate) struct Source {
    /// Its name, the `collector` label of its error and timeout counts.
    pub(crate) name: &'static str,
    /// The families it writes.
    pub(crate) families: Vec<FamilySpec>,
    read: Read,
    /// Scrapes in which it failed or panicked.
    pub(crate) errors: AtomicU64,
    /// Scrapes that could not wait for it.
    pub(crate) timeouts: AtomicU64,
    state: Mutex<RunState>,
    finished: Condvar,
    /// Wakes the scrapes that await a run (the `/metrics` endpoint's).
    #[cfg(feature = "axum")]
    finished_async: tokio::sync::Notify,
}

#[derive(Default)]
struct RunState {
    /// The run in flight, if one is.
    running: Option<u64>,
    /// The number of the last run started.
    started: u64,
    /// The last run that ended, with what it gave.
    last: Option<(u64, Arc<Collected>)>,
}

impl Source {
    pub(crate) fn new(name: &'static str, families: Vec<FamilySpec>, read: Read) -> Source {
        Source {
            name,
            families,
            read,
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            state: Mutex::default(),
            finished: Condvar::new(),
            #[cfg(feature = "axum")]
            finished_async: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a run unless one is in flight; the number of the run whose result to wait for.
    fn start(self: &Arc<Self>) -> u64 {
        let mut state = self.state();
        if let Some(run) = state.running {
            return run;
        }
        state.started += 1;
        let run = state.started;
        state.running = Some(run);
        drop(state);
        let source = Arc::clone(self);
        submit(Box::new(move || {
            let collected = catch_unwind(AssertUnwindSafe(|| (source.read)()))
                .unwrap_or_else(|_| Err("the collector panicked".to_owned()));
            let mut state = source.state();
            state.running = None;
            state.last = Some((run, Arc::new(collected)));
            drop(state);
            source.finished.notify_all();
            #[cfg(feature = "axum")]
            source.finished_async.notify_waiters();
        }));
        run
    }

    /// The result of run `run` (or a later one), waiting for it until `deadline` (`None`:
    /// as long as it takes).
    fn wait(&self, run: u64, deadline: Option<Instant>) -> Option<Arc<Collected>> {
        let mut state = self.state();
        loop {
            if let Some(collected) = state.result(run) {
                return Some(collected);
            }
            state = match deadline {
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    self.finished
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    /// The result of run `run` (or a later one), awaited as long as it takes; dropping the
    /// future stops the wait.
    #[cfg(feature = "axum")]
    async fn finished(&self, run: u64) -> Arc<Collected> {
        loop {
            // Registered before the state is read, so that a run ending in between wakes it.
            let mut notified = std::pin::pin!(self.finished_async.notified());
            notified.as_mut().enable();
            if let Some(collected) = self.state().result(run) {
                return collected;
            }
            notified.await;
        }
    }

    /// Counts a run that failed, or that a scrape could not wait for (`None`); what the scrape
    /// writes.
    fn tally(&self, result: Option<Arc<Collected>>) -> Option<Arc<Collected>> {
        match result {
            Some(collected) if collected.is_ok() => Some(collected),
            Some(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

impl RunState {
    /// What run `run` (or a later one) gave, if it has ended.
    fn result(&self, run: u64) -> Option<Arc<Collected>> {
        match &self.last {
            Some((done, collected)) if *done >= run => Some(Arc::clone(collected)),
            _ => None,
        }
    }
}

/// Starts every source that is not already running; the runs to wait for.
pub(crate) fn start_all(sources: &[Arc<Source>]) -> Vec<u64> {
    sources.iter().map(Source::start).collect()
}

/// Each source's result from `runs` (or later), or `None` for one that did not finish by
/// `deadline` (counted as a timeout; `None`: no deadline) or failed (counted as an error).
pub(crate) fn finish_all(
    sources: &[Arc<Source>],
    runs: &[u64],
    deadline: Option<Instant>,
) -> Results {
    sources
        .iter()
        .zip(runs)
        .map(|(source, run)| source.tally(source.wait(*run, deadline)))
        .collect()
}

/// [`finish_all`] for an async scrape: each source's result from `runs` (or later), awaited
/// until `deadline` without holding a thread.
#[cfg(feature = "axum")]
pub(crate) async fn finish_all_async(
    sources: &[Arc<Source>],
    runs: &[u64],
    deadline: Instant,
) -> Results {
    let deadline = tokio::time::Instant::from_std(deadline);
    let mut collected = Vec::with_capacity(sources.len());
    for (source, run) in sources.iter().zip(runs) {
        let result = tokio::time::timeout_at(deadline, source.finished(*run))
            .await
            .ok();
        collected.push(source.tally(result));
    }
    collected
}

type Job = Box<dyn FnOnce() + Send>;

/// Idle workers, each waiting for a job on its channel.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// How long an idle worker waits for another job before its thread ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `job` on an idle worker, or on a new one: a worker stuck in a collector that blocks
/// holds only its own thread.
fn submit(mut job: Job) {
    loop {
        let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(worker) = idle else { break };
        match worker.send(job) {
            Ok(()) => return,
            // That worker's thread has just ended, idle for too long; try another.
            Err(mpsc::SendError(returned)) => job = returned,
        }
    }
    let slot = Arc::new(Mutex::new(Some(job)));
    let taken = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("metrics-collector".to_owned())
        .spawn(move || {
            let first = taken.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(job) = first {
                job();
            }
            work();
        });
    if spawned.is_err() {
        // No thread to be had: run it here rather than lose the scrape's series.
        let job = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(job) = job {
            job();
        }
    }
}

/// A worker's life after its first job: idle on its channel, until a job comes or it times
/// out.
fn work() {
    let (sender, receiver): (Sender<Job>, Receiver<Job>) = mpsc::channel();
    loop {
        IDLE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender.clone());
        match receiver.recv_timeout(IDLE_TIMEOUT) {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}
