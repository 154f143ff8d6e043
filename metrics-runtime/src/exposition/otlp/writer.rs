//! The OTLP writer: each family written through [`Exposition`] becomes one OTLP [`Metric`].
//!
//! The bytes are those `prost` writes for the messages of `messages.rs` (a unit test decodes a
//! body of sums, gauges and explicit-bucket histograms and encodes it again: the same bytes;
//! an exponential point has its attributes last rather than first, which parsers take in any
//! order), but the writer does not build every message:
//! a sum's or a gauge's points are encoded by hand, and every point's labels, copied from the
//! label lists the families keep rather than made into two `String`s each; the rest of a
//! histogram's point is a `prost` message. A family is encoded when it ends, so that a push
//! holds one family's messages at a time.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message as _;

use crate::exposition::{Buckets, Exposition, HistogramReading, Kind, Value};
use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;
use crate::storage::native_histogram::NativeReading;

use super::messages::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, KeyValue, Metric, Sum, Summary, SummaryDataPoint, exemplar,
    exponential_histogram_data_point::Buckets as ExpBuckets, metric,
    summary_data_point::ValueAtQuantile,
};

/// The most buckets of one sign an exponential point carries: the buckets between the lowest
/// and the highest populated one are all written (OTLP has no spans), so a histogram whose
/// buckets lie further apart is written at a lower scale, each bucket the sum of the 2, 4, ...
/// it merges (counts and sum stay exact; only the resolution drops). At schema 8 this is a
/// spread of 2^128 between the smallest and the largest observation: no real histogram's.
pub(crate) const MAX_EXPONENTIAL_BUCKETS: usize = 1 << 15;

/// The lowest scale Prometheus accepts (its lowest schema).
const MIN_SCALE: i32 = -4;

/// Writes families as OTLP metrics, one [`Metric`] per family: counters as cumulative
/// monotonic sums, gauges (and families of unknown type) as gauges, classic histograms as
/// explicit-bucket histograms, native histograms as exponential histograms, summaries as
/// summaries; every label (constant ones included) as a point attribute; exemplars with their
/// trace and span ids.
///
/// A series that cannot be written as it should (a second family of one name, a label twice,
/// counts that do not fit the bounds) is left out, and [`OtlpWriter::finish`] returns the first
/// such problem, so that a push fails loudly rather than sends a family with a series missing.
pub(crate) struct OtlpWriter {
    /// The families written, each encoded as it ends, as `ScopeMetrics.metrics` (field 2):
    /// a push never holds more than one family's messages.
    encoded: Vec<u8>,
    /// The family being written, and its kind.
    current: Option<(Metric, Kind)>,
    /// The points of the family being written but a summary's, encoded (each as field 1 of
    /// its `Sum`, `Gauge`, `Histogram` or `ExponentialHistogram`), and the point being
    /// encoded.
    points: Vec<u8>,
    point: Vec<u8>,
    written: HashSet<String>,
    families: Vec<(String, u64)>,
    /// When the values were read: every point's time.
    now: u64,
    /// The start time of a counter or summary that does not know its own.
    start: u64,
    error: Option<String>,
}

impl OtlpWriter {
    /// A writer whose points are read at `now`, counters without a start time of their own
    /// starting at `start`.
    pub(crate) fn new(now: SystemTime, start: SystemTime) -> OtlpWriter {
        OtlpWriter {
            encoded: Vec::new(),
            current: None,
            points: Vec::new(),
            point: Vec::new(),
            written: HashSet::new(),
            families: Vec::new(),
            now: unix_nanos(now),
            start: unix_nanos(start),
            error: None,
        }
    }

