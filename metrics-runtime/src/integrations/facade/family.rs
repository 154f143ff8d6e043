//! One family recorded through the facade: its series, made at their first record up to the
//! family's cap, the overflow series past the cap, and how the family writes itself.
//!
//! Series live in blocks of [`BLOCK`] series of the crate's own cells (striped counters,
//! histograms with their classic or native buckets), so that a handle is an `Arc` to a block
//! and an index, as a `Metrics` struct field's is, and a family of many series does not pay a
//! set of stripes per series.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};

use crate::exposition::{Exposition, HistogramReading, Value};
use crate::metrics::sealed::Sealed;
use crate::metrics::{Gauge, Histogram, IntCounter, Storage};
use crate::model::Shape;
use crate::model::labels::Labels;

/// Series per block of cells.
pub(super) const BLOCK: usize = 16;

/// The value of every label of a family's overflow series.
pub(super) const OVERFLOW_VALUE: &str = "__overflow__";

/// A family recorded through the facade.
pub(super) struct Family {
    /// Its name in the exposition.
    pub(super) name: String,
    /// `IntCounter`, `Gauge` or `Histogram`.
    pub(super) shape: Shape,
    /// Its label names, in the order of its first record.
    pub(super) labels: Vec<String>,
    /// Its help, and whether a `describe_*` gave it.
    help: RwLock<(String, bool)>,
    bounds: Vec<f64>,
    native: bool,
    /// Series past this many go to the overflow series.
    cap: usize,
    series: RwLock<Series>,
    /// Records that went to the overflow series.
    pub(super) overflowed: IntCounter,
    /// Serializes `absolute` on a counter's series: it reads the value, then adds to it.
    pub(super) absolute: Mutex<()>,
}

#[derive(Default)]
struct Series {
    /// The index of each series, by its label values in the family's order.
    by_values: HashMap<Vec<String>, usize>,
    /// The labels of each series, in the order they were made.
    labels: Vec<Labels>,
    blocks: Vec<Storage>,
    overflow: Option<usize>,
}

/// Where a record of a label combination goes.
pub(super) enum Slot {
    /// Its own series.
    Series(usize),
    /// The overflow series (past the cap).
    Overflow(usize),
}

/// How a family is made.
pub(super) struct Making {
    pub(super) name: String,
    pub(super) shape: Shape,
    pub(super) labels: Vec<String>,
    pub(super) help: (String, bool),
    pub(super) bounds: Vec<f64>,
    pub(super) native: bool,
    pub(super) cap: usize,
}

impl Family {
    pub(super) fn new(making: Making) -> Family {
        let overflowed = IntCounter::from_storage(&Storage::new(Shape::IntCounter, 1, &[]), 0);
        Family {
            name: making.name,
            shape: making.shape,
            labels: making.labels,
            help: RwLock::new(making.help),
            bounds: making.bounds,
            native: making.native,
            cap: making.cap,
            series: RwLock::new(Series::default()),
            overflowed,
            absolute: Mutex::new(()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Series> {
        self.series.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the family `help` from a `describe_*`, unless one gave it already: `true` when
    /// it did.
    pub(super) fn describe(&self, help: &str) -> bool {
        let mut kept = self.help.write().unwrap_or_else(PoisonError::into_inner);
        if kept.1 {
            return false;
        }
        *kept = (help.to_owned(), true);
        true
    }

    /// The series of label values `values` (in the family's label order): found, made when
    /// the family has fewer than its cap, or the overflow series.
    pub(super) fn slot(&self, values: Vec<String>) -> Slot {
        {
            let series = self.read();
            if let Some(index) = series.by_values.get(&values) {
                return Slot::Series(*index);
            }
            // There is an overflow series once the family has its cap of series.
            if let Some(index) = series.overflow {
                return Slot::Overflow(index);
            }
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = series.by_values.get(&values) {
            return Slot::Series(*index);
        }
        let made = series.labels.len() - usize::from(series.overflow.is_some());
        if made < self.cap {
            return Slot::Series(self.make(&mut series, values));
        }
        if let Some(index) = series.overflow {
            return Slot::Overflow(index);
        }
        let values = vec![OVERFLOW_VALUE.to_owned(); self.labels.len()];
        let index = self.make(&mut series, values);
        series.overflow = Some(index);
        Slot::Overflow(index)
    }

    fn make(&self, series: &mut Series, values: Vec<String>) -> usize {
        let index = series.labels.len();
        if index.is_multiple_of(BLOCK) {
            let block = Storage::with_native(self.shape, BLOCK, &self.bounds, self.native);
            series.blocks.push(block);
        }
        let pairs = self.labels.iter().map(String::as_str);
        series
            .labels
            .push(Labels::new(pairs.zip(values.iter().map(String::as_str))));
        series.by_values.insert(values, index);
        index
    }

    fn block(&self, index: usize) -> Storage {
        self.read().blocks[index / BLOCK].clone()
    }

    /// The counter of series `index`.
    pub(super) fn counter(&self, index: usize) -> IntCounter {
        IntCounter::from_storage(&self.block(index), index % BLOCK)
    }

    /// The gauge of series `index`.
    pub(super) fn gauge(&self, index: usize) -> Gauge {
        Gauge::from_storage(&self.block(index), index % BLOCK)
    }

    /// The histogram of series `index`.
    pub(super) fn histogram(&self, index: usize) -> Histogram {
        Histogram::from_storage(&self.block(index), index % BLOCK)
    }

    /// Whether a record can overflow: a family without labels has one series.
    pub(super) fn has_labels(&self) -> bool {
        !self.labels.is_empty()
    }

    /// Writes the family and each of its series (nothing before its first series).
    pub(super) fn write(&self, constant: &Labels, writer: &mut dyn Exposition) {
        let series = self.read();
        if series.labels.is_empty() {
            return;
        }
        let help = self.help.read().unwrap_or_else(PoisonError::into_inner);
        let name = self.name.as_str();
        writer.header(name, &help.0, self.shape.kind().into());
        let buckets = match series.blocks.first() {
            Some(Storage::Histograms(cells)) => Some(writer.buckets(cells.bounds())),
            _ => None,
        };
        let mut cumulative = Vec::new();
        let mut exemplars = Vec::new();
        for (index, labels) in series.labels.iter().enumerate() {
            let at = index % BLOCK;
            let parts = &[labels, constant];
            match &series.blocks[index / BLOCK] {
                Storage::Values(cells) if self.shape == Shape::IntCounter => {
                    let value = Value::Unsigned(cells.get_u64(at));
                    let exemplar = cells.exemplar_of(at);
                    let created = cells.created(at);
                    writer.counter(name, parts, None, value, created, exemplar.as_ref());
                }
                Storage::Values(cells) => {
                    writer.gauge(name, parts, None, Value::Float(cells.get_f64(at)));
                }
                Storage::Histograms(cells) => {
                    let Some(buckets) = &buckets else { continue };
                    cells.exemplars(at, &mut exemplars);
                    if let Some(native) = cells.read_native(at) {
                        let created = Some(native.created);
                        let reading = HistogramReading::Native(&native);
                        writer.histogram(name, parts, buckets, reading, created, &exemplars);
                    } else {
                        let sum = cells.read(at, &mut cumulative);
                        let reading = HistogramReading::Classic {
                            cumulative: &cumulative,
                            sum,
                        };
                        let created = Some(cells.created);
                        writer.histogram(name, parts, buckets, reading, created, &exemplars);
                    }
                }
            }
        }
    }
}
