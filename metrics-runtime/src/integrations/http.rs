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
//! straight from the cells. A layer registers its families in the global registry when it is
//! built; layers built alike share them.
//!
//! A request whose response is never produced is recorded all the same: [`CLIENT_CLOSED_STATUS`]
//! (`499`) when the client went away first (the response future was dropped), `500` (what
//! axum's `CatchPanic` answers) when the handler panicked (the panic unwound through the
//! layer's poll, or the future was dropped while a panic unwound). Objectives leave the first
//! out and count the second as an error.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll};

use ::axum::body::{Body, Bytes, HttpBody};
use ::axum::extract::MatchedPath;
use ::axum::http::{Method, Request, Response};
use http_body::{Frame, SizeHint};

use crate::catalog::{Conflict, DeclaredObjective, FamilySpec, Origin};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::instrument::{CAPTURES, CapturedRequest, captured_request};
use crate::model::labels::Labels;
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind, Objective, Outcome, Shape};
use crate::storage::cells::{CallCells, HistogramCells, Readings};
use crate::storage::exemplar::{Exemplar, current_trace};
use crate::storage::native_histogram::NativeHistogram;

/// `endpoint` of a request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

/// `status` of a request whose response was never produced because the client went away
/// first. A request whose handler panicked is recorded as `500` instead (what axum's
/// `CatchPanic` answers): a server error, which objectives count.
pub const CLIENT_CLOSED_STATUS: &str = "499";

/// [`CLIENT_CLOSED_STATUS`] as a code.
const CLIENT_CLOSED: u16 = status_code(CLIENT_CLOSED_STATUS);

/// The status of a request whose handler panicked (what axum's `CatchPanic` answers), or whose
/// service failed without a response: a server error, which objectives count.
const SERVER_ERROR: u16 = 500;

/// The code a status label of three digits spells.
const fn status_code(status: &str) -> u16 {
    let digits = status.as_bytes();
    assert!(digits.len() == 3, "a status is three digits");
    let mut code = 0;
    let mut i = 0;
    while i < digits.len() {
        assert!(digits[i].is_ascii_digit(), "a status is three digits");
        code = code * 10 + (digits[i] - b'0') as u16;
        i += 1;
    }
    code
}

/// The default bucket bounds of the body size histograms, in bytes: 64 B to 16 MiB.
pub const BODY_SIZE_BUCKETS: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];

const REQUESTS_HELP: &str = "HTTP requests served, by method, route and status.";
const DURATION_HELP: &str =
    "Time from receiving an HTTP request to sending its response headers, in seconds.";
const IN_FLIGHT_HELP: &str = "HTTP requests being served.";
const REQUEST_SIZE_HELP: &str = "Bytes of HTTP request bodies the application read.";
const RESPONSE_SIZE_HELP: &str = "Bytes of HTTP response bodies sent.";

/// The `method` label values; the index of one is its slot in a route's table.
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// Status codes 0 to 999 each have a slot; HTTP only uses 100 to 599.
const STATUSES: usize = 1000;
/// Status classes `0xx` to `9xx` each have a slot.
const CLASSES: usize = 10;

/// What a layer records and how: everything its builder was given.
#[derive(Clone, Debug, PartialEq)]
struct Config {
    /// `""` or `prefix_`.
    prefix: String,
    /// Route templates left out: exact, or a prefix when they end in `*`.
    exclude: Vec<String>,
    status_classes: bool,
    buckets: Vec<f64>,
    body_sizes: Option<Vec<f64>>,
    objectives: Vec<Objective>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: String::new(),
            exclude: Vec::new(),
            status_classes: false,
            buckets: DEFAULT_BUCKETS.to_vec(),
            body_sizes: None,
            objectives: Vec::new(),
        }
    }
}

/// The family names of a configuration.
struct Names {
    requests: &'static str,
    duration: &'static str,
    in_flight: &'static str,
    request_size: &'static str,
    response_size: &'static str,
}

impl Config {
    fn names(&self) -> Names {
        let name = |stem: &str| leak(format!("{}{stem}", self.prefix));
        Names {
            requests: name("http_requests_total"),
            duration: name("http_request_duration_seconds"),
            in_flight: name("http_requests_in_flight"),
            request_size: name("http_request_size_bytes"),
            response_size: name("http_response_size_bytes"),
        }
    }

