//! Registries: the families a program exports, whatever declares them, and the conflicts among
//! them. The global registry is built on first use from every declaration submitted through
//! `inventory` (instrumented functions, `Metrics` structs, the HTTP layer); a scoped registry,
//! [`Registry::new`], holds only what is registered in it.
//!
//! A registry never exports a family or a series twice: a declaration that disagrees with an
//! earlier one, that would write a series another already writes (`x_count` beside a histogram
//! `x`, a gauge `x` beside a counter `x_total`), that takes a constant label's name or a name
//! the crate writes itself, is refused; it is reported by [`Registry::check`], in the log, and
//! by `metrics_catalog_conflicts`, and its values go to cells exported nowhere.
//!
//! The global registry keeps the names of the default HTTP layer's families
//! (`http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`, and
//! their series' names) for it, whether or not the layer is built: any other declaration
//! that takes one is refused (a registration gets the conflict as its error), so that the
//! layer, which has no `Result` to report a conflict with, always exports its families.

pub mod collect;
pub(crate) mod crate_check;
pub(crate) mod runner;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use crate::catalog::function_name;
use crate::catalog::{
    Builtin, Catalog, CatalogError, Conflict, Declaration, DeclaredObjective, FamilySpec,
    InstrumentedFunction, Origin,
};
use crate::instrument::CallSite;
use crate::metrics::{Histogram, IntGauge, LabelTable, Metric, Storage};
use crate::model::labels::{Labels, combinations};
use crate::model::{
    DEFAULT_BUCKETS, Families, FieldDescriptor, FunctionDescriptor, FunctionName, Location,
    MetricKind, Objective, Outcome, SHARED_COUNTER, SHARED_COUNTER_HELP, SHARED_ERRORS,
    SHARED_ERRORS_HELP, SHARED_HISTOGRAM, SHARED_HISTOGRAM_HELP, SHARED_IN_FLIGHT,
    SHARED_IN_FLIGHT_HELP, Shape, metric_name_problem,
};
use crate::registry::runner::{Read, Samples, Source};
use crate::settings::{self, ConstantLabels};
use crate::storage::cells::CallCells;

mod intern;

/// How long a scrape waits for the collectors by default ([`Registry::set_collect_timeout`]),
/// and the longest a scraper can make it wait: a scraper's
/// `X-Prometheus-Scrape-Timeout-Seconds` header may only shorten the wait.
pub const DEFAULT_COLLECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The shortest wait for the collectors a scraper's `X-Prometheus-Scrape-Timeout-Seconds`
/// header can ask for: a header of `1e-9` cannot leave every collector out of every answer (and
/// count a timeout for each, an alert anyone could trigger). A collect timeout set shorter
/// than this is kept.
pub const MIN_COLLECT_TIMEOUT: Duration = Duration::from_millis(100);

/// A set of metric families to export: the global one ([`registry`]), which holds everything
/// the program declares, or a scoped one ([`Registry::new`]) that holds only what is
/// registered in it: a batch job pushes just its own metrics, a test reads just its own.
///
/// A `Registry` is a handle: clones share the same families.
///
/// ```
/// use instrument_metric::{IntCounter, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(scoped)]
/// struct ImportMetrics {
///     /// Rows imported.
///     import_rows_total: IntCounter,
/// }
///
/// let registry = Registry::new();
/// let metrics = ImportMetrics::register_in(&registry);
/// metrics.import_rows_total.inc_by(3);
/// assert_eq!(registry.render(), "# HELP import_rows_total Rows imported.\n# TYPE import_rows_total counter\nimport_rows_total 3\n");
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.state();
        f.debug_struct("Registry")
            .field("global", &self.inner.global.is_some())
            .field("families", &state.families.len())
            .field("conflicts", &state.conflicts.len())
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

struct Inner {
    state: RwLock<State>,
    constant: ConstantLabels,
    collect_timeout: Mutex<Duration>,
    /// Whether OpenMetrics expositions have `_created` samples.
    created_samples: AtomicBool,
    /// What only the global registry has.
    global: Option<Global>,
}

/// The families of instrumented functions and the exporter's own metrics.
pub(crate) struct Global {
    /// The families of instrumented functions, sorted by name.
    pub(crate) functions: Vec<FunctionFamily>,
    /// The cells of every series of `functions`, each once.
    pub(crate) cells: Vec<&'static CallCells>,
    /// The instrumented functions, for the catalog.
    instrumented: Vec<InstrumentedFunction>,
    /// The objectives of instrumented functions, for the catalog.
    objectives: Vec<DeclaredObjective>,
    /// Families the crate writes itself.
    pub(crate) builtins: Vec<&'static Builtin>,
    /// Durations of scrapes.
    pub(crate) scrape_duration: Histogram,
    /// Size of the last exposition.
    pub(crate) scrape_size: IntGauge,
}

#[derive(Default)]
struct State {
    /// Families declared with cells of their own (struct fields, metrics registered by hand),
    /// sorted by name. Copy on write: a scrape takes the list and writes without a lock.
    stored: Arc<Vec<StoredFamily>>,
    /// Collectors, read at each scrape.
    sources: Arc<Vec<Arc<Source>>>,
    /// Families the crate writes itself from cells of its own, registered at run time (HTTP
    /// layers).
    writers: Arc<Vec<WriteFamilies>>,
    /// Registries of tikv `prometheus` attached to this one.
    #[cfg(feature = "prometheus")]
    attached: Arc<Vec<prometheus::Registry>>,
    /// Every family, by name, with its declaration.
    families: HashMap<&'static str, FamilySpec>,
    /// Every name a family takes in an exposition, with the family that takes it.
    taken: HashMap<String, &'static str>,
    /// Objectives registered at run time (the HTTP layer's).
    objectives: Vec<DeclaredObjective>,
    conflicts: Vec<Conflict>,
    /// Families whose names only the crate may take ([`RESERVED_FAMILIES`] in the global
    /// registry), with their shapes.
    reserved: &'static [(&'static str, Shape)],
}

/// A family with cells of its own.
#[derive(Clone)]
pub(crate) struct StoredFamily {
    pub(crate) spec: FamilySpec,
    pub(crate) storage: Storage,
    pub(crate) labels: LabelTable,
    /// The values of each label, to tell two declarations of one family apart whose label
    /// types have the same names but other values.
    values: Vec<Vec<&'static str>>,
}

/// Writes families from cells the registry does not hold (an HTTP layer's).
pub(crate) type WriteFamilies = Arc<dyn Fn(&mut dyn crate::exposition::Exposition) + Send + Sync>;

/// What a scrape writes, taken without holding a lock.
pub(crate) struct Snapshot {
    pub(crate) stored: Arc<Vec<StoredFamily>>,
    pub(crate) sources: Arc<Vec<Arc<Source>>>,
    pub(crate) writers: Arc<Vec<WriteFamilies>>,
    #[cfg(feature = "prometheus")]
    pub(crate) attached: Arc<Vec<prometheus::Registry>>,
    pub(crate) conflicts: usize,
}

