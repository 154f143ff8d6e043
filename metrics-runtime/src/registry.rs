//! The process-wide registry, built on first use from every declaration in the catalog.

use std::collections::HashMap;
use std::sync::OnceLock;

use prometheus::core::Collector;
use prometheus::{
    CounterVec, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use crate::catalog::{CatalogError, Conflict, Declaration, FamilySpec};
use crate::cells::CallCells;
use crate::family::Metric;
use crate::function_name;
use crate::instrument::CallSite;
use crate::labels::combinations;
use crate::model::{
    Families, FieldDescriptor, FunctionDescriptor, FunctionName, GroupDescriptor, Location,
    Outcome, SHARED_COUNTER, SHARED_COUNTER_HELP, SHARED_HISTOGRAM, SHARED_HISTOGRAM_HELP,
    SHARED_IN_FLIGHT, SHARED_IN_FLIGHT_HELP, Shape,
};
use crate::text::render_labels;

/// A family of `#[instrument_metric]` functions, encoded straight from their call cells.
pub(crate) struct NativeFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    /// Histogram bounds, in seconds (every declaration of a family agrees on them).
    pub(crate) bounds: &'static [f64],
    pub(crate) kind: NativeKind,
    pub(crate) series: Vec<NativeSeries>,
}

/// One series (one label combination of one function) of a [`NativeFamily`].
pub(crate) struct NativeSeries {
    /// Its rendered labels, constant labels included.
    pub(crate) labels: String,
    /// Its cells: an index into [`native_cells`], so that a scrape reads each cell once for
    /// every family that shows it.
    pub(crate) cells: usize,
    /// The outcomes its function can have; each is a `result` row of the counter.
    pub(crate) outcomes: &'static [Outcome],
}

/// What a native family exports from the cells.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NativeKind {
    /// Calls by `result`.
    Calls,
    /// The duration histogram.
    Duration,
    /// The in-flight gauge.
    InFlight,
}

/// Memory held by the call cells of instrumented functions: bytes and exported series
/// (each counter outcome, histogram bucket, sum and count, and gauge counts as one series).
pub(crate) fn native_memory() -> (usize, usize) {
    let runtime = runtime();
    let mut bytes: usize = runtime.cells.iter().map(|cells| cells.size()).sum();
    let mut series = 0;
    for family in &runtime.native {
        for one in &family.series {
            bytes += one.labels.len();
            series += match family.kind {
                NativeKind::Calls => one.outcomes.len(),
                NativeKind::Duration => family.bounds.len() + 3,
                NativeKind::InFlight => 1,
            };
        }
    }
    (bytes, series)
}

/// The families encoded from call cells, sorted by name.
pub(crate) fn native_families() -> &'static [NativeFamily] {
    &runtime().native
}

/// The cells of every series of [`native_families`], each once.
pub(crate) fn native_cells() -> &'static [&'static CallCells] {
    &runtime().cells
}

/// The number of conflicts found so far: at the build, and since (hand-registered families
/// that repeat a family the crate writes).
pub(crate) fn conflict_count() -> usize {
    runtime().conflicts.len() + late_conflicts().len()
}

/// Conflicts found after the registry was built.
static LATE_CONFLICTS: std::sync::Mutex<Vec<Conflict>> = std::sync::Mutex::new(Vec::new());

fn late_conflicts() -> std::sync::MutexGuard<'static, Vec<Conflict>> {
    LATE_CONFLICTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reports, once per family, a family registered by hand under a name the crate writes
/// itself: the crate's own is exported, the hand-registered one is left out.
pub(crate) fn report_hand_registered_duplicate(family: &str) {
    let mut late = late_conflicts();
    if late.iter().any(|conflict| conflict.family == family) {
        return;
    }
    let conflict = Conflict {
        family: family.to_owned(),
        problem: "registered by hand in `registry()` under the name of a family metrics-runtime writes itself; the hand-registered one is left out of the exposition".to_owned(),
        locations: Vec::new(),
    };
    log::warn!("{conflict}");
    late.push(conflict);
}

