//! The metric types of `#[derive(Metrics)]` structs and of registries filled by hand: counters,
//! gauges and histograms over the crate's own cells, and typed families whose series are
//! picked by an array index. A handle is cheap to clone and shares its series.

// The sealed traits take the crate's private `Storage`: only the registry creates handles.
#![allow(private_interfaces)]

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exposition::{Exposition, HistogramReading, Value};
use crate::model::labels::{LabelSet, Labels, step};
use crate::model::{DEFAULT_BUCKETS, Shape};
use crate::storage::cells::{HistogramCells, ValueCells};
use crate::storage::exemplar::current_trace;

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

/// Declares a handle type over value cells.
macro_rules! value_handle {
    ($(#[$doc:meta])* $name:ident, $shape:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            cells: Arc<ValueCells>,
            index: usize,
        }

        impl sealed::Sealed for $name {
            fn from_storage(storage: &Storage, index: usize) -> Self {
                match storage {
                    Storage::Values(cells) => $name { cells: Arc::clone(cells), index },
                    // The registry gives each type storage of its own shape.
                    Storage::Histograms(_) => {
                        let Storage::Values(cells) = Storage::new(Shape::$shape, 1, &[]) else {
                            unreachable!("value storage for a value shape")
                        };
                        $name { cells, index: 0 }
                    }
                }
            }
        }

        impl Metric for $name {
            const SHAPE: Shape = Shape::$shape;
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.get()).finish()
            }
        }
    };
}

value_handle!(
    /// A counter of `f64` amounts (for whole counts, [`IntCounter`] is cheaper).
    ///
    /// ```
    /// use instrument_metric::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Billing {
    ///     /// Amount charged, in euros.
    ///     #[metric(name = "billing_charged_euros_total")]
    ///     charged: Counter,
    /// }
    ///
    /// let billing = Billing::global();
    /// billing.charged.inc_by(2.5);
    /// billing.charged.inc();
    /// assert_eq!(billing.charged.get(), 3.5);
    /// ```
    Counter,
    Counter
);

impl Counter {
    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1.0);
    }

    /// Adds `amount`. A counter never goes down: a negative or NaN amount is ignored.
    #[inline]
    pub fn inc_by(&self, amount: f64) {
        if amount >= 0.0 {
            self.cells.add_f64(self.index, amount);
            if let Some(trace) = current_trace() {
                self.cells.exemplar(self.index, trace, amount);
            }
        }
    }

    /// The total.
    #[must_use]
    pub fn get(&self) -> f64 {
        self.cells.get_f64(self.index)
    }

    /// Sets the total back to zero, as a process restart would: Prometheus' `rate` reads it
    /// as a counter reset.
    pub fn reset(&self) {
        self.cells.reset(self.index);
    }
}

value_handle!(
    /// A counter of whole numbers: one relaxed atomic add per increment, striped when its
    /// family is small, so that threads counting into one series do not contend.
    ///
    /// ```
    /// use instrument_metric::{IntCounter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_run_total: IntCounter,
    /// }
    ///
    /// Jobs::global().jobs_run_total.inc_by(2);
    /// let shared = Jobs::global().jobs_run_total.clone();
    /// shared.inc();
    /// assert_eq!(Jobs::global().jobs_run_total.get(), 3);
    /// ```
    IntCounter,
    IntCounter
);

impl IntCounter {
    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `amount`.
    #[inline]
    pub fn inc_by(&self, amount: u64) {
        self.cells.add_u64(self.index, amount);
        if let Some(trace) = current_trace() {
            #[allow(clippy::cast_precision_loss)] // an increment, as the formats' doubles
            self.cells.exemplar(self.index, trace, amount as f64);
        }
    }

    /// The total.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.cells.get_u64(self.index)
    }

    /// Sets the total back to zero, as a process restart would: Prometheus' `rate` reads it
    /// as a counter reset.
    pub fn reset(&self) {
        self.cells.reset(self.index);
    }
}

value_handle!(
    /// A value that goes up and down, an `f64`.
    ///
    /// ```
    /// use instrument_metric::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Tank {
    ///     /// Water in the tank, as a share of its capacity.
    ///     tank_level_ratio: Gauge,
    /// }
    ///
    /// let level = &Tank::global().tank_level_ratio;
    /// level.set(0.5);
    /// level.add(0.25);
    /// level.sub(0.5);
    /// assert_eq!(level.get(), 0.25);
    /// ```
    Gauge,
    Gauge
);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.cells.set_bits(self.index, value.to_bits());
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts 1.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Adds `amount`.
    #[inline]
    pub fn add(&self, amount: f64) {
        self.cells.add_f64(self.index, amount);
    }

    /// Subtracts `amount`.
    #[inline]
    pub fn sub(&self, amount: f64) {
        self.cells.add_f64(self.index, -amount);
    }

    /// The value.
    #[must_use]
    pub fn get(&self) -> f64 {
        self.cells.get_f64(self.index)
    }
}

value_handle!(
    /// A value that goes up and down, an `i64`.
    ///
    /// ```
    /// use instrument_metric::{IntGauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Connections in use.
    ///     pool_connections_in_use: IntGauge,
    /// }
    ///
    /// let in_use = &Pool::global().pool_connections_in_use;
    /// in_use.inc();
    /// in_use.add(3);
    /// in_use.dec();
    /// assert_eq!(in_use.get(), 3);
    /// in_use.set(7);
    /// assert_eq!(in_use.get(), 7);
    /// ```
    IntGauge,
    IntGauge
);

