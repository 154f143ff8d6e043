//! A tower layer recording every HTTP request an axum application serves.
//!
//! `endpoint` is axum's matched route template (`/users/{id}`), never the raw path; a request
//! that matches no route is labelled `unmatched`, and a method outside the standard set is
//! `other`. The label values are therefore bounded by the application's own routes: no
//! client, however hostile, can create series.
//!
//! Each `(endpoint, method)` is resolved once into striped call cells, like the functions of
//! `#[instrument_metric]`, found afterwards through a per-thread cache: a request costs two
//! clock reads and a few uncontended atomic increments, and the families are rendered
//! straight from the cells.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll};

use ::axum::extract::MatchedPath;
use ::axum::http::{Method, Request, Response};

use crate::catalog::{Builtin, Declaration};
use crate::cells::{CallCells, Readings};
use crate::exemplar::{Exemplar, current_trace};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::instrument::{CAPTURES, CapturedRequest, captured_request};
use crate::model::{DEFAULT_BUCKETS, MetricKind, Outcome, Shape};
use crate::native_histogram::NativeHistogram;
use crate::text::render_labels;

/// `endpoint` of a request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";
/// The families the layer writes.
pub(crate) const FAMILIES: [&str; 3] = [
    "http_requests_total",
    "http_request_duration_seconds",
    "http_requests_in_flight",
];

const REQUESTS_HELP: &str = "HTTP requests served, by method, route and status.";
const DURATION_HELP: &str =
    "Time from receiving an HTTP request to sending its response headers, in seconds.";
const IN_FLIGHT_HELP: &str = "HTTP requests being served.";

/// The layer's families, declared to the global registry's catalog like any other.
static DECLARED: Builtin = Builtin {
    families: &[
        (
            FAMILIES[0],
            REQUESTS_HELP,
            Shape::IntCounter,
            &["endpoint", "method", "status"],
        ),
        (
            FAMILIES[1],
            DURATION_HELP,
            Shape::Histogram,
            &["endpoint", "method"],
        ),
        (
            FAMILIES[2],
            IN_FLIGHT_HELP,
            Shape::IntGauge,
            &["endpoint", "method"],
        ),
    ],
    write: write_families,
};

inventory::submit! { Declaration::Builtin(&DECLARED) }

/// `status` of a request whose response was never produced (the client went away first).
pub const CLIENT_CLOSED_STATUS: &str = "499";

/// The `method` label values; the index of one is its slot in a route's table.
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// Status codes 0 to 999 each have a slot; HTTP only uses 100 to 599.
const STATUSES: usize = 1000;

/// The cells of one `(endpoint, method)`.
pub(crate) struct Route {
    /// `endpoint="...",method="..."` and the constant labels, sorted by name.
    pub(crate) labels: String,
    /// The `endpoint` label value, for a capture (`metrics_runtime::testing`).
    endpoint: Box<str>,
    method: usize,
    /// Its in-flight count (only the in-flight slots are used).
    in_flight: CallCells,
    /// Requests and durations by status, created on first use.
    statuses: Box<[OnceLock<CallCells>]>,
    /// The durations of every status in a native histogram, when the layer that first served
    /// the route asked for one (or every histogram is native).
    native: Option<NativeHistogram>,
}

impl Route {
    fn status(&self, code: usize) -> &CallCells {
        let code = code.min(STATUSES - 1);
        self.statuses[code].get_or_init(|| CallCells::new(DEFAULT_BUCKETS, None))
    }

    /// Each status seen, with its cells.
    pub(crate) fn by_status(&self) -> impl Iterator<Item = (usize, &CallCells)> {
        self.statuses
            .iter()
            .enumerate()
            .filter_map(|(code, cells)| cells.get().map(|cells| (code, cells)))
    }

    /// Requests being served.
    pub(crate) fn in_flight(&self) -> i64 {
        self.in_flight.in_flight()
    }
}

/// Every route seen, by endpoint and method, for rendering in a stable order.
static ROUTES: RwLock<BTreeMap<(String, usize), &'static Route>> = RwLock::new(BTreeMap::new());

/// A route cache's key hasher. The keys are the application's own route templates, never a
/// client's input, so a fast unseeded hash is safe; std's hasher was a tenth of the layer's cost.
type RouteHasher = foldhash::fast::FixedState;

