//! What `instrument_metric::export` generates for the HTTP layer's route objectives: rules that
//! select the route's series by the `endpoint` and `method` labels the layer writes (with its
//! prefix and status classes), which pass `promtool check rules`; unit tests of their alerts
//! that pass `promtool test rules` (a route with `"`, `\`, `{{ }}` and non-ASCII text is quoted
//! in PromQL and printed as it is in the alerts' texts); and a dashboard row per route
//! objective.

use std::path::Path;
use std::process::Command;

use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::export::Export;
use instrument_metric::{Catalog, Objective};

/// A route axum accepts (`{{` is a literal brace) with text that means something to YAML,
/// PromQL and alert templates.
const HOSTILE: &str = "/q/{{ .Labels.job }}/\"a\"\\b/é #1: x";

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        HttpMetricsLayer::builder()
            .prefix("shop")
            .buckets(&[0.1, 0.25, 1.0, 2.5])
            .objective(Objective::new("shop_api").success(99.9).latency(0.25, 99.0))
            .route_objective(
                &["POST"],
                "/api/v1/orders",
                Objective::new("shop_orders")
                    .success(99.5)
                    .latency(1.0, 95.0),
            )
            .route_objective(&[], HOSTILE, Objective::new("shop_hostile").success(99.0))
            .build()
            .unwrap();
        HttpMetricsLayer::builder()
            .prefix("admin")
            .status_classes()
            .route_objective(
                &["PUT", "PATCH"],
                "/users/{id}",
                Objective::new("admin_users")
                    .success(99.0)
                    .latency(2.5, 90.0),
            )
            .build()
            .unwrap();
        instrument_metric::check().unwrap();
        instrument_metric::catalog()
    })
}

fn promtool(arguments: &[&str], dir: &Path) -> String {
    let output = Command::new(integration_tests::promtool())
        .args(arguments)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {arguments:?}:\n{text}");
    text
}

