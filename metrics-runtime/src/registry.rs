//! The process-wide registry, built on first use from every declaration in the catalog.

use std::collections::HashMap;
use std::sync::OnceLock;

use prometheus::core::Collector;
use prometheus::{
    CounterVec, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use crate::catalog::{
    CatalogError, Conflict, Declaration, FamilySpec, FieldDescriptor, GroupDescriptor, Location,
};
use crate::cells::CallCells;
use crate::family::{Metric, Shape};
use crate::instrument::{
    CallSite, Families, FunctionDescriptor, SHARED_COUNTER, SHARED_COUNTER_HELP, SHARED_HISTOGRAM,
    SHARED_HISTOGRAM_HELP, SHARED_IN_FLIGHT, SHARED_IN_FLIGHT_HELP,
};
use crate::labels::combinations;

/// A family of `#[instrument_metric]` functions, encoded straight from their call cells.
pub(crate) struct NativeFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    /// Histogram bounds, in seconds (every declaration of a family agrees on them).
    pub(crate) bounds: &'static [f64],
    pub(crate) kind: NativeKind,
    /// Each series: its rendered labels and its cells.
    pub(crate) series: Vec<(String, &'static CallCells)>,
}

/// What a native family exports from the cells.
#[derive(Clone, Copy)]
pub(crate) enum NativeKind {
    /// Calls by `result`, for the outcomes the functions can have.
    Calls(&'static [crate::instrument::Outcome]),
    /// The duration histogram.
    Duration,
    /// The in-flight gauge.
    InFlight,
}

/// Memory held by the call cells of instrumented functions: bytes and exported series
/// (each counter outcome, histogram bucket, sum and count, and gauge counts as one series).
pub(crate) fn native_memory() -> (usize, usize) {
    let mut bytes = 0;
    let mut series = 0;
    let mut seen = std::collections::HashSet::new();
    for family in &runtime().native {
        for (labels, cells) in &family.series {
            if seen.insert(std::ptr::from_ref(*cells)) {
                bytes += cells.size();
            }
            bytes += labels.len();
            series += match family.kind {
                NativeKind::Calls(outcomes) => outcomes.len(),
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

struct Runtime {
    registry: Registry,
    families: HashMap<&'static str, (FamilySpec, Option<Vector>)>,
    native: Vec<NativeFamily>,
    functions: Vec<crate::catalog::InstrumentedFunction>,
    conflicts: Vec<Conflict>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(build)
}

/// The constant labels, once set (the HTTP layer renders them into its series).
#[cfg(feature = "axum")]
pub(crate) fn constant_labels() -> &'static [(String, String)] {
    CONSTANT_LABELS.get().map_or(&[], Vec::as_slice)
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
        // The macros' label-name rules (metrics-macros/src/validate.rs; tests/tests/
        // validation_agreement.rs checks that both agree): a leading `_` is reserved, and
        // promtool flags camelCase.
        let camel_case = name
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase());
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !camel_case
            && !["le", "quantile", "function", "module", "result"].contains(&name.as_str());
        if !valid || labels.iter().filter(|(other, _)| other == name).count() > 1 {
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
    let conflicts = &runtime().conflicts;
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(CatalogError {
            conflicts: conflicts.clone(),
        })
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
/// let catalog = metrics_runtime::catalog();
/// let family = catalog.families.iter().find(|f| f.name == "reminders_total").unwrap();
/// assert_eq!(family.kind, MetricKind::Counter);
/// assert_eq!(family.labels, ["function", "module", "result"]);
/// let function = catalog.functions.iter().find(|f| f.function == "remind").unwrap();
/// assert_eq!(function.histogram, "reminders_duration_seconds");
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
    // `inventory` yields in link order; sort so that "the first declaration" is stable.
    sites.sort_by_key(|site| location(&site.descriptor));
    groups.sort_by_key(|group| group.fields.first().map(FieldDescriptor::location));
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
    let mut native: std::collections::BTreeMap<&'static str, NativeFamily> =
        std::collections::BTreeMap::new();
    for site in sites {
        let specs = function_specs(&site.descriptor);
        functions.push(crate::catalog::InstrumentedFunction {
            function: site.descriptor.function,
            module: site.descriptor.module,
            counter: specs[0].name,
            histogram: specs[1].name,
            in_flight: site.descriptor.in_flight.then_some(specs[2].name),
            location: location(&site.descriptor),
        });
        let (cells, labels, accepted) = builder.resolve_site(site);
        // Already set only if the same site was submitted twice; the first cells stay.
        let _ = site.handles.set(cells);
        let Some(cells) = site.handles.get() else {
            continue;
        };
        let kinds = [
            NativeKind::Calls(site.descriptor.outcomes()),
            NativeKind::Duration,
            NativeKind::InFlight,
        ];
        for ((spec, kind), accepted) in specs.iter().zip(kinds).zip(accepted) {
            if !accepted {
                continue;
            }
            let family = native.entry(spec.name).or_insert_with(|| NativeFamily {
                name: spec.name,
                help: spec.help,
                bounds: site.descriptor.bucket_bounds(),
                kind,
                series: Vec::new(),
            });
            family
                .series
                .extend(labels.iter().cloned().zip(cells.iter()));
        }
    }
    builder
        .conflicts
        .sort_by_key(|conflict| conflict.locations.first().copied());
    Runtime {
        registry: builder.registry,
        families: builder.families,
        native: native.into_values().collect(),
        functions,
        conflicts: builder.conflicts,
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

    /// The cells of every label combination of `site`, with each combination's rendered
    /// labels; and which of its three families were accepted (not conflicting).
    fn resolve_site(
        &mut self,
        site: &'static CallSite,
    ) -> (Box<[CallCells]>, Vec<String>, [bool; 3]) {
        let descriptor = &site.descriptor;
        let specs = function_specs(descriptor);
        let accepted = [
            self.family(&specs[0]).is_some(),
            self.family(&specs[1]).is_some(),
            descriptor.in_flight && self.family(&specs[2]).is_some(),
        ];
        let mut cells = Vec::new();
        let mut rendered = Vec::new();
        for dynamic in combinations(&site.dynamic_values()) {
            let mut pairs = static_labels(descriptor);
            pairs.extend(
                descriptor
                    .dynamic_labels
                    .iter()
                    .map(|(name, _)| *name)
                    .zip(dynamic),
            );
            pairs.sort_by_key(|(name, _)| *name);
            let values: Vec<&'static str> = pairs.iter().map(|(_, value)| *value).collect();
            self.claim_series(&specs[0], descriptor, &values);
            let mut all: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, *v)).collect();
            all.extend(self.constant.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            all.sort_by_key(|(name, _)| *name);
            rendered.push(crate::encode::render_labels(&all));
            cells.push(CallCells::new(descriptor.bucket_bounds()));
        }
        (cells.into_boxed_slice(), rendered, accepted)
    }

    /// Records that `descriptor` owns the series `values` of `spec`; two owners conflict.
    fn claim_series(
        &mut self,
        spec: &FamilySpec,
        descriptor: &FunctionDescriptor,
        values: &[&'static str],
    ) {
        let key = (spec.name, values.to_vec());
        if let Some(first) = self.series.get(&key) {
            self.conflicts.push(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "declared twice for the same labels (function {:?}, module {:?}); give one of them `function = \"...\"`",
                    descriptor.function, descriptor.module
                ),
                locations: vec![*first, spec.location],
            });
        } else {
            self.series.insert(key, spec.location);
        }
    }

    /// Accepts `spec`, registering its family on first sight; `None` on a conflict.
    fn family(&mut self, spec: &FamilySpec) -> Option<Accepted<'_>> {
        if let Some((first, _)) = self.families.get(spec.name) {
            if let Some(problem) = first.disagreement(spec) {
                self.conflicts.push(Conflict {
                    family: spec.name.to_owned(),
                    problem,
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

/// The three family specs of a function: counter, histogram, in-flight gauge.
fn function_specs(descriptor: &FunctionDescriptor) -> [FamilySpec; 3] {
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
    let mut labels: Vec<&'static str> = static_labels(descriptor)
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
fn static_labels(descriptor: &FunctionDescriptor) -> Vec<(&'static str, &'static str)> {
    let mut labels = vec![
        ("function", descriptor.function),
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
