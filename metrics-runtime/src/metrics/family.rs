//! Typed families: a series per value of a `LabelSet`, picked by its array index.

use std::fmt;
use std::marker::PhantomData;

use crate::model::labels::LabelSet;

use super::{Counter, Gauge, Histogram, IntCounter, IntGauge};
use super::{Metric, Storage};

/// A metric family labelled by `L`: one series per combination of label values, all created
/// at start-up. [`Family::with`] picks a series by index, never by hashing.
///
/// ```
/// use instrument_metric::{IntCounterFamily, LabelValue, Metrics};
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
    pub(super) series: Box<[M]>,
    pub(super) labels: PhantomData<fn(&L)>,
}

impl<L: LabelSet, M: Metric> Family<L, M> {
    /// The series for `labels`.
    #[inline]
    #[allow(clippy::needless_pass_by_value)] // label sets are small values: `with(Provider::Twilio)`
    pub fn with(&self, labels: L) -> &M {
        &self.series[labels.series_index()]
    }

    /// Every series, in label index order.
    ///
    /// ```
    /// use instrument_metric::{IntGaugeFamily, Metrics};
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

impl<L, M: Clone> Clone for Family<L, M> {
    fn clone(&self) -> Self {
        Family {
            series: self.series.clone(),
            labels: PhantomData,
        }
    }
}

impl<L: LabelSet, M: Metric> fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("labels", &L::NAMES)
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

impl<L: LabelSet, M: Metric> Family<L, M> {
    /// A family over `storage`, one handle per label combination.
    pub(crate) fn from_storage(storage: &Storage) -> Self {
        Family {
            series: (0..L::CARDINALITY)
                .map(|index| M::from_storage(storage, index))
                .collect(),
            labels: PhantomData,
        }
    }
}