    fn excluded(&self, endpoint: &str) -> bool {
        self.exclude
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => endpoint.starts_with(prefix),
                None => endpoint == pattern,
            })
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// One built configuration: its families and the routes it has seen. Kept for the process:
/// layers are built by the application's code, a bounded number of times.
struct Layer {
    /// Its position in [`LAYERS`], which the per-thread caches follow.
    id: usize,
    config: Config,
    names: Names,
    bounds: &'static [f64],
    body_bounds: Option<&'static [f64]>,
    /// Every route seen, by endpoint and method, for rendering in a stable order.
    routes: RwLock<BTreeMap<(String, usize), &'static Route>>,
    /// Why its families (or objectives) were refused, if they were: building the same layer
    /// again gives the same error, never a layer that silently exports nothing.
    refused: Mutex<Option<Conflict>>,
}

/// Every layer built, each configuration once.
static LAYERS: Mutex<Vec<&'static Layer>> = Mutex::new(Vec::new());

/// The cells of one `(endpoint, method)` of one layer.
struct Route {
    /// `endpoint` and `method` and the constant labels, sorted by name.
    labels: Labels,
    /// The `endpoint` label value, for a capture (`instrument_metric::testing`).
    endpoint: Box<str>,
    method: usize,
    /// Its in-flight count (only the in-flight slots are used).
    in_flight: CallCells,
    /// Requests and durations by status (or status class), created on first use.
    statuses: Box<[OnceLock<CallCells>]>,
    /// Body sizes, with `body_sizes`: one series each.
    request_sizes: Option<HistogramCells>,
    response_sizes: Option<HistogramCells>,
    /// The durations of every status in a native histogram, when the layer that first served
    /// the route asked for one (or every histogram is native).
    native: Option<NativeHistogram>,
}

impl Route {
    fn status(&self, slot: usize, bounds: &[f64]) -> &CallCells {
        let slot = slot.min(self.statuses.len() - 1);
        self.statuses[slot].get_or_init(|| CallCells::new(bounds, 0, None))
    }

    /// Each status (or class) seen, with its cells.
    fn by_status(&self) -> impl Iterator<Item = (usize, &CallCells)> {
        self.statuses
            .iter()
            .enumerate()
            .filter_map(|(code, cells)| cells.get().map(|cells| (code, cells)))
    }
}

