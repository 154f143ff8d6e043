//! Each kind written through the OTLP writer, encoded, decoded back with `prost` and checked
//! field by field.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;

use super::OtlpWriter;
use super::messages::{
    AggregationTemporality, Metric, ScopeMetrics, exemplar, metric::Data, number_data_point,
};
use super::writer::{MAX_EXPONENTIAL_BUCKETS, bucket_counts, exponential_buckets, unix_nanos};
use crate::Registry;
use crate::exposition::{Exposition, HistogramReading, Kind, Value};
use crate::model::labels::Labels;
use crate::storage::exemplar::{Exemplar as Sample, Trace};
use crate::storage::native_histogram::config::NativeConfig;
use crate::storage::native_histogram::{NativeHistogram, NativeReading, Span};

const NOW: u64 = 1_765_000_000_000_000_000;
const FALLBACK_START: u64 = 1_764_000_000_000_000_000;

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// The metrics `write` writes, through an encoded request and back.
fn written(now: u64, write: impl FnOnce(&mut OtlpWriter)) -> Result<Vec<Metric>, String> {
    let mut writer = OtlpWriter::new(at(now), at(FALLBACK_START));
    write(&mut writer);
    let metrics = writer.finish()?;
    let decoded = ScopeMetrics::decode(metrics.as_slice()).unwrap();
    Ok(decoded.metrics)
}

fn sample(trace_id: u128, span_id: u64, value: f64) -> Sample {
    Sample {
        trace: Trace { trace_id, span_id },
        value,
        time: at(NOW - 5_000),
    }
}

fn attributes(point: &[super::messages::KeyValue]) -> Vec<(&str, &str)> {
    point
        .iter()
        .map(|pair| (pair.key.as_str(), pair.as_str().unwrap()))
        .collect()
}

