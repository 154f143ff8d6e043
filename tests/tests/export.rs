//! What `instrument_metric::export` generates from a catalog passes promtool: the function rules
//! and the objectives' rules pass `promtool check rules`, the generated unit tests pass
//! `promtool test rules` (so each burn-rate alert fires exactly when its burn rate is reached),
//! and the dashboard has a panel per family, the fleet's variables and a row per objective.

use std::collections::BTreeMap;
use std::process::Command;

use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::export::Export;
use instrument_metric::{ErrorKinds, LabelValue, Objective, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(Debug, ErrorKinds)]
enum SendError {
    Failed,
    RateLimited,
}

/// Sends a text.
#[instrument_metric(
    name = "texts_send",
    labels(provider = provider),
    error_kinds = SendError,
    objective(success = 99.9, latency = (0.25, 99.0))
)]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn send(provider: Provider) -> Result<(), SendError> {
    let _ = provider;
    Err(SendError::RateLimited)
}

/// Resizes an image: an integer threshold (`1` or `1.0`, as the format writes it).
#[instrument_metric(
    name = "images_resize",
    buckets = [0.5, 1.0, 2.0],
    objective(name = "images", success = 95.0, latency = (1.0, 90.0))
)]
fn resize() {}

/// A generous objective: a fast burn cannot reach 14.4 times a budget of 10%.
#[instrument_metric(name = "reports_build", objective(success = 90.0))]
fn build_report() {}

fn catalog() -> instrument_metric::Catalog {
    let _ = (
        send(Provider::Twilio),
        send(Provider::Vonage),
        resize,
        build_report,
        SendError::Failed,
    );
    HttpMetricsLayer::builder()
        .prefix("public")
        .status_classes()
        .objective(
            Objective::new("public_http")
                .success(99.5)
                .latency(0.5, 99.0),
        )
        .build()
        .unwrap();
    HttpMetricsLayer::builder()
        .prefix("admin")
        .objective(Objective::new("admin_http").success(99.0))
        .build()
        .unwrap();
    instrument_metric::check().unwrap();
    instrument_metric::catalog()
}

