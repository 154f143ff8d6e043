//! The writer's bytes read back with `prost`, and compared with those `prost` writes.

use std::time::{Duration, UNIX_EPOCH};

use prost::Message;

use super::label_list::parse_label_list;
use super::*;
use crate::exposition::{Exposition, HistogramReading, Kind, Value};
use crate::model::MetricKind;
use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;
use crate::storage::native_histogram::NativeReading;
use crate::storage::native_histogram::{NativeConfig, NativeHistogram};

fn families(mut bytes: &[u8]) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        out.push(MetricFamily::decode_length_delimited(&mut bytes).unwrap());
    }
    out
}

fn labels(metric: &Metric) -> Vec<(&str, &str)> {
    metric
        .label
        .iter()
        .map(|pair| (pair.name(), pair.value()))
        .collect()
}

#[test]
fn bytes_as_the_schema_says() {
    // Worked out by hand from metrics.proto: a family is its length, then name (field 1),
    // help (2), type (3, COUNTER = 0), a metric (4) holding a counter (3) whose value (1) is
    // a little-endian double.
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    writer.header("a_total", "", MetricType::Counter);
    writer.counter("a_total", &[], None, 1.0, None);
    writer.finish().unwrap();
    let mut want = vec![26, 0x0a, 7];
    want.extend(b"a_total");
    want.extend([0x12, 0, 0x18, 0, 0x22, 11, 0x1a, 9, 0x09]);
    want.extend(1.0f64.to_le_bytes());
    assert_eq!(out, want);

    // Native fields: schema (5) and offsets (span field 1) zigzag-encoded, spans (12)
    // as messages, deltas (13) zigzag and unpacked, the created timestamp (15).
    let histogram = Histogram {
        schema: Some(-2),
        positive_span: vec![BucketSpan {
            offset: Some(-2),
            length: Some(1),
        }],
        positive_delta: vec![-1, 3],
        created_timestamp: Some(Timestamp {
            seconds: 1,
            nanos: 5,
        }),
        ..Histogram::default()
    };
    assert_eq!(
        histogram.encode_to_vec(),
        [
            0x28, 3, 0x62, 4, 0x08, 3, 0x10, 1, 0x68, 1, 0x68, 6, 0x7a, 4, 0x08, 1, 0x10, 5
        ]
    );
    // A metric's histogram is field 7, after its timestamp (6); a family's unit field 5.
    let metric = Metric {
        histogram: Some(Histogram::default()),
        timestamp_ms: Some(2),
        ..Metric::default()
    };
    assert_eq!(metric.encode_to_vec(), [0x30, 2, 0x3a, 0]);
    let family = MetricFamily {
        unit: Some("s".into()),
        ..MetricFamily::default()
    };
    assert_eq!(family.encode_to_vec(), [0x2a, 1, b's']);
}

