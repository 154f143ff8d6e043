//! The handles the facade's macros get: a series' own handle (an `Arc` to its block of cells
//! and an index), the overflow series' (which also counts the record), and a refused
//! record's (which only counts it).

use std::sync::{Arc, PoisonError};

use metrics::{CounterFn, GaugeFn, HistogramFn};

use crate::integrations::facade::family::Family;
use crate::metrics::{Gauge, Histogram, IntCounter};

/// A counter series.
pub(super) struct CounterSeries {
    pub(super) counter: IntCounter,
    pub(super) family: Arc<Family>,
}

impl CounterFn for CounterSeries {
    #[inline]
    fn increment(&self, value: u64) {
        self.counter.inc_by(value);
    }

    /// Sets the counter to `value` when it is below: never down, as `metrics` asks. Calls on
    /// one family take turns, so that two of them cannot both add the same difference.
    fn absolute(&self, value: u64) {
        let _turn = self
            .family
            .absolute
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.counter.get();
        if value > now {
            self.counter.inc_by(value - now);
        }
    }
}

/// A gauge series.
pub(super) struct GaugeSeries(pub(super) Gauge);

impl GaugeFn for GaugeSeries {
    #[inline]
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

/// A histogram series.
pub(super) struct HistogramSeries(pub(super) Histogram);

impl HistogramFn for HistogramSeries {
    #[inline]
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

/// A family's overflow series: each record goes to it and is counted in
/// `metrics_facade_overflow_total{family}`.
pub(super) struct Overflow<H> {
    pub(super) series: H,
    pub(super) records: IntCounter,
}

impl CounterFn for Overflow<IntCounter> {
    fn increment(&self, value: u64) {
        self.records.inc();
        self.series.inc_by(value);
    }

    /// Counted, not recorded: one label combination's total cannot be summed with others'.
    fn absolute(&self, _value: u64) {
        self.records.inc();
    }
}

impl GaugeFn for Overflow<Gauge> {
    fn increment(&self, value: f64) {
        self.records.inc();
        self.series.add(value);
    }

    fn decrement(&self, value: f64) {
        self.records.inc();
        self.series.sub(value);
    }

    fn set(&self, value: f64) {
        self.records.inc();
        self.series.set(value);
    }
}

impl HistogramFn for Overflow<Histogram> {
    fn record(&self, value: f64) {
        self.records.inc();
        self.series.observe(value);
    }
}

/// A record exported nowhere, counted in `metrics_facade_refused_total{reason}`.
pub(super) struct Refused(pub(super) IntCounter);

impl CounterFn for Refused {
    fn increment(&self, _value: u64) {
        self.0.inc();
    }

    fn absolute(&self, _value: u64) {
        self.0.inc();
    }
}

impl GaugeFn for Refused {
    fn increment(&self, _value: f64) {
        self.0.inc();
    }

    fn decrement(&self, _value: f64) {
        self.0.inc();
    }

    fn set(&self, _value: f64) {
        self.0.inc();
    }
}

impl HistogramFn for Refused {
    fn record(&self, _value: f64) {
        self.0.inc();
    }
}
