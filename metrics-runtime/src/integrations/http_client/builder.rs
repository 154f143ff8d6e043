//! The options, checked when the metrics are built: [`HttpClientMetrics`], its builder, the
//! [`Peer`] a call names and the errors a bad option gives.

use std::borrow::Cow;

use crate::catalog::Conflict;
use crate::integrations::http::{METHODS, bounds_problem, method_index};
use crate::integrations::http_client::UNKNOWN_PEER;
use crate::integrations::http_client::client::{Client, register};
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind};

/// What the metrics record and how: everything the builder was given.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Config {
    /// `""` or `prefix_`.
    pub(super) prefix: String,
    /// The declared peers, in the order given ([`UNKNOWN_PEER`] not among them).
    pub(super) peers: Vec<String>,
    /// The indices in [`METHODS`] of the methods recorded by name, increasing, `other` last.
    pub(super) methods: Vec<usize>,
    pub(super) status_classes: bool,
    pub(super) buckets: Vec<f64>,
    pub(super) native: bool,
}

/// The family names of a configuration.
pub(super) struct Names {
    pub(super) requests: &'static str,
    pub(super) duration: &'static str,
    pub(super) in_flight: &'static str,
    pub(super) errors: &'static str,
}

impl Config {
    pub(super) fn names(&self) -> Names {
        let name = |stem: &str| &*Box::leak(format!("{}{stem}", self.prefix).into_boxed_str());
        Names {
            requests: name("http_client_requests_total"),
            duration: name("http_client_request_duration_seconds"),
            in_flight: name("http_client_requests_in_flight"),
            errors: name("http_client_errors_total"),
        }
    }
}

/// Why the metrics could not be built, or a peer not chosen.
///
/// ```
/// use instrument_metric::http_client::{HttpClientError, HttpClientMetrics};
///
/// let error = HttpClientMetrics::builder().peers(&["https://api.example.com"]).build();
/// assert!(matches!(error, Err(HttpClientError::Peer(_))));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HttpClientError {
    /// The prefix is empty, ends in `_` (the builder adds the `_`) or would not make valid
    /// metric names.
    Prefix(String),
    /// A peer name is empty, reserved, given twice, not made of `[a-zA-Z0-9_.-]`, or (for
    /// [`HttpClientMetrics::for_peer`]) not declared; or no peer was declared.
    Peer(String),
    /// A method to record by name is not one of the nine standard methods.
    Method(String),
    /// The buckets are empty, not finite, not increasing, or below 1 ns.
    Buckets(String),
    /// The families are declared by something else (other metrics with the same prefix and
    /// different options, say); also reported by [`check`](crate::check).
    Conflict(Conflict),
}

impl std::fmt::Display for HttpClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpClientError::Prefix(message)
            | HttpClientError::Peer(message)
            | HttpClientError::Method(message)
            | HttpClientError::Buckets(message) => f.write_str(message),
            HttpClientError::Conflict(conflict) => conflict.fmt(f),
        }
    }
}

impl std::error::Error for HttpClientError {}

/// The peer a call is made to, put in the call's extensions: it overrides the peer of the
/// client's middleware ([`HttpClientMetrics::for_peer`]). A name that was not declared counts
/// under [`UNKNOWN_PEER`].
///
/// ```no_run
/// use instrument_metric::http_client::{HttpClientMetrics, Peer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = HttpClientMetrics::builder().peers(&["twilio", "vonage"]).build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(metrics)
///     .build();
/// client
///     .post("http://127.0.0.1:8080/messages")
///     .with_extension(Peer::new("vonage"))
///     .send()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Peer(Cow<'static, str>);

impl Peer {
    /// The peer named `name` (a `&'static str` or a `String` read from configuration).
    pub fn new(name: impl Into<Cow<'static, str>>) -> Peer {
        Peer(name.into())
    }

