//! Reading, without parsing any text, what the calls a test makes recorded: exact even while
//! other tests of the same binary call the same functions in parallel.
//!
//! [`capture`] (or [`capture_future`] for async code) records the calls of instrumented
//! functions made on the current thread (or in the future it polls) while it runs, beside
//! the registry, which still counts them as usual. A call made on another thread or task, such
//! as one spawned from the captured code, is not in the capture. Captures nest: a call made in
//! an inner capture is in the enclosing ones too. When no capture runs, this costs each call
//! one relaxed load.
//!
//! ```
//! use metrics_runtime::{Outcome, instrument_metric, testing};
//!
//! #[instrument_metric]
//! fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
//!     text.parse()
//! }
//!
//! fn main() {
//!     let (parsed, calls) = testing::capture(|| parse("12"));
//!     assert_eq!(parsed, Ok(12));
//!     assert_eq!(calls.calls("parse"), 1);
//!     assert_eq!(calls.outcomes("parse", Outcome::Ok), 1);
//!     assert_eq!(calls.durations("parse").len(), 1);
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::instrument::{CAPTURED, CAPTURES, CapturedCall};
use crate::model::Outcome;

/// The calls recorded during a capture.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    calls: Vec<CapturedCall>,
}

impl Captured {
    /// The captured calls of the functions whose `function` label is `function` (the same
    /// value the exposition shows: `send_sms`, `UserRepo::get`).
    fn of<'a>(&'a self, function: &'a str) -> impl Iterator<Item = &'a CapturedCall> + 'a {
        // Function names are decided when the global registry is built.
        let _ = crate::registry();
        self.calls
            .iter()
            .filter(move |call| call.site.function() == function)
    }

    /// Calls of `function`, whatever their outcome.
    #[must_use]
    pub fn calls(&self, function: &str) -> u64 {
        self.of(function).count() as u64
    }

    /// Calls of `function` that ended with `outcome`.
    #[must_use]
    pub fn outcomes(&self, function: &str, outcome: Outcome) -> u64 {
        self.of(function)
            .filter(|call| call.outcome == outcome)
            .count() as u64
    }

    /// The duration of each call of `function`, as its histogram observed it, in call order.
    #[must_use]
    pub fn durations(&self, function: &str) -> Vec<Duration> {
        self.of(function)
            .map(|call| Duration::from_nanos(call.nanos))
            .collect()
    }

    /// Calls of `function` in the series of dynamic label values `labels` (its `labels(...)`
    /// arguments' values, in declaration order).
    #[must_use]
    pub fn calls_with(&self, function: &str, labels: &[&str]) -> u64 {
        self.of(function)
            .filter(|call| {
                let values: Vec<&[&str]> = call
                    .site
                    .descriptor()
                    .dynamic_labels
                    .iter()
                    .map(|(_, values)| *values)
                    .collect();
                crate::labels::combinations(&values)
                    .get(call.combination)
                    .is_some_and(|combination| combination == labels)
            })
            .count() as u64
    }

    /// Every captured call: none at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

/// Runs `f` with `calls` as this thread's capture, which gathers the calls it makes; then
/// restores the enclosing capture (if any), even if `f` panics, and adds to it the calls made
/// meanwhile: they were made while it ran too.
fn run_captured<R>(calls: Vec<CapturedCall>, f: impl FnOnce() -> R) -> (R, Vec<CapturedCall>) {
    /// Restores the enclosing capture (`outer`, `None` when there is none) when dropped.
    struct Scope {
        ended: bool,
        outer: Option<Vec<CapturedCall>>,
        /// The calls this capture had before `f` (those of earlier polls of a future).
        before: usize,
    }

    impl Scope {
        fn end(&mut self) -> Vec<CapturedCall> {
            if std::mem::replace(&mut self.ended, true) {
                return Vec::new();
            }
            let mut outer = self.outer.take();
            let calls = CAPTURED.with(|captured| {
                let mut captured = captured.borrow_mut();
                let calls = captured.take().unwrap_or_default();
                if let Some(outer) = outer.as_mut() {
                    outer.extend_from_slice(calls.get(self.before..).unwrap_or_default());
                }
                *captured = outer;
                calls
            });
            CAPTURES.fetch_sub(1, Ordering::Relaxed);
            calls
        }
    }

    impl Drop for Scope {
        fn drop(&mut self) {
            self.end();
        }
    }

    CAPTURES.fetch_add(1, Ordering::Relaxed);
    let before = calls.len();
    let outer = CAPTURED.with(|captured| captured.borrow_mut().replace(calls));
    let mut scope = Scope {
        ended: false,
        outer,
        before,
    };
    let result = f();
    let calls = scope.end();
    (result, calls)
}

/// Runs `f` and captures the calls of instrumented functions it makes on this thread.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Captured) {
    let (result, calls) = run_captured(Vec::new(), f);
    (result, Captured { calls })
}

/// A future that captures the calls of instrumented functions made while it is polled;
/// its output is the inner future's with the capture.
///
/// ```
/// use metrics_runtime::{instrument_metric, testing};
///
/// #[instrument_metric]
/// async fn fetch() -> u32 {
///     7
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (value, calls) = testing::capture_future(async { fetch().await }).await;
/// assert_eq!(value, 7);
/// assert_eq!(calls.calls("fetch"), 1);
/// # }
/// ```
pub fn capture_future<F: Future>(future: F) -> CaptureFuture<F> {
    CaptureFuture {
        inner: future,
        calls: Vec::new(),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`capture_future`].
    #[must_use = "futures do nothing unless polled"]
    pub struct CaptureFuture<F> {
        #[pin]
        inner: F,
        calls: Vec<CapturedCall>,
    }
}

impl<F: Future> Future for CaptureFuture<F> {
    type Output = (F::Output, Captured);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (polled, calls) = run_captured(std::mem::take(this.calls), || this.inner.poll(cx));
        *this.calls = calls;
        match polled {
            Poll::Ready(output) => Poll::Ready((
                output,
                Captured {
                    calls: std::mem::take(this.calls),
                },
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}
