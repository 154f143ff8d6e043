//! Metric types for `#[derive(Metrics)]` structs: single metrics and typed families whose
//! series are picked by an array index.

use std::fmt;
use std::marker::PhantomData;

use prometheus::HistogramOpts;
pub use prometheus::{Counter, Gauge, Histogram, IntCounter, IntGauge};

use crate::labels::LabelSet;
use crate::model::{FieldDescriptor, Shape};

pub(crate) mod sealed {
    use crate::registry::Vector;

    /// What the registry needs of a metric type; sealed so that only the types it knows how
    /// to register are metrics.
    pub trait Sealed: Sized {
        /// The series for `values` of a registered family, if it has this type.
        fn child(vector: &Vector, values: &[&str]) -> Option<Self>;
        /// A series exported nowhere.
        fn detached(buckets: &[f64]) -> Self;
    }
}

/// One series of a metric: [`Counter`], [`IntCounter`], [`Gauge`], [`IntGauge`] or
/// [`Histogram`] (the types of tikv `prometheus`).
///
/// ```
/// use metrics_runtime::{Histogram, Metric, Shape};
///
/// assert_eq!(Histogram::SHAPE, Shape::Histogram);
/// ```
pub trait Metric: sealed::Sealed + Clone + Send + Sync + 'static {
    /// How the family of this metric is registered.
    const SHAPE: Shape;
}

macro_rules! metrics {
    ($($ty:ident $make:expr;)+) => {$(
        impl sealed::Sealed for $ty {
            fn child(vector: &crate::registry::Vector, values: &[&str]) -> Option<Self> {
                match vector {
                    crate::registry::Vector::$ty(vector) => vector.get_metric_with_label_values(values).ok(),
                    _ => None,
                }
            }

            fn detached(buckets: &[f64]) -> Self {
                let make: fn(&[f64]) -> Self = $make;
                make(buckets)
            }
        }

        impl Metric for $ty {
            const SHAPE: Shape = Shape::$ty;
        }
    )+};
}

// The names are constants that the registry accepts, so creation cannot fail.
metrics! {
    Counter |_| Counter::new("detached_total", "Not exported.").expect("valid constant name");
    IntCounter |_| IntCounter::new("detached_total", "Not exported.").expect("valid constant name");
    Gauge |_| Gauge::new("detached", "Not exported.").expect("valid constant name");
    IntGauge |_| IntGauge::new("detached", "Not exported.").expect("valid constant name");
    Histogram |buckets| {
        let opts = HistogramOpts::new("detached_seconds", "Not exported.");
        let custom = (!buckets.is_empty()).then(|| opts.clone().buckets(buckets.to_vec()));
        custom
            .and_then(|opts| Histogram::with_opts(opts).ok())
            .unwrap_or_else(|| Histogram::with_opts(opts).expect("valid constant name, default buckets"))
    };
}
/// A metric family labelled by `L`: one series per combination of label values, all created
/// at start-up. [`Family::with`] picks a series by index, never by hashing.
///
/// ```
/// use metrics_runtime::{IntCounterFamily, LabelValue, Metrics};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "sms")]
/// struct SmsMetrics {
///     /// SMS messages sent, by provider.
///     sent_total: IntCounterFamily<Provider>,
/// }
///
/// SmsMetrics::global().sent_total.with(Provider::Vonage).inc();
/// assert_eq!(SmsMetrics::global().sent_total.with(Provider::Vonage).get(), 1);
/// assert_eq!(SmsMetrics::global().sent_total.with(Provider::Twilio).get(), 0);
/// ```
// No bounds here but on the impls: a field `IntCounterFamily<String>` then gets one error (the
// label set's), not one more for the struct's well-formedness.
pub struct Family<L, M> {
    series: Box<[M]>,
    labels: PhantomData<fn(&L)>,
}

impl<L: LabelSet, M: Metric> Family<L, M> {
    /// A family over the given series, which must be in [`LabelSet::series_index`] order.
    pub(crate) fn from_series(series: Vec<M>) -> Self {
        debug_assert_eq!(series.len(), L::CARDINALITY);
        Family {
            series: series.into_boxed_slice(),
            labels: PhantomData,
        }
    }