/// A family of `#[instrument_metric]` functions, written from their call cells.
pub(crate) struct FunctionFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    /// Histogram bounds, in seconds (every declaration of a family agrees on them).
    pub(crate) bounds: &'static [f64],
    pub(crate) kind: FunctionKind,
    pub(crate) series: Vec<FunctionSeries>,
}

/// One series (one label combination of one function) of a [`FunctionFamily`].
pub(crate) struct FunctionSeries {
    /// Its labels, constant labels included.
    pub(crate) labels: Labels,
    /// Its cells: an index into [`Global::cells`], so that a scrape reads each cell once for
    /// every family that shows it.
    pub(crate) cells: usize,
    /// The outcomes its function can have; each is a `result` row of the counter.
    pub(crate) outcomes: &'static [Outcome],
    /// The kinds of error its function counts; each is a `kind` row of the errors family.
    pub(crate) kinds: &'static [&'static str],
}

/// What a function family exports from the cells.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FunctionKind {
    /// Calls by `result`.
    Calls,
    /// The duration histogram.
    Duration,
    /// The in-flight gauge.
    InFlight,
    /// Errors by kind.
    Errors,
}

/// The gauge of the number of conflicts, exported by every scrape of the global registry.
pub(crate) const CONFLICTS_FAMILY: &str = "metrics_catalog_conflicts";
/// The exporter's own families.
pub(crate) const SCRAPE_DURATION_FAMILY: &str = "metrics_exporter_scrape_duration_seconds";
pub(crate) const SCRAPE_SIZE_FAMILY: &str = "metrics_exporter_scrape_size_bytes";
pub(crate) const SERIES_FAMILY: &str = "metrics_exporter_series";
pub(crate) const COLLECTOR_ERRORS_FAMILY: &str = "metrics_collector_errors_total";
pub(crate) const COLLECTOR_TIMEOUTS_FAMILY: &str = "metrics_collector_timeouts_total";

/// The exporter's families that a scrape computes as it writes, with their help texts.
pub(crate) const EXPORTER_FAMILIES: [(&str, &str, Shape, &[&str]); 4] = [
    (
        CONFLICTS_FAMILY,
        "Conflicting metric declarations: each one's series are missing from this exposition; instrument_metric::check() and the log name their source locations.",
        Shape::IntGauge,
        &[],
    ),
    (
        SERIES_FAMILY,
        "Series of each family in this exposition.",
        Shape::IntGauge,
        &["family"],
    ),
    (
        COLLECTOR_ERRORS_FAMILY,
        "Scrapes in which a collector failed or panicked and its series were left out.",
        Shape::IntCounter,
        &["collector"],
    ),
    (
        COLLECTOR_TIMEOUTS_FAMILY,
        "Scrapes that could not wait for a collector and left its series out.",
        Shape::IntCounter,
        &["collector"],
    ),
];

/// The families of the default HTTP layer (`HttpMetricsLayer::default()`), which registers
/// itself in the global registry when it is first built and has no `Result` to report a
/// conflict with: the global registry keeps their names, and the names of their series, for
/// it, and refuses them to every other declaration (a collector, a metric registered by hand,
/// a `Metrics` field, an instrumented function), even before the layer is built. A layer built
/// with a prefix takes other names, and its `build()` reports a conflict.
pub(crate) const RESERVED_FAMILIES: [(&str, Shape); 3] = [
    ("http_requests_total", Shape::IntCounter),
    ("http_request_duration_seconds", Shape::Histogram),
    ("http_requests_in_flight", Shape::IntGauge),
];

/// Scrape durations, in seconds: a scrape takes milliseconds, a stuck one up to its deadline.
const SCRAPE_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The location of the caller (through `#[track_caller]` functions): where a family
/// registered at run time is registered.
#[track_caller]
fn crate_location() -> Location {
    let here = std::panic::Location::caller();
    Location {
        file: here.file(),
        line: here.line(),
        column: here.column(),
    }
}

impl Registry {
    /// An empty registry, to fill with [`Metrics::register_in`](crate::Metrics::register_in),
    /// metrics registered by hand ([`Registry::int_counter`], ...) and collectors
    /// ([`Registry::collect_gauge`], ...), then render, serve or push.
    #[must_use]
    pub fn new() -> Registry {
        Registry::from_parts(ConstantLabels::default(), None, State::default())
    }

    /// An empty registry whose every series carries `labels` (`env`, `service`, ...).
    ///
    /// # Errors
    ///
    /// As [`set_constant_labels`](crate::set_constant_labels), but never `TooLate`.
    pub fn with_constant_labels<K, V>(
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Registry, settings::ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let labels = settings::checked(labels)?;
        Ok(Registry::from_parts(
            ConstantLabels::new(labels),
            None,
            State::default(),
        ))
    }

