//! The checked-in dashboard and function rules are exactly what the metric catalog generates:
//! run `personal-assistant catalog dashboard|rules` to refresh them after changing a metric.

use std::path::Path;

fn checked_in(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_dashboard_is_generated_from_the_catalog() {
    let expected = personal_assistant::dashboard::dashboard();
    assert_eq!(
        checked_in("deploy/grafana/personal-assistant.json"),
        expected,
        "deploy/grafana/personal-assistant.json is stale: run `cargo run -p personal-assistant -- catalog dashboard > examples/personal-assistant/deploy/grafana/personal-assistant.json`"
    );
}

#[test]
fn the_function_rules_are_generated_from_the_catalog() {
    let expected = personal_assistant::dashboard::function_rules();
    assert_eq!(
        checked_in("deploy/rules/generated-functions.yml"),
        expected,
        "deploy/rules/generated-functions.yml is stale: run `cargo run -p personal-assistant -- catalog rules > examples/personal-assistant/deploy/rules/generated-functions.yml`"
    );
}

#[test]
fn the_dashboard_covers_every_category_and_metric() {
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
        "System",
    ] {
        assert!(rows.contains(&category), "no {category} row in {rows:?}");
    }
    let queries: String = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n");
    for family in metrics_runtime::catalog().families {
        assert!(
            queries.contains(family.name),
            "no panel queries {}",
            family.name
        );
    }
}
