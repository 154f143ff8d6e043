//! OTLP export against Prometheus 3's OTLP receiver (`--web.enable-otlp-receiver`; always the
//! pinned 3.x, whatever `TEST_PROMETHEUS` selects: 2.42 has no receiver), one server per
//! `otlp.translation_strategy` tested, with exemplar storage on (native histograms need no
//! flag in 3.x).
//!
//! This process records traffic into the global registry (a derive struct's counters, gauges,
//! classic and native histograms, a collector's gauge, constant labels, two instrumented
//! functions, one native, called in `tracing` spans for exemplars) while pushers push every
//! 200 ms and on demand; then the traffic stops, each pusher's last push lands, and:
//!
//! - every sample of this process's `/metrics` (text) is in each Prometheus under its
//!   translated name, `job` and `instance` from `service.name` and `service.instance.id`,
//!   with the same value: counters, gauges, each classic bucket, counts and sums; and
//!   Prometheus holds no other series (but `target_info` and the push counter, which each
//!   pusher's last push read at another moment);
//! - each native histogram is a native histogram there, with the count and sum of `/metrics`
//!   and every bucket of this process's protobuf exposition;
//! - the exemplar of each counter and bucket in the OpenMetrics exposition is stored with its
//!   trace id, span id and value, and no exemplar has a trace id the test did not make.

#![allow(clippy::float_cmp)] // counts and values are carried exactly: compared exactly

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use instrument_metric::otlp::{OtlpExporter, PUSHES_FAMILY};
use instrument_metric::proto::MetricFamily;
use instrument_metric::{
    Format, Gauge, GaugeFamily, Histogram, HistogramFamily, IntCounter, IntCounterFamily,
    LabelValue, Metrics, instrument_metric,
};
use integration_tests::prometheus::{Prometheus, Server, eventually, number};
use integration_tests::{Exposition, XorShift, promtool_check_metrics, python_parse_exemplars};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use prost::Message as _;
use serde_json::Value;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

const PATIENCE: Duration = Duration::from_secs(60);
const SERVICE: &str = "otlp-e2e";
const INSTANCE: &str = "otlp-e2e-0";

/// The strategies of Prometheus 3.16's `otlp.translation_strategy` tested (the fourth,
/// `UnderscoreEscapingWithoutSuffixes`, differs from the first only for names without their
/// suffixes, which this crate never sends).
const STRATEGIES: [&str; 3] = [
    "UnderscoreEscapingWithSuffixes",
    "NoUTF8EscapingWithSuffixes",
    "NoTranslation",
];

#[derive(Clone, Copy, LabelValue)]
enum Queue {
    Mail,
    Sms,
}

#[derive(Metrics)]
#[metrics(prefix = "otlp_e2e")]
struct Traffic {
    /// Jobs done, by queue.
    jobs_total: IntCounterFamily<Queue>,
    /// Retries: a name with `__`, which underscore escaping makes `_`.
    #[metric(name = "otlp_e2e__retries_total")]
    retries: IntCounter,
    /// Jobs waiting, by queue.
    queue_depth: GaugeFamily<Queue>,
    /// Temperature of the job room.
    room_celsius: Gauge,
    /// Payload sizes, by queue.
    #[metric(buckets = [100.0, 1000.0, 10000.0])]
    payload_bytes: HistogramFamily<Queue>,
    /// Processing time: a native histogram.
    #[metric(native_histogram, buckets = [0.001, 0.01, 0.1])]
    processing_seconds: Histogram,
}

#[derive(Debug)]
struct Bounced;

/// Sends a message; every fifth bounces.
#[instrument_metric(name = "otlp_e2e_send", native_histogram)]
fn send(n: u64) -> Result<u64, Bounced> {
    if n.is_multiple_of(5) {
        Err(Bounced)
    } else {
        Ok(n)
    }
}

/// Checks an address (classic histogram).
#[instrument_metric(name = "otlp_e2e_check")]
fn check(n: u64) -> bool {
    !n.is_multiple_of(3)
}