/// A route table entry of a per-thread cache.
#[derive(Clone, Copy)]
enum Cached {
    Excluded,
    Recorded(&'static Route),
}

/// A route cache's key hasher. The keys are the application's own route templates, never a
/// client's input, so a fast unseeded hash is safe; std's hasher was a tenth of the layer's cost.
type RouteHasher = foldhash::fast::FixedState;

type RouteCache = HashMap<String, [Option<Cached>; METHODS.len()], RouteHasher>;

thread_local! {
    /// This thread's view of each layer's routes: by layer, endpoint, then a slot per method.
    static CACHE: RefCell<Vec<RouteCache>> = const { RefCell::new(Vec::new()) };
}

impl Layer {
    /// The route of `endpoint` and `method`, or `Excluded`; its durations are native too when
    /// `native` says so and the route is new.
    fn route(&'static self, endpoint: &str, method: usize, native: bool) -> Cached {
        let cached = CACHE.with(|cache| {
            cache
                .borrow()
                .get(self.id)
                .and_then(|routes| routes.get(endpoint))
                .and_then(|slots| slots[method])
        });
        if let Some(cached) = cached {
            return cached;
        }
        let resolved = if endpoint != UNMATCHED_ENDPOINT && self.config.excluded(endpoint) {
            Cached::Excluded
        } else {
            Cached::Recorded(self.shared_route(endpoint, method, native))
        };
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() <= self.id {
                cache.resize_with(self.id + 1, || HashMap::with_hasher(RouteHasher::default()));
            }
            cache[self.id]
                .entry(endpoint.to_owned())
                .or_insert([None; METHODS.len()])[method] = Some(resolved);
        });
        resolved
    }

    #[cold]
    fn shared_route(&self, endpoint: &str, method: usize, native: bool) -> &'static Route {
        let key = (endpoint.to_owned(), method);
        if let Some(route) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return route;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        routes.entry(key).or_insert_with(|| {
            // The layer records into the global registry: its constant labels.
            let labels = crate::settings::freeze()
                .join(&[("endpoint", endpoint), ("method", METHODS[method])], true);
            let slots = if self.config.status_classes {
                CLASSES
            } else {
                STATUSES
            };
            let sizes = || {
                self.body_bounds
                    .map(|bounds| HistogramCells::new(1, bounds, None))
            };
            // A configuration is checked when it is set, the bounds when the layer is built.
            let native = crate::settings::native_config(native)
                .and_then(|config| NativeHistogram::new(&config, self.bounds).ok());
            // Routes are bounded by the application's routes and methods: kept for the process.
            Box::leak(Box::new(Route {
                labels,
                endpoint: endpoint.into(),
                method,
                in_flight: CallCells::new(&[], 0, None),
                statuses: (0..slots).map(|_| OnceLock::new()).collect(),
                request_sizes: sizes(),
                response_sizes: sizes(),
                native,
            }))
        })
    }

    /// The slot of `status` in a route's table.
    fn status_slot(&self, status: u16) -> usize {
        if self.config.status_classes {
            usize::from(status / 100)
        } else {
            usize::from(status)
        }
    }

    /// The families of this layer, as the catalog declares them.
    fn specs(&self) -> Vec<FamilySpec> {
        let here = Location {
            file: file!(),
            line: line!(),
            column: column!(),
        };
        let spec = |name, help, shape, labels: &[&'static str], buckets| FamilySpec {
            name,
            help,
            shape,
            labels: labels.to_vec(),
            buckets,
            location: here,
            origin: Origin::Crate,
            // A route's duration histogram is native when its layer asks (not a declaration).
            native: false,
        };
        let route = &["endpoint", "method"];
        let default_buckets: &'static [f64] = if self.bounds == DEFAULT_BUCKETS {
            &[]
        } else {
            self.bounds
        };
        let mut specs = vec![
            spec(
                self.names.requests,
                REQUESTS_HELP,
                Shape::IntCounter,
                &["endpoint", "method", "status"],
                &[],
            ),
            spec(
                self.names.duration,
                DURATION_HELP,
                Shape::Histogram,
                route,
                default_buckets,
            ),
            spec(
                self.names.in_flight,
                IN_FLIGHT_HELP,
                Shape::IntGauge,
                route,
                &[],
            ),
        ];
        if let Some(bounds) = self.body_bounds {
            specs.push(spec(
                self.names.request_size,
                REQUEST_SIZE_HELP,
                Shape::Histogram,
                route,
                bounds,
            ));
            specs.push(spec(
                self.names.response_size,
                RESPONSE_SIZE_HELP,
                Shape::Histogram,
                route,
                bounds,
            ));
        }
        specs
    }

    /// Writes the layer's families from one reading of its cells; nothing before the first
    /// request.
    fn write(&self, writer: &mut dyn Exposition) {
        let routes: Vec<&'static Route> = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .copied()
            .collect();
        if routes.is_empty() {
            return;
        }
        // One reading of every status of every route, so that the requests by status add up
        // to the histogram's count.
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
        let names = &self.names;
        writer.header(names.requests, REQUESTS_HELP, MetricKind::Counter.into());
        for (route, seen) in routes.iter().zip(&statuses) {
            for (status, reading, cells) in seen {
                let count = Value::Unsigned(readings.get(*reading).calls(Outcome::Ok));
                let class;
                let status = if self.config.status_classes {
                    class = format!("{status}xx");
                    class.as_str()
                } else {
                    integers.format(*status)
                };
                let exemplar = cells.outcome_exemplar(Outcome::Ok);
                let (labels, created) = (&[&route.labels], Some(cells.created));
                let status = Some(("status", status));
                writer.counter(
                    names.requests,
                    labels,
                    status,
                    count,
                    created,
                    exemplar.as_ref(),
                );
            }
        }
        self.write_durations(writer, &routes, &statuses, &readings);
        writer.header(names.in_flight, IN_FLIGHT_HELP, MetricKind::Gauge.into());
        for route in &routes {
            let value = Value::Signed(route.in_flight.in_flight());
            writer.gauge(names.in_flight, &[&route.labels], None, value);
        }
        self.write_sizes(writer, &routes);
    }

    /// The duration histogram of every route, its statuses summed from `readings`.
    fn write_durations(
        &self,
        writer: &mut dyn Exposition,
        routes: &[&'static Route],
        statuses: &[Vec<(usize, usize, &CallCells)>],
        readings: &Readings,
    ) {
        let names = &self.names;
        writer.header(names.duration, DURATION_HELP, MetricKind::Histogram.into());
        let buckets = writer.buckets(self.bounds);
        let mut total = Vec::new();
        let (mut exemplars, mut latest) = (Vec::new(), Vec::new());
        for (route, seen) in routes.iter().zip(statuses) {
            // Each bucket's latest exemplar, whatever the status.
            latest.clear();
            latest.resize(self.bounds.len() + 1, None::<Exemplar>);
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
            let labels = &[&route.labels];
            if writer.native_histograms()
                && let Some(native) = &route.native
            {
                let reading = native.scrape();
                let created = Some(reading.created);
                let reading = HistogramReading::Native(&reading);
                writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
                continue;
            }
            total.clear();
            total.resize(self.bounds.len() + 1, 0_u64);
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
            writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
        }
    }

    /// The body size histograms of every route, with `body_sizes`.
    fn write_sizes(&self, writer: &mut dyn Exposition, routes: &[&'static Route]) {
        let names = &self.names;
        if let Some(bounds) = self.body_bounds {
            let buckets = writer.buckets(bounds);
            let mut cumulative = Vec::new();
            for (name, help, request) in [
                (names.request_size, REQUEST_SIZE_HELP, true),
                (names.response_size, RESPONSE_SIZE_HELP, false),
            ] {
                writer.header(name, help, MetricKind::Histogram.into());
                for route in routes {
                    let cells = if request {
                        &route.request_sizes
                    } else {
                        &route.response_sizes
                    };
                    if let Some(cells) = cells {
                        let sum = cells.read(0, &mut cumulative);
                        let reading = HistogramReading::Classic {
                            cumulative: &cumulative,
                            sum,
                        };
                        let created = Some(route.in_flight.created);
                        let labels = &[&route.labels];
                        writer.histogram(name, labels, &buckets, reading, created, &[]);
                    }
                }
            }
        }
    }
}

/// Why a layer could not be built: the builder's arguments, checked when it is built.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HttpLayerError {
    /// The prefix is empty, ends in `_` (the layer adds the `_`) or would not make valid
    /// metric names.
    Prefix(String),
    /// The buckets are empty, not finite or not increasing.
    Buckets(String),
    /// An excluded route is not a route template, or has a `*` before its end (only a final
    /// `*` matches).
    Exclude(String),
    /// An objective's name is not written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`), or
    /// it has a target that is not a percent, or a threshold that is not a bound.
    Objective(String),
    /// The layer's families (or an objective's name) are declared by something else; it is
    /// also reported by [`check`](crate::check).
    Conflict(Conflict),
}

