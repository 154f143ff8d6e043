//! Serving `/metrics` from an [`axum`] application, the HTTP metrics layer and (feature
//! `exemplars`) the layer that continues the caller's trace.

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::Arc;

use ::axum::Router;
use ::axum::http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
};
use ::axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;

use crate::Registry;
use crate::exposition::negotiate::{Answer, accepts_gzip, negotiate};
pub use crate::integrations::http::{
    BODY_SIZE_BUCKETS, CLIENT_CLOSED_STATUS, HttpLayerError, HttpMetricsBuilder, HttpMetricsLayer,
    HttpMetricsService, ResponseFuture, UNMATCHED_ENDPOINT,
};
#[cfg(feature = "exemplars")]
pub use crate::integrations::trace_context::{
    TraceContextFuture, TraceContextLayer, TraceContextService,
};
use crate::registry::runner::Results;
use crate::render::Scrape;

/// A router serving `GET /metrics` with the default [`Endpoint`]; merge it into your app.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .merge(instrument_metric::axum::router());
/// ```
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Endpoint::new().router()
}

/// The `GET /metrics` handler with the default [`Endpoint`], for mounting at another path.
///
/// Like [`Endpoint::router`], it awaits the collectors without holding a thread, until the
/// scrape's deadline: the runtime it runs on needs its timer (`#[tokio::main]` has it).
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new().route("/internal/metrics", get(instrument_metric::axum::metrics));
/// ```
pub async fn metrics(headers: HeaderMap) -> Response {
    Endpoint::new().respond_off_runtime(headers).await
}

/// How `/metrics` answers: content negotiation (Prometheus text by default, OpenMetrics or,
/// with the `protobuf` feature, the protobuf exposition when the scraper's `Accept` asks for
/// it), gzip when `Accept-Encoding` allows it, and an optional
/// bearer token.
///
/// ```
/// use axum::Router;
/// use instrument_metric::axum::Endpoint;
///
/// // Protect /metrics; give Prometheus the token with `authorization: { credentials: ... }`.
/// let app: Router = Endpoint::new().bearer_token("s3cret")?.router();
/// # Ok::<(), instrument_metric::axum::TokenError>(())
/// ```
#[derive(Clone, Default)]
pub struct Endpoint {
    token: Option<Arc<str>>,
    /// The registry it serves; the global one when `None`.
    registry: Option<Registry>,
}

/// Never shows the token, so that logging the configuration does not leak it.
impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("registry", &self.registry)
            .finish()
    }
}

/// The header in which Prometheus says how long it waits for a scrape.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// How many expositions the endpoint writes at once; other scrapes wait for their turn
/// without a thread.
const CONCURRENT_WRITERS: usize = 4;

static WRITERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_WRITERS);

/// How long a scrape with `headers` waits for the collectors of `registry`: as its scraper
/// asks, within the registry's bounds ([`Registry::set_collect_timeout`]).
fn scrape_wait(headers: &HeaderMap, registry: &Registry) -> std::time::Duration {
    let asked = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok());
    registry.collect_wait(asked)
}

impl Endpoint {
    /// An endpoint of the global [`registry`](crate::registry), without a token.
    #[must_use]
    pub fn new() -> Self {
        Endpoint::default()
    }

    /// Serves `registry` instead of the global one.
    ///
    /// ```
    /// use instrument_metric::Registry;
    /// use instrument_metric::axum::Endpoint;
    ///
    /// let registry = Registry::new();
    /// registry.int_counter("jobs_total", "Jobs.").unwrap().inc();
    /// let response = Endpoint::new().registry(registry).respond(&Default::default());
    /// assert_eq!(response.status(), 200);
    /// ```
    #[must_use]
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Requires `Authorization: Bearer <token>` (the scheme in any case, one or more spaces
    /// before the token, compared in constant time); any other request gets `401` and no
    /// metrics.
    ///
    /// # Errors
    ///
    /// [`TokenError`] when `token` is empty, or has a character an `Authorization` header
    /// cannot carry as it is (a space, a control character, a non-ASCII character): such a
    /// token could never be sent, and every scrape would be refused.
    ///
    /// ```
    /// use instrument_metric::axum::{Endpoint, TokenError};
    ///
    /// assert!(Endpoint::new().bearer_token("s3cret").is_ok());
    /// assert_eq!(Endpoint::new().bearer_token("").unwrap_err(), TokenError::Empty);
    /// assert_eq!(
    ///     Endpoint::new().bearer_token("s3cret\n").unwrap_err(),
    ///     TokenError::InvalidCharacter('\n')
    /// );
    /// ```
    pub fn bearer_token(mut self, token: impl Into<String>) -> Result<Self, TokenError> {
        let token = token.into();
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if let Some(bad) = token.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(TokenError::InvalidCharacter(bad));
        }
        self.token = Some(token.into());
        Ok(self)
    }

