//! Continuing the caller's trace: a tower layer that reads a request's W3C Trace Context
//! headers (`traceparent`, `tracestate`) and makes the caller's span the current OpenTelemetry
//! context, as a remote parent, while the request is served, so that the exemplars recorded
//! for it carry the caller's trace id.
//!
//! The headers are read as [W3C Trace Context] level 1 defines them, through OpenTelemetry's
//! own types ([`TraceId`], [`SpanId`], [`TraceFlags`], [`TraceState`]): the runtime depends on
//! the OpenTelemetry API only, never on an SDK, as a library should.
//!
//! [W3C Trace Context]: https://www.w3.org/TR/trace-context/

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr as _;
use std::task::{Context, Poll};

use ::axum::http::{HeaderMap, Request};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};

/// Continues the trace of the caller: each request that carries a valid W3C `traceparent`
/// header (and `tracestate`, kept when valid) is served with the caller's span as the current
/// OpenTelemetry context, a remote parent. Everything recorded while it is served has that
/// trace id on its exemplars (feature `exemplars`): the [`HttpMetricsLayer`]'s request
/// histogram and counter, and every `#[instrument_metric]` call the handler makes. A
/// `tracing` span opened inside it, under `tracing-opentelemetry`, is a child of the caller's
/// span.
///
/// A request without `traceparent`, or with one that does not follow the specification
/// (another length, upper-case hex, an all-zero id, version `ff`, the header twice), is served
/// in the context that was current, untouched: its observations carry no trace id, or the one
/// of a span of your own (a `tracing` span opened inside this layer starts a new trace). An
/// invalid `tracestate` is dropped and the `traceparent` kept, as the specification asks.
///
/// A request the client abandons before its response (counted with status
/// [`CLIENT_CLOSED_STATUS`](crate::axum::CLIENT_CLOSED_STATUS) by the HTTP
/// layer when its future is dropped) is recorded outside the caller's context: its exemplar,
/// if any, is not the caller's.
///
/// Put it **outside** the [`HttpMetricsLayer`] (and outside any layer that opens the request's
/// `tracing` span, such as tower-http's `TraceLayer`): with axum, layers added later wrap the
/// earlier ones, so add it after them.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use instrument_metric::axum::{HttpMetricsLayer, TraceContextLayer};
/// use instrument_metric::{Format, instrument_metric};
/// use tower::ServiceExt as _;
///
/// /// Looks the weather up.
/// #[instrument_metric(name = "weather_lookup")]
/// async fn lookup() -> &'static str {
///     "sunny"
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app: Router = Router::new()
///     .route("/weather", get(lookup))
///     .layer(HttpMetricsLayer::new())
///     // Outside the HTTP layer: added after it.
///     .layer(TraceContextLayer::new());
///
/// let request = Request::get("/weather")
///     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
///     .body(Body::empty())
///     .unwrap();
/// app.oneshot(request).await.unwrap();
///
/// // weather_lookup_total{...,result="ok"} 1 # {trace_id="4bf92f35...",span_id="00f067aa..."} 1 ...
/// let text = instrument_metric::render_as(Format::OpenMetrics);
/// let counted = text.lines().find(|line| line.starts_with("weather_lookup_total{")).unwrap();
/// assert!(counted.contains(r#"trace_id="4bf92f3577b34da6a3ce929d0e0e4736""#));
/// # }
/// ```
///
/// [`HttpMetricsLayer`]: crate::axum::HttpMetricsLayer
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceContextLayer {
    _private: (),
}

impl TraceContextLayer {
    /// The layer; see [`TraceContextLayer`].
    ///
    /// ```
    /// use axum::Router;
    /// use instrument_metric::axum::TraceContextLayer;
    ///
    /// let app: Router = Router::new().layer(TraceContextLayer::new());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        TraceContextLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for TraceContextLayer {
    type Service = TraceContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContextService { inner }
    }
}

/// The service of [`TraceContextLayer`]: `inner`, each request served in its caller's trace.
///
/// ```
/// use axum::{Router, body::Body, http::Request};
/// use instrument_metric::axum::TraceContextLayer;
/// use tower::{Layer as _, ServiceExt as _};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = TraceContextLayer::new().layer(Router::new());
/// let response = service.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), 404);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TraceContextService<S> {
    inner: S,
}

impl<S, B> tower_service::Service<Request<B>> for TraceContextService<S>
where
    S: tower_service::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TraceContextFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(parent) = remote_parent(request.headers()) else {
            return TraceContextFuture {
                inner: self.inner.call(request),
                context: None,
            };
        };
        let context = opentelemetry::Context::current().with_remote_span_context(parent);
        // The inner service may record while it is called, before its future is polled.
        let inner = {
            let _current = context.clone().attach();
            self.inner.call(request)
        };
        TraceContextFuture {
            inner,
            context: Some(context),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`TraceContextService`]: the inner service's, polled with the
    /// caller's context current (when the request carried one).
    ///
    /// ```
    /// use axum::{Router, body::Body, http::Request};
    /// use instrument_metric::axum::{TraceContextFuture, TraceContextLayer};
    /// use tower::{Layer as _, Service as _};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut service = TraceContextLayer::new().layer(Router::new());
    /// let future: TraceContextFuture<_> = service.call(Request::get("/").body(Body::empty()).unwrap());
    /// assert_eq!(future.await.unwrap().status(), 404);
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct TraceContextFuture<F> {
        #[pin]
        inner: F,
        context: Option<opentelemetry::Context>,
    }
}

impl<F: Future> Future for TraceContextFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _current = this
            .context
            .as_ref()
            .map(|context| context.clone().attach());
        this.inner.poll(cx)
    }
}

