//! The metric types of `#[derive(Metrics)]` structs and of registries filled by hand: counters,
//! gauges and histograms over the crate's own cells, and typed families whose series are
//! picked by an array index. A handle is cheap to clone and shares its series.

// The sealed traits take the crate's private `Storage`: only the registry creates handles.
#![allow(private_interfaces)]

use std::sync::Arc;

use crate::exposition::{Exposition, HistogramReading, Value};
use crate::model::labels::{Labels, step};
use crate::model::{DEFAULT_BUCKETS, Shape};
use crate::storage::cells::{HistogramCells, ValueCells};

mod family;
mod histogram;
mod runtime_family;
mod values;

pub use family::{
    CounterFamily, Family, GaugeFamily, HistogramFamily, IntCounterFamily, IntGaugeFamily,
};
pub use histogram::{Histogram, HistogramTimer};
pub use runtime_family::{RuntimeFamily, UnknownLabelValue};
pub(crate) use runtime_family::{RuntimeSets, UNKNOWN_VALUES_FAMILY, UNKNOWN_VALUES_HELP};
pub use values::{Counter, Gauge, IntCounter, IntGauge};

/// The cells of one family, shared by its handles and by the registry that writes it.
#[derive(Clone, Debug)]
pub(crate) enum Storage {
    /// Counters and gauges.
    Values(Arc<ValueCells>),
    /// Histograms.
    Histograms(Arc<HistogramCells>),
}

impl Storage {
    /// Cells for `series` series of `shape`; `buckets` (empty for the default) for a histogram,
    /// native when the process' default says so.
    pub(crate) fn new(shape: Shape, series: usize, buckets: &[f64]) -> Storage {
        Storage::with_native(shape, series, buckets, false)
    }

    /// Cells as [`Storage::new`]; a histogram is native when `native` too.
    pub(crate) fn with_native(
        shape: Shape,
        series: usize,
        buckets: &[f64],
        native: bool,
    ) -> Storage {
        match shape {
            Shape::Counter | Shape::IntCounter => {
                Storage::Values(Arc::new(ValueCells::new(series, true)))
            }
            Shape::Gauge | Shape::IntGauge => {
                Storage::Values(Arc::new(ValueCells::new(series, false)))
            }
            Shape::Histogram => {
                let bounds = if buckets.is_empty() {
                    DEFAULT_BUCKETS
                } else {
                    buckets
                };
                let native = crate::settings::native_config(native);
                Storage::Histograms(Arc::new(HistogramCells::new(
                    series,
                    bounds,
                    native.as_ref(),
                )))
            }
        }
    }

    /// Bytes its cells take.
    pub(crate) fn size(&self) -> usize {
        match self {
            Storage::Values(cells) => cells.size(),
            Storage::Histograms(cells) => cells.size(),
        }
    }

    /// Writes every series of the family `name`, whose kind is `shape` and whose labels are
    /// `labels`, after the family's header.
    pub(crate) fn write(
        &self,
        name: &str,
        shape: Shape,
        labels: &LabelTable,
        constant: &Labels,
        writer: &mut dyn Exposition,
    ) {
        match self {
            Storage::Values(cells) => {
                labels.each_series(cells.series(), constant, |index, parts| {
                    let counter = |value| (value, cells.created(index), cells.exemplar_of(index));
                    match shape {
                        Shape::IntCounter => {
                            let (value, created, exemplar) =
                                counter(Value::Unsigned(cells.get_u64(index)));
                            writer.counter(name, parts, None, value, created, exemplar.as_ref());
                        }
                        Shape::Counter => {
                            let (value, created, exemplar) =
                                counter(Value::Float(cells.get_f64(index)));
                            writer.counter(name, parts, None, value, created, exemplar.as_ref());
                        }
                        Shape::IntGauge => {
                            writer.gauge(name, parts, None, Value::Signed(cells.get_i64(index)));
                        }
                        Shape::Gauge | Shape::Histogram => {
                            writer.gauge(name, parts, None, Value::Float(cells.get_f64(index)));
                        }
                    }
                });
            }
            Storage::Histograms(cells) => {
                let buckets = writer.buckets(cells.bounds());
                let mut cumulative = Vec::with_capacity(buckets.bounds.len() + 1);
                let mut exemplars = Vec::new();
                labels.each_series(cells.series(), constant, |index, parts| {
                    cells.exemplars(index, &mut exemplars);
                    if let Some(native) = cells.read_native(index) {
                        // A native histogram restarts from 0 when it is reset.
                        let created = Some(native.created);
                        let reading = HistogramReading::Native(&native);
                        writer.histogram(name, parts, &buckets, reading, created, &exemplars);
                    } else {
                        let created = Some(cells.created);
                        let sum = cells.read(index, &mut cumulative);
                        let reading = HistogramReading::Classic {
                            cumulative: &cumulative,
                            sum,
                        };
                        writer.histogram(name, parts, &buckets, reading, created, &exemplars);
                    }
                });
            }
        }
    }
}

/// The labels of a family whose labels are bounded: for each label, the label list
/// `name="value"` of each of its values, so that a series' labels are assembled from its index
/// without a string per series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LabelTable {
    values: Vec<Vec<Labels>>,
}

