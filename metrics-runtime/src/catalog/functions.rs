//! The families an instrumented function records into, planned from its descriptor alone: the
//! four family specs (counter, histogram, in-flight gauge, errors by kind), the help texts of
//! families that functions share, and each function's `function` label. The registry decides
//! which of them it accepts (`registry/build.rs`).

use std::collections::HashMap;

use crate::catalog::function_name;
use crate::catalog::{FamilySpec, Origin};
use crate::instrument::CallSite;
use crate::model::{
    Families, FunctionDescriptor, FunctionName, Location, SHARED_COUNTER, SHARED_COUNTER_HELP,
    SHARED_ERRORS, SHARED_ERRORS_HELP, SHARED_HISTOGRAM, SHARED_HISTOGRAM_HELP, SHARED_IN_FLIGHT,
    SHARED_IN_FLIGHT_HELP, Shape,
};

/// The help texts of the families that functions share through `name = "..."` and describe
/// differently: the one given with `help = "..."` where exactly one is (doc comments say what
/// each function does, not what the family holds), the made-up one
/// ([`shared_help`](crate::model::shared_help)) where none is. Two different given helps stay
/// a conflict. Built once, with the global registry.
pub(crate) fn shared_helps(
    sites: &[&'static CallSite],
) -> HashMap<&'static str, [&'static str; 4]> {
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

/// Decides the `function` label of every site: the normal form of its path, or its whole
/// path where two functions of one family and module would share the normal form.
pub(crate) fn name_functions(sites: &[&'static CallSite]) {
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

pub(crate) fn counter_name(descriptor: &FunctionDescriptor) -> &'static str {
    match descriptor.families {
        Families::Shared => SHARED_COUNTER,
        Families::Own { counter, .. } => counter,
    }
}

pub(crate) fn location(descriptor: &FunctionDescriptor) -> Location {
    Location {
        file: descriptor.file,
        line: descriptor.line,
        column: descriptor.column,
    }
}

/// The four family specs of a function: counter, histogram, in-flight gauge, errors by kind.
pub(crate) fn function_specs(site: &'static CallSite) -> [FamilySpec; 4] {
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

/// `function`, `module` and the static labels of a function.
pub(crate) fn static_labels(site: &'static CallSite) -> Vec<(&'static str, &'static str)> {
    let descriptor = &site.descriptor;
    let mut labels = vec![
        ("function", site.function.get().map_or("", |name| name)),
        ("module", descriptor.module),
    ];
    labels.extend_from_slice(descriptor.labels);
    labels
}