thread_local! {
    /// This thread's view of `ROUTES`: endpoint, then a slot per method.
    static CACHE: RefCell<HashMap<String, [Option<&'static Route>; METHODS.len()], RouteHasher>> =
        RefCell::new(HashMap::with_hasher(RouteHasher::default()));
}

fn route(endpoint: &str, method: usize, native: bool) -> &'static Route {
    let cached = CACHE.with(|cache| cache.borrow().get(endpoint).and_then(|slots| slots[method]));
    if let Some(route) = cached {
        return route;
    }
    let route = shared_route(endpoint, method, native);
    CACHE.with(|cache| {
        cache
            .borrow_mut()
            .entry(endpoint.to_owned())
            .or_insert([None; METHODS.len()])[method] = Some(route);
    });
    route
}

#[cold]
fn shared_route(endpoint: &str, method: usize, native: bool) -> &'static Route {
    let key = (endpoint.to_owned(), method);
    if let Some(route) = ROUTES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return route;
    }
    let mut routes = ROUTES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    routes.entry(key).or_insert_with(|| {
        let mut labels: Vec<(&str, &str)> =
            vec![("endpoint", endpoint), ("method", METHODS[method])];
        // The layer records into the global registry: its constant labels.
        labels.extend(
            crate::config::freeze()
                .pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        labels.sort_by_key(|(name, _)| *name);
        // Routes are bounded by the application's routes and methods: kept for the process.
        let native = crate::config::native_config(native)
            .and_then(|config| NativeHistogram::new(&config, DEFAULT_BUCKETS).ok());
        Box::leak(Box::new(Route {
            labels: render_labels(labels),
            endpoint: endpoint.into(),
            method,
            in_flight: CallCells::new(&[], None),
            statuses: (0..STATUSES).map(|_| OnceLock::new()).collect(),
            native,
        }))
    })
}

/// Every route seen, sorted.
pub(crate) fn routes() -> Vec<&'static Route> {
    ROUTES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .copied()
        .collect()
}

/// The `method` label: the standard methods by name, anything else `other`.
fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

/// Records `http_requests_total`, `http_request_duration_seconds` and
/// `http_requests_in_flight` for every request of the router it wraps.
///
/// Add it with `Router::layer` after the routes, so that axum has matched the route when the
/// layer sees the request:
///
/// ```
/// use axum::{Router, routing::get};
/// use metrics_runtime::axum::HttpMetricsLayer;
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .merge(metrics_runtime::axum::router())
///     .layer(HttpMetricsLayer::default());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpMetricsLayer {
    native: bool,
}

impl HttpMetricsLayer {
    /// The layer; the same as `HttpMetricsLayer::default()`.
    #[must_use]
    pub fn new() -> Self {
        HttpMetricsLayer::default()
    }

    /// Makes `http_request_duration_seconds` a native histogram (with the configuration of
    /// [`set_native_histograms`](crate::set_native_histograms), or the defaults), beside its
    /// classic buckets: the protobuf exposition carries both, the text formats the classic
    /// ones. A route's histogram is native when the layer that first serves the route says so.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use metrics_runtime::axum::HttpMetricsLayer;
    ///
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .layer(HttpMetricsLayer::new().native_histograms());
    /// ```
    #[must_use]
    pub fn native_histograms(mut self) -> Self {
        self.native = true;
        self
    }
}

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            native: self.native,
        }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Clone, Debug)]
pub struct HttpMetricsService<S> {
    inner: S,
    native: bool,
}

impl<S, B, R> tower_service::Service<Request<B>> for HttpMetricsService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = method_index(request.method());
        let matched = request.extensions().get::<MatchedPath>();
        let record = Record::start(method, matched, self.native);
        ResponseFuture {
            inner: self.inner.call(request),
            record: Some(record),
        }
    }
}

/// One request being recorded; records a client-closed request if dropped before the
/// response.
struct Record {
    route: &'static Route,
    stripe: usize,
    started: u64,
}

impl Record {
    fn start(method: usize, endpoint: Option<&MatchedPath>, native: bool) -> Record {
        let route = route(
            endpoint.map_or(UNMATCHED_ENDPOINT, MatchedPath::as_str),
            method,
            native,
        );
        let stripe = route.in_flight.stripe();
        route.in_flight.enter(stripe);
        Record {
            route,
            stripe,
            started: route.in_flight.clock.raw(),
        }
    }

    fn finish(self, status: u16) {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(usize::from(status));
    }