impl std::fmt::Display for HttpLayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpLayerError::Prefix(message)
            | HttpLayerError::Buckets(message)
            | HttpLayerError::Exclude(message)
            | HttpLayerError::Objective(message) => f.write_str(message),
            HttpLayerError::Conflict(conflict) => conflict.fmt(f),
        }
    }
}

impl std::error::Error for HttpLayerError {}

/// Records `http_requests_total`, `http_request_duration_seconds` and
/// `http_requests_in_flight` for every request of the router it wraps; see
/// [`HttpMetricsLayer::builder`] for its options.
///
/// Add it with `Router::layer` after the routes, so that axum has matched the route when the
/// layer sees the request:
///
/// ```
/// use axum::{Router, routing::get};
/// use instrument_metric::axum::HttpMetricsLayer;
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .merge(instrument_metric::axum::router())
///     .layer(HttpMetricsLayer::default());
/// ```
#[derive(Clone, Copy)]
pub struct HttpMetricsLayer {
    layer: &'static Layer,
    /// Whether the routes this layer serves first have native duration histograms.
    native: bool,
}

impl std::fmt::Debug for HttpMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetricsLayer")
            .field("config", &self.layer.config)
            .field("native", &self.native)
            .finish()
    }
}

/// The default layer: the families named as documented, codes in `status`, the default
/// buckets, every route. Built once. The global registry keeps its families' names for it
/// from start-up: another declaration that takes one (a collector named
/// `http_requests_total`, say) is refused, so that this layer always exports its families.
impl Default for HttpMetricsLayer {
    fn default() -> Self {
        static DEFAULT: OnceLock<HttpMetricsLayer> = OnceLock::new();
        *DEFAULT.get_or_init(|| {
            let (layer, _conflict) = register(Config::default());
            HttpMetricsLayer {
                layer,
                native: false,
            }
        })
    }
}

