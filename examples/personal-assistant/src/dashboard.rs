//! The Grafana dashboard and the function-level recording rules, generated from the metric
//! catalog (`metrics_runtime::catalog()`), which lists every family, the integrations' that the
//! service registers at start included: no family is typed here.
//! `personal-assistant catalog dashboard|rules` prints them; a test checks that the files under
//! `deploy/` equal what these functions generate.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use metrics_runtime::MetricKind;
use serde_json::{Value, json};

/// A family to chart: name, kind and labels.
#[derive(Clone, Debug)]
pub struct Chartable {
    /// Family name.
    pub name: String,
    /// Help text.
    pub help: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Label names.
    pub labels: Vec<String>,
}

/// Ratios computed by `deploy/rules/recording.yml`.
const RATIO_RULES: &[(&str, &str)] = &[
    ("sms_success_rate", "SMS success rate"),
    ("oauth_adoption_rate", "OAuth adoption rate"),
    ("task_success_rate", "Task success rate"),
];

/// Dashboard rows, in order, each with the name prefixes it collects.
const ROWS: &[(&str, &[&str])] = &[
    ("HTTP", &["http_"]),
    ("API", &["api_"]),
    ("SMS", &["sms_"]),
    ("OAuth", &["oauth_"]),
    ("Database", &["database_"]),
    (
        "Users and sessions",
        &["user_", "users_", "phone_", "active_sessions"],
    ),
    ("Background tasks", &["task_"]),
    ("System", &["system_"]),
    (
        "Process and health",
        &["process_", "health_", "metrics_collector_"],
    ),
];

/// Every family to chart, from the catalog, by name: the declared families and those the
/// service registers when it starts (HTTP layer, collectors, process, system, pool, health),
/// when [`crate::declare_metrics`] or [`crate::start`] ran first.
#[must_use]
pub fn chartable() -> Vec<Chartable> {
    let mut all: BTreeMap<String, Chartable> = BTreeMap::new();
    for family in metrics_runtime::catalog().families {
        all.insert(
            family.name.to_owned(),
            Chartable {
                name: family.name.to_owned(),
                help: family.help.to_owned(),
                kind: family.kind,
                labels: family.labels.iter().map(|l| (*l).to_owned()).collect(),
            },
        );
    }
    all.into_values().collect()
}

/// Labels worth keeping in a panel: all but `module` (the function already says where).
fn grouping(labels: &[String]) -> Vec<&str> {
    labels
        .iter()
        .map(String::as_str)
        .filter(|label| *label != "module" && *label != "le")
        .collect()
}

fn legend(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|label| format!("{{{{{label}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn by(labels: &[&str]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(" by ({})", labels.join(", "))
    }
}

/// The queries of one family's panel: `(expression, legend)`.
fn queries(family: &Chartable) -> Vec<(String, String)> {
    let labels = grouping(&family.labels);
    let name = &family.name;
    match family.kind {
        MetricKind::Counter => vec![(
            format!("sum{}(rate({name}[5m]))", by(&labels)),
            legend(&labels),
        )],
        MetricKind::Gauge => vec![(format!("sum{}({name})", by(&labels)), legend(&labels))],
        MetricKind::Histogram => [0.5_f64, 0.95, 0.99]
            .iter()
            .map(|q| {
                let mut with_le = vec!["le"];
                with_le.extend(&labels);
                (
                    format!(
                        "histogram_quantile({q}, sum{}(rate({name}_bucket[5m])))",
                        by(&with_le)
                    ),
                    format!("p{} {}", (q * 100.0).round(), legend(&labels))
                        .trim_end()
                        .to_owned(),
                )
            })
            .collect(),
    }
}

fn unit(family: &Chartable) -> &'static str {
    let name = family.name.as_str();
    if name.ends_with("_seconds")
        || family.kind == MetricKind::Histogram && name.contains("seconds")
    {
        "s"
    } else if name.ends_with("_bytes") {
        "bytes"
    } else if name.ends_with("_bytes_total") {
        "Bps"
    } else if name.ends_with("_percent") {
        "percent"
    } else if name.ends_with("_utilization") {
        "percentunit"
    } else if family.kind == MetricKind::Counter {
        "ops"
    } else {
        "short"
    }
}

fn panel(
    id: u32,
    title: &str,
    description: &str,
    targets: &[(String, String)],
    unit: &str,
    x: u32,
    y: u32,
) -> Value {
    let targets: Vec<Value> = targets
        .iter()
        .zip('A'..)
        .map(|((expr, legend), ref_id)| {
            json!({ "datasource": { "type": "prometheus", "uid": "${datasource}" }, "expr": expr, "legendFormat": legend, "refId": ref_id.to_string() })
        })
        .collect();
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
        "gridPos": { "h": 8, "w": 12, "x": x, "y": y },
        "targets": targets,
    })
}

