//! `axum::TraceContextLayer` continues the caller's W3C trace: a request carrying a valid
//! `traceparent` leaves the caller's trace id on the exemplars of the HTTP layer's families and
//! of the instrumented function the handler calls, as the reference OpenMetrics parser reads
//! them; a request with a malformed one is served as usual, in the context that was current,
//! and its exemplars carry no id from the header; a `tracing` span opened inside the layer
//! (under `tracing-opentelemetry`) is a child of the caller's span. The headers are read as
//! OpenTelemetry's SDK propagator reads them, but where the W3C specification is stricter.

#![cfg(feature = "exemplars")]

use std::collections::BTreeMap;
use std::sync::Once;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::routing::get;
use instrument_metric::axum::{HttpMetricsLayer, TraceContextLayer};
use instrument_metric::{Format, instrument_metric};
use integration_tests::{ExemplarSample, python_parse_exemplars};
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use tower::ServiceExt as _;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

/// Tracks a parcel.
#[instrument_metric(name = "parcel_track")]
async fn track() -> &'static str {
    "in transit"
}

/// Books a return.
#[instrument_metric(name = "return_book")]
async fn book() -> &'static str {
    "booked"
}

/// Books a return in a context of the test's own.
#[instrument_metric(name = "return_rebook")]
async fn rebook() -> &'static str {
    "booked"
}

/// Refunds an order.
#[instrument_metric(name = "order_refund")]
async fn refund() -> &'static str {
    "refunded"
}

/// Opens the request's `tracing` span, as a service that traces its requests does.
async fn in_a_span(request: Request, next: Next) -> axum::response::Response {
    let span = tracing::info_span!("request", path = %request.uri().path());
    next.run(request).instrument(span).await
}

fn app() -> Router {
    Router::new()
        .route("/parcels/{id}", get(track))
        .route("/returns/{id}", get(book))
        .route("/rebook/{id}", get(rebook))
        .route(
            "/refunds/{id}",
            get(refund).layer(axum::middleware::from_fn(in_a_span)),
        )
        .layer(HttpMetricsLayer::new())
        .layer(TraceContextLayer::new())
}

async fn get_with(app: &Router, path: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

/// Every sample of the global registry's OpenMetrics exposition, with its exemplar, as the
/// reference parser reads them.
fn samples() -> Vec<ExemplarSample> {
    python_parse_exemplars(&instrument_metric::render_as(Format::OpenMetrics)).unwrap()
}

/// The exemplar labels of the samples `name` whose labels include `wanted` (one entry per
/// sample that has an exemplar).
fn exemplars(
    samples: &[ExemplarSample],
    name: &str,
    wanted: &[(&str, &str)],
) -> Vec<BTreeMap<String, String>> {
    let matching: Vec<_> = samples
        .iter()
        .filter(|(sample, labels, _, _)| {
            sample == name
                && wanted
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(!matching.is_empty(), "no sample {name} {wanted:?}");
    matching
        .into_iter()
        .filter_map(|(_, _, _, exemplar)| exemplar.as_ref().map(|(labels, _)| labels.clone()))
        .collect()
}

fn ids(trace_id: &str, span_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("trace_id".to_owned(), trace_id.to_owned()),
        ("span_id".to_owned(), span_id.to_owned()),
    ])
}

#[tokio::test]
async fn the_callers_trace_id_is_on_the_exemplars_of_the_request_and_its_calls() {
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let status = get_with(
        &app(),
        "/parcels/7",
        &[
            ("traceparent", &traceparent),
            ("tracestate", "congo=t61rcWkgMzE"),
        ],
    )
    .await;
    assert_eq!(status, 200);

    let samples = samples();
    let caller = ids(CALLER_TRACE, CALLER_SPAN);
    let call = [("function", "track"), ("result", "ok")];
    assert_eq!(
        exemplars(&samples, "parcel_track_total", &call),
        vec![caller.clone()]
    );
    assert_eq!(
        exemplars(
            &samples,
            "parcel_track_duration_seconds_bucket",
            &[("function", "track")]
        ),
        vec![caller.clone()],
        "one bucket holds the call, and its exemplar"
    );
    let request = [("endpoint", "/parcels/{id}"), ("method", "GET")];
    assert_eq!(
        exemplars(&samples, "http_requests_total", &request),
        vec![caller.clone()]
    );
    assert_eq!(
        exemplars(&samples, "http_request_duration_seconds_bucket", &request),
        vec![caller]
    );
}

#[tokio::test]
async fn a_malformed_traceparent_leaves_the_current_context_as_it_was() {
    let zeros = "0".repeat(32);
    let malformed = [
        "garbage".to_owned(),
        format!("00-{}-{CALLER_SPAN}-01", CALLER_TRACE.to_uppercase()),
        format!("00-{zeros}-{CALLER_SPAN}-01"),
        format!("00-{CALLER_TRACE}-0000000000000000-01"),
        format!("ff-{CALLER_TRACE}-{CALLER_SPAN}-01"),
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}"),
        format!("00-{}-{CALLER_SPAN}-01", &CALLER_TRACE[1..]),
        format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01-extra"),
    ];
    // No context current: served as usual, no exemplar at all.
    let app = app();
    for traceparent in &malformed {
        let status = get_with(&app, "/returns/1", &[("traceparent", traceparent)]).await;
        assert_eq!(status, 200, "{traceparent}");
    }
    // The test's own span current: its trace, not anything from the header.
    let own = (
        0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128,
        0x00f0_67aa_0ba9_02b7_u64,
    );
    let context = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(own.0),
        SpanId::from(own.1),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    for traceparent in &malformed {
        let status = get_with(&app, "/rebook/1", &[("traceparent", traceparent)])
            .with_context(context.clone())
            .await;
        assert_eq!(status, 200, "{traceparent}");
    }

    let samples = samples();
    let request = [("endpoint", "/returns/{id}"), ("method", "GET")];
    assert!(exemplars(&samples, "return_book_total", &[]).is_empty());
    assert!(exemplars(&samples, "return_book_duration_seconds_bucket", &[]).is_empty());
    assert!(exemplars(&samples, "http_requests_total", &request).is_empty());
    assert!(exemplars(&samples, "http_request_duration_seconds_bucket", &request).is_empty());

    let own = ids(&format!("{:032x}", own.0), &format!("{:016x}", own.1));
    let request = [("endpoint", "/rebook/{id}"), ("method", "GET")];
    assert_eq!(
        exemplars(&samples, "return_rebook_total", &[]),
        vec![own.clone()]
    );
    assert_eq!(
        exemplars(&samples, "http_requests_total", &request),
        vec![own]
    );
}

