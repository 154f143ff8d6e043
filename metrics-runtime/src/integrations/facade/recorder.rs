//! The recorder's state and the `metrics::Recorder` implementation: the handles already made,
//! by key (the fast way to a handle), the families by name (the slow way, at a key's first
//! registration), the help texts given by `describe_*`, and the self-metrics.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::catalog::Origin;
use crate::exposition::{Exposition, Value};
use crate::integrations::facade::family::{Family, Making, Slot};
use crate::integrations::facade::handles::{
    CounterSeries, GaugeSeries, HistogramSeries, Overflow, Refused,
};
use crate::integrations::facade::{FacadeRecorder, names};
use crate::metrics::sealed::Sealed;
use crate::metrics::{IntCounter, Storage};
use crate::model::labels::Labels;
use crate::model::{MetricKind, Shape};
use crate::registry::Registry;

/// Records through the facade that went to a family's overflow series.
pub(super) const OVERFLOW_FAMILY: &str = "metrics_facade_overflow_total";
const OVERFLOW_HELP: &str = "Records through the `metrics` facade past their family's series cap, recorded in its overflow series (every label `__overflow__`).";
/// Records through the facade exported nowhere, by reason.
pub(super) const REFUSED_FAMILY: &str = "metrics_facade_refused_total";
const REFUSED_HELP: &str = "Records through the `metrics` facade exported nowhere: a name or labels the naming rules refuse, labels other than the family's, or a name another family takes; instrument_metric::check() names each.";

/// Why a record is exported nowhere: the `reason` label of [`REFUSED_FAMILY`].
#[derive(Clone, Copy)]
pub(super) enum Reason {
    Name,
    Labels,
    Conflict,
}

const REASONS: [&str; 3] = ["name", "labels", "conflict"];

/// `Key`s hash themselves as the one `u64` they computed when made: a hasher that keeps it.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `Key`s are hashed here, and they write one `u64`; anything else still hashes.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

type Handles<H> = RwLock<HashMap<Key, H, BuildHasherDefault<KeyHasher>>>;

/// What a facade name is in the registry.
enum Known {
    Exported(Arc<Family>),
    /// Refused as this kind (its name is another family's).
    Refused(MetricKind),
}

impl Known {
    /// The family, when it is exported and of `kind`; else the kind it was first recorded as.
    fn as_kind(&self, kind: MetricKind) -> Result<Arc<Family>, MetricKind> {
        match self {
            Known::Exported(family) if family.shape.kind() == kind => Ok(Arc::clone(family)),
            Known::Exported(family) => Err(family.shape.kind()),
            Known::Refused(first) => Err(*first),
        }
    }
}

/// Where a key's records go.
enum Target {
    Series(Arc<Family>, usize),
    Overflow(Arc<Family>, usize),
    Refused(Reason),
}

/// How the recorder was built.
pub(super) struct Settings {
    pub(super) cap: usize,
    pub(super) buckets: Vec<f64>,
    pub(super) buckets_for: HashMap<String, Vec<f64>>,
    pub(super) native: bool,
}

/// The state every clone of a recorder shares.
pub(super) struct Shared {
    pub(super) registry: Registry,
    settings: Settings,
    pub(super) counters: Handles<Counter>,
    gauges: Handles<Gauge>,
    histograms: Handles<Histogram>,
    /// Every facade family by name, sorted for the exposition.
    families: RwLock<BTreeMap<String, Known>>,
    /// The first description given to each family name and kind ([`help_key`]).
    helps: Mutex<HashMap<String, String>>,
    /// Conflicts already reported (a key refused again is counted, not reported again).
    reported: Mutex<HashSet<String>>,
    refused: [IntCounter; 3],
}

impl Shared {
    pub(super) fn new(registry: Registry, settings: Settings) -> Shared {
        let storage = Storage::new(Shape::IntCounter, REASONS.len(), &[]);
        Shared {
            registry,
            settings,
            counters: RwLock::default(),
            gauges: RwLock::default(),
            histograms: RwLock::default(),
            families: RwLock::default(),
            helps: Mutex::default(),
            reported: Mutex::default(),
            refused: [0, 1, 2].map(|index| IntCounter::from_storage(&storage, index)),
        }
    }

    /// Records a conflict in the registry, once per family and problem, and counts the
    /// record as refused.
    fn refuse(&self, reason: Reason, family: &str, problem: &str, from: &str) -> Target {
        let problem = format!(
            "recorded through the `metrics` facade and exported nowhere (its records are counted in `{REFUSED_FAMILY}`): {problem}"
        );
        let first = self
            .reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(format!("{family}: {problem}"));
        if first {
            self.registry.report_at_run_time(family, problem, from);
        }
        Target::Refused(reason)
    }

