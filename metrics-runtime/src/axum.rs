//! Serving `/metrics` from an [`axum`] application, and the HTTP metrics layer.

use std::io::Write as _;
use std::sync::Arc;

use ::axum::Router;
use ::axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
};
use ::axum::http::{HeaderMap, HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;

use crate::encode::{Format, accepts, render_as};
pub use crate::http::{
    CLIENT_CLOSED_STATUS, HttpMetricsLayer, HttpMetricsService, ResponseFuture, UNMATCHED_ENDPOINT,
};

/// A router serving `GET /metrics` with the default [`Endpoint`]; merge it into your app.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .merge(metrics_runtime::axum::router());
/// ```
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Endpoint::new().router()
}

/// The `GET /metrics` handler with the default [`Endpoint`], for mounting at another path.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new().route("/internal/metrics", get(metrics_runtime::axum::metrics));
/// ```
#[allow(clippy::unused_async)] // axum handlers are async functions
pub async fn metrics(headers: HeaderMap) -> Response {
    Endpoint::new().respond(&headers)
}

/// How `/metrics` answers: content negotiation (Prometheus text by default, OpenMetrics when
/// the scraper's `Accept` asks for it), gzip when `Accept-Encoding` allows it, and an optional
/// bearer token.
///
/// ```
/// use axum::Router;
/// use metrics_runtime::axum::Endpoint;
///
/// // Protect /metrics; give Prometheus the token with `authorization: { credentials: ... }`.
/// let app: Router = Endpoint::new().bearer_token("s3cret").router();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    token: Option<Arc<str>>,
}

impl Endpoint {
    /// An endpoint without a token.
    #[must_use]
    pub fn new() -> Self {
        Endpoint::default()
    }

    /// Requires `Authorization: Bearer <token>`; any other request gets `401` and no metrics.
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into().into());
        self
    }

    /// A router serving `GET /metrics`.
    pub fn router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new().route(
            "/metrics",
            get(move |headers: HeaderMap| async move { self.respond(&headers) }),
        )
    }

    /// Serves `GET /metrics` alone on its own listener, until the returned future is dropped
    /// or fails. Bind it to loopback (`127.0.0.1:9100`) unless Prometheus scrapes from another
    /// host, and set a token when it does.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound, or the server fails.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// metrics_runtime::axum::Endpoint::new().serve("127.0.0.1:9100").await
    /// # }
    /// ```
    pub async fn serve(self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        ::axum::serve(listener, self.router::<()>()).await
    }

    /// Serves `GET /metrics` alone on its own listener, from a thread of its own with its own
    /// single-threaded runtime, until [`MetricsServer::shutdown`]; dropping the handle leaves
    /// it running.
    ///
    /// Scrapes then never wait behind the application's tasks: a service whose runtime is
    /// stuck (every worker blocked by a task that does not yield) still answers Prometheus.
    /// It does not make scrapes faster when the cores themselves are saturated: the thread
    /// then competes with the runtime's workers for a core (PERFORMANCE.md, target 6).
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound, or the thread or its runtime cannot be started.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let server = metrics_runtime::axum::Endpoint::new().spawn("127.0.0.1:0")?;
    /// println!("scrape http://{}/metrics", server.local_addr());
    /// server.shutdown()
    /// # }
    /// ```
    pub fn spawn(self, addr: impl std::net::ToSocketAddrs) -> std::io::Result<MetricsServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("metrics-endpoint".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    ::axum::serve(listener, self.router::<()>())
                        .with_graceful_shutdown(async move { stopped.notified().await })
                        .await
                })
            })?;
        Ok(MetricsServer { addr, stop, thread })
    }

    /// The response to a scrape with `headers`.
    #[must_use]
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        if let Some(token) = &self.token
            && !authorized(headers, token)
        {
            let challenge = [(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))];
            return (StatusCode::UNAUTHORIZED, challenge).into_response();
        }
        let format = headers
            .get(ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .map_or(Format::Text, Format::from_accept);
        let body = render_as(format);
        let content_type = [(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )];
        let vary = [(VARY, HeaderValue::from_static("Accept, Accept-Encoding"))];
        if accepts_gzip(headers)
            && let Some(compressed) = gzip(body.as_bytes())
        {
            let encoding = [(CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
            return (content_type, vary, encoding, compressed).into_response();
        }
        (content_type, vary, body).into_response()
    }
}

/// The `/metrics` listener started by [`Endpoint::spawn`], on its own thread.
#[derive(Debug)]
pub struct MetricsServer {
    addr: std::net::SocketAddr,
    stop: Arc<tokio::sync::Notify>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl MetricsServer {
    /// The address it listens on (with the port the system chose for port 0).
    #[must_use]
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets the scrapes in progress finish, and waits for the
    /// thread.
    ///
    /// # Errors
    ///
    /// The error that stopped the server, if it failed before.
    ///
    /// # Panics
    ///
    /// If the server's thread panicked.
    pub fn shutdown(self) -> std::io::Result<()> {
        // A stored permit: the server stops even if it has not started waiting yet.
        self.stop.notify_one();
        self.thread
            .join()
            .expect("the metrics endpoint thread panicked")
    }
}

/// Whether `headers` carry the bearer token, compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|given| bool::from(given.ct_eq(token.as_bytes())))
}

/// Whether `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|list| {
            accepts(list, |coding| {
                coding.eq_ignore_ascii_case("gzip") || coding == "*"
            })
        })
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}
