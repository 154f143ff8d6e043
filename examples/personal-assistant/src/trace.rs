//! Tracing of requests: each request is served in a `tracing` span whose OpenTelemetry context
//! continues the caller's W3C `traceparent` (or starts a trace), so that the exemplars of the
//! HTTP layer and of the instrumented functions carry the request's trace id: a latency spike on
//! the dashboard leads to the trace of a slow request.
//!
//! The tracer keeps its spans in process (no exporter is configured here); a deployment adds one
//! (`opentelemetry-otlp`, to Tempo or Jaeger) to [`install`]'s provider.

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use instrument_metric::axum::TraceContextLayer;
use opentelemetry::trace::TracerProvider as _;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Installs the process' `tracing` subscriber: spans become OpenTelemetry spans (an SDK tracer
/// with random trace and span ids), whose context is current while a span is entered.
///
/// # Errors
///
/// When a subscriber is already installed.
pub fn install() -> anyhow::Result<()> {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("personal-assistant");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|error| anyhow::anyhow!("cannot install the tracing subscriber: {error}"))
}

/// `router` with each request served in a span of its own, a child of the caller's span when
/// the request carries a W3C `traceparent` (the library's [`TraceContextLayer`], outermost),
/// outside the HTTP metrics layer, so that the layer records inside it.
pub fn traced(router: Router) -> Router {
    router
        .layer(axum::middleware::from_fn(in_a_span))
        .layer(TraceContextLayer::new())
}

async fn in_a_span(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    // Its parent is the current OpenTelemetry context: the caller's span, or none (a new trace).
    let span = tracing::info_span!("request", method = %request.method(), route = %route);
    next.run(request).instrument(span).await
}
