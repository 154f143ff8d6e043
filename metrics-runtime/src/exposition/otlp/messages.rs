//! The OTLP messages an export request holds: `ExportMetricsServiceRequest` and what it holds,
//! as `opentelemetry-proto`'s `opentelemetry/proto/{collector/metrics,metrics,common,resource}/v1`
//! declare them (proto3), with `prost`'s derive, field numbers and types as there.
//!
//! Declared here rather than taken from the `opentelemetry-proto` crate: its metric messages
//! exist only with its `metrics` feature, which builds the OpenTelemetry SDK's metrics pipeline
//! (`opentelemetry_sdk` with `futures-channel`, `futures-executor`, `futures-util` and
//! `thiserror`) for the conversions from the SDK's types, none of which this crate uses; and a
//! library should depend on the OpenTelemetry API only, never on an SDK. The messages below
//! are the subset a metrics export writes (no profiles, logs or traces, no `metadata` field,
//! no deprecated ones), and a receiver reads them as the full declarations.

use prost::{Message, Oneof};

/// The `Content-Type` of an OTLP/HTTP protobuf request.
///
/// ```
/// assert_eq!(instrument_metric::otlp::OTLP_CONTENT_TYPE, "application/x-protobuf");
/// ```
pub const OTLP_CONTENT_TYPE: &str = "application/x-protobuf";

/// `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest`: the body of a
/// `POST /v1/metrics`.
///
/// ```
/// use instrument_metric::otlp::proto::ExportMetricsServiceRequest;
/// use prost::Message;
///
/// let request = ExportMetricsServiceRequest::default();
/// assert!(request.encode_to_vec().is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceRequest {
    /// The metrics of each resource (one: the process).
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ExportMetricsServiceResponse`: what a receiver answers; `partial_success` when it
/// rejected some data points.
///
/// ```
/// use instrument_metric::otlp::proto::ExportMetricsServiceResponse;
///
/// assert!(ExportMetricsServiceResponse::default().partial_success.is_none());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsServiceResponse {
    /// The points rejected, if any.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

/// `ExportMetricsPartialSuccess`: how many points a receiver rejected, and why.
///
/// ```
/// use instrument_metric::otlp::proto::ExportMetricsPartialSuccess;
///
/// assert_eq!(ExportMetricsPartialSuccess::default().rejected_data_points, 0);
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ExportMetricsPartialSuccess {
    /// Points rejected.
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    /// The receiver's message.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `ResourceMetrics`: the metrics of one resource (here: the process).
///
/// ```
/// use instrument_metric::otlp::proto::ResourceMetrics;
///
/// assert!(ResourceMetrics::default().scope_metrics.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ResourceMetrics {
    /// The resource: `service.name`, `service.instance.id` and the attributes given.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The metrics, by instrumentation scope (one: this crate).
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    /// The schema URL of the resource's attributes (none).
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `opentelemetry.proto.resource.v1.Resource`.
///
/// ```
/// use instrument_metric::otlp::proto::Resource;
///
/// assert!(Resource::default().attributes.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    /// Its attributes.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Attributes left out.
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `ScopeMetrics`: the metrics of one instrumentation scope.
///
/// ```
/// use instrument_metric::otlp::proto::ScopeMetrics;
///
/// assert!(ScopeMetrics::default().metrics.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ScopeMetrics {
    /// The scope: this crate's name and version.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// One metric per family.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// The schema URL (none).
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `opentelemetry.proto.common.v1.InstrumentationScope`.
///
/// ```
/// use instrument_metric::otlp::proto::InstrumentationScope;
///
/// assert!(InstrumentationScope::default().name.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    /// Its name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Its attributes.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    /// Attributes left out.
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

/// `opentelemetry.proto.common.v1.KeyValue`: an attribute (a label).
///
/// ```
/// use instrument_metric::otlp::proto::KeyValue;
///
/// let pair = KeyValue::string("method", "GET");
/// assert_eq!((pair.key.as_str(), pair.as_str()), ("method", Some("GET")));
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Its value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

impl KeyValue {
    /// An attribute whose value is a string.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::KeyValue;
    ///
    /// assert_eq!(KeyValue::string("a", "b").as_str(), Some("b"));
    /// ```
    #[must_use]
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
        }
    }

    /// Its value, when it is a string.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::KeyValue;
    ///
    /// assert_eq!(KeyValue::default().as_str(), None);
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(value) => Some(value),
            _ => None,
        }
    }
}