    fn from_parts(constant: ConstantLabels, global: Option<Global>, state: State) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                constant,
                collect_timeout: Mutex::new(DEFAULT_COLLECT_TIMEOUT),
                created_samples: AtomicBool::new(false),
                global,
            }),
        }
    }

    /// How long a scrape waits for the collectors: when the scraper does not say, and at
    /// most when it asks for longer.
    #[must_use]
    pub fn collect_timeout(&self) -> Duration {
        *self
            .inner
            .collect_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets how long a scrape waits for the collectors ([`DEFAULT_COLLECT_TIMEOUT`] until
    /// then): when the scraper does not say, and at most when it asks for longer. A scraper's
    /// `X-Prometheus-Scrape-Timeout-Seconds` (less a tenth, to write and send the answer) may
    /// shorten the wait down to [`MIN_COLLECT_TIMEOUT`], never lengthen it, so that no client
    /// can hold `/metrics` waiting for a stuck collector for longer than this.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let registry = instrument_metric::Registry::new();
    /// registry.set_collect_timeout(Duration::from_secs(20));
    /// assert_eq!(registry.collect_timeout(), Duration::from_secs(20));
    /// ```
    pub fn set_collect_timeout(&self, timeout: Duration) {
        *self
            .inner
            .collect_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timeout;
    }

    /// How long a scrape whose scraper says it waits `asked` seconds for the answer (its
    /// `X-Prometheus-Scrape-Timeout-Seconds`) waits for the collectors: nine tenths of it,
    /// kept between [`MIN_COLLECT_TIMEOUT`] and the collect timeout; the collect timeout when
    /// it does not say (or says something that is not a positive number).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn collect_wait(&self, asked: Option<f64>) -> Duration {
        let most = self.collect_timeout();
        let Some(asked) = asked.filter(|seconds| seconds.is_finite() && *seconds > 0.0) else {
            return most;
        };
        let least = MIN_COLLECT_TIMEOUT.min(most);
        // `asked` may be beyond what a `Duration` holds: then it asks for longer than `most`.
        let wanted = asked * 0.9;
        match Duration::try_from_secs_f64(wanted) {
            Ok(wanted) if wanted < most => wanted.max(least),
            _ => most,
        }
    }

    /// Writes a `_created` sample in OpenMetrics expositions after each counter's `_total`
    /// (`x_created`, Unix seconds) and after each histogram's `_sum` and `_count`: when the
    /// series started from 0, so that a rate over a restart is right from the first sample.
    /// Off by default, because Prometheus 2 stores each as a series of its own. The protobuf
    /// exposition always carries created timestamps; the text format 0.0.4 never.
    ///
    /// ```
    /// use instrument_metric::{Format, Registry};
    ///
    /// let registry = Registry::new();
    /// registry.int_counter("jobs_total", "Jobs.").unwrap().inc();
    /// registry.set_created_samples(true);
    /// let text = registry.render_as(Format::OpenMetrics);
    /// assert!(text.lines().any(|line| line.starts_with("jobs_created ")));
    /// assert!(!registry.render().contains("_created"));
    /// ```
    pub fn set_created_samples(&self, on: bool) {
        self.inner.created_samples.store(on, Ordering::Relaxed);
    }

    /// Whether OpenMetrics expositions have `_created` samples
    /// ([`Registry::set_created_samples`]).
    #[must_use]
    pub fn created_samples(&self) -> bool {
        self.inner.created_samples.load(Ordering::Relaxed)
    }

    /// The constant labels, made once: the last label list of each series.
    pub(crate) fn constant(&self) -> &Labels {
        &self.inner.constant.labels
    }

    /// The label list of a series of a function family: its labels, then the constant labels.
    pub(crate) fn series_labels(&self, labels: &[(&str, &str)]) -> Labels {
        self.inner.constant.join(labels, false)
    }

    pub(crate) fn global(&self) -> Option<&Global> {
        self.inner.global.as_ref()
    }

    /// What a scrape writes.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.inner.state();
        Snapshot {
            stored: Arc::clone(&state.stored),
            sources: Arc::clone(&state.sources),
            writers: Arc::clone(&state.writers),
            #[cfg(feature = "prometheus")]
            attached: Arc::clone(&state.attached),
            conflicts: state.conflicts.len(),
        }
    }

    /// Every conflict among the declarations of this registry: one family declared with
    /// another kind, label set, help or bucket list, a series declared twice, a name that
    /// would repeat another family's series, or a refused registration.
    ///
    /// # Errors
    ///
    /// A [`CatalogError`] listing each conflict with every source location involved.
    pub fn check(&self) -> Result<(), CatalogError> {
        let conflicts = self.inner.state().conflicts.clone();
        if conflicts.is_empty() {
            Ok(())
        } else {
            Err(CatalogError { conflicts })
        }
    }

    /// Every family of this registry, whatever declared it, and every instrumented function
    /// (in the global registry): the data dashboards and rules are generated from.
    #[must_use]
    pub fn catalog(&self) -> Catalog {
        let mut families: Vec<_> = self
            .inner
            .state()
            .families
            .values()
            .map(FamilySpec::declared)
            .collect();
        families.sort_by_key(|family| family.name);
        let mut functions = self
            .global()
            .map(|global| global.instrumented.clone())
            .unwrap_or_default();
        functions.sort_by_key(|function| (function.counter, function.module, function.function));
        let mut objectives = self
            .global()
            .map(|global| global.objectives.clone())
            .unwrap_or_default();
        objectives.extend(self.inner.state().objectives.iter().cloned());
        objectives.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog {
            families,
            functions,
            objectives,
        }
    }

    /// Registers a gauge of one series, `labels`, at 1: the shape of `*_build_info`.
    #[track_caller]
    pub(crate) fn info(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
    ) -> Result<(), Conflict> {
        let names: Vec<&'static str> = labels.iter().map(|(name, _)| intern::text(name)).collect();
        let values: Vec<&[&str]> = labels
            .iter()
            .map(|(_, value)| intern::single(value))
            .collect();
        let spec = FamilySpec {
            name: intern::text(name),
            help: intern::text(help),
            shape: Shape::IntGauge,
            labels: names,
            buckets: &[],
            location: crate_location(),
            origin: Origin::Registered,
            native: false,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.inner.state_mut().report(problem));
        }
        // The values are the series: another set of them under one name would not be exported.
        let table = LabelTable::new(&spec.labels, &values);
        let existing = self
            .snapshot()
            .stored
            .iter()
            .find(|family| family.spec.name == spec.name)
            .map(|family| (family.labels == table, family.spec.location));
        if let Some((same, first)) = existing {
            if same {
                return Ok(());
            }
            return Err(self.inner.state_mut().report(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "registered twice with other label values ({labels:?}): only the first is exported"
                ),
                locations: vec![first, spec.location],
            }));
        }
        let storage = self.stored(&spec, 1, &values)?;
        <IntGauge as MetricField>::from_storage(&storage).set(1);
        Ok(())
    }

    /// Declares families that `write` writes at each scrape (an HTTP layer's), all or none:
    /// the conflict that refuses one is reported and returned.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn add_writer(
        &self,
        specs: &[FamilySpec],
        write: WriteFamilies,
    ) -> Result<(), Conflict> {
        let mut state = self.inner.state_mut();
        for spec in specs {
            if let Some(problem) = state.refusal(spec, &self.inner.constant) {
                return Err(state.report(problem));
            }
        }
        for spec in specs {
            state.insert(spec);
        }
        let mut writers = state.writers.as_ref().clone();
        writers.push(write);
        state.writers = Arc::new(writers);
        Ok(())
    }

    /// Declares an objective of families registered at run time (the HTTP layer's): `Ok` when
    /// its name is free, the conflict (reported) otherwise.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn add_objective(&self, objective: DeclaredObjective) -> Result<(), Conflict> {
        let taken = self
            .global()
            .into_iter()
            .flat_map(|global| global.objectives.iter())
            .chain(self.inner.state().objectives.iter())
            .find(|other| other.name == objective.name)
            .map(|other| (other.location, other == &objective));
        match taken {
            Some((_, true)) => Ok(()),
            Some((first, false)) => Err(self.inner.state_mut().report(Conflict {
                family: objective.requests.to_owned(),
                problem: format!(
                    "declared with the objective `{}`, a name another objective has: only the first is kept; rename one",
                    objective.name
                ),
                locations: vec![first, objective.location],
            })),
            None => {
                self.inner.state_mut().objectives.push(objective);
                Ok(())
            }
        }
    }

    /// Declares `spec` for a family that the crate or a collector writes: `Ok` when it takes
    /// its names, the conflict (reported) otherwise.
    fn claim(&self, spec: &FamilySpec) -> Result<(), Conflict> {
        let mut state = self.inner.state_mut();
        if let Some(problem) = state.refusal(spec, &self.inner.constant) {
            return Err(state.report(problem));
        }
        state.insert(spec);
        Ok(())
    }

    /// The storage of the family of a `Metrics` struct field: the family's cells when this
    /// declaration is (or agrees with) the one registered, cells exported nowhere otherwise
    /// (the conflict is reported).
    pub(crate) fn field_storage(&self, field: &'static FieldDescriptor) -> Storage {
        let spec = field.spec();
        let series = field
            .label_values
            .iter()
            .map(|values| values.len())
            .product();
        self.stored(&spec, series, field.label_values)
            .unwrap_or_else(|_| Storage::with_native(spec.shape, series, spec.buckets, spec.native))
    }

    /// Registers (or finds, for an identical declaration) a family with cells of its own.
    fn stored(
        &self,
        spec: &FamilySpec,
        series: usize,
        label_values: &[&'static [&'static str]],
    ) -> Result<Storage, Conflict> {
        let values: Vec<Vec<&'static str>> = label_values.iter().map(|v| v.to_vec()).collect();
        let mut state = self.inner.state_mut();
        if let Some(existing) = state
            .stored
            .iter()
            .find(|family| family.spec.name == spec.name)
            && existing.spec.disagreement(spec).is_none()
        {
            if existing.values == values {
                return Ok(existing.storage.clone());
            }
            let conflict = Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "declared with label values {:?} and with label values {values:?}: only the first declaration is exported",
                    existing.values
                ),
                locations: vec![existing.spec.location, spec.location],
            };
            return Err(state.report(conflict));
        }
        if let Some(problem) = state.refusal(spec, &self.inner.constant) {
            return Err(state.report(problem));
        }
        let storage = Storage::with_native(spec.shape, series, spec.buckets, spec.native);
        let family = StoredFamily {
            spec: spec.clone(),
            storage: storage.clone(),
            labels: LabelTable::new(&spec.labels, label_values),
            values,
        };
        let mut stored = state.stored.as_ref().clone();
        let at = stored.partition_point(|other| other.spec.name < spec.name);
        stored.insert(at, family);
        state.stored = Arc::new(stored);
        state.insert(spec);
        Ok(storage)
    }

    /// Registers a metric without labels by hand, at the caller's location.
    #[track_caller]
    fn single<M: Metric>(&self, name: &str, help: &str, buckets: &[f64]) -> Result<M, Conflict> {
        let location = crate_location();
        let name = intern::text(name);
        let spec = FamilySpec {
            name,
            help: intern::text(help),
            shape: M::SHAPE,
            labels: Vec::new(),
            buckets: intern::bounds(buckets),
            native: false,
            location,
            origin: Origin::Registered,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.inner.state_mut().report(problem));
        }
        let storage = self.stored(&spec, 1, &[])?;
        Ok(M::from_storage(&storage, 0))
    }

    /// Registers an integer counter by hand: for families that exist only at run time (a
    /// derive struct is the compile-time checked way).
    ///
    /// # Errors
    ///
    /// When the name is not a counter's (`[a-zA-Z_][a-zA-Z0-9_]*_total`), conflicts with a
    /// family already in the registry, or is one the global registry keeps for the default HTTP
    /// layer (see [`registry()`]); the conflict is also reported by [`Registry::check`].
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// let retries = registry.int_counter("sync_retries_total", "Sync retries.").unwrap();
    /// retries.inc();
    /// assert!(registry.render().contains("sync_retries_total 1"));
    /// assert!(registry.int_counter("sync_retries", "Not a counter's name.").is_err());
    /// ```
    #[track_caller]
    pub fn int_counter(&self, name: &str, help: &str) -> Result<crate::IntCounter, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a float counter by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// As [`Registry::int_counter`].
    #[track_caller]
    pub fn counter(&self, name: &str, help: &str) -> Result<crate::Counter, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers an integer gauge by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is not a gauge's or conflicts with a family already in the registry.
    #[track_caller]
    pub fn int_gauge(&self, name: &str, help: &str) -> Result<IntGauge, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a float gauge by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is not a gauge's or conflicts with a family already in the registry.
    #[track_caller]
    pub fn gauge(&self, name: &str, help: &str) -> Result<crate::Gauge, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a histogram by hand, with `buckets` (empty for the defaults); see
    /// [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is a counter's or a histogram series', the buckets are not finite and
    /// strictly increasing, or it conflicts with a family already in the registry.
    #[track_caller]
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
    ) -> Result<Histogram, Conflict> {
        if !buckets.windows(2).all(|pair| pair[0] < pair[1])
            || buckets.iter().any(|b| !b.is_finite())
        {
            let conflict = Conflict {
                family: name.to_owned(),
                problem: "registered with buckets that are not finite and strictly increasing"
                    .to_owned(),
                locations: vec![crate_location()],
            };
            return Err(self.inner.state_mut().report(conflict));
        }
        self.single(name, help, buckets)
    }

    /// Registers a collector writing `families`, read by `read` at each scrape.
    #[track_caller]
    pub(crate) fn add_source(
        &self,
        name: &str,
        families: Vec<(String, String, Shape, Vec<&'static str>)>,
        read: Read,
    ) -> Result<(), Conflict> {
        let location = crate_location();
        let specs: Vec<FamilySpec> = families
            .into_iter()
            .map(|(family, help, shape, labels)| FamilySpec {
                name: intern::text(&family),
                help: intern::text(&help),
                shape,
                labels,
                buckets: &[],
                native: false,
                location,
                origin: Origin::Collector,
            })
            .collect();
        let mut state = self.inner.state_mut();
        for spec in &specs {
            let problem = registration_problem(spec)
                .or_else(|| state.refusal(spec, &self.inner.constant))
                .or_else(|| {
                    let others = specs.iter().filter(|other| other.name == spec.name).count();
                    (others > 1).then(|| Conflict {
                        family: spec.name.to_owned(),
                        problem: "written twice by one collector".to_owned(),
                        locations: vec![location],
                    })
                });
            if let Some(problem) = problem {
                return Err(state.report(problem));
            }
        }
        for spec in &specs {
            state.insert(spec);
        }
        let mut sources = state.sources.as_ref().clone();
        sources.push(Arc::new(Source::new(intern::text(name), specs, read)));
        state.sources = Arc::new(sources);
        Ok(())
    }

    /// Gathers the metrics registered by hand in a tikv `prometheus::Registry` at each scrape,
    /// and writes them with this registry's. A family named like one of this registry's is
    /// left out and reported as a conflict. Only with the `prometheus` feature.
    ///
    /// ```
    /// let hand_made = prometheus::Registry::new();
    /// let legacy = prometheus::IntCounter::new("legacy_jobs_total", "Jobs.").unwrap();
    /// hand_made.register(Box::new(legacy.clone())).unwrap();
    /// legacy.inc();
    /// let registry = instrument_metric::Registry::new();
    /// registry.attach_prometheus(hand_made);
    /// assert!(registry.render().contains("legacy_jobs_total 1"));
    /// ```
    #[cfg(feature = "prometheus")]
    pub fn attach_prometheus(&self, registry: prometheus::Registry) {
        let mut state = self.inner.state_mut();
        let mut attached = state.attached.as_ref().clone();
        attached.push(registry);
        state.attached = Arc::new(attached);
    }

    /// Why a family gathered from an attached tikv registry, named `name`, taking the names
    /// `taken` in an exposition and carrying the labels `labels`, cannot be written beside this
    /// registry's families, if it cannot: it is named like one of them, it takes a name one of
    /// them takes (see `catalog::taken_names`), or one of its labels is a constant label (its
    /// series would carry it twice).
    #[cfg(feature = "prometheus")]
    pub(crate) fn gathered_refusal(
        &self,
        name: &str,
        taken: &[String],
        labels: &[&str],
    ) -> Option<String> {
        let state = self.inner.state();
        if state.families.contains_key(name) {
            return Some("named like a family of this registry".to_owned());
        }
        if let Some((shown, first)) = taken
            .iter()
            .find_map(|taken| state.taken.get(taken.as_str()).map(|first| (taken, first)))
        {
            return Some(format!(
                "takes the name `{shown}` in an exposition, which this registry's `{first}` takes too (a scraper would read the two as one family)"
            ));
        }
        labels
            .iter()
            .find(|label| self.inner.constant.contains(label))
            .map(|label| format!("labelled `{label}`, which is also a constant label"))
    }

    /// Reports, once per family, a family gathered from an attached tikv registry that is left
    /// out of the exposition, and why (`problem`).
    #[cfg(feature = "prometheus")]
    pub(crate) fn report_gathered(&self, family: &str, problem: &str) {
        let mut state = self.inner.state_mut();
        let known = state
            .conflicts
            .iter()
            .any(|conflict| conflict.family == family && conflict.locations.is_empty());
        if !known {
            state.report(Conflict {
                family: family.to_owned(),
                problem: format!(
                    "registered in an attached `prometheus::Registry` and {problem}: it is left out of the exposition"
                ),
                locations: Vec::new(),
            });
        }
    }

    /// Bytes held by the cells of this registry's families, and the number of series they
    /// export (each counter outcome, histogram bucket, sum and count, and gauge counts as one).
    pub(crate) fn memory(&self) -> (usize, usize) {
        let mut bytes = 0;
        let mut series = 0;
        if let Some(global) = self.global() {
            bytes += global.cells.iter().map(|cells| cells.size()).sum::<usize>();
            for family in &global.functions {
                for one in &family.series {
                    bytes += one.labels.text().len();
                    series += match family.kind {
                        FunctionKind::Calls => one.outcomes.len(),
                        FunctionKind::Duration => family.bounds.len() + 3,
                        FunctionKind::InFlight => 1,
                        FunctionKind::Errors => one.kinds.len(),
                    };
                }
            }
        }
        for family in self.snapshot().stored.iter() {
            bytes += family.storage.size();
            let count: usize = family.labels_count();
            series += match family.spec.shape {
                Shape::Histogram => {
                    count * (family.spec.buckets.len().max(DEFAULT_BUCKETS.len()) + 3)
                }
                _ => count,
            };
        }
        (bytes, series)
    }
}

