//! Every query of the Grafana dashboard (deploy/grafana/personal-assistant.json, as checked in)
//! returns series, at least one of them a number rather than NaN, from a real Prometheus while
//! the simulated traffic runs: a panel that would stay empty fails here, not in front of someone
//! on call; every recording and alerting rule of the deploy files evaluates without error.
//! Prometheus (Debian's 2.42 or the pinned 3.x, as `TEST_PROMETHEUS` says, on 127.0.0.1) scrapes
//! the service every second with the deploy rules (their group interval cut to a second). Grafana's variables are read as Grafana would fill them for the whole fleet:
//! `$__rate_interval` and `$__interval` as `1m`, every dashboard variable other than the data
//! source as the regular expression `.+`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::storage::{dashboard_queries, every_dashboard_query_draws, substitute};
use support::{
    PromApi, Scratch, Timing, copy_rules, deploy_file, every_rule_evaluates, scrape_config,
    start_prometheus, start_service,
};

#[test]
fn variables_are_substituted_as_grafana_would_for_the_whole_fleet() {
    let values = BTreeMap::from([
        ("__rate_interval".to_owned(), "1m"),
        ("job".to_owned(), ".+"),
    ]);
    assert_eq!(
        substitute(
            "sum(rate(x_total{job=~\"$job\",i=~\"${job:regex}\"}[$__rate_interval]))",
            &values
        ),
        "sum(rate(x_total{job=~\".+\",i=~\".+\"}[1m]))"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_series_while_traffic_runs() {
    let dashboard: Value =
        serde_json::from_str(&deploy_file("grafana/personal-assistant.json")).unwrap();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 10, "{queries:#?}");

    let scratch = Scratch::new("dashboard");
    let (_state, service) = start_service(scratch.path(), 60).await;
    let dir = scratch.dir("prometheus");
    let rules = copy_rules(
        &dir,
        &Timing {
            hold: "2s",
            interval: Some("1s"),
            window: None,
        },
    );
    let prometheus = start_prometheus(&dir, &scrape_config(service, &rules), &[]);
    let prom = PromApi::new(prometheus.addr);

    // Every query draws a number (NaN, a quantile of no observations, draws a gap).
    let started = Instant::now();
    every_dashboard_query_draws(&prom).await;
    // Every recording and alerting rule of the deploy files evaluates without error too.
    let rules = every_rule_evaluates(&prom, Duration::from_secs(30)).await;
    assert!(rules >= 70, "{rules} rules");
    let panels: std::collections::BTreeSet<&str> =
        queries.iter().map(|(title, _)| title.as_str()).collect();
    println!(
        "dashboard: {} queries of {} panels all drew numbers {:.1} s after Prometheus started",
        queries.len(),
        panels.len(),
        started.elapsed().as_secs_f64()
    );
}