fn promtool(arguments: &[&str], dir: &std::path::Path) -> String {
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
fn generated_rules_and_their_tests_pass_promtool() {
    let catalog = catalog();
    assert_eq!(catalog.objectives.len(), 5);
    let export = Export::new(&catalog, "integration-tests export");
    let dir = std::env::temp_dir().join(format!("export-rules-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(dir.join("functions.yml"), export.function_rules()).unwrap();
    std::fs::write(dir.join("objectives.yml"), export.objective_rules()).unwrap();
    let tests = export.objective_rule_tests("../objectives.yml");
    std::fs::write(dir.join("tests/objectives_test.yml"), &tests).unwrap();

    let checked = promtool(&["check", "rules", "functions.yml", "objectives.yml"], &dir);
    // 5 objectives, 8 indicators: 6 ratios, a budget and 3 alerts each; 4 function families.
    assert!(checked.contains("SUCCESS: 80 rules found"), "{checked}");
    assert!(checked.contains("SUCCESS: 12 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/objectives_test.yml"], &dir);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Every alert fires in some case, and each case expects some alert to be absent or firing.
    for alert in [
        "ObjectiveFastBurn",
        "ObjectiveSlowBurn",
        "ObjectiveBudgetBurn",
    ] {
        assert!(
            tests.contains(&format!("alertname: {alert}\n        exp_alerts:\n")),
            "{alert} never expected to fire"
        );
    }
    // reports_build's budget of 10% cannot burn 14.4 times: no case expects its fast page.
    let reports = tests
        .split("  - name: ")
        .filter(|case| case.starts_with("\"reports_build"))
        .collect::<Vec<_>>();
    assert_eq!(reports.len(), 3);
    assert!(
        reports
            .iter()
            .all(|case| case.contains("alertname: ObjectiveFastBurn\n        exp_alerts: []")),
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn objectives_select_their_series() {
    let catalog = catalog();
    let rules = Export::new(&catalog, "integration-tests export").objective_rules();
    assert!(rules.contains(
        r#"sum by (job) (rate(texts_send_total{result=~\"error|panic\"}[5m])) / sum by (job) (rate(texts_send_total{result!~\"cancelled\"}[5m]))"#
    ));
    assert!(rules.contains(
        r#"1 - sum by (job) (rate(images_resize_duration_seconds_bucket{le=~\"1|1\\\\.0\"}[1h]))"#
    ));
    assert!(rules.contains(
        r#"rate(public_http_requests_total{endpoint!=\"unmatched\",status=~\"5xx\"}[5m])"#
    ));
    assert!(rules.contains(
        r#"rate(admin_http_requests_total{endpoint!=\"unmatched\",status!~\"499\"}[5m])"#
    ));
    assert!(rules.contains(
        r#"expr: "objective:error_ratio:rate1h{objective=\"texts_send\",sli=\"success\"} > 0.0144 and objective:error_ratio:rate5m{objective=\"texts_send\",sli=\"success\"} > 0.0144""#
    ));
    assert!(rules.contains(
        "\"\n        for: 2m\n        labels:\n          severity: critical\n          objective: \"texts_send\"\n          sli: success\n"
    ));
}

/// The annotations of every burn-rate alert: (alert, objective, sli) to (summary, description),
/// each read back from its YAML double-quoted string.
fn alert_annotations(rules: &str) -> BTreeMap<(String, String, String), (String, String)> {
    let unquote = |block: &str, key: &str| -> String {
        let line = block
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {block}"));
        serde_json::from_str(line.trim()).unwrap_or_else(|_| line.trim().to_owned())
    };
    rules
        .split("      - alert: ")
        .skip(1)
        .map(|block| {
            let alert = block.lines().next().unwrap().to_owned();
            let key = (alert, unquote(block, "objective:"), unquote(block, "sli:"));
            (
                key,
                (unquote(block, "summary:"), unquote(block, "description:")),
            )
        })
        .collect()
}

#[test]
fn alert_texts_read_as_sentences() {
    let catalog = catalog();
    let rules = Export::new(&catalog, "integration-tests export").objective_rules();
    let annotations = alert_annotations(&rules);
    assert_eq!(annotations.len(), 8 * 3);
    let of = |alert: &str, objective: &str, sli: &str| {
        annotations[&(alert.to_owned(), objective.to_owned(), sli.to_owned())].clone()
    };
    assert_eq!(
        of("ObjectiveFastBurn", "texts_send", "success"),
        (
            "Objective texts_send (success) of job {{ $labels.job }} burns its error budget 14.4 times faster than the budget allows".to_owned(),
            "The share of calls counted in texts_send_total that failed has been more than 14.4 times the error budget's rate over the last 1h and 5m: at this pace it spends 2% of the 30-day error budget in an hour. Objective: 99.9% of calls succeed over 30 days.".to_owned(),
        )
    );
    assert_eq!(
        of("ObjectiveBudgetBurn", "texts_send", "latency"),
        (
            "Objective texts_send (latency) of job {{ $labels.job }} burns its error budget faster than the budget allows".to_owned(),
            "The share of calls timed in texts_send_duration_seconds that took longer than 0.25 s has been above the error budget's rate over the last 3d and 6h: at this pace it spends the whole 30-day error budget before the 30 days are over. Objective: 99% of calls take at most 0.25 s over 30 days.".to_owned(),
        )
    );
    // Every text: sentences that start with a capital, and no "1 times".
    for (key, (summary, description)) in &annotations {
        assert!(!summary.contains(" 1 times"), "{key:?}: {summary}");
        for sentence in description.split(". ") {
            assert!(
                sentence.starts_with(|c: char| c.is_ascii_uppercase()),
                "{key:?}: {description}"
            );
        }
    }
}

#[test]
fn the_dashboard_charts_every_family_for_a_fleet() {
    let catalog = catalog();
    let dashboard: serde_json::Value = serde_json::from_str(
        &Export::new(&catalog, "integration-tests export")
            .dashboard_title("Tests", "tests")
            .row("Texts", &["texts_"])
            .dashboard(),
    )
    .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| variable["name"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["datasource", "job", "instance"]);
    let rows: Vec<&str> = panels
        .iter()
        .filter(|panel| panel["type"] == "row")
        .map(|panel| panel["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        &rows[..6],
        [
            "Objective admin_http",
            "Objective images",
            "Objective public_http",
            "Objective reports_build",
            "Objective texts_send",
            "Texts"
        ]
    );
    let queries: Vec<&str> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().unwrap().to_owned())
        .map(|expr| &*Box::leak(expr.into_boxed_str()))
        .collect();
    for family in &catalog.families {
        assert!(
            queries.iter().any(|query| query.contains(family.name)),
            "no panel queries {}",
            family.name
        );
    }
    for query in queries
        .iter()
        .filter(|query| !query.starts_with("objective:"))
    {
        assert!(
            query.contains("job=~\"$job\"") || query.contains("objective:"),
            "{query}"
        );
    }
    let title = |family: &str| {
        panels
            .iter()
            .find(|panel| {
                panel["targets"][0]["expr"]
                    .as_str()
                    .is_some_and(|expr| expr.contains(&format!("({family}")))
            })
            .map(|panel| {
                (
                    panel["title"].as_str().unwrap().to_owned(),
                    panel["fieldConfig"]["defaults"]["unit"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .unwrap()
    };
    assert_eq!(
        title("texts_send_errors_total"),
        ("Texts send errors per second".to_owned(), "ops".to_owned())
    );
    assert_eq!(
        title("public_http_request_duration_seconds_bucket"),
        (
            "Public HTTP request duration (p50, p95, p99)".to_owned(),
            "s".to_owned()
        )
    );
    let budget = panels
        .iter()
        .find(|panel| panel["title"] == "texts_send success: error budget left (30 days)")
        .unwrap();
    assert_eq!(budget["type"], "stat");
    assert_eq!(
        budget["targets"][0]["expr"],
        "objective:error_budget_remaining:ratio30d{objective=\"texts_send\",sli=\"success\",job=~\"$job\"}"
    );
}
