//! An objective without a `name` takes its function's name when the function records into the
//! shared families; a function's name may be non-ASCII, which an objective's name may not be
//! (it becomes a label value in rules and text in alerts). Such an objective is reported by
//! `check` and left out of the catalog, and the function's other objective is kept.

use metrics_runtime::instrument_metric;

#[instrument_metric(objective(success = 99.0))]
fn envoyé() {}

#[instrument_metric(objective(success = 99.0))]
fn sent() {}

#[test]
fn a_default_objective_name_that_is_not_a_stem_is_reported_and_left_out() {
    envoyé();
    sent();
    let conflicts = metrics_runtime::check().unwrap_err();
    let text = conflicts.to_string();
    assert!(
        text.contains("the objective name \"envoyé\" is not written like a family stem"),
        "{text}"
    );
    assert!(text.contains("give it a `name`"), "{text}");
    let names: Vec<String> = metrics_runtime::catalog()
        .objectives
        .into_iter()
        .map(|objective| objective.name)
        .collect();
    assert_eq!(names, ["sent"]);
}
