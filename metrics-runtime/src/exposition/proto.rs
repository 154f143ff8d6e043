//! The Prometheus protobuf exposition: `io.prometheus.client.MetricFamily` messages, each
//! preceded by its length as a varint (`encoding=delimited`), the format that carries native
//! histograms and created timestamps.
//!
//! The messages are those of `prometheus/client_model`'s `io/prometheus/client/metrics.proto`
//! (proto2), declared here with `prost`'s derive, field numbers and types as there, so that
//! no `protoc` runs at build time; `Timestamp` is `google.protobuf.Timestamp`. Repeated
//! numbers are written unpacked, as proto2 declares them (parsers read both).
//!
//! [`ProtoWriter`] has the methods of the text formats' writer, called the same way (a
//! header, then the family's series one at a time), and writes one `MetricFamily` per family.
//! A registry's families give it each label set with its pairs, made when the family was
//! (their encoding is kept after the first scrape: labels do not change); its public methods,
//! for expositions written by hand, take rendered label lists like `a="x",b="y"` and read
//! them back ([`parse_label_list`]):
//!
//! ```
//! use instrument_metric::proto::{MetricFamily, MetricType, ProtoWriter};
//! use prost::Message;
//!
//! let mut out = Vec::new();
//! let mut writer = ProtoWriter::new(&mut out);
//! writer.header("jobs_total", "Jobs run.", MetricType::Counter);
//! writer.counter("jobs_total", &[r#"queue="a\"b""#], Some(("result", "ok")), 3.0, None);
//! writer.finish().unwrap();
//!
//! let family = MetricFamily::decode_length_delimited(out.as_slice()).unwrap();
//! assert_eq!(family.name(), "jobs_total");
//! let metric = &family.metric[0];
//! assert_eq!(metric.label[0].value(), "a\"b");
//! assert_eq!(metric.label[1].name(), "result");
//! assert_eq!(metric.counter.as_ref().unwrap().value(), 3.0);
//! ```

use std::collections::HashSet;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::exposition::{Buckets, Exposition, HistogramReading, Kind, Value};
use crate::model::MetricKind;
use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;
use crate::storage::native_histogram::{NativeReading, Span};

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

/// A rendered label list that does not read back: a bug in the code that rendered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelListError {
    /// The list.
    pub list: String,
    /// The byte where reading stopped.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for LabelListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a rendered label list must be `name=\"value\"` pairs joined by commas, with `\\`, \
             `\"` and line feeds escaped in values; expected {} at byte {} of `{}`",
            self.expected, self.at, self.list
        )
    }
}

impl std::error::Error for LabelListError {}

/// Reads a rendered label list (`a="x",b="y\"z"`, as the text writer's callers render them)
/// back into label pairs, appended to `out`, values unescaped. An empty list has no pair.
///
/// # Errors
///
/// A list that is not `name="value"` pairs joined by commas: a name that is not
/// `[a-zA-Z_][a-zA-Z0-9_]*`, a missing `=` or quote, an escape other than `\\`, `\"`, `\n`, an
/// unescaped line feed, a comma at the end.
///
/// ```
/// use instrument_metric::proto::parse_label_list;
///
/// let mut pairs = Vec::new();
/// parse_label_list(r#"path="/a,b",quote="\"x\"\\""#, &mut pairs).unwrap();
/// assert_eq!((pairs[0].name(), pairs[0].value()), ("path", "/a,b"));
/// assert_eq!((pairs[1].name(), pairs[1].value()), ("quote", "\"x\"\\"));
/// assert!(parse_label_list("a=x", &mut pairs).is_err());
/// ```
pub fn parse_label_list(list: &str, out: &mut Vec<LabelPair>) -> Result<(), LabelListError> {
    let error = |at: usize, expected: &'static str| LabelListError {
        list: list.to_owned(),
        at,
        expected,
    };
    if list.is_empty() {
        return Ok(());
    }
    let mut chars = list.char_indices().peekable();
    loop {
        let start = chars.peek().map_or(list.len(), |(at, _)| *at);
        let mut end = start;
        while let Some(&(at, c)) = chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            end = at + 1;
            chars.next();
        }
        let name = &list[start..end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(error(start, "a label name"));
        }
        for expected in ['=', '"'] {
            match chars.next() {
                Some((_, c)) if c == expected => {}
                other => {
                    let at = other.map_or(list.len(), |(at, _)| at);
                    return Err(error(at, if expected == '=' { "`=`" } else { "`\"`" }));
                }
            }
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some((_, '"')) => break,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => {
                        let at = other.map_or(list.len(), |(at, _)| at);
                        return Err(error(at, "`\\\\`, `\\\"` or `\\n` after `\\`"));
                    }
                },
                Some((at, '\n')) => return Err(error(at, "an escaped line feed")),
                Some((_, c)) => value.push(c),
                None => return Err(error(list.len(), "a closing `\"`")),
            }
        }
        out.push(LabelPair {
            name: Some(name.to_owned()),
            value: Some(value),
        });
        match chars.next() {
            None => return Ok(()),
            Some((_, ',')) if chars.peek().is_some() => {}
            Some((at, _)) => return Err(error(at, "`,` and another label, or the end")),
        }
    }
}