struct Runtime {
    registry: Registry,
    families: HashMap<&'static str, (FamilySpec, Option<Vector>)>,
    native: Vec<NativeFamily>,
    cells: Vec<&'static CallCells>,
    functions: Vec<crate::catalog::InstrumentedFunction>,
    conflicts: Vec<Conflict>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(build)
}

/// The constant labels, sorted by name, once set (the HTTP layer and the writer render them
/// into the series they write themselves).
pub(crate) fn constant_labels() -> &'static [(String, String)] {
    static SORTED: OnceLock<Vec<(String, String)>> = OnceLock::new();
    // Reading them freezes them: `set_constant_labels` refuses once the registry is built.
    let _ = runtime();
    SORTED.get_or_init(|| {
        let mut labels = CONSTANT_LABELS.get().cloned().unwrap_or_default();
        labels.sort();
        labels
    })
}

/// Labels added to every series the registry exports, set by [`set_constant_labels`].
static CONSTANT_LABELS: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Why [`set_constant_labels`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The registry was already built (something recorded or rendered first), or constant
    /// labels were already set.
    TooLate,
    /// A label name is not `[a-zA-Z][a-zA-Z0-9_]*` (a leading `_` is reserved), is camelCase,
    /// or is reserved (`le`, `quantile`, and the `function`, `module` and `result` labels).
    InvalidLabel(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::TooLate => f.write_str(
                "constant labels must be set once, before the registry is first used (first thing in main)",
            ),
            ConfigError::InvalidLabel(name) => write!(f, "`{name}` cannot be a constant label name"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Adds `labels` (say `env` and `service`) to every series exported, declared or registered
/// by hand. Call it once, first thing in `main`, before anything records or renders.
///
/// A declared family that has a label of the same name is reported by [`check`].
///
/// # Errors
///
/// [`ConfigError::TooLate`] after the registry is built or once labels are set, and
/// [`ConfigError::InvalidLabel`] for a name Prometheus does not accept.
///
/// ```standalone_crate
/// metrics_runtime::set_constant_labels([("env", "staging"), ("service", "assistant")]).unwrap();
/// let counter = prometheus::IntCounter::new("boots_total", "Boots.").unwrap();
/// metrics_runtime::registry().register(Box::new(counter)).unwrap();
/// let text = metrics_runtime::render();
/// let line = text.lines().find(|line| line.starts_with("boots_total{")).unwrap();
/// assert!(line.contains(r#"env="staging""#) && line.contains(r#"service="assistant""#));
/// ```
pub fn set_constant_labels<K, V>(
    labels: impl IntoIterator<Item = (K, V)>,
) -> Result<(), ConfigError>
where
    K: Into<String>,
    V: Into<String>,
{
    let labels: Vec<(String, String)> = labels
        .into_iter()
        .map(|(name, value)| (name.into(), value.into()))
        .collect();
    for (name, _) in &labels {
        let reserved = ["function", "module", "result"].contains(&name.as_str());
        let repeated = labels.iter().filter(|(other, _)| other == name).count() > 1;
        if crate::model::label_name_problem(name).is_some() || reserved || repeated {
            return Err(ConfigError::InvalidLabel(name.clone()));
        }
    }
    if RUNTIME.get().is_some() {
        return Err(ConfigError::TooLate);
    }
    CONSTANT_LABELS
        .set(labels)
        .map_err(|_| ConfigError::TooLate)
}

/// The process-wide registry that `/metrics` exposes.
///
/// On first use it registers every metric declared anywhere in the program, with every series
/// whose labels are known statically at zero. Metrics you create by hand can be registered here
/// too and are exported beside them.
///
/// The families of `#[instrument_metric]` functions and of the HTTP layer are kept in striped
/// call cells and written by [`render`](crate::render) (and [`render_as`](crate::render_as))
/// straight from them; `registry().gather()` holds the rest: `Metrics` structs, collectors and
/// what you registered by hand. Export through `render`.
///
/// ```
/// let counter = prometheus::IntCounter::new("jobs_done_total", "Jobs done.").unwrap();
/// metrics_runtime::registry().register(Box::new(counter.clone())).unwrap();
/// counter.inc();
/// assert!(metrics_runtime::render().contains("jobs_done_total 1"));
/// ```
#[must_use]
pub fn registry() -> &'static Registry {
    &runtime().registry
}

/// Reports every conflict among the declared metrics: one family declared with another kind,
/// label set, help or bucket list, a series declared twice, or a name the registry refused.
///
/// Call it at start-up (or in a test) to fail loudly; the registry itself never panics on
/// conflicts.
///
/// # Errors
///
/// A [`CatalogError`] listing each conflict with every source location involved.
///
/// ```
/// metrics_runtime::check().expect("metric declarations agree");
/// ```
pub fn check() -> Result<(), CatalogError> {
    let mut conflicts = runtime().conflicts.clone();
    conflicts.extend(late_conflicts().iter().cloned());
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(CatalogError { conflicts })
    }
}

/// Every metric family the program declares (through `#[instrument_metric]` and
/// `#[derive(Metrics)]`), and every instrumented function: the data from which dashboards and
/// rules can be generated.
///
/// ```
/// use metrics_runtime::{MetricKind, instrument_metric};
///
/// /// Sends a reminder.
/// #[instrument_metric(name = "reminders")]
/// fn remind() {}
///
/// fn main() {
///     let catalog = metrics_runtime::catalog();
///     let family = catalog.families.iter().find(|f| f.name == "reminders_total").unwrap();
///     assert_eq!(family.kind, MetricKind::Counter);
///     assert_eq!(family.labels, ["function", "module", "result"]);
///     let function = catalog.functions.iter().find(|f| f.function == "remind").unwrap();
///     assert_eq!(function.histogram, "reminders_duration_seconds");
/// }
/// ```
#[must_use]
pub fn catalog() -> crate::catalog::Catalog {
    let runtime = runtime();
    let mut families: Vec<crate::catalog::DeclaredFamily> = runtime
        .families
        .values()
        .map(|(spec, _)| crate::catalog::DeclaredFamily {
            name: spec.name,
            help: spec.help,
            kind: spec.shape.kind(),
            labels: spec.labels.clone(),
            buckets: spec.buckets,
            location: spec.location,
        })
        .collect();
    families.sort_by_key(|family| family.name);
    let mut functions = runtime.functions.clone();
    functions.sort_by_key(|function| (function.counter, function.module, function.function));
    crate::catalog::Catalog {
        families,
        functions,
    }
}

/// A registered family. Public in a private module so that [`Metric`]'s hidden methods can
/// name it.
pub enum Vector {
    /// `f64` counters.
    Counter(CounterVec),
    /// `u64` counters.
    IntCounter(IntCounterVec),
    /// `f64` gauges.
    Gauge(GaugeVec),
    /// `i64` gauges.
    IntGauge(IntGaugeVec),
    /// Histograms.
    Histogram(HistogramVec),
}

impl Vector {
    fn new(spec: &FamilySpec) -> prometheus::Result<Vector> {
        let opts = Opts::new(spec.name, spec.help);
        let labels = &spec.labels;
        Ok(match spec.shape {
            Shape::Counter => Vector::Counter(CounterVec::new(opts, labels)?),
            Shape::IntCounter => Vector::IntCounter(IntCounterVec::new(opts, labels)?),
            Shape::Gauge => Vector::Gauge(GaugeVec::new(opts, labels)?),
            Shape::IntGauge => Vector::IntGauge(IntGaugeVec::new(opts, labels)?),
            Shape::Histogram => {
                let mut opts = HistogramOpts::from(opts);
                if !spec.buckets.is_empty() {
                    opts = opts.buckets(spec.buckets.to_vec());
                }
                Vector::Histogram(HistogramVec::new(opts, labels)?)
            }
        })
    }

    fn collector(&self) -> Box<dyn Collector> {
        match self {
            Vector::Counter(v) => Box::new(v.clone()),
            Vector::IntCounter(v) => Box::new(v.clone()),
            Vector::Gauge(v) => Box::new(v.clone()),
            Vector::IntGauge(v) => Box::new(v.clone()),
            Vector::Histogram(v) => Box::new(v.clone()),
        }
    }

    /// Creates the series for `values` (so that it is exported at zero).
    fn touch(&self, values: &[&str]) {
        let _ = match self {
            Vector::Counter(v) => v.get_metric_with_label_values(values).map(drop),
            Vector::IntCounter(v) => v.get_metric_with_label_values(values).map(drop),
            Vector::Gauge(v) => v.get_metric_with_label_values(values).map(drop),
            Vector::IntGauge(v) => v.get_metric_with_label_values(values).map(drop),
            Vector::Histogram(v) => v.get_metric_with_label_values(values).map(drop),
        };
    }
}

fn build() -> Runtime {
    let mut sites = Vec::new();
    let mut groups = Vec::new();
    for declaration in inventory::iter::<Declaration> {
        match declaration {
            Declaration::Function(site) => sites.push(*site),
            Declaration::Group(group) => groups.push(*group),
        }
    }
    // `inventory` yields in link order; sort so that "the first declaration", the one that is
    // exported when two disagree, is the first in (file, line, column) order, in every build.
    sites.sort_by_key(|site| location(&site.descriptor));
    groups.sort_by_key(|group| group.fields.first().map(FieldDescriptor::location));
    name_functions(&sites);
    let constant: HashMap<String, String> = CONSTANT_LABELS
        .get()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    // The names were checked by `set_constant_labels`, so the registry accepts them.
    let registry = if constant.is_empty() {
        Registry::new()
    } else {
        Registry::new_custom(None, Some(constant.clone())).unwrap_or_default()
    };
    let mut builder = Builder {
        registry,
        constant,
        families: HashMap::new(),
        series: HashMap::new(),
        conflicts: Vec::new(),
    };
    for group in groups {
        builder.declare_group(group);
    }
    let mut functions = Vec::new();
    let mut cells_list: Vec<&'static CallCells> = Vec::new();
    let mut native: std::collections::BTreeMap<&'static str, NativeFamily> =
        std::collections::BTreeMap::new();
    for site in sites {
        let specs = function_specs(site);
        functions.push(crate::catalog::InstrumentedFunction {
            function: site.function.get().map_or("", |name| name),
            module: site.descriptor.module,
            counter: specs[0].name,
            histogram: specs[1].name,
            in_flight: site.descriptor.in_flight.then_some(specs[2].name),
            location: location(&site.descriptor),
        });
        let resolved = builder.resolve_site(site, &specs);
        let cells = site.cells();
        let first = cells_list.len();
        cells_list.extend(cells.iter());
        let kinds = [
            NativeKind::Calls,
            NativeKind::Duration,
            NativeKind::InFlight,
        ];
        for ((spec, kind), owned) in specs.iter().zip(kinds).zip(&resolved.owned) {
            if !owned.contains(&true) {
                continue;
            }
            let family = native.entry(spec.name).or_insert_with(|| NativeFamily {
                name: spec.name,
                help: spec.help,
                bounds: site.descriptor.bucket_bounds(),
                kind,
                series: Vec::new(),
            });
            for (combination, labels) in resolved.labels.iter().enumerate() {
                if owned.get(combination).copied().unwrap_or(false) {
                    family.series.push(NativeSeries {
                        labels: labels.clone(),
                        cells: first + combination,
                        outcomes: site.descriptor.outcomes(),
                    });
                }
            }
        }
    }
    builder
        .conflicts
        .sort_by_key(|conflict| conflict.locations.first().copied());
    for conflict in &builder.conflicts {
        log::warn!("{conflict}");
    }
    Runtime {
        registry: builder.registry,
        families: builder.families,
        native: native.into_values().collect(),
        cells: cells_list,
        functions,
        conflicts: builder.conflicts,
    }
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

/// A family accepted by the builder.
enum Accepted<'a> {
    /// Encoded from call cells.
    Native,
    /// Registered in the tikv registry.
    Registered(&'a Vector),
}

/// What the builder made of one call site.
struct ResolvedSite {
    /// The rendered labels of every combination.
    labels: Vec<String>,
    /// For each of the counter, histogram and in-flight gauge, whether each combination's
    /// series belongs to this site (its family accepted, and no earlier site has the series).
    owned: [Vec<bool>; 3],
}

/// The registered families, with the declaration that created each.
struct Builder {
    registry: Registry,
    /// Constant labels, added to every series by the registry.
    constant: HashMap<String, String>,
    families: HashMap<&'static str, (FamilySpec, Option<Vector>)>,
    /// The first declaration of each series (family and label values).
    series: HashMap<(&'static str, Vec<&'static str>), Location>,
    conflicts: Vec<Conflict>,
}

impl Builder {
    fn declare_group(&mut self, group: &'static GroupDescriptor) {
        for field in group.fields {
            let spec = field.spec();
            let Some(Accepted::Registered(vector)) = self.family(&spec) else {
                continue;
            };
            for values in combinations(field.label_values) {
                vector.touch(&values);
            }
        }
    }

    /// The cells and labels of every label combination of `site`, and which of its series
    /// it owns.
    fn resolve_site(&mut self, site: &'static CallSite, specs: &[FamilySpec; 3]) -> ResolvedSite {
        let descriptor = &site.descriptor;
        let accepted = [
            self.family(&specs[0]).is_some(),
            self.family(&specs[1]).is_some(),
            descriptor.in_flight && self.family(&specs[2]).is_some(),
        ];
        let mut resolved = ResolvedSite {
            labels: Vec::new(),
            owned: [Vec::new(), Vec::new(), Vec::new()],
        };
        for dynamic in combinations(&site.dynamic_values()) {
            let mut pairs = static_labels(site);
            pairs.extend(
                descriptor
                    .dynamic_labels
                    .iter()
                    .map(|(name, _)| *name)
                    .zip(dynamic),
            );
            pairs.sort_by_key(|(name, _)| *name);
            let values: Vec<&'static str> = pairs.iter().map(|(_, value)| *value).collect();
            for ((spec, accepted), owned) in specs.iter().zip(accepted).zip(&mut resolved.owned) {
                owned.push(accepted && self.claim_series(spec, site, &values));
            }
            let mut all: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, *v)).collect();
            all.extend(self.constant.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            all.sort_by_key(|(name, _)| *name);
            resolved.labels.push(render_labels(all));
        }
        resolved
    }

    /// Records that `site` owns the series `values` of `spec`; a second owner conflicts and
    /// does not get it (its calls are recorded in cells that are exported nowhere).
    fn claim_series(
        &mut self,
        spec: &FamilySpec,
        site: &CallSite,
        values: &[&'static str],
    ) -> bool {
        let key = (spec.name, values.to_vec());
        let Some(first) = self.series.get(&key) else {
            self.series.insert(key, spec.location);
            return true;
        };
        self.conflicts.push(Conflict {
            family: spec.name.to_owned(),
            problem: format!(
                "declared twice for the same labels (function {:?}, module {:?}): only the first declaration's calls are exported; give one of them `function = \"...\"`",
                site.function(),
                site.descriptor.module
            ),
            locations: vec![*first, spec.location],
        });
        false
    }

    /// Accepts `spec`, registering its family on first sight; `None` on a conflict.
    fn family(&mut self, spec: &FamilySpec) -> Option<Accepted<'_>> {
        if let Some(owner) = reserved_owner(spec.name) {
            self.conflicts.push(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "a family that {owner} writes itself; this declaration is not exported"
                ),
                locations: vec![spec.location],
            });
            return None;
        }
        if let Some((first, _)) = self.families.get(spec.name) {
            if let Some(problem) = first.disagreement(spec) {
                self.conflicts.push(Conflict {
                    family: spec.name.to_owned(),
                    problem: format!("{problem}: only the first declaration is exported"),
                    locations: vec![first.location, spec.location],
                });
                return None;
            }
        } else {
            if !self.allowed_labels(spec) {
                return None;
            }
            let vector = if spec.native {
                None
            } else {
                Some(self.create(spec)?)
            };
            self.families.insert(spec.name, (spec.clone(), vector));
        }
        self.families.get(spec.name).map(|(_, vector)| {
            vector
                .as_ref()
                .map_or(Accepted::Native, Accepted::Registered)
        })
    }
    /// Whether `spec` has no label that is also a constant label (it would be repeated).
    fn allowed_labels(&mut self, spec: &FamilySpec) -> bool {
        let Some(label) = spec
            .labels
            .iter()
            .find(|label| self.constant.contains_key(**label))
        else {
            return true;
        };
        self.conflicts.push(Conflict {
            family: spec.name.to_owned(),
            problem: format!("declared with the label `{label}`, which is also a constant label"),
            locations: vec![spec.location],
        });
        false
    }

    fn create(&mut self, spec: &FamilySpec) -> Option<Vector> {
        let registered = Vector::new(spec)
            .and_then(|vector| self.registry.register(vector.collector()).map(|()| vector));
        match registered {
            Ok(vector) => Some(vector),
            Err(error) => {
                self.conflicts.push(Conflict {
                    family: spec.name.to_owned(),
                    problem: format!("refused by the registry: {error}"),
                    locations: vec![spec.location],
                });
                None
            }
        }
    }
}

