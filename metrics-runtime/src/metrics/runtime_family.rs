//! Families with labels whose values are given at run time ([`RuntimeFamily`]): every series is
//! created when the family is registered, a value is found by one hash in its label's set, and
//! a value outside the set lands in the set's `other` value (or nowhere), counted in
//! `metrics_label_values_unknown_total`, never in a new series.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::exposition::{Exposition, Value};
use crate::model::Location;
use crate::model::label_values::{LabelValues, Position, Runtime, RuntimeLabels};
use crate::model::labels::{Labels, next_index};
use crate::storage::cells::ValueCells;

use super::{Metric, Storage};

/// The family the registry counts values outside a run-time label's set in, by `family` and
/// `label`.
pub(crate) const UNKNOWN_VALUES_FAMILY: &str = "metrics_label_values_unknown_total";

/// Its help.
pub(crate) const UNKNOWN_VALUES_HELP: &str = "Records with a label value outside the set registered for a run-time label, by family and label: each went to the set's `other` value, or nowhere when it has none.";

/// A metric family whose labels take their values from sets given when it is registered
/// ([`LabelValues`], read from configuration at start-up), beside [`LabelValue`](crate::LabelValue)
/// types if its label types `S` say so. Every series, one per combination of values, is created
/// at registration and exported from then on, at 0 until recorded.
///
/// Register one with [`Registry::int_counter_family`](crate::Registry::int_counter_family) (and
/// its siblings) for one run-time label, or [`Registry::family`](crate::Registry::family) for
/// several or for a mix with `LabelValue` types.
///
/// # A value outside the set
///
/// It never creates a series:
/// - [`RuntimeFamily::with`] records into the label's `other` value when its set has one
///   ([`LabelValues::with_other`]); when it has none, the record goes to a series exported
///   nowhere (it is lost). Either way, `metrics_label_values_unknown_total{family,label}` counts
///   it, and the first one of each label is logged as a warning.
/// - [`RuntimeFamily::try_with`] returns an [`UnknownLabelValue`] error naming the value and
///   records nothing (nor counts it): the caller decides.
///
/// For a gauge, prefer `try_with`: an `other` series set by two unknown values holds the last.
///
/// # Cost
///
/// `with` finds each run-time value by one hash of it in its set's table (`foldhash`) and one
/// comparison: a few nanoseconds, whatever the size of the set. A hot path
/// resolves once and keeps the handle: `family.with("eu-west").clone()` is an
/// [`IntCounter`](crate::IntCounter) (or other metric) whose `inc` costs what a compile-time
/// family's does.
///
/// ```
/// use instrument_metric::{LabelValues, Registry};
///
/// let registry = Registry::new();
/// let regions = LabelValues::new("region", ["eu-west", "us-east"]).unwrap().with_other("other").unwrap();
/// let sent = registry.int_counter_family("sms_sent_total", "SMS sent, by region.", &regions).unwrap();
/// sent.with("eu-west").inc();
/// sent.with("mars").inc(); // outside the set: into `other`, and counted
/// assert!(sent.try_with("mars").is_err());
///
/// let eu_west = sent.with("eu-west").clone(); // resolved once, for a hot path
/// eu_west.inc();
/// assert_eq!(sent.with("eu-west").get(), 2);
/// assert_eq!(sent.with("other").get(), 1);
/// assert_eq!(sent.with("us-east").get(), 0);
/// assert_eq!(sent.unknown_values(), [("region", 1)]);
/// ```
pub struct RuntimeFamily<M, S = Runtime> {
    series: Box<[M]>,
    /// Where a record with an unknown value of a set without `other` goes.
    sink: M,
    sets: Arc<RuntimeSets>,
    labels: PhantomData<fn(&S)>,
}

impl<M: Metric, S: RuntimeLabels> RuntimeFamily<M, S> {
    /// A family over `storage` (one series per combination) and `sets`.
    pub(crate) fn new(storage: &Storage, series: usize, sets: Arc<RuntimeSets>) -> Self {
        let sink = Storage::new(M::SHAPE, 1, storage_bounds(storage));
        RuntimeFamily {
            series: (0..series)
                .map(|index| M::from_storage(storage, index))
                .collect(),
            sink: M::from_storage(&sink, 0),
            sets,
            labels: PhantomData,
        }
    }

