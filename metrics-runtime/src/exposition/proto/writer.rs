//! The protobuf writer: `io.prometheus.client.MetricFamily` messages, each
//! preceded by its length as a varint (`encoding=delimited`), the format that carries native
//! histograms and created timestamps.
//!
//! The messages are those of `prometheus/client_model`'s `io/prometheus/client/metrics.proto`
//! (proto2), declared here with `prost`'s derive, field numbers and types as there, so that
//! no `protoc` runs at build time; `Timestamp` is `google.protobuf.Timestamp`. Repeated
//! numbers are written unpacked, as proto2 declares them (parsers read both).
//! The messages are in `proto/messages.rs`, the hand encoding of the writer in `proto/encode.rs`.
//!
//! [`ProtoWriter`] has the methods of the text formats' writer, called the same way (a
//! header, then the family's series one at a time), and writes one `MetricFamily` per family.
//! A registry's families give it each label set with its pairs, made when the family was
//! (their encoding is kept after the first scrape: labels do not change); its public methods,
//! for expositions written by hand, take rendered label lists like `a="x",b="y"` and read
//! them back ([`parse_label_list`]):
//!
//! ```
//! use instrument_metric::__private::proto::ProtoWriter;
//! use instrument_metric::proto::{MetricFamily, MetricType};
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
use std::time::SystemTime;

use prost::Message;

use crate::exposition::{Buckets, Exposition, HistogramReading, Kind, Value};
use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;
use crate::storage::native_histogram::NativeReading;

use super::ProtoError;
use super::encode::{
    SeriesLabels, distinct_names, encode_labels, encode_pair, encoded, pair_length, put_double,
    put_exemplar, put_sint, put_spans, put_timestamp, put_varint, put_varint_u64, twice,
    varint_length,
};
use super::label_list::parse_label_list;
use super::messages::{LabelPair, MetricFamily, MetricType, Quantile, Summary, Timestamp, Untyped};

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
/// use instrument_metric::__private::proto::ProtoWriter;
/// use instrument_metric::proto::{MetricFamily, MetricType};
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
    /// The room left for the family's length: [`LENGTH_ROOM`], widened as the family grows.
    room: usize,
    /// An exemplar being encoded, kept between series.
    exemplar: Vec<u8>,
    /// Its labels, encoded as fields of `Metric`.
    labels: Vec<u8>,
    /// Its value, encoded as the fields of the message that holds it.
    value: Vec<u8>,
    /// The last created time written, and its field.
    last_time: Option<(SystemTime, u8)>,
    last_field: Vec<u8>,
    /// Label lists read back, kept between series.
    parsed: Vec<LabelPair>,
    written: HashSet<String>,
    /// Each family written, with its number of series.
    families: Vec<(String, u64)>,
    error: Option<ProtoError>,
}