/// One family of each kind, read back, and the native histogram's reading.
fn every_kind() -> (Vec<MetricFamily>, NativeReading) {
    let created = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
    let cells = NativeHistogram::new(&NativeConfig::new(), &[1.0]).unwrap();
    for value in [0.5, 1.0, 3.0, -2.0, 0.0] {
        cells.observe(value);
    }
    let reading = cells.read();
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    writer.header("jobs_total", "Jobs \"run\"\nhere.", MetricKind::Counter);
    writer.counter(
        "jobs_total",
        &["", r#"queue="a,b",kind="x=\"y\"""#],
        Some(("result", "ok")),
        Value::Unsigned(3),
        Some(created),
    );
    writer.counter("jobs_total", &[], None, Value::Float(0.5), None);
    writer.header("depth", "Depth.", Kind::Gauge);
    writer.gauge("depth", &[r#"a="\\""#], None, Value::Signed(-4));
    writer.header("legacy", "", Kind::Unknown);
    writer.unknown("legacy", &[], 1.5);
    writer.header("rpc_seconds", "RPCs.", Kind::Summary);
    writer.summary("rpc_seconds", &[], &[(0.5, 0.25)], 10.0, 40, Some(created));
    writer.header("size_bytes", "Sizes.", Kind::Histogram);
    writer.histogram("size_bytes", &[], &[10.0, 100.0], &[1, 2, 5], 700.0, None);
    writer.header("wait_seconds", "Waits.", MetricKind::Histogram);
    writer.native_histogram("wait_seconds", &[r#"q="1""#], &[1.0], &reading);
    writer.finish().unwrap();
    (families(&out), reading)
}

#[test]
fn every_kind_reads_back() {
    let (read, _) = every_kind();
    let names: Vec<&str> = read.iter().map(MetricFamily::name).collect();
    assert_eq!(
        names,
        [
            "jobs_total",
            "depth",
            "legacy",
            "rpc_seconds",
            "size_bytes",
            "wait_seconds"
        ]
    );
    let types: Vec<MetricType> = read.iter().map(MetricFamily::r#type).collect();
    assert_eq!(
        types,
        [
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Untyped,
            MetricType::Summary,
            MetricType::Histogram,
            MetricType::Histogram
        ]
    );
    assert_eq!(read[0].help(), "Jobs \"run\"\nhere.");

    let jobs = &read[0].metric;
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        labels(&jobs[0]),
        [("queue", "a,b"), ("kind", "x=\"y\""), ("result", "ok")]
    );
    let counter = jobs[0].counter.clone().unwrap();
    assert_eq!(counter.value(), 3.0);
    assert_eq!(
        counter.created_timestamp,
        Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5
        })
    );
    assert!(labels(&jobs[1]).is_empty());
    assert_eq!(jobs[1].counter.clone().unwrap().created_timestamp, None);

    let depth = &read[1].metric[0];
    assert_eq!(labels(depth), [("a", "\\")]);
    assert_eq!(depth.gauge.clone().unwrap().value(), -4.0);
    assert_eq!(read[2].metric[0].untyped.clone().unwrap().value(), 1.5);

    let summary = read[3].metric[0].summary.clone().unwrap();
    assert_eq!((summary.sample_count(), summary.sample_sum()), (40, 10.0));
    assert_eq!(
        (summary.quantile[0].quantile(), summary.quantile[0].value()),
        (0.5, 0.25)
    );
    assert!(summary.created_timestamp.is_some());
}

/// The writer encodes labels, counters and gauges itself and writes each family where it
/// stays: the bytes are those `prost` writes for the same messages.
#[test]
fn the_bytes_are_prosts() {
    use crate::storage::exemplar::Trace;
    let time = |millis: u64| UNIX_EPOCH + Duration::from_millis(millis);
    let exemplar = Sample {
        trace: Trace {
            trace_id: 0xabc,
            span_id: 0x12,
        },
        value: 0.25,
        time: time(1_700_000_000_500),
    };
    let queue = Labels::new([("queue", "a\"b\\c\nd é")]);
    let none = Labels::default();
    let constant = Labels::new([("env", "prod")]);
    let cells = NativeHistogram::new(&NativeConfig::new(), &[0.1, 1.0]).unwrap();
    cells.observe(0.5);
    cells.observe(-2.0);
    let native = cells.scrape();
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    let w: &mut dyn Exposition = &mut writer;
    w.header("jobs_total", "Jobs.", Kind::Counter);
    for (created, exemplar, value) in [
        (
            Some(time(1_600_000_000_000)),
            Some(&exemplar),
            Value::Unsigned(2),
        ),
        (Some(time(0)), None, Value::Float(0.0)),
        (
            Some(UNIX_EPOCH - Duration::from_millis(1_500)),
            None,
            Value::Float(-1.0),
        ),
        (None, None, Value::Unsigned(u64::MAX)),
    ] {
        w.counter(
            "jobs_total",
            &[&queue, &constant],
            Some(("result", "ok")),
            value,
            created,
            exemplar,
        );
    }
    w.header("depth", "Depth.", Kind::Gauge);
    w.gauge("depth", &[&none, &constant], None, Value::Signed(-3));
    w.gauge("depth", &[&queue], None, Value::Float(f64::NAN));
    w.header("idle", "No series.", Kind::Gauge);
    w.header("wait_seconds", "Waits.", Kind::Histogram);
    let buckets = w.buckets(&[0.1, 1.0]);
    let classic = HistogramReading::Classic {
        cumulative: &[1, 2, 3],
        sum: 1.5,
    };
    let created = Some(time(1_600_000_000_250));
    w.histogram(
        "wait_seconds",
        &[&queue],
        &buckets,
        classic,
        created,
        &[None, Some(exemplar), None],
    );
    let reading = HistogramReading::Native(&native);
    w.histogram(
        "wait_seconds",
        &[&constant],
        &buckets,
        reading,
        created,
        &[Some(exemplar)],
    );
    writer.finish().unwrap();

    let read = families(&out);
    assert_eq!(read.len(), 3);
    let mut again = Vec::new();
    for family in &read {
        family.encode_length_delimited(&mut again).unwrap();
    }
    assert_eq!(out, again);
    assert_eq!(labels(&read[0].metric[0])[0], ("queue", "a\"b\\c\nd é"));
}

/// A family longer than the room left for its length (and one shorter) reads back.
#[test]
fn long_families_read_back() {
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    let lists: Vec<Labels> = (0..100_000)
        .map(|i| Labels::new([("i", i.to_string().as_str())]))
        .collect();
    let w: &mut dyn Exposition = &mut writer;
    w.header("many", "Many.", Kind::Gauge);
    for list in &lists {
        w.gauge("many", &[list], None, Value::Unsigned(1));
    }
    w.header("one", "One.", Kind::Gauge);
    w.gauge("one", &[], None, Value::Unsigned(1));
    writer.finish().unwrap();
    assert!(out.len() > 1 << 21);
    let read = families(&out);
    assert_eq!((read[0].metric.len(), read[1].metric.len()), (100_000, 1));
    assert_eq!(labels(&read[0].metric[99_999]), [("i", "99999")]);
    let mut again = Vec::new();
    for family in &read {
        family.encode_length_delimited(&mut again).unwrap();
    }
    assert_eq!(out, again);
}

#[test]
fn histograms_read_back() {
    let (read, reading) = every_kind();
    let classic = read[4].metric[0].histogram.clone().unwrap();
    assert_eq!((classic.sample_count(), classic.sample_sum()), (5, 700.0));
    let buckets: Vec<(f64, u64)> = classic
        .bucket
        .iter()
        .map(|bucket| (bucket.upper_bound(), bucket.cumulative_count()))
        .collect();
    assert_eq!(buckets, [(10.0, 1), (100.0, 2)]);
    // No native field on a classic histogram: Prometheus would take it for a native one.
    assert_eq!((classic.schema, classic.zero_threshold), (None, None));
    assert!(classic.positive_span.is_empty());

    let native = read[5].metric[0].histogram.clone().unwrap();
    assert_eq!(labels(&read[5].metric[0]), [("q", "1")]);
    assert_eq!((native.sample_count(), native.sample_sum()), (5, 2.5));
    assert_eq!((native.schema(), native.zero_count()), (3, 1));
    assert_eq!(native.zero_threshold(), reading.zero_threshold);
    // 0.5 is the top of bucket -8, 1.0 of bucket 0, 3.0 in bucket 13; -2.0 the top of 8.
    let spans = |spans: &[BucketSpan]| -> Vec<(i32, u32)> {
        spans.iter().map(|s| (s.offset(), s.length())).collect()
    };
    assert_eq!(spans(&native.positive_span), [(-8, 1), (7, 1), (12, 1)]);
    assert_eq!(native.positive_delta, [1, 0, 0]);
    assert_eq!(spans(&native.negative_span), [(8, 1)]);
    assert_eq!(native.negative_delta, [1]);
    assert_eq!(native.bucket.len(), 1);
    assert_eq!(native.bucket[0].cumulative_count(), 4);
    assert_eq!(
        native.created_timestamp,
        Some(Timestamp::from(reading.created))
    );
}

#[test]
fn rendered_labels_read_back() {
    let values = [
        "",
        "plain",
        "a,b",
        "x=\"y\"",
        "back\\slash",
        "\\\"",
        "line\nfeed",
        "ünïcødé ✓",
        "trailing\\",
        "}{",
    ];
    for value in values {
        for other in values {
            let rendered =
                crate::exposition::text::render_labels([("first", value), ("_2nd", other)]);
            let mut pairs = Vec::new();
            parse_label_list(&rendered, &mut pairs).unwrap();
            let read: Vec<(&str, &str)> = pairs
                .iter()
                .map(|pair| (pair.name(), pair.value()))
                .collect();
            assert_eq!(read, [("first", value), ("_2nd", other)], "{rendered}");
        }
    }
    let mut pairs = Vec::new();
    parse_label_list("", &mut pairs).unwrap();
    assert!(pairs.is_empty());
}

#[test]
fn malformed_label_lists_are_errors() {
    let cases = [
        ("a=x", 2, "`\"`"),
        ("a=\"x", 4, "a closing `\"`"),
        ("a=\"x\",", 5, "`,` and another label, or the end"),
        ("a=\"x\"b=\"y\"", 5, "`,` and another label, or the end"),
        ("=\"x\"", 0, "a label name"),
        ("1a=\"x\"", 0, "a label name"),
        ("a-b=\"x\"", 1, "`=`"),
        ("a", 1, "`=`"),
        ("a=\"\\t\"", 4, "`\\\\`, `\\\"` or `\\n` after `\\`"),
        ("a=\"\\", 4, "`\\\\`, `\\\"` or `\\n` after `\\`"),
        ("a=\"x\ny\"", 4, "an escaped line feed"),
        ("a=\"x\",,b=\"y\"", 6, "a label name"),
    ];
    for (list, at, expected) in cases {
        let error = parse_label_list(list, &mut Vec::new()).unwrap_err();
        assert_eq!((error.at, error.expected), (at, expected), "{list:?}");
    }
    let message = parse_label_list("a=x", &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("a rendered label list must be `name=\"value\"` pairs"));
    assert!(message.ends_with("expected `\"` at byte 2 of `a=x`"));
}

#[test]
fn series_that_would_be_misread_are_left_out_and_reported() {
    let write = |series: &dyn Fn(&mut ProtoWriter<'_>)| {
        let mut out = Vec::new();
        let mut writer = ProtoWriter::new(&mut out);
        series(&mut writer);
        // A good family after the bad series is still written.
        writer.header("fine", "", MetricType::Gauge);
        writer.gauge("fine", &[], None, 1.0);
        let result = writer.finish();
        (result, families(&out))
    };
    let (result, read) = write(&|w| w.counter("jobs_total", &[], None, 1.0, None));
    assert_eq!(
        result,
        Err(ProtoError::NoFamily {
            series: "jobs_total".into()
        })
    );
    assert_eq!(read.len(), 1);

    let (result, read) = write(&|w| {
        w.header("jobs_total", "", MetricType::Counter);
        w.counter("jobs_total", &[], None, 1.0, None);
        w.gauge("jobs_total", &[], None, 2.0);
    });
    assert_eq!(
        result,
        Err(ProtoError::WrongType {
            family: "jobs_total".into(),
            declared: MetricType::Counter,
            written: MetricType::Gauge
        })
    );
    assert_eq!(read[0].metric.len(), 1);
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("is a counter but a gauge series")
    );

    let (result, _) = write(&|w| {
        w.header("a_total", "", MetricType::Counter);
        w.counter("b_total", &[], None, 1.0, None);
    });
    assert!(matches!(result, Err(ProtoError::OtherFamily { .. })));

    let (result, read) = write(&|w| {
        w.header("a_total", "", MetricType::Counter);
        w.counter("a_total", &["x=\"1\"", "x=\"2\""], None, 1.0, None);
        w.counter("a_total", &["x=\"1\""], Some(("x", "3")), 1.0, None);
        w.counter("a_total", &["x=1"], None, 1.0, None);
    });
    assert_eq!(
        result,
        Err(ProtoError::DuplicateLabel {
            family: "a_total".into(),
            label: "x".into()
        })
    );
    // The family had no series left: not written at all.
    assert_eq!(read.len(), 1);

    let (result, _) = write(&|w| {
        w.header("a_total", "", MetricType::Counter);
        w.counter("a_total", &["x=1"], None, 1.0, None);
    });
    assert!(matches!(result, Err(ProtoError::Labels(_))));

    let (result, _) = write(&|w| {
        w.header("h_seconds", "", MetricType::Histogram);
        w.histogram("h_seconds", &[], &[1.0], &[1], 1.0, None);
    });
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("needs 2 cumulative counts")
    );

    let (result, read) = write(&|w| {
        w.header("fine", "", MetricType::Gauge);
        w.gauge("fine", &[], None, 1.0);
    });
    assert_eq!(
        result,
        Err(ProtoError::DuplicateFamily {
            family: "fine".into()
        })
    );
    // Written once, with its first series only.
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].metric.len(), 1);
}

