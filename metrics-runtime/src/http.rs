//! A tower layer recording every HTTP request an axum application serves.
//!
//! `endpoint` is axum's matched route template (`/users/{id}`), never the raw path; a request
//! that matches no route is labelled `unmatched`, and a method outside the standard set is
//! `other`. The label values are therefore bounded by the application's own routes: no
//! client, however hostile, can create series.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use ::axum::extract::MatchedPath;
use ::axum::http::{Method, Request, Response};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

/// `endpoint` of a request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";
/// `status` of a request whose response was never produced (the client went away first).
pub const CLIENT_CLOSED_STATUS: &str = "499";

struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGaugeVec,
}

static METRICS: LazyLock<HttpMetrics> = LazyLock::new(|| {
    // Constant names, help texts and labels that the registry accepts: creation cannot fail.
    let requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "HTTP requests served, by method, route and status.",
        ),
        &["method", "endpoint", "status"],
    )
    .expect("valid constant metric");
    let duration = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time from receiving an HTTP request to sending its response headers, in seconds.",
        ),
        &["method", "endpoint"],
    )
    .expect("valid constant metric");
    let in_flight = IntGaugeVec::new(
        Opts::new("http_requests_in_flight", "HTTP requests being served."),
        &["method", "endpoint"],
    )
    .expect("valid constant metric");
    let registry = crate::registry();
    // Already registered only if a user registered these names by hand; theirs stay.
    let _ = registry.register(Box::new(requests.clone()));
    let _ = registry.register(Box::new(duration.clone()));
    let _ = registry.register(Box::new(in_flight.clone()));
    HttpMetrics {
        requests,
        duration,
        in_flight,
    }
});

/// The `method` label: the standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
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
    _private: (),
}

impl HttpMetricsLayer {
    /// The layer; the same as `HttpMetricsLayer::default()`.
    #[must_use]
    pub fn new() -> Self {
        HttpMetricsLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService { inner }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Clone, Debug)]
pub struct HttpMetricsService<S> {
    inner: S,
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
        let method = method_label(request.method());
        let endpoint = request.extensions().get::<MatchedPath>().cloned();
        let record = Record::start(method, endpoint);
        ResponseFuture {
            inner: self.inner.call(request),
            record: Some(record),
        }
    }
}

/// One request being recorded; records a client-closed request if dropped before the
/// response.
struct Record {
    method: &'static str,
    /// The matched route (an `Arc<str>` inside), `None` for a request that matched none.
    endpoint: Option<MatchedPath>,
    started: Instant,
}

impl Record {
    fn start(method: &'static str, endpoint: Option<MatchedPath>) -> Record {
        let record = Record {
            method,
            endpoint,
            started: Instant::now(),
        };
        METRICS
            .in_flight
            .with_label_values(&[method, record.endpoint()])
            .inc();
        record
    }

    fn endpoint(&self) -> &str {
        self.endpoint
            .as_ref()
            .map_or(UNMATCHED_ENDPOINT, MatchedPath::as_str)
    }

    fn finish(self, status: &str) {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(status);
    }

    fn observe(&self, status: &str) {
        let labels = [self.method, self.endpoint()];
        METRICS.in_flight.with_label_values(&labels).dec();
        METRICS
            .duration
            .with_label_values(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        METRICS
            .requests
            .with_label_values(&[self.method, self.endpoint(), status])
            .inc();
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.observe(CLIENT_CLOSED_STATUS);
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
                Ok(response) => record.finish(status_label(response.status().as_u16())),
                // axum's services are infallible; another stack's error has no status.
                Err(_) => record.finish("500"),
            }
        }
        Poll::Ready(output)
    }
}

/// The status code as a label value, from a fixed table so that no formatting happens per
/// request.
fn status_label(code: u16) -> &'static str {
    static LABELS: LazyLock<Vec<String>> =
        LazyLock::new(|| (0..1000).map(|code| code.to_string()).collect());
    LABELS
        .get(usize::from(code))
        .map_or("other", String::as_str)
}
