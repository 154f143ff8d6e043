//! The layer's options, checked when it is built: [`HttpMetricsLayer`], its builder, and the
//! errors a bad option gives.

use std::sync::OnceLock;

use crate::catalog::Conflict;
use crate::integrations::http::routes::{Layer, METHODS, register};
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind, Objective};

/// What a layer records and how: everything its builder was given.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Config {
    /// `""` or `prefix_`.
    pub(super) prefix: String,
    /// Route templates left out: exact, or a prefix when they end in `*`.
    pub(super) exclude: Vec<String>,
    pub(super) status_classes: bool,
    pub(super) buckets: Vec<f64>,
    pub(super) body_sizes: Option<Vec<f64>>,
    /// The layer-wide objectives and the route objectives, in the order given.
    pub(super) objectives: Vec<LayerObjective>,
}

/// An objective given to the builder: over every request of the layer (but `unmatched`
/// ones), or over the requests of one route.
#[derive(Clone, Debug)]
pub(super) struct LayerObjective {
    pub(super) objective: Objective,
    /// The route it covers, `None` for every route.
    pub(super) route: Option<ObjectiveRoute>,
    /// Where the builder was given it: conflicts name it. Not an option of the layer (the
    /// same options given in two places give the same layer).
    pub(super) location: Location,
}

impl PartialEq for LayerObjective {
    fn eq(&self, other: &Self) -> bool {
        (self.objective, &self.route) == (other.objective, &other.route)
    }
}

/// The requests a route objective covers: one route template, some methods or all.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ObjectiveRoute {
    /// The `endpoint` label value.
    pub(super) template: String,
    /// The `method` label values (slots of `METHODS`), in the order given; empty for all.
    pub(super) methods: Vec<usize>,
}

impl ObjectiveRoute {
    /// The methods and route as a request line says them: `POST /sms`, `GET|HEAD /notes`, or
    /// the route alone for every method.
    pub(super) fn describe(&self) -> String {
        if self.methods.is_empty() {
            return self.template.clone();
        }
        let methods: Vec<&str> = self.methods.iter().map(|slot| METHODS[*slot]).collect();
        format!("{} {}", methods.join("|"), self.template)
    }
}

impl LayerObjective {
    /// What it covers, in an error message.
    fn scope(&self) -> String {
        match &self.route {
            None => "every route".to_owned(),
            Some(route) => format!("`{}`", route.describe()),
        }
    }
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
pub(super) struct Names {
    pub(super) requests: &'static str,
    pub(super) duration: &'static str,
    pub(super) in_flight: &'static str,
    pub(super) request_size: &'static str,
    pub(super) response_size: &'static str,
}

impl Config {
    pub(super) fn names(&self) -> Names {
        let name = |stem: &str| leak(format!("{}{stem}", self.prefix));
        Names {
            requests: name("http_requests_total"),
            duration: name("http_request_duration_seconds"),
            in_flight: name("http_requests_in_flight"),
            request_size: name("http_request_size_bytes"),
            response_size: name("http_response_size_bytes"),
        }
    }

    pub(super) fn excluded(&self, endpoint: &str) -> bool {
        self.exclusion(endpoint).is_some()
    }

    /// The exclusion that leaves `endpoint` out, if one does.
    pub(super) fn exclusion(&self, endpoint: &str) -> Option<&str> {
        self.exclude
            .iter()
            .find(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => endpoint.starts_with(prefix),
                None => endpoint == pattern.as_str(),
            })
            .map(String::as_str)
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
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
    /// An objective's name is not written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`) or is
    /// given twice, it has a target that is not a percent or a threshold that is not a bound,
    /// or a route objective names a route that is not a template (or is excluded) or a
    /// method the layer does not label.
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
    pub(super) layer: &'static Layer,
    /// Whether the routes this layer serves first have native duration histograms.
    pub(super) native: bool,
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
    /// prefix and objectives (over every route, or one:
    /// [`route_objective`](HttpMetricsBuilder::route_objective)); every argument is checked by
    /// [`HttpMetricsBuilder::build`].
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
    /// ([`BODY_SIZE_BUCKETS`](crate::axum::BODY_SIZE_BUCKETS) is a fair default). Off by default: counting a body's bytes means
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
    /// `instrument_metric::export` generates its rules, alerts and dashboard row. For the
    /// requests of one route, see [`route_objective`](Self::route_objective).
    #[track_caller]
    pub fn objective(mut self, objective: Objective) -> Self {
        self.config.objectives.push(LayerObjective {
            objective,
            route: None,
            location: caller(),
        });
        self
    }