    /// Its name.
    ///
    /// ```
    /// assert_eq!(instrument_metric::http_client::Peer::new("geo").name(), "geo");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// Records the calls of a `reqwest-middleware` client: add it with `ClientBuilder::with`. See
/// [the module](crate::http_client) for its families, and [`HttpClientMetrics::builder`] for
/// its options.
///
/// It is a small copyable handle: give each client its own with [`for_peer`](Self::for_peer).
///
/// ```
/// use instrument_metric::http_client::HttpClientMetrics;
///
/// let metrics = HttpClientMetrics::builder().peers(&["search"]).build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(metrics.for_peer("search")?)
///     .build();
/// # drop(client);
/// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
/// ```
#[derive(Clone, Copy)]
pub struct HttpClientMetrics {
    pub(super) client: &'static Client,
    /// The index of the peer of calls that name none, if any.
    pub(super) peer: Option<usize>,
}

impl std::fmt::Debug for HttpClientMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientMetrics")
            .field("config", &self.client.config)
            .field(
                "peer",
                &self.peer.map(|peer| &*self.client.peers[peer].name),
            )
            .finish()
    }
}

impl HttpClientMetrics {
    /// The options: the peers (required), the methods recorded by name, status classes,
    /// buckets, native histograms and a name prefix; every argument is checked by
    /// [`HttpClientMetricsBuilder::build`].
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let metrics = HttpClientMetrics::builder()
    ///     .prefix("outbound")                 // outbound_http_client_requests_total, ...
    ///     .peers(&["stripe", "sendgrid"])
    ///     .methods(&[reqwest::Method::POST])  // any other method counts as `other`
    ///     .status_classes()                   // status="2xx", not "201"
    ///     .buckets(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
    ///     .native_histograms()
    ///     .build()?;
    ///
    /// // A peer must be declared: a typo is an error here, not an empty graph.
    /// let error = metrics.for_peer("strpie").unwrap_err();
    /// assert!(error.to_string().contains("`stripe`, `sendgrid`"));
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn builder() -> HttpClientMetricsBuilder {
        HttpClientMetricsBuilder {
            config: Config {
                prefix: String::new(),
                peers: Vec::new(),
                methods: (0..METHODS.len()).collect(),
                status_classes: false,
                buckets: DEFAULT_BUCKETS.to_vec(),
                native: false,
            },
            problems: Vec::new(),
        }
    }