/// Why [`ProtoWriter`] left a series out. Each is a bug in the code that calls it, reported
/// rather than written as a series Prometheus would misread or refuse.
#[derive(Clone, Debug, PartialEq)]
pub enum ProtoError {
    /// A label list did not read back.
    Labels(LabelListError),
    /// A series has two labels of one name.
    DuplicateLabel {
        /// The family.
        family: String,
        /// The label name.
        label: String,
    },
    /// A series came before any header.
    NoFamily {
        /// The series' name.
        series: String,
    },
    /// A series is named unlike the family it follows.
    OtherFamily {
        /// The family.
        family: String,
        /// The series' name.
        series: String,
    },
    /// A series of another type than its family's: Prometheus would read another field.
    WrongType {
        /// The family.
        family: String,
        /// The family's type.
        declared: MetricType,
        /// The series' type.
        written: MetricType,
    },
    /// A histogram series whose counts do not match its bounds (one per bound and `+Inf`).
    Buckets {
        /// The family.
        family: String,
        /// The bounds.
        bounds: usize,
        /// The cumulative counts given.
        counts: usize,
    },
    /// A family written a second time.
    DuplicateFamily {
        /// The family.
        family: String,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::Labels(error) => error.fmt(f),
            ProtoError::DuplicateLabel { family, label } => write!(
                f,
                "a series of `{family}` has the label `{label}` twice; a label name must appear \
                 once per series"
            ),
            ProtoError::NoFamily { series } => write!(
                f,
                "series `{series}` was written before any family header; write its header first"
            ),
            ProtoError::OtherFamily { family, series } => write!(
                f,
                "series `{series}` was written in family `{family}`; write the header of its own \
                 family first"
            ),
            ProtoError::WrongType {
                family,
                declared,
                written,
            } => write!(
                f,
                "family `{family}` is a {} but a {} series was written in it; a family's series \
                 must all be of its type",
                declared.as_str(),
                written.as_str()
            ),
            ProtoError::Buckets {
                family,
                bounds,
                counts,
            } => write!(
                f,
                "a histogram of `{family}` with {bounds} bounds needs {} cumulative counts \
                 (`+Inf` last), got {counts}",
                bounds + 1
            ),
            ProtoError::DuplicateFamily { family } => write!(
                f,
                "family `{family}` was written twice; write each family once, all its series \
                 together"
            ),
        }
    }
}

impl std::error::Error for ProtoError {}

/// Writes families as length-delimited `MetricFamily` messages, with the methods of the text
/// formats' writer: [`ProtoWriter::header`] starts a family, each series method writes one
/// series of it, [`ProtoWriter::finish`] ends the exposition. Labels come as rendered label
/// lists (joined with commas, empty ones skipped), plus one `extra` label whose value needs
/// no escaping; counters, summaries and histograms take a created timestamp.
///
/// A series that cannot be written as it should (see [`ProtoError`]) is left out, and
/// `finish` returns the first such error, so that a caller can answer with an error rather
/// than serve an exposition with a series missing.
///
/// ```
/// use instrument_metric::proto::{MetricFamily, MetricType, ProtoWriter};
/// use prost::Message;
///
/// let mut out = Vec::new();
/// let mut writer = ProtoWriter::new(&mut out);
/// writer.header("queue_length", "Jobs waiting.", MetricType::Gauge);
/// writer.gauge("queue_length", &[r#"queue="mail""#], None, 4.0);
/// writer.header("queue_wait_seconds", "Time jobs waited.", MetricType::Histogram);
/// writer.histogram("queue_wait_seconds", &[], &[0.1, 1.0], &[2, 3, 3], 0.5, None);
/// writer.finish().unwrap();
///
/// let mut bytes = out.as_slice();
/// let gauge = MetricFamily::decode_length_delimited(&mut bytes).unwrap();
/// let histogram = MetricFamily::decode_length_delimited(&mut bytes).unwrap();
/// assert_eq!(gauge.metric[0].gauge.as_ref().unwrap().value(), 4.0);
/// let buckets = &histogram.metric[0].histogram.as_ref().unwrap().bucket;
/// assert_eq!(buckets[1].cumulative_count(), 3);
/// assert!(bytes.is_empty());
/// ```
pub struct ProtoWriter<'a> {
    out: &'a mut Vec<u8>,
    /// The family being written, without its series.
    family: Option<MetricFamily>,
    /// Where the family being written starts in `out` (the room for its length), and where
    /// its series start (each encoded as field 4 of the family).
    family_start: usize,
    series_start: usize,
    /// The histogram of the series being written, kept between series for its vectors.
    histogram: Histogram,
    /// Its labels, encoded as fields of `Metric`.
    labels: Vec<u8>,
    /// Its value, encoded as the fields of the message that holds it.
    value: Vec<u8>,
    /// The last created time written, and its field.
    last_time: Option<SystemTime>,
    last_field: Vec<u8>,
    /// Label lists read back, kept between series.
    parsed: Vec<LabelPair>,
    written: HashSet<String>,
    /// Each family written, with its number of series.
    families: Vec<(String, u64)>,
    error: Option<ProtoError>,
}