    /// A router serving `GET /metrics`.
    ///
    /// A scrape waits for the registry's collectors until its deadline: the registry's
    /// [collect timeout](crate::Registry::set_collect_timeout), or less when the scraper's
    /// `X-Prometheus-Scrape-Timeout-Seconds` asks for less (never less than
    /// [`MIN_COLLECT_TIMEOUT`](crate::MIN_COLLECT_TIMEOUT)). It waits without holding a
    /// thread, and stops waiting when its client goes away; concurrent scrapes share one run
    /// of each collector. The runtime it runs on needs its timer (`#[tokio::main]` has it).
    pub fn router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new().route(
            "/metrics",
            get(move |headers: HeaderMap| {
                let endpoint = self.clone();
                async move { endpoint.respond_off_runtime(headers).await }
            }),
        )
    }

    /// [`Endpoint::respond`] without blocking the runtime and without a thread per waiting
    /// scrape: the collectors are awaited (until the scrape's deadline, or until the client
    /// goes away and the future is dropped), then the exposition is written on a blocking
    /// thread, by a few scrapes at a time.
    async fn respond_off_runtime(self, headers: HeaderMap) -> Response {
        if let Some(refused) = self.refusal(&headers) {
            return refused;
        }
        let registry = self
            .registry
            .clone()
            .unwrap_or_else(|| crate::registry().clone());
        let scrape = registry.start_scrape(scrape_wait(&headers, &registry));
        let collected = scrape.collect().await;
        // Bounds the threads that write expositions, however many scrapes end at once.
        let Ok(permit) = WRITERS.acquire().await else {
            unreachable!("the semaphore is never closed")
        };
        let render = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            Endpoint::answer(&headers, &registry, scrape, Some(collected))
        });
        render.await.unwrap_or_else(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, "the exposition failed").into_response()
        })
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
    /// instrument_metric::axum::Endpoint::new().serve("127.0.0.1:9100").await
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
    /// let server = instrument_metric::axum::Endpoint::new().spawn("127.0.0.1:0")?;
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
            .enable_time()
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

    /// The response to a scrape with `headers`. It blocks the calling thread while it waits
    /// for the collectors, up to the registry's
    /// [collect timeout](crate::Registry::set_collect_timeout) (less when the scraper's
    /// `X-Prometheus-Scrape-Timeout-Seconds` asks for less, never less than
    /// [`MIN_COLLECT_TIMEOUT`](crate::MIN_COLLECT_TIMEOUT)): call it from a thread that may
    /// block. [`Endpoint::router`] and [`metrics()`] wait without holding a thread.
    #[must_use]
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        if let Some(refused) = self.refusal(headers) {
            return refused;
        }
        let registry = self.registry.as_ref().unwrap_or(crate::registry());
        let scrape = registry.start_scrape(scrape_wait(headers, registry));
        Endpoint::answer(headers, registry, scrape, None)
    }

    /// The `401` answer to a scrape without the token, if one is required.
    fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let token = self.token.as_ref()?;
        if authorized(headers, token) {
            return None;
        }
        let challenge = [(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))];
        Some((StatusCode::UNAUTHORIZED, challenge).into_response())
    }

    /// The answer to `scrape`, in the format and encoding `headers` ask for, with the
    /// collectors' results `collected` (waited for here when `None`).
    fn answer(
        headers: &HeaderMap,
        registry: &Registry,
        scrape: Scrape,
        collected: Option<Results>,
    ) -> Response {
        let accept: Vec<&str> = header_values(headers, &ACCEPT).collect();
        let negotiated = negotiate(&accept);
        let body = match negotiated.format {
            Answer::Text(format) => registry
                .render_scrape(format, scrape, collected)
                .into_bytes(),
            #[cfg(feature = "protobuf")]
            Answer::Protobuf => match registry.encode_protobuf_scrape(scrape, collected) {
                Ok(body) => body,
                Err(error) => {
                    // A bug: an answer with a series missing would go unnoticed.
                    log::error!("the protobuf exposition failed: {error}");
                    let message = format!("the protobuf exposition failed: {error}\n");
                    return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
                }
            },
        };
        let content_type = match negotiated.content_type() {
            Cow::Borrowed(content_type) => HeaderValue::from_static(content_type),
            Cow::Owned(content_type) => HeaderValue::try_from(content_type)
                .unwrap_or_else(|_| HeaderValue::from_static(negotiated.format.content_type())),
        };
        let content_type = [(CONTENT_TYPE, content_type)];
        let vary = [(VARY, HeaderValue::from_static("Accept, Accept-Encoding"))];
        if accepts_gzip(header_values(headers, &ACCEPT_ENCODING))
            && let Some(compressed) = gzip(&body)
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

/// Why [`Endpoint::bearer_token`] refused a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The token is empty.
    Empty,
    /// The token has this character, which an `Authorization` header cannot carry as it is.
    InvalidCharacter(char),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Empty => f.write_str(
                "the bearer token of /metrics is empty; set a secret of visible ASCII characters, or no token at all",
            ),
            TokenError::InvalidCharacter(bad) => write!(
                f,
                "the bearer token of /metrics contains {bad:?}, which an `Authorization` header cannot carry; \
                 use visible ASCII characters only (letters, digits, `-._~+/=`, ...)"
            ),
        }
    }
}

impl std::error::Error for TokenError {}

/// Whether `headers` carry `Authorization: Bearer <token>` (RFC 6750: the scheme in any case,
/// then one or more spaces), the token compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    headers
        .get(AUTHORIZATION)
        .and_then(|value| {
            let value = value.as_bytes();
            let space = value.iter().position(|&b| b == b' ')?;
            let (scheme, rest) = value.split_at(space);
            scheme
                .eq_ignore_ascii_case(b"bearer")
                .then(|| rest.trim_ascii_start())
        })
        .is_some_and(|given| bool::from(given.ct_eq(token.as_bytes())))
}

/// The values of every `name` header, in order; those that are not visible ASCII are skipped.
fn header_values<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|value| value.to_str().ok())
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}
