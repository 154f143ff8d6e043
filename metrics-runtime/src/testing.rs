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
//! use instrument_metric::{Outcome, instrument_metric, testing};
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

//!
//! # `Metrics` structs under parallel tests
//!
//! A capture sees calls of instrumented functions and requests of the HTTP layer. The values of
//! a `#[derive(Metrics)]` struct are read from the struct itself: give the test a struct of its
//! own, registered in a registry of its own ([`Registry::new`](crate::Registry::new) and
//! [`Metrics::register_in`](crate::Metrics::register_in)), and pass it to the code under test
//! instead of the global one. Tests running in parallel in the same binary then never see each
//! other's counts, and the test reads exact values, from the handles or from that registry's
//! own exposition:
//!
//! ```
//! use instrument_metric::{CounterFamily, IntCounter, LabelValue, Metrics, Registry};
//!
//! #[derive(Clone, Copy, Debug, LabelValue)]
//! enum Warehouse { North, South }
//!
//! #[derive(Metrics)]
//! #[metrics(prefix = "stock")]
//! struct StockMetrics {
//!     /// Units reserved, by warehouse.
//!     reserved_total: CounterFamily<Warehouse>,
//!     /// Reservations refused.
//!     refused_total: IntCounter,
//! }
//!
//! /// The code under test takes its metrics as an argument; the service passes
//! /// `StockMetrics::global()`.
//! fn reserve(metrics: &StockMetrics, warehouse: Warehouse, units: u32, available: u32) -> bool {
//!     if units > available {
//!         metrics.refused_total.inc();
//!         return false;
//!     }
//!     metrics.reserved_total.with(warehouse).inc_by(f64::from(units));
//!     true
//! }
//!
//! fn main() {
//!     let registry = Registry::new();
//!     let metrics = StockMetrics::register_in(&registry);
//!     assert!(reserve(&metrics, Warehouse::North, 3, 10));
//!     assert!(!reserve(&metrics, Warehouse::South, 30, 10));
//!     assert_eq!(metrics.reserved_total.with(Warehouse::North).get(), 3.0);
//!     assert_eq!(metrics.reserved_total.with(Warehouse::South).get(), 0.0);
//!     assert_eq!(metrics.refused_total.get(), 1);
//!     // The registry's own exposition holds only this test's values.
//!     assert!(registry.render().contains("stock_refused_total 1"));
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::instrument::{CAPTURED, CAPTURES, Capture, CapturedCall};
use crate::model::Outcome;

/// The calls recorded during a capture.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    calls: Vec<CapturedCall>,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    requests: Vec<crate::instrument::CapturedRequest>,
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

    /// The calls of `function` that returned an `Err` of a type listing its kinds
    /// (`error_kinds = Type`), by kind: every kind of the type in its order, with the calls
    /// of that kind, those without calls left out. An `Err` counts by kind whatever its
    /// `result` (a kind of class `ok` is `ok`), as `<stem>_errors_total{kind}` does.
    ///
    /// ```
    /// use instrument_metric::{ErrorKinds, Outcome, instrument_metric, testing};
    ///
    /// #[derive(Debug, ErrorKinds)]
    /// enum StockError {
    ///     #[error_kind(ok)]
    ///     InsufficientStock,
    ///     Database,
    /// }
    ///
    /// #[instrument_metric(name = "stock_take", error_kinds = StockError)]
    /// fn take(n: u32) -> Result<u32, StockError> {
    ///     if n > 10 { Err(StockError::InsufficientStock) } else { Ok(n) }
    /// }
    ///
    /// fn main() {
    ///     let ((), captured) = testing::capture(|| {
    ///         let _ = take(50);
    ///         let _ = take(60);
    ///         let _ = take(1);
    ///     });
    ///     assert_eq!(captured.kinds("take"), [("insufficient_stock", 2)]);
    ///     assert_eq!(captured.kind("take", "database"), 0);
    ///     assert_eq!(captured.outcomes("take", Outcome::Ok), 3);
    /// }
    /// ```
    #[must_use]
    pub fn kinds(&self, function: &str) -> Vec<(&'static str, u64)> {
        // Each kind with its index in its type's kinds, so that they come in the order the
        // exposition lists them.
        let mut counts: Vec<(usize, &'static str, u64)> = Vec::new();
        for call in self.of(function) {
            let Some((index, name)) = call.kind.and_then(|kind| {
                let name = call.site.descriptor().error_kinds.get(kind)?;
                Some((kind, *name))
            }) else {
                continue;
            };
            match counts.iter_mut().find(|(_, known, _)| *known == name) {
                Some((_, _, count)) => *count += 1,
                None => counts.push((index, name, 1)),
            }
        }
        counts.sort_by_key(|(index, ..)| *index);
        counts
            .into_iter()
            .map(|(_, name, count)| (name, count))
            .collect()
    }

    /// The calls of `function` that returned an `Err` of kind `kind` (see [`Captured::kinds`]).
    #[must_use]
    pub fn kind(&self, function: &str, kind: &str) -> u64 {
        self.kinds(function)
            .into_iter()
            .find(|(name, _)| *name == kind)
            .map_or(0, |(_, count)| count)
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
                crate::model::labels::combinations(&values)
                    .get(call.combination)
                    .is_some_and(|combination| combination == labels)
            })
            .count() as u64
    }

    /// Every captured call: none at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.requests.is_empty()
    }

    /// The duration of each HTTP request the [`HttpMetricsLayer`](crate::axum::HttpMetricsLayer)
    /// recorded for route `endpoint` (its `endpoint` label: the route template), as its
    /// histogram observed it, in order, with its method and status. A request is in the
    /// capture when its response future completes in the captured code, as with
    /// `tower::ServiceExt::oneshot` on the router.
    ///
    /// ```
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use instrument_metric::{axum::HttpMetricsLayer, testing};
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app: Router = Router::new()
    ///     .route("/users/{id}", get(|| async { "user" }))
    ///     .layer(HttpMetricsLayer::new());
    /// let request = Request::get("/users/7").body(Body::empty()).unwrap();
    /// let (response, captured) = testing::capture_future(app.oneshot(request)).await;
    /// assert_eq!(response.unwrap().status(), 200);
    /// let requests = captured.requests("/users/{id}");
    /// assert_eq!(requests.len(), 1);
    /// assert_eq!((requests[0].0, requests[0].1), ("GET", 200));
    /// # }
    /// ```
    #[cfg(feature = "axum")]
    #[must_use]
    pub fn requests(&self, endpoint: &str) -> Vec<(&'static str, u16, Duration)> {
        self.requests
            .iter()
            .filter(|request| request.endpoint == endpoint)
            .map(|request| {
                let status = u16::try_from(request.status).unwrap_or(u16::MAX);
                (request.method, status, Duration::from_nanos(request.nanos))
            })
            .collect()
    }
}