/// Installs a `tracing` subscriber whose spans are OpenTelemetry spans (an SDK tracer that
/// exports nowhere: the ids are what the test needs).
fn tracing_to_opentelemetry() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("otlp_prometheus");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// A Prometheus 3 with its OTLP receiver on, translating names with `strategy`.
fn prometheus(strategy: &str) -> Prometheus {
    let config =
        format!("global:\n  scrape_interval: 1m\notlp:\n  translation_strategy: {strategy}\n");
    let prometheus = Prometheus::start_with(
        &Server::three(),
        &format!("otlp-{strategy}"),
        &config,
        &[
            "--web.enable-otlp-receiver",
            "--enable-feature=exemplar-storage",
        ],
    );
    eventually(
        &format!("Prometheus ({strategy}) to answer"),
        PATIENCE,
        || (!prometheus.api("/api/v1/status/buildinfo").is_null()).then_some(()),
    );
    prometheus
}

/// The name `family` (of type `kind`) has in Prometheus under `strategy`, as Prometheus'
/// `otlptranslator` builds it for a metric without a unit: with underscore escaping, the
/// name's runs of characters other than `[a-zA-Z0-9:]` become one `_`, and a counter's
/// `total` tokens move to its end; the other strategies keep a name that already has its
/// suffix.
fn translated(strategy: &str, family: &str, kind: &str) -> String {
    if strategy != "UnderscoreEscapingWithSuffixes" {
        return family.to_owned();
    }
    let mut tokens: Vec<&str> = family
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|token| !token.is_empty())
        .collect();
    if kind == "counter" {
        tokens.retain(|token| *token != "total");
        tokens.push("total");
    }
    tokens.join("_")
}

