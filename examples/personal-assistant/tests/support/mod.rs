//! What the example's end-to-end tests share: a scratch directory, Prometheus (Debian's 2.42 or
//! the pinned Prometheus 3, as `TEST_PROMETHEUS` says), Alertmanager and the Pushgateway
//! (Debian's packages; all started on 127.0.0.1), the deploy files rewritten for a test (intervals of
//! a second, local addresses), Prometheus' query API, polling with a deadline, the service in
//! this process, and a receiver for the notifications Alertmanager sends.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::prometheus::Server;
use personal_assistant::{AppState, Config};

pub mod storage;
use serde_json::Value;

/// The example's deploy directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// A deploy file's text.
pub fn deploy_file(relative: &str) -> String {
    let path = deploy_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A directory of the test's own, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("pa-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    /// A subdirectory, created.
    pub fn dir(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback address nobody listens on now.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A server process, killed when dropped.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    pub fn new(child: Child, addr: SocketAddr) -> Self {
        Process { child, addr }
    }

    /// Kills the process (SIGKILL: no goodbye) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn installed(candidates: &[&'static str], package: &str) -> &'static str {
    candidates
        .iter()
        .copied()
        .find(|path| Path::new(path).exists())
        .unwrap_or_else(|| {
            panic!(
                "{} is not installed: apt-get install -y {package} (scripts/test does it)",
                candidates[0]
            )
        })
}

/// Starts the Prometheus `TEST_PROMETHEUS` picks (Debian's 2.42 when unset, `3` for the pinned
/// Prometheus 3: `integration_tests::prometheus::SELECT`) with `config` written to
/// `dir/prometheus.yml`, so that the relative paths of a deploy file (`rules/...`,
/// `targets/...`) resolve inside `dir`; its log in `dir/log`.
pub fn start_prometheus(dir: &Path, config: &str, extra_args: &[&str]) -> Process {
    start_prometheus_on(Server::selected(), dir, config, extra_args)
}

/// [`start_prometheus`] with a Prometheus 3 whatever `TEST_PROMETHEUS` says (the selected one
/// when it is a 3.x, the pinned build otherwise), for a test of what only Prometheus 3 does.
pub fn start_prometheus3(dir: &Path, config: &str, extra_args: &[&str]) -> Process {
    start_prometheus_on(&Server::three(), dir, config, extra_args)
}

/// [`start_prometheus`] with `server`.
pub fn start_prometheus_on(
    server: &Server,
    dir: &Path,
    config: &str,
    extra_args: &[&str],
) -> Process {
    let addr = free_addr();
    Process::new(server.spawn(dir, config, addr, extra_args), addr)
}

/// The server [`start_prometheus`] starts.
pub fn prometheus_server() -> &'static Server {
    Server::selected()
}

/// Starts Alertmanager with `config` written to `dir/alertmanager.yml`, alone (no cluster
/// listener: it would bind every interface).
pub fn start_alertmanager(dir: &Path, config: &str) -> Process {
    let binary = installed(
        &[
            "/usr/bin/prometheus-alertmanager",
            "/usr/local/bin/alertmanager",
        ],
        "prometheus-alertmanager",
    );
    let config_path = dir.join("alertmanager.yml");
    std::fs::write(&config_path, config).unwrap();
    let addr = free_addr();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Process::new(child, addr)
}

/// Starts a Pushgateway that keeps what is pushed in memory only: Debian's binary otherwise
/// reads (and, stopped gently, writes) the machine-wide /var/lib/prometheus/pushgateway.data,
/// and would serve the groups someone else pushed.
pub fn start_pushgateway() -> Process {
    let binary = installed(
        &[
            "/usr/bin/prometheus-pushgateway",
            "/usr/local/bin/pushgateway",
        ],
        "prometheus-pushgateway",
    );
    let addr = free_addr();
    let child = Command::new(binary)
        .arg(format!("--web.listen-address={addr}"))
        .arg("--persistence.file=")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Process::new(child, addr)
}

/// How the test's copy of the deploy rules is sped up. The rules' own timing is checked by
/// `promtool test rules` (deploy/check.sh).
pub struct Timing {
    /// Every `for:`.
    pub hold: &'static str,
    /// Every group `interval:` (the recording group evaluates every 15 s otherwise).
    pub interval: Option<&'static str>,
    /// Every range in the expressions (`[5m]`), so that a ratio follows a fault within seconds.
    pub window: Option<&'static str>,
}

/// Copies the deploy rules into `dir/rules/`, sped up; their paths.
pub fn copy_rules(dir: &Path, timing: &Timing) -> Vec<PathBuf> {
    let into = dir.join("rules");
    std::fs::create_dir_all(&into).unwrap();
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(deploy_dir().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "yml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        if text.contains("for:") {
            text = set_key(&text, "for", timing.hold);
        }
        if let Some(interval) = timing.interval
            && text.contains("interval:")
        {
            text = set_key(&text, "interval", interval);
        }
        if let Some(window) = timing.window {
            text = set_ranges(&text, window);
        }
        let target = into.join(path.file_name().unwrap());
        std::fs::write(&target, text).unwrap();
        copied.push(target);
    }
    copied.sort();
    copied
}

