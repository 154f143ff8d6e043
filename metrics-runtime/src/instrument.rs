//! The hot path of `#[instrument_metric]`: a call site's resolved handles and the guard that
//! records one call when it is dropped.

pub(crate) mod outcome;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use crate::model::labels::ErrorKinds;
use crate::model::{Ending, Families, FunctionDescriptor, FunctionName, Outcome};
use crate::storage::cells::CallCells;

/// Whether the crate's own instrumentation records: see [`set_recording`].
static RECORDING: AtomicBool = AtomicBool::new(true);

/// Turns the recording of instrumented functions and of the HTTP layer off (`false`) or back on,
/// at run time, for the whole process: a kill switch for their cost, or a benchmark's baseline.
///
/// While it is off, a call or request that starts is not recorded (one that started before
/// still is, in full, so in-flight gauges return to zero). Every family is still exported
/// with the values it had, so counters stay monotonic and series do not vanish: `rate()` reads
/// 0. Metrics a program updates itself (`counter.inc()`) are not affected.
///
/// There is no feature that compiles recording out: Cargo unifies features, so one crate of a
/// build turning it on would silently turn off every other crate's metrics.
///
/// ```
/// use instrument_metric::{instrument_metric, set_recording};
///
/// #[instrument_metric(name = "switch_example")]
/// fn work() {}
///
/// set_recording(false);
/// work();
/// set_recording(true);
/// work();
/// let calls = instrument_metric::render()
///     .lines()
///     .filter(|line| line.starts_with("switch_example_total{") && line.contains(r#"result="ok""#))
///     .map(|line| line.rsplit(' ').next().unwrap().to_owned())
///     .collect::<Vec<_>>();
/// assert_eq!(calls, ["1"]);
/// ```
pub fn set_recording(on: bool) {
    RECORDING.store(on, Ordering::Relaxed);
}

/// Whether instrumented functions and the HTTP layer record: see [`set_recording`].
#[must_use]
pub fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// The per-function `static` that generated code records through.
#[derive(Debug)]
pub struct CallSite {
    pub(crate) descriptor: FunctionDescriptor,
    /// One entry per combination of dynamic label values (one when there are none).
    pub(crate) handles: OnceLock<Box<[CallCells]>>,
    /// The `function` label value, decided when the registry is built.
    pub(crate) function: OnceLock<Box<str>>,
}

impl CallSite {
    /// A call site whose handles are resolved when the registry is built.
    #[must_use]
    pub const fn new(descriptor: FunctionDescriptor) -> Self {
        CallSite {
            descriptor,
            handles: OnceLock::new(),
            function: OnceLock::new(),
        }
    }

    /// The call site of a function instrumented without arguments: the shared families,
    /// default buckets, no labels, no in-flight gauge. Generated code calls this instead of
    /// writing the whole descriptor out, since each field written out costs every instrumented
    /// function its share of a debug build (scripts/bench-build-cost.py).
    #[must_use]
    pub const fn with_defaults(
        function: fn() -> &'static str,
        module: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
        asynchronous: bool,
    ) -> Self {
        CallSite::new(FunctionDescriptor {
            function: FunctionName::Path(function),
            module,
            families: Families::Shared,
            in_flight: false,
            labels: &[],
            dynamic_labels: &[],
            buckets: &[],
            error_kinds: &[],
            objective: None,
            native_histogram: false,
            asynchronous,
            file,
            line,
            column,
        })
    }

    /// The `function` label value of this site, once the registry is built.
    pub(crate) fn function(&self) -> &str {
        self.function.get().map_or("", |name| name)
    }

    /// The descriptor this site was declared with.
    #[must_use]
    pub fn descriptor(&self) -> &FunctionDescriptor {
        &self.descriptor
    }

