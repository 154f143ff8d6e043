//! The global registry's build: every declaration (instrumented functions, `Metrics` structs)
//! checked against the crate's own families and against each other, in (file, line, column)
//! order, into the families a scrape writes and the conflicts [`Registry::check`] reports.
//! [`build`] takes the declarations and constant labels as arguments, so the unit tests below
//! build registries from declarations made by hand.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError};

use crate::catalog::functions::{
    function_specs, location, name_functions, shared_helps, static_labels,
};
use crate::catalog::objectives::function_objectives;
use crate::catalog::{Conflict, Declaration, FamilySpec, InstrumentedFunction, Origin};
use crate::instrument::CallSite;
use crate::metrics::{Histogram, IntGauge, Storage};
use crate::model::labels::{Labels, combinations};
use crate::model::{FieldDescriptor, Location, Outcome, Shape};
use crate::registry::fields::MetricField;
use crate::registry::register::crate_location;
use crate::registry::{Global, Registry, State};
use crate::settings::ConstantLabels;
use crate::storage::cells::CallCells;

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
    /// Its labels, constant labels included: one set shared by the series of a label
    /// combination in each of its function's families.
    pub(crate) labels: Arc<Labels>,
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

/// Builds a registry from `declarations` (the global registry: every declaration in the
/// program, through `inventory`) whose series carry the `constant` labels. Pure but for the
/// declarations' own `OnceLock`s (each function's label and cells), which it fills.
pub(crate) fn build<'a>(
    declarations: impl IntoIterator<Item = &'a Declaration>,
    constant: ConstantLabels,
) -> Registry {
    let mut sites = Vec::new();
    let mut groups = Vec::new();
    for declaration in declarations {
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
    let (objectives, conflicts) = function_objectives(&sites);
    for conflict in conflicts {
        registry.inner.state_mut().report(conflict);
    }
    let global = Global {
        functions,
        cells,
        instrumented,
        objectives,
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
    let mut families: BTreeMap<&'static str, FunctionFamily> = BTreeMap::new();
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
            let labels = Arc::new(registry.series_labels(&pairs));
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
                    labels: Arc::clone(&labels),
                    cells: first + combination,
                    outcomes: site.descriptor.outcomes(),
                    kinds: site.descriptor.error_kinds,
                });
            }
        }
    }
    (families.into_values().collect(), cells_list, instrumented)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Families, FunctionDescriptor, FunctionName, GroupDescriptor, Objective};
    use crate::model::{SHARED_COUNTER, SHARED_HISTOGRAM};

    fn at(file: &'static str, line: u32) -> Location {
        Location {
            file,
            line,
            column: 5,
        }
    }

    /// A `Metrics` struct of one field, declared at `location`.
    fn field(
        name: &'static str,
        help: &'static str,
        shape: Shape,
        labels: &'static [&'static str],
        location: Location,
    ) -> Declaration {
        let values: Vec<&'static [&'static str]> = labels.iter().map(|_| &["a", "b"][..]).collect();
        let fields = vec![FieldDescriptor {
            name,
            help,
            shape,
            label_names: labels,
            label_values: Vec::leak(values),
            buckets: &[],
            native_histogram: false,
            file: location.file,
            line: location.line,
            column: location.column,
        }];
        Declaration::Group(Box::leak(Box::new(GroupDescriptor {
            type_name: "Hand",
            module: "app",
            fields: Vec::leak(fields),
        })))
    }

    /// An instrumented function named `function` in `module`, recording into `families`.
    fn function(
        function: &'static str,
        module: &'static str,
        families: Families,
        objective: Option<Objective>,
        location: Location,
    ) -> Declaration {
        Declaration::Function(Box::leak(Box::new(CallSite::new(FunctionDescriptor {
            function: FunctionName::Given(function),
            module,
            families,
            in_flight: false,
            labels: &[],
            dynamic_labels: &[],
            buckets: &[],
            error_kinds: &[],
            objective,
            native_histogram: false,
            asynchronous: false,
            file: location.file,
            line: location.line,
            column: location.column,
        }))))
    }

    /// The own families of a function whose counter is `stem_total`.
    fn own(stem: &'static str) -> Families {
        let leak = |suffix: &str| &*format!("{stem}{suffix}").leak();
        Families::Own {
            errors: leak("_errors_total"),
            errors_help: "Errors.",
            counter: leak("_total"),
            counter_help: "Calls.",
            histogram: leak("_duration_seconds"),
            histogram_help: "Calls (duration in seconds).",
            in_flight: leak("_in_flight"),
            in_flight_help: "Calls (calls in flight).",
            help_given: false,
        }
    }

    fn build_all(declarations: Vec<Declaration>, constant: &[(&str, &str)]) -> Registry {
        let constant = ConstantLabels::new(
            constant
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        );
        build(Vec::leak(declarations).iter(), constant)
    }

    fn conflicts(registry: &Registry) -> Vec<Conflict> {
        registry
            .check()
            .err()
            .map(|error| error.conflicts)
            .unwrap_or_default()
    }

    #[test]
    fn the_first_declaration_in_source_order_wins_and_both_locations_are_reported() {
        // Listed last, declared first: `inventory`'s link order must not decide.
        let registry = build_all(
            vec![
                field(
                    "jobs_total",
                    "Jobs, later.",
                    Shape::IntCounter,
                    &[],
                    at("src/b.rs", 1),
                ),
                field(
                    "jobs_total",
                    "Jobs, first.",
                    Shape::IntCounter,
                    &[],
                    at("src/a.rs", 9),
                ),
            ],
            &[],
        );
        let found = conflicts(&registry);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].family, "jobs_total");
        assert_eq!(found[0].locations, [at("src/a.rs", 9), at("src/b.rs", 1)]);
        let catalog = registry.catalog();
        let jobs = catalog
            .families
            .iter()
            .find(|f| f.name == "jobs_total")
            .unwrap();
        assert_eq!(
            (jobs.help, jobs.location),
            ("Jobs, first.", at("src/a.rs", 9))
        );
    }

    #[test]
    fn two_functions_that_would_write_one_series_conflict() {
        let shared = || Families::Shared;
        let registry = build_all(
            vec![
                function("send", "app", shared(), None, at("src/b.rs", 3)),
                function("send", "app", shared(), None, at("src/a.rs", 7)),
            ],
            &[],
        );
        let found = conflicts(&registry);
        let families: Vec<&str> = found.iter().map(|c| c.family.as_str()).collect();
        assert_eq!(families, [SHARED_COUNTER, SHARED_HISTOGRAM]);
        for conflict in &found {
            assert!(
                conflict
                    .problem
                    .starts_with("declared twice for the same labels"),
                "{conflict}"
            );
            assert_eq!(conflict.locations, [at("src/a.rs", 7), at("src/b.rs", 3)]);
        }
        // The first one's series is written, once.
        let global = registry.global().unwrap();
        let counter = global
            .functions
            .iter()
            .find(|f| f.name == SHARED_COUNTER)
            .unwrap();
        assert_eq!(counter.series.len(), 1);
        // Another module tells them apart.
        let registry = build_all(
            vec![
                function("send", "app", shared(), None, at("src/a.rs", 7)),
                function("send", "app::other", shared(), None, at("src/b.rs", 3)),
            ],
            &[],
        );
        assert_eq!(conflicts(&registry), []);
    }

    #[test]
    fn a_declaration_taking_a_name_the_crate_writes_is_refused() {
        let series = at("src/a.rs", 1);
        let errors = at("src/a.rs", 2);
        let registry = build_all(
            vec![
                field(SERIES_FAMILY, "Mine.", Shape::IntGauge, &["family"], series),
                // `metrics_collector_errors_total`'s family is `metrics_collector_errors`.
                field(
                    "metrics_collector_errors",
                    "Mine.",
                    Shape::IntGauge,
                    &[],
                    errors,
                ),
            ],
            &[],
        );
        let found = conflicts(&registry);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].family, SERIES_FAMILY);
        assert_eq!(found[0].locations[1], series);
        assert_eq!(found[1].family, "metrics_collector_errors");
        assert!(
            found[1]
                .problem
                .contains("`metrics_collector_errors_total`"),
            "{}",
            found[1]
        );
        assert_eq!(found[1].locations[1], errors);
        let catalog = registry.catalog();
        let kept = catalog
            .families
            .iter()
            .find(|f| f.name == SERIES_FAMILY)
            .unwrap();
        assert_eq!(kept.origin, Origin::Crate);
        assert!(
            !catalog
                .families
                .iter()
                .any(|f| f.name == "metrics_collector_errors")
        );
    }

    #[test]
    fn a_declaration_taking_a_constant_labels_name_is_refused() {
        let location = at("src/a.rs", 4);
        let declarations = || {
            vec![field(
                "queue_depth",
                "Depth.",
                Shape::IntGauge,
                &["env"],
                location,
            )]
        };
        let registry = build_all(declarations(), &[("env", "prod")]);
        let found = conflicts(&registry);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].family, "queue_depth");
        assert!(
            found[0].problem.contains("also a constant label"),
            "{}",
            found[0]
        );
        assert_eq!(found[0].locations, [location]);
        // Without the constant label, the same declaration is fine.
        assert_eq!(conflicts(&build_all(declarations(), &[])), []);
    }

    #[test]
    fn functions_share_the_families_they_agree_on_and_keep_their_own() {
        let registry = build_all(
            vec![
                function("send", "app", Families::Shared, None, at("src/a.rs", 1)),
                function("fetch", "app", Families::Shared, None, at("src/a.rs", 2)),
                function("charge", "shop", own("payments"), None, at("src/b.rs", 1)),
                function("refund", "shop", own("payments"), None, at("src/b.rs", 2)),
            ],
            &[("env", "prod")],
        );
        assert_eq!(conflicts(&registry), []);
        let global = registry.global().unwrap();
        let planned: Vec<(&str, usize)> = global
            .functions
            .iter()
            .map(|family| (family.name, family.series.len()))
            .collect();
        assert_eq!(
            planned,
            [
                (SHARED_HISTOGRAM, 2),
                (SHARED_COUNTER, 2),
                ("payments_duration_seconds", 2),
                ("payments_total", 2),
            ]
        );
        let counter = global
            .functions
            .iter()
            .find(|f| f.name == SHARED_COUNTER)
            .unwrap();
        let labels: Vec<&str> = counter.series.iter().map(|s| s.labels.text()).collect();
        assert_eq!(
            labels,
            [
                r#"function="send",module="app",env="prod""#,
                r#"function="fetch",module="app",env="prod""#,
            ]
        );
        // Four functions, four cells: each series reads its own.
        assert_eq!(global.cells.len(), 4);
        let catalog = registry.catalog();
        let charge = catalog
            .functions
            .iter()
            .find(|f| f.function == "charge")
            .unwrap();
        assert_eq!(
            (charge.counter, charge.histogram),
            ("payments_total", "payments_duration_seconds")
        );
    }

    #[test]
    fn an_objective_selects_its_functions_in_promql() {
        let checkout = Objective::new("").success(99.9);
        let fast = Objective::new("fast").latency(0.25, 99.0);
        let registry = build_all(
            vec![
                function(
                    "pay",
                    "shop",
                    own("checkout"),
                    Some(checkout),
                    at("src/a.rs", 1),
                ),
                function(
                    "charge",
                    "shop",
                    own("payments"),
                    Some(fast),
                    at("src/b.rs", 1),
                ),
                function(
                    "refund",
                    "shop",
                    own("payments"),
                    Some(fast),
                    at("src/b.rs", 2),
                ),
                function("audit", "shop", own("payments"), None, at("src/b.rs", 3)),
            ],
            &[],
        );
        assert_eq!(conflicts(&registry), []);
        let objectives = registry.catalog().objectives;
        let names: Vec<&str> = objectives.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["checkout", "fast"]);
        // The only function of its family: the objective covers every series.
        let checkout = &objectives[0];
        assert_eq!(checkout.success, Some(99.9));
        assert_eq!(
            (checkout.requests, checkout.histogram),
            ("checkout_total", "checkout_duration_seconds")
        );
        assert_eq!(checkout.selector, "");
        // Two of three functions: selected by name, within their module.
        let fast = &objectives[1];
        assert_eq!(fast.latency, Some((0.25, 99.0)));
        assert_eq!(fast.selector, r#"function=~"charge|refund",module="shop""#);
        assert_eq!(fast.location, at("src/b.rs", 1));
    }
}
