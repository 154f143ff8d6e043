//! Collectors, run off the scraping thread: a scrape starts every collector that is not
//! already running, waits for them until its deadline, and writes what came back. A collector
//! that blocks holds one worker thread and never more than one run: later scrapes find it
//! still running, wait no longer than their own deadline, and count a timeout. A collector may
//! register other collectors while it runs: no lock is held around a run.

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
        }));
        run
    }

    /// The result of run `run` (or a later one), waiting for it until `deadline` (`None`:
    /// as long as it takes).
    fn wait(&self, run: u64, deadline: Option<Instant>) -> Option<Arc<Collected>> {
        let mut state = self.state();
        loop {
            if let Some((done, collected)) = &state.last
                && *done >= run
            {
                return Some(Arc::clone(collected));
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
) -> Vec<Option<Arc<Collected>>> {
    sources
        .iter()
        .zip(runs)
        .map(|(source, run)| match source.wait(*run, deadline) {
            Some(collected) if collected.is_ok() => Some(collected),
            Some(_) => {
                source.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                source.timeouts.fetch_add(1, Ordering::Relaxed);
                None
            }
        })
        .collect()
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