#[test]
fn a_native_histogram_without_classic_buckets() {
    let cells = NativeHistogram::new(&NativeConfig::new().zero_threshold(0.0), &[]).unwrap();
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    writer.header("empty_seconds", "", MetricType::Histogram);
    writer.native_histogram("empty_seconds", &[], &[], &cells.read());
    // Bounds without the reading's classic counts: refused.
    writer.native_histogram("empty_seconds", &["a=\"b\""], &[1.0], &cells.read());
    assert!(matches!(writer.finish(), Err(ProtoError::Buckets { .. })));
    let histogram = families(&out)[0].metric[0].histogram.clone().unwrap();
    assert!(histogram.bucket.is_empty());
    // The no-op span that tells an empty native histogram from a classic one.
    assert_eq!(
        histogram.positive_span,
        [BucketSpan {
            offset: Some(0),
            length: Some(0)
        }]
    );
    assert_eq!(histogram.zero_threshold, Some(0.0));
}

#[test]
fn timestamps_before_and_after_the_epoch() {
    let at = |seconds: i64, nanos: u32| {
        let offset = Duration::new(seconds.unsigned_abs(), nanos);
        if seconds < 0 {
            UNIX_EPOCH - offset
        } else {
            UNIX_EPOCH + offset
        }
    };
    assert_eq!(
        Timestamp::from(at(5, 7)),
        Timestamp {
            seconds: 5,
            nanos: 7
        }
    );
    assert_eq!(
        Timestamp::from(at(-5, 0)),
        Timestamp {
            seconds: -5,
            nanos: 0
        }
    );
    // 5.25 s before the epoch is -6 s plus 0.75 s.
    assert_eq!(
        Timestamp::from(at(-5, 250_000_000)),
        Timestamp {
            seconds: -6,
            nanos: 750_000_000
        }
    );
}