impl IntGauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.cells
            .set_bits(self.index, u64::from_ne_bytes(value.to_ne_bytes()));
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts 1.
    #[inline]
    pub fn dec(&self) {
        self.add(-1);
    }

    /// Adds `amount`.
    #[inline]
    pub fn add(&self, amount: i64) {
        self.cells.add_i64(self.index, amount);
    }

    /// Subtracts `amount`.
    #[inline]
    pub fn sub(&self, amount: i64) {
        self.cells.add_i64(self.index, amount.wrapping_neg());
    }

    /// The value.
    #[must_use]
    pub fn get(&self) -> i64 {
        self.cells.get_i64(self.index)
    }
}

/// A histogram of observations (durations in seconds, sizes in bytes), with the bucket bounds
/// of its family.
///
/// ```
/// use instrument_metric::{Histogram, Metrics};
///
/// #[derive(Metrics)]
/// struct Uploads {
///     /// Size of uploaded files.
///     #[metric(buckets = [1024.0, 1048576.0])]
///     upload_size_bytes: Histogram,
///     /// Time to store an upload.
///     upload_store_duration_seconds: Histogram,
/// }
///
/// let uploads = Uploads::global();
/// uploads.upload_size_bytes.observe(2048.0);
/// let stored = uploads.upload_store_duration_seconds.observe_closure_duration(|| "stored");
/// assert_eq!(stored, "stored");
/// let timer = uploads.upload_store_duration_seconds.start_timer();
/// timer.observe_duration();
/// assert_eq!(uploads.upload_size_bytes.get_sample_count(), 1);
/// assert_eq!(uploads.upload_size_bytes.get_sample_sum(), 2048.0);
/// assert_eq!(uploads.upload_store_duration_seconds.get_sample_count(), 2);
/// ```
#[derive(Clone)]
pub struct Histogram {
    cells: Arc<HistogramCells>,
    index: usize,
}

impl sealed::Sealed for Histogram {
    fn from_storage(storage: &Storage, index: usize) -> Self {
        match storage {
            Storage::Histograms(cells) => Histogram {
                cells: Arc::clone(cells),
                index,
            },
            // The registry gives each type storage of its own shape.
            Storage::Values(_) => Histogram {
                cells: Arc::new(HistogramCells::new(1, DEFAULT_BUCKETS, None)),
                index: 0,
            },
        }
    }
}

impl Metric for Histogram {
    const SHAPE: Shape = Shape::Histogram;
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.get_sample_count())
            .field("sum", &self.get_sample_sum())
            .finish()
    }
}

impl Histogram {
    /// Records one observation. A NaN is ignored (as [`Counter::inc_by`] ignores one): counted,
    /// it would make the sum NaN for good.
    ///
    /// Negative values are recorded, but OpenMetrics 1.0 wants a histogram's sum to be a
    /// counter: while the sum is negative (and always, for buckets with a negative bound) the
    /// OpenMetrics exposition has no `_sum` and no `_count` for the series; its
    /// `_bucket{le="+Inf"}` is the count. The text and protobuf formats keep both.
    ///
    /// ```
    /// use instrument_metric::{Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Rooms {
    ///     /// Temperatures read, in degrees Celsius.
    ///     #[metric(buckets = [0.0, 20.0, 40.0])]
    ///     room_temperature_celsius: Histogram,
    /// }
    ///
    /// let rooms = Rooms::global();
    /// rooms.room_temperature_celsius.observe(21.5);
    /// rooms.room_temperature_celsius.observe(f64::NAN);
    /// assert_eq!(rooms.room_temperature_celsius.get_sample_count(), 1);
    /// assert_eq!(rooms.room_temperature_celsius.get_sample_sum(), 21.5);
    /// ```
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(self.index, value);
    }

    /// A timer that observes the seconds from now until it is stopped or dropped.
    pub fn start_timer(&self) -> HistogramTimer {
        HistogramTimer {
            histogram: self.clone(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Runs `f` and observes how long it took, in seconds.
    pub fn observe_closure_duration<R>(&self, f: impl FnOnce() -> R) -> R {
        let started = Instant::now();
        let result = f();
        self.observe(started.elapsed().as_secs_f64());
        result
    }

    /// The number of observations.
    #[must_use]
    pub fn get_sample_count(&self) -> u64 {
        let mut cumulative = Vec::new();
        self.cells.read(self.index, &mut cumulative);
        cumulative.last().copied().unwrap_or(0)
    }

    /// The sum of the observations.
    #[must_use]
    pub fn get_sample_sum(&self) -> f64 {
        let mut cumulative = Vec::new();
        self.cells.read(self.index, &mut cumulative)
    }
}

/// Observes the seconds since [`Histogram::start_timer`] when stopped, or when dropped.
#[derive(Debug)]
#[must_use = "a timer observes when it is dropped: drop it where the work ends"]
pub struct HistogramTimer {
    histogram: Histogram,
    started: Instant,
    done: bool,
}

impl HistogramTimer {
    /// Observes the time elapsed.
    pub fn observe_duration(self) {
        self.stop_and_record();
    }

    /// Observes the time elapsed and returns it, in seconds.
    #[allow(clippy::must_use_candidate)] // observing is the point; the value is a bonus
    pub fn stop_and_record(mut self) -> f64 {
        self.done = true;
        let seconds = self.started.elapsed().as_secs_f64();
        self.histogram.observe(seconds);
        seconds
    }

    /// Returns the time elapsed, in seconds, without observing it.
    #[must_use]
    pub fn stop_and_discard(mut self) -> f64 {
        self.done = true;
        self.started.elapsed().as_secs_f64()
    }

    /// The time elapsed so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for HistogramTimer {
    fn drop(&mut self) {
        if !self.done {
            self.histogram.observe(self.started.elapsed().as_secs_f64());
        }
    }
}

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
    series: Box<[M]>,
    labels: PhantomData<fn(&L)>,
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

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact binary fractions
mod tests {
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
