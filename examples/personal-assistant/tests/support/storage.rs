//! The generated recording rules, alerts and dashboard against a Prometheus that stores the
//! histograms one way or the other: every recording rule has a series, every alerting rule
//! evaluates, every dashboard query draws a number, and a slow SMS provider fires the latency
//! fast-burn alert. Which way Prometheus stores a histogram is the server's choice (classic
//! `_bucket` series; native ones when it scrapes protobuf with native histograms on; custom
//! bucket native ones when it converts classic ones), so the generated expressions must answer
//! in each.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    PromApi, Scratch, Timing, copy_rules, deploy_file, eventually, scrape_config, start_prometheus,
    start_prometheus3, start_service,
};

/// How the test's Prometheus stores histograms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Classic series only (`_bucket`, `_count`, `_sum`): Prometheus 2 by default.
    Classic,
    /// Native series for the histograms the service makes native, classic for the others:
    /// Prometheus 2.42 with `--enable-feature=native-histograms`, or 3.x with
    /// `scrape_native_histograms: true`, which then keep no classic series of a native
    /// histogram.
    Native,
    /// Native and classic series of a native histogram: 3.x with `scrape_native_histograms`
    /// and `always_scrape_classic_histograms`.
    Both,
    /// Every histogram as a native histogram with custom buckets, no `_bucket` series: 3.x
    /// with `convert_classic_histograms_to_nhcb` (scraping the text formats, where every
    /// histogram is classic).
    CustomBuckets,
}

impl Storage {
    /// The scrape job's settings and the server's flags that give this storage.
    fn settings(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Storage::Classic => ("", &[]),
            Storage::Native => ("", &["--enable-feature=native-histograms"]),
            Storage::Both => (
                "    scrape_native_histograms: true\n    always_scrape_classic_histograms: true\n",
                &[],
            ),
            Storage::CustomBuckets => ("    convert_classic_histograms_to_nhcb: true\n", &[]),
        }
    }
}

/// The service under traffic, scraped by a Prometheus storing histograms as `storage` says,
/// with the deploy rules (windows of 30 s, evaluated every second): checks every rule, every
/// dashboard query, and that a slow SMS provider fires the latency fast-burn alert.
pub async fn every_rule_and_panel_answers(storage: Storage) {
    let scratch = Scratch::new(&format!("storage-{storage:?}"));
    let (_state, service) = start_service(scratch.path(), 60).await;
    let dir = scratch.dir("prometheus");
    let rules = copy_rules(
        &dir,
        &Timing {
            hold: "2s",
            interval: Some("1s"),
            window: Some("30s"),
        },
    );
    let (job, flags) = storage.settings();
    let config = scrape_config(service, &rules) + job;
    // The modes only Prometheus 3 has run on the pinned 3.x whatever TEST_PROMETHEUS says.
    let prometheus = match storage {
        Storage::Classic | Storage::Native => start_prometheus(&dir, &config, flags),
        Storage::Both | Storage::CustomBuckets => start_prometheus3(&dir, &config, flags),
    };
    let prom = PromApi::new(prometheus.addr);
    eventually("the target to be up", Duration::from_secs(60), || async {
        prom.value("up{job=\"personal-assistant\"}").await == Some(1.0)
    })
    .await;
    stored_as(&prom, storage).await;
    if storage == Storage::Both {
        native_and_classic_agree(&prom).await;
    }
    no_constant_fallback();
    every_recording_rule_has_a_series(&prom).await;
    every_alerting_rule_evaluates(&prom).await;
    every_dashboard_query_draws(&prom).await;
    a_slow_provider_fires_the_latency_fast_burn(&prom, service).await;
    drop(prometheus);
}

/// The server stores the HTTP layer's duration histogram as `storage` says: the test would
/// prove nothing if both runs stored the same.
async fn stored_as(prom: &PromApi, storage: Storage) {
    let native = "http_request_duration_seconds";
    let classic = "http_request_duration_seconds_bucket";
    eventually(
        "the duration histogram stored",
        Duration::from_secs(30),
        || async {
            let native_series = prom.query(native).await;
            let classic_series = prom.query(classic).await;
            let is_native = native_series
                .iter()
                .any(|series| series.get("histogram").is_some());
            match storage {
                Storage::Classic => !classic_series.is_empty() && !is_native,
                Storage::Native | Storage::CustomBuckets => is_native && classic_series.is_empty(),
                Storage::Both => is_native && !classic_series.is_empty(),
            }
        },
    )
    .await;
}