/// The room `ProtoWriter::header` leaves for a family's length: three bytes, as a varint, for
/// families of 16 KiB to 2 MiB, those whose bytes it is worth not moving.
const LENGTH_ROOM: usize = 3;

/// The key of `MetricFamily.metric`: field 4, length-delimited.
const METRIC_FIELD_KEY: u8 = 4 << 3 | 2;

/// The fields of `Metric` that hold a value.
const GAUGE_FIELD: u8 = 2;
const COUNTER_FIELD: u8 = 3;
const SUMMARY_FIELD: u8 = 4;
const UNTYPED_FIELD: u8 = 5;
const HISTOGRAM_FIELD: u8 = 7;

impl<'a> ProtoWriter<'a> {
    /// A writer appending to `out`.
    ///
    /// ```
    /// use instrument_metric::proto::ProtoWriter;
    ///
    /// let mut out = Vec::new();
    /// ProtoWriter::new(&mut out).finish().unwrap();
    /// assert!(out.is_empty());
    /// ```
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        ProtoWriter {
            out,
            family: None,
            family_start: 0,
            series_start: 0,
            histogram: Histogram::default(),
            labels: Vec::new(),
            value: Vec::new(),
            last_time: None,
            last_field: Vec::new(),
            parsed: Vec::new(),
            written: HashSet::new(),
            families: Vec::new(),
            error: None,
        }
    }

    /// Starts family `name`: its series follow. A family without series is not written.
    ///
    /// ```
    /// use instrument_metric::proto::{MetricType, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("idle", "No series.", MetricType::Gauge);
    /// writer.finish().unwrap();
    /// assert!(out.is_empty());
    /// ```
    pub fn header(&mut self, name: &str, help: &str, kind: impl Into<MetricType>) {
        self.flush();
        if !self.written.insert(name.to_owned()) {
            // Its series are left out: a second family of one name would repeat series.
            self.fail(ProtoError::DuplicateFamily {
                family: name.to_owned(),
            });
            return;
        }
        self.families.push((name.to_owned(), 0));
        let family = MetricFamily {
            name: Some(name.to_owned()),
            help: Some(help.to_owned()),
            r#type: Some(kind.into() as i32),
            metric: Vec::new(),
            unit: None,
        };
        // The family's length comes first: room for it, then its fields, then its series as
        // they come, so that they are written once, where they stay (see `flush`).
        self.family_start = self.out.len();
        self.out.extend_from_slice(&[0; LENGTH_ROOM]);
        let _ = family.encode(self.out);
        self.series_start = self.out.len();
        self.family = Some(family);
    }

    /// One series of a counter family.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use instrument_metric::proto::{MetricFamily, MetricType, ProtoWriter};
    /// use prost::Message;
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("sent_total", "Sent.", MetricType::Counter);
    /// let created = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
    /// writer.counter("sent_total", &[], None, 7.0, Some(created));
    /// writer.finish().unwrap();
    ///
    /// let family = MetricFamily::decode_length_delimited(out.as_slice()).unwrap();
    /// let counter = family.metric[0].counter.clone().unwrap();
    /// let created = counter.created_timestamp.unwrap();
    /// assert_eq!((created.seconds, created.nanos), (1_700_000_000, 250_000_000));
    /// ```
    pub fn counter(
        &mut self,
        name: &str,
        labels: &[&str],
        extra: Option<(&str, &str)>,
        value: impl Into<f64>,
        created: Option<SystemTime>,
    ) {
        let labels = SeriesLabels::Text(labels);
        self.counter_series(name, labels, extra, value.into(), created, None);
    }

    fn counter_series(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        extra: Option<(&str, &str)>,
        value: f64,
        created: Option<SystemTime>,
        exemplar: Option<&Sample>,
    ) {
        if self.start(name, labels, extra, MetricType::Counter) {
            // `Counter`'s fields, as `prost` writes them.
            self.value.clear();
            put_double(&mut self.value, 1, value);
            if let Some(exemplar) = exemplar {
                let exemplar = Exemplar::from(exemplar);
                self.value.push(2 << 3 | 2);
                put_varint(&mut self.value, exemplar.encoded_len());
                let _ = exemplar.encode(&mut self.value);
            }
            if let Some(created) = created {
                self.created_field(created);
            }
            self.push_encoded(COUNTER_FIELD, labels, extra);
        }
    }

    /// One series of a gauge family.
    ///
    /// ```
    /// use instrument_metric::proto::{MetricType, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("temperature_celsius", "Temperature.", MetricType::Gauge);
    /// writer.gauge("temperature_celsius", &[r#"room="a""#], None, -3.5);
    /// writer.finish().unwrap();
    /// ```
    pub fn gauge(
        &mut self,
        name: &str,
        labels: &[&str],
        extra: Option<(&str, &str)>,
        value: impl Into<f64>,
    ) {
        self.gauge_series(name, SeriesLabels::Text(labels), extra, value.into());
    }

    fn gauge_series(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        extra: Option<(&str, &str)>,
        value: f64,
    ) {
        if self.start(name, labels, extra, MetricType::Gauge) {
            // `Gauge`'s one field.
            self.value.clear();
            put_double(&mut self.value, 1, value);
            self.push_encoded(GAUGE_FIELD, labels, extra);
        }
    }

    /// One series of a family of unknown type (`untyped`).
    ///
    /// ```
    /// use instrument_metric::proto::{MetricType, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("legacy", "From a collector.", MetricType::Untyped);
    /// writer.unknown("legacy", &[], 1.0);
    /// writer.finish().unwrap();
    /// ```
    pub fn unknown(&mut self, name: &str, labels: &[&str], value: impl Into<f64>) {
        self.unknown_series(name, SeriesLabels::Text(labels), value.into());
    }

    fn unknown_series(&mut self, name: &str, labels: SeriesLabels<'_>, value: f64) {
        if self.start(name, labels, None, MetricType::Untyped) {
            self.push(UNTYPED_FIELD, &Untyped { value: Some(value) }, labels);
        }
    }

    /// One series of a summary family: its quantiles (quantile, value), sum and count.
    ///
    /// ```
    /// use instrument_metric::proto::{MetricType, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("rpc_seconds", "RPC time.", MetricType::Summary);
    /// writer.summary("rpc_seconds", &[], &[(0.5, 0.01), (0.99, 0.2)], 12.5, 400, None);
    /// writer.finish().unwrap();
    /// ```
    pub fn summary(
        &mut self,
        name: &str,
        labels: &[&str],
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
        created: Option<SystemTime>,
    ) {
        let labels = SeriesLabels::Text(labels);
        self.summary_series(name, labels, quantiles, sum, count, created);
    }

    fn summary_series(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
        created: Option<SystemTime>,
    ) {
        if self.start(name, labels, None, MetricType::Summary) {
            let summary = Summary {
                sample_count: Some(count),
                sample_sum: Some(sum),
                quantile: quantiles
                    .iter()
                    .map(|(quantile, value)| Quantile {
                        quantile: Some(*quantile),
                        value: Some(*value),
                    })
                    .collect(),
                created_timestamp: created.map(Timestamp::from),
            };
            self.push(SUMMARY_FIELD, &summary, labels);
        }
    }

    /// One series of a classic histogram family: upper `bounds` (`+Inf` implied), the
    /// cumulative count of each and of `+Inf` (the count), and the sum.
    ///
    /// ```
    /// use instrument_metric::proto::{MetricType, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("size_bytes", "Sizes.", MetricType::Histogram);
    /// writer.histogram("size_bytes", &[], &[100.0, 1000.0], &[1, 4, 5], 2900.0, None);
    /// // One count short: left out, and reported.
    /// writer.histogram("size_bytes", &[r#"a="b""#], &[100.0, 1000.0], &[1, 4], 2900.0, None);
    /// assert!(writer.finish().is_err());
    /// ```
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[&str],
        bounds: &[f64],
        cumulative: &[u64],
        sum: f64,
        created: Option<SystemTime>,
    ) {
        let labels = SeriesLabels::Text(labels);
        self.classic_series(name, labels, bounds, cumulative, sum, created, &[]);
    }

    #[allow(clippy::too_many_arguments)] // one series: what the trait's method takes, spelt out
    fn classic_series(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        bounds: &[f64],
        cumulative: &[u64],
        sum: f64,
        created: Option<SystemTime>,
        exemplars: &[Option<Sample>],
    ) {
        if !self.start(name, labels, None, MetricType::Histogram) {
            return;
        }
        let mut histogram = self.take_histogram();
        if self.classic_buckets(bounds, cumulative, &mut histogram.bucket) {
            with_exemplars(&mut histogram.bucket, cumulative, exemplars);
            histogram.sample_count = cumulative.last().copied();
            histogram.sample_sum = Some(sum);
            histogram.created_timestamp = created.map(Timestamp::from);
            self.push(HISTOGRAM_FIELD, &histogram, labels);
        }
        self.histogram = histogram;
    }

    /// One series of a histogram family with native buckets, from one reading of its cells:
    /// the native buckets, the classic ones beside them if the reading has any (for the
    /// upper `bounds`), count, sum and created timestamp, all from the same observations.
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    /// use instrument_metric::proto::{MetricFamily, MetricType, ProtoWriter};
    /// use prost::Message;
    ///
    /// let bounds = [0.1, 1.0];
    /// let cells = NativeHistogram::new(&NativeConfig::new(), &bounds).unwrap();
    /// cells.observe(0.5);
    /// cells.observe(2.0);
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.header("wait_seconds", "Waits.", MetricType::Histogram);
    /// writer.native_histogram("wait_seconds", &[], &bounds, &cells.scrape());
    /// writer.finish().unwrap();
    ///
    /// let family = MetricFamily::decode_length_delimited(out.as_slice()).unwrap();
    /// let histogram = family.metric[0].histogram.clone().unwrap();
    /// assert_eq!((histogram.schema(), histogram.sample_count()), (3, 2));
    /// assert_eq!(histogram.positive_delta, [1, 0]);
    /// assert_eq!(histogram.bucket[1].cumulative_count(), 1);
    /// ```
    pub fn native_histogram(
        &mut self,
        name: &str,
        labels: &[&str],
        bounds: &[f64],
        reading: &NativeReading,
    ) {
        self.native_series(name, SeriesLabels::Text(labels), bounds, reading, &[]);
    }

    fn native_series(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        bounds: &[f64],
        reading: &NativeReading,
        exemplars: &[Option<Sample>],
    ) {
        if !self.start(name, labels, None, MetricType::Histogram) {
            return;
        }
        let mut histogram = self.take_histogram();
        if !(reading.classic.is_empty() && bounds.is_empty()) {
            if !self.classic_buckets(bounds, &reading.classic, &mut histogram.bucket) {
                self.histogram = histogram;
                return;
            }
            with_exemplars(&mut histogram.bucket, &reading.classic, exemplars);
        }
        let spans = |out: &mut Vec<BucketSpan>, spans: &[Span]| {
            out.extend(spans.iter().map(|span| BucketSpan {
                offset: Some(span.offset),
                length: Some(span.length),
            }));
        };
        histogram.sample_count = Some(reading.count);
        histogram.sample_sum = Some(reading.sum);
        histogram.created_timestamp = Some(reading.created.into());
        histogram.schema = Some(reading.schema);
        histogram.zero_threshold = Some(reading.zero_threshold);
        histogram.zero_count = Some(reading.zero_count);
        spans(&mut histogram.negative_span, &reading.negative_spans);
        (histogram.negative_delta).extend_from_slice(&reading.negative_deltas);
        spans(&mut histogram.positive_span, &reading.positive_spans);
        (histogram.positive_delta).extend_from_slice(&reading.positive_deltas);
        // Prometheus 3 reads a native histogram's exemplars here (each with its time).
        (histogram.exemplars).extend(exemplars.iter().flatten().map(Exemplar::from));
        self.push(HISTOGRAM_FIELD, &histogram, labels);
        self.histogram = histogram;
    }

    /// Ends the exposition.
    ///
    /// # Errors
    ///
    /// The first series left out, and why (see [`ProtoError`]).
    ///
    /// ```
    /// use instrument_metric::proto::{ProtoError, ProtoWriter};
    ///
    /// let mut out = Vec::new();
    /// let mut writer = ProtoWriter::new(&mut out);
    /// writer.gauge("orphan", &[], None, 1.0);
    /// assert_eq!(writer.finish(), Err(ProtoError::NoFamily { series: "orphan".into() }));
    /// ```
    pub fn finish(&mut self) -> Result<(), ProtoError> {
        self.flush();
        match self.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Classic buckets for `bounds` from cumulative counts (`+Inf` last, left out: the count
    /// says it), into `buckets`; whether the counts fit the bounds.
    fn classic_buckets(
        &mut self,
        bounds: &[f64],
        cumulative: &[u64],
        buckets: &mut Vec<Bucket>,
    ) -> bool {
        if cumulative.len() != bounds.len() + 1 {
            let family = self.family_name().to_owned();
            self.fail(ProtoError::Buckets {
                family,
                bounds: bounds.len(),
                counts: cumulative.len(),
            });
            return false;
        }
        buckets.extend(bounds.iter().zip(cumulative).map(|(bound, count)| Bucket {
            cumulative_count: Some(*count),
            upper_bound: Some(*bound),
            ..Bucket::default()
        }));
        true
    }

    /// Appends `time` to `self.value` as `Counter.created_timestamp`; the series of a family
    /// mostly share one start time, whose field is encoded once.
    fn created_field(&mut self, time: SystemTime) {
        if self.last_time != Some(time) {
            self.last_time = Some(time);
            self.last_field.clear();
            put_timestamp(&mut self.last_field, 3, Timestamp::from(time));
        }
        self.value.extend_from_slice(&self.last_field);
    }

    /// The histogram kept between series, emptied (its vectors keep their room).
    fn take_histogram(&mut self) -> Histogram {
        let mut kept = std::mem::take(&mut self.histogram);
        kept.bucket.clear();
        kept.negative_span.clear();
        kept.negative_delta.clear();
        kept.positive_span.clear();
        kept.positive_delta.clear();
        kept.exemplars.clear();
        Histogram {
            bucket: kept.bucket,
            negative_span: kept.negative_span,
            negative_delta: kept.negative_delta,
            positive_span: kept.positive_span,
            positive_delta: kept.positive_delta,
            exemplars: kept.exemplars,
            ..Histogram::default()
        }
    }

    fn family_name(&self) -> &str {
        self.family.as_ref().map_or("", MetricFamily::name)
    }

    fn fail(&mut self, error: ProtoError) {
        self.error.get_or_insert(error);
    }

    /// Checks that a series `name` of type `kind` belongs to the family being written and
    /// encodes its labels for the series being written.
    fn start(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        extra: Option<(&str, &str)>,
        kind: MetricType,
    ) -> bool {
        let Some(family) = &self.family else {
            self.fail(ProtoError::NoFamily {
                series: name.to_owned(),
            });
            return false;
        };
        if family.name() != name {
            let family = family.name().to_owned();
            self.fail(ProtoError::OtherFamily {
                family,
                series: name.to_owned(),
            });
            return false;
        }
        if family.r#type() != kind {
            let error = ProtoError::WrongType {
                family: name.to_owned(),
                declared: family.r#type(),
                written: kind,
            };
            self.fail(error);
            return false;
        }
        self.labels.clear();
        let twice = match labels {
            SeriesLabels::Made(labels) => {
                // Written by `push`, from the lists.
                if distinct_names(labels, extra.map(|(name, _)| name)) {
                    None
                } else {
                    let names = labels.iter().flat_map(|labels| labels.pairs()).chain(extra);
                    twice(&names.map(|(name, _)| name)).map(str::to_owned)
                }
            }
            SeriesLabels::Text(lists) => {
                let mut parsed = std::mem::take(&mut self.parsed);
                parsed.clear();
                for list in lists {
                    if let Err(error) = parse_label_list(list, &mut parsed) {
                        self.parsed = parsed;
                        self.fail(ProtoError::Labels(error));
                        return false;
                    }
                }
                let pairs = parsed.iter().map(|pair| (pair.name(), pair.value()));
                let twice = encode_labels(pairs.chain(extra), &mut self.labels).map(str::to_owned);
                self.parsed = parsed;
                twice
            }
        };
        if let Some(label) = twice {
            self.fail(ProtoError::DuplicateLabel {
                family: name.to_owned(),
                label,
            });
            return false;
        }
        true
    }

    /// Adds the series being written to the family's: its labels, encoded by [`start`], then
    /// its value, `value` as field `field` of `Metric`. The same bytes as `prost` would write
    /// for the `Metric` (it writes fields in the order of their numbers, labels first),
    /// without building one.
    ///
    /// [`start`]: ProtoWriter::start
    fn push(&mut self, field: u8, value: &impl Message, labels: SeriesLabels<'_>) {
        self.value.clear();
        // A `Vec` grows as needed: encoding into one cannot run out of room.
        let _ = value.encode(&mut self.value);
        self.push_encoded(field, labels, None);
    }

    /// As [`ProtoWriter::push`], the value's fields already in `self.value`.
    fn push_encoded(&mut self, field: u8, labels: SeriesLabels<'_>, extra: Option<(&str, &str)>) {
        if let Some((_, series)) = self.families.last_mut() {
            *series += 1;
        }
        let value = self.value.len();
        let labels_length = match labels {
            SeriesLabels::Made(lists) => {
                let lists: usize = lists.iter().map(|list| encoded(list).len()).sum();
                lists + extra.map_or(0, |(name, value)| pair_length(name, value))
            }
            SeriesLabels::Text(_) => self.labels.len(),
        };
        let length = labels_length + 1 + prost::length_delimiter_len(value) + value;
        self.out.push(METRIC_FIELD_KEY);
        put_varint(self.out, length);
        match labels {
            SeriesLabels::Made(lists) => {
                for list in lists {
                    self.out.extend_from_slice(encoded(list));
                }
                if let Some((name, value)) = extra {
                    encode_pair(name, value, self.out);
                }
            }
            SeriesLabels::Text(_) => self.out.extend_from_slice(&self.labels),
        }
        self.out.push(field << 3 | 2);
        put_varint(self.out, value);
        self.out.extend_from_slice(&self.value);
    }

    /// Writes the family being written, if it has series.
    fn flush(&mut self) {
        if self.family.take().is_none() {
            return;
        }
        if self.out.len() == self.series_start {
            self.out.truncate(self.family_start);
            return;
        }
        let body = self.family_start + LENGTH_ROOM;
        let mut length = Vec::with_capacity(LENGTH_ROOM);
        put_varint(&mut length, self.out.len() - body);
        if length.len() == LENGTH_ROOM {
            self.out[self.family_start..body].copy_from_slice(&length);
        } else {
            // A family shorter than 16 KiB (or longer than 2 MiB): its bytes move.
            self.out.splice(self.family_start..body, length);
        }
    }
}

