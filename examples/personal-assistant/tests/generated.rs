//! The checked-in dashboard, function rules, objective rules and their promtool tests are
//! exactly what the metric catalog generates (through `instrument_metric::export`): run
//! `personal-assistant catalog dashboard|rules|objectives|objective-tests` to refresh them after
//! changing a metric.

use std::path::Path;

/// Registers every family the service exports, once per test binary, so that the catalog the
/// generators read lists them all.
fn declared() {
    static DECLARED: std::sync::Once = std::sync::Once::new();
    DECLARED.call_once(|| {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime
            .block_on(personal_assistant::declare_metrics())
            .expect("the service's metrics register");
        // The service's tasks stay on the runtime, which lives for the test binary.
        std::mem::forget(runtime);
    });
}

fn checked_in(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_dashboard_is_generated_from_the_catalog() {
    declared();
    let expected = personal_assistant::dashboard::dashboard();
    assert_eq!(
        checked_in("deploy/grafana/personal-assistant.json"),
        expected,
        "deploy/grafana/personal-assistant.json is stale: run `cargo run -p personal-assistant -- catalog dashboard > examples/personal-assistant/deploy/grafana/personal-assistant.json`"
    );
}

#[test]
fn the_function_rules_are_generated_from_the_catalog() {
    declared();
    let expected = personal_assistant::dashboard::function_rules();
    assert_eq!(
        checked_in("deploy/rules/generated-functions.yml"),
        expected,
        "deploy/rules/generated-functions.yml is stale: run `cargo run -p personal-assistant -- catalog rules > examples/personal-assistant/deploy/rules/generated-functions.yml`"
    );
}

#[test]
fn the_objective_rules_are_generated_from_the_catalog() {
    declared();
    assert_eq!(
        checked_in("deploy/rules/objectives.yml"),
        personal_assistant::dashboard::objective_rules(),
        "deploy/rules/objectives.yml is stale: run `cargo run -p personal-assistant -- catalog objectives > examples/personal-assistant/deploy/rules/objectives.yml`"
    );
    assert_eq!(
        checked_in("deploy/rules/tests/objectives_test.yml"),
        personal_assistant::dashboard::objective_rule_tests(),
        "deploy/rules/tests/objectives_test.yml is stale: run `cargo run -p personal-assistant -- catalog objective-tests > examples/personal-assistant/deploy/rules/tests/objectives_test.yml`"
    );
}

#[test]
fn the_objectives_are_the_api_its_sms_route_and_sms_delivery() {
    declared();
    let names: Vec<String> = instrument_metric::catalog()
        .objectives
        .into_iter()
        .map(|objective| objective.name)
        .collect();
    assert_eq!(names, ["api", "api_sms", "sms_delivery"]);
}

#[test]
fn the_dashboard_covers_every_category_and_metric() {
    declared();
    let dashboard: serde_json::Value =
        serde_json::from_str(&personal_assistant::dashboard::dashboard()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for category in [
        "HTTP",
        "API",
        "SMS",
        "OAuth",
        "Database",
        "Users and sessions",
        "Background tasks",
        "Runtime",
        "System",
        "Objective api",
        "Objective api_sms: POST /api/v1/sms",
        "Objective sms_delivery",
    ] {
        assert!(rows.contains(&category), "no {category} row in {rows:?}");
    }
    let queries: String = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n");
    for family in instrument_metric::catalog().families {
        assert!(
            queries.contains(family.name),
            "no panel queries {}",
            family.name
        );
    }
}

/// The example's catalog (every family with its kind and labels, every instrumented function
/// with its families), one line each, as `tests/catalog.txt` holds it.
fn catalog_snapshot() -> String {
    let catalog = instrument_metric::catalog();
    let mut lines = Vec::new();
    for family in &catalog.families {
        lines.push(format!(
            "family {} {:?} [{}]",
            family.name,
            family.kind,
            family.labels.join(", ")
        ));
    }
    for function in &catalog.functions {
        lines.push(format!(
            "function {} in {}: {} {}{}",
            function.function,
            function.module,
            function.counter,
            function.histogram,
            function
                .in_flight
                .map(|gauge| format!(" {gauge}"))
                .unwrap_or_default()
        ));
    }
    lines.sort();
    lines.join("\n") + "\n"
}

/// Fails on any change of a family's name, kind or labels, or of a function's series, that
/// was not made on purpose: dashboards, alerts and recorded history depend on them. To make
/// one on purpose, run `UPDATE_CATALOG=1 cargo test -p personal-assistant --test generated`
/// and commit `tests/catalog.txt` with it.
#[test]
fn the_catalog_is_the_checked_in_one() {
    declared();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalog.txt");
    let current = catalog_snapshot();
    if std::env::var_os("UPDATE_CATALOG").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let checked_in = checked_in("tests/catalog.txt");
    let removed: Vec<&str> = checked_in
        .lines()
        .filter(|line| !current.lines().any(|now| now == *line))
        .collect();
    let added: Vec<&str> = current
        .lines()
        .filter(|line| !checked_in.lines().any(|then| then == *line))
        .collect();
    assert!(
        removed.is_empty() && added.is_empty(),
        "the catalog changed:\n  removed: {removed:#?}\n  added: {added:#?}\nif on purpose, run `UPDATE_CATALOG=1 cargo test -p personal-assistant --test generated` and commit tests/catalog.txt"
    );
}