impl HttpMetricsLayer {
    /// The default layer; the same as `HttpMetricsLayer::default()`.
    #[must_use]
    pub fn new() -> Self {
        HttpMetricsLayer::default()
    }

    /// A layer with options: route exclusions, status classes, buckets, body sizes, a name
    /// prefix and objectives; every argument is checked by [`HttpMetricsBuilder::build`].
    ///
    /// ```
    /// use axum::{Router, routing::{get, post}};
    /// use instrument_metric::Objective;
    /// use instrument_metric::axum::HttpMetricsLayer;
    ///
    /// let layer = HttpMetricsLayer::builder()
    ///     .prefix("public")                  // public_http_requests_total, ...
    ///     .exclude("/metrics")               // not recorded: a scrape is not a request
    ///     .exclude("/health/*")              // every route template under /health/
    ///     .status_classes()                  // status="2xx", not "201"
    ///     .buckets(&[0.01, 0.05, 0.1, 0.25, 0.5, 1.0])
    ///     .body_sizes(instrument_metric::axum::BODY_SIZE_BUCKETS)
    ///     .objective(Objective::new("public_api").success(99.9).latency(0.25, 99.0))
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/orders", post(|| async { "placed" }))
    ///     .merge(instrument_metric::axum::router())
    ///     .layer(layer);
    ///
    /// // A threshold that is not a bound cannot be evaluated: an error, not wrong data.
    /// let error = HttpMetricsLayer::builder()
    ///     .objective(Objective::new("slow").latency(0.3, 99.0))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("not a bound"));
    /// # Ok::<(), instrument_metric::axum::HttpLayerError>(())
    /// ```
    pub fn builder() -> HttpMetricsBuilder {
        HttpMetricsBuilder {
            config: Config::default(),
            native: false,
            problems: Vec::new(),
        }
    }

    /// Makes the duration histogram a native histogram (with the configuration of
    /// [`set_native_histograms`](crate::set_native_histograms), or the defaults), beside its
    /// classic buckets: the protobuf exposition carries both, the text formats the classic
    /// ones. A route's histogram is native when the layer that first serves the route says so.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use instrument_metric::axum::HttpMetricsLayer;
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

/// The options of an [`HttpMetricsLayer`]; see [`HttpMetricsLayer::builder`].
#[derive(Debug)]
#[must_use]
pub struct HttpMetricsBuilder {
    config: Config,
    /// `native_histograms`.
    native: bool,
    /// Problems found as the options were given, reported by `build`.
    problems: Vec<HttpLayerError>,
}

impl HttpMetricsBuilder {
    /// Prefixes every family name with `prefix` and `_`: `.prefix("api")` gives
    /// `api_http_requests_total`. The layer adds the `_` itself, so a prefix that is empty or
    /// ends in `_` (`api_`, which would give `api__http_requests_total`) is refused by
    /// [`build`](Self::build), as `#[metrics(prefix = "...")]` refuses it.
    ///
    /// ```
    /// use instrument_metric::axum::HttpMetricsLayer;
    ///
    /// let error = HttpMetricsLayer::builder().prefix("api_").build().unwrap_err();
    /// assert!(error.to_string().contains("try `.prefix(\"api\")`"));
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        if let Some(problem) = prefix_problem(prefix) {
            self.problems.push(HttpLayerError::Prefix(problem));
        }
        self.config.prefix = format!("{prefix}_");
        self
    }

    /// Leaves out the requests whose matched route template is `route` (`/metrics`,
    /// `/assets/{*path}`), or starts with `route` without its final `*` (`/health/*`). Requests
    /// that match no route are still recorded as `unmatched`, whatever their path: a 404 is
    /// never lost.
    ///
    /// Only a final `*` matches anything: a `*` elsewhere (`/health/*/x`), but in axum's
    /// wildcard segment `{*name}`, is refused by [`build`](Self::build) rather than
    /// excluding nothing.
    ///
    /// ```
    /// use instrument_metric::axum::HttpMetricsLayer;
    ///
    /// let error = HttpMetricsLayer::builder().exclude("/health/*/x").build().unwrap_err();
    /// assert!(error.to_string().contains("only a final `*`"));
    /// ```
    pub fn exclude(mut self, route: &str) -> Self {
        if !route.starts_with('/') {
            self.problems.push(HttpLayerError::Exclude(format!(
                "`{route}` is not a route template: excluded routes start with `/`, like `/metrics` or `/health/*`"
            )));
        } else if inner_star(route) {
            self.problems.push(HttpLayerError::Exclude(format!(
                "`{route}` has a `*` before its end, which matches nothing: only a final `*` matches (every route template that starts with what precedes it, like `/health/*`); name each route template to leave out, like `/health/{{component}}/x`"
            )));
        }
        self.config.exclude.push(route.to_owned());
        self
    }