    /// The same metrics, counting a call that names no [`Peer`] under `peer`: the middleware
    /// of a client that calls one peer.
    ///
    /// # Errors
    ///
    /// [`HttpClientError::Peer`] when `peer` was not declared (the message lists those that
    /// were).
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let metrics = HttpClientMetrics::builder().peers(&["maps", "mail"]).build()?;
    /// let maps = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(metrics.for_peer("maps")?)
    ///     .build();
    /// # drop(maps);
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn for_peer(self, peer: &str) -> Result<HttpClientMetrics, HttpClientError> {
        match self.client.declared(peer) {
            Some(index) => Ok(HttpClientMetrics {
                client: self.client,
                peer: Some(index),
            }),
            None => Err(HttpClientError::Peer(format!(
                "the peer `{peer}` was not declared; the peers are {}: add it with `.peers(...)` when building the metrics",
                self.client
                    .config
                    .peers
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The options of [`HttpClientMetrics`]; see [`HttpClientMetrics::builder`].
#[derive(Debug)]
#[must_use]
pub struct HttpClientMetricsBuilder {
    config: Config,
    /// Problems found as the options were given, reported by `build`.
    problems: Vec<HttpClientError>,
}

impl HttpClientMetricsBuilder {
    /// Prefixes every family name with `prefix` and `_`: `.prefix("outbound")` gives
    /// `outbound_http_client_requests_total`. A prefix that is empty or ends in `_` is refused
    /// by [`build`](Self::build).
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let error = HttpClientMetrics::builder().peers(&["a"]).prefix("out_").build().unwrap_err();
    /// assert!(error.to_string().contains("try `.prefix(\"out\")`"));
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        let trimmed = prefix.trim_end_matches('_');
        if prefix.is_empty() || trimmed.is_empty() {
            self.problems.push(HttpClientError::Prefix(format!(
                "the prefix `{prefix}` would give `{prefix}_http_client_requests_total`; leave `.prefix` out for the unprefixed names"
            )));
        } else if trimmed != prefix {
            self.problems.push(HttpClientError::Prefix(format!(
                "the prefix `{prefix}` would give `{prefix}_http_client_requests_total`: the prefix is joined to each name with `_`, so it must not end in `_`; try `.prefix(\"{trimmed}\")`"
            )));
        }
        self.config.prefix = format!("{prefix}_");
        self
    }

    /// Declares the peers calls are made to, the values of the `peer` label: names of
    /// `[a-zA-Z0-9_.-]`, at most 64 bytes, each once, not [`UNKNOWN_PEER`] (which is added).
    /// May be called more than once; at least one peer is required.
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// // Names read from configuration are fine: they are checked here, once.
    /// let configured = vec!["search".to_owned(), "ranking".to_owned()];
    /// let metrics = HttpClientMetrics::builder().peers(&configured).build()?;
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn peers<S: AsRef<str>>(mut self, peers: &[S]) -> Self {
        for peer in peers {
            let peer = peer.as_ref();
            if let Some(problem) = peer_problem(peer, &self.config.peers) {
                self.problems.push(HttpClientError::Peer(problem));
            }
            self.config.peers.push(peer.to_owned());
        }
        self
    }

    /// The methods recorded by name (default: the nine standard methods); a call with any
    /// other method counts as `other`. Fewer methods, fewer series: each method of each peer
    /// has a duration histogram, exported from the start.
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let metrics = HttpClientMetrics::builder()
    ///     .peers(&["ledger"])
    ///     .methods(&[reqwest::Method::GET, reqwest::Method::PUT])
    ///     .build()?;
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn methods(mut self, methods: &[::axum::http::Method]) -> Self {
        let other = METHODS.len() - 1;
        let mut indices = Vec::with_capacity(methods.len() + 1);
        for method in methods {
            let index = method_index(method);
            if index == other {
                self.problems.push(HttpClientError::Method(format!(
                    "`{method}` is not a standard method, and only those are recorded by name; any other counts as `other`, without naming it here"
                )));
            }
            indices.push(index);
        }
        indices.push(other);
        indices.sort_unstable();
        indices.dedup();
        self.config.methods = indices;
        self
    }

    /// Labels `status` with the class of the status (`1xx` to `5xx`) instead of its code:
    /// every series is then exported from the start.
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// HttpClientMetrics::builder().prefix("doc_classes").peers(&["cdn"]).status_classes().build()?;
    /// let text = instrument_metric::render();
    /// assert!(text.contains(r#"doc_classes_http_client_requests_total{method="GET",peer="cdn",status="5xx"} 0"#));
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn status_classes(mut self) -> Self {
        self.config.status_classes = true;
        self
    }

    /// The bucket bounds of the duration histogram, in seconds (default: [`DEFAULT_BUCKETS`]):
    /// finite, increasing, and 0 or at least `1e-9`.
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let error = HttpClientMetrics::builder().peers(&["a"]).buckets(&[1.0, 0.5]).build().unwrap_err();
    /// assert!(error.to_string().contains("not strictly increasing"));
    /// ```
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.config.buckets = bounds.to_vec();
        self
    }

    /// Makes the duration histogram a native histogram too (with the configuration of
    /// [`set_native_histograms`](crate::set_native_histograms), or the defaults), beside its
    /// classic buckets: the protobuf exposition carries both.
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let metrics = HttpClientMetrics::builder().peers(&["payments"]).native_histograms().build()?;
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    pub fn native_histograms(mut self) -> Self {
        self.config.native = true;
        self
    }

    /// The metrics, their families registered in the global registry with every series at 0
    /// (the same metrics again when they were built with the same options).
    ///
    /// # Errors
    ///
    /// [`HttpClientError`] for a bad prefix, no peer or a bad peer name, a method that is
    /// not standard, bad buckets, and families that something else declared (the conflict
    /// names where each was built).
    ///
    /// ```
    /// use instrument_metric::http_client::HttpClientMetrics;
    ///
    /// let first = HttpClientMetrics::builder().peers(&["crm"]).build()?;
    /// let again = HttpClientMetrics::builder().peers(&["crm"]).build()?; // the same metrics
    /// // The same names with other options: a conflict, never a second family.
    /// assert!(HttpClientMetrics::builder().peers(&["erp"]).build().is_err());
    /// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
    /// ```
    #[track_caller]
    pub fn build(self) -> Result<HttpClientMetrics, HttpClientError> {
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(problem);
        }
        let config = self.config;
        if config.peers.is_empty() {
            return Err(HttpClientError::Peer(
                "no peer was declared: name the services the client calls with `.peers(&[\"billing\", ...])`".to_owned(),
            ));
        }
        let prefixed = format!("{}http_client_requests_total", config.prefix);
        if let Some(problem) = crate::model::metric_name_problem(&prefixed, MetricKind::Counter) {
            let given = config.prefix.strip_suffix('_').unwrap_or_default();
            return Err(HttpClientError::Prefix(format!(
                "the prefix `{given}` gives `{prefixed}`: {problem}"
            )));
        }
        if let Some(problem) = bounds_problem(&config.buckets) {
            return Err(HttpClientError::Buckets(format!(
                "the duration buckets {:?} {problem}",
                config.buckets
            )));
        }
        if let Some(bound) = config
            .buckets
            .iter()
            .find(|bound| **bound > 0.0 && **bound < 1e-9)
        {
            return Err(HttpClientError::Buckets(format!(
                "the duration buckets {:?} have the bound {bound:e}: durations are counted in whole nanoseconds, so a bound is 0 or at least 1e-9",
                config.buckets
            )));
        }
        let caller = std::panic::Location::caller();
        let built_at = Location {
            file: caller.file(),
            line: caller.line(),
            column: caller.column(),
        };
        match register(config, built_at) {
            (client, None) => Ok(HttpClientMetrics { client, peer: None }),
            (_, Some(conflict)) => Err(HttpClientError::Conflict(conflict)),
        }
    }
}

/// Why `peer` cannot be declared after `declared`, if it cannot.
fn peer_problem(peer: &str, declared: &[String]) -> Option<String> {
    if peer.is_empty() {
        Some("a peer name is empty; name the service called, like `billing`".to_owned())
    } else if peer == UNKNOWN_PEER {
        Some(format!(
            "the peer name `{UNKNOWN_PEER}` is reserved for calls that name no declared peer; name the service called"
        ))
    } else if peer.len() > 64 {
        Some(format!(
            "the peer name `{peer}` is longer than 64 bytes; name the service called, not its URL"
        ))
    } else if let Some(bad) = peer
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        Some(format!(
            "the peer name `{peer}` has `{bad}`: a peer is a name made of `[a-zA-Z0-9_.-]`, like `billing` or `geo-v2`, never a URL"
        ))
    } else if declared.iter().any(|known| known == peer) {
        Some(format!(
            "the peer `{peer}` is declared twice; declare each peer once"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_a_short_name_declared_once_and_not_reserved() {
        let declared = vec!["billing".to_owned()];
        assert_eq!(peer_problem("geo-v2.eu_1", &declared), None);
        for (peer, expected) in [
            ("", "is empty"),
            ("other", "is reserved"),
            ("billing", "declared twice"),
            ("https://api.example.com", "has `:`"),
            ("a b", "has ` `"),
        ] {
            let problem = peer_problem(peer, &declared).unwrap();
            assert!(problem.contains(expected), "{peer}: {problem}");
        }
        assert!(
            peer_problem(&"x".repeat(65), &declared)
                .unwrap()
                .contains("longer than 64")
        );
    }

    #[test]
    fn bad_options_are_errors_that_say_what_to_do() {
        let error = |builder: HttpClientMetricsBuilder| builder.build().unwrap_err().to_string();
        assert!(error(HttpClientMetrics::builder()).contains("no peer was declared"));
        let one = || HttpClientMetrics::builder().peers(&["a"]);
        assert!(error(one().prefix("")).contains("leave `.prefix` out"));
        assert!(error(one().prefix("9x")).contains("gives `9x_http_client_requests_total`"));
        assert!(error(one().buckets(&[])).contains("are empty"));
        assert!(error(one().buckets(&[0.5, 0.1])).contains("not strictly increasing"));
        assert!(error(one().buckets(&[1e-10, 1.0])).contains("whole nanoseconds"));
        let purge = ::axum::http::Method::from_bytes(b"PURGE").unwrap();
        assert!(error(one().methods(&[purge])).contains("`PURGE` is not a standard method"));
    }

    #[test]
    fn the_methods_recorded_by_name_always_include_other() {
        let builder = HttpClientMetrics::builder().methods(&[
            ::axum::http::Method::POST,
            ::axum::http::Method::GET,
            ::axum::http::Method::POST,
        ]);
        let names: Vec<&str> = builder
            .config
            .methods
            .iter()
            .map(|index| METHODS[*index])
            .collect();
        assert_eq!(names, ["GET", "POST", "other"]);
    }
}