/// The caller's span, from the request's `traceparent` and `tracestate` headers, if
/// `traceparent` is valid.
fn remote_parent(headers: &HeaderMap) -> Option<SpanContext> {
    let mut traceparents = headers.get_all("traceparent").iter();
    // Two `traceparent` headers: the specification has the request start a new trace.
    let (Some(traceparent), None) = (traceparents.next(), traceparents.next()) else {
        return None;
    };
    let (trace_id, span_id, flags) = parse_traceparent(traceparent.to_str().ok()?)?;
    // Several `tracestate` headers are one list, joined by commas (RFC 9110 5.3).
    let tracestate = headers
        .get_all("tracestate")
        .iter()
        .map(|value| value.to_str().ok())
        .collect::<Option<Vec<_>>>()
        .map(|parts| parts.join(","));
    let state = tracestate
        .and_then(|list| TraceState::from_str(&list).ok())
        .unwrap_or_default();
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}

/// `version "-" trace-id "-" parent-id "-" trace-flags`, each in lowercase hex of 2, 32, 16 and
/// 2 digits; a version above `00` may carry more fields after a `-`, which are ignored.
fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = value.trim_matches([' ', '\t']);
    let (head, rest) = (value.get(..55)?, &value[55..]);
    let mut fields = head.split('-');
    let (version, trace_id, span_id, flags) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let lower_hex = |field: &str, digits: usize| {
        field.len() == digits
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let known_length = rest.is_empty() || (version != "00" && rest.starts_with('-'));
    if !(lower_hex(version, 2)
        && version != "ff"
        && lower_hex(trace_id, 32)
        && lower_hex(span_id, 16)
        && lower_hex(flags, 2)
        && known_length)
    {
        return None;
    }
    let trace_id = TraceId::from_hex(trace_id).ok()?;
    let span_id = SpanId::from_hex(span_id).ok()?;
    // Only the `sampled` flag is defined; the others are ignored (W3C Trace Context 3.2.2.5).
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()?) & TraceFlags::SAMPLED;
    (trace_id != TraceId::INVALID && span_id != SpanId::INVALID)
        .then_some((trace_id, span_id, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    fn parent(pairs: &[(&'static str, &str)]) -> Option<SpanContext> {
        remote_parent(&headers(pairs))
    }

    #[test]
    fn a_valid_traceparent_is_the_remote_parent() {
        let found = parent(&[("traceparent", &format!("00-{TRACE}-{SPAN}-01"))]).unwrap();
        assert_eq!(found.trace_id(), TraceId::from_hex(TRACE).unwrap());
        assert_eq!(found.span_id(), SpanId::from_hex(SPAN).unwrap());
        assert!(found.is_sampled());
        assert!(found.is_remote());
        let unsampled = parent(&[("traceparent", &format!("00-{TRACE}-{SPAN}-00"))]).unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn unknown_flags_are_dropped_and_a_later_version_may_have_more_fields() {
        let found = parent(&[("traceparent", &format!("00-{TRACE}-{SPAN}-ff"))]).unwrap();
        assert_eq!(found.trace_flags(), TraceFlags::SAMPLED);
        assert!(parent(&[("traceparent", &format!("01-{TRACE}-{SPAN}-01-later"))]).is_some());
        assert!(parent(&[("traceparent", &format!("01-{TRACE}-{SPAN}-01"))]).is_some());
    }

    #[test]
    fn a_malformed_traceparent_is_no_parent() {
        let zeros = "0".repeat(32);
        for malformed in [
            String::new(),
            "garbage".to_owned(),
            format!("00-{TRACE}-{SPAN}"),
            format!("00-{TRACE}-{SPAN}-"),
            format!("00-{TRACE}-{SPAN}-01-"),
            format!("00-{TRACE}-{SPAN}-01-more"),
            format!("ff-{TRACE}-{SPAN}-01"),
            format!("0-{TRACE}-{SPAN}-01"),
            format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
            format!("00-{TRACE}-{}-01", SPAN.to_uppercase()),
            format!("00-{TRACE}-{SPAN}-0A"),
            format!("00-{}-{SPAN}-01", &TRACE[2..]),
            format!("00-{TRACE}0-{SPAN}-01"),
            format!("00-{zeros}-{SPAN}-01"),
            format!("00-{TRACE}-0000000000000000-01"),
            format!("00-{TRACE}-{SPAN}-0x"),
            format!("00+{TRACE}-{SPAN}-01"),
            format!("01-{TRACE}-{SPAN}-01x"),
        ] {
            assert_eq!(
                parent(&[("traceparent", &malformed)]),
                None,
                "{malformed:?}"
            );
        }
        let twice = format!("00-{TRACE}-{SPAN}-01");
        assert_eq!(
            parent(&[("traceparent", &twice), ("traceparent", &twice)]),
            None
        );
        assert_eq!(parent(&[]), None);
    }

    #[test]
    fn tracestate_is_kept_when_valid_joined_when_repeated_dropped_when_invalid() {
        let traceparent = format!("00-{TRACE}-{SPAN}-01");
        let state = |tracestate: &[&str]| {
            let mut pairs = vec![("traceparent", traceparent.as_str())];
            pairs.extend(tracestate.iter().map(|value| ("tracestate", *value)));
            parent(&pairs).unwrap().trace_state().header()
        };
        assert_eq!(state(&["congo=t61rcWkgMzE"]), "congo=t61rcWkgMzE");
        assert_eq!(
            state(&["rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE"]),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        assert_eq!(state(&["not a list entry"]), "");
    }
}
