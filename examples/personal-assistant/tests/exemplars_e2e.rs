//! The service's Prometheus 3 exposition against real servers (Debian's Prometheus 2.42, or the
//! pinned 3.x with `TEST_PROMETHEUS=3`): requests carrying a W3C `traceparent` are served in
//! spans of that trace, so that a server with `--enable-feature=exemplar-storage` keeps
//! exemplars with the trace ids the test sent, on the HTTP layer's buckets and counters and on
//! the API handlers' histogram; a server scraping native histograms (2.42:
//! `--enable-feature=native-histograms`; 3.x: `scrape_native_histograms: true`, which the
//! support module sets for that flag) stores the HTTP and function histograms as native
//! histograms. (The deploy Prometheus scrapes classic histograms: `prometheus_e2e`.)

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{PromApi, Scratch, eventually, scrape_config, start_prometheus};

/// The trace ids of the exemplars Prometheus at `prometheus` keeps for `selector`.
async fn exemplar_trace_ids(
    http: &reqwest::Client,
    prometheus: std::net::SocketAddr,
    selector: &str,
) -> BTreeSet<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let url = format!(
        "http://{prometheus}/api/v1/query_exemplars?query={}&start={}&end={}",
        support::url_encode(selector),
        now - 3600,
        now + 60
    );
    let Ok(response) = http.get(&url).send().await else {
        return BTreeSet::new();
    };
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let mut ids = BTreeSet::new();
    for series in body["data"].as_array().into_iter().flatten() {
        for exemplar in series["exemplars"].as_array().into_iter().flatten() {
            let labels = &exemplar["labels"];
            let trace_id = labels["trace_id"].as_str().unwrap_or_default();
            let span_id = labels["span_id"].as_str().unwrap_or_default();
            assert!(
                trace_id.len() == 32 && span_id.len() == 16,
                "exemplar labels {labels}"
            );
            ids.insert(trace_id.to_owned());
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_carry_the_callers_trace_ids_and_histograms_are_native() {
    personal_assistant::trace::install().unwrap();
    let scratch = Scratch::new("exemplars");
    let (state, service) = support::start_service(scratch.path(), 10).await;
    // The generator's own requests (new traces each) would replace the test's exemplars.
    state.report.stop();
    eventually("the generator to stop", Duration::from_secs(30), || async {
        state.report.in_flight() == 0
    })
    .await;
    let config = scrape_config(service, &[]);
    let exemplars = start_prometheus(
        &scratch.dir("exemplars"),
        &config,
        &["--enable-feature=exemplar-storage"],
    );
    let native = start_prometheus(
        &scratch.dir("native"),
        &config,
        &["--enable-feature=native-histograms"],
    );

    // Requests continuing traces the test made up, as a traced caller would send them.
    let http = reqwest::Client::new();
    let mut sent = BTreeSet::new();
    for i in 0..40u64 {
        let trace_id = format!("{:016x}{:016x}", 0x5eed_0000_0000_0000 | i, i * 7919 + 1);
        let traceparent = format!("00-{trace_id}-{:016x}-01", i + 1);
        let response = http
            .post(format!("http://{service}/api/v1/users"))
            .header("traceparent", traceparent)
            .json(&json!({ "name": format!("traced {i}"), "phone": "+15550100" }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        sent.insert(trace_id);
    }

    let selectors = [
        "http_request_duration_seconds_bucket{endpoint=\"/api/v1/users\",method=\"POST\"}",
        "http_requests_total{endpoint=\"/api/v1/users\",method=\"POST\"}",
        "api_response_time_seconds_bucket{function=\"Api::register_user\"}",
        "api_requests_total{function=\"Api::register_user\"}",
    ];
    for selector in selectors {
        eventually(
            &format!("an exemplar of {selector} with a trace id the test sent"),
            Duration::from_secs(60),
            || async {
                let found = exemplar_trace_ids(&http, exemplars.addr, selector).await;
                found.iter().any(|trace_id| sent.contains(trace_id))
            },
        )
        .await;
    }

    let api = PromApi::new(native.addr);
    for selector in [
        "http_request_duration_seconds{endpoint=\"/api/v1/users\",method=\"POST\"}",
        "api_response_time_seconds{function=\"Api::register_user\"}",
    ] {
        eventually(
            &format!("{selector} stored as a native histogram"),
            Duration::from_secs(60),
            || async {
                let result = api.query(selector).await;
                result.len() == 1 && result[0]["histogram"][1]["count"].is_string()
            },
        )
        .await;
        let count = api.value(&format!("histogram_count({selector})")).await;
        assert!(
            count.is_some_and(|count| count >= 40.0),
            "{selector}: {count:?}"
        );
    }
}
