//! Registries: the families a program exports, whatever declares them, and the conflicts among
//! them. The global registry is built on first use from every declaration submitted through
//! `inventory` (instrumented functions, `Metrics` structs); a scoped registry,
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
//!
//! This file holds the handle, its state and settings; `build.rs` builds the global registry
//! from the declarations, `register.rs` registers families at run time, `fields.rs` gives a
//! `Metrics` struct's fields their handles, `collectors.rs` and `runner.rs` register and read
//! collectors.

mod build;
pub mod collect;
mod collectors;
pub(crate) mod crate_check;
// The sealed traits take the crate's private `Storage`: only registries create handles.
#[allow(private_interfaces)]
mod fields;
mod intern;
mod register;
pub(crate) mod runner;
mod runtime_labels;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use crate::catalog::{
    Catalog, CatalogError, Conflict, Declaration, DeclaredObjective, FamilySpec,
    InstrumentedFunction, Origin,
};
use crate::metrics::{Histogram, IntGauge, LabelTable, RuntimeSets, Storage};
use crate::model::Shape;
use crate::model::labels::Labels;
use crate::registry::runner::Source;
use crate::settings::{self, ConstantLabels};
use crate::storage::cells::CallCells;

pub(crate) use build::{
    COLLECTOR_ERRORS_FAMILY, COLLECTOR_TIMEOUTS_FAMILY, CONFLICTS_FAMILY, EXPORTER_FAMILIES,
    FunctionFamily, FunctionKind, SERIES_FAMILY,
};
pub(crate) use collectors::valid_samples;
pub use fields::MetricField;
pub use runtime_labels::FamilyBuilder;

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
    /// Whether `metrics_label_values_unknown_total` is declared (with the first family with
    /// run-time labels).
    unknown_values: bool,
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
    /// Its labels whose values are given at run time, if it has any.
    pub(crate) runtime: Option<Arc<RuntimeSets>>,
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
    /// Whether `metrics_label_values_unknown_total` is written.
    pub(crate) unknown_values: bool,
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
            unknown_values: state.unknown_values,
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
    GLOBAL.get_or_init(|| {
        build::build(
            inventory::iter::<Declaration>,
            crate::settings::freeze().clone(),
        )
    })
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