    /// Labels `status` with the class of the status (`1xx` to `5xx`) instead of its code: five
    /// series per route and method at most. A client that went away counts in `4xx`, a handler
    /// that panicked in `5xx`.
    pub fn status_classes(mut self) -> Self {
        self.config.status_classes = true;
        self
    }

    /// The bucket bounds of the duration histogram, in seconds (default: [`DEFAULT_BUCKETS`]):
    /// finite, increasing, and 0 or at least `1e-9` (durations are counted in whole nanoseconds).
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.config.buckets = bounds.to_vec();
        self
    }

    /// Also records `http_request_size_bytes` (the bytes of request bodies the application
    /// read) and `http_response_size_bytes` (the bytes of response bodies sent, observed when
    /// the body is done or dropped), histograms by endpoint and method with `bounds` in bytes
    /// ([`BODY_SIZE_BUCKETS`] is a fair default). Off by default: counting a body's bytes means
    /// wrapping (and boxing) each body, which costs every request an allocation or two
    /// (PERFORMANCE.md has the figures).
    pub fn body_sizes(mut self, bounds: &[f64]) -> Self {
        self.config.body_sizes = Some(bounds.to_vec());
        self
    }

    /// Makes the duration histogram native too; see [`HttpMetricsLayer::native_histograms`].
    pub fn native_histograms(mut self) -> Self {
        self.native = true;
        self
    }

    /// Declares a service level objective over the layer's requests (but `unmatched` ones): a
    /// success target (the share of requests not answered with a 5xx status; requests whose
    /// client went away count neither way, those whose handler panicked are 5xx) and a latency
    /// target (the share answered within a threshold, which must be a bound of the buckets).
    /// `instrument_metric::export` generates its rules, alerts and dashboard row.
    pub fn objective(mut self, objective: Objective) -> Self {
        self.config.objectives.push(objective);
        self
    }

    /// The layer, its families registered in the global registry (the same layer again when
    /// one was built with the same options).
    ///
    /// # Errors
    ///
    /// [`HttpLayerError`] for a prefix that is empty, ends in `_` or makes invalid names,
    /// buckets that are not finite and increasing (or a bound below 1 ns), an excluded route
    /// that is not a template (or has a `*` before its end), an objective whose name is not
    /// written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`), whose target is not a percent or
    /// whose threshold is not a bound of the buckets, and a family or objective name that
    /// something else declared.
    pub fn build(self) -> Result<HttpMetricsLayer, HttpLayerError> {
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(problem);
        }
        let config = self.config;
        let prefixed = format!("{}http_requests_total", config.prefix);
        if let Some(problem) = crate::model::metric_name_problem(&prefixed, MetricKind::Counter) {
            // The prefix as given: the layer added one `_`.
            let given = config.prefix.strip_suffix('_').unwrap_or_default();
            return Err(HttpLayerError::Prefix(format!(
                "the prefix `{given}` gives `{prefixed}`: {problem}"
            )));
        }
        if let Some(problem) = bounds_problem(&config.buckets) {
            return Err(HttpLayerError::Buckets(format!(
                "the duration buckets {:?} {problem}",
                config.buckets
            )));
        }
        // Durations are counted in whole nanoseconds, as the attribute's buckets say.
        if let Some(bound) = config
            .buckets
            .iter()
            .find(|bound| **bound > 0.0 && **bound < 1e-9)
        {
            return Err(HttpLayerError::Buckets(format!(
                "the duration buckets {:?} have the bound {bound:e}: durations are counted in whole nanoseconds, so a bound is 0 or at least 1e-9",
                config.buckets
            )));
        }
        if let Some(problem) = config.body_sizes.as_deref().and_then(bounds_problem) {
            return Err(HttpLayerError::Buckets(format!(
                "the body size buckets {:?} {problem}",
                config.body_sizes
            )));
        }
        for objective in &config.objectives {
            if objective.name.is_empty() {
                return Err(HttpLayerError::Objective(
                    "an objective of the HTTP layer needs a name: `Objective::new(\"api\")`"
                        .to_owned(),
                ));
            }
            if let Some(problem) = crate::model::objective_name_problem(objective.name) {
                return Err(HttpLayerError::Objective(problem));
            }
            if let Some(problem) = objective.problem(&config.buckets) {
                return Err(HttpLayerError::Objective(format!(
                    "the objective `{}` {problem}",
                    objective.name
                )));
            }
        }
        match register(config) {
            (layer, None) => Ok(HttpMetricsLayer {
                layer,
                native: self.native,
            }),
            (_, Some(conflict)) => Err(HttpLayerError::Conflict(conflict)),
        }
    }
}