/// The labels of a series as the writer is given them.
#[derive(Clone, Copy)]
enum SeriesLabels<'l> {
    /// Rendered label lists (what the public methods take), read back.
    Text(&'l [&'l str]),
    /// Label lists made with their pairs, as every family of a registry writes them.
    Made(&'l [&'l Labels]),
}

/// Appends each (name, value) of `pairs` to `out` as a `Metric.label` field, unless a name
/// comes twice: that name then.
fn encode_labels<'p>(
    pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone,
    out: &mut Vec<u8>,
) -> Option<&'p str> {
    if let Some(name) = twice(&pairs.clone().map(|(name, _)| name)) {
        return Some(name);
    }
    for (name, value) in pairs {
        encode_pair(name, value, out);
    }
    None
}

/// Whether the names of `lists` and `extra` are surely distinct, from the bits of their names
/// alone (see [`Labels::name_bits`]); when they may not be, [`twice`] looks.
fn distinct_names(lists: &[&Labels], extra: Option<&str>) -> bool {
    let mut bits = extra.map_or(0, Labels::name_bit);
    for list in lists {
        let Some(list_bits) = list.name_bits() else {
            return false;
        };
        if bits & list_bits != 0 {
            return false;
        }
        bits |= list_bits;
    }
    true
}

/// A name `names` has twice, if any.
fn twice<'p>(names: &(impl Iterator<Item = &'p str> + Clone)) -> Option<&'p str> {
    // The names seen, compared without allocating (a series has a few labels).
    let mut seen = [""; 16];
    for (i, name) in names.clone().enumerate() {
        let twice = match seen.get_mut(i) {
            Some(slot) => {
                *slot = name;
                seen[..i].contains(&name)
            }
            None => names.clone().take(i).any(|earlier| earlier == name),
        };
        if twice {
            return Some(name);
        }
    }
    None
}

