//! Native histograms and exemplars against the real server, Debian's Prometheus 2.42 (or the
//! pinned 3.x with `TEST_PROMETHEUS=3`), scraping this process's `/metrics` (on a listener of its
//! own, 127.0.0.1):
//!
//! - with `--enable-feature=native-histograms` it asks for protobuf and stores the HTTP
//!   layer's and an instrumented function's histograms as native histograms: the query API
//!   answers `histogram` values, and each `histogram_quantile` estimate lies in the bucket that
//!   holds the exact quantile of the durations the test's own requests recorded (read exactly
//!   with `testing::capture_future`);
//! - with `--enable-feature=exemplar-storage` it scrapes OpenMetrics and keeps exemplars:
//!   `/api/v1/query_exemplars` answers the trace ids of the `tracing` spans (under
//!   `tracing-opentelemetry`) the test's requests were served in, and no other.

#![allow(clippy::float_cmp)] // counts are whole numbers, compared exactly

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use instrument_metric::axum::{Endpoint, HttpMetricsLayer, MetricsServer};
use instrument_metric::{instrument_metric, testing};
use integration_tests::XorShift;
use integration_tests::prometheus::{Prometheus, eventually, number};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use serde_json::Value;
use tower::ServiceExt;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// How long a test waits for Prometheus at most.
const PATIENCE: Duration = Duration::from_secs(45);

/// Waits `micros`, for the native histogram test.
#[instrument_metric(name = "native_wait", native_histogram)]
async fn wait_native(micros: u64) {
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Waits `micros`, for the exemplar test.
#[instrument_metric(name = "traced_wait")]
async fn wait_traced(micros: u64) -> Result<(), String> {
    tokio::time::sleep(Duration::from_micros(micros)).await;
    Ok(())
}

/// Checks an address, in a span of its own: `#[instrument_metric]` above `#[tracing::instrument]`
/// records the call inside the span.
#[instrument_metric(name = "address_check")]
#[tracing::instrument]
fn check_address(address: &str) -> bool {
    address.contains('@')
}

fn app() -> Router {
    Router::new()
        .route(
            "/native/{micros}",
            get(|Path(micros): Path<u64>| async move {
                wait_native(micros).await;
                "waited"
            }),
        )
        .route(
            "/traced/{micros}",
            get(|Path(micros): Path<u64>| async move {
                wait_traced(micros).await.map(|()| "waited")
            }),
        )
        .layer(HttpMetricsLayer::new().native_histograms())
}

/// `/metrics` on a listener and thread of its own, for every test of this binary.
fn endpoint() -> &'static MetricsServer {
    static SERVER: OnceLock<MetricsServer> = OnceLock::new();
    SERVER.get_or_init(|| Endpoint::new().spawn("127.0.0.1:0").unwrap())
}

async fn get_ok(app: &Router, path: &str) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
}

/// Waits, log-uniform from 1 ms to 40 ms.
fn waits(seed: u64, count: usize) -> Vec<u64> {
    let mut rng = XorShift(seed);
    (0..count)
        .map(|_| {
            #[allow(clippy::cast_precision_loss)] // 53 random bits, exact
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let micros = (1000.0 * 40f64.powf(unit)) as u64;
            micros
        })
        .collect()
}

/// The bucket of a native histogram the query API returned that holds `value`: (lower, upper).
fn bucket_holding(histogram: &Value, value: f64) -> (f64, f64) {
    histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| (number(&bucket[1]), number(&bucket[2])))
        .find(|(lower, upper)| *lower < value && value <= *upper)
        .unwrap_or_else(|| panic!("no bucket holds {value}: {histogram}"))
}

/// Checks that Prometheus stored `selector` as a native histogram of `durations`, and that
/// each quantile estimate lies in the bucket of the exact quantile.
fn stored_as_native(prometheus: &Prometheus, selector: &str, durations: &[Duration]) {
    #[allow(clippy::cast_precision_loss)]
    let mut seconds: Vec<f64> = durations
        .iter()
        .map(|duration| duration.as_nanos() as f64 / 1e9)
        .collect();
    seconds.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let count = seconds.len() as f64;
    let stored = eventually(
        &format!("{selector} with every observation"),
        PATIENCE,
        || {
            let result = prometheus.query(selector);
            let histogram = result.first()?.get("histogram")?.get(1)?.clone();
            (number(&histogram["count"]) == count).then_some(histogram)
        },
    );
    assert!(
        prometheus.query(selector)[0].get("value").is_none(),
        "a native histogram has no float value"
    );
    let sum: f64 = seconds.iter().sum();
    assert!(
        (number(&stored["sum"]) - sum).abs() <= 1e-9 * sum,
        "{stored}"
    );
    for q in [0.1, 0.5, 0.9, 0.99] {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = (q * count).ceil() as usize;
        let exact = seconds[rank - 1];
        let (lower, upper) = bucket_holding(&stored, exact);
        let estimate = prometheus.value(&format!("histogram_quantile({q}, {selector})"));
        // The server computes the bound it interpolates to in its own float steps: it may
        // land an ulp or so past the bound computed here.
        let slack = upper * 1e-12;
        assert!(
            lower - slack <= estimate && estimate <= upper + slack,
            "{selector} q{q}: estimate {estimate}, exact {exact} in ({lower}, {upper}]"
        );
        // Schema 3: a bucket is 2^(1/8) wide, the error bound of the estimate.
        assert!(upper / lower < 1.091, "({lower}, {upper}]");
    }
}