/// Why `prefix` cannot be joined to the layer's names with `_`, if it cannot (the rest of the
/// name rules are checked on the names it gives).
fn prefix_problem(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        Some(
            "an empty prefix would give `_http_requests_total`; leave `.prefix` out for the unprefixed names"
                .to_owned(),
        )
    } else if prefix.ends_with('_') {
        let trimmed = prefix.trim_end_matches('_');
        let fix = if trimmed.is_empty() {
            "leave `.prefix` out for the unprefixed names".to_owned()
        } else {
            format!("try `.prefix(\"{trimmed}\")`")
        };
        Some(format!(
            "the prefix `{prefix}` would give `{prefix}_http_requests_total`: the prefix is joined to each name with `_`, so it must not end in `_`; {fix}"
        ))
    } else {
        None
    }
}

/// Whether `route` has a `*` before its end that is not axum's wildcard segment `{*name}`.
fn inner_star(route: &str) -> bool {
    let body = route.strip_suffix('*').unwrap_or(route);
    body.char_indices()
        .any(|(at, c)| c == '*' && !body[..at].ends_with('{'))
}

/// Why `bounds` cannot be a histogram's buckets, if they cannot.
fn bounds_problem(bounds: &[f64]) -> Option<&'static str> {
    if bounds.is_empty() {
        Some("are empty; give at least one bound")
    } else if bounds.iter().any(|bound| !bound.is_finite()) {
        Some("are not all finite; `+Inf` is always the last bucket")
    } else if !bounds.windows(2).all(|pair| pair[0] < pair[1]) {
        Some("are not strictly increasing")
    } else {
        None
    }
}

/// The layer of `config`: the one built before with it, or a new one whose families and
/// objectives are registered in the global registry (with the conflict, if one is refused).
fn register(config: Config) -> (&'static Layer, Option<Conflict>) {
    let mut layers = LAYERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(layer) = layers.iter().find(|layer| layer.config == config) {
        let refused = layer
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        return (layer, refused);
    }
    let names = config.names();
    let bounds: &'static [f64] = Box::leak(config.buckets.clone().into_boxed_slice());
    let body_bounds = config
        .body_sizes
        .clone()
        .map(|bounds| &*Box::leak(bounds.into_boxed_slice()));
    let layer: &'static Layer = Box::leak(Box::new(Layer {
        id: layers.len(),
        config,
        names,
        bounds,
        body_bounds,
        routes: RwLock::new(BTreeMap::new()),
        refused: Mutex::new(None),
    }));
    layers.push(layer);
    // Registered under the lock: a second build of this configuration waits for the verdict.
    let refused = declare(layer);
    layer
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone_from(&refused);
    drop(layers);
    (layer, refused)
}

