//! What every family gives a writer, whatever the format: the [`Exposition`] trait, which the
//! text formats' writer (`text.rs`) and the protobuf writer (`proto.rs`) implement, and the
//! values its methods take. A family writes itself once, through `&mut dyn Exposition`, and
//! the format is the writer's business: the text formats write a native histogram's classic
//! buckets, the protobuf one both; OpenMetrics and protobuf carry exemplars and created
//! timestamps, the text format 0.0.4 neither.

pub(crate) mod negotiate;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
#[cfg(feature = "protobuf")]
pub mod proto;
pub(crate) mod text;

use std::time::SystemTime;

use crate::model::MetricKind;
use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar;
use crate::storage::native_histogram::NativeReading;

/// The type of a family as the formats write it: Prometheus' three, and the two that families
/// gathered from a tikv `prometheus::Registry` may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    Unknown,
}

impl From<MetricKind> for Kind {
    fn from(kind: MetricKind) -> Kind {
        match kind {
            MetricKind::Counter => Kind::Counter,
            MetricKind::Gauge => Kind::Gauge,
            MetricKind::Histogram => Kind::Histogram,
        }
    }
}

/// A sample value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    /// A count.
    Unsigned(u64),
    /// A gauge that is an integer.
    Signed(i64),
    /// Any other value.
    Float(f64),
}

impl From<Value> for f64 {
    #[allow(clippy::cast_precision_loss)] // the formats' numbers are doubles
    fn from(value: Value) -> f64 {
        match value {
            Value::Unsigned(value) => value as f64,
            Value::Signed(value) => value as f64,
            Value::Float(value) => value,
        }
    }
}

/// The classic buckets of a histogram family: their upper bounds (`+Inf` follows), and their
/// `le` label values as the writer's format spells them (none for protobuf), made once per
/// family by [`Exposition::buckets`].
pub(crate) struct Buckets<'a> {
    pub(crate) bounds: &'a [f64],
    pub(crate) le: Vec<String>,
}

/// One reading of a histogram series.
#[derive(Clone, Copy)]
pub(crate) enum HistogramReading<'a> {
    /// Classic buckets only: the cumulative count of each bucket (`+Inf` last: the count) and
    /// the sum.
    Classic { cumulative: &'a [u64], sum: f64 },
    /// Native buckets, with the classic ones of the same observations.
    Native(&'a NativeReading),
}

impl HistogramReading<'_> {
    /// Cumulative classic counts, `+Inf` last.
    pub(crate) fn cumulative(&self) -> &[u64] {
        match self {
            HistogramReading::Classic { cumulative, .. } => cumulative,
            HistogramReading::Native(reading) => &reading.classic,
        }
    }

    pub(crate) fn sum(&self) -> f64 {
        match self {
            HistogramReading::Classic { sum, .. } => *sum,
            HistogramReading::Native(reading) => reading.sum,
        }
    }
}

/// A writer of one exposition, in one format. Families call it: a header, then each of their
/// series. Labels come as label lists made when the family was ([`Labels`]: the text formats
/// write their text, joined with commas, empty ones skipped; protobuf their pairs), the
/// constant labels last, plus one `extra` label whose value needs no escaping (`result="ok"`).
pub(crate) trait Exposition {
    /// The classic buckets `bounds` of a histogram family, for its series.
    fn buckets<'b>(&self, bounds: &'b [f64]) -> Buckets<'b>;

    /// Whether the format carries native buckets (protobuf); the text formats write a native
    /// histogram's classic buckets only.
    fn native_histograms(&self) -> bool;

    /// Starts family `name`.
    fn header(&mut self, name: &str, help: &str, kind: Kind);

    /// One series of a counter family, with when it started from 0 and the exemplar of its
    /// last increment made in a trace, if known.
    fn counter(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
        created: Option<SystemTime>,
        exemplar: Option<&Exemplar>,
    );

    /// One series of a gauge family.
    fn gauge(&mut self, name: &str, labels: &[&Labels], extra: Option<(&str, &str)>, value: Value);

    /// One series of a family of unknown type (gathered from a hand-written collector).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    fn unknown(&mut self, name: &str, labels: &[&Labels], value: Value);

    /// One series of a summary family: its quantiles (quantile, value), sum and count.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    fn summary(
        &mut self,
        name: &str,
        labels: &[&Labels],
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
        created: Option<SystemTime>,
    );

    /// One series of a histogram family: its reading, when it started from 0, and the
    /// exemplar of each classic bucket (`+Inf` last; an empty slice when there is none).
    fn histogram(
        &mut self,
        name: &str,
        labels: &[&Labels],
        buckets: &Buckets<'_>,
        reading: HistogramReading<'_>,
        created: Option<SystemTime>,
        exemplars: &[Option<Exemplar>],
    );

    /// Each family written so far, with its number of series (a histogram's is one).
    fn series_counts(&self) -> Vec<(String, u64)>;
}