impl StoredFamily {
    /// The number of series.
    fn labels_count(&self) -> usize {
        match &self.storage {
            Storage::Values(cells) => cells.series(),
            Storage::Histograms(cells) => cells.series(),
        }
    }
}

/// Why a family registered at run time is refused on its own, if it is.
fn registration_problem(spec: &FamilySpec) -> Option<Conflict> {
    let problem = metric_name_problem(spec.name, spec.shape.kind()).or_else(|| {
        spec.labels.iter().find_map(|label| {
            crate::model::label_name_problem(label)
                .map(|problem| format!("registered with the label `{label}`: {problem}"))
        })
    })?;
    Some(Conflict {
        family: spec.name.to_owned(),
        problem: format!("refused: {problem}"),
        locations: vec![spec.location],
    })
}

impl Inner {
    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_mut(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Why `spec` cannot be added, if it cannot.
    fn refusal(&self, spec: &FamilySpec, constant: &ConstantLabels) -> Option<Conflict> {
        if let Some(first) = self.families.get(spec.name) {
            let problem = first
                .disagreement(spec)
                .unwrap_or_else(|| "declared twice for the same series".to_owned());
            return Some(Conflict {
                family: spec.name.to_owned(),
                problem: format!("{problem}: only the first declaration is exported"),
                locations: vec![first.location, spec.location],
            });
        }
        if let Some((name, first)) = spec
            .taken_names()
            .iter()
            .find_map(|name| self.taken.get(name).map(|first| (name.clone(), *first)))
        {
            let first = &self.families[first];
            return Some(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "{} that takes the name `{name}` in an exposition, which `{}`, {} declared first, takes too (OpenMetrics names a counter `x_total`'s family `x`, and a histogram `x`'s samples `x_bucket`, `x_sum`, `x_count` and `x_created`): a scraper would read the two as one family, so only `{}` is exported; rename one of them so that neither name is the other's plus `_total`, `_bucket`, `_sum`, `_count` or `_created`",
                    spec.shape.describe(),
                    first.name,
                    first.shape.describe(),
                    first.name,
                ),
                locations: vec![first.location, spec.location],
            });
        }
        if spec.origin != Origin::Crate
            && let Some((shown, reserved)) = self.reserved.iter().find_map(|(name, shape)| {
                let kept = crate::catalog::taken_names(name, shape.kind().into());
                spec.taken_names()
                    .into_iter()
                    .find(|taken| kept.contains(taken))
                    .map(|taken| (taken, *name))
            })
        {
            return Some(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "named so that `{shown}`, its name or the name of one of its series, is also the HTTP layer's family `{reserved}`, which the global registry keeps for `HttpMetricsLayer::default()`: it is refused; rename it"
                ),
                locations: vec![spec.location],
            });
        }
        if let Some(label) = spec.labels.iter().find(|label| constant.contains(label)) {
            return Some(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "declared with the label `{label}`, which is also a constant label: it is not exported"
                ),
                locations: vec![spec.location],
            });
        }
        None
    }

    fn insert(&mut self, spec: &FamilySpec) {
        for name in spec.taken_names() {
            self.taken.entry(name).or_insert(spec.name);
        }
        self.families.insert(spec.name, spec.clone());
    }

    /// Records `conflict` and logs it, unless the same conflict is already recorded (a
    /// registration repeated in a loop, a `Metrics` struct's `global()` called again), and
    /// gives it back.
    fn report(&mut self, conflict: Conflict) -> Conflict {
        if !self.conflicts.contains(&conflict) {
            log::warn!("{conflict}");
            self.conflicts.push(conflict.clone());
        }
        conflict
    }
}

