//! The fields of a `#[derive(Metrics)]` struct: [`MetricField`], implemented by every metric
//! type and family, turns the storage a registry gives a field's family into its handles.

use crate::metrics::sealed::Sealed;
use crate::metrics::{Counter, Family, Gauge, Histogram, IntCounter, IntGauge, Metric, Storage};
use crate::model::FieldDescriptor;
use crate::model::Shape;
use crate::model::labels::LabelSet;
use crate::registry::{Registry, registry};

/// A field of a `#[derive(Metrics)]` struct: a single metric or a [`Family`].
///
/// ```
/// use instrument_metric::{IntCounterFamily, LabelValue, MetricField};
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

    /// The field's handles over the storage a registry gave its family.
    #[doc(hidden)]
    fn from_storage(storage: &Storage) -> Self;

    /// The field's handles in `registry`: its family registered there (or found, for the same
    /// declaration), or handles exported nowhere when it conflicts (reported).
    #[doc(hidden)]
    #[must_use]
    fn register_in(registry: &Registry, field: &'static FieldDescriptor) -> Self {
        Self::from_storage(&registry.field_storage(field))
    }

    /// The field's handles in the global registry.
    #[doc(hidden)]
    #[must_use]
    fn global(field: &'static FieldDescriptor) -> Self {
        Self::register_in(registry(), field)
    }
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

            fn from_storage(storage: &Storage) -> Self {
                <$ty as Sealed>::from_storage(storage, 0)
            }
        }
    )+};
}

single_metric_fields!(Counter IntCounter Gauge IntGauge Histogram);

// Recommended: a family over a type that is not a `LabelSet` is then reported as that.
impl<L: LabelSet, M: Metric> MetricField for Family<L, M> {
    const SHAPE: Shape = M::SHAPE;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    const LABEL_VALUES: &'static [&'static [&'static str]] = L::VALUE_SETS;

    fn from_storage(storage: &Storage) -> Self {
        Family::from_storage(storage)
    }
}