#[test]
fn route_objective_rules_and_their_tests_pass_promtool() {
    let export = Export::new(catalog(), "integration-tests route objectives");
    let dir = std::env::temp_dir().join(format!("route-objectives-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("objectives.yml"), export.objective_rules()).unwrap();
    let tests = export.objective_rule_tests("../objectives.yml");
    std::fs::write(dir.join("tests/objectives_test.yml"), &tests).unwrap();

    let checked = promtool(&["check", "rules", "objectives.yml"], &dir);
    // 4 objectives, 7 indicators: 6 ratios, a budget and 3 alerts each.
    assert!(checked.contains("SUCCESS: 70 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/objectives_test.yml"], &dir);
    assert!(tested.contains("SUCCESS"), "{tested}");
    // 7 indicators, 3 burns each: every one a test case of its own.
    assert_eq!(tests.matches("\n  - name: ").count(), 21);
    // A route's failures are the layer-wide objective's too: where the route's success
    // indicator burns at 20 times its budget (20%), the layer's (a budget of 0.1%) pages too.
    let orders = tests
        .split("\n  - name: ")
        .find(|case| case.starts_with("\"shop_orders success: errors at 20 times"))
        .unwrap();
    assert_eq!(
        orders.matches("objective: \"shop_orders\"").count(),
        3,
        "{orders}"
    );
    assert_eq!(
        orders.matches("objective: \"shop_api\"").count(),
        3,
        "{orders}"
    );
    // Its latency threshold (1 s) is not the layer's (0.25 s): the layer's reads no series.
    let orders = tests
        .split("\n  - name: ")
        .find(|case| case.starts_with("\"shop_orders latency: errors at 20 times"))
        .unwrap();
    assert_eq!(
        orders.matches("objective: \"shop_api\"").count(),
        0,
        "{orders}"
    );
    // The hostile route's alerts fire in the tests with the route printed as it is.
    let escaped_route = serde_json::to_string(HOSTILE).unwrap();
    let escaped_route = escaped_route.trim_matches('"');
    assert!(
        tests.contains(&format!(
            "description: \"The share of requests to {} counted in shop_http_requests_total that failed has been more than 14.4 times"
            , escaped_route.replace('é', "\\u00E9")
        )),
        "{tests}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn route_objectives_select_their_route() {
    let rules = Export::new(catalog(), "integration-tests route objectives").objective_rules();
    // The layer-wide objective: every route but `unmatched`; the client that went away ignored.
    assert!(rules.contains(
        r#"expr: "sum by (job) (rate(shop_http_requests_total{endpoint!=\"unmatched\",status=~\"5..\"}[5m])) / sum by (job) (rate(shop_http_requests_total{endpoint!=\"unmatched\",status!~\"499\"}[5m]))""#
    ));
    // A route and a method, in both indicators.
    assert!(rules.contains(
        r#"expr: "sum by (job) (rate(shop_http_requests_total{endpoint=\"/api/v1/orders\",method=\"POST\",status=~\"5..\"}[30m])) / sum by (job) (rate(shop_http_requests_total{endpoint=\"/api/v1/orders\",method=\"POST\",status!~\"499\"}[30m]))""#
    ));
    assert!(rules.contains(
        r#"expr: "(1 - histogram_fraction(-Inf, 1, sum by (job) (rate(shop_http_request_duration_seconds{endpoint=\"/api/v1/orders\",method=\"POST\"}[1h])))) or (1 - sum by (job) (rate(shop_http_request_duration_seconds_bucket{endpoint=\"/api/v1/orders\",method=\"POST\",le=~\"1|1\\\\.0\"}[1h])) / sum by (job) (rate(shop_http_request_duration_seconds_bucket{endpoint=\"/api/v1/orders\",method=\"POST\",le=\"+Inf\"}[1h])))""#
    ));
    // Every method of a route; the route quoted as a PromQL string inside a YAML one.
    assert!(rules.contains(
        r#"rate(shop_http_requests_total{endpoint=\"/q/{{ .Labels.job }}/\\\"a\\\"\\\\b/\u00E9 #1: x\",status=~\"5..\"}[5m])"#
    ));
    // Several methods, with status classes.
    assert!(rules.contains(
        r#"rate(admin_http_requests_total{endpoint=\"/users/{id}\",method=~\"PUT|PATCH\",status=~\"5xx\"}[6h])) / sum by (job) (rate(admin_http_requests_total{endpoint=\"/users/{id}\",method=~\"PUT|PATCH\"}[6h]))"#
    ));
    // The alert's description names the route, printed as a template's string constant (a
    // route may hold `{{`, which would run as a template action).
    assert!(rules.contains(
        r#"description: "The share of requests to {{ \"PUT|PATCH /users/{id}\" }} timed in admin_http_request_duration_seconds that took longer than 2.5 s has been"#
    ));
    assert!(rules.contains(
        r#"description: "The share of requests to {{ \"/q/{{ .Labels.job }}/\\\"a\\\"\\\\b/\u00E9 #1: x\" }} counted in shop_http_requests_total that failed has been"#
    ));
}

#[test]
fn the_dashboard_has_a_row_per_route_objective() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &Export::new(catalog(), "integration-tests route objectives").dashboard(),
    )
    .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels
        .iter()
        .filter(|panel| panel["type"] == "row")
        .map(|panel| panel["title"].as_str().unwrap())
        .filter(|title| title.starts_with("Objective "))
        .collect();
    let hostile = format!("Objective shop_hostile: {HOSTILE}");
    assert_eq!(
        rows,
        [
            "Objective admin_users: PUT|PATCH /users/{id}",
            "Objective shop_api",
            hostile.as_str(),
            "Objective shop_orders: POST /api/v1/orders",
        ]
    );
    let budget = panels
        .iter()
        .find(|panel| panel["title"] == "shop_orders latency: error budget left (30 days)")
        .unwrap();
    assert_eq!(
        budget["targets"][0]["expr"],
        "objective:error_budget_remaining:ratio30d{objective=\"shop_orders\",sli=\"latency\",job=~\"$job\"}"
    );
    let ratio = panels
        .iter()
        .find(|panel| panel["title"] == "shop_orders latency: error ratio and target")
        .unwrap();
    assert_eq!(
        ratio["description"],
        "The share of requests to POST /api/v1/orders timed in shop_http_request_duration_seconds that took longer than 1 s."
    );
}