/// The global registry, which `/metrics` exposes by default: every function instrumented with
/// `#[instrument_metric]`, every `Metrics` struct (but those marked `scoped`), the HTTP layer,
/// the collectors registered with [`collect`](crate::registry::collect), and the exporter's own metrics.
/// Built on first use; every series whose labels are known is exported at zero from then on.
///
/// It keeps the names of the default HTTP layer's families (`http_requests_total`,
/// `http_request_duration_seconds`, `http_requests_in_flight`, and their series' names) for
/// the layer, built or not: another declaration that takes one is refused (a registration
/// returns the conflict), so that `HttpMetricsLayer::default()`, which has no `Result`, always
/// exports its families.
///
/// ```
/// let retries = instrument_metric::registry().int_counter("imports_retried_total", "Imports retried.").unwrap();
/// retries.inc();
/// assert!(instrument_metric::render().contains("imports_retried_total 1"));
/// ```
#[must_use]
pub fn registry() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(build_global)
}

/// Reports every conflict among the declarations of the global registry; see
/// [`Registry::check`]. Call it at start-up (or in a test) to fail loudly.
///
/// It checks what this binary links: a test in a crate's `tests/` folder that uses nothing of
/// the crate links none of its declarations and passes whatever they are. For CI, use
/// [`check_crate`](crate::check_crate)`("my_crate")` in a `#[cfg(test)]` unit test inside the
/// crate (which sees every declaration): it fails when none of the crate's declarations is
/// there to check.
///
/// # Errors
///
/// A [`CatalogError`] listing each conflict with every source location involved.
///
/// ```
/// instrument_metric::check().expect("metric declarations agree");
/// ```
pub fn check() -> Result<(), CatalogError> {
    registry().check()
}