    /// The series for `key`: the value of each label, in label order (a `&str` for a
    /// [`Runtime`] label, the value itself for a `LabelValue` type). A run-time value outside its
    /// set goes to the set's `other` value, or nowhere without one, and is counted: see the
    /// type's docs.
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let warehouses = LabelValues::new("warehouse", ["north", "south"]).unwrap();
    /// let picked = registry.int_counter_family("items_picked_total", "Items picked.", &warehouses).unwrap();
    /// let configured = String::from("south");
    /// picked.with(&configured).inc_by(3);
    /// picked.with("east").inc(); // no `other`: dropped, and counted
    /// assert_eq!(picked.iter().map(|series| series.get()).collect::<Vec<_>>(), [0, 3]);
    /// assert_eq!(picked.unknown_values(), [("warehouse", 1)]);
    /// ```
    #[inline]
    pub fn with(&self, key: S::Key<'_>) -> &M {
        let found = self.locate(key);
        if found.unknown == 0 {
            return &self.series[found.index];
        }
        self.outside(found)
    }

    /// The series for `key`, or an error naming the first run-time value outside its set (the
    /// `other` value is in the set). Records and counts nothing on an error.
    ///
    /// # Errors
    ///
    /// [`UnknownLabelValue`] when a run-time value is not in its label's set.
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let tenants = LabelValues::new("tenant", ["acme"]).unwrap();
    /// let jobs = registry.int_counter_family("jobs_total", "Jobs, by tenant.", &tenants).unwrap();
    /// jobs.try_with("acme").unwrap().inc();
    /// let error = jobs.try_with("initech").unwrap_err();
    /// assert_eq!(error.value, "initech");
    /// assert_eq!(error.label, "tenant");
    /// assert_eq!(jobs.unknown_values(), [("tenant", 0)]);
    /// ```
    #[inline]
    pub fn try_with(&self, key: S::Key<'_>) -> Result<&M, UnknownLabelValue> {
        let found = self.locate(key);
        if found.unknown == 0 {
            return Ok(&self.series[found.index]);
        }
        let set = &self.sets.sets[found.unknown.trailing_zeros() as usize];
        Err(UnknownLabelValue {
            family: self.sets.family,
            label: set.values.name().to_owned(),
            value: found.first.unwrap_or_default().to_owned(),
            location: self.sets.location,
        })
    }

    /// Every series, in label index order (the last label varies fastest).
    pub fn iter(&self) -> impl Iterator<Item = &M> {
        self.series.iter()
    }

    /// The sets of its run-time labels, in label order.
    pub fn label_values(&self) -> impl Iterator<Item = &LabelValues> {
        self.sets.sets.iter().map(|set| &set.values)
    }

    /// How many records [`RuntimeFamily::with`] got with a value outside each run-time
    /// label's set so far, by label: what `metrics_label_values_unknown_total` exports.
    #[must_use]
    pub fn unknown_values(&self) -> Vec<(&str, u64)> {
        self.sets
            .sets
            .iter()
            .enumerate()
            .map(|(i, set)| (set.values.name(), self.sets.unknown.get_u64(i)))
            .collect()
    }

    /// Finds the series of `key`.
    #[inline]
    fn locate<'k>(&self, key: S::Key<'k>) -> Found<'k> {
        let mut found = Found {
            index: 0,
            unknown: 0,
            first: None,
        };
        let mut runtime = 0;
        for position in S::positions(key).as_slice() {
            match *position {
                Position::Index(value, count) => {
                    found.index = next_index(found.index, count, value);
                }
                Position::Text(text) => {
                    let values = &self.sets.sets[runtime].values;
                    let value = if let Some(value) = values.index_of(text) {
                        value
                    } else {
                        found.unknown |= 1 << runtime;
                        found.first.get_or_insert(text);
                        values.other_index().unwrap_or(0)
                    };
                    found.index = next_index(found.index, values.len(), value);
                    runtime += 1;
                }
            }
        }
        found
    }

    /// The series of a key with values outside their sets: counted, then `other`, or the sink
    /// when a set has no `other`.
    #[cold]
    #[inline(never)]
    fn outside(&self, found: Found<'_>) -> &M {
        let mut lost = false;
        for (i, set) in self.sets.sets.iter().enumerate() {
            if found.unknown & (1 << i) == 0 {
                continue;
            }
            self.sets.unknown.add_u64(i, 1);
            lost |= set.values.other().is_none();
            if !set.warned.swap(true, Ordering::Relaxed) {
                let fate = set.values.other().map_or_else(
                    || "dropped (the set has no `other` value)".to_owned(),
                    |other| format!("recorded as {other:?}"),
                );
                log::warn!(
                    "metric `{}`: the value {:?} of the label `{}` is not in the set registered at {}: {fate}, and counted in `{UNKNOWN_VALUES_FAMILY}` (this warning is logged once per label)",
                    self.sets.family,
                    found.first.unwrap_or_default(),
                    set.values.name(),
                    self.sets.location,
                );
            }
        }
        if lost {
            &self.sink
        } else {
            &self.series[found.index]
        }
    }
}

