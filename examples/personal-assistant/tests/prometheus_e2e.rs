//! End to end with a real Prometheus: the service runs with its traffic generator, Prometheus
//! (Debian's 2.42 or the pinned 3.x, as `TEST_PROMETHEUS` says, started here on 127.0.0.1 with
//! its default scrape settings) scrapes it every second with the deploy rules, and the test
//! checks through Prometheus' HTTP API that every metric of the seed has data, that counts agree
//! with what the generator did, that the recording rules evaluate, and that alerts fire when the simulated SMS provider fails and when the database goes away.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use personal_assistant::AppState;
use serde_json::Value;
use support::{PromApi, Scratch, Timing, copy_rules, eventually, scrape_config, start_prometheus};

/// Every seed metric, as exported or recorded by a rule.
const SEED_METRICS: &[&str] = &[
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "active_sessions",
    "api_response_time_seconds_bucket",
    "sms_messages_total",
    "sms_processing_duration_seconds_bucket",
    "sms_success_rate",
    "sms_queue_length",
    "sms_cost_total",
    "oauth_integrations_active",
    "oauth_token_refresh_total",
    "oauth_errors_total",
    "oauth_operation_duration_seconds_bucket",
    "database_connections_active",
    "database_connection_pool_utilization",
    "database_query_duration_seconds_bucket",
    "database_response_time_seconds_bucket",
    "database_health_status",
    "system_cpu_usage_percent",
    "system_memory_usage_bytes",
    "system_disk_usage_percent",
    "system_network_io_bytes_total",
    "user_registrations_total",
    "phone_verifications_total",
    "sms_usage_per_user_bucket",
    "oauth_adoption_rate",
    "task_execution_duration_seconds_bucket",
    "task_queue_length",
    "task_success_rate",
];

/// Prometheus' API and the service's.
struct Api {
    prometheus: PromApi,
    http: reqwest::Client,
    service: SocketAddr,
}

impl Api {
    async fn query(&self, promql: &str) -> Vec<Value> {
        self.prometheus.query(promql).await
    }

    async fn value(&self, promql: &str) -> Option<f64> {
        self.prometheus.value(promql).await
    }

    async fn put(&self, path: &str, body: Value) {
        support::put(&self.http, self.service, path, body).await;
    }

    async fn status(&self, path: &str) -> u16 {
        support::status(&self.http, self.service, path).await
    }
}

