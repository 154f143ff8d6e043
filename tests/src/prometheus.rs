//! A real Prometheus (Debian's `prometheus`, which scripts/test installs) for a test: started
//! on 127.0.0.1 with a scrape config for one target and the feature flags the test names,
//! queried through its HTTP API, killed and its data removed when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http;

/// A Prometheus server of the test's own.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus scraping `target`'s `/metrics` every second, with `flags`
    /// (`--enable-feature=native-histograms`, ...); `name` tells its data directory apart.
    ///
    /// # Panics
    ///
    /// When Prometheus is not installed, or cannot be started.
    #[must_use]
    pub fn start(name: &str, target: SocketAddr, flags: &[&str]) -> Prometheus {
        let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect(
                "Prometheus is installed: apt-get install -y prometheus (scripts/test does it)",
            );
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: {name}\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Prometheus { child, addr, dir }
    }

    /// Its log so far, for a failure message.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// The `data` of an API answer at `path`; `Null` while Prometheus does not answer yet.
    ///
    /// # Panics
    ///
    /// When Prometheus refuses the request as bad (a query it cannot parse).
    #[must_use]
    pub fn api(&self, path: &str) -> Value {
        let Ok(response) = http(self.addr, "GET", path, &[]) else {
            return Value::Null;
        };
        let body: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        assert_ne!(
            body["errorType"], "bad_data",
            "Prometheus refuses {path}: {}",
            body["error"]
        );
        body["data"].clone()
    }

    /// The result vector of an instant query; empty while Prometheus does not answer yet.
    #[must_use]
    pub fn query(&self, promql: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        self.api(&path)["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The one float value of an instant query.
    ///
    /// # Panics
    ///
    /// When the query has no result, or more than one.
    #[must_use]
    pub fn value(&self, promql: &str) -> f64 {
        let result = self.query(promql);
        assert_eq!(result.len(), 1, "`{promql}` gives {result:?}");
        number(&result[0]["value"][1])
    }

    /// The exemplars of the series `promql` selects, over the last hour: each series' labels
    /// with its exemplars (labels, value).
    ///
    /// # Panics
    ///
    /// When the clock is before the Unix epoch.
    #[must_use]
    pub fn exemplars(&self, promql: &str) -> Vec<Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            url_encode(promql),
            now - 3600,
            now + 60
        );
        self.api(&path).as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `text` as a URL query value.
#[must_use]
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A number as the query API writes it: a string.
///
/// # Panics
///
/// When `value` is not a string holding a number.
#[must_use]
pub fn number(value: &Value) -> f64 {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// Polls `check` every 100 ms until it gives a value, for at most `limit`.
///
/// # Panics
///
/// When `limit` passes first.
pub fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