    /// Starts recording one call into the series of dynamic label combination `index`.
    ///
    /// The hot path is `#[inline]` in optimised builds only: in a debug build an `#[inline]`
    /// function is compiled again in every crate that calls it, which made each instrumented
    /// function cost the user's debug build more (scripts/bench-build-cost.py).
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn start_at(&'static self, index: usize) -> CallGuard {
        let cells = match self.handles.get() {
            Some(cells) => cells,
            None => self.resolve(),
        };
        let cells = &cells[index];
        let on = recording();
        let in_flight = self.descriptor.in_flight && on;
        if in_flight {
            cells.enter(cells.stripe());
        }
        CallGuard {
            cells,
            site: self,
            // Series are far fewer than 2^32 (each has cells in memory); `u32` keeps the guard
            // within the size it had without it.
            #[allow(clippy::cast_possible_truncation)]
            combination: index as u32,
            in_flight,
            on,
            started: if on { cells.clock.raw() } else { 0 },
            outcome: None,
            kind: None,
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve(&'static self) -> &'static [CallCells] {
        self.cells()
    }

    /// The cells of every label combination, created by whichever comes first: the first
    /// call, or the registry that exports them (which reads every site declared through
    /// `inventory` when it is built).
    pub(crate) fn cells(&self) -> &[CallCells] {
        self.handles.get_or_init(|| {
            let combinations = crate::model::labels::series_count(&self.dynamic_values());
            let native = crate::settings::native_config(self.descriptor.native_histogram);
            CallCells::of_site(
                self.descriptor.bucket_bounds(),
                self.descriptor.error_kinds.len(),
                native.as_ref(),
                combinations,
            )
            .into_boxed_slice()
        })
    }

    pub(crate) fn dynamic_values(&self) -> Vec<&'static [&'static str]> {
        self.descriptor
            .dynamic_labels
            .iter()
            .map(|(_, values)| *values)
            .collect()
    }
}

/// The series index of one more dynamic label value: generated code folds it over the
/// label arguments, in declaration order.
#[inline]
pub fn label_index<T: crate::LabelValue + ?Sized>(index: usize, value: &T) -> usize {
    crate::model::labels::next_index(index, T::VALUES.len(), value.index())
}

/// Records one call of an instrumented function when dropped.
///
/// Generated code calls [`CallGuard::finish`] with the outcome of a returned value; a guard
/// dropped without it records a panic (while unwinding) or a cancelled future.
#[derive(Debug)]
#[must_use = "a call is recorded when the guard is dropped"]
pub struct CallGuard {
    cells: &'static CallCells,
    /// The call site, for a capture (`instrument_metric::testing`).
    site: &'static CallSite,
    /// The series of its dynamic label values in the site's cells, for a capture.
    combination: u32,
    in_flight: bool,
    /// Whether recording was on when the call started ([`set_recording`]).
    on: bool,
    /// Raw clock reading at the start; scaled to nanoseconds once, at the end.
    started: u64,
    outcome: Option<Outcome>,
    /// The kind of the error returned, if its type lists kinds.
    kind: Option<usize>,
}

impl CallGuard {
    /// Sets the outcome of the call that returned.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn finish(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    /// Sets the outcome of the call that returned, and the kind of its error.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn finish_ending(&mut self, ending: Ending) {
        self.outcome = Some(ending.outcome());
        self.kind = ending.kind();
    }
}

impl Drop for CallGuard {
    #[cfg_attr(not(debug_assertions), inline)]
    fn drop(&mut self) {
        if !self.on {
            return;
        }
        let clock = self.cells.clock;
        let ended = clock.raw();
        let nanos = clock.delta_as_nanos(self.started, ended);
        let outcome = self.outcome.unwrap_or_else(|| {
            if std::thread::panicking() {
                Outcome::Panic
            } else {
                Outcome::Cancelled
            }
        });
        // The stripe of the CPU the call ends on: an `async` call may have moved since it
        // started, and the stripe it started on may belong to another running thread now.
        let stripe = self.cells.stripe();
        self.cells.record(stripe, outcome, nanos);
        if let Some(kind) = self.kind {
            self.cells.count_kind(stripe, kind);
        }
        // Without the `exemplars` feature, nothing; with it, a thread-local read outside spans.
        if let Some(trace) = crate::storage::exemplar::current_trace() {
            self.cells.exemplar(trace, outcome, nanos, ended);
        }
        if self.in_flight {
            self.cells.leave(stripe);
        }
        // One relaxed load when no test captures anything.
        if CAPTURES.load(Ordering::Relaxed) != 0 {
            let combination = self.combination as usize;
            captured(self.site, combination, outcome, self.kind, nanos);
        }
    }
}

/// The number of captures in progress, in any thread (`instrument_metric::testing`).
pub(crate) static CAPTURES: AtomicUsize = AtomicUsize::new(0);

/// One call seen by a capture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CapturedCall {
    pub(crate) site: &'static CallSite,
    /// Its dynamic label combination.
    pub(crate) combination: usize,
    pub(crate) outcome: Outcome,
    /// The index of its error's kind, if it returned an `Err` of a type that lists kinds.
    pub(crate) kind: Option<usize>,
    pub(crate) nanos: u64,
}