/// The Grafana dashboard, as pretty-printed JSON with a trailing newline.
#[must_use]
pub fn dashboard() -> String {
    let families = chartable();
    let mut panels = Vec::new();
    let mut id = 1;
    let mut y = 0;
    let mut placed = std::collections::BTreeSet::new();
    let mut rows: Vec<(&str, Vec<&Chartable>)> = ROWS
        .iter()
        .map(|(title, prefixes)| {
            let members: Vec<&Chartable> = families
                .iter()
                .filter(|f| {
                    prefixes.iter().any(|p| f.name.starts_with(p)) && placed.insert(f.name.clone())
                })
                .collect();
            (*title, members)
        })
        .collect();
    let rest: Vec<&Chartable> = families
        .iter()
        .filter(|f| !placed.contains(&f.name))
        .collect();
    rows.push(("Other", rest));
    rows.insert(0, ("Ratios (recording rules)", Vec::new()));

    for (title, members) in rows {
        if title.starts_with("Ratios") {
            panels.push(json!({ "id": id, "type": "row", "title": title, "collapsed": false, "gridPos": { "h": 1, "w": 24, "x": 0, "y": y }, "panels": [] }));
            id += 1;
            y += 1;
            for (index, (rule, rule_title)) in RATIO_RULES.iter().enumerate() {
                let x = u32::try_from(index).unwrap_or(0) * 8;
                let mut stat = panel(
                    id,
                    rule_title,
                    &format!("Recording rule `{rule}`."),
                    &[((*rule).to_owned(), String::new())],
                    "percentunit",
                    x,
                    y,
                );
                stat["type"] = json!("stat");
                stat["gridPos"]["w"] = json!(8);
                panels.push(stat);
                id += 1;
            }
            y += 8;
            continue;
        }
        if members.is_empty() {
            continue;
        }
        panels.push(json!({ "id": id, "type": "row", "title": title, "collapsed": false, "gridPos": { "h": 1, "w": 24, "x": 0, "y": y }, "panels": [] }));
        id += 1;
        y += 1;
        for (index, family) in members.iter().enumerate() {
            let x = if index % 2 == 0 { 0 } else { 12 };
            panels.push(panel(
                id,
                &family.name,
                &family.help,
                &queries(family),
                unit(family),
                x,
                y,
            ));
            id += 1;
            if index % 2 == 1 || index + 1 == members.len() {
                y += 8;
            }
        }
    }
    let dashboard = json!({
        "title": "Personal assistant",
        "uid": "personal-assistant",
        "description": "Generated by `personal-assistant catalog dashboard` from the metric catalog; do not edit by hand.",
        "tags": ["personal-assistant", "generated"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "30s",
        "time": { "from": "now-1h", "to": "now" },
        "templating": { "list": [{ "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus" }] },
        "panels": panels,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
    text.push('\n');
    text
}

/// Recording rules for every instrumented function family: call rate, error ratio and p99.
#[must_use]
pub fn function_rules() -> String {
    let catalog = metrics_runtime::catalog();
    let labels_of = |name: &str| -> Vec<String> {
        catalog
            .families
            .iter()
            .find(|family| family.name == name)
            .map(|family| family.labels.iter().map(|l| (*l).to_owned()).collect())
            .unwrap_or_default()
    };
    let mut pairs: Vec<(&str, &str)> = catalog
        .functions
        .iter()
        .map(|f| (f.counter, f.histogram))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = String::from(
        "# Generated by `personal-assistant catalog rules` from the metric catalog; do not edit by hand.\n\
         # For every family of #[instrument_metric] functions: call rate, error ratio and p99 latency.\n\
         groups:\n  - name: instrumented-functions\n    rules:\n",
    );
    for (counter, histogram) in pairs {
        let stem = counter.strip_suffix("_total").unwrap_or(counter);
        let keep: Vec<String> = labels_of(counter)
            .into_iter()
            .filter(|label| label != "result")
            .collect();
        let by = keep.join(", ");
        let _ = write!(
            out,
            "      - record: function:{stem}:rate5m\n        expr: sum by ({by}) (rate({counter}[5m]))\n\
             \x20     - record: function:{stem}:error_ratio_rate5m\n        expr: sum by ({by}) (rate({counter}{{result!=\"ok\"}}[5m])) / sum by ({by}) (rate({counter}[5m]))\n\
             \x20     - record: function:{histogram}:p99_5m\n        expr: histogram_quantile(0.99, sum by (le, {by}) (rate({histogram}_bucket[5m])))\n",
        );
    }
    out
}