/// `opentelemetry.proto.common.v1.AnyValue`, for the kinds of value this crate writes.
///
/// ```
/// use instrument_metric::otlp::proto::{AnyValue, any_value};
///
/// let value = AnyValue { value: Some(any_value::Value::IntValue(3)) };
/// assert!(value.value.is_some());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4")]
    pub value: Option<any_value::Value>,
}

/// The kinds of [`AnyValue`].
pub mod any_value {
    use super::Oneof;

    /// A value of an attribute.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::any_value::Value;
    ///
    /// assert_ne!(Value::BoolValue(true), Value::IntValue(1));
    /// ```
    #[derive(Clone, PartialEq, Oneof)]
    pub enum Value {
        /// A string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// An integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// A double.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
    }
}

/// `opentelemetry.proto.metrics.v1.Metric`: one family.
///
/// ```
/// use instrument_metric::otlp::proto::{Gauge, Metric, metric::Data};
///
/// let metric = Metric {
///     name: "queue_length".into(),
///     data: Some(Data::Gauge(Gauge::default())),
///     ..Metric::default()
/// };
/// assert_eq!(metric.name, "queue_length");
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// The family's name, as on `/metrics`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its help text.
    #[prost(string, tag = "2")]
    pub description: String,
    /// Its unit (left empty: the name carries it).
    #[prost(string, tag = "3")]
    pub unit: String,
    /// Its points.
    #[prost(oneof = "metric::Data", tags = "5, 7, 9, 10, 11")]
    pub data: Option<metric::Data>,
}

/// The kinds of [`Metric`].
pub mod metric {
    use super::Oneof;

    /// A metric's points, of one kind.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::{Gauge, metric::Data};
    ///
    /// assert!(matches!(Data::Gauge(Gauge::default()), Data::Gauge(_)));
    /// ```
    #[derive(Clone, PartialEq, Oneof)]
    pub enum Data {
        /// A gauge family's.
        #[prost(message, tag = "5")]
        Gauge(super::Gauge),
        /// A counter family's: cumulative, monotonic.
        #[prost(message, tag = "7")]
        Sum(super::Sum),
        /// A classic histogram family's.
        #[prost(message, tag = "9")]
        Histogram(super::Histogram),
        /// A native histogram family's.
        #[prost(message, tag = "10")]
        ExponentialHistogram(super::ExponentialHistogram),
        /// A summary family's.
        #[prost(message, tag = "11")]
        Summary(super::Summary),
    }
}

/// `AggregationTemporality`: every point this crate writes is cumulative.
///
/// ```
/// use instrument_metric::otlp::proto::AggregationTemporality;
///
/// assert_eq!(AggregationTemporality::Cumulative as i32, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregationTemporality {
    /// Not set: an invalid point.
    Unspecified = 0,
    /// Each point counts since the one before.
    Delta = 1,
    /// Each point counts since the start time.
    Cumulative = 2,
}

/// A gauge: its points.
///
/// ```
/// use instrument_metric::otlp::proto::Gauge;
///
/// assert!(Gauge::default().data_points.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    /// One per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// A sum: a counter's points, with their temporality and monotonicity.
///
/// ```
/// use instrument_metric::otlp::proto::Sum;
///
/// assert!(!Sum::default().is_monotonic);
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    /// One per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// Cumulative.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
    /// True for a counter.
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// A histogram with explicit bounds (a classic histogram).
///
/// ```
/// use instrument_metric::otlp::proto::Histogram;
///
/// assert!(Histogram::default().data_points.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// One per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    /// Cumulative.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
}

/// An exponential histogram (a native histogram).
///
/// ```
/// use instrument_metric::otlp::proto::ExponentialHistogram;
///
/// assert!(ExponentialHistogram::default().data_points.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogram {
    /// One per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<ExponentialHistogramDataPoint>,
    /// Cumulative.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
}