/// Registers the families and objectives of `layer` in the global registry; the conflict that
/// refuses one, if any.
fn declare(layer: &'static Layer) -> Option<Conflict> {
    let registry = crate::registry();
    let write = Arc::new(move |writer: &mut dyn Exposition| layer.write(writer));
    if let Err(conflict) = registry.add_writer(&layer.specs(), write) {
        return Some(conflict);
    }
    for objective in &layer.config.objectives {
        let (bad, ignored) = if layer.config.status_classes {
            ("5xx", "")
        } else {
            ("5..", CLIENT_CLOSED_STATUS)
        };
        let declared = DeclaredObjective {
            name: objective.name.to_owned(),
            success: objective.success,
            latency: objective.latency,
            requests: layer.names.requests,
            outcome_label: "status",
            bad,
            ignored,
            histogram: layer.names.duration,
            bounds: layer.bounds,
            selector: format!("endpoint!=\"{UNMATCHED_ENDPOINT}\""),
            example: vec![
                ("endpoint", "/example".to_owned()),
                ("method", "GET".to_owned()),
            ],
            location: Location {
                file: file!(),
                line: line!(),
                column: column!(),
            },
        };
        if let Err(conflict) = registry.add_objective(declared) {
            return Some(conflict);
        }
    }
    None
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

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            layer: self.layer,
            native: self.native,
        }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    layer: &'static Layer,
    native: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for HttpMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetricsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for HttpMetricsService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<R>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<::axum::BoxError>,
    R: HttpBody<Data = Bytes> + Send + 'static,
    R::Error: Into<::axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let record = if crate::recording() {
            let endpoint = request
                .extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED_ENDPOINT, MatchedPath::as_str);
            match self
                .layer
                .route(endpoint, method_index(request.method()), self.native)
            {
                Cached::Excluded => None,
                Cached::Recorded(route) => Some(Record::start(self.layer, route)),
            }
        } else {
            None
        };
        // `Body::new` of a `Body` is the body itself: no allocation without body sizes.
        let request = match record
            .as_ref()
            .and_then(|record| record.route.request_sizes.as_ref())
        {
            Some(sizes) => request.map(|body| Body::new(Counted::new(body, sizes))),
            None => request.map(Body::new),
        };
        ResponseFuture {
            inner: self.inner.call(request),
            record,
        }
    }
}

/// One request being recorded; records a client-closed request if dropped before the
/// response, a panicked one if dropped while the thread unwinds.
struct Record {
    layer: &'static Layer,
    route: &'static Route,
    stripe: usize,
    started: u64,
}

impl Record {
    fn start(layer: &'static Layer, route: &'static Route) -> Record {
        let stripe = route.in_flight.stripe();
        route.in_flight.enter(stripe);
        Record {
            layer,
            route,
            stripe,
            started: route.in_flight.clock.raw(),
        }
    }

    fn finish(self, status: u16) {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(status);
    }

    fn observe(&self, status: u16) {
        let clock = self.route.in_flight.clock;
        let nanos = clock.delta_as_nanos(self.started, clock.raw());
        self.route.in_flight.leave(self.stripe);
        let cells = self
            .route
            .status(self.layer.status_slot(status), self.layer.bounds);
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
                status: usize::from(status),
                nanos,
            });
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // A runtime drops the future of a task that panicked while the panic unwinds (tokio
        // does): the server failed, the client did not go away.
        if std::thread::panicking() {
            self.observe(SERVER_ERROR);
        } else {
            self.observe(CLIENT_CLOSED);
        }
    }
}

/// Records the request as panicked if a panic unwinds through the poll of its response
/// future: the future itself may be dropped only later, outside the unwinding (under a
/// `CatchPanic` layer wrapping this one, or any `catch_unwind` around the poll).
struct Unwinding<'a>(&'a mut Option<Record>);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(record) = self.0.take()
        {
            record.finish(SERVER_ERROR);
        }
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
    R: HttpBody<Data = Bytes> + Send + 'static,
    R::Error: Into<::axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let unwinding = Unwinding(this.record);
        let output = std::task::ready!(this.inner.poll(cx));
        let record = unwinding.0.take();
        let sizes = record
            .as_ref()
            .and_then(|record| record.route.response_sizes.as_ref());
        if let Some(record) = record {
            match &output {
                Ok(response) => record.finish(response.status().as_u16()),
                // axum's services are infallible; another stack's error has no status.
                Err(_) => record.finish(SERVER_ERROR),
            }
        }
        Poll::Ready(output.map(|response| match sizes {
            Some(sizes) => response.map(|body| Body::new(Counted::new(body, sizes))),
            None => response.map(Body::new),
        }))
    }
}

pin_project_lite::pin_project! {
    /// A body that counts its data bytes and observes the total into a size histogram once,
    /// when it is dropped (done, or abandoned part way).
    struct Counted<B> {
        #[pin]
        inner: B,
        size: Size,
    }
}

/// The bytes of a body so far, observed when the body is dropped.
struct Size {
    bytes: u64,
    sizes: &'static HistogramCells,
}

impl Drop for Size {
    fn drop(&mut self) {
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 bytes
        self.sizes.observe(0, self.bytes as f64);
    }
}

impl<B> Counted<B> {
    fn new(inner: B, sizes: &'static HistogramCells) -> Self {
        Counted {
            inner,
            size: Size { bytes: 0, sizes },
        }
    }
}

impl<B: HttpBody<Data = Bytes>> HttpBody for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            this.size.bytes += data.len() as u64;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