/// Runs `f` with `calls` as this thread's capture, which gathers the calls it makes; then
/// restores the enclosing capture (if any), even if `f` panics, and adds to it what was
/// captured meanwhile: it happened while the enclosing capture ran too.
fn run_captured<R>(capture: Capture, f: impl FnOnce() -> R) -> (R, Capture) {
    /// Restores the enclosing capture (`outer`, `None` when there is none) when dropped.
    struct Scope {
        ended: bool,
        outer: Option<Capture>,
        /// The calls and requests this capture had before `f` (those of earlier polls of a
        /// future).
        before: (usize, usize),
    }

    impl Scope {
        fn end(&mut self) -> Capture {
            if std::mem::replace(&mut self.ended, true) {
                return Capture::default();
            }
            let mut outer = self.outer.take();
            let (calls, requests) = self.before;
            let capture = CAPTURED.with(|captured| {
                let mut captured = captured.borrow_mut();
                let capture = captured.take().unwrap_or_default();
                if let Some(outer) = outer.as_mut() {
                    let new_calls = capture.calls.get(calls..).unwrap_or_default();
                    outer.calls.extend_from_slice(new_calls);
                    let new_requests = capture.requests.get(requests..).unwrap_or_default();
                    outer.requests.extend_from_slice(new_requests);
                }
                *captured = outer;
                capture
            });
            CAPTURES.fetch_sub(1, Ordering::Relaxed);
            capture
        }
    }

    impl Drop for Scope {
        fn drop(&mut self) {
            self.end();
        }
    }

    CAPTURES.fetch_add(1, Ordering::Relaxed);
    let before = (capture.calls.len(), capture.requests.len());
    let outer = CAPTURED.with(|captured| captured.borrow_mut().replace(capture));
    let mut scope = Scope {
        ended: false,
        outer,
        before,
    };
    let result = f();
    let capture = scope.end();
    (result, capture)
}

/// Runs `f` and captures the calls of instrumented functions it makes on this thread.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Captured) {
    let (result, capture) = run_captured(Capture::default(), f);
    (result, capture.into())
}

impl From<Capture> for Captured {
    fn from(capture: Capture) -> Captured {
        Captured {
            calls: capture.calls,
            requests: capture.requests,
        }
    }
}

/// A future that captures the calls of instrumented functions made while it is polled;
/// its output is the inner future's with the capture.
///
/// ```
/// use instrument_metric::{instrument_metric, testing};
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
        calls: Capture::default(),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`capture_future`].
    #[must_use = "futures do nothing unless polled"]
    pub struct CaptureFuture<F> {
        #[pin]
        inner: F,
        calls: Capture,
    }
}

impl<F: Future> Future for CaptureFuture<F> {
    type Output = (F::Output, Captured);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (polled, calls) = run_captured(std::mem::take(this.calls), || this.inner.poll(cx));
        *this.calls = calls;
        match polled {
            Poll::Ready(output) => Poll::Ready((output, std::mem::take(this.calls).into())),
            Poll::Pending => Poll::Pending,
        }
    }
}