/// A summary: quantiles, sum and count.
///
/// ```
/// use instrument_metric::otlp::proto::Summary;
///
/// assert!(Summary::default().data_points.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// One per series.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// One series of a gauge or a sum.
///
/// ```
/// use instrument_metric::otlp::proto::{NumberDataPoint, number_data_point::Value};
///
/// let point = NumberDataPoint { value: Some(Value::AsInt(3)), ..NumberDataPoint::default() };
/// assert_eq!(point.as_f64(), Some(3.0));
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct NumberDataPoint {
    /// Its labels.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// When a counter's series started from 0, in nanoseconds since the Unix epoch.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When it was read.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// A counter's exemplar.
    #[prost(message, repeated, tag = "5")]
    pub exemplars: Vec<Exemplar>,
    /// Flags (none).
    #[prost(uint32, tag = "8")]
    pub flags: u32,
    /// The value.
    #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
    pub value: Option<number_data_point::Value>,
}

impl NumberDataPoint {
    /// The value as a double, as Prometheus stores it.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::NumberDataPoint;
    ///
    /// assert_eq!(NumberDataPoint::default().as_f64(), None);
    /// ```
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // as Prometheus reads it
    pub fn as_f64(&self) -> Option<f64> {
        match self.value? {
            number_data_point::Value::AsDouble(value) => Some(value),
            number_data_point::Value::AsInt(value) => Some(value as f64),
        }
    }
}

/// The kinds of [`NumberDataPoint`] value.
pub mod number_data_point {
    use super::Oneof;

    /// A point's value.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::number_data_point::Value;
    ///
    /// assert_ne!(Value::AsDouble(1.0), Value::AsInt(1));
    /// ```
    #[derive(Clone, Copy, PartialEq, Oneof)]
    pub enum Value {
        /// A double.
        #[prost(double, tag = "4")]
        AsDouble(f64),
        /// An integer.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

/// One series of a classic histogram: `bucket_counts[i]` counts the observations in
/// `(explicit_bounds[i - 1], explicit_bounds[i]]`, the last one those above every bound (not
/// cumulative, unlike Prometheus' `le` buckets).
///
/// ```
/// use instrument_metric::otlp::proto::HistogramDataPoint;
///
/// let point = HistogramDataPoint { explicit_bounds: vec![1.0], bucket_counts: vec![2, 1], count: 3, ..HistogramDataPoint::default() };
/// assert_eq!(point.bucket_counts.iter().sum::<u64>(), point.count);
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct HistogramDataPoint {
    /// Its labels.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// When the series started from 0.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When it was read.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Their sum.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// The count of each bucket, one more than the bounds.
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// The buckets' upper bounds, without `+Inf`.
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    /// The buckets' exemplars, in ascending order of value.
    #[prost(message, repeated, tag = "8")]
    pub exemplars: Vec<Exemplar>,
    /// Flags (none).
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    /// The smallest observation (not kept).
    #[prost(double, optional, tag = "11")]
    pub min: Option<f64>,
    /// The largest observation (not kept).
    #[prost(double, optional, tag = "12")]
    pub max: Option<f64>,
}

/// One series of a native histogram: bucket `offset + i` of each sign counts the observations
/// of magnitude in `(base^(offset + i), base^(offset + i + 1)]`, `base = 2^(2^-scale)`, those
/// within `zero_threshold` of 0 counted apart.
///
/// ```
/// use instrument_metric::otlp::proto::ExponentialHistogramDataPoint;
///
/// assert_eq!(ExponentialHistogramDataPoint::default().scale, 0);
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct ExponentialHistogramDataPoint {
    /// Its labels.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// When the series started from 0 (or was last reset).
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When it was read.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Their sum.
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// The resolution: Prometheus' schema.
    #[prost(sint32, tag = "6")]
    pub scale: i32,
    /// Observations in the zero bucket.
    #[prost(fixed64, tag = "7")]
    pub zero_count: u64,
    /// Positive buckets.
    #[prost(message, optional, tag = "8")]
    pub positive: Option<exponential_histogram_data_point::Buckets>,
    /// Negative buckets, by magnitude.
    #[prost(message, optional, tag = "9")]
    pub negative: Option<exponential_histogram_data_point::Buckets>,
    /// Flags (none).
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    /// Exemplars.
    #[prost(message, repeated, tag = "11")]
    pub exemplars: Vec<Exemplar>,
    /// The smallest observation (not kept).
    #[prost(double, optional, tag = "12")]
    pub min: Option<f64>,
    /// The largest observation (not kept).
    #[prost(double, optional, tag = "13")]
    pub max: Option<f64>,
    /// The zero bucket's threshold.
    #[prost(double, tag = "14")]
    pub zero_threshold: f64,
}

/// The buckets of [`ExponentialHistogramDataPoint`].
pub mod exponential_histogram_data_point {
    use super::Message;