/// Where the server keeps both, the native and the classic answers of the SMS latency agree:
/// the 99th percentile within the classic bucket it falls in (the classic one interpolates
/// linearly inside it), and the share over the objective's 250 ms, a bound of both (a power of
/// two is a native bucket bound too), within 2 points.
async fn native_and_classic_agree(prom: &PromApi) {
    let name = "sms_processing_duration_seconds";
    let native = format!("histogram_quantile(0.99, sum(rate({name}[30s])))");
    let classic = format!("histogram_quantile(0.99, sum by (le) (rate({name}_bucket[30s])))");
    let slow_native = format!("1 - histogram_fraction(-Inf, 0.25, sum(rate({name}[30s])))");
    let slow_classic = format!(
        "1 - sum(rate({name}_bucket{{le=\"0.25\"}}[30s])) / sum(rate({name}_bucket{{le=\"+Inf\"}}[30s]))"
    );
    let mut bounds: Vec<f64> = prom
        .query(&format!("count by (le) ({name}_bucket)"))
        .await
        .iter()
        .filter_map(|series| series["metric"]["le"].as_str()?.parse().ok())
        .collect();
    bounds.sort_by(f64::total_cmp);
    assert!(bounds.len() > 2, "{bounds:?}");
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let values = (
            prom.value(&native).await,
            prom.value(&classic).await,
            prom.value(&slow_native).await,
            prom.value(&slow_classic).await,
        );
        if let (Some(native), Some(classic), Some(slow_native), Some(slow_classic)) = values {
            let upper = bounds.iter().copied().find(|bound| *bound >= classic);
            let lower = bounds.iter().copied().rev().find(|bound| *bound < classic);
            let width = match (lower, upper) {
                (Some(lower), Some(upper)) => upper - lower,
                (None, Some(upper)) => upper,
                _ => f64::INFINITY,
            };
            last = format!(
                "p99 native {native}, classic {classic} (bucket width {width}); over 250 ms native {slow_native}, classic {slow_classic}"
            );
            if (native - classic).abs() <= width && (slow_native - slow_classic).abs() <= 0.02 {
                println!("native and classic agree: {last}");
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the native and classic SMS latencies disagree: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// No generated or hand-written expression hides an empty answer behind a constant.
fn no_constant_fallback() {
    let mut texts = vec![deploy_file("grafana/personal-assistant.json")];
    for entry in std::fs::read_dir(super::deploy_dir().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yml") {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    for text in texts {
        for fallback in ["vector(", "or on() ", "or on () "] {
            assert!(
                !text.contains(fallback),
                "a deploy expression falls back to a constant with `{fallback}`"
            );
        }
    }
}

/// Polls `pending` (names) with `has_data` until none is left, for at most `limit`.
async fn until_all<F, Fut>(what: &str, mut pending: Vec<String>, limit: Duration, mut has_data: F)
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        let mut still = Vec::new();
        for item in pending {
            if !has_data(item.clone()).await {
                still.push(item);
            }
        }
        pending = still;
        if pending.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: none after {} s: {pending:#?}",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every recording rule (with its own labels, which tell apart the objectives' rules of one
/// name) has a series with a number.
async fn every_recording_rule_has_a_series(prom: &PromApi) {
    let rules = prom.rule_objects().await;
    let selectors: BTreeSet<String> = rules
        .iter()
        .filter(|rule| rule["type"] == "recording")
        .map(|rule| {
            let labels: Vec<String> = rule["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            format!("{}{{{}}}", rule["name"].as_str().unwrap(), labels.join(","))
        })
        .collect();
    assert!(selectors.len() >= 30, "{selectors:#?}");
    until_all(
        "recording rules with a series",
        selectors.into_iter().collect(),
        Duration::from_secs(90),
        |selector| async move {
            prom.query(&selector).await.iter().any(|series| {
                series["value"][1]
                    .as_str()
                    .and_then(|value| value.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            })
        },
    )
    .await;
}

/// Every alerting rule has been evaluated without an error.
async fn every_alerting_rule_evaluates(prom: &PromApi) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rules = prom.rule_objects().await;
        let alerting: Vec<&Value> = rules
            .iter()
            .filter(|rule| rule["type"] == "alerting")
            .collect();
        assert!(!alerting.is_empty());
        let unhealthy: Vec<String> = alerting
            .iter()
            .filter(|rule| rule["health"] != "ok")
            .map(|rule| {
                format!(
                    "{} {}: {} {}",
                    rule["name"], rule["labels"], rule["health"], rule["lastError"]
                )
            })
            .collect();
        if unhealthy.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "alerting rules not evaluated ok: {unhealthy:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every query of the dashboard draws at least one number, within a minute.
pub async fn every_dashboard_query_draws(prom: &PromApi) {
    let dashboard: Value =
        serde_json::from_str(&deploy_file("grafana/personal-assistant.json")).unwrap();
    let queries: Vec<String> = dashboard_queries(&dashboard)
        .into_iter()
        .map(|(_, expr)| expr)
        .collect();
    until_all(
        "dashboard queries drawing a number",
        queries,
        Duration::from_secs(60),
        |expr| async move {
            prom.query(&expr).await.iter().any(|series| {
                series["value"][1]
                    .as_str()
                    .and_then(|value| value.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            })
        },
    )
    .await;
}

/// Every SMS provider answer slowed past the objective's 250 ms: the latency indicator's error
/// ratio goes to 1 and its fast-burn page fires.
async fn a_slow_provider_fires_the_latency_fast_burn(
    prom: &PromApi,
    service: std::net::SocketAddr,
) {
    let http = reqwest::Client::new();
    super::put(
        &http,
        service,
        "/api/v1/simulation/sms",
        serde_json::json!({ "slowdown_ms": 400 }),
    )
    .await;
    eventually(
        "ObjectiveFastBurn of sms_delivery latency to fire",
        Duration::from_secs(90),
        || {
            prom.firing(
                "ObjectiveFastBurn",
                "objective=\"sms_delivery\",sli=\"latency\"",
            )
        },
    )
    .await;
    super::put(
        &http,
        service,
        "/api/v1/simulation/sms",
        serde_json::json!({ "slowdown_ms": 0 }),
    )
    .await;
}

/// Every query of the dashboard: the panel's title and the expression, variables substituted.
pub fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut values: BTreeMap<String, &str> = BTreeMap::from([
        ("__rate_interval".to_owned(), "1m"),
        ("__interval".to_owned(), "1m"),
    ]);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] != "datasource" {
            let name = variable["name"].as_str().expect("a variable has a name");
            values.insert(name.to_owned(), ".+");
        }
    }
    let mut panels: Vec<&Value> = Vec::new();
    let mut pending: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("the dashboard has panels")
        .iter()
        .collect();
    // A collapsed row keeps its panels inside it.
    while let Some(panel) = pending.pop() {
        pending.extend(panel["panels"].as_array().into_iter().flatten());
        panels.push(panel);
    }
    let mut queries = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                queries.push((title.to_owned(), substitute(expr, &values)));
            }
        }
    }
    queries.sort();
    queries
}

/// `expr` with each `$name`, `${name}` and `${name:format}` replaced by its value.
pub fn substitute(expr: &str, values: &BTreeMap<String, &str>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            let close = braced
                .find('}')
                .unwrap_or_else(|| panic!("`{expr}`: a `${{` without its `}}`"));
            let inside = &braced[..close];
            (
                inside.split(':').next().unwrap_or(inside),
                &braced[close + 1..],
            )
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        let value = values.get(name).unwrap_or_else(|| {
            panic!("`{expr}` uses the variable `{name}`, which neither Grafana nor the dashboard defines; the test knows {values:?}")
        });
        out.push_str(value);
        rest = after;
    }
    out.push_str(rest);
    out
}