    /// The metrics written, encoded as the `metrics` field of a `ScopeMetrics` message, or the
    /// first series left out and why.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, String> {
        self.flush();
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.encoded),
        }
    }

    fn fail(&mut self, error: String) {
        self.error.get_or_insert(error);
    }

    /// Ends the family being written; one without points is not written (a receiver warns of
    /// empty metrics).
    fn flush(&mut self) {
        let Some((metric, _)) = self.current.take() else {
            return;
        };
        // Encoded here rather than with the whole request: `prost` sizes a nested message
        // once per level above it, and the request adds three.
        // The field of `Metric` that holds the points, and what follows them in it:
        // temporality (field 2, cumulative) and, for a sum, monotonicity (field 3, true).
        let cumulative = AggregationTemporality::Cumulative as u8;
        let (field, trailer): (u8, &[u8]) = match &metric.data {
            Some(metric::Data::Gauge(_)) => (5, &[]),
            Some(metric::Data::Sum(_)) => (7, &[2 << 3, cumulative, 3 << 3, 1]),
            Some(metric::Data::Histogram(_)) => (9, &[2 << 3, cumulative]),
            Some(metric::Data::ExponentialHistogram(_)) => (10, &[2 << 3, cumulative]),
            Some(metric::Data::Summary(_)) | None => (0, &[]),
        };
        if field == 0 {
            if points(&metric) > 0 {
                self.encoded.push(2 << 3 | 2);
                let _ = metric.encode_length_delimited(&mut self.encoded);
            }
        } else if !self.points.is_empty() {
            // `Metric { name, description, <field> }`.
            let data = self.points.len() + trailer.len();
            let length = string_length(&metric.name)
                + string_length(&metric.description)
                + 1
                + prost::length_delimiter_len(data)
                + data;
            self.encoded.push(2 << 3 | 2);
            put_length(&mut self.encoded, length);
            put_string(&mut self.encoded, 1, &metric.name);
            put_string(&mut self.encoded, 2, &metric.description);
            self.encoded.push(field << 3 | 2);
            put_length(&mut self.encoded, data);
            self.encoded.extend_from_slice(&self.points);
            self.encoded.extend_from_slice(trailer);
        }
        self.points.clear();
    }

    /// One series of a sum or gauge family (`kind`), encoded into `self.points`.
    #[allow(clippy::too_many_arguments)] // the trait's arguments, and the family's kind
    fn number_series(
        &mut self,
        name: &str,
        kind: Kind,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
        start: u64,
        exemplar: Option<&Sample>,
    ) {
        if let Some(label) = repeated_label(labels, extra) {
            self.fail(format!(
                "a series of `{name}` has label `{label}` twice: it is left out"
            ));
            return;
        }
        if self.family(name, kind).is_none() {
            return;
        }
        // `NumberDataPoint`'s fields, in the order of their numbers, as `prost` writes them.
        let point = &mut self.point;
        point.clear();
        if start != 0 {
            point.push(2 << 3 | 1);
            point.extend_from_slice(&start.to_le_bytes());
        }
        point.push(3 << 3 | 1);
        point.extend_from_slice(&self.now.to_le_bytes());
        match value {
            Value::Float(value) => put_double(point, value),
            Value::Unsigned(value) => match i64::try_from(value) {
                Ok(value) => put_int(point, value),
                #[allow(clippy::cast_precision_loss)] // past i64: as Prometheus reads it
                Err(_) => put_double(point, value as f64),
            },
            Value::Signed(value) => put_int(point, value),
        }
        if let Some(sample) = exemplar {
            point.push(5 << 3 | 2);
            let _ = exemplar_of(sample).encode_length_delimited(point);
        }
        put_attributes(point, 7, labels, extra);
        self.push_point();
    }

    /// Adds `self.point` to the family's points.
    fn push_point(&mut self) {
        self.points.push(1 << 3 | 2);
        put_length(&mut self.points, self.point.len());
        self.points.extend_from_slice(&self.point);
    }

    /// The family `name` is, if it is being written as `kind`; otherwise the series is left
    /// out and reported.
    fn family(&mut self, name: &str, kind: Kind) -> Option<&mut Metric> {
        let problem = match &self.current {
            None => format!("series of `{name}` written outside any family"),
            Some((metric, _)) if metric.name != name => {
                format!("series of `{name}` written inside family `{}`", metric.name)
            }
            Some((_, declared)) if *declared != kind => {
                format!("`{name}` is a {declared:?} family: a {kind:?} series was written in it")
            }
            Some(_) => {
                if let Some((_, series)) = self.families.last_mut() {
                    *series += 1;
                }
                return self.current.as_mut().map(|(metric, _)| metric);
            }
        };
        self.fail(problem);
        None
    }

    /// The attributes of a series: its label lists' pairs and `extra`; `None` (and reported)
    /// when a name comes twice.
    fn attributes(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
    ) -> Option<Vec<KeyValue>> {
        let pairs = labels.iter().flat_map(|labels| labels.pairs()).chain(extra);
        let mut attributes: Vec<KeyValue> = Vec::with_capacity(pairs.clone().count());
        for (key, value) in pairs {
            if attributes.iter().any(|attribute| attribute.key == key) {
                self.fail(format!(
                    "a series of `{name}` has label `{key}` twice: it is left out"
                ));
                return None;
            }
            attributes.push(KeyValue::string(key, value));
        }
        Some(attributes)
    }

    /// A classic histogram's point; `None` when the cumulative counts do not fit the bounds.
    fn classic_point(
        &self,
        bounds: &[f64],
        cumulative: &[u64],
        sum: f64,
        start: u64,
        exemplars: &[Option<Sample>],
    ) -> Option<HistogramDataPoint> {
        Some(HistogramDataPoint {
            attributes: Vec::new(),
            start_time_unix_nano: start,
            time_unix_nano: self.now,
            count: cumulative.last().copied().unwrap_or(0),
            sum: Some(sum),
            bucket_counts: bucket_counts(cumulative, bounds.len())?,
            explicit_bounds: bounds.to_vec(),
            exemplars: sorted_exemplars(exemplars),
            flags: 0,
            min: None,
            max: None,
        })
    }

    fn exponential_point(
        &self,
        reading: &NativeReading,
        exemplars: &[Option<Sample>],
    ) -> ExponentialHistogramDataPoint {
        let (scale, positive, negative) = exponential_buckets(reading);
        ExponentialHistogramDataPoint {
            attributes: Vec::new(),
            start_time_unix_nano: unix_nanos(reading.created),
            time_unix_nano: self.now,
            count: reading.count,
            sum: Some(reading.sum),
            scale,
            zero_count: reading.zero_count,
            positive: Some(positive),
            negative: Some(negative),
            flags: 0,
            exemplars: sorted_exemplars(exemplars),
            min: None,
            max: None,
            zero_threshold: reading.zero_threshold,
        }
    }
}

