//! The process-wide registry, built on first use from every declaration in the catalog.

use std::collections::HashMap;
use std::sync::OnceLock;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::catalog::{CatalogError, Conflict, Declaration, FamilySpec, Location, MetricKind};
use crate::instrument::{
    CallSite, Families, FunctionDescriptor, Handles, SHARED_COUNTER, SHARED_COUNTER_HELP,
    SHARED_HISTOGRAM, SHARED_HISTOGRAM_HELP, SHARED_IN_FLIGHT, SHARED_IN_FLIGHT_HELP,
};

struct Runtime {
    registry: Registry,
    conflicts: Vec<Conflict>,
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(build)
}

/// The process-wide registry that `/metrics` exposes.
///
/// On first use it registers every metric declared anywhere in the program, with every series
/// whose labels are known statically at zero. Metrics you create by hand can be registered here
/// too and are exported beside them.
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

enum Vector {
    Counter(IntCounterVec),
    Histogram(HistogramVec),
    Gauge(IntGaugeVec),
}

/// The families registered so far, with the declaration that created each.
struct Builder {
    registry: Registry,
    families: HashMap<&'static str, (FamilySpec, Option<Vector>)>,
    series: HashMap<(&'static str, Vec<&'static str>), Location>,
    conflicts: Vec<Conflict>,
}

fn build() -> Runtime {
    let mut sites: Vec<&'static CallSite> = inventory::iter::<Declaration>
        .into_iter()
        .map(|Declaration::Function(site)| *site)
        .collect();
    // `inventory` yields in link order; sort so that "the first declaration" is stable.
    sites.sort_by_key(|site| location(&site.descriptor));
    let mut builder = Builder {
        registry: Registry::new(),
        families: HashMap::new(),
        series: HashMap::new(),
        conflicts: Vec::new(),
    };
    for site in sites {
        let handles = builder.resolve(&site.descriptor);
        // Already set only if the same site was submitted twice; the first handles stay.
        let _ = site.handles.set(handles);
    }
    Runtime {
        registry: builder.registry,
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

/// The three family specs of a function: counter, histogram, in-flight gauge.
fn specs(descriptor: &FunctionDescriptor) -> [FamilySpec; 3] {
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
    let labels = label_names(descriptor);
    let mut counter_labels = labels.clone();
    counter_labels.push("result");
    let location = location(descriptor);
    let spec = |name, help, kind, labels, buckets| FamilySpec {
        name,
        help,
        kind,
        labels,
        buckets,
        location,
    };
    [
        spec(
            counter,
            counter_help,
            MetricKind::Counter,
            counter_labels,
            &[],
        ),
        spec(
            histogram,
            histogram_help,
            MetricKind::Histogram,
            labels.clone(),
            descriptor.buckets,
        ),
        spec(gauge, gauge_help, MetricKind::Gauge, labels, &[]),
    ]
}

/// `function`, `module`, then the static labels sorted by name.
fn static_labels(descriptor: &FunctionDescriptor) -> Vec<(&'static str, &'static str)> {
    let mut labels = vec![
        ("function", descriptor.function),
        ("module", descriptor.module),
    ];
    let mut extra = descriptor.labels.to_vec();
    extra.sort_unstable();
    labels.extend(extra);
    labels
}

fn label_names(descriptor: &FunctionDescriptor) -> Vec<&'static str> {
    static_labels(descriptor)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

impl Builder {
    fn resolve(&mut self, descriptor: &FunctionDescriptor) -> Handles {
        let [counter, histogram, gauge] = specs(descriptor);
        let values: Vec<&'static str> = static_labels(descriptor)
            .into_iter()
            .map(|(_, value)| value)
            .collect();

        let key = (counter.name, values.clone());
        if let Some(first) = self.series.get(&key) {
            self.conflicts.push(Conflict {
                family: counter.name.to_owned(),
                problem: format!(
                    "declared twice for the same labels (function {:?}, module {:?}); give one of them `function = \"...\"`",
                    descriptor.function, descriptor.module
                ),
                locations: vec![*first, counter.location],
            });
        } else {
            self.series.insert(key, counter.location);
        }

        let mut detached = detached_handles(descriptor);
        if let Some(Vector::Counter(vec)) = self.family(&counter) {
            for outcome in descriptor.outcomes() {
                let mut labels = values.clone();
                labels.push(outcome.as_str());
                if let Ok(child) = vec.get_metric_with_label_values(&labels) {
                    detached.calls[outcome.index()] = child;
                }
            }
        }
        if let Some(Vector::Histogram(vec)) = self.family(&histogram)
            && let Ok(child) = vec.get_metric_with_label_values(&values)
        {
            detached.duration = child;
        }
        if descriptor.in_flight
            && let Some(Vector::Gauge(vec)) = self.family(&gauge)
            && let Ok(child) = vec.get_metric_with_label_values(&values)
        {
            detached.in_flight = Some(child);
        }
        detached
    }

    /// The registered family for `spec`, creating it on first sight; `None` on a conflict.
    fn family(&mut self, spec: &FamilySpec) -> Option<&Vector> {
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
            let vector = self.create(spec);
            self.families.insert(spec.name, (spec.clone(), vector));
        }
        self.families
            .get(spec.name)
            .and_then(|(_, vector)| vector.as_ref())
    }

    fn create(&mut self, spec: &FamilySpec) -> Option<Vector> {
        let opts = Opts::new(spec.name, spec.help);
        let created = match spec.kind {
            MetricKind::Counter => IntCounterVec::new(opts, &spec.labels).map(Vector::Counter),
            MetricKind::Gauge => IntGaugeVec::new(opts, &spec.labels).map(Vector::Gauge),
            MetricKind::Histogram => {
                let mut opts = HistogramOpts::from(opts);
                if !spec.buckets.is_empty() {
                    opts = opts.buckets(spec.buckets.to_vec());
                }
                HistogramVec::new(opts, &spec.labels).map(Vector::Histogram)
            }
        };
        let registered = created.and_then(|vector| {
            let collector: Box<dyn prometheus::core::Collector> = match &vector {
                Vector::Counter(v) => Box::new(v.clone()),
                Vector::Gauge(v) => Box::new(v.clone()),
                Vector::Histogram(v) => Box::new(v.clone()),
            };
            self.registry.register(collector).map(|()| vector)
        });
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

/// Handles that record but are exported nowhere: for a declaration that conflicts with an
/// earlier one, or an outcome a function cannot have.
pub(crate) fn detached_handles(descriptor: &FunctionDescriptor) -> Handles {
    // The names are constants that the registry accepts, so creation cannot fail.
    let counter =
        || IntCounter::new("detached_total", "Not exported.").expect("valid constant name");
    let mut opts = HistogramOpts::new("detached_seconds", "Not exported.");
    if !descriptor.buckets.is_empty() {
        opts = opts.buckets(descriptor.buckets.to_vec());
    }
    let duration = Histogram::with_opts(opts).unwrap_or_else(|_| {
        Histogram::with_opts(HistogramOpts::new("detached_seconds", "Not exported."))
            .expect("valid constant name and default buckets")
    });
    Handles {
        calls: [counter(), counter(), counter(), counter()],
        duration,
        in_flight: descriptor
            .in_flight
            .then(|| IntGauge::new("detached", "Not exported.").expect("valid constant name")),
    }
}