    /// Where the records of `key`, recorded as `kind`, go: the slow path, at the first
    /// registration of a key.
    fn resolve(&self, kind: MetricKind, key: &Key, metadata: &Metadata<'_>) -> Target {
        let from = metadata.module_path().unwrap_or(metadata.target());
        let given = key.name();
        let name = match names::family_name(given, kind) {
            Ok(name) => name,
            Err(problem) => return self.refuse(Reason::Name, given, &problem, from),
        };
        let labels = match names::label_names(key.labels().map(metrics::Label::key)) {
            Ok(labels) => labels,
            Err(problem) => return self.refuse(Reason::Labels, &name, &problem, from),
        };
        let values: Vec<&str> = key.labels().map(metrics::Label::value).collect();
        let family = match self.family(kind, &name, &labels, from) {
            Ok(family) => family,
            Err(target) => return target,
        };
        // The values in the family's label order, if the record has the family's labels.
        let ordered: Option<Vec<String>> = (labels.len() == family.labels.len())
            .then(|| {
                family
                    .labels
                    .iter()
                    .map(|wanted| {
                        let at = labels.iter().position(|label| label == wanted)?;
                        Some(values[at].to_owned())
                    })
                    .collect()
            })
            .flatten();
        let Some(ordered) = ordered else {
            let problem = format!(
                "recorded with the labels {labels:?} after {:?}, the labels of its first record: a family has one set of labels",
                family.labels
            );
            return self.refuse(Reason::Labels, &name, &problem, from);
        };
        match family.slot(ordered) {
            Slot::Series(index) => Target::Series(family, index),
            Slot::Overflow(index) => Target::Overflow(family, index),
        }
    }

    /// The family `name` of `kind`, made (and claimed in the registry) at its first record;
    /// the refusal when it is not exported.
    fn family(
        &self,
        kind: MetricKind,
        name: &str,
        labels: &[String],
        from: &str,
    ) -> Result<Arc<Family>, Target> {
        let known = self
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|known| known.as_kind(kind));
        let known = match known {
            Some(known) => known,
            None => self.make(kind, name, labels, from),
        };
        known.map_err(|first| {
            if first == kind {
                // Refused when it was made: reported then.
                Target::Refused(Reason::Conflict)
            } else {
                let problem = format!("recorded as {kind} after being recorded as {first}");
                self.refuse(Reason::Conflict, name, &problem, from)
            }
        })
    }

    /// Makes family `name` and claims it in the registry (or finds the one another thread
    /// made meanwhile).
    fn make(
        &self,
        kind: MetricKind,
        name: &str,
        labels: &[String],
        from: &str,
    ) -> Result<Arc<Family>, MetricKind> {
        let mut families = self
            .families
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = families.get(name) {
            return known.as_kind(kind);
        }
        let shape = match kind {
            MetricKind::Counter => Shape::IntCounter,
            MetricKind::Gauge => Shape::Gauge,
            MetricKind::Histogram => Shape::Histogram,
        };
        let described = self
            .helps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&help_key(kind, name))
            .cloned();
        let help = match described {
            Some(help) => (help, true),
            None => (made_up_help(from), false),
        };
        let bounds = if kind == MetricKind::Histogram {
            let settings = &self.settings;
            settings
                .buckets_for
                .get(name)
                .unwrap_or(&settings.buckets)
                .clone()
        } else {
            Vec::new()
        };
        let claimed = self.registry.claim_at_run_time(
            name,
            &help.0,
            shape,
            labels,
            &bounds,
            self.settings.native,
            from,
            Origin::Facade,
        );
        if claimed.is_err() {
            families.insert(name.to_owned(), Known::Refused(kind));
            return Err(kind);
        }
        let family = Arc::new(Family::new(Making {
            name: name.to_owned(),
            shape,
            labels: labels.to_vec(),
            help,
            bounds,
            native: self.settings.native,
            cap: self.settings.cap,
        }));
        families.insert(name.to_owned(), Known::Exported(Arc::clone(&family)));
        Ok(family)
    }

    /// Keeps the first description of `name` (as `kind`), and gives it to its family if the
    /// family is already made.
    fn describe(&self, kind: MetricKind, name: &KeyName, description: &str) {
        let Ok(name) = names::family_name(name.as_str(), kind) else {
            return;
        };
        if description.trim().is_empty() {
            return;
        }
        let mut helps = self.helps.lock().unwrap_or_else(PoisonError::into_inner);
        match helps.entry(help_key(kind, &name)) {
            MapEntry::Occupied(_) => return,
            MapEntry::Vacant(slot) => slot.insert(description.to_owned()),
        };
        drop(helps);
        let families = self.families.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(Known::Exported(family)) = families.get(&name)
            && family.shape.kind() == kind
            && family.describe(description)
        {
            self.registry.set_help(&name, description);
        }
    }

    /// Writes every facade family, then the self-metrics.
    pub(super) fn write(&self, writer: &mut dyn Exposition) {
        let families: Vec<Arc<Family>> = self
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|known| match known {
                Known::Exported(family) => Some(Arc::clone(family)),
                Known::Refused(_) => None,
            })
            .collect();
        let constant = self.registry.constant();
        for family in &families {
            family.write(constant, writer);
        }
        let labelled: Vec<&Arc<Family>> = families.iter().filter(|f| f.has_labels()).collect();
        if !labelled.is_empty() {
            writer.header(OVERFLOW_FAMILY, OVERFLOW_HELP, MetricKind::Counter.into());
        }
        for family in labelled {
            let labels = Labels::new([("family", family.name.as_str())]);
            let value = Value::Unsigned(family.overflowed.get());
            writer.counter(
                OVERFLOW_FAMILY,
                &[&labels, constant],
                None,
                value,
                None,
                None,
            );
        }
        writer.header(REFUSED_FAMILY, REFUSED_HELP, MetricKind::Counter.into());
        for (reason, counter) in REASONS.iter().zip(&self.refused) {
            let labels = Labels::new([("reason", *reason)]);
            let value = Value::Unsigned(counter.get());
            writer.counter(
                REFUSED_FAMILY,
                &[&labels, constant],
                None,
                value,
                None,
                None,
            );
        }
    }
}