/// The families the crate writes itself, which no declaration may take, and what writes
/// each.
fn reserved_owner(name: &str) -> Option<&'static str> {
    if name == CONFLICTS_FAMILY {
        return Some("metrics-runtime's conflict report");
    }
    #[cfg(feature = "axum")]
    if crate::http::FAMILIES.contains(&name) {
        return Some("the HTTP layer (`HttpMetricsLayer`)");
    }
    None
}

/// The gauge of the number of conflicts, exported by every scrape.
pub(crate) const CONFLICTS_FAMILY: &str = "metrics_catalog_conflicts";

/// The three family specs of a function: counter, histogram, in-flight gauge.
fn function_specs(site: &'static CallSite) -> [FamilySpec; 3] {
    let descriptor = &site.descriptor;
    let (counter, counter_help, histogram, histogram_help, gauge, gauge_help) =
        match descriptor.families {
            Families::Shared => (
                SHARED_COUNTER,
                SHARED_COUNTER_HELP,
                SHARED_HISTOGRAM,
                SHARED_HISTOGRAM_HELP,
                SHARED_IN_FLIGHT,
                SHARED_IN_FLIGHT_HELP,
            ),
            Families::Own {
                counter,
                counter_help,
                histogram,
                histogram_help,
                in_flight,
                in_flight_help,
            } => (
                counter,
                counter_help,
                histogram,
                histogram_help,
                in_flight,
                in_flight_help,
            ),
        };
    let mut labels: Vec<&'static str> = static_labels(site)
        .into_iter()
        .map(|(name, _)| name)
        .chain(descriptor.dynamic_labels.iter().map(|(name, _)| *name))
        .collect();
    labels.sort_unstable();
    let mut counter_labels = labels.clone();
    counter_labels.push("result");
    let location = location(descriptor);
    let spec = |name, help, shape, labels, buckets| FamilySpec {
        name,
        help,
        shape,
        labels,
        buckets,
        location,
        native: true,
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
    ]
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

/// The series of a `#[derive(Metrics)]` field, in label index order: the registered ones, or
/// series exported nowhere if the field's declaration conflicts with an earlier one.
pub(crate) fn series<M: Metric>(field: &FieldDescriptor) -> Vec<M> {
    let registered = runtime()
        .families
        .get(field.name)
        .and_then(|(spec, vector)| {
            let mine = field.spec();
            (spec.location == mine.location || spec.disagreement(&mine).is_none())
                .then_some(vector.as_ref())
                .flatten()
        });
    combinations(field.label_values)
        .iter()
        .map(|values| {
            registered
                .and_then(|vector| M::child(vector, values))
                .unwrap_or_else(|| M::detached(field.buckets))
        })
        .collect()
}