#[tokio::test]
async fn prometheus_stores_the_http_and_function_histograms_as_native_histograms() {
    let server = endpoint();
    let prometheus = Prometheus::start(
        "native-histograms",
        server.local_addr(),
        &["--enable-feature=native-histograms"],
    );
    let app = app();
    let waits = waits(0x5eed_0001, 120);
    let ((), captured) = testing::capture_future(async {
        for micros in &waits {
            get_ok(&app, &format!("/native/{micros}")).await;
        }
    })
    .await;
    let calls = captured.durations("wait_native");
    let requests: Vec<Duration> = captured
        .requests("/native/{micros}")
        .into_iter()
        .map(|(_, status, duration)| {
            assert_eq!(status, 200);
            duration
        })
        .collect();
    assert_eq!((calls.len(), requests.len()), (waits.len(), waits.len()));

    stored_as_native(
        &prometheus,
        "native_wait_duration_seconds{function=\"wait_native\"}",
        &calls,
    );
    stored_as_native(
        &prometheus,
        "http_request_duration_seconds{endpoint=\"/native/{micros}\",method=\"GET\"}",
        &requests,
    );
    // Prometheus asked for protobuf, and the counters came through it too.
    assert_eq!(
        prometheus.value("sum(native_wait_total{function=\"wait_native\"})"),
        120.0,
        "{}",
        prometheus.log()
    );
}

#[cfg(feature = "exemplars")]
/// Installs a `tracing` subscriber whose spans are OpenTelemetry spans (an SDK tracer that
/// exports nowhere: the trace ids are what the test needs).
fn tracing_to_opentelemetry() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("prometheus_native_exemplars");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

#[tokio::test]
#[cfg(feature = "exemplars")]
async fn prometheus_keeps_exemplars_with_the_trace_ids_of_the_requests() {
    tracing_to_opentelemetry();
    let server = endpoint();
    let prometheus = Prometheus::start(
        "exemplar-storage",
        server.local_addr(),
        &["--enable-feature=exemplar-storage"],
    );
    let app = app();
    let mut rng = XorShift(0x7ace_0001);
    let mut issued = BTreeSet::new();
    let query = |promql: &str| -> BTreeSet<String> {
        prometheus
            .exemplars(promql)
            .iter()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .map(|exemplar| exemplar["labels"]["trace_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let selectors = [
        "traced_wait_duration_seconds_bucket{function=\"wait_traced\"}",
        "traced_wait_total{function=\"wait_traced\"}",
        "http_request_duration_seconds_bucket{endpoint=\"/traced/{micros}\"}",
        "http_requests_total{endpoint=\"/traced/{micros}\"}",
    ];
    for _ in 0..60 {
        // A request served in a span whose parent came from a `traceparent` the test made up.
        let trace_id = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
        let parent = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(trace_id),
            SpanId::from(rng.next_u64() | 1),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        let span = tracing::info_span!("request");
        span.set_parent(parent).unwrap();
        issued.insert(format!("{trace_id:032x}"));
        let micros = 1000 + rng.next_u64() % 4000;
        get_ok(&app, &format!("/traced/{micros}"))
            .instrument(span)
            .await;
    }
    // Each scrape from now on sees the last request's exemplar of each bucket and counter.
    for selector in selectors {
        let found = eventually(&format!("exemplars of {selector}"), PATIENCE, || {
            Some(query(selector)).filter(|found| !found.is_empty())
        });
        let unknown: Vec<&String> = found.difference(&issued).collect();
        assert!(
            unknown.is_empty(),
            "{selector}: trace ids no request had: {unknown:?}\n{}",
            prometheus.log()
        );
    }
}

#[test]
#[cfg(feature = "exemplars")]
fn a_function_in_its_own_tracing_span_has_the_spans_trace() {
    tracing_to_opentelemetry();
    assert!(check_address("a@b"));
    let openmetrics = instrument_metric::render_as(instrument_metric::Format::OpenMetrics);
    let line = openmetrics
        .lines()
        .find(|line| line.starts_with("address_check_total{") && line.contains("result=\"ok\""))
        .unwrap();
    let (_, exemplar) = line
        .split_once(" # {trace_id=\"")
        .unwrap_or_else(|| panic!("no exemplar: {line}"));
    let trace_id = &exemplar[..32];
    assert!(trace_id.bytes().all(|b| b.is_ascii_hexdigit()) && trace_id != "0".repeat(32));
}
