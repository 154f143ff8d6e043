//! Counters and gauges: `Counter`, `IntCounter`, `Gauge`, `IntGauge`, over value cells.

use std::fmt;
use std::sync::Arc;

use crate::model::Shape;
use crate::storage::cells::ValueCells;
use crate::storage::exemplar::current_trace;

use super::{Metric, Storage, sealed};

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
