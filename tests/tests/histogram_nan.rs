//! A NaN observation is ignored, classic or native, through a handle or a family, as a
//! counter ignores a NaN increment: every format keeps each histogram's `_count` and `_sum`
//! with the numbers observed (text and OpenMetrics parsed by the reference parsers, protobuf
//! decoded). A negative sum still leaves `_sum` and `_count` out of OpenMetrics, as the
//! specification asks, and only there.

#![allow(clippy::float_cmp)] // the values compared are sums of exact binary fractions

use std::time::Duration;

use instrument_metric::proto::MetricFamily;
use instrument_metric::{Format, Histogram, HistogramFamily, LabelValue, Metrics};
use integration_tests::{ReferenceSample, python_parse};
use prost::Message;

#[derive(Clone, Copy, Debug, LabelValue)]
enum Queue {
    Fast,
    Slow,
}

#[derive(Metrics)]
#[metrics(prefix = "nan")]
struct NanMetrics {
    /// Waits, by queue.
    #[metric(buckets = [1.0])]
    wait_seconds: HistogramFamily<Queue>,
    /// Waits, in native buckets too.
    #[metric(native_histogram, buckets = [1.0])]
    native_wait_seconds: Histogram,
    /// Temperatures read.
    #[metric(buckets = [0.0, 20.0])]
    room_celsius: Histogram,
}

/// A histogram series' family, labels, count and sum.
type Expected = (
    &'static str,
    &'static [(&'static str, &'static str)],
    f64,
    f64,
);

/// The value of the sample `name` whose labels include `labels`, as a reference parser gave it.
fn value(samples: &[ReferenceSample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(sample, found, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(label, value)| found.get(*label).map(String::as_str) == Some(*value))
        })
        .map(|(_, _, value)| *value)
}

/// Every histogram's (count, sum) by family name and `queue` label, from the protobuf exposition.
fn protobuf() -> Vec<(String, Option<String>, u64, f64, bool)> {
    let bytes = instrument_metric::registry()
        .encode_protobuf_within(Duration::from_secs(5))
        .unwrap();
    let mut bytes = bytes.as_slice();
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut bytes).unwrap();
        for metric in &family.metric {
            if let Some(histogram) = &metric.histogram {
                let queue = metric
                    .label
                    .iter()
                    .find(|pair| pair.name() == "queue")
                    .map(|pair| pair.value().to_owned());
                let native = histogram.schema.is_some();
                out.push((
                    family.name().to_owned(),
                    queue,
                    histogram.sample_count(),
                    histogram.sample_sum(),
                    native,
                ));
            }
        }
    }
    out
}

#[test]
fn a_nan_observation_leaves_every_format_its_count_and_sum() {
    let metrics = NanMetrics::global();
    for (queue, value) in [
        (Queue::Fast, 0.5),
        (Queue::Fast, f64::NAN),
        (Queue::Slow, f64::NAN),
        (Queue::Slow, 2.0),
    ] {
        metrics.wait_seconds.with(queue).observe(value);
    }
    for value in [0.25, f64::NAN, 4.0] {
        metrics.native_wait_seconds.observe(value);
    }
    assert_eq!(metrics.native_wait_seconds.get_sample_count(), 2);
    assert_eq!(metrics.native_wait_seconds.get_sample_sum(), 4.25);

    // Family, labels, count and sum.
    let expected: [Expected; 3] = [
        ("nan_wait_seconds", &[("queue", "fast")], 1.0, 0.5),
        ("nan_wait_seconds", &[("queue", "slow")], 1.0, 2.0),
        ("nan_native_wait_seconds", &[], 2.0, 4.25),
    ];
    let text = python_parse(&instrument_metric::render(), false).unwrap();
    let openmetrics =
        python_parse(&instrument_metric::render_as(Format::OpenMetrics), true).unwrap();
    for samples in [&text, &openmetrics] {
        for (name, labels, count, sum) in expected {
            let count_name = format!("{name}_count");
            assert_eq!(
                value(samples, &count_name, labels),
                Some(count),
                "{name} {labels:?}"
            );
            let sum_name = format!("{name}_sum");
            assert_eq!(
                value(samples, &sum_name, labels),
                Some(sum),
                "{name} {labels:?}"
            );
            let inf = [labels, &[("le", "+Inf")]].concat();
            let bucket = format!("{name}_bucket");
            assert_eq!(
                value(samples, &bucket, &inf),
                Some(count),
                "{name} {labels:?}"
            );
        }
    }
    let decoded = protobuf();
    let found = |name: &str, queue: Option<&str>| {
        decoded
            .iter()
            .find(|(family, label, ..)| family == name && label.as_deref() == queue)
            .map(|(_, _, count, sum, native)| (*count, *sum, *native))
    };
    assert_eq!(
        found("nan_wait_seconds", Some("fast")),
        Some((1, 0.5, false))
    );
    assert_eq!(
        found("nan_wait_seconds", Some("slow")),
        Some((1, 2.0, false))
    );
    assert_eq!(
        found("nan_native_wait_seconds", None),
        Some((2, 4.25, true))
    );
}

#[test]
fn a_negative_sum_leaves_count_and_sum_out_of_openmetrics_only() {
    let room = &NanMetrics::global().room_celsius;
    room.observe(-5.0);
    let openmetrics =
        python_parse(&instrument_metric::render_as(Format::OpenMetrics), true).unwrap();
    assert_eq!(value(&openmetrics, "nan_room_celsius_count", &[]), None);
    assert_eq!(value(&openmetrics, "nan_room_celsius_sum", &[]), None);
    assert_eq!(
        value(&openmetrics, "nan_room_celsius_bucket", &[("le", "+Inf")]),
        Some(1.0),
        "the `+Inf` bucket is the count"
    );
    let text = python_parse(&instrument_metric::render(), false).unwrap();
    assert_eq!(value(&text, "nan_room_celsius_count", &[]), Some(1.0));
    assert_eq!(value(&text, "nan_room_celsius_sum", &[]), Some(-5.0));
    // Back above zero, the sum is a counter again.
    room.observe(30.0);
    let openmetrics =
        python_parse(&instrument_metric::render_as(Format::OpenMetrics), true).unwrap();
    assert_eq!(
        value(&openmetrics, "nan_room_celsius_count", &[]),
        Some(2.0)
    );
    assert_eq!(value(&openmetrics, "nan_room_celsius_sum", &[]), Some(25.0));
}