/// `text` with the value of every `key:` line set to `value`, indentation kept.
pub fn set_key(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}:");
    let mut found = false;
    let out = text.lines().fold(String::new(), |mut out, line| {
        let trimmed = line.trim_start();
        if trimmed.starts_with(&prefix) {
            found = true;
            let _ = writeln!(
                out,
                "{}{prefix} {value}",
                &line[..line.len() - trimmed.len()]
            );
        } else {
            let _ = writeln!(out, "{line}");
        }
        out
    });
    assert!(found, "no `{prefix}` line to shorten");
    out
}

/// `text` with every range selector like `[5m]` read as `[window]`.
fn set_ranges(text: &str, window: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        if let Some(close) = rest.find(']') {
            let inside = &rest[..close];
            let (digits, unit) = inside.split_at(inside.len().saturating_sub(1));
            if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && ["s", "m", "h", "d"].contains(&unit)
            {
                out.push_str(window);
                rest = &rest[close..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` (the deploy file `what`) with each `from` replaced by its `to`. A `from` that is
/// missing fails here, naming it, rather than as a test waiting for a server that is not asked.
pub fn replace_each(what: &str, text: &str, pairs: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in pairs {
        assert!(
            text.contains(from),
            "{what} no longer contains `{from}`: update the test's rewriting of it"
        );
        text = text.replace(from, to);
    }
    text
}

/// `text`, a Prometheus configuration, without its top-level sections `keys`; and those
/// sections.
pub fn take_sections(text: &str, keys: &[&str]) -> (String, String) {
    let (mut kept, mut taken) = (String::new(), String::new());
    let mut taking = false;
    for line in text.lines() {
        if !line.is_empty() && !line.starts_with([' ', '#']) {
            taking = keys.iter().any(|key| {
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
            });
        }
        let into = if taking { &mut taken } else { &mut kept };
        into.push_str(line);
        into.push('\n');
    }
    for key in keys {
        assert!(
            taken.contains(&format!("{key}:")),
            "the configuration has no `{key}:` section to move"
        );
    }
    (kept, taken)
}

/// A Prometheus configuration that scrapes `service` every second with the rules in `rules`
/// (for a test that needs no Alertmanager).
pub fn scrape_config(service: SocketAddr, rules: &[PathBuf]) -> String {
    let rule_files = rules.iter().fold(String::new(), |mut list, path| {
        let _ = writeln!(list, "  - {}", path.display());
        list
    });
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{rule_files}\
         scrape_configs:\n  - job_name: personal-assistant\n    static_configs:\n      - targets: ['{service}']\n"
    )
}

/// deploy/alertmanager.yml with a group wait and interval of a second, and its pager and chat
/// endpoints (and their secrets, written to `dir`) pointed at `inbox`: pages arrive at
/// `/pagerduty`, chat messages at `/slack`.
pub fn alertmanager_config(dir: &Path, inbox: SocketAddr) -> String {
    let routing_key = dir.join("pagerduty-routing-key");
    std::fs::write(&routing_key, ROUTING_KEY).unwrap();
    let slack_url = dir.join("slack-webhook-url");
    std::fs::write(&slack_url, format!("http://{inbox}/slack")).unwrap();
    let text = replace_each(
        "deploy/alertmanager.yml",
        &deploy_file("alertmanager.yml"),
        &[
            (
                "https://events.pagerduty.com/v2/enqueue",
                &format!("http://{inbox}/pagerduty"),
            ),
            (
                "/etc/alertmanager/secrets/pagerduty-routing-key",
                &routing_key.display().to_string(),
            ),
            (
                "/etc/alertmanager/secrets/slack-webhook-url",
                &slack_url.display().to_string(),
            ),
        ],
    );
    set_key(&set_key(&text, "group_wait", "1s"), "group_interval", "1s")
}

/// The routing key the test's Alertmanager reads from its secret file.
pub const ROUTING_KEY: &str = "test-routing-key";

/// Polls `check` until it holds, for at most `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the server at `addr` answers `GET /-/ready` with 200 (Prometheus, Alertmanager
/// and the Pushgateway all have it).
pub async fn ready(http: &reqwest::Client, what: &str, addr: SocketAddr) {
    eventually(what, Duration::from_secs(30), || async {
        http.get(format!("http://{addr}/-/ready"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success())
    })
    .await;
}

/// Prometheus' query API.
#[derive(Clone)]
pub struct PromApi {
    http: reqwest::Client,
    pub addr: SocketAddr,
}

impl PromApi {
    pub fn new(addr: SocketAddr) -> Self {
        PromApi {
            http: reqwest::Client::new(),
            addr,
        }
    }

    /// The result vector of an instant query; empty while Prometheus does not answer yet. A
    /// query Prometheus refuses fails the test, with Prometheus' reason.
    pub async fn query(&self, promql: &str) -> Vec<Value> {
        let url = format!(
            "http://{}/api/v1/query?query={}",
            self.addr,
            url_encode(promql)
        );
        let Ok(response) = self.http.get(url).send().await else {
            return Vec::new();
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            body["errorType"] != "bad_data",
            "Prometheus refuses `{promql}`: {}",
            body["error"]
        );
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The single value of an instant query, if it has exactly one.
    pub async fn value(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql).await;
        match result.as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Every rule Prometheus loaded, from `/api/v1/rules`: each group's `rules` array (name,
    /// query, type `recording` or `alerting`, health, last error, labels); empty while
    /// Prometheus does not answer yet.
    pub async fn rule_objects(&self) -> Vec<Value> {
        self.api("/api/v1/rules").await["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The `data` of a GET of the API at `path` (`/api/v1/rules`, ...); `Null` while Prometheus
    /// does not answer yet.
    pub async fn api(&self, path: &str) -> Value {
        let Ok(response) = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
        else {
            return Value::Null;
        };
        let body: Value = response.json().await.unwrap_or(Value::Null);
        body["data"].clone()
    }

    /// The version the server reports (`/api/v1/status/buildinfo`), once it answers (within
    /// 30 s).
    pub async fn version(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = self.api("/api/v1/status/buildinfo").await;
            if let Some(version) = info["version"].as_str() {
                return version.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for Prometheus' build info"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every rule loaded (recording and alerting): its name and the `health` and `lastError` of
    /// its last evaluation (`unknown` before the first).
    pub async fn rules(&self) -> Vec<(String, String, String)> {
        let data = self.api("/api/v1/rules").await;
        let mut rules = Vec::new();
        for group in data["groups"].as_array().into_iter().flatten() {
            for rule in group["rules"].as_array().into_iter().flatten() {
                let text = |key: &str| rule[key].as_str().unwrap_or_default().to_owned();
                rules.push((text("name"), text("health"), text("lastError")));
            }
        }
        rules
    }

    /// Whether `alert` is firing, with `matchers` (`instance="..."`, or empty) on it.
    pub async fn firing(&self, alert: &str, matchers: &str) -> bool {
        let comma = if matchers.is_empty() { "" } else { "," };
        !self
            .query(&format!(
                "ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"{comma}{matchers}}}"
            ))
            .await
            .is_empty()
    }
}

/// Waits until every rule Prometheus loaded has evaluated (within `limit`: rule groups at an
/// interval of a second, see [`Timing`]), then fails naming each that did not evaluate cleanly.
/// Returns how many rules there are.
pub async fn every_rule_evaluates(prometheus: &PromApi, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let rules = loop {
        let rules = prometheus.rules().await;
        if !rules.is_empty() && rules.iter().all(|(_, health, _)| health != "unknown") {
            break rules;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for every rule to evaluate: {rules:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let failed: Vec<_> = rules
        .iter()
        .filter(|(_, health, _)| health != "ok")
        .map(|(name, health, error)| format!("{name}: {health} {error}"))
        .collect();
    assert!(failed.is_empty(), "rules that fail:\n{}", failed.join("\n"));
    rules.len()
}

/// `text` as a URL query value.
pub fn url_encode(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// `PUT` of a JSON body to the service; the answer, which must be a success.
pub async fn put(http: &reqwest::Client, service: SocketAddr, path: &str, body: Value) -> Value {
    let response = http
        .put(format!("http://{service}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// The status of `GET path` on the service.
pub async fn status(http: &reqwest::Client, service: SocketAddr, path: &str) -> u16 {
    let url = format!("http://{service}{path}");
    http.get(url).send().await.unwrap().status().as_u16()
}

/// Starts the service in this process, with its database in `dir` and the traffic generator
/// at about `rate` requests per second.
pub async fn start_service(dir: &Path, rate: u32) -> (Arc<AppState>, SocketAddr) {
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}?mode=rwc", dir.join("assistant.db").display()),
        simulate: true,
        simulate_rate: rate,
    };
    let state: Arc<AppState> = personal_assistant::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let service = listener.local_addr().unwrap();
    // As `personal_assistant::run` serves it: requests in spans, `_created` in OpenMetrics.
    instrument_metric::registry().set_created_samples(true);
    let app = personal_assistant::trace::traced(personal_assistant::router(Arc::clone(&state)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    personal_assistant::simulate::spawn(service, Arc::clone(&state), config.simulate_rate);
    (state, service)
}

/// Receives what Alertmanager sends (any path, a JSON body) and keeps it, in order.
pub struct Inbox {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Inbox {
    pub async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, axum::Json(body): axum::Json<Value>| {
                let kept = Arc::clone(&kept);
                async move {
                    kept.lock().unwrap().push((uri.path().to_owned(), body));
                    axum::http::StatusCode::ACCEPTED
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Inbox { addr, received }
    }

    /// The bodies received at `path` so far, oldest first.
    pub fn at(&self, path: &str) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| at == path)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// The pager events received so far whose summary names `alert`.
    pub fn pages(&self, alert: &str) -> Vec<Value> {
        self.at("/pagerduty")
            .into_iter()
            .filter(|event| {
                event["payload"]["summary"]
                    .as_str()
                    .is_some_and(|summary| summary.split(' ').any(|word| word == alert))
            })
            .collect()
    }
}