#[test]
fn counters_are_cumulative_monotonic_sums_with_their_start_and_exemplar() {
    let labels = Labels::new([("provider", "twilio")]);
    let constant = Labels::new([("region", "eu")]);
    let created = at(NOW - 60_000_000_000);
    let exemplar = sample(
        0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        0xb7ad_6b71_6920_3331,
        1.0,
    );
    let metrics = written(NOW, |writer| {
        writer.header("sms_sent_total", "SMS sent.", Kind::Counter);
        let lists = [&labels, &constant];
        let ok = Some(("result", "ok"));
        writer.counter(
            "sms_sent_total",
            &lists,
            ok,
            Value::Unsigned(7),
            Some(created),
            Some(&exemplar),
        );
        // Past i64: a double.
        writer.counter(
            "sms_sent_total",
            &[&constant],
            None,
            Value::Unsigned(u64::MAX),
            None,
            None,
        );
        writer.counter(
            "sms_sent_total",
            &[],
            Some(("result", "x")),
            Value::Float(2.5),
            None,
            None,
        );
    })
    .unwrap();
    assert_eq!(metrics.len(), 1);
    let metric = &metrics[0];
    assert_eq!(
        (metric.name.as_str(), metric.description.as_str()),
        ("sms_sent_total", "SMS sent.")
    );
    assert_eq!(metric.unit, "");
    let Some(Data::Sum(sum)) = &metric.data else {
        panic!("{metric:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let [first, second, third] = &sum.data_points[..] else {
        panic!("{sum:?}")
    };
    assert_eq!(
        attributes(&first.attributes),
        [("provider", "twilio"), ("region", "eu"), ("result", "ok")]
    );
    assert_eq!(first.value, Some(number_data_point::Value::AsInt(7)));
    assert_eq!(first.start_time_unix_nano, NOW - 60_000_000_000);
    assert_eq!(first.time_unix_nano, NOW);
    let [exemplar] = &first.exemplars[..] else {
        panic!("{first:?}")
    };
    assert_eq!(
        exemplar.trace_id,
        [
            0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80,
            0x31, 0x9c
        ]
    );
    assert_eq!(
        exemplar.span_id,
        [0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]
    );
    assert_eq!(exemplar.value, Some(exemplar::Value::AsDouble(1.0)));
    assert_eq!(exemplar.time_unix_nano, NOW - 5_000);
    assert_eq!(
        second.value,
        Some(number_data_point::Value::AsDouble(
            18_446_744_073_709_551_615.0
        ))
    );
    // No start time of its own: the exporter's.
    assert_eq!(second.start_time_unix_nano, FALLBACK_START);
    assert!(second.exemplars.is_empty());
    assert_eq!(third.value, Some(number_data_point::Value::AsDouble(2.5)));
}

#[test]
fn gauges_and_unknown_families_are_gauges_without_start() {
    let metrics = written(NOW, |writer| {
        writer.header("queue_length", "Jobs waiting.", Kind::Gauge);
        writer.gauge("queue_length", &[], None, Value::Signed(-3));
        writer.gauge(
            "queue_length",
            &[&Labels::new([("q", "b")])],
            None,
            Value::Float(0.25),
        );
        writer.header("legacy", "Untyped.", Kind::Unknown);
        writer.unknown("legacy", &[], Value::Float(9.0));
        // A family without series is not written.
        writer.header("idle", "Nothing.", Kind::Gauge);
    })
    .unwrap();
    let names: Vec<&str> = metrics.iter().map(|metric| metric.name.as_str()).collect();
    assert_eq!(names, ["queue_length", "legacy"]);
    let Some(Data::Gauge(gauge)) = &metrics[0].data else {
        panic!()
    };
    let values: Vec<Option<f64>> = gauge
        .data_points
        .iter()
        .map(super::messages::NumberDataPoint::as_f64)
        .collect();
    assert_eq!(values, [Some(-3.0), Some(0.25)]);
    assert_eq!(gauge.data_points[0].start_time_unix_nano, 0);
    assert_eq!(gauge.data_points[1].time_unix_nano, NOW);
    let Some(Data::Gauge(legacy)) = &metrics[1].data else {
        panic!()
    };
    assert_eq!(legacy.data_points[0].as_f64(), Some(9.0));
}

#[test]
fn classic_histograms_have_bounds_without_inf_and_counts_per_bucket() {
    let bounds = [0.1, 0.5, 1.0];
    let created = at(NOW - 1_000);
    let exemplars = [
        Some(sample(1, 1, 0.05)),
        None,
        Some(sample(3, 3, 0.7)),
        Some(sample(4, 4, 7.0)),
    ];
    let metrics = written(NOW, |writer| {
        writer.header("wait_seconds", "Waits.", Kind::Histogram);
        let buckets = writer.buckets(&bounds);
        let reading = HistogramReading::Classic {
            cumulative: &[2, 2, 5, 6],
            sum: 9.5,
        };
        let labels = Labels::new([("queue", "mail")]);
        writer.histogram(
            "wait_seconds",
            &[&labels],
            &buckets,
            reading,
            Some(created),
            &exemplars,
        );
    })
    .unwrap();
    let Some(Data::Histogram(histogram)) = &metrics[0].data else {
        panic!("{metrics:?}")
    };
    assert_eq!(
        histogram.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let point = &histogram.data_points[0];
    assert_eq!(point.explicit_bounds, [0.1, 0.5, 1.0]);
    assert_eq!(point.bucket_counts, [2, 0, 3, 1]);
    assert_eq!((point.count, point.sum), (6, Some(9.5)));
    assert_eq!(point.start_time_unix_nano, NOW - 1_000);
    assert_eq!(attributes(&point.attributes), [("queue", "mail")]);
    let values: Vec<_> = point.exemplars.iter().map(|e| e.value).collect();
    assert_eq!(
        values,
        [0.05, 0.7, 7.0].map(|value| Some(exemplar::Value::AsDouble(value)))
    );
    assert_eq!(point.exemplars[2].trace_id, 4u128.to_be_bytes());
}

#[test]
fn native_histograms_are_exponential_histograms() {
    let cells = NativeHistogram::new(&NativeConfig::new(), &[0.5, 1.0]).unwrap();
    for value in [1.0, 1.0, 2.0, 0.0, -1.0, -1.1] {
        cells.observe(value);
    }
    let reading = cells.read();
    let exemplars = [None, Some(sample(9, 8, 1.0)), Some(sample(7, 6, 2.0))];
    let metrics = written(NOW, |writer| {
        writer.header("size_bytes", "Sizes.", Kind::Histogram);
        let buckets = writer.buckets(&[0.5, 1.0]);
        let native = HistogramReading::Native(&reading);
        writer.histogram(
            "size_bytes",
            &[],
            &buckets,
            native,
            Some(reading.created),
            &exemplars,
        );
    })
    .unwrap();
    let Some(Data::ExponentialHistogram(histogram)) = &metrics[0].data else {
        panic!("{metrics:?}")
    };
    assert_eq!(
        histogram.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let point = &histogram.data_points[0];
    assert_eq!(point.scale, 3);
    assert_eq!((point.count, point.sum), (6, Some(reading.sum)));
    assert_eq!(point.zero_count, 1);
    assert_eq!(point.zero_threshold, reading.zero_threshold);
    assert_eq!(point.start_time_unix_nano, unix_nanos(reading.created));
    // Prometheus' bucket 0 holds (2^-1/8, 1], OTLP's -1; 2.0 is the top of Prometheus' 8.
    let positive = point.positive.as_ref().unwrap();
    assert_eq!(positive.offset, -1);
    assert_eq!(positive.bucket_counts, [2, 0, 0, 0, 0, 0, 0, 0, 1]);
    // -1.0 in bucket 0, -1.1 in bucket 2 (1.1 is above 2^(1/8) = 1.0905).
    let negative = point.negative.as_ref().unwrap();
    assert_eq!(negative.offset, -1);
    assert_eq!(negative.bucket_counts, [1, 0, 1]);
    let counted: u64 = positive
        .bucket_counts
        .iter()
        .chain(&negative.bucket_counts)
        .sum();
    assert_eq!(counted + point.zero_count, point.count);
    let ids: Vec<&[u8]> = point
        .exemplars
        .iter()
        .map(|e| e.span_id.as_slice())
        .collect();
    assert_eq!(ids, [&8u64.to_be_bytes()[..], &6u64.to_be_bytes()[..]]);
}

#[test]
fn buckets_too_far_apart_are_merged_at_a_lower_scale() {
    let spread = i32::try_from(MAX_EXPONENTIAL_BUCKETS).unwrap();
    let reading = NativeReading {
        schema: 8,
        zero_threshold: 0.0,
        zero_count: 0,
        count: 4,
        sum: 0.0,
        // Prometheus buckets 1, 2 and 1 + 2 * spread.
        positive_spans: vec![
            Span {
                offset: 1,
                length: 2,
            },
            Span {
                offset: 2 * spread - 2,
                length: 1,
            },
        ],
        positive_deltas: vec![1, 1, -1],
        negative_spans: Vec::new(),
        negative_deltas: Vec::new(),
        classic: Vec::new(),
        created: at(NOW),
    };
    let (scale, positive, negative) = exponential_buckets(&reading);
    // OTLP indexes 0, 1 and 2 * spread: two halvings fit them in `spread` buckets.
    assert_eq!(scale, 6);
    assert_eq!(positive.offset, 0);
    assert!(positive.bucket_counts.len() <= MAX_EXPONENTIAL_BUCKETS);
    assert_eq!(
        positive.bucket_counts.len(),
        MAX_EXPONENTIAL_BUCKETS / 2 + 1
    );
    assert_eq!(positive.bucket_counts[0], 3);
    assert_eq!(*positive.bucket_counts.last().unwrap(), 1);
    assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 4);
    assert!(negative.bucket_counts.is_empty());
}

#[test]
fn cumulative_counts_that_do_not_fit_are_refused() {
    assert_eq!(bucket_counts(&[1, 3, 3], 2), Some(vec![1, 2, 0]));
    assert_eq!(bucket_counts(&[1, 3], 2), None);
    assert_eq!(bucket_counts(&[3, 1, 4], 2), None);
    let error = written(NOW, |writer| {
        writer.header("wait_seconds", "Waits.", Kind::Histogram);
        let buckets = writer.buckets(&[1.0]);
        let reading = HistogramReading::Classic {
            cumulative: &[4, 2],
            sum: 1.0,
        };
        writer.histogram("wait_seconds", &[], &buckets, reading, None, &[]);
    })
    .unwrap_err();
    assert!(error.contains("`wait_seconds`"), "{error}");
}

#[test]
fn a_family_twice_or_a_label_twice_is_an_error_not_a_repeated_series() {
    let error = written(NOW, |writer| {
        for _ in 0..2 {
            writer.header("jobs_total", "Jobs.", Kind::Counter);
            writer.counter("jobs_total", &[], None, Value::Unsigned(1), None, None);
        }
    })
    .unwrap_err();
    assert!(
        error.contains("two families are named `jobs_total`"),
        "{error}"
    );
    let error = written(NOW, |writer| {
        writer.header("jobs_total", "Jobs.", Kind::Counter);
        let labels = Labels::new([("result", "ok")]);
        writer.counter(
            "jobs_total",
            &[&labels],
            Some(("result", "x")),
            Value::Unsigned(1),
            None,
            None,
        );
    })
    .unwrap_err();
    assert!(error.contains("label `result` twice"), "{error}");
    let error = written(NOW, |writer| {
        writer.header("jobs_total", "Jobs.", Kind::Counter);
        writer.gauge("jobs_total", &[], None, Value::Unsigned(1));
    })
    .unwrap_err();
    assert!(error.contains("Counter family"), "{error}");
}

#[test]
fn start_times_stay_the_same_from_one_push_to_the_next() {
    let registry = Registry::new();
    let jobs = registry.int_counter("jobs_total", "Jobs.").unwrap();
    let wait = registry
        .histogram("wait_seconds", "Waits.", &[0.1, 1.0])
        .unwrap();
    let push = |now: u64| {
        let mut writer = OtlpWriter::new(at(now), at(now - 1));
        let scrape = registry.start_scrape(Duration::from_secs(1));
        registry.write_all(&mut writer, scrape, None);
        ScopeMetrics::decode(writer.finish().unwrap().as_slice())
            .unwrap()
            .metrics
    };
    jobs.inc();
    wait.observe(0.5);
    let first = push(NOW);
    jobs.inc_by(2);
    wait.observe(2.0);
    let second = push(NOW + 15_000_000_000);
    let start_and_value = |metrics: &[Metric]| {
        let jobs = metrics
            .iter()
            .find(|metric| metric.name == "jobs_total")
            .unwrap();
        let Some(Data::Sum(sum)) = &jobs.data else {
            panic!()
        };
        let point = &sum.data_points[0];
        let wait = metrics
            .iter()
            .find(|metric| metric.name == "wait_seconds")
            .unwrap();
        let Some(Data::Histogram(histogram)) = &wait.data else {
            panic!("{wait:?}")
        };
        let buckets = &histogram.data_points[0];
        (
            point.start_time_unix_nano,
            point.as_f64().unwrap(),
            point.time_unix_nano,
            buckets.start_time_unix_nano,
            buckets.bucket_counts.clone(),
        )
    };
    let (start, value, time, histogram_start, counts) = start_and_value(&first);
    assert_eq!((value, time, counts), (1.0, NOW, vec![0, 1, 0]));
    let (start_again, value, time, histogram_again, counts) = start_and_value(&second);
    assert_eq!(
        (value, time, counts),
        (3.0, NOW + 15_000_000_000, vec![0, 1, 1])
    );
    // The series' own creation time, not the push's fallback, and the same at each push.
    assert_eq!(start, start_again);
    assert_eq!(histogram_start, histogram_again);
    assert_ne!(start, NOW - 1);
    assert!(start > 0 && start <= unix_nanos(SystemTime::now()));
}