/// Where a key's series is, and which run-time values were outside their sets.
#[derive(Clone, Copy)]
struct Found<'k> {
    index: usize,
    /// A bit per run-time label whose value is outside its set.
    unknown: u32,
    /// The first such value.
    first: Option<&'k str>,
}

fn storage_bounds(storage: &Storage) -> &[f64] {
    match storage {
        Storage::Values(_) => &[],
        Storage::Histograms(cells) => cells.bounds(),
    }
}

impl<M: Clone, S> Clone for RuntimeFamily<M, S> {
    fn clone(&self) -> Self {
        RuntimeFamily {
            series: self.series.clone(),
            sink: self.sink.clone(),
            sets: Arc::clone(&self.sets),
            labels: PhantomData,
        }
    }
}

impl<M, S> fmt::Debug for RuntimeFamily<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeFamily")
            .field("family", &self.sets.family)
            .field(
                "sets",
                &self
                    .sets
                    .sets
                    .iter()
                    .map(|set| &set.values)
                    .collect::<Vec<_>>(),
            )
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

/// The run-time labels of one registered family, shared by its handles and by the registry
/// that writes its count of unknown values.
pub(crate) struct RuntimeSets {
    family: &'static str,
    location: Location,
    sets: Vec<RuntimeSet>,
    /// A counter per set: records with a value outside it.
    unknown: ValueCells,
}

struct RuntimeSet {
    values: LabelValues,
    /// `family="...",label="..."`, its series of [`UNKNOWN_VALUES_FAMILY`].
    labels: Labels,
    /// Whether the first value outside the set was logged.
    warned: AtomicBool,
}

impl RuntimeSets {
    /// The run-time labels `sets` of family `family`, registered at `location`.
    pub(crate) fn new(family: &'static str, location: Location, sets: &[LabelValues]) -> Self {
        RuntimeSets {
            family,
            location,
            sets: sets
                .iter()
                .map(|values| RuntimeSet {
                    labels: Labels::new([("family", family), ("label", values.name())]),
                    values: values.clone(),
                    warned: AtomicBool::new(false),
                })
                .collect(),
            unknown: ValueCells::new(sets.len(), true),
        }
    }

    /// Whether `sets` are this family's, `other` values included.
    pub(crate) fn same(&self, sets: &[LabelValues]) -> bool {
        self.sets.len() == sets.len() && self.sets.iter().zip(sets).all(|(a, b)| a.values == *b)
    }

    /// The `other` value of each set, to tell two registrations apart whose values agree.
    pub(crate) fn others(&self) -> Vec<Option<&str>> {
        self.sets.iter().map(|set| set.values.other()).collect()
    }

    /// Writes this family's series of [`UNKNOWN_VALUES_FAMILY`], whose header is written.
    pub(crate) fn write_unknown(&self, constant: &Labels, writer: &mut dyn Exposition) {
        for (i, set) in self.sets.iter().enumerate() {
            let count = Value::Unsigned(self.unknown.get_u64(i));
            let created = self.unknown.created(i);
            let labels = [&set.labels, constant];
            writer.counter(UNKNOWN_VALUES_FAMILY, &labels, None, count, created, None);
        }
    }
}

/// A run-time label value outside its label's set, as [`RuntimeFamily::try_with`] reports it.
///
/// ```
/// use instrument_metric::{LabelValues, Registry};
///
/// let registry = Registry::new();
/// let regions = LabelValues::new("region", ["eu-west"]).unwrap();
/// let sent = registry.int_counter_family("sms_sent_total", "SMS sent.", &regions).unwrap();
/// let error = sent.try_with("mars").unwrap_err();
/// assert_eq!(error.family, "sms_sent_total");
/// assert!(error.to_string().starts_with("\"mars\" is not a value of the label `region` of `sms_sent_total`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownLabelValue {
    /// The family.
    pub family: &'static str,
    /// The run-time label.
    pub label: String,
    /// The value outside its set.
    pub value: String,
    /// Where the family was registered.
    pub location: Location,
}

impl fmt::Display for UnknownLabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a value of the label `{}` of `{}`, registered at {}: add it to the label's set, or give the set an `other` value and record with `with`",
            self.value, self.label, self.family, self.location
        )
    }
}

impl std::error::Error for UnknownLabelValue {}
