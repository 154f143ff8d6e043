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
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
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

/// `router` with each request served in a span of its own (outside the HTTP metrics layer, so
/// that the layer records inside it).
pub fn traced(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(in_a_span))
}

/// The headers of a request, for the propagator.
struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

async fn in_a_span(request: Request, next: Next) -> Response {
    let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", method = %request.method(), route = %route);
    // Without a subscriber (tests of the router alone) the span is disabled: nothing to join.
    let _ = span.set_parent(parent);
    next.run(request).instrument(span).await
}