    /// The series for `labels`.
    #[inline]
    #[allow(clippy::needless_pass_by_value)] // label sets are small values: `with(Provider::Twilio)`
    pub fn with(&self, labels: L) -> &M {
        &self.series[labels.series_index()]
    }

    /// Every series, in label index order.
    ///
    /// ```
    /// use metrics_runtime::{IntGaugeFamily, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Flags {
    ///     /// Feature flags that are on.
    ///     feature_enabled: IntGaugeFamily<bool>,
    /// }
    ///
    /// Flags::global().feature_enabled.with(true).set(3);
    /// let total: i64 = Flags::global().feature_enabled.iter().map(|gauge| gauge.get()).sum();
    /// assert_eq!(total, 3);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &M> {
        self.series.iter()
    }
}

impl<L: LabelSet, M: Metric> fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("series", &self.series.len())
            .finish()
    }
}

/// A family of `f64` counters.
pub type CounterFamily<L> = Family<L, Counter>;
/// A family of `u64` counters.
pub type IntCounterFamily<L> = Family<L, IntCounter>;
/// A family of `f64` gauges.
pub type GaugeFamily<L> = Family<L, Gauge>;
/// A family of `i64` gauges.
pub type IntGaugeFamily<L> = Family<L, IntGauge>;
/// A family of histograms.
pub type HistogramFamily<L> = Family<L, Histogram>;

/// A field of a `#[derive(Metrics)]` struct: a single metric or a [`Family`].
///
/// ```
/// use metrics_runtime::{IntCounterFamily, LabelValue, MetricField};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// type Sent = IntCounterFamily<Provider>;
/// assert_eq!(<Sent as MetricField>::LABEL_NAMES, ["provider"]);
/// assert_eq!(<Sent as MetricField>::LABEL_VALUES, [["twilio", "vonage"]]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a `#[derive(Metrics)]` struct",
    label = "not a metric type",
    note = "fields are `Counter`, `IntCounter`, `Gauge`, `IntGauge`, `Histogram`, or a family of them: `CounterFamily<L>`, `IntCounterFamily<L>`, `GaugeFamily<L>`, `IntGaugeFamily<L>`, `HistogramFamily<L>`"
)]
pub trait MetricField: Sized {
    /// How the field's family is registered.
    const SHAPE: Shape;
    /// The label names.
    const LABEL_NAMES: &'static [&'static str];
    /// The values of each label.
    const LABEL_VALUES: &'static [&'static [&'static str]];

    /// Resolves the field's series from the registry.
    #[doc(hidden)]
    fn resolve(field: &FieldDescriptor) -> Self;
}

/// A single metric: one series, without labels. One impl per metric type rather than one over
/// every `Metric`, so that a `Family` over a type that is not a `LabelSet` is reported as that.
macro_rules! single_metric_fields {
    ($($ty:ident)+) => {$(
        #[diagnostic::do_not_recommend]
        impl MetricField for $ty {
            const SHAPE: Shape = <$ty as Metric>::SHAPE;
            const LABEL_NAMES: &'static [&'static str] = &[];
            const LABEL_VALUES: &'static [&'static [&'static str]] = &[];

            fn resolve(field: &FieldDescriptor) -> Self {
                crate::registry::series(field)
                    .pop()
                    .unwrap_or_else(|| <$ty as sealed::Sealed>::detached(field.buckets))
            }
        }
    )+};
}

single_metric_fields!(Counter IntCounter Gauge IntGauge Histogram);

impl<L: LabelSet, M: Metric> MetricField for Family<L, M> {
    const SHAPE: Shape = M::SHAPE;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    const LABEL_VALUES: &'static [&'static [&'static str]] = L::VALUE_SETS;

    fn resolve(field: &FieldDescriptor) -> Self {
        Family::from_series(crate::registry::series(field))
    }
}