impl Exposition for OtlpWriter {
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
        self.flush();
        self.points.clear();
        if !self.written.insert(name.to_owned()) {
            self.fail(format!(
                "two families are named `{name}`: the second one's series are left out"
            ));
            return;
        }
        self.families.push((name.to_owned(), 0));
        let cumulative = AggregationTemporality::Cumulative as i32;
        let data = match kind {
            Kind::Counter => Some(metric::Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: cumulative,
                is_monotonic: true,
            })),
            Kind::Gauge | Kind::Unknown => Some(metric::Data::Gauge(Gauge::default())),
            Kind::Summary => Some(metric::Data::Summary(Summary::default())),
            // Explicit or exponential: the first series says.
            Kind::Histogram => None,
        };
        let metric = Metric {
            name: name.to_owned(),
            description: help.to_owned(),
            unit: String::new(),
            data,
        };
        self.current = Some((metric, kind));
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
        let start = created.map_or(self.start, unix_nanos);
        self.number_series(name, Kind::Counter, labels, extra, value, start, exemplar);
    }

    fn gauge(&mut self, name: &str, labels: &[&Labels], extra: Option<(&str, &str)>, value: Value) {
        self.number_series(name, Kind::Gauge, labels, extra, value, 0, None);
    }

    fn unknown(&mut self, name: &str, labels: &[&Labels], value: Value) {
        self.number_series(name, Kind::Unknown, labels, None, value, 0, None);
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
        let Some(attributes) = self.attributes(name, labels, None) else {
            return;
        };
        let point = SummaryDataPoint {
            attributes,
            start_time_unix_nano: created.map_or(self.start, unix_nanos),
            time_unix_nano: self.now,
            count,
            sum,
            quantile_values: quantiles
                .iter()
                .map(|&(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
            flags: 0,
        };
        if let Some(Metric {
            data: Some(metric::Data::Summary(summary)),
            ..
        }) = self.family(name, Kind::Summary)
        {
            summary.data_points.push(point);
        }
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
        if let Some(label) = repeated_label(labels, None) {
            self.fail(format!(
                "a series of `{name}` has label `{label}` twice: it is left out"
            ));
            return;
        }
        let start = created.map_or(self.start, unix_nanos);
        let point = match reading {
            HistogramReading::Classic {
                cumulative: counts,
                sum,
            } => {
                let bounds = buckets.bounds;
                let Some(point) = self.classic_point(bounds, counts, sum, start, exemplars) else {
                    self.fail(format!(
                        "a series of `{name}` has {} cumulative counts that do not fit its {} \
                         bounds: it is left out",
                        counts.len(),
                        bounds.len()
                    ));
                    return;
                };
                Point::Explicit(point)
            }
            // Native buckets only: the classic buckets of the same observations stay on
            // `/metrics` (one OTLP metric has one kind of point).
            HistogramReading::Native(reading) => {
                Point::Exponential(self.exponential_point(reading, exemplars))
            }
        };
        let Some(metric) = self.family(name, Kind::Histogram) else {
            return;
        };
        let fits = match (&mut metric.data, &point) {
            (data @ None, Point::Explicit(_)) => {
                *data = Some(metric::Data::Histogram(Histogram::default()));
                true
            }
            (data @ None, Point::Exponential(_)) => {
                *data = Some(metric::Data::ExponentialHistogram(
                    ExponentialHistogram::default(),
                ));
                true
            }
            (Some(metric::Data::Histogram(_)), Point::Explicit(_))
            | (Some(metric::Data::ExponentialHistogram(_)), Point::Exponential(_)) => true,
            _ => false,
        };
        if !fits {
            let kind = match point {
                Point::Explicit(_) => "classic",
                Point::Exponential(_) => "native",
            };
            self.fail(format!(
                "`{name}` mixes native and classic series: a {kind} series is left out"
            ));
            return;
        }
        // The point's fields but its attributes by prost, then its attributes by hand (a
        // parser takes fields in any order; for an explicit-bucket point, the attributes'
        // field comes last anyway).
        self.point.clear();
        let field = match point {
            Point::Explicit(point) => {
                let _ = point.encode(&mut self.point);
                9
            }
            Point::Exponential(point) => {
                let _ = point.encode(&mut self.point);
                1
            }
        };
        put_attributes(&mut self.point, field, labels, None);
        self.push_point();
    }

    fn series_counts(&self) -> Vec<(String, u64)> {
        self.families.clone()
    }
}

/// One histogram point, of either kind.
enum Point {
    Explicit(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
}

/// The points of `metric`.
fn points(metric: &Metric) -> usize {
    match &metric.data {
        None => 0,
        Some(metric::Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(metric::Data::Sum(sum)) => sum.data_points.len(),
        Some(metric::Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::Summary(summary)) => summary.data_points.len(),
    }
}

/// Nanoseconds since the Unix epoch (0 before it, the largest `u64` after 2554).
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// The count of each bucket from cumulative counts (`+Inf` last): OTLP's counts are per
/// bucket. `None` when they are not `bounds + 1` counts that never decrease.
pub(crate) fn bucket_counts(cumulative: &[u64], bounds: usize) -> Option<Vec<u64>> {
    if cumulative.len() != bounds + 1 {
        return None;
    }
    let mut below = 0;
    cumulative
        .iter()
        .map(|&count| {
            let in_bucket = count.checked_sub(below)?;
            below = count;
            Some(in_bucket)
        })
        .collect()
}

fn exemplar_of(sample: &Sample) -> Exemplar {
    Exemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: unix_nanos(sample.time),
        span_id: sample.trace.span_id.to_be_bytes().to_vec(),
        trace_id: sample.trace.trace_id.to_be_bytes().to_vec(),
        value: Some(exemplar::Value::AsDouble(sample.value)),
    }
}

/// The exemplars of a histogram's buckets, in ascending order of value, as Prometheus' OTLP
/// receiver reads them (it gives each bucket those up to its bound).
fn sorted_exemplars(exemplars: &[Option<Sample>]) -> Vec<Exemplar> {
    let mut samples: Vec<&Sample> = exemplars.iter().flatten().collect();
    samples.sort_by(|a, b| a.value.total_cmp(&b.value));
    samples.into_iter().map(exemplar_of).collect()
}

/// The scale and the positive and negative buckets of `reading` as OTLP writes them.
///
/// Prometheus' bucket `k` holds `(base^(k-1), base^k]`, OTLP's bucket `i` holds
/// `(base^i, base^(i+1)]`: bucket `k` is OTLP's `k - 1`. Buckets between spans are written as
/// zeros. When either sign spans more than [`MAX_EXPONENTIAL_BUCKETS`], the scale drops until
/// it fits (bucket `i` at scale `s` is bucket `i >> 1` at scale `s - 1`).
pub(crate) fn exponential_buckets(reading: &NativeReading) -> (i32, ExpBuckets, ExpBuckets) {
    let positive: Vec<(i32, u64)> = reading.buckets(false).map(|(k, c)| (k - 1, c)).collect();
    let negative: Vec<(i32, u64)> = reading.buckets(true).map(|(k, c)| (k - 1, c)).collect();
    let spread = |buckets: &[(i32, u64)], shift: u32| match (buckets.first(), buckets.last()) {
        (Some(first), Some(last)) => {
            usize::try_from((last.0 >> shift) - (first.0 >> shift)).unwrap_or(0) + 1
        }
        _ => 0,
    };
    let mut shift = 0u32;
    while (spread(&positive, shift) > MAX_EXPONENTIAL_BUCKETS
        || spread(&negative, shift) > MAX_EXPONENTIAL_BUCKETS)
        && reading.schema - i32::try_from(shift).unwrap_or(0) > MIN_SCALE
    {
        shift += 1;
    }
    let dense = |buckets: &[(i32, u64)]| {
        let Some(first) = buckets.first() else {
            return ExpBuckets::default();
        };
        let offset = first.0 >> shift;
        let mut bucket_counts = vec![0u64; spread(buckets, shift)];
        for &(index, count) in buckets {
            if let Ok(at) = usize::try_from((index >> shift) - offset) {
                bucket_counts[at] += count;
            }
        }
        ExpBuckets {
            offset,
            bucket_counts,
        }
    };
    let scale = reading.schema - i32::try_from(shift).unwrap_or(0);
    (scale, dense(&positive), dense(&negative))
}

/// The first label name `labels` and `extra` have twice, if any.
fn repeated_label<'a>(labels: &[&'a Labels], extra: Option<(&'a str, &'a str)>) -> Option<&'a str> {
    let names = || {
        labels
            .iter()
            .flat_map(|labels| labels.pairs())
            .chain(extra)
            .map(|(name, _)| name)
    };
    names()
        .enumerate()
        .find(|(at, name)| names().take(*at).any(|earlier| earlier == *name))
        .map(|(_, name)| name)
}