/// The handle of `key`: the one made at its first registration, or a new one.
fn handle<H: Clone>(handles: &Handles<H>, key: &Key, make: impl FnOnce() -> (H, bool)) -> H {
    if let Some(handle) = handles
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
    {
        return handle.clone();
    }
    let (handle, keep) = make();
    if !keep {
        // An overflowing or refused key is not kept: the keys past a family's cap are
        // unbounded, and keeping each would grow without end.
        return handle;
    }
    let mut handles = handles.write().unwrap_or_else(PoisonError::into_inner);
    match handles.entry(key.clone()) {
        MapEntry::Occupied(kept) => kept.get().clone(),
        MapEntry::Vacant(slot) => slot.insert(handle).clone(),
    }
}

/// The help of the self-metric `name`.
pub(super) fn help_of(name: &str) -> &'static str {
    if name == OVERFLOW_FAMILY {
        OVERFLOW_HELP
    } else {
        REFUSED_HELP
    }
}

/// The key of the description of family `name` of `kind`.
fn help_key(kind: MetricKind, name: &str) -> String {
    format!("{kind:?} {name}")
}

/// The help of a family no `describe_*` has described (yet).
fn made_up_help(from: &str) -> String {
    format!("Recorded through the `metrics` facade by `{from}` (not described).")
}

impl Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.shared
            .describe(MetricKind::Counter, &key, &description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.shared.describe(MetricKind::Gauge, &key, &description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.shared
            .describe(MetricKind::Histogram, &key, &description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        let shared = &self.shared;
        handle(&shared.counters, key, || {
            match shared.resolve(MetricKind::Counter, key, metadata) {
                Target::Series(family, index) => {
                    let counter = family.counter(index);
                    let series = CounterSeries { counter, family };
                    (Counter::from_arc(Arc::new(series)), true)
                }
                Target::Overflow(family, index) => {
                    let series = family.counter(index);
                    let records = family.overflowed.clone();
                    (
                        Counter::from_arc(Arc::new(Overflow { series, records })),
                        false,
                    )
                }
                Target::Refused(reason) => {
                    let refused = Refused(shared.refused[reason as usize].clone());
                    (Counter::from_arc(Arc::new(refused)), false)
                }
            }
        })
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        let shared = &self.shared;
        handle(&shared.gauges, key, || {
            match shared.resolve(MetricKind::Gauge, key, metadata) {
                Target::Series(family, index) => {
                    let series = GaugeSeries(family.gauge(index));
                    (Gauge::from_arc(Arc::new(series)), true)
                }
                Target::Overflow(family, index) => {
                    let series = family.gauge(index);
                    let records = family.overflowed.clone();
                    (
                        Gauge::from_arc(Arc::new(Overflow { series, records })),
                        false,
                    )
                }
                Target::Refused(reason) => {
                    let refused = Refused(shared.refused[reason as usize].clone());
                    (Gauge::from_arc(Arc::new(refused)), false)
                }
            }
        })
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        let shared = &self.shared;
        handle(&shared.histograms, key, || {
            match shared.resolve(MetricKind::Histogram, key, metadata) {
                Target::Series(family, index) => {
                    let series = HistogramSeries(family.histogram(index));
                    (Histogram::from_arc(Arc::new(series)), true)
                }
                Target::Overflow(family, index) => {
                    let series = family.histogram(index);
                    let records = family.overflowed.clone();
                    (
                        Histogram::from_arc(Arc::new(Overflow { series, records })),
                        false,
                    )
                }
                Target::Refused(reason) => {
                    let refused = Refused(shared.refused[reason as usize].clone());
                    (Histogram::from_arc(Arc::new(refused)), false)
                }
            }
        })
    }
}
