//! The Prometheus 3 exposition of the global registry: the protobuf exposition for every kind of
//! family (native histograms where asked, classic buckets beside them, created timestamps),
//! exemplars from the current OpenTelemetry span in OpenMetrics and protobuf, and `_created`
//! samples in OpenMetrics. Expositions are decoded (protobuf) or parsed by the reference parser
//! (OpenMetrics), and compared number for number with what the test recorded.

#![allow(clippy::float_cmp)] // values are compared as written, bit for bit

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use instrument_metric::__private::native_histogram::NativeHistogram;
use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::native_histogram::NativeConfig;
use instrument_metric::proto::{Metric, MetricFamily, PROTOBUF_CONTENT_TYPE};
use instrument_metric::{
    DEFAULT_BUCKETS, Format, Histogram, IntCounter, Metrics, instrument_metric, testing,
};
use integration_tests::{Exposition, python_parse_exemplars};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use prost::Message;
use tower::ServiceExt;

#[derive(Metrics)]
#[metrics(prefix = "upload")]
struct UploadMetrics {
    /// Uploads stored.
    stored_total: IntCounter,
    /// Sizes of uploads.
    #[metric(native_histogram, buckets = [1024.0, 1048576.0])]
    size_bytes: Histogram,
    /// Time to scan an upload.
    scan_duration_seconds: Histogram,
}

#[derive(Metrics)]
#[metrics(prefix = "invoice")]
struct InvoiceMetrics {
    /// Invoice lines written.
    lines_total: IntCounter,
    /// Sizes of invoices.
    #[metric(native_histogram, buckets = [1000.0, 10000.0])]
    size_bytes: Histogram,
    /// Time to render an invoice.
    render_duration_seconds: Histogram,
}

/// Resizes an image: spins for `rounds`.
#[instrument_metric(name = "image_resize", native_histogram)]
fn resize(rounds: u32) -> Result<u64, String> {
    let mut x = 1u64;
    for round in 0..rounds {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005) ^ u64::from(round));
    }
    if rounds == 0 {
        Err("nothing to do".to_owned())
    } else {
        Ok(x)
    }
}

/// Crops an image.
#[instrument_metric(name = "image_crop")]
fn crop() {}

/// Sends an invoice.
#[instrument_metric(name = "invoice_send", native_histogram)]
fn send_invoice() {}

/// Rotates an image.
#[instrument_metric(name = "image_rotate")]
fn rotate() {}

/// Stores an upload.
#[instrument_metric(name = "upload_store")]
fn store_upload() {}

const MODULE: &str = "prometheus3_exposition";

const PROTOBUF_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3";

fn app() -> Router {
    Router::new()
        .route(
            "/upload",
            post(|| async {
                store_upload();
                "stored"
            }),
        )
        .merge(instrument_metric::axum::router())
        .layer(HttpMetricsLayer::new().native_histograms())
}

async fn send(app: &Router, method: &str, path: &str, accept: &str) -> (String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (content_type, body.to_vec())
}

/// Every family of a protobuf exposition, by name; none twice.
fn decode(mut bytes: &[u8]) -> BTreeMap<String, MetricFamily> {
    let mut families = BTreeMap::new();
    while !bytes.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut bytes).unwrap();
        let name = family.name().to_owned();
        assert!(
            families.insert(name.clone(), family).is_none(),
            "{name} twice"
        );
    }
    families
}

fn labels(metric: &Metric) -> BTreeMap<&str, &str> {
    metric
        .label
        .iter()
        .map(|pair| (pair.name(), pair.value()))
        .collect()
}