    fn observe(&self, status: usize) {
        let clock = self.route.in_flight.clock;
        let nanos = clock.delta_as_nanos(self.started, clock.raw());
        self.route.in_flight.leave(self.stripe);
        let cells = self.route.status(status);
        cells.record(cells.stripe(), Outcome::Ok, nanos);
        if let Some(native) = &self.route.native {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 ns (104 days)
            native.observe(nanos as f64 / 1e9);
        }
        if let Some(trace) = current_trace() {
            cells.exemplar(trace, Outcome::Ok, nanos);
        }
        // One relaxed load when no test captures anything.
        if CAPTURES.load(Ordering::Relaxed) != 0 {
            captured_request(CapturedRequest {
                endpoint: &self.route.endpoint,
                method: METHODS[self.route.method],
                status,
                nanos,
            });
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.observe(499);
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpMetricsService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Some(record) = this.record.take() {
            match &output {
                Ok(response) => record.finish(response.status().as_u16()),
                // axum's services are infallible; another stack's error has no status.
                Err(_) => record.finish(500),
            }
        }
        Poll::Ready(output)
    }
}

/// Writes the layer's families from one reading of its cells; nothing before the first
/// request.
pub(crate) fn write_families(writer: &mut dyn Exposition) {
    let routes = routes();
    if routes.is_empty() {
        return;
    }
    // One reading of every status of every route, so that the requests by status add up to
    // the histogram's count.
    let mut readings = Readings::default();
    let mut statuses: Vec<Vec<(usize, usize, &CallCells)>> = Vec::with_capacity(routes.len());
    let mut next = 0;
    for route in &routes {
        let mut seen = Vec::new();
        for (status, cells) in route.by_status() {
            seen.push((status, next, cells));
            next += 1;
            readings.push(cells);
        }
        statuses.push(seen);
    }
    let mut integers = itoa::Buffer::new();
    let [requests, durations, in_flight] = FAMILIES;
    writer.header(requests, REQUESTS_HELP, MetricKind::Counter.into());
    for (route, seen) in routes.iter().zip(&statuses) {
        for (status, reading, cells) in seen {
            let count = Value::Unsigned(readings.get(*reading).calls(Outcome::Ok));
            let status = Some(("status", integers.format(*status)));
            let exemplar = cells.outcome_exemplar(Outcome::Ok);
            let (labels, created) = (&[route.labels.as_str()], Some(cells.created));
            writer.counter(requests, labels, status, count, created, exemplar.as_ref());
        }
    }
    writer.header(durations, DURATION_HELP, MetricKind::Histogram.into());
    let buckets = writer.buckets(DEFAULT_BUCKETS);
    let mut total = Vec::new();
    let (mut exemplars, mut latest) = (Vec::new(), Vec::new());
    for (route, seen) in routes.iter().zip(&statuses) {
        // Each bucket's latest exemplar, whatever the status.
        latest.clear();
        latest.resize(DEFAULT_BUCKETS.len() + 1, None::<Exemplar>);
        for (_, _, cells) in seen {
            cells.bucket_exemplars(&mut exemplars);
            for (kept, found) in latest.iter_mut().zip(&exemplars) {
                if let Some(found) = found
                    && kept.is_none_or(|kept| kept.time <= found.time)
                {
                    *kept = Some(*found);
                }
            }
        }
        let labels = &[route.labels.as_str()];
        if writer.native_histograms()
            && let Some(native) = &route.native
        {
            let reading = native.read();
            let created = Some(reading.created);
            let reading = HistogramReading::Native(&reading);
            writer.histogram(durations, labels, &buckets, reading, created, &latest);
            continue;
        }
        total.clear();
        total.resize(DEFAULT_BUCKETS.len() + 1, 0_u64);
        let mut sum_nanos = 0_u64;
        for (_, reading, _) in seen {
            let reading = readings.get(*reading);
            sum_nanos += reading.sum_nanos();
            for (sum, count) in total.iter_mut().zip(reading.buckets()) {
                *sum += count;
            }
        }
        #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact past a year
        let sum = sum_nanos as f64 / 1e9;
        let reading = HistogramReading::Classic {
            cumulative: &total,
            sum,
        };
        let created = Some(route.in_flight.created);
        writer.histogram(durations, labels, &buckets, reading, created, &latest);
    }
    writer.header(in_flight, IN_FLIGHT_HELP, MetricKind::Gauge.into());
    for route in &routes {
        let value = Value::Signed(route.in_flight());
        writer.gauge(in_flight, &[&route.labels], None, value);
    }
}