    /// Declares a service level objective over the requests of one route: those whose matched
    /// route template is `route` and whose method is one of `methods` (`&[]` for every
    /// method), with targets of its own, beside the layer-wide [`objective`](Self::objective)
    /// (which still covers these requests too). Success and latency are counted as there;
    /// the threshold must be a bound of the layer's buckets.
    ///
    /// Its rules select the route's series by the `endpoint` and `method` labels the layer
    /// writes, so [`build`](Self::build) refuses what would select nothing: a route that is not
    /// a route template (it starts with `/` and names one route, no final `*`), a route the
    /// layer [`exclude`](Self::exclude)s, a method outside `GET`, `HEAD`, `POST`, `PUT`,
    /// `DELETE`, `CONNECT`, `OPTIONS`, `TRACE` and `PATCH` (written in capitals), and a name
    /// another objective of the layer has (or another layer's, or a function's: a
    /// [`Conflict`] naming both places).
    ///
    /// ```
    /// use axum::{Router, routing::{get, post}};
    /// use instrument_metric::Objective;
    /// use instrument_metric::axum::HttpMetricsLayer;
    ///
    /// let layer = HttpMetricsLayer::builder()
    ///     .prefix("assistant")
    ///     .buckets(&[0.05, 0.25, 1.0, 5.0])
    ///     // Every route: 99.9% succeed, 99% within 250 ms.
    ///     .objective(Objective::new("assistant_api").success(99.9).latency(0.25, 99.0))
    ///     // Sending an SMS waits for the provider: 99% within 1 s.
    ///     .route_objective(&["POST"], "/api/v1/sms", Objective::new("sms_send").latency(1.0, 99.0))
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/api/v1/sms", post(|| async { "sent" }))
    ///     .route("/api/v1/notes", get(|| async { "notes" }))
    ///     .layer(layer);
    ///
    /// let catalog = instrument_metric::catalog();
    /// let sms = catalog.objectives.iter().find(|o| o.name == "sms_send").unwrap();
    /// // Its rules (`instrument_metric::export`) select the route's series:
    /// assert_eq!(sms.selector, r#"endpoint="/api/v1/sms",method="POST""#);
    /// assert_eq!(sms.histogram, "assistant_http_request_duration_seconds");
    ///
    /// // A route the layer leaves out has no requests to count: an error, not an empty graph.
    /// let error = HttpMetricsLayer::builder()
    ///     .exclude("/health/*")
    ///     .route_objective(&[], "/health/{component}", Objective::new("health").success(99.0))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("which the layer excludes"));
    /// # Ok::<(), instrument_metric::axum::HttpLayerError>(())
    /// ```
    #[track_caller]
    pub fn route_objective(mut self, methods: &[&str], route: &str, objective: Objective) -> Self {
        let location = caller();
        let mut slots = Vec::with_capacity(methods.len());
        for method in methods {
            match METHODS[..METHODS.len() - 1]
                .iter()
                .position(|known| known == method)
            {
                Some(slot) if slots.contains(&slot) => {
                    self.problems.push(HttpLayerError::Objective(format!(
                        "the objective `{}` names the method `{method}` twice: name it once",
                        objective.name
                    )));
                }
                Some(slot) => slots.push(slot),
                None => self.problems.push(HttpLayerError::Objective(unknown_method(
                    objective.name,
                    method,
                ))),
            }
        }
        if let Some(problem) = route_problem(route) {
            self.problems.push(HttpLayerError::Objective(format!(
                "the objective `{}` covers `{route}`, which {problem}",
                objective.name
            )));
        }
        self.config.objectives.push(LayerObjective {
            objective,
            route: Some(ObjectiveRoute {
                template: route.to_owned(),
                methods: slots,
            }),
            location,
        });
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
    /// written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`) or is given twice, whose target
    /// is not a percent or whose threshold is not a bound of the buckets, a route objective
    /// whose route is not a template or is excluded or whose method is not labelled by name,
    /// and a family or objective name that something else declared.
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
        for (at, declared) in config.objectives.iter().enumerate() {
            let objective = &declared.objective;
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
            if let Some(route) = &declared.route
                && let Some(pattern) = config.exclusion(&route.template)
            {
                return Err(HttpLayerError::Objective(format!(
                    "the objective `{}` covers `{}`, which the layer excludes (`.exclude(\"{pattern}\")`): its requests are not recorded; drop the objective or the exclusion",
                    objective.name, route.template
                )));
            }
            if let Some(first) = config.objectives[..at]
                .iter()
                .find(|first| first.objective.name == objective.name)
            {
                return Err(HttpLayerError::Objective(format!(
                    "the objective `{}` is declared twice on this layer, for {} ({}) and for {} ({}): an objective's name labels its rules; rename one",
                    objective.name,
                    first.scope(),
                    first.location,
                    declared.scope(),
                    declared.location
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

/// Where the builder's caller is, as the catalog keeps locations.
#[track_caller]
fn caller() -> Location {
    let caller = std::panic::Location::caller();
    Location {
        file: caller.file(),
        line: caller.line(),
        column: caller.column(),
    }
}

/// Why `route` is not one route template, if it is not.
fn route_problem(route: &str) -> Option<&'static str> {
    if !route.starts_with('/') {
        Some(
            "is not a route template: a route objective names a template of the router, like `/api/v1/sms` or `/users/{id}`",
        )
    } else if route.ends_with('*') || inner_star(route) {
        Some(
            "is not one route template: a `*` matches no route here (`{*rest}` is axum's wildcard segment); declare an objective per route, or one over every route with `.objective`",
        )
    } else {
        None
    }
}

/// The error for a method a route objective names that the layer does not label.
fn unknown_method(objective: &str, method: &str) -> String {
    let standard = &METHODS[..METHODS.len() - 1];
    let upper = method.to_ascii_uppercase();
    let hint = if standard.contains(&upper.as_str()) {
        format!("try `{upper}`")
    } else {
        format!(
            "the layer labels `{}` by name and every other method `other`",
            standard.join("`, `")
        )
    };
    format!(
        "the objective `{objective}` names the method `{method}`, which the layer does not label: {hint}"
    )
}

/// Whether `route` has a `*` before its end that is not axum's wildcard segment `{*name}`.
fn inner_star(route: &str) -> bool {
    let body = route.strip_suffix('*').unwrap_or(route);
    body.char_indices()
        .any(|(at, c)| c == '*' && !body[..at].ends_with('{'))
}

/// Why `bounds` cannot be a histogram's buckets, if they cannot.
pub(in crate::integrations) fn bounds_problem(bounds: &[f64]) -> Option<&'static str> {
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