/// The series of `family` whose labels include `wanted`.
fn series<'a>(
    families: &'a BTreeMap<String, MetricFamily>,
    family: &str,
    wanted: &[(&str, &str)],
) -> &'a Metric {
    let found: Vec<&Metric> = families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"))
        .metric
        .iter()
        .filter(|metric| {
            let labels = labels(metric);
            wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{family} {wanted:?}");
    found[0]
}

fn time_of(timestamp: &instrument_metric::proto::Timestamp) -> SystemTime {
    UNIX_EPOCH
        + Duration::new(
            u64::try_from(timestamp.seconds).unwrap(),
            u32::try_from(timestamp.nanos).unwrap(),
        )
}

#[tokio::test]
async fn protobuf_has_every_family_native_where_asked_and_agrees_with_the_text() {
    let app = app();
    let uploads = UploadMetrics::global();
    let ((), calls) = testing::capture_future(async {
        for rounds in [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000] {
            let _ = resize(rounds);
        }
        crop();
        for _ in 0..3 {
            send(&app, "POST", "/upload", "*/*").await;
        }
    })
    .await;
    for size in [10.0, 2048.0, 5e6, 0.0] {
        uploads.size_bytes.observe(size);
    }
    uploads.scan_duration_seconds.observe(0.2);
    uploads.stored_total.inc_by(3);

    let (content_type, body) = send(&app, "GET", "/metrics", PROTOBUF_ACCEPT).await;
    assert_eq!(content_type, PROTOBUF_CONTENT_TYPE);
    let families = decode(&body);
    let text = Exposition::parse(&instrument_metric::render()).unwrap();
    let now = SystemTime::now();

    // The native function histogram: exactly the durations the calls recorded, in the native
    // buckets of the default schema and in the classic buckets beside them.
    let durations = calls.durations("resize");
    assert_eq!(durations.len(), 8);
    let replay = NativeHistogram::new(&NativeConfig::new(), DEFAULT_BUCKETS).unwrap();
    for duration in &durations {
        #[allow(clippy::cast_precision_loss)]
        replay.observe(duration.as_nanos() as f64 / 1e9);
    }
    let replay = replay.read();
    let resize = series(
        &families,
        "image_resize_duration_seconds",
        &[("function", "resize")],
    );
    let histogram = resize.histogram.as_ref().unwrap();
    assert_eq!(histogram.schema, Some(3));
    assert_eq!(histogram.sample_count(), 8);
    assert_eq!(histogram.sample_sum(), replay.sum);
    assert_eq!(histogram.zero_count(), replay.zero_count);
    let spans: Vec<(i32, u32)> = histogram
        .positive_span
        .iter()
        .map(|span| (span.offset(), span.length()))
        .collect();
    let replay_spans: Vec<(i32, u32)> = replay
        .positive_spans
        .iter()
        .map(|span| (span.offset, span.length))
        .collect();
    assert_eq!(spans, replay_spans);
    assert_eq!(histogram.positive_delta, replay.positive_deltas);
    let classic: Vec<(f64, u64)> = histogram
        .bucket
        .iter()
        .map(|bucket| (bucket.upper_bound(), bucket.cumulative_count()))
        .collect();
    let expected: Vec<(f64, u64)> = DEFAULT_BUCKETS
        .iter()
        .copied()
        .zip(replay.classic.iter().copied())
        .collect();
    assert_eq!(classic, expected);
    // The text format shows the same classic buckets.
    for (bound, count) in &expected {
        let le = bound.to_string();
        let labels = [
            ("function", "resize"),
            ("module", MODULE),
            ("le", le.as_str()),
        ];
        assert_eq!(
            text.count("image_resize_duration_seconds_bucket", &labels),
            *count
        );
    }
    let created = time_of(histogram.created_timestamp.as_ref().unwrap());
    assert!(created <= now);

    // Its counter, by result, with when it started.
    for (result, calls) in [("ok", 7.0), ("error", 1.0), ("panic", 0.0)] {
        let wanted = [
            ("function", "resize"),
            ("module", MODULE),
            ("result", result),
        ];
        let counter = series(&families, "image_resize_total", &wanted)
            .counter
            .as_ref()
            .unwrap();
        assert_eq!(counter.value(), calls, "{result}");
        assert_eq!(text.value("image_resize_total", &wanted), calls);
        assert!(time_of(counter.created_timestamp.as_ref().unwrap()) <= now);
    }

    // A function histogram without `native_histogram`: classic only, but created.
    let crop = series(&families, "image_crop_duration_seconds", &[])
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!((crop.schema, crop.sample_count()), (None, 1));
    assert!(crop.positive_span.is_empty());
    assert_eq!(crop.bucket.len(), DEFAULT_BUCKETS.len());
    assert!(crop.created_timestamp.is_some());

    // `Metrics` fields: native where asked.
    let sizes = series(&families, "upload_size_bytes", &[])
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(sizes.schema, Some(3));
    assert_eq!((sizes.sample_count(), sizes.zero_count()), (4, 1));
    let bounds: Vec<(f64, u64)> = sizes
        .bucket
        .iter()
        .map(|bucket| (bucket.upper_bound(), bucket.cumulative_count()))
        .collect();
    assert_eq!(bounds, [(1024.0, 2), (1_048_576.0, 3)]);
    assert_eq!(text.count("upload_size_bytes_count", &[]), 4);
    assert_eq!(text.value("upload_size_bytes_sum", &[]), 5_002_058.0);
    let scanned = series(&families, "upload_scan_duration_seconds", &[])
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!((scanned.schema, scanned.sample_count()), (None, 1));
    let stored = series(&families, "upload_stored_total", &[])
        .counter
        .as_ref()
        .unwrap();
    assert_eq!(stored.value(), 3.0);
    assert!(stored.created_timestamp.is_some());

    // The HTTP layer's histogram, native by the layer's choice, with the exact durations.
    let requests = calls.requests("/upload");
    assert_eq!(requests.len(), 3);
    let http = series(
        &families,
        "http_request_duration_seconds",
        &[("endpoint", "/upload"), ("method", "POST")],
    )
    .histogram
    .as_ref()
    .unwrap();
    assert_eq!((http.schema, http.sample_count()), (Some(3), 3));
    #[allow(clippy::cast_precision_loss)]
    let sum: f64 = requests
        .iter()
        .map(|(_, _, duration)| duration.as_nanos() as f64 / 1e9)
        .fold(0.0, |sum, seconds| sum + seconds);
    assert_eq!(http.sample_sum(), sum);
    let served = series(
        &families,
        "http_requests_total",
        &[("endpoint", "/upload"), ("status", "200")],
    );
    assert_eq!(served.counter.as_ref().unwrap().value(), 3.0);

    // Gauges, and the exporter's own families, are there too.
    assert!(families.contains_key("metrics_catalog_conflicts"));
    assert!(families.contains_key("metrics_exporter_series"));
    assert!(families.contains_key("http_requests_in_flight"));
}

/// A span context with these ids, as a propagated `traceparent` would give.
fn trace(trace_id: u128, span_id: u64) -> opentelemetry::Context {
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// The exemplar (labels, value) of the sample `name` whose labels include `wanted`.
fn exemplar_of<'a>(
    samples: &'a [integration_tests::ExemplarSample],
    name: &str,
    wanted: &[(&str, &str)],
) -> Option<&'a (BTreeMap<String, String>, f64)> {
    let found: Vec<_> = samples
        .iter()
        .filter(|(sample, labels, _, _)| {
            sample == name
                && wanted
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {wanted:?}");
    found[0].3.as_ref()
}

#[tokio::test]
#[cfg(feature = "exemplars")]
async fn exemplars_carry_the_trace_of_the_current_span() {
    let invoices = InvoiceMetrics::global();
    // Outside any span: no exemplar.
    send_invoice();
    invoices.lines_total.inc_by(2);
    let openmetrics = instrument_metric::render_as(Format::OpenMetrics);
    let samples = python_parse_exemplars(&openmetrics).unwrap();
    let bucket = [("function", "send_invoice"), ("le", "0.005")];
    assert!(exemplar_of(&samples, "invoice_send_duration_seconds_bucket", &bucket).is_none());
    assert!(exemplar_of(&samples, "invoice_lines_total", &[]).is_none());

    // In a span, then in another: the latest wins.
    let (first, second) = (
        0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128,
        0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128,
    );
    for (trace_id, span_id) in [
        (first, 0x00f0_67aa_0ba9_02b7),
        (second, 0x00b7_ad6b_7169_2033),
    ] {
        let _entered = trace(trace_id, span_id).attach();
        send_invoice();
        invoices.lines_total.inc_by(5);
        invoices.size_bytes.observe(4_000.0);
    }
    let trace_id = format!("{second:032x}");
    let span_id = "00b7ad6b71692033";

    let openmetrics = instrument_metric::render_as(Format::OpenMetrics);
    assert!(
        !instrument_metric::render().contains(" # {"),
        "no exemplar in text 0.0.4"
    );
    let samples = python_parse_exemplars(&openmetrics).unwrap();
    let expect = |(labels, value): &(BTreeMap<String, String>, f64), wanted: f64| {
        assert_eq!(labels["trace_id"], trace_id);
        assert_eq!(labels["span_id"], span_id);
        assert_eq!(labels.len(), 2);
        if wanted >= 0.0 {
            assert_eq!(*value, wanted);
        }
    };
    let duration = exemplar_of(&samples, "invoice_send_duration_seconds_bucket", &bucket)
        .expect("the bucket of the calls has an exemplar");
    expect(duration, -1.0);
    assert!(duration.1 <= 0.005);
    let ok = [("function", "send_invoice"), ("result", "ok")];
    expect(
        exemplar_of(&samples, "invoice_send_total", &ok).unwrap(),
        1.0,
    );
    expect(
        exemplar_of(&samples, "invoice_lines_total", &[]).unwrap(),
        5.0,
    );
    let size = [("le", "10000.0")];
    expect(
        exemplar_of(&samples, "invoice_size_bytes_bucket", &size).unwrap(),
        4_000.0,
    );
    // Only the bucket the observations fell in has one.
    let other = [("le", "1000.0")];
    assert!(exemplar_of(&samples, "invoice_size_bytes_bucket", &other).is_none());

    // The same exemplars in protobuf: on the classic buckets, among a native histogram's own,
    // and on counters, each with its time.
    let (_, body) = send(&app(), "GET", "/metrics", PROTOBUF_ACCEPT).await;
    let families = decode(&body);
    let trace_labels = |exemplar: &instrument_metric::proto::Exemplar| {
        exemplar
            .label
            .iter()
            .map(|pair| (pair.name().to_owned(), pair.value().to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let sent = series(
        &families,
        "invoice_send_duration_seconds",
        &[("function", "send_invoice")],
    )
    .histogram
    .as_ref()
    .unwrap();
    let first_bucket = sent.bucket[0].exemplar.as_ref().unwrap();
    assert_eq!(trace_labels(first_bucket)["trace_id"], trace_id);
    assert!(first_bucket.timestamp.is_some());
    assert_eq!(sent.exemplars.len(), 1);
    assert_eq!(trace_labels(&sent.exemplars[0])["span_id"], span_id);
    let counter = series(&families, "invoice_send_total", &ok)
        .counter
        .as_ref()
        .unwrap();
    let exemplar = counter.exemplar.as_ref().unwrap();
    assert_eq!(
        (
            trace_labels(exemplar)["trace_id"].as_str(),
            exemplar.value()
        ),
        (trace_id.as_str(), 1.0)
    );
    let lines = series(&families, "invoice_lines_total", &[])
        .counter
        .as_ref()
        .unwrap();
    assert_eq!(lines.exemplar.as_ref().unwrap().value(), 5.0);
}

#[test]
fn created_samples_follow_their_series_in_openmetrics() {
    let registry = instrument_metric::registry();
    rotate();
    InvoiceMetrics::global()
        .render_duration_seconds
        .observe(1.5);
    registry.set_created_samples(true);
    let openmetrics = instrument_metric::render_as(Format::OpenMetrics);
    // The reference parser takes them (and checks that each follows its series).
    let samples = python_parse_exemplars(&openmetrics).unwrap();
    let created = |name: &str, wanted: &[(&str, &str)]| {
        samples
            .iter()
            .find(|(sample, labels, _, _)| {
                sample == name
                    && wanted
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|sample| sample.2)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let rotate_ok =
        created("image_rotate_created", &[("result", "ok")]).expect("image_rotate_created");
    let rotate_histogram = created("image_rotate_duration_seconds_created", &[])
        .expect("image_rotate_duration_seconds_created");
    let render = created("invoice_render_duration_seconds_created", &[])
        .expect("invoice_render_duration_seconds_created");
    for seconds in [rotate_ok, rotate_histogram, render] {
        assert!(
            seconds > now - 600.0 && seconds <= now,
            "{seconds} vs {now}"
        );
    }
    // Right after `_total`, and after the histogram's `_count`.
    let lines: Vec<&str> = openmetrics.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}"))
    };
    let total = at(
        "image_rotate_total{function=\"rotate\",module=\"prometheus3_exposition\",result=\"ok\"}",
    );
    assert!(lines[total + 1].starts_with(
        "image_rotate_created{function=\"rotate\",module=\"prometheus3_exposition\",result=\"ok\"} "
    ));
    let count = at("invoice_render_duration_seconds_count ");
    assert!(lines[count + 1].starts_with("invoice_render_duration_seconds_created "));
    // Never in the text format 0.0.4, which has no such sample.
    assert!(!instrument_metric::render().contains("_created"));
}