/// Every family of the global registry and every instrumented function; see
/// [`Registry::catalog`].
///
/// ```
/// use instrument_metric::{MetricKind, instrument_metric};
///
/// /// Sends a reminder.
/// #[instrument_metric(name = "reminders")]
/// fn remind() {}
///
/// fn main() {
///     let catalog = instrument_metric::catalog();
///     let family = catalog.families.iter().find(|f| f.name == "reminders_total").unwrap();
///     assert_eq!(family.kind, MetricKind::Counter);
///     assert_eq!(family.labels, ["function", "module", "result"]);
///     let function = catalog.functions.iter().find(|f| f.function == "remind").unwrap();
///     assert_eq!(function.histogram, "reminders_duration_seconds");
/// }
/// ```
#[must_use]
pub fn catalog() -> Catalog {
    registry().catalog()
}

// The sealed traits take the crate's private `Storage`: only registries create handles.
#[allow(private_interfaces)]
mod fields {
    use super::{FieldDescriptor, Registry, registry};
    use crate::metrics::sealed::Sealed;
    use crate::metrics::{
        Counter, Family, Gauge, Histogram, IntCounter, IntGauge, Metric, Storage,
    };
    use crate::model::Shape;
    use crate::model::labels::LabelSet;

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
}
pub use fields::MetricField;

/// Builds the global registry from every declaration in the program.
fn build_global() -> Registry {
    let mut sites = Vec::new();
    let mut groups = Vec::new();
    let mut builtins = Vec::new();
    for declaration in inventory::iter::<Declaration> {
        match declaration {
            Declaration::Function(site) => sites.push(*site),
            Declaration::Group(group) => groups.push(*group),
            Declaration::Builtin(builtin) => builtins.push(*builtin),
        }
    }
    // `inventory` yields in link order; sort so that "the first declaration", the one that is
    // exported when two disagree, is the first in (file, line, column) order, in every build.
    sites.sort_by_key(|site| location(&site.descriptor));
    groups.sort_by_key(|group| group.fields.first().map(FieldDescriptor::location));
    name_functions(&sites);
    let constant = settings::freeze().clone();
    let state = State {
        reserved: if cfg!(feature = "axum") {
            &RESERVED_FAMILIES
        } else {
            &[]
        },
        ..State::default()
    };
    let registry = Registry::from_parts(constant, None, state);

    // The crate's own families first: no declaration may take their names.
    let here = crate_location();
    let own = |name, help, shape, labels: &[&'static str]| FamilySpec {
        name,
        help,
        shape,
        labels: labels.to_vec(),
        buckets: &[],
        native: false,
        location: here,
        origin: Origin::Crate,
    };
    for (name, help, shape, labels) in EXPORTER_FAMILIES {
        let _ = registry.claim(&own(name, help, shape, labels));
    }
    for builtin in &builtins {
        for (name, help, shape, labels) in builtin.families {
            let _ = registry.claim(&own(name, help, *shape, labels));
        }
    }
    let scrape_duration = FamilySpec {
        buckets: SCRAPE_BUCKETS,
        ..own(
            SCRAPE_DURATION_FAMILY,
            "Time to render an exposition, collectors included, in seconds.",
            Shape::Histogram,
            &[],
        )
    };
    let scrape_duration = registry
        .stored(&scrape_duration, 1, &[])
        .map(|storage| <Histogram as MetricField>::from_storage(&storage));
    let scrape_size = own(
        SCRAPE_SIZE_FAMILY,
        "Size of the last exposition, in bytes.",
        Shape::IntGauge,
        &[],
    );
    let scrape_size = registry
        .stored(&scrape_size, 1, &[])
        .map(|storage| <IntGauge as MetricField>::from_storage(&storage));

    for group in groups {
        for field in group.fields {
            registry.field_storage(field);
        }
    }
    let (functions, cells, instrumented) = function_families(&registry, &sites);
    let objectives = function_objectives(&registry, &sites);
    let global = Global {
        functions,
        cells,
        instrumented,
        objectives,
        builtins,
        // The crate's own names never conflict, so these exist.
        scrape_duration: scrape_duration.unwrap_or_else(|_| {
            <Histogram as MetricField>::from_storage(&Storage::new(
                Shape::Histogram,
                1,
                SCRAPE_BUCKETS,
            ))
        }),
        scrape_size: scrape_size.unwrap_or_else(|_| {
            <IntGauge as MetricField>::from_storage(&Storage::new(Shape::IntGauge, 1, &[]))
        }),
    };
    let Ok(inner) = Arc::try_unwrap(registry.inner) else {
        unreachable!("the registry being built has no other handle")
    };
    let state = inner
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    Registry::from_parts(inner.constant, Some(global), state)
}

