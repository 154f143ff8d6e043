//! End to end with a real Prometheus: the service runs with its traffic generator, Prometheus
//! (Debian's package, started here on 127.0.0.1) scrapes it every second with the deploy rules,
//! and the test checks through Prometheus' HTTP API that every metric of the seed has data,
//! that counts agree with what the generator did, that the recording rules evaluate, and that
//! alerts fire when the simulated SMS provider fails and when the database goes away.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use personal_assistant::{AppState, Config};
use serde_json::Value;

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

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The deploy rules, with every `for:` shortened so that the test need not wait minutes; the
/// rules' own timing is checked by `promtool test rules` (deploy/check.sh).
fn copy_rules(into: &Path) -> Vec<PathBuf> {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/rules");
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(rules).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let shortened = text.lines().fold(String::new(), |mut out, line| {
                let trimmed = line.trim_start();
                if trimmed.starts_with("for:") {
                    let _ = writeln!(out, "{}for: 2s", &line[..line.len() - trimmed.len()]);
                } else {
                    let _ = writeln!(out, "{line}");
                }
                out
            });
            let target = into.join(path.file_name().unwrap());
            std::fs::write(&target, shortened).unwrap();
            copied.push(target);
        }
    }
    copied
}

fn start_prometheus(scratch: &Path, service: SocketAddr) -> Prometheus {
    let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("Prometheus is installed: apt-get install -y prometheus (scripts/test does it)");
    let rules = copy_rules(scratch);
    let rule_files = rules.iter().fold(String::new(), |mut list, path| {
        let _ = writeln!(list, "  - {}", path.display());
        list
    });
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{rule_files}\
         scrape_configs:\n  - job_name: personal-assistant\n    static_configs:\n      - targets: ['{service}']\n"
    );
    let config_path = scratch.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let addr = free_addr();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            scratch.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Prometheus { child, addr }
}

struct Api {
    http: reqwest::Client,
    prometheus: SocketAddr,
    service: SocketAddr,
}

impl Api {
    /// The result vector of an instant query.
    async fn query(&self, promql: &str) -> Vec<Value> {
        let encoded: String = promql
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let url = format!("http://{}/api/v1/query?query={encoded}", self.prometheus);
        let Ok(response) = self.http.get(url).send().await else {
            return Vec::new();
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value of an instant query, if it has exactly one.
    async fn value(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql).await;
        match result.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Polls `check` until it holds, for at most `limit`.
    async fn eventually<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn put(&self, path: &str, body: Value) {
        let url = format!("http://{}{path}", self.service);
        let response = self.http.put(url).json(&body).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    async fn status(&self, path: &str) -> u16 {
        let url = format!("http://{}{path}", self.service);
        self.http.get(url).send().await.unwrap().status().as_u16()
    }
}

async fn firing(api: &Api, alert: &str) -> bool {
    !api.query(&format!(
        "ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"}}"
    ))
    .await
    .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_sees_every_metric_and_fires_alerts() {
    let scratch_path = std::env::temp_dir().join(format!("pa-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&scratch_path).unwrap();
    let scratch = Scratch(scratch_path);

    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            scratch.0.join("assistant.db").display()
        ),
        simulate: true,
        simulate_rate: 60,
    };
    let state: Arc<AppState> = personal_assistant::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let service = listener.local_addr().unwrap();
    let app = personal_assistant::router(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    personal_assistant::simulate::spawn(service, Arc::clone(&state), config.simulate_rate);

    let prometheus = start_prometheus(&scratch.0, service);
    let api = Api {
        http: reqwest::Client::new(),
        prometheus: prometheus.addr,
        service,
    };
    api.eventually("the target to be up", Duration::from_secs(60), || async {
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
        api.eventually(name, Duration::from_secs(60), || async {
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
    assert!(
        !api.query("function:api_requests:rate5m").await.is_empty(),
        "generated function rules evaluate"
    );
}

/// A failing SMS provider and a database outage fire their alerts; the service keeps answering.
async fn alerts_fire_on_faults(api: &Api) {
    // The SMS provider starts failing: the failure-ratio alert fires.
    api.put(
        "/api/v1/simulation/sms",
        serde_json::json!({ "failure_rate": 1.0 }),
    )
    .await;
    api.eventually(
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
    api.eventually(
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
    api.eventually("DatabaseDown to fire", Duration::from_secs(30), || {
        firing(api, "DatabaseDown")
    })
    .await;
    api.put(
        "/api/v1/simulation/database",
        serde_json::json!({ "available": true }),
    )
    .await;
    api.eventually(
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
    api.eventually("the generator to stop", Duration::from_secs(30), || async {
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
        (
            "sum(api_requests_total{function=\"Api::register_user\",result=\"ok\"})".to_owned(),
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
}