/// A series' labels with `le` as a number (Prometheus writes `1`, the text format `1.0`).
fn normalized(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(name, value)| {
            let value = if name == "le" {
                format!("{:?}", value.parse::<f64>().unwrap())
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

type Key = (String, BTreeMap<String, String>);

/// What Prometheus holds for a series: a float or a native histogram.
#[derive(Debug)]
enum Stored {
    Float(f64),
    Native(Value),
}

/// Every series Prometheus holds for this process, by name and labels (without `job` and
/// `instance`, which must be the resource's).
fn stored(prometheus: &Prometheus) -> BTreeMap<Key, Stored> {
    let selector = format!("{{job=\"{SERVICE}\",instance=\"{INSTANCE}\"}}");
    let everything = "{__name__=~\".+\"}";
    let mut stored = BTreeMap::new();
    for series in prometheus.query(&selector) {
        let mut labels: BTreeMap<String, String> =
            serde_json::from_value(series["metric"].clone()).unwrap();
        let name = labels.remove("__name__").unwrap();
        assert_eq!(labels.remove("job").as_deref(), Some(SERVICE));
        assert_eq!(labels.remove("instance").as_deref(), Some(INSTANCE));
        let value = match series.get("histogram") {
            Some(histogram) => Stored::Native(histogram[1].clone()),
            None => Stored::Float(number(&series["value"][1])),
        };
        stored.insert((name, normalized(&labels)), value);
    }
    // Nothing came without the resource's labels.
    let all = prometheus.query(everything).len();
    assert_eq!(all, stored.len(), "series without job and instance");
    stored
}

/// The family, type and suffix (`_bucket`, `_count`, `_sum` or none) of a text sample.
fn family_of<'a>(exposition: &'a Exposition, sample: &'a str) -> (&'a str, &'a str, &'a str) {
    if let Some(kind) = exposition.types.get(sample) {
        return (sample, kind, "");
    }
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(family) = sample.strip_suffix(suffix)
            && exposition.types.get(family).map(String::as_str) == Some("histogram")
        {
            return (family, "histogram", suffix);
        }
    }
    panic!("no family for sample {sample}")
}

/// The buckets of a native histogram of the protobuf exposition with a count, as (lower,
/// upper, count), by lower bound: negative ones, the zero bucket, positive ones.
fn native_buckets(histogram: &instrument_metric::proto::Histogram) -> Vec<(f64, f64, u64)> {
    let schema = histogram.schema();
    let bound = |key: i32| 2f64.powf(f64::from(key) * 2f64.powi(-schema));
    let mut buckets = Vec::new();
    for (spans, deltas, sign) in [
        (&histogram.negative_span, &histogram.negative_delta, -1.0),
        (&histogram.positive_span, &histogram.positive_delta, 1.0),
    ] {
        let mut key = 0;
        let mut count = 0i64;
        let mut deltas = deltas.iter();
        for span in spans {
            key += span.offset();
            for _ in 0..span.length() {
                count += deltas.next().unwrap();
                if count > 0 {
                    let (lower, upper) = if sign > 0.0 {
                        (bound(key - 1), bound(key))
                    } else {
                        (-bound(key), -bound(key - 1))
                    };
                    buckets.push((lower, upper, u64::try_from(count).unwrap()));
                }
                key += 1;
            }
        }
    }
    if histogram.zero_count() > 0 {
        let threshold = histogram.zero_threshold();
        buckets.push((-threshold, threshold, histogram.zero_count()));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The same bucket bound, from Prometheus' float steps and this test's.
fn same_bound(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn prometheus_3_stores_what_the_otlp_pushes_carry_as_metrics_serves_it() {
    instrument_metric::set_constant_labels([("region", "eu-west")]).unwrap();
    tracing_to_opentelemetry();
    let servers: Vec<(&str, Prometheus)> = STRATEGIES
        .iter()
        .map(|strategy| (*strategy, prometheus(strategy)))
        .collect();
    instrument_metric::registry()
        .collect_gauge("otlp_e2e_pool_size", "Connections in the pool.", || 7)
        .unwrap();
    let pushers: Vec<_> = servers
        .iter()
        .map(|(_, prometheus)| {
            OtlpExporter::new(format!("http://{}/api/v1/otlp", prometheus.addr()), SERVICE)
                .instance_id(INSTANCE)
                .interval(Duration::from_millis(200))
                .timeout(Duration::from_secs(5))
                .start()
                .unwrap()
        })
        .collect();

    // Traffic, in three rounds with a push after each.
    let traffic = Traffic::global();
    let mut rng = XorShift(0x071f_0001);
    let mut traced = BTreeSet::new();
    for round in 0..3u64 {
        for i in 0..100 {
            let n = round * 100 + i;
            let queue = if n % 3 == 0 { Queue::Mail } else { Queue::Sms };
            traffic.jobs_total.with(queue).inc();
            if n % 7 == 0 {
                traffic.retries.inc();
            }
            #[allow(clippy::cast_precision_loss)]
            traffic.queue_depth.with(queue).set(n as f64 * 0.25 - 10.0);
            traffic.room_celsius.set(-3.5);
            #[allow(clippy::cast_precision_loss)] // below 2^53
            let size = (rng.next_u64() % 20_000) as f64;
            traffic.payload_bytes.with(queue).observe(size);
            #[allow(clippy::cast_precision_loss)]
            let seconds = (rng.next_u64() % 1_000_000) as f64 / 1e6;
            traffic.processing_seconds.observe(seconds);
            let span = tracing::info_span!("job", n);
            let context = span.context();
            let ids = context.span().span_context().clone();
            traced.insert((
                format!("{:032x}", ids.trace_id()),
                format!("{:016x}", ids.span_id()),
            ));
            span.in_scope(|| {
                let _ = send(n);
                check(n);
            });
        }
        for pusher in &pushers {
            pusher.flush().unwrap();
        }
    }
    // The traffic has stopped: the last pushes.
    for pusher in pushers {
        pusher.shutdown().unwrap();
    }
    let text = instrument_metric::render();
    let protobuf = instrument_metric::registry()
        .encode_protobuf_within(Duration::from_secs(5))
        .unwrap();
    let openmetrics = instrument_metric::render_as(Format::OpenMetrics);
    let exposition = Exposition::parse(&text).unwrap();
    exposition.check_invariants().unwrap();
    promtool_check_metrics(&text).unwrap();
    assert_eq!(
        exposition.value("metrics_otlp_push_failures_total", &[("region", "eu-west")]),
        0.0
    );
    let calls: f64 = exposition
        .series("otlp_e2e_send_total")
        .map(|sample| sample.value)
        .sum();
    assert_eq!(calls, 300.0, "{text}");
    let mut families = Vec::new();
    let mut bytes = protobuf.as_slice();
    while !bytes.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut bytes).unwrap());
    }
    let exemplars = python_parse_exemplars(&openmetrics).unwrap();

    for (strategy, prometheus) in &servers {
        let calls = translated(strategy, "otlp_e2e_send_total", "counter");
        let last_push = format!("sum({calls}{{job=\"{SERVICE}\"}})");
        eventually(&format!("the last push in {strategy}"), PATIENCE, || {
            let result = prometheus.query(&last_push);
            (result.len() == 1 && number(&result[0]["value"][1]) == 300.0).then_some(())
        });
        let mut stored = stored(prometheus);
        let series = stored.len();
        // The translation at work: `__` kept or made one `_`.
        let retries = |name: &str| stored.keys().any(|(stored, _)| stored == name);
        let escaped = *strategy == "UnderscoreEscapingWithSuffixes";
        assert_eq!(retries("otlp_e2e_retries_total"), escaped, "{strategy}");
        assert_eq!(retries("otlp_e2e__retries_total"), !escaped, "{strategy}");

        // Every sample of `/metrics`, under its translated name.
        let mut natives: BTreeMap<Key, (String, Value)> = BTreeMap::new();
        for sample in &exposition.samples {
            let (family, kind, suffix) = family_of(&exposition, &sample.name);
            if family == PUSHES_FAMILY {
                continue;
            }
            let name = translated(strategy, family, kind);
            let labels = normalized(&sample.labels);
            if kind == "histogram" {
                let mut series = labels.clone();
                series.remove("le");
                if let Some(Stored::Native(histogram)) = stored.get(&(name.clone(), series.clone()))
                {
                    match suffix {
                        "_count" => assert_eq!(
                            number(&histogram["count"]),
                            sample.value,
                            "{strategy}: {name}{series:?}"
                        ),
                        // Exactly the protobuf exposition's (below); the text's sum of a
                        // function's durations is its nanoseconds' / 1e9, the native one's
                        // the sum of the seconds: they may differ in the last bits.
                        "_sum" => {
                            let sum = number(&histogram["sum"]);
                            assert!(
                                (sum - sample.value).abs() <= 1e-12 * sample.value.abs(),
                                "{strategy}: {name}{series:?}: {sum} vs {}",
                                sample.value
                            );
                        }
                        _ => {}
                    }
                    natives.insert((name, series), (family.to_owned(), histogram.clone()));
                    continue;
                }
            }
            let key = (format!("{name}{suffix}"), labels);
            match stored.remove(&key) {
                Some(Stored::Float(value)) => {
                    assert_eq!(value, sample.value, "{strategy}: {key:?}");
                }
                other => panic!(
                    "{strategy}: {key:?} is {other:?} in Prometheus, {} on /metrics\n{}",
                    sample.value,
                    prometheus.log()
                ),
            }
        }
        for key in natives.keys() {
            stored.remove(key);
        }
        stored.retain(|(name, _), _| {
            name != "target_info" && *name != translated(strategy, PUSHES_FAMILY, "counter")
        });
        assert!(
            stored.is_empty(),
            "{strategy}: series not on /metrics: {stored:?}"
        );

        // Native histograms: both test families, every bucket as the protobuf exposition's.
        let native_families: BTreeSet<&str> = natives
            .values()
            .map(|(family, _)| family.as_str())
            .collect();
        assert!(
            native_families.contains("otlp_e2e_processing_seconds")
                && native_families.contains("otlp_e2e_send_duration_seconds"),
            "{strategy}: {native_families:?}"
        );
        for ((_, labels), (family, histogram)) in &natives {
            let metric = families
                .iter()
                .find(|found| found.name() == family)
                .and_then(|found| {
                    found.metric.iter().find(|metric| {
                        let pairs: BTreeMap<String, String> = metric
                            .label
                            .iter()
                            .map(|pair| (pair.name().to_owned(), pair.value().to_owned()))
                            .collect();
                        pairs == *labels
                    })
                })
                .unwrap_or_else(|| panic!("{family}{labels:?} not in the protobuf exposition"));
            let native = metric.histogram.as_ref().unwrap();
            assert_eq!(
                number(&histogram["sum"]),
                native.sample_sum(),
                "{strategy}: {family}{labels:?}"
            );
            assert_eq!(
                number(&histogram["count"]),
                f64::from(u32::try_from(native.sample_count()).unwrap()),
                "{strategy}: {family}{labels:?}"
            );
            let expected = native_buckets(native);
            let mut got: Vec<(f64, f64, u64)> = histogram["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|bucket| {
                    let count = number(&bucket[3]);
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    (number(&bucket[1]), number(&bucket[2]), count as u64)
                })
                .filter(|(_, _, count)| *count > 0)
                .collect();
            got.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert_eq!(
                got.len(),
                expected.len(),
                "{strategy}: {family}{labels:?}: {got:?} vs {expected:?}"
            );
            assert!(!got.is_empty());
            for (got, expected) in got.iter().zip(&expected) {
                assert!(
                    same_bound(got.0, expected.0)
                        && same_bound(got.1, expected.1)
                        && got.2 == expected.2,
                    "{strategy}: {family}{labels:?}: bucket {got:?}, expected {expected:?}"
                );
            }
        }

        // Exemplars: each one of the OpenMetrics exposition, with its ids and value.
        let mut checked = 0;
        for (sample, labels, _, exemplar) in &exemplars {
            let Some((exemplar_labels, value)) = exemplar else {
                continue;
            };
            let trace_id = &exemplar_labels["trace_id"];
            let span_id = &exemplar_labels["span_id"];
            assert!(
                traced.contains(&(trace_id.clone(), span_id.clone())),
                "{sample}: {exemplar_labels:?}"
            );
            let (family, kind, suffix) = match sample.strip_suffix("_bucket") {
                Some(family) => (family, "histogram", "_bucket"),
                None => (sample.as_str(), "counter", ""),
            };
            let name = translated(strategy, family, kind);
            let mut series = normalized(labels);
            let native = {
                let mut without_le = series.clone();
                without_le.remove("le");
                natives.contains_key(&(name.clone(), without_le))
            };
            let selector_name = if native {
                series.remove("le");
                name
            } else {
                format!("{name}{suffix}")
            };
            let matchers: Vec<String> = series
                .iter()
                .map(|(label, value)| {
                    // `le` as Prometheus writes it.
                    let value = if label == "le" {
                        let bound: f64 = value.parse().unwrap();
                        if bound.is_infinite() {
                            "+Inf".to_owned()
                        } else {
                            format!("{bound}")
                        }
                    } else {
                        value.clone()
                    };
                    format!("{label}=\"{value}\"")
                })
                .collect();
            let selector = format!("{selector_name}{{{}}}", matchers.join(","));
            let stored: Vec<(String, String, f64)> = prometheus
                .exemplars(&selector)
                .iter()
                .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
                .map(|found| {
                    (
                        found["labels"]["trace_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        found["labels"]["span_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        number(&found["value"]),
                    )
                })
                .collect();
            for (trace, span, _) in &stored {
                assert!(
                    traced.contains(&(trace.clone(), span.clone())),
                    "{strategy}: {selector}: {trace} {span}"
                );
            }
            assert!(
                stored.contains(&(trace_id.clone(), span_id.clone(), *value)),
                "{strategy}: {selector}: {trace_id}/{span_id} = {value} not among {stored:?}\n{}",
                prometheus.log()
            );
            checked += 1;
        }
        // The calls counter by result and the buckets of both functions' histograms.
        assert!(checked >= 4, "{strategy}: {checked} exemplars checked");
        eprintln!(
            "{strategy}: {} samples of /metrics found in {series} series, {} native histograms, {checked} exemplars",
            exposition.samples.len(),
            natives.len()
        );
    }
}