/// Scrapes of native histograms with far buckets of both signs, in three schemas.
fn hard_readings() -> Vec<NativeReading> {
    let mut readings = Vec::new();
    for (factor, zero, values) in [
        (
            1.1,
            2.938_735_877_055_719e-39,
            &[1e-30, 5e9, -1e12, 0.0, 3.0][..],
        ),
        (20.0, 0.0, &[1e-300, 1e300, -7.0, f64::INFINITY][..]),
        (1.003, 1e-3, &[1e-4, -1e-4, 1.0, 1.01, 1.02, 200.0][..]),
    ] {
        let config = NativeConfig::new()
            .bucket_factor(factor)
            .zero_threshold(zero);
        let cells = NativeHistogram::new(&config, &[0.5, 10.0]).unwrap();
        for value in values {
            cells.observe(*value);
        }
        readings.push(cells.scrape());
    }
    readings
}

/// Histograms written by hand, in the cases the test above has not: an exemplar on `+Inf`,
/// ids of every width, schemas below 0, far and negative bucket numbers, a zero threshold
/// of 0, exemplars before the epoch: the bytes are those `prost` writes, the values those
/// read.
#[test]
fn hand_written_histograms_are_prosts() {
    use crate::storage::exemplar::Trace;
    let sample = |trace_id: u128, span_id: u64, seconds: i64| Sample {
        trace: Trace { trace_id, span_id },
        value: -0.5,
        time: if seconds >= 0 {
            UNIX_EPOCH + Duration::new(seconds.unsigned_abs(), 7)
        } else {
            UNIX_EPOCH - Duration::new(seconds.unsigned_abs(), 7)
        },
    };
    let exemplars = [
        Some(sample(u128::MAX, u64::MAX, 1_700_000_000)),
        None,
        Some(sample(0, 0, -5)),
    ];
    let readings = hard_readings();
    let labels = Labels::new([("q", "x")]);
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    let w: &mut dyn Exposition = &mut writer;
    w.header("wait_seconds", "Waits.", Kind::Histogram);
    let buckets = w.buckets(&[0.5, 10.0]);
    for reading in &readings {
        let reading = HistogramReading::Native(reading);
        w.histogram(
            "wait_seconds",
            &[&labels],
            &buckets,
            reading,
            None,
            &exemplars,
        );
    }
    let classic = HistogramReading::Classic {
        cumulative: &[0, 300, u64::MAX],
        sum: f64::NAN,
    };
    let created = Some(UNIX_EPOCH - Duration::from_millis(2_500));
    w.histogram("wait_seconds", &[], &buckets, classic, created, &exemplars);
    writer.finish().unwrap();

    let read = families(&out);
    let mut again = Vec::new();
    read[0].encode_length_delimited(&mut again).unwrap();
    assert_eq!(out, again);
    for (metric, reading) in read[0].metric.iter().zip(&readings) {
        let histogram = metric.histogram.as_ref().unwrap();
        assert_eq!(histogram.schema(), reading.schema);
        assert_eq!(histogram.zero_count(), reading.zero_count);
        let spans: Vec<(i32, u32)> = histogram
            .positive_span
            .iter()
            .map(|span| (span.offset(), span.length()))
            .collect();
        let expected: Vec<(i32, u32)> = (reading.positive_spans.iter())
            .map(|span| (span.offset, span.length))
            .collect();
        assert_eq!(spans, expected);
        assert_eq!(histogram.negative_delta, reading.negative_deltas);
        assert_eq!(histogram.exemplars.len(), 2);
    }
    let classic = read[0].metric[3].histogram.as_ref().unwrap();
    assert_eq!(classic.bucket.len(), 3);
    let inf = &classic.bucket[2];
    assert_eq!(
        (inf.upper_bound(), inf.cumulative_count()),
        (f64::INFINITY, u64::MAX)
    );
    let exemplar = inf.exemplar.as_ref().unwrap();
    let ids: Vec<(&str, &str)> = (exemplar.label.iter())
        .map(|pair| (pair.name(), pair.value()))
        .collect();
    assert_eq!(
        ids,
        [
            ("trace_id", "0".repeat(32).as_str()),
            ("span_id", "0".repeat(16).as_str())
        ]
    );
    let first = classic.bucket[0].exemplar.as_ref().unwrap();
    assert_eq!(first.label[0].value(), "f".repeat(32));
    assert_eq!(first.label[1].value(), "f".repeat(16));
    assert_eq!(first, &Exemplar::from(exemplars[0].as_ref().unwrap()));
    assert_eq!(exemplar, &Exemplar::from(exemplars[2].as_ref().unwrap()));
}
