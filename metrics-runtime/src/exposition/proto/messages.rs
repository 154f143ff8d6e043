//! The messages: `io.prometheus.client.MetricFamily` and what it holds, field numbers and
//! types as in `metrics.proto`, and the conversions the writer needs.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::exposition::Kind;
use crate::model::MetricKind;
use crate::storage::exemplar::Exemplar as Sample;

/// The `Content-Type` of the protobuf exposition.
///
/// ```
/// assert!(instrument_metric::proto::PROTOBUF_CONTENT_TYPE.ends_with("encoding=delimited"));
/// ```
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// A label: name and value.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPair {
    /// The label name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// The label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// The type of a family, which says which field of its metrics holds the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// `counter`.
    Counter = 0,
    /// `gauge`.
    Gauge = 1,
    /// `summary`.
    Summary = 2,
    /// `untyped`.
    Untyped = 3,
    /// `histogram`.
    Histogram = 4,
    /// A histogram of a gauge: its buckets can go down.
    GaugeHistogram = 5,
}

/// A gauge's value.
#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A counter's value.
#[derive(Clone, PartialEq, Message)]
pub struct Counter {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
    /// An exemplar.
    #[prost(message, optional, tag = "2")]
    pub exemplar: Option<Exemplar>,
    /// When the counter started from 0.
    #[prost(message, optional, tag = "3")]
    pub created_timestamp: Option<Timestamp>,
}

/// A summary's quantile.
#[derive(Clone, PartialEq, Message)]
pub struct Quantile {
    /// The quantile, from 0 to 1.
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    /// Its value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// A summary's values.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// Observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Their sum.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Quantiles.
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
    /// When the summary started from 0.
    #[prost(message, optional, tag = "4")]
    pub created_timestamp: Option<Timestamp>,
}

/// An untyped value.
#[derive(Clone, PartialEq, Message)]
pub struct Untyped {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A histogram's values: classic buckets, native buckets, or both.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// Observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Observations, for a float histogram (used when above 0).
    #[prost(double, optional, tag = "4")]
    pub sample_count_float: Option<f64>,
    /// Their sum.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Classic buckets, by increasing upper bound; `+Inf` may be left out.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// When the histogram started from 0.
    #[prost(message, optional, tag = "15")]
    pub created_timestamp: Option<Timestamp>,
    /// The native buckets' schema, -4 to 8.
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    /// The zero bucket's threshold.
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    /// Observations in the zero bucket.
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    /// The same, for a float histogram.
    #[prost(double, optional, tag = "8")]
    pub zero_count_float: Option<f64>,
    /// Negative buckets: spans.
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    /// Negative buckets: count differences, each from the previous bucket.
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub negative_delta: Vec<i64>,
    /// Negative buckets: counts, for a float histogram.
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub negative_count: Vec<f64>,
    /// Positive buckets: spans; one of offset 0 and length 0 marks an empty native histogram
    /// whose zero threshold is 0.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Positive buckets: count differences.
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
    /// Positive buckets: counts, for a float histogram.
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub positive_count: Vec<f64>,
    /// Exemplars of the native histogram, each with a timestamp.
    #[prost(message, repeated, tag = "16")]
    pub exemplars: Vec<Exemplar>,
}

/// A classic histogram bucket.
#[derive(Clone, PartialEq, Message)]
pub struct Bucket {
    /// Observations at most the upper bound.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// The same, for a float histogram.
    #[prost(double, optional, tag = "4")]
    pub cumulative_count_float: Option<f64>,
    /// The upper bound, inclusive.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
    /// An exemplar.
    #[prost(message, optional, tag = "3")]
    pub exemplar: Option<Exemplar>,
}

/// A run of consecutive native buckets.
#[derive(Clone, PartialEq, Message)]
pub struct BucketSpan {
    /// The gap from the previous span, or the first bucket's number.
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    /// Buckets in the span.
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

/// An exemplar: labels (a trace id), a value, when.
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// Its labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// The observed value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
    /// When it was observed.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// One series of a family.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// Its labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// A gauge's value.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    /// A counter's value.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    /// A summary's values.
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    /// An untyped value.
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    /// A histogram's values.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
    /// When the value was taken, in milliseconds since the Unix epoch (not for live values).
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
}

/// A family: name, help, type and series.
#[derive(Clone, PartialEq, Message)]
pub struct MetricFamily {
    /// The family name (a counter's with its `_total`).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// The help text, as it is (no escaping).
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// The type.
    #[prost(enumeration = "MetricType", optional, tag = "3")]
    pub r#type: Option<i32>,
    /// The series.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    /// The unit, which the name must end in.
    #[prost(string, optional, tag = "5")]
    pub unit: Option<String>,
}

/// `google.protobuf.Timestamp` (proto3): seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds in the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        let (after, before) = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (after, false),
            Err(before) => (before.duration(), true),
        };
        let seconds = i64::try_from(after.as_secs()).unwrap_or(i64::MAX);
        let nanos = i32::try_from(after.subsec_nanos()).unwrap_or(0);
        match (before, nanos) {
            (false, _) => Timestamp { seconds, nanos },
            (true, 0) => Timestamp {
                seconds: -seconds,
                nanos: 0,
            },
            // Nanoseconds count forward from the second, before the epoch too.
            (true, _) => Timestamp {
                seconds: -seconds - 1,
                nanos: 1_000_000_000 - nanos,
            },
        }
    }
}

impl MetricType {
    /// The type as the text format names it: `counter`, `gauge_histogram`, ...
    ///
    /// ```
    /// use instrument_metric::proto::MetricType;
    ///
    /// assert_eq!(MetricType::Untyped.as_str(), "untyped");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gauge_histogram",
        }
    }
}

impl From<Kind> for MetricType {
    fn from(kind: Kind) -> MetricType {
        match kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Histogram => MetricType::Histogram,
            Kind::Summary => MetricType::Summary,
            Kind::Unknown => MetricType::Untyped,
        }
    }
}

impl From<MetricKind> for MetricType {
    fn from(kind: MetricKind) -> MetricType {
        Kind::from(kind).into()
    }
}

impl From<&Sample> for Exemplar {
    fn from(sample: &Sample) -> Exemplar {
        let label = |name: &str, value: String| LabelPair {
            name: Some(name.to_owned()),
            value: Some(value),
        };
        Exemplar {
            label: vec![
                label("trace_id", sample.trace_id()),
                label("span_id", sample.span_id()),
            ],
            value: Some(sample.value),
            timestamp: Some(sample.time.into()),
        }
    }
}