/// The room `ProtoWriter::header` leaves for a family's length: three bytes, as a varint, for
/// families of 16 KiB to 2 MiB, those whose bytes it is worth not moving. A family that grows
/// past 2 MiB gets a fourth byte as soon as it does, moving its first 2 MiB rather than all
/// of it at the end (a million series are 68 MB; issue 25).
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
    /// use instrument_metric::__private::proto::ProtoWriter;
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
            room: LENGTH_ROOM,
            exemplar: Vec::new(),
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
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::MetricType;
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
        self.room = LENGTH_ROOM;
        self.out.extend_from_slice(&[0; LENGTH_ROOM]);
        let _ = family.encode(self.out);
        self.series_start = self.out.len();
        self.family = Some(family);
    }

    /// One series of a counter family.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::{MetricFamily, MetricType};
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
                self.put_exemplar(2 << 3 | 2, exemplar);
            }
            if let Some(created) = created {
                self.created_field(3, created);
            }
            self.push_encoded(COUNTER_FIELD, labels, extra);
        }
    }

    /// One series of a gauge family.
    ///
    /// ```
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::MetricType;
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
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::MetricType;
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
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::MetricType;
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
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::MetricType;
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
        if !self.start(name, labels, None, MetricType::Histogram)
            || !self.buckets_fit(bounds, cumulative)
        {
            return;
        }
        // `Histogram`'s fields, in the order of their numbers, as `prost` writes them.
        self.value.clear();
        if let Some(count) = cumulative.last() {
            self.value.push(1 << 3);
            put_varint_u64(&mut self.value, *count);
        }
        put_double(&mut self.value, 2, sum);
        self.classic_buckets(bounds, cumulative, exemplars);
        if let Some(created) = created {
            self.created_field(15, created);
        }
        self.push_encoded(HISTOGRAM_FIELD, labels, None);
    }

    /// One series of a histogram family with native buckets, from one reading of its cells:
    /// the native buckets, the classic ones beside them if the reading has any (for the
    /// upper `bounds`), count, sum and created timestamp, all from the same observations.
    ///
    /// ```
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::{MetricFamily, MetricType};
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
        let classic = !(reading.classic.is_empty() && bounds.is_empty());
        if !self.start(name, labels, None, MetricType::Histogram)
            || (classic && !self.buckets_fit(bounds, &reading.classic))
        {
            return;
        }
        // `Histogram`'s fields, in the order of their numbers, as `prost` writes them.
        self.value.clear();
        self.value.push(1 << 3);
        put_varint_u64(&mut self.value, reading.count);
        put_double(&mut self.value, 2, reading.sum);
        if classic {
            self.classic_buckets(bounds, &reading.classic, exemplars);
        }
        self.value.push(5 << 3);
        put_sint(&mut self.value, i64::from(reading.schema));
        put_double(&mut self.value, 6, reading.zero_threshold);
        self.value.push(7 << 3);
        put_varint_u64(&mut self.value, reading.zero_count);
        put_spans(
            &mut self.value,
            9,
            &reading.negative_spans,
            &reading.negative_deltas,
        );
        put_spans(
            &mut self.value,
            12,
            &reading.positive_spans,
            &reading.positive_deltas,
        );
        self.created_field(15, reading.created);
        // Prometheus 3 reads a native histogram's exemplars here (each with its time): field
        // 16, whose key takes two bytes.
        for sample in exemplars.iter().flatten() {
            self.value.push(16 << 3 | 2 | 0x80);
            self.put_exemplar(1, sample);
        }
        self.push_encoded(HISTOGRAM_FIELD, labels, None);
    }

    /// Ends the exposition.
    ///
    /// # Errors
    ///
    /// The first series left out, and why (see [`ProtoError`]).
    ///
    /// ```
    /// use instrument_metric::__private::proto::ProtoWriter;
    /// use instrument_metric::proto::ProtoError;
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

    /// Whether cumulative counts (`+Inf` last) fit `bounds`; if not, the series is left out
    /// and reported.
    fn buckets_fit(&mut self, bounds: &[f64], cumulative: &[u64]) -> bool {
        if cumulative.len() != bounds.len() + 1 {
            let family = self.family_name().to_owned();
            self.fail(ProtoError::Buckets {
                family,
                bounds: bounds.len(),
                counts: cumulative.len(),
            });
            return false;
        }
        true
    }

    /// Appends to `self.value` the classic buckets for `bounds` (field 3 of `Histogram`) from
    /// cumulative counts (`+Inf` last, left out: the count says it), each with its exemplar;
    /// an exemplar of the `+Inf` bucket on a `+Inf` bucket of its own.
    fn classic_buckets(
        &mut self,
        bounds: &[f64],
        cumulative: &[u64],
        exemplars: &[Option<Sample>],
    ) {
        for (at, (bound, count)) in bounds.iter().zip(cumulative).enumerate() {
            let exemplar = exemplars.get(at).and_then(Option::as_ref);
            self.bucket(*count, *bound, exemplar);
        }
        if let (Some(Some(last)), Some(count)) = (exemplars.get(bounds.len()), cumulative.last()) {
            self.bucket(*count, f64::INFINITY, Some(last));
        }
    }

    /// Appends one `Bucket` (field 3 of `Histogram`) to `self.value`.
    fn bucket(&mut self, count: u64, bound: f64, exemplar: Option<&Sample>) {
        self.exemplar.clear();
        let mut length = 1 + varint_length(count) + 9;
        if let Some(sample) = exemplar {
            put_exemplar(&mut self.exemplar, sample);
            length += 1 + varint_length(self.exemplar.len() as u64) + self.exemplar.len();
        }
        self.value.push(3 << 3 | 2);
        put_varint(&mut self.value, length);
        self.value.push(1 << 3);
        put_varint_u64(&mut self.value, count);
        put_double(&mut self.value, 2, bound);
        if exemplar.is_some() {
            self.value.push(3 << 3 | 2);
            put_varint(&mut self.value, self.exemplar.len());
            self.value.extend_from_slice(&self.exemplar);
        }
    }

    /// Appends `sample` to `self.value` as an `Exemplar` message, after `key` (the field's key,
    /// or its last byte).
    fn put_exemplar(&mut self, key: u8, sample: &Sample) {
        self.exemplar.clear();
        put_exemplar(&mut self.exemplar, sample);
        self.value.push(key);
        put_varint(&mut self.value, self.exemplar.len());
        self.value.extend_from_slice(&self.exemplar);
    }

    /// Appends `time` to `self.value` as the created timestamp, field `field` of the value's
    /// message; the series of a family mostly share one start time, whose field is encoded
    /// once.
    fn created_field(&mut self, field: u8, time: SystemTime) {
        if self.last_time != Some((time, field)) {
            self.last_time = Some((time, field));
            self.last_field.clear();
            put_timestamp(&mut self.last_field, field, Timestamp::from(time));
        }
        self.value.extend_from_slice(&self.last_field);
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
        if self.out.len() - self.family_start - self.room >= 1 << (7 * self.room) {
            // Its length no longer fits in the room: one more byte, before there is more to
            // move.
            self.out.insert(self.family_start + self.room, 0);
            self.room += 1;
            self.series_start += 1;
        }
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
        let body = self.family_start + self.room;
        let mut length = Vec::with_capacity(self.room);
        put_varint(&mut length, self.out.len() - body);
        if length.len() == self.room {
            self.out[self.family_start..body].copy_from_slice(&length);
        } else {
            // A family shorter than 16 KiB: its bytes move.
            self.out.splice(self.family_start..body, length);
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
