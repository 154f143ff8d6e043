//! The HTTP endpoint against a real Prometheus 3 (the one `TEST_PROMETHEUS` picks when it is a
//! 3.x, the pinned build otherwise: `integration_tests::prometheus::Server::three`), on
//! 127.0.0.1:
//!
//! - every scrape protocol Prometheus 3 can ask for (`scrape_protocols`, one per job) and every
//!   name escaping scheme (`metric_name_escaping_scheme`) gets an answer it reads: the target is
//!   up and the counter and histogram are stored with their values (a scrape whose answer has
//!   no or a wrong `Content-Type` fails in Prometheus 3);
//! - `_created` samples are off by default, so a default Prometheus 3 (which reads OpenMetrics
//!   and stores a `_created` sample as a series of its own) stores none, and no zero sample;
//!   turned on, it stores them as series;
//! - with `--enable-feature=created-timestamp-zero-ingestion` the created timestamps (from
//!   protobuf, and from OpenMetrics' `_created` samples when they are on) become a zero sample
//!   before the first scraped value, and no `_created` series.

#![allow(clippy::float_cmp)] // counts are whole numbers, compared exactly

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use integration_tests::prometheus::{Prometheus, Server, eventually, number};
use metrics_runtime::Registry;
use metrics_runtime::axum::{Endpoint, MetricsServer};

/// How long the test may wait for each thing Prometheus stores.
const PATIENCE: Duration = Duration::from_secs(45);

/// The scrape protocols Prometheus 3 knows (`scrape_protocols`).
const PROTOCOLS: &[&str] = &[
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
    "PrometheusProto",
];

/// The name escaping schemes Prometheus 3 can ask for (`metric_name_escaping_scheme`).
const ESCAPING: &[&str] = &["allow-utf-8", "underscores", "dots", "values"];

/// `/metrics` of a registry of its own, on a listener and thread of its own: a counter at 5 and
/// a histogram of two observations, with `_created` samples in OpenMetrics when `created`.
fn endpoint(created: bool) -> MetricsServer {
    let registry = Registry::new();
    let jobs = registry.int_counter("p3_jobs_total", "Jobs.").unwrap();
    for _ in 0..5 {
        jobs.inc();
    }
    let waits = registry
        .histogram("p3_wait_seconds", "Waits.", &[0.1, 1.0])
        .unwrap();
    waits.observe(0.05);
    waits.observe(0.5);
    registry.set_created_samples(created);
    Endpoint::new()
        .registry(registry)
        .spawn("127.0.0.1:0")
        .unwrap()
}

/// A configuration scraping every second, with `jobs` (name, target, settings of the job).
fn config(jobs: &[(String, SocketAddr, String)]) -> String {
    let mut config =
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n".to_owned();
    for (name, target, settings) in jobs {
        let _ = write!(
            config,
            "  - job_name: '{name}'\n    static_configs:\n      - targets: ['{target}']\n{settings}"
        );
    }
    config
}

/// The single value of `promql`, once it has one.
fn settled(prometheus: &Prometheus, what: &str, promql: &str) -> f64 {
    eventually(what, PATIENCE, || {
        let result = prometheus.query(promql);
        (result.len() == 1).then(|| number(&result[0]["value"][1]))
    })
}

/// Waits for `job` to be up with the counter and the histogram stored, and checks their values.
fn stored(prometheus: &Prometheus, job: &str) {
    let up = settled(
        prometheus,
        &format!("{job} up"),
        &format!("up{{job=\"{job}\"}}"),
    );
    assert_eq!(up, 1.0, "{job} is down:\n{}", prometheus.log());
    let jobs = settled(
        prometheus,
        &format!("{job}'s counter"),
        &format!("p3_jobs_total{{job=\"{job}\"}}"),
    );
    assert_eq!(jobs, 5.0, "{job}");
    let count = settled(
        prometheus,
        &format!("{job}'s histogram"),
        &format!("p3_wait_seconds_count{{job=\"{job}\"}}"),
    );
    assert_eq!(count, 2.0, "{job}");
    let below = prometheus.value(&format!(
        "p3_wait_seconds_bucket{{job=\"{job}\",le=\"0.1\"}}"
    ));
    assert_eq!(below, 1.0, "{job}");
}

/// The names of the `_created` series `job` has in `prometheus`.
fn created_series(prometheus: &Prometheus, job: &str) -> Vec<String> {
    prometheus
        .query(&format!("{{__name__=~\".+_created\",job=\"{job}\"}}"))
        .iter()
        .map(|series| {
            series["metric"]["__name__"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The lowest value `job`'s counter had over the last hour.
fn lowest(prometheus: &Prometheus, job: &str) -> f64 {
    prometheus.value(&format!(
        "min_over_time(p3_jobs_total{{job=\"{job}\"}}[1h])"
    ))
}

#[test]
fn every_protocol_and_escaping_scheme_prometheus_3_asks_for_is_read() {
    let server = Server::three();
    let plain = endpoint(false);
    let created = endpoint(true);
    let mut jobs = vec![
        ("default".to_owned(), plain.local_addr(), String::new()),
        ("created".to_owned(), created.local_addr(), String::new()),
    ];
    for protocol in PROTOCOLS {
        let settings = format!("    scrape_protocols: [{protocol}]\n");
        jobs.push((protocol.to_string(), plain.local_addr(), settings));
    }
    for scheme in ESCAPING {
        let settings = format!("    metric_name_escaping_scheme: {scheme}\n");
        jobs.push((format!("escaping-{scheme}"), plain.local_addr(), settings));
    }
    let prometheus = Prometheus::start_with(&server, "prometheus3-protocols", &config(&jobs), &[]);

    for (job, _, _) in &jobs {
        stored(&prometheus, job);
    }
    // Off by default: no `_created` series, and the counter starts at its first scrape.
    for (job, _, _) in jobs.iter().filter(|(job, _, _)| job != "created") {
        assert_eq!(
            created_series(&prometheus, job),
            Vec::<String>::new(),
            "{job}"
        );
        assert_eq!(lowest(&prometheus, job), 5.0, "{job}");
    }
    // Turned on, a default Prometheus 3 stores each as a series of its own.
    let mut names = created_series(&prometheus, "created");
    names.sort();
    assert_eq!(names, ["p3_jobs_created", "p3_wait_seconds_created"]);
    assert_eq!(lowest(&prometheus, "created"), 5.0);
}

#[test]
fn created_timestamps_become_zero_samples_with_the_feature() {
    let server = Server::three();
    let plain = endpoint(false);
    let created = endpoint(true);
    let jobs = [
        // Protobuf first, as the feature makes the default: created timestamps always in it.
        ("protobuf".to_owned(), plain.local_addr(), String::new()),
        (
            "openmetrics".to_owned(),
            created.local_addr(),
            "    scrape_protocols: [OpenMetricsText1.0.0]\n".to_owned(),
        ),
    ];
    let prometheus = Prometheus::start_with(
        &server,
        "prometheus3-created",
        &config(&jobs),
        &["--enable-feature=created-timestamp-zero-ingestion"],
    );

    for (job, _, _) in &jobs {
        stored(&prometheus, job);
        let zero = eventually(&format!("{job}'s zero sample"), PATIENCE, || {
            let lowest = lowest(&prometheus, job);
            (lowest == 0.0).then_some(lowest)
        });
        assert_eq!(zero, 0.0);
        assert_eq!(
            created_series(&prometheus, job),
            Vec::<String>::new(),
            "{job}"
        );
    }
}