/// One HTTP request seen by a capture (`instrument_metric::testing`), as the HTTP layer recorded
/// it.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct CapturedRequest {
    /// Its `endpoint` label value.
    pub(crate) endpoint: &'static str,
    /// Its `method` label value.
    pub(crate) method: &'static str,
    pub(crate) status: usize,
    pub(crate) nanos: u64,
}

/// What a capture gathers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Capture {
    pub(crate) calls: Vec<CapturedCall>,
    pub(crate) requests: Vec<CapturedRequest>,
}

thread_local! {
    /// The capture in progress on this thread (or in the task it polls).
    pub(crate) static CAPTURED: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// Adds a request the HTTP layer recorded to this thread's capture, if one is in progress.
#[cfg(feature = "axum")]
#[cold]
pub(crate) fn captured_request(request: CapturedRequest) {
    CAPTURED.with(|captured| {
        if let Some(capture) = captured.borrow_mut().as_mut() {
            capture.requests.push(request);
        }
    });
}

#[cold]
fn captured(
    site: &'static CallSite,
    combination: usize,
    outcome: Outcome,
    kind: Option<usize>,
    nanos: u64,
) {
    CAPTURED.with(|captured| {
        if let Some(capture) = captured.borrow_mut().as_mut() {
            capture.calls.push(CapturedCall {
                site,
                combination,
                outcome,
                kind,
                nanos,
            });
        }
    });
}

/// The index of the kind of the error `value` holds, if it holds one (`error_kinds = K`): the
/// type check of this call is what requires the function to return `Result<_, K>`.
#[inline]
pub fn error_kind_of<K: ErrorKinds, T>(value: &Result<T, K>) -> Option<usize> {
    value.as_ref().err().map(ErrorKinds::kind_index)
}

/// Calls `body`; the explicit `R` gives the closure its return type before its body is checked,
/// so `?`, `.into()` and `.collect()` in the body infer exactly as in the original function.
#[inline(always)]
#[allow(clippy::inline_always)]
pub fn call<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

pin_project_lite::pin_project! {
    /// The future returned by an instrumented function that returns a future without being an
    /// `async fn` (`impl Future`, `Pin<Box<dyn Future>>`, `BoxFuture`, `#[async_trait]`
    /// methods): the call is timed like an `async fn`, from the first poll to completion; its
    /// outcome comes from the output; dropped after its first poll and before completion it is
    /// `cancelled`, and a panic in a poll is `panic`.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        inner: F,
        site: &'static CallSite,
        index: usize,
        classify: Option<C>,
        guard: Option<CallGuard>,
    }
}

/// Wraps `inner`, a call of `site` into the series of dynamic label combination `index`;
/// `classify` tells the outcome of its output.
pub fn instrument_future<F, C>(
    site: &'static CallSite,
    index: usize,
    inner: F,
    classify: C,
) -> Instrumented<F, C>
where
    F: Future,
    C: FnOnce(&F::Output) -> Ending,
{
    Instrumented {
        inner,
        site,
        index,
        classify: Some(classify),
        guard: None,
    }
}

impl<F, C> Future for Instrumented<F, C>
where
    F: Future,
    C: FnOnce(&F::Output) -> Ending,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if this.classify.is_none() {
            // Polled again after it completed: the call is recorded; the inner future decides.
            return this.inner.poll(cx);
        }
        let guard = this
            .guard
            .get_or_insert_with(|| this.site.start_at(*this.index));
        // A poll that panics leaves this outcome for the guard, which is dropped later (by the
        // executor that caught the panic), when `std::thread::panicking()` no longer says so.
        guard.outcome = Some(Outcome::Panic);
        let Poll::Ready(output) = this.inner.poll(cx) else {
            guard.outcome = None;
            return Poll::Pending;
        };
        let ending = this
            .classify
            .take()
            .map_or(Ending::from(Outcome::Ok), |c| c(&output));
        if let Some(mut guard) = this.guard.take() {
            guard.finish_ending(ending);
        }
        Poll::Ready(output)
    }
}