/// The pairs of `list` as `Metric.label` fields: encoded the first time it is written, and
/// kept (a label list does not change).
fn encoded(list: &Labels) -> &[u8] {
    list.encoded(|pairs| {
        let mut out = Vec::new();
        for (name, value) in pairs {
            encode_pair(name, value, &mut out);
        }
        out.into()
    })
}

/// The bytes [`encode_pair`] writes.
fn pair_length(name: &str, value: &str) -> usize {
    let field = |text: &str| 1 + prost::length_delimiter_len(text.len()) + text.len();
    let pair = field(name) + field(value);
    1 + prost::length_delimiter_len(pair) + pair
}

/// Appends `name` and `value` as a `Metric.label` field, as `prost` encodes a `LabelPair` whose
/// name and value are set.
fn encode_pair(name: &str, value: &str, out: &mut Vec<u8>) {
    /// The key of `Metric.label` and of `LabelPair.name` (both field 1, length-delimited), and
    /// of `LabelPair.value` (field 2).
    const FIELD_1: u8 = 1 << 3 | 2;
    const FIELD_2: u8 = 2 << 3 | 2;
    let field = |text: &str| 1 + prost::length_delimiter_len(text.len()) + text.len();
    out.push(FIELD_1);
    put_varint(out, field(name) + field(value));
    for (key, text) in [(FIELD_1, name), (FIELD_2, value)] {
        out.push(key);
        put_varint(out, text.len());
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends a `double` field `field` (fixed 64 bits).
#[inline]
fn put_double(out: &mut Vec<u8>, field: u8, value: f64) {
    out.push(field << 3 | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `Timestamp` field `field`, as `prost` writes it (proto3: a field at 0 is left
/// out).
#[inline]
fn put_timestamp(out: &mut Vec<u8>, field: u8, time: Timestamp) {
    // `int64` and `int32` are varints of their 64-bit two's complement.
    #[allow(clippy::cast_sign_loss)]
    let (seconds, nanos) = (time.seconds as u64, i64::from(time.nanos) as u64);
    let length = |value: u64| {
        if value == 0 {
            0
        } else {
            // One byte for every seven bits.
            1 + (64 - value.leading_zeros() as usize).div_ceil(7)
        }
    };
    out.push(field << 3 | 2);
    #[allow(clippy::cast_possible_truncation)] // two varints: at most 22 bytes
    out.push((length(seconds) + length(nanos)) as u8);
    for (key, value) in [(1 << 3, seconds), (2 << 3, nanos)] {
        if value != 0 {
            out.push(key);
            put_varint_u64(out, value);
        }
    }
}

/// Appends `value` as a varint, as `prost::encode_length_delimiter` does (without its check
/// for room, which a `Vec` does not need).
#[inline]
fn put_varint(out: &mut Vec<u8>, value: usize) {
    put_varint_u64(out, value as u64);
}

#[inline]
fn put_varint_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)] // below 0x80
    out.push(value as u8);
}

/// Puts each classic bucket's exemplar on it; an exemplar of the `+Inf` bucket, which the
/// count otherwise stands for, on a `+Inf` bucket of its own.
fn with_exemplars(buckets: &mut Vec<Bucket>, cumulative: &[u64], exemplars: &[Option<Sample>]) {
    for (bucket, exemplar) in buckets.iter_mut().zip(exemplars) {
        bucket.exemplar = exemplar.as_ref().map(Exemplar::from);
    }
    if let Some(Some(last)) = exemplars.get(buckets.len()) {
        buckets.push(Bucket {
            cumulative_count: cumulative.last().copied(),
            upper_bound: Some(f64::INFINITY),
            exemplar: Some(last.into()),
            ..Bucket::default()
        });
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

impl Exposition for ProtoWriter<'_> {
    fn buckets<'b>(&self, bounds: &'b [f64]) -> Buckets<'b> {
        Buckets {
            bounds,
            le: Vec::new(),
        }
    }

    fn native_histograms(&self) -> bool {
        true
    }

    fn header(&mut self, name: &str, help: &str, kind: Kind) {
        ProtoWriter::header(self, name, help, kind);
    }

    fn counter(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
        created: Option<SystemTime>,
        exemplar: Option<&Sample>,
    ) {
        let labels = SeriesLabels::Made(labels);
        self.counter_series(name, labels, extra, value.into(), created, exemplar);
    }

    fn gauge(&mut self, name: &str, labels: &[&Labels], extra: Option<(&str, &str)>, value: Value) {
        self.gauge_series(name, SeriesLabels::Made(labels), extra, value.into());
    }

    fn unknown(&mut self, name: &str, labels: &[&Labels], value: Value) {
        self.unknown_series(name, SeriesLabels::Made(labels), value.into());
    }

    fn summary(
        &mut self,
        name: &str,
        labels: &[&Labels],
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
        created: Option<SystemTime>,
    ) {
        let labels = SeriesLabels::Made(labels);
        self.summary_series(name, labels, quantiles, sum, count, created);
    }

    fn histogram(
        &mut self,
        name: &str,
        labels: &[&Labels],
        buckets: &Buckets<'_>,
        reading: HistogramReading<'_>,
        created: Option<SystemTime>,
        exemplars: &[Option<Sample>],
    ) {
        let labels = SeriesLabels::Made(labels);
        match reading {
            HistogramReading::Classic { cumulative, sum } => {
                let bounds = buckets.bounds;
                self.classic_series(name, labels, bounds, cumulative, sum, created, exemplars);
            }
            // The reading knows when its series started (a reset restarts it).
            HistogramReading::Native(reading) => {
                self.native_series(name, labels, buckets.bounds, reading, exemplars);
            }
        }
    }

    fn series_counts(&self) -> Vec<(String, u64)> {
        self.families.clone()
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // values written are read back bit for bit
mod tests {
    use std::time::Duration;

    use super::*;
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
}