    /// Consecutive buckets of one sign: `bucket_counts[i]` is bucket `offset + i`'s count.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::exponential_histogram_data_point::Buckets;
    ///
    /// let buckets = Buckets { offset: -1, bucket_counts: vec![2, 0, 1] };
    /// assert_eq!(buckets.bucket_counts.len(), 3);
    /// ```
    #[derive(Clone, PartialEq, Message)]
    pub struct Buckets {
        /// The first bucket's index.
        #[prost(sint32, tag = "1")]
        pub offset: i32,
        /// Counts, not cumulative.
        #[prost(uint64, repeated, tag = "2")]
        pub bucket_counts: Vec<u64>,
    }
}

/// One series of a summary.
///
/// ```
/// use instrument_metric::otlp::proto::SummaryDataPoint;
///
/// assert!(SummaryDataPoint::default().quantile_values.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct SummaryDataPoint {
    /// Its labels.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// When the series started from 0.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// When it was read.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// Observations.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// Their sum.
    #[prost(double, tag = "5")]
    pub sum: f64,
    /// The quantiles.
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<summary_data_point::ValueAtQuantile>,
    /// Flags (none).
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// The quantiles of [`SummaryDataPoint`].
pub mod summary_data_point {
    use super::Message;

    /// One quantile.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::summary_data_point::ValueAtQuantile;
    ///
    /// let median = ValueAtQuantile { quantile: 0.5, value: 0.2 };
    /// assert_eq!(median.quantile, 0.5);
    /// ```
    #[derive(Clone, PartialEq, Message)]
    pub struct ValueAtQuantile {
        /// The quantile, from 0 to 1.
        #[prost(double, tag = "1")]
        pub quantile: f64,
        /// Its value.
        #[prost(double, tag = "2")]
        pub value: f64,
    }
}

/// An exemplar: one observation, with the trace and span it was made in.
///
/// ```
/// use instrument_metric::otlp::proto::Exemplar;
///
/// assert!(Exemplar::default().trace_id.is_empty());
/// ```
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// Other attributes (none).
    #[prost(message, repeated, tag = "7")]
    pub filtered_attributes: Vec<KeyValue>,
    /// When the observation was made.
    #[prost(fixed64, tag = "2")]
    pub time_unix_nano: u64,
    /// The span id, 8 bytes.
    #[prost(bytes = "vec", tag = "4")]
    pub span_id: Vec<u8>,
    /// The trace id, 16 bytes.
    #[prost(bytes = "vec", tag = "5")]
    pub trace_id: Vec<u8>,
    /// The observed value.
    #[prost(oneof = "exemplar::Value", tags = "3, 6")]
    pub value: Option<exemplar::Value>,
}

/// The kinds of [`Exemplar`] value.
pub mod exemplar {
    use super::Oneof;

    /// An exemplar's value.
    ///
    /// ```
    /// use instrument_metric::otlp::proto::exemplar::Value;
    ///
    /// assert_eq!(Value::AsDouble(0.5), Value::AsDouble(0.5));
    /// ```
    #[derive(Clone, Copy, PartialEq, Oneof)]
    pub enum Value {
        /// A double.
        #[prost(double, tag = "3")]
        AsDouble(f64),
        /// An integer.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}