async fn firing(api: &Api, alert: &str) -> bool {
    api.prometheus.firing(alert, "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_sees_every_metric_and_fires_alerts() {
    let scratch = Scratch::new("e2e");
    let (state, service) = support::start_service(scratch.path(), 60).await;

    // Only `for:` is shortened: the rules keep their windows and intervals.
    let dir = scratch.dir("prometheus");
    let rules = copy_rules(
        &dir,
        &Timing {
            hold: "2s",
            interval: None,
            window: None,
        },
    );
    let prometheus = start_prometheus(&dir, &scrape_config(service, &rules), &[]);
    let api = Api {
        prometheus: PromApi::new(prometheus.addr),
        http: reqwest::Client::new(),
        service,
    };
    assert_eq!(
        api.prometheus.version().await,
        support::prometheus_server().version,
        "the server TEST_PROMETHEUS picks answers"
    );
    eventually("the target to be up", Duration::from_secs(60), || async {
        api.value("up{job=\"personal-assistant\"}").await == Some(1.0)
    })
    .await;

    every_seed_metric_has_data(&api).await;
    alerts_fire_on_faults(&api).await;
    counts_agree_with_the_generator(&api, &state).await;
    drop(prometheus);
}

/// Every seed metric returns data in Prometheus, rules included.
async fn every_seed_metric_has_data(api: &Api) {
    // Every seed metric returns data, rules included.
    for name in SEED_METRICS {
        eventually(name, Duration::from_secs(60), || async {
            !api.query(name).await.is_empty()
        })
        .await;
    }
    let success = api
        .value("sms_success_rate")
        .await
        .expect("the recording rule evaluates");
    assert!((0.0..=1.0).contains(&success), "{success}");
    let adoption = api
        .value("oauth_adoption_rate")
        .await
        .expect("the recording rule evaluates");
    assert!((0.0..=1.0).contains(&adoption), "{adoption}");
    // A rule group of its own, evaluated at its own offset: it may first evaluate after the
    // seed metrics above are all in.
    eventually(
        "generated function rules evaluate",
        Duration::from_secs(60),
        || async { !api.query("function:api_requests:rate5m").await.is_empty() },
    )
    .await;
}

/// A failing SMS provider and a database outage fire their alerts; the service keeps answering.
async fn alerts_fire_on_faults(api: &Api) {
    // The SMS provider starts failing: the failure-ratio alert fires.
    api.put(
        "/api/v1/simulation/sms",
        serde_json::json!({ "failure_rate": 1.0 }),
    )
    .await;
    eventually(
        "SmsFailureRatioHigh to fire",
        Duration::from_secs(90),
        || firing(api, "SmsFailureRatioHigh"),
    )
    .await;
    api.put(
        "/api/v1/simulation/sms",
        serde_json::json!({ "failure_rate": 0.0 }),
    )
    .await;

    // The database goes away: health turns 0 and 503, the service and /metrics keep answering.
    api.put(
        "/api/v1/simulation/database",
        serde_json::json!({ "available": false }),
    )
    .await;
    eventually(
        "database_health_status 0",
        Duration::from_secs(30),
        || async { api.value("database_health_status").await == Some(0.0) },
    )
    .await;
    assert_eq!(api.status("/health/database").await, 503);
    assert_eq!(api.status("/metrics").await, 200);
    assert_eq!(
        api.status("/api/v1/users/nobody/phone/verification").await,
        405,
        "routing still answers"
    );
    eventually("DatabaseDown to fire", Duration::from_secs(30), || {
        firing(api, "DatabaseDown")
    })
    .await;
    api.put(
        "/api/v1/simulation/database",
        serde_json::json!({ "available": true }),
    )
    .await;
    eventually(
        "database_health_status 1",
        Duration::from_secs(30),
        || async { api.value("database_health_status").await == Some(1.0) },
    )
    .await;
}

/// The counts Prometheus sees equal what the traffic generator reports it did.
async fn counts_agree_with_the_generator(api: &Api, state: &AppState) {
    // Counts agree with what the generator reports it did.
    state.report.stop();
    eventually("the generator to stop", Duration::from_secs(30), || async {
        state.report.in_flight() == 0
    })
    .await;
    let report = state.report.snapshot();
    assert!(
        report.registrations > 0 && report.verified > 0,
        "{report:?}"
    );
    let expectations = [
        ("user_registrations_total".to_owned(), report.registrations),
        (
            "phone_verifications_total{result=\"verified\"}".to_owned(),
            report.verified,
        ),
        (
            "phone_verifications_total{result=\"wrong_code\"}".to_owned(),
            report.wrong_codes,
        ),
        (
            "sum(http_requests_total{endpoint=\"/api/v1/users\",method=\"POST\",status=\"201\"})"
                .to_owned(),
            report.registrations,
        ),
    ];
    for (promql, expected) in &expectations {
        #[allow(clippy::cast_precision_loss)]
        let expected = *expected as f64;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = api.value(promql).await;
            if seen == Some(expected) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{promql}: Prometheus has {seen:?}, the generator reports {expected}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    // The handler's `result` agrees with the status the HTTP layer saw: `ok` for every answer
    // but a 5xx (a 409 or 422 is the client's mistake), `error` for each 5xx.
    for (handler, layer) in [
        (
            "sum(api_requests_total{function=\"Api::register_user\",result=\"ok\"})",
            "sum(http_requests_total{endpoint=\"/api/v1/users\",method=\"POST\",status!~\"5..|499\"})",
        ),
        (
            "sum(api_requests_total{function=\"Api::register_user\",result=\"error\"})",
            "sum(http_requests_total{endpoint=\"/api/v1/users\",method=\"POST\",status=~\"5..\"})",
        ),
    ] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A status the layer never saw has no series: none is 0.
            let (seen, expected) = (api.value(handler).await, api.value(layer).await);
            #[allow(clippy::float_cmp)] // counts, compared exactly
            if seen.is_some() && seen.unwrap_or(0.0) == expected.unwrap_or(0.0) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{handler} is {seen:?}, but {layer} is {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