fn put_length(out: &mut Vec<u8>, length: usize) {
    prost::encoding::encode_varint(length as u64, out);
}

/// The bytes of string field `text` (none when empty: proto3 leaves defaults out).
fn string_length(text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        1 + prost::length_delimiter_len(text.len()) + text.len()
    }
}

fn put_string(out: &mut Vec<u8>, field: u8, text: &str) {
    if !text.is_empty() {
        out.push(field << 3 | 2);
        put_length(out, text.len());
        out.extend_from_slice(text.as_bytes());
    }
}

/// `NumberDataPoint.as_double`, field 4.
fn put_double(out: &mut Vec<u8>, value: f64) {
    out.push(4 << 3 | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

/// `NumberDataPoint.as_int`, field 6.
fn put_int(out: &mut Vec<u8>, value: i64) {
    out.push(6 << 3 | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends each label of `labels` and `extra` as a `KeyValue { key, value: AnyValue {
/// string_value } }`, field `field` of the point.
fn put_attributes(out: &mut Vec<u8>, field: u8, labels: &[&Labels], extra: Option<(&str, &str)>) {
    for (key, value) in labels.iter().flat_map(|labels| labels.pairs()).chain(extra) {
        let any = 1 + prost::length_delimiter_len(value.len()) + value.len();
        let pair = string_length(key) + 1 + prost::length_delimiter_len(any) + any;
        out.push(field << 3 | 2);
        put_length(out, pair);
        put_string(out, 1, key);
        out.push(2 << 3 | 2);
        put_length(out, any);
        out.push(1 << 3 | 2);
        put_length(out, value.len());
        out.extend_from_slice(value.as_bytes());
    }
}