#[tokio::test]
async fn a_tracing_span_opened_inside_is_a_child_of_the_callers_span() {
    static SUBSCRIBER: Once = Once::new();
    SUBSCRIBER.call_once(|| {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("trace_context")));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let status = get_with(&app(), "/refunds/3", &[("traceparent", &traceparent)]).await;
    assert_eq!(status, 200);

    let samples = samples();
    let found = exemplars(&samples, "order_refund_total", &[("result", "ok")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["trace_id"], CALLER_TRACE, "the caller's trace");
    assert_ne!(found[0]["span_id"], CALLER_SPAN, "a span of its own");
    assert_ne!(found[0]["span_id"], "0".repeat(16));
}

/// The span context of `context`, as `trace-span-flags;state` (`none` without one).
fn written(context: &opentelemetry::Context) -> String {
    let span = context.span();
    let found = span.span_context();
    if found.is_valid() {
        format!(
            "{}-{}-{:02x};{}",
            found.trace_id(),
            found.span_id(),
            found.trace_flags().to_u8(),
            found.trace_state().header()
        )
    } else {
        "none".to_owned()
    }
}

/// The span context current in the handler, [`written`].
async fn current_span() -> String {
    written(&opentelemetry::Context::current())
}

/// What OpenTelemetry's SDK propagator extracts from the same headers, [`written`].
fn sdk_extracts(headers: &[(&str, &str)]) -> String {
    let map: std::collections::HashMap<String, String> = headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    written(&opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&map))
}

