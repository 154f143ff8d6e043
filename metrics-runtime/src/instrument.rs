//! The hot path of `#[instrument_metric]`: a call site's resolved handles and the guard that
//! records one call when it is dropped.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use crate::cells::CallCells;
use crate::model::{FunctionDescriptor, Outcome};

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

    /// The `function` label value of this site, once the registry is built.
    pub(crate) fn function(&self) -> &str {
        self.function.get().map_or("", |name| name)
    }

    /// The descriptor this site was declared with.
    #[must_use]
    pub fn descriptor(&self) -> &FunctionDescriptor {
        &self.descriptor
    }

    /// Starts recording one call; the returned guard records it when dropped.
    #[inline]
    pub fn start(&'static self) -> CallGuard {
        self.start_at(0)
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
        let stripe = cells.stripe();
        let in_flight = self.descriptor.in_flight;
        if in_flight {
            cells.enter(stripe);
        }
        CallGuard {
            cells,
            site: self,
            stripe,
            in_flight,
            started: cells.clock.raw(),
            outcome: None,
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
            let combinations = crate::labels::combinations(&self.dynamic_values()).len();
            let native = crate::config::native_config(self.descriptor.native_histogram);
            (0..combinations)
                .map(|_| CallCells::new(self.descriptor.bucket_bounds(), native.as_ref()))
                .collect()
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
    index * T::VALUES.len() + value.index()
}

/// Records one call of an instrumented function when dropped.
///
/// Generated code calls [`CallGuard::finish`] with the outcome of a returned value; a guard
/// dropped without it records a panic (while unwinding) or a cancelled future.
#[derive(Debug)]
#[must_use = "a call is recorded when the guard is dropped"]
pub struct CallGuard {
    cells: &'static CallCells,
    /// The call site, for a capture (`metrics_runtime::testing`).
    site: &'static CallSite,
    stripe: usize,
    in_flight: bool,
    /// Raw clock reading at the start; scaled to nanoseconds once, at the end.
    started: u64,
    outcome: Option<Outcome>,
}

impl CallGuard {
    /// Sets the outcome of the call that returned.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn finish(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }
}

impl Drop for CallGuard {
    #[cfg_attr(not(debug_assertions), inline)]
    fn drop(&mut self) {
        let clock = self.cells.clock;
        let nanos = clock.delta_as_nanos(self.started, clock.raw());
        let outcome = self.outcome.unwrap_or_else(|| {
            if std::thread::panicking() {
                Outcome::Panic
            } else {
                Outcome::Cancelled
            }
        });
        self.cells.record(self.stripe, outcome, nanos);
        // Without the `exemplars` feature, nothing; with it, a thread-local read outside spans.
        if let Some(trace) = crate::exemplar::current_trace() {
            self.cells.exemplar(trace, outcome, nanos);
        }
        if self.in_flight {
            self.cells.leave(self.stripe);
        }
        // One relaxed load when no test captures anything.
        if CAPTURES.load(Ordering::Relaxed) != 0 {
            captured(self.site, self.cells, outcome, nanos);
        }
    }
}

/// The number of captures in progress, in any thread (`metrics_runtime::testing`).
pub(crate) static CAPTURES: AtomicUsize = AtomicUsize::new(0);

/// One call seen by a capture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CapturedCall {
    pub(crate) site: &'static CallSite,
    /// Its dynamic label combination.
    pub(crate) combination: usize,
    pub(crate) outcome: Outcome,
    pub(crate) nanos: u64,
}

/// One HTTP request seen by a capture (`metrics_runtime::testing`), as the HTTP layer recorded
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
fn captured(site: &'static CallSite, cells: &'static CallCells, outcome: Outcome, nanos: u64) {
    let combination = site
        .handles
        .get()
        .and_then(|all| all.iter().position(|one| std::ptr::eq(one, cells)))
        .unwrap_or(0);
    CAPTURED.with(|captured| {
        if let Some(capture) = captured.borrow_mut().as_mut() {
            capture.calls.push(CapturedCall {
                site,
                combination,
                outcome,
                nanos,
            });
        }
    });
}

/// Wraps a reference to a returned value so that method resolution can tell a `Result` apart
/// from any other type (autoref specialisation: the `Result` impl is found one step earlier).
pub struct OutcomeProbe<'a, T: ?Sized>(pub &'a T);

/// Outcome of a returned `Result`: `ok` or `error`.
pub trait ResultOutcome {
    /// The outcome of the probed value.
    fn metrics_outcome(&self) -> Outcome;
}

impl<T, E> ResultOutcome for OutcomeProbe<'_, Result<T, E>> {
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        if self.0.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

/// Outcome of any other returned value: `ok`.
pub trait AnyOutcome {
    /// The outcome of the probed value.
    #[inline]
    fn metrics_outcome(&self) -> Outcome {
        Outcome::Ok
    }
}

impl<T: ?Sized> AnyOutcome for &OutcomeProbe<'_, T> {}

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
    C: FnOnce(&F::Output) -> Outcome,
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
    C: FnOnce(&F::Output) -> Outcome,
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
        let outcome = this.classify.take().map_or(Outcome::Ok, |c| c(&output));
        if let Some(mut guard) = this.guard.take() {
            guard.finish(outcome);
        }
        Poll::Ready(output)
    }
}
