//! Metrics of the HTTP calls a service makes to other services (feature `reqwest`): a
//! [`reqwest-middleware`](https://docs.rs/reqwest-middleware/0.5) middleware recording each
//! call by the **peer** it is made to, a name you give (`twilio`, `billing`), never the host or
//! the URL.
//!
//! | family | labels | what |
//! |---|---|---|
//! | `http_client_requests_total` | `peer`, `method`, `status` | calls, by the status of their response, or `error` when none came |
//! | `http_client_request_duration_seconds` | `peer`, `method` | time from sending a call to its response head (or its error) |
//! | `http_client_requests_in_flight` | `peer` | calls sent whose response head has not come yet |
//! | `http_client_errors_total` | `peer`, `kind` | calls that failed, by [kind](ERROR_KINDS) |
//!
//! ```no_run
//! use instrument_metric::http_client::{HttpClientMetrics, Peer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Every peer the service calls, fixed here: their series are exported at 0 from now on.
//! let metrics = HttpClientMetrics::builder()
//!     .peers(&["billing", "geo"])
//!     .methods(&[reqwest::Method::GET, reqwest::Method::POST])
//!     .build()?;
//!
//! // A client for one peer: each of its calls counts under `peer="billing"`.
//! let billing = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(metrics.for_peer("billing")?)
//!     .build();
//! billing.post("http://billing.internal/charges").send().await?;
//!
//! // A client for many: each call names its peer.
//! let shared = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(metrics)
//!     .build();
//! shared
//!     .get("http://geo.internal/v1/lookup")
//!     .with_extension(Peer::new("geo"))
//!     .send()
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! **Bounded.** The peers are fixed when the metrics are built ([`HttpClientMetricsBuilder::build`]
//! checks each name), and [`UNKNOWN_PEER`] (`other`) is added to them: a call naming a peer
//! that was not declared, or none when its middleware has no peer of its own, counts there
//! (and a warning is logged once per metrics), never in a new series. Methods outside those
//! given to [`methods`](HttpClientMetricsBuilder::methods) (all nine standard ones by default)
//! count as `other`, as the server layer folds the methods it does not know. `status` is the
//! code (`200`), or its class (`2xx`) with
//! [`status_classes`](HttpClientMetricsBuilder::status_classes).
//!
//! **At 0 from the start.** Every series of every peer (`other` included) is exported as soon
//! as the metrics are built: in-flight, errors of each kind, a duration histogram per method,
//! and requests with `status="error"`, and with status classes each of `1xx` to `5xx` too. A
//! status code's series starts at its first response (there are too many codes to export them
//! all): choose status classes when an alert must see the first `503`.
//!
//! **The response head, not the body.** reqwest returns a response when its head has come;
//! so does this middleware: the duration and the in-flight count stop there, whatever the
//! caller does with the body afterwards. The body is wrapped so that an error while reading it
//! still counts, in `http_client_errors_total` (kind `body`, or `timeout`); that call is
//! already counted in `http_client_requests_total` under the status of its head.
//!
//! **Every call once.** A call that fails before its response head counts under
//! `status="error"` in `http_client_requests_total` and under its kind in
//! `http_client_errors_total`, so `http_client_requests_total` counts every call and the
//! durations' count equals it. A call dropped before its head came (the caller's own timeout,
//! a `select!` that took another branch) counts as an error of kind `cancelled`. Redirects that
//! reqwest follows are one call, under the final status. Place the middleware after a retry
//! middleware to count each attempt, before it to count each call.
//!
//! The families are registered in the global registry (where `/metrics` finds them) when the
//! metrics are built; building the same options again gives the same metrics. They share the
//! server layer's method folding and bucket checks; a call costs two clock reads, a few
//! uncontended atomic increments and the boxing of its response body (PERFORMANCE.md).
//!
//! `builder.rs` checks the options, `client.rs` keeps the cells and records a call,
//! `families.rs` declares and writes the families, `middleware.rs` is the reqwest middleware.

mod builder;
mod client;
mod families;
mod middleware;

pub use builder::{HttpClientError, HttpClientMetrics, HttpClientMetricsBuilder, Peer};

/// The peer of a call that names no declared peer: always one of the peers, exported at 0.
///
/// ```
/// use instrument_metric::http_client::{HttpClientMetrics, UNKNOWN_PEER};
///
/// let error = HttpClientMetrics::builder().peers(&[UNKNOWN_PEER]).build().unwrap_err();
/// assert!(error.to_string().contains("reserved"));
/// ```
pub const UNKNOWN_PEER: &str = "other";

/// `status` of a call that got no response head: it failed (its kind is counted in
/// `http_client_errors_total`) or was dropped first.
///
/// ```
/// use instrument_metric::http_client::{ERROR_STATUS, HttpClientMetrics};
///
/// HttpClientMetrics::builder().prefix("doc_error").peers(&["geo"]).build()?;
/// // Before any call: the failed calls of each peer and method, at 0.
/// let text = instrument_metric::render();
/// let line = format!(
///     "doc_error_http_client_requests_total{{method=\"GET\",peer=\"geo\",status=\"{ERROR_STATUS}\"}} 0"
/// );
/// assert!(text.lines().any(|l| l == line), "{text}");
/// # Ok::<(), instrument_metric::http_client::HttpClientError>(())
/// ```
pub const ERROR_STATUS: &str = "error";

/// The values of `kind` in `http_client_errors_total`, from reqwest's error predicates, tried
/// in this order:
///
/// - `timeout`: a timeout of reqwest (`is_timeout`, the client's `timeout`, `connect_timeout` or
///   `read_timeout`), before the head or while the body is read;
/// - `connect`: the connection could not be made (`is_connect`: refused, unreachable, DNS, TLS);
/// - `redirect`: the redirect policy stopped the call (`is_redirect`);
/// - `body`: the request body could not be sent, or the response body could not be read
///   (`is_body`, `is_decode`, and any error while the response body is read);
/// - `request`: the request failed once sent, the connection closed before an answer
///   (`is_request`, `is_builder`);
/// - `cancelled`: the call was dropped before its head came (not a reqwest error);
/// - `other`: any other error, and an error of another middleware placed after this one.
///
/// ```
/// assert_eq!(instrument_metric::http_client::ERROR_KINDS[0], "timeout");
/// ```
pub const ERROR_KINDS: [&str; 7] = [
    "timeout",
    "connect",
    "redirect",
    "body",
    "request",
    "cancelled",
    "other",
];

/// An index into [`ERROR_KINDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    Timeout = 0,
    Connect = 1,
    Redirect = 2,
    Body = 3,
    Request = 4,
    Cancelled = 5,
    Other = 6,
}