/// The families of instrumented functions, their cells, and the catalog's list of functions.
fn function_families(
    registry: &Registry,
    sites: &[&'static CallSite],
) -> (
    Vec<FunctionFamily>,
    Vec<&'static CallCells>,
    Vec<InstrumentedFunction>,
) {
    let mut instrumented = Vec::new();
    let mut cells_list: Vec<&'static CallCells> = Vec::new();
    let mut families: std::collections::BTreeMap<&'static str, FunctionFamily> =
        std::collections::BTreeMap::new();
    let mut claimed: HashMap<(&'static str, Vec<&'static str>), Location> = HashMap::new();
    let mut accepted_families: HashMap<&'static str, FamilySpec> = HashMap::new();
    let helps = shared_helps(sites);
    for site in sites {
        let mut specs = function_specs(site);
        if let Some(helps) = helps.get(specs[0].name) {
            for (spec, help) in specs.iter_mut().zip(helps) {
                spec.help = help;
            }
        }
        instrumented.push(InstrumentedFunction {
            function: site.function.get().map_or("", |name| name),
            module: site.descriptor.module,
            counter: specs[0].name,
            histogram: specs[1].name,
            in_flight: site.descriptor.in_flight.then_some(specs[2].name),
            errors: (!site.descriptor.error_kinds.is_empty()).then_some(specs[3].name),
            location: location(&site.descriptor),
        });
        let accepted = accept_families(registry, &specs, site, &mut accepted_families);
        let site_cells = site.cells();
        let first = cells_list.len();
        cells_list.extend(site_cells.iter());
        let kinds = [
            FunctionKind::Calls,
            FunctionKind::Duration,
            FunctionKind::InFlight,
            FunctionKind::Errors,
        ];
        for (combination, dynamic) in combinations(&site.dynamic_values()).into_iter().enumerate() {
            let mut pairs = static_labels(site);
            pairs.extend(
                site.descriptor
                    .dynamic_labels
                    .iter()
                    .map(|(name, _)| *name)
                    .zip(dynamic),
            );
            pairs.sort_by_key(|(name, _)| *name);
            let values: Vec<&'static str> = pairs.iter().map(|(_, value)| *value).collect();
            let labels = registry.series_labels(&pairs);
            for ((spec, kind), accepted) in specs.iter().zip(kinds).zip(&accepted) {
                if !accepted {
                    continue;
                }
                // A series two functions would write is written for the first only.
                let key = (spec.name, values.clone());
                if let Some(first) = claimed.get(&key) {
                    registry.inner.state_mut().report(Conflict {
                        family: spec.name.to_owned(),
                        problem: format!(
                            "declared twice for the same labels (function {:?}, module {:?}): only the first declaration's calls are exported; give one of them `function = \"...\"`",
                            site.function(),
                            site.descriptor.module
                        ),
                        locations: vec![*first, spec.location],
                    });
                    continue;
                }
                claimed.insert(key, spec.location);
                let family = families.entry(spec.name).or_insert_with(|| FunctionFamily {
                    name: spec.name,
                    help: spec.help,
                    bounds: site.descriptor.bucket_bounds(),
                    kind,
                    series: Vec::new(),
                });
                family.series.push(FunctionSeries {
                    labels: labels.clone(),
                    cells: first + combination,
                    outcomes: site.descriptor.outcomes(),
                    kinds: site.descriptor.error_kinds,
                });
            }
        }
    }
    (families.into_values().collect(), cells_list, instrumented)
}

/// The help texts of the families that functions share through `name = "..."` and describe
/// differently: the one given with `help = "..."` where exactly one is (doc comments say what
/// each function does, not what the family holds), the made-up one
/// ([`shared_help`](crate::model::shared_help)) where none is. Two different given helps stay
/// a conflict. Built once, with the global registry.
fn shared_helps(sites: &[&'static CallSite]) -> HashMap<&'static str, [&'static str; 4]> {
    let mut by_family: HashMap<&'static str, Vec<(&'static str, bool)>> = HashMap::new();
    for site in sites {
        if let Families::Own {
            counter,
            counter_help,
            help_given,
            ..
        } = site.descriptor.families
        {
            by_family
                .entry(counter)
                .or_default()
                .push((counter_help, help_given));
        }
    }
    let mut helps = HashMap::new();
    for (counter, declared) in by_family {
        if declared.iter().all(|(help, _)| *help == declared[0].0) {
            continue;
        }
        let mut given: Vec<&str> = declared
            .iter()
            .filter(|(_, given)| *given)
            .map(|(help, _)| *help)
            .collect();
        given.sort_unstable();
        given.dedup();
        let help = match given.as_slice() {
            [] => crate::model::shared_help(counter.strip_suffix("_total").unwrap_or(counter)),
            [one] => (*one).to_owned(),
            _ => continue,
        };
        let [a, b, c, d] = crate::model::own_helps(&help).map(|text| &*text.leak());
        helps.insert(counter, [a, b, c, d]);
    }
    helps
}

/// Which of a function's four families it records into: each one it has (the in-flight
/// gauge only with `in_flight`, the errors family only with error kinds), unless an earlier
/// declaration of the family disagrees. Functions share a family when they agree on it: the
/// first declares it.
fn accept_families(
    registry: &Registry,
    specs: &[FamilySpec; 4],
    site: &CallSite,
    accepted_families: &mut HashMap<&'static str, FamilySpec>,
) -> Vec<bool> {
    let wanted = [
        true,
        true,
        site.descriptor.in_flight,
        !site.descriptor.error_kinds.is_empty(),
    ];
    specs
        .iter()
        .zip(wanted)
        .map(|(spec, wanted)| {
            if !wanted {
                return false;
            }
            if let Some(first) = accepted_families.get(spec.name) {
                let Some(problem) = first.disagreement(spec) else {
                    return true;
                };
                registry.inner.state_mut().report(Conflict {
                    family: spec.name.to_owned(),
                    problem: format!("{problem}: only the first declaration is exported"),
                    locations: vec![first.location, spec.location],
                });
                return false;
            }
            let claimed = registry.claim(spec).is_ok();
            if claimed {
                accepted_families.insert(spec.name, spec.clone());
            }
            claimed
        })
        .collect()
}

/// Decides the `function` label of every site: the normal form of its path, or its whole
/// path where two functions of one family and module would share the normal form.
fn name_functions(sites: &[&'static CallSite]) {
    let short = |site: &CallSite| match site.descriptor.function {
        FunctionName::Given(name) => name.to_owned(),
        FunctionName::Path(path) => function_name::short(path(), site.descriptor.module),
    };
    let mut seen: HashMap<(&'static str, &'static str, String), usize> = HashMap::new();
    for site in sites {
        if matches!(site.descriptor.function, FunctionName::Path(_)) {
            let key = (
                counter_name(&site.descriptor),
                site.descriptor.module,
                short(site),
            );
            *seen.entry(key).or_default() += 1;
        }
    }
    for site in sites {
        site.function.get_or_init(|| {
            let name = short(site);
            let key = (counter_name(&site.descriptor), site.descriptor.module, name);
            match site.descriptor.function {
                FunctionName::Path(path) if seen.get(&key).copied().unwrap_or(0) > 1 => {
                    function_name::full(path()).into_boxed_str()
                }
                _ => key.2.into_boxed_str(),
            }
        });
    }
}

fn counter_name(descriptor: &FunctionDescriptor) -> &'static str {
    match descriptor.families {
        Families::Shared => SHARED_COUNTER,
        Families::Own { counter, .. } => counter,
    }
}

fn location(descriptor: &FunctionDescriptor) -> Location {
    Location {
        file: descriptor.file,
        line: descriptor.line,
        column: descriptor.column,
    }
}

/// The four family specs of a function: counter, histogram, in-flight gauge, errors by kind.
fn function_specs(site: &'static CallSite) -> [FamilySpec; 4] {
    let descriptor = &site.descriptor;
    let [
        (counter, counter_help),
        (histogram, histogram_help),
        (gauge, gauge_help),
        (errors, errors_help),
    ] = match descriptor.families {
        Families::Shared => [
            (SHARED_COUNTER, SHARED_COUNTER_HELP),
            (SHARED_HISTOGRAM, SHARED_HISTOGRAM_HELP),
            (SHARED_IN_FLIGHT, SHARED_IN_FLIGHT_HELP),
            (SHARED_ERRORS, SHARED_ERRORS_HELP),
        ],
        Families::Own {
            counter,
            counter_help,
            histogram,
            histogram_help,
            in_flight,
            in_flight_help,
            errors,
            errors_help,
            ..
        } => [
            (counter, counter_help),
            (histogram, histogram_help),
            (in_flight, in_flight_help),
            (errors, errors_help),
        ],
    };
    let mut labels: Vec<&'static str> = static_labels(site)
        .into_iter()
        .map(|(name, _)| name)
        .chain(descriptor.dynamic_labels.iter().map(|(name, _)| *name))
        .collect();
    labels.sort_unstable();
    let mut counter_labels = labels.clone();
    counter_labels.push("result");
    let mut errors_labels = labels.clone();
    errors_labels.push("kind");
    let location = location(descriptor);
    let spec = |name, help, shape, labels, buckets| FamilySpec {
        name,
        help,
        shape,
        labels,
        buckets,
        native: shape == Shape::Histogram && descriptor.native_histogram,
        location,
        origin: Origin::Function,
    };
    [
        spec(
            counter,
            counter_help,
            Shape::IntCounter,
            counter_labels,
            &[],
        ),
        spec(
            histogram,
            histogram_help,
            Shape::Histogram,
            labels.clone(),
            descriptor.buckets,
        ),
        spec(gauge, gauge_help, Shape::IntGauge, labels, &[]),
        spec(errors, errors_help, Shape::IntCounter, errors_labels, &[]),
    ]
}

/// The name of a function's objective: the one given, or its family's stem (its function label
/// in the shared families).
fn objective_name(site: &CallSite, objective: &Objective) -> String {
    if !objective.name.is_empty() {
        return objective.name.to_owned();
    }
    match site.descriptor.families {
        Families::Own { counter, .. } => {
            counter.strip_suffix("_total").unwrap_or(counter).to_owned()
        }
        Families::Shared => site.function().to_owned(),
    }
}

/// The objectives of instrumented functions: one per name, over the calls of the functions
/// that declare it (every series of their family, or those of named functions of one module).
/// Functions that give one name different targets or families, or functions of several modules
/// that share a name without covering their whole family, are reported; the first is kept.
fn function_objectives(registry: &Registry, sites: &[&'static CallSite]) -> Vec<DeclaredObjective> {
    let mut by_name: std::collections::BTreeMap<String, Vec<(&'static CallSite, Objective)>> =
        std::collections::BTreeMap::new();
    for site in sites {
        let Some(objective) = site.descriptor.objective else {
            continue;
        };
        by_name
            .entry(objective_name(site, &objective))
            .or_default()
            .push((site, objective));
    }
    let mut objectives = Vec::new();
    for (name, members) in by_name {
        let (first, objective) = members[0];
        let counter = counter_name(&first.descriptor);
        let mut kept = vec![first];
        for (site, other) in &members[1..] {
            let problem = if counter_name(&site.descriptor) != counter {
                Some(format!(
                    "declared with the objective `{name}`, which functions of the family `{counter}` declare too: one objective covers one family; rename one"
                ))
            } else if (other.success, other.latency) != (objective.success, objective.latency) {
                Some(format!(
                    "declared with the objective `{name}` and other targets than the first function that declares it: give them the same targets, or another name"
                ))
            } else {
                None
            };
            match problem {
                Some(problem) => {
                    registry.inner.state_mut().report(Conflict {
                        family: counter_name(&site.descriptor).to_owned(),
                        problem,
                        locations: vec![location(&first.descriptor), location(&site.descriptor)],
                    });
                }
                None => kept.push(site),
            }
        }
        let bounds = first.descriptor.bucket_bounds();
        if let Some(problem) = objective.problem(bounds) {
            registry.inner.state_mut().report(Conflict {
                family: counter.to_owned(),
                problem: format!("declared with the objective `{name}`, which {problem}"),
                locations: vec![location(&first.descriptor)],
            });
            continue;
        }
        let family_size = sites
            .iter()
            .filter(|site| counter_name(&site.descriptor) == counter)
            .count();
        if kept.len() < family_size {
            // Functions of several modules are selected by name within one module only.
            let (same, other): (Vec<&'static CallSite>, Vec<&'static CallSite>) = kept
                .iter()
                .partition(|site| site.descriptor.module == first.descriptor.module);
            for site in other {
                registry.inner.state_mut().report(Conflict {
                    family: counter.to_owned(),
                    problem: format!(
                        "declared with the objective `{name}` in two modules without covering its whole family: an objective covers its whole family, or functions of one module; name them apart"
                    ),
                    locations: vec![location(&first.descriptor), location(&site.descriptor)],
                });
            }
            kept = same;
        }
        let selector = if kept.len() == family_size {
            String::new()
        } else {
            let functions: Vec<String> = kept
                .iter()
                .map(|site| crate::exposition::text::regex_escape(site.function()))
                .collect();
            let module = crate::exposition::text::promql_string(first.descriptor.module);
            let function = crate::exposition::text::promql_string(&functions.join("|"));
            format!("function=~{function},module={module}")
        };
        let [counter_spec, histogram_spec, ..] = function_specs(first);
        objectives.push(DeclaredObjective {
            name,
            success: objective.success,
            latency: objective.latency,
            requests: counter_spec.name,
            outcome_label: "result",
            bad: "error|panic",
            ignored: "cancelled",
            histogram: histogram_spec.name,
            bounds,
            selector,
            example: vec![
                ("function", first.function().to_owned()),
                ("module", first.descriptor.module.to_owned()),
            ],
            location: location(&first.descriptor),
        });
    }
    objectives
}

/// `function`, `module` and the static labels of a function.
fn static_labels(site: &'static CallSite) -> Vec<(&'static str, &'static str)> {
    let descriptor = &site.descriptor;
    let mut labels = vec![
        ("function", site.function.get().map_or("", |name| name)),
        ("module", descriptor.module),
    ];
    labels.extend_from_slice(descriptor.labels);
    labels
}

/// A collector's samples are checked against its families before they are written: a read
/// function may return anything.
pub(crate) fn valid_samples(spec: &FamilySpec, samples: &Samples) -> bool {
    let labels = spec.labels.len();
    let mut seen = std::collections::HashSet::new();
    samples.series.iter().all(|(values, value)| {
        values.len() == labels
            // A counter's value is a count: never negative, never NaN.
            && (spec.shape.kind() != MetricKind::Counter || *value >= 0.0)
            && seen.insert(values)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scraper_can_shorten_the_wait_down_to_the_floor_and_never_lengthen_it() {
        let registry = Registry::new();
        registry.set_collect_timeout(Duration::from_secs(5));
        let wait = |asked| registry.collect_wait(asked);
        assert_eq!(wait(None), Duration::from_secs(5));
        assert_eq!(wait(Some(10.0)), Duration::from_secs(5));
        assert_eq!(wait(Some(3600.0)), Duration::from_secs(5));
        assert_eq!(wait(Some(1e300)), Duration::from_secs(5));
        assert_eq!(wait(Some(2.0)), Duration::from_secs_f64(1.8));
        assert_eq!(wait(Some(1e-9)), MIN_COLLECT_TIMEOUT);
        for nonsense in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(wait(Some(nonsense)), Duration::from_secs(5), "{nonsense}");
        }
        // A collect timeout shorter than the floor is kept.
        registry.set_collect_timeout(Duration::from_millis(20));
        assert_eq!(wait(Some(1e-9)), Duration::from_millis(20));
        assert_eq!(wait(Some(60.0)), Duration::from_millis(20));
    }
}