#[tokio::test]
async fn the_headers_are_read_as_the_sdk_propagator_reads_them_where_the_specification_agrees() {
    let app = Router::new()
        .route("/whoami", get(current_span))
        .layer(TraceContextLayer::new());
    let whoami = async |headers: &[(&str, &str)]| {
        let mut request = Request::get("/whoami");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };
    let (trace, span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    // The SDK's own cases, valid and invalid, and a few more.
    let same = [
        format!("00-{trace}-{span}-00"),
        format!("00-{trace}-{span}-01"),
        format!("00-{trace}-{span}-03"),
        format!("00-{trace}-{span}-09"),
        format!("02-{trace}-{span}-01"),
        format!("02-{trace}-{span}-08"),
        format!("02-{trace}-{span}-09-XYZxsf09"),
        format!(" 00-{trace}-{span}-01 "),
        "0000-00000000000000000000000000000000-0000000000000000-01".to_owned(),
        "00-ab00000000000000000000000000000000-cd00000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-cd0000000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-cd00000000000000-0100".to_owned(),
        "qw-00000000000000000000000000000000-0000000000000000-01".to_owned(),
        "00-qw000000000000000000000000000000-cd00000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-qw00000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-cd00000000000000-qw".to_owned(),
        "A0-00000000000000000000000000000000-0000000000000000-01".to_owned(),
        "00-AB000000000000000000000000000000-cd00000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-CD00000000000000-01".to_owned(),
        "00-ab000000000000000000000000000000-cd00000000000000-A1".to_owned(),
        "00-00000000000000000000000000000000-0000000000000000-01".to_owned(),
        format!("00-{trace}-{span}"),
        format!("00-{trace}-{span}-"),
        format!("ff-{trace}-{span}-01"),
        format!("01-{trace}-{span}-01x"),
        "garbage".to_owned(),
    ];
    for traceparent in &same {
        for tracestate in ["congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "not a list"] {
            let headers = [
                ("traceparent", traceparent.as_str()),
                ("tracestate", tracestate),
            ];
            assert_eq!(
                whoami(&headers).await,
                sdk_extracts(&headers),
                "{traceparent:?} {tracestate:?}"
            );
        }
    }
    assert_eq!(whoami(&[]).await, "none");
    assert_eq!(
        whoami(&[("traceparent", &format!("00-{trace}-{span}-01"))]).await,
        format!("{trace}-{span}-01;")
    );

    // Where the SDK is laxer than the specification: version 00 has exactly four fields and
    // every field all its digits.
    for traceparent in [
        format!("00-{trace}-{span}-01-"),
        format!("00-{}-{span}-01", &trace[1..]),
        format!("00-{trace}-{}-01", &span[1..]),
        format!("00-{trace}-{span}-1"),
    ] {
        let headers = [("traceparent", traceparent.as_str())];
        assert_ne!(sdk_extracts(&headers), "none", "{traceparent:?}");
        assert_eq!(whoami(&headers).await, "none", "{traceparent:?}");
    }
}

/// Ships a parcel.
#[instrument_metric(name = "parcel_ship")]
fn ship() -> &'static str {
    "shipped"
}

#[derive(instrument_metric::Metrics)]
#[metrics(prefix = "depot")]
struct Depot {
    /// Parcels loaded.
    loaded_total: instrument_metric::IntCounter,
    /// Time to load a parcel.
    load_duration_seconds: instrument_metric::Histogram,
}

/// The exemplar timestamps (seconds) of the OpenMetrics samples `name` in `text`.
fn exemplar_times(text: &str, name: &str) -> Vec<f64> {
    text.lines()
        .filter(|line| line.starts_with(name) && line.contains(" # {"))
        .map(|line| {
            let time = line.rsplit(' ').next().unwrap();
            time.parse().unwrap()
        })
        .collect()
}

/// Exemplars take their time from the calibrated clock the call reads (a field observation:
/// one time-stamp read), not from the system clock: the time written is the system clock's
/// at the observation, within a millisecond. (`storage::clock`'s unit tests move the clocks
/// by hand: a clock set forward or back, drift, taking the anchor again.)
#[test]
fn an_exemplar_has_the_wall_clock_time_of_its_observation() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let seconds = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let span = SpanContext::new(
        TraceId::from_hex(CALLER_TRACE).unwrap(),
        SpanId::from_hex(CALLER_SPAN).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let depot = Depot::global();
    let before = seconds();
    {
        let _entered = opentelemetry::Context::new()
            .with_remote_span_context(span)
            .attach();
        ship();
        depot.loaded_total.inc();
        depot.load_duration_seconds.observe(0.25);
    }
    let after = seconds();
    let text = instrument_metric::render_as(Format::OpenMetrics);
    let mut times = exemplar_times(&text, "parcel_ship_total{");
    times.extend(exemplar_times(
        &text,
        "parcel_ship_duration_seconds_bucket{",
    ));
    times.extend(exemplar_times(&text, "depot_loaded_total "));
    times.extend(exemplar_times(&text, "depot_load_duration_seconds_bucket{"));
    assert_eq!(times.len(), 4, "{text}");
    for time in times {
        assert!(
            time >= before - 0.001 && time <= after + 0.001,
            "{time} outside [{before}, {after}] by more than 1 ms"
        );
    }
}
