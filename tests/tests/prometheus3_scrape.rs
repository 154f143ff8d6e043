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
//!   before the first scraped value, and no `_created` series;
//! - to each `Accept` header Prometheus 3 sends (recorded from its scrapes, one job per protocol
//!   and escaping scheme), the endpoint answers with a `Content-Type` that names the format
//!   (OpenMetrics 1.0 by default, protobuf when asked first) and repeats the `escaping` of the
//!   `Accept` element it answers, and no `escaping` when that element names none.

#![allow(clippy::float_cmp)] // counts are whole numbers, compared exactly

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instrument_metric::Registry;
use instrument_metric::axum::{Endpoint, MetricsServer};
use integration_tests::http;
use integration_tests::prometheus::{Prometheus, Server, eventually, number};

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

/// Records the `Accept` header of each scrape by its path; answers a gauge in the text format.
fn recorder() -> (SocketAddr, Arc<Mutex<BTreeMap<String, String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(Mutex::new(BTreeMap::new()));
    let kept = Arc::clone(&accepts);
    // Lives as long as the test binary: it only answers scrapes.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = record(&stream, &kept);
        }
    });
    (addr, accepts)
}

fn record(stream: &TcpStream, accepts: &Mutex<BTreeMap<String, String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("accept")
        {
            accepts
                .lock()
                .unwrap()
                .insert(path.clone(), value.trim().to_owned());
        }
    }
    let body = "# TYPE recorded gauge\nrecorded 1\n";
    let mut writer = stream;
    write!(
        writer,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    writer.flush()
}

/// A media type with its parameters (names lowercase), as in `Accept` and `Content-Type`.
fn media(element: &str) -> (String, BTreeMap<String, String>) {
    let mut parts = element.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
    let params = parts
        .filter_map(|param| param.split_once('='))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (media_type, params)
}

#[test]
fn the_content_type_answers_the_accept_prometheus_3_sends() {
    let server = Server::three();
    let (recording, accepts) = recorder();
    let mut jobs = vec![("default".to_owned(), String::new())];
    for protocol in PROTOCOLS {
        jobs.push((
            protocol.to_string(),
            format!("    scrape_protocols: [{protocol}]\n"),
        ));
    }
    for scheme in ESCAPING {
        let settings = format!("    metric_name_escaping_scheme: {scheme}\n");
        jobs.push((format!("escaping-{scheme}"), settings));
    }
    let configured: Vec<(String, SocketAddr, String)> = jobs
        .iter()
        .map(|(job, settings)| {
            let path = format!("    metrics_path: /{job}\n");
            (job.clone(), recording, format!("{path}{settings}"))
        })
        .collect();
    let prometheus =
        Prometheus::start_with(&server, "prometheus3-accept", &config(&configured), &[]);
    let accepts = eventually("a scrape of every job", PATIENCE, || {
        let accepts = accepts.lock().unwrap().clone();
        (accepts.len() == jobs.len()).then_some(accepts)
    });
    drop(prometheus);

    let endpoint = endpoint(false);
    for (job, _) in &jobs {
        let accept = &accepts[&format!("/{job}")];
        let response = http(
            endpoint.local_addr(),
            "GET",
            "/metrics",
            &[("Accept", accept)],
        )
        .unwrap();
        assert_eq!(response.status, 200);
        let content_type = response
            .header("content-type")
            .unwrap_or_else(|| panic!("{job}: no Content-Type for {accept}"));
        let (answered, params) = media(content_type);
        // The element of `Accept` naming what was answered, in the answer's version.
        let element = accept.split(',').map(media).find(|(asked, asked_params)| {
            *asked == answered
                && asked_params
                    .get("version")
                    .is_none_or(|version| params.get("version") == Some(version))
        });
        let asked_escaping = element.and_then(|(_, asked)| asked.get("escaping").cloned());
        assert_eq!(
            params.get("escaping"),
            asked_escaping.as_ref(),
            "{job}: `{content_type}` answers `{accept}`"
        );
        let expected = match job.as_str() {
            "OpenMetricsText0.0.1" | "PrometheusText1.0.0" | "PrometheusText0.0.4" => "text/plain",
            "PrometheusProto" => "application/vnd.google.protobuf",
            _ => "application/openmetrics-text",
        };
        assert_eq!(
            answered, expected,
            "{job}: `{content_type}` answers `{accept}`"
        );
        println!("{job}: `{accept}` gets `{content_type}`");
    }
}
