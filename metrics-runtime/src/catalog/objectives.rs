//! The objectives instrumented functions declare, planned from their descriptors: one per
//! name, with the selector of the series it covers and the PromQL text of its labels, and the
//! conflicts among the functions that declare it.

use std::collections::BTreeMap;

use crate::catalog::functions::{counter_name, function_specs, location};
use crate::catalog::{Conflict, DeclaredObjective};
use crate::instrument::CallSite;
use crate::model::{Families, Objective};

/// How an objective selects the values of one label of its series.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LabelMatch {
    /// This value.
    Equal(String),
    /// Any value but this one.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    NotEqual(String),
    /// One of these values (a regular expression of them, each escaped).
    OneOf(Vec<String>),
}

impl LabelMatch {
    /// Whether `value` is selected.
    #[cfg_attr(not(feature = "export"), allow(dead_code))]
    pub(crate) fn selects(&self, value: &str) -> bool {
        match self {
            LabelMatch::Equal(wanted) => value == wanted,
            LabelMatch::NotEqual(unwanted) => value != unwanted,
            LabelMatch::OneOf(values) => values.iter().any(|wanted| wanted == value),
        }
    }
}

impl DeclaredObjective {
    /// Whether the objective covers the series with `labels` of its families (a label
    /// missing is empty, as in PromQL).
    #[cfg_attr(not(feature = "export"), allow(dead_code))]
    pub(crate) fn covers(&self, labels: &[(&str, String)]) -> bool {
        self.matchers.iter().all(|(label, matcher)| {
            let value = labels
                .iter()
                .find(|(name, _)| name == label)
                .map_or("", |(_, value)| value.as_str());
            matcher.selects(value)
        })
    }
}

/// `matchers` as PromQL label matchers, comma-separated: `endpoint="/sms",method=~"PUT|PATCH"`.
pub(crate) fn selector_text(matchers: &[(&'static str, LabelMatch)]) -> String {
    use crate::exposition::text::{promql_string, regex_escape};
    let texts: Vec<String> = matchers
        .iter()
        .map(|(label, matcher)| match matcher {
            LabelMatch::Equal(value) => format!("{label}={}", promql_string(value)),
            LabelMatch::NotEqual(value) => format!("{label}!={}", promql_string(value)),
            LabelMatch::OneOf(values) => {
                let escaped: Vec<String> = values.iter().map(|value| regex_escape(value)).collect();
                format!("{label}=~{}", promql_string(&escaped.join("|")))
            }
        })
        .collect();
    texts.join(",")
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
/// that share a name without covering their whole family, are reported (in the order found,
/// for the registry to record); the first is kept.
pub(crate) fn function_objectives(
    sites: &[&'static CallSite],
) -> (Vec<DeclaredObjective>, Vec<Conflict>) {
    let mut conflicts = Vec::new();
    let mut by_name: BTreeMap<String, Vec<(&'static CallSite, Objective)>> = BTreeMap::new();
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
                    conflicts.push(Conflict {
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
            conflicts.push(Conflict {
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
                conflicts.push(Conflict {
                    family: counter.to_owned(),
                    problem: format!(
                        "declared with the objective `{name}` in two modules without covering its whole family: an objective covers its whole family, or functions of one module; name them apart"
                    ),
                    locations: vec![location(&first.descriptor), location(&site.descriptor)],
                });
            }
            kept = same;
        }
        let matchers = if kept.len() == family_size {
            Vec::new()
        } else {
            let functions = kept.iter().map(|site| site.function().to_owned()).collect();
            let module = LabelMatch::Equal(first.descriptor.module.to_owned());
            vec![
                ("function", LabelMatch::OneOf(functions)),
                ("module", module),
            ]
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
            selector: selector_text(&matchers),
            matchers,
            example: vec![
                ("function", first.function().to_owned()),
                ("module", first.descriptor.module.to_owned()),
            ],
            scope: String::new(),
            location: location(&first.descriptor),
        });
    }
    (objectives, conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_written_as_promql_and_select_as_prometheus_would() {
        let matchers = vec![
            ("endpoint", LabelMatch::Equal("/q/\"{id}\"\\".to_owned())),
            (
                "method",
                LabelMatch::OneOf(vec!["PUT".to_owned(), "a.b|c".to_owned()]),
            ),
            ("status", LabelMatch::NotEqual("499".to_owned())),
        ];
        assert_eq!(
            selector_text(&matchers),
            r#"endpoint="/q/\"{id}\"\\",method=~"PUT|a\\.b\\|c",status!="499""#
        );
        assert_eq!(selector_text(&[]), "");
        let select = |endpoint: &str, method: &str, status: Option<&str>| {
            let mut labels = vec![
                ("endpoint", endpoint.to_owned()),
                ("method", method.to_owned()),
            ];
            labels.extend(status.map(|status| ("status", status.to_owned())));
            matchers.iter().all(|(label, matcher)| {
                let value = labels
                    .iter()
                    .find(|(name, _)| name == label)
                    .map_or("", |(_, value)| value.as_str());
                matcher.selects(value)
            })
        };
        assert!(select("/q/\"{id}\"\\", "PUT", None));
        assert!(select("/q/\"{id}\"\\", "a.b|c", Some("200")));
        // An escaped `.` and `|` match themselves only.
        assert!(!select("/q/\"{id}\"\\", "axb", Some("200")));
        assert!(!select("/q/\"{id}\"\\", "a.b", Some("200")));
        assert!(!select("/q/\"{id}\"\\", "PUT", Some("499")));
        assert!(!select("/q/{id}", "PUT", None));
    }
}