impl LabelTable {
    pub(crate) fn new(names: &[&str], values: &[&[&str]]) -> LabelTable {
        LabelTable {
            values: names
                .iter()
                .zip(values)
                .map(|(name, values)| {
                    values
                        .iter()
                        .map(|value| Labels::new([(*name, *value)]))
                        .collect()
                })
                .collect(),
        }
    }

    /// Calls `each` with the index of each of `series` series, in order, and its label
    /// lists: one per label, then `constant`.
    pub(crate) fn each_series<'a>(
        &'a self,
        series: usize,
        constant: &'a Labels,
        mut each: impl FnMut(usize, &[&'a Labels]),
    ) {
        if series == 0 {
            // A label without values: no series (and no first value).
            return;
        }
        let mut values = vec![0; self.values.len()];
        let mut parts: Vec<&Labels> = self.values.iter().map(|labels| &labels[0]).collect();
        parts.push(constant);
        for index in 0..series {
            each(index, &parts);
            let changed = step(&mut values, self.values.iter().map(Vec::len));
            for ((slot, labels), value) in parts[changed..]
                .iter_mut()
                .zip(&self.values[changed..])
                .zip(&values[changed..])
            {
                *slot = &labels[*value];
            }
        }
    }
}

pub(crate) mod sealed {
    /// What a registry needs of a metric type; sealed so that only the crate's types are
    /// metrics.
    pub trait Sealed: Sized {
        /// The handle of series `index` of `storage`, which has this type's shape.
        fn from_storage(storage: &super::Storage, index: usize) -> Self;
    }
}

/// One series of a metric: [`Counter`], [`IntCounter`], [`Gauge`], [`IntGauge`] or
/// [`Histogram`].
///
/// ```
/// use instrument_metric::{Histogram, Metric, Shape};
///
/// assert_eq!(Histogram::SHAPE, Shape::Histogram);
/// ```
pub trait Metric: sealed::Sealed + Clone + Send + Sync + 'static {
    /// How the family of this metric is registered.
    const SHAPE: Shape;
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact binary fractions
mod tests {
    use std::marker::PhantomData;

    use super::*;

    #[test]
    fn label_parts_follow_the_series_index() {
        let table = LabelTable::new(&["a", "b"], &[&["x", "y"], &["p", "q", "r"]]);
        let at = |index, constant| {
            let mut found = Vec::new();
            table.each_series(6, constant, |i, parts| {
                if i == index {
                    found = parts.to_vec();
                }
            });
            found
        };
        let constant = Labels::new([("env", "t")]);
        let parts = at(4, &constant);
        assert_eq!(parts, ["a=\"y\"", "b=\"q\"", "env=\"t\""]);
        let none = Labels::default();
        let parts = at(0, &none);
        assert_eq!(parts, ["a=\"x\"", "b=\"p\"", ""]);
    }

    #[test]
    fn handles_share_their_series() {
        let storage = Storage::new(Shape::IntCounter, 3, &[]);
        let family: Family<(bool,), IntCounter> = Family {
            series: (0..2)
                .map(|i| <IntCounter as sealed::Sealed>::from_storage(&storage, i))
                .collect(),
            labels: PhantomData,
        };
        let copy = family.with((true,)).clone();
        copy.inc_by(5);
        assert_eq!(family.with((true,)).get(), 5);
        assert_eq!(family.with((false,)).get(), 0);
    }

    #[test]
    fn counters_never_go_down() {
        let counter =
            <Counter as sealed::Sealed>::from_storage(&Storage::new(Shape::Counter, 1, &[]), 0);
        counter.inc_by(2.0);
        counter.inc_by(-1.0);
        counter.inc_by(f64::NAN);
        assert_eq!(counter.get(), 2.0);
    }

    #[test]
    fn concurrent_increments_lose_nothing() {
        let storage = Storage::new(Shape::IntCounter, 1, &[]);
        let counter = <IntCounter as sealed::Sealed>::from_storage(&storage, 0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let counter = counter.clone();
                scope.spawn(move || {
                    for _ in 0..100_000 {
                        counter.inc();
                    }
                });
            }
        });
        assert_eq!(counter.get(), 400_000);
        let gauge = <Gauge as sealed::Sealed>::from_storage(&Storage::new(Shape::Gauge, 1, &[]), 0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let gauge = gauge.clone();
                scope.spawn(move || {
                    for _ in 0..10_000 {
                        gauge.add(0.5);
                    }
                });
            }
        });
        assert_eq!(gauge.get(), 20_000.0);
    }

    #[test]
    fn histograms_count_every_observation() {
        let storage = Storage::new(Shape::Histogram, 1, &[1.0, 2.0]);
        let histogram = <Histogram as sealed::Sealed>::from_storage(&storage, 0);
        for value in [0.5, 1.5, 3.0, f64::NAN] {
            histogram.observe(value);
        }
        // The NaN is ignored: the sum stays a number.
        assert_eq!(histogram.get_sample_count(), 3);
        assert_eq!(histogram.get_sample_sum(), 5.0);
        let mut cumulative = Vec::new();
        let Storage::Histograms(cells) = &storage else {
            unreachable!()
        };
        cells.read(0, &mut cumulative);
        assert_eq!(cumulative, [1, 2, 3]);
    }
}
