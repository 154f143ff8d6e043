//! A real Prometheus for a test: which one (`TEST_PROMETHEUS` picks Debian's 2.42 or the pinned
//! Prometheus 3), and one started on 127.0.0.1 with a scrape config for one target and the
//! feature flags the test names, queried through its HTTP API, killed and its data removed when
//! dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http;

/// The environment variable that picks the Prometheus (and promtool) of the tests: unset or `2`
/// for Debian's package (2.42, `/usr/bin/prometheus`, which scripts/test installs), `3` for the
/// Prometheus 3 pinned in scripts/prometheus3/go.mod (built into `build/prometheus3/` by
/// scripts/prometheus3/build, which scripts/test runs), or an absolute directory holding
/// `prometheus` and `promtool`.
pub const SELECT: &str = "TEST_PROMETHEUS";

/// A Prometheus server's binaries and version.
#[derive(Clone, Debug)]
pub struct Server {
    /// The server.
    pub prometheus: PathBuf,
    /// Its `promtool`.
    pub promtool: PathBuf,
    /// Its version, as `--version` reports it (`2.42.0+ds`, `3.16.0`).
    pub version: String,
    /// The major version: 2 or 3.
    pub major: u32,
}

impl Server {
    /// The server [`SELECT`] picks, read once per test binary.
    ///
    /// # Panics
    ///
    /// When the variable names something else, or the server it picks is not there.
    #[must_use]
    pub fn selected() -> &'static Server {
        static SELECTED: OnceLock<Server> = OnceLock::new();
        SELECTED.get_or_init(|| match std::env::var(SELECT).as_deref() {
            Err(_) | Ok("" | "2") => Server::debian(),
            Ok("3") => Server::pinned(),
            Ok(dir) if Path::new(dir).is_absolute() => Server::in_dir(Path::new(dir)),
            Ok(other) => panic!(
                "{SELECT}={other}: say 2 (Debian's Prometheus), 3 (the pinned Prometheus 3) \
                 or an absolute directory holding prometheus and promtool"
            ),
        })
    }

    /// A Prometheus 3: the selected server when it is one, otherwise the pinned build, for a
    /// test of what only Prometheus 3 does.
    ///
    /// # Panics
    ///
    /// When the pinned build is not there.
    #[must_use]
    pub fn three() -> Server {
        let selected = Server::selected();
        if selected.major >= 3 {
            selected.clone()
        } else {
            Server::pinned()
        }
    }

    /// Debian's package (`apt-get install prometheus`).
    fn debian() -> Server {
        let found = |candidates: [&str; 2]| {
            candidates
                .into_iter()
                .map(PathBuf::from)
                .find(|path| path.exists())
                .unwrap_or_else(|| {
                    panic!(
                        "{} is not installed: apt-get install -y prometheus (scripts/test does it)",
                        candidates[0]
                    )
                })
        };
        Server::with(
            found(["/usr/bin/prometheus", "/usr/local/bin/prometheus"]),
            found(["/usr/bin/promtool", "/usr/local/bin/promtool"]),
        )
    }

    /// The Prometheus 3 that scripts/prometheus3/build puts in `build/prometheus3/`.
    fn pinned() -> Server {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/prometheus3");
        assert!(
            dir.join("prometheus").exists() && dir.join("promtool").exists(),
            "Prometheus 3 is not built in {}: run scripts/prometheus3/build (Go needed; \
             scripts/test runs it)",
            dir.display()
        );
        Server::in_dir(&dir)
    }

    fn in_dir(dir: &Path) -> Server {
        Server::with(dir.join("prometheus"), dir.join("promtool"))
    }

    fn with(prometheus: PathBuf, promtool: PathBuf) -> Server {
        let output = Command::new(&prometheus)
            .arg("--version")
            .output()
            .unwrap_or_else(|error| panic!("{}: {error}", prometheus.display()));
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        let version = text
            .split_whitespace()
            .skip_while(|word| *word != "version")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let major = version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{} --version names no version: {text}",
                    prometheus.display()
                )
            });
        Server {
            prometheus,
            promtool,
            version,
            major,
        }
    }

    /// `config` and `flags` as this server reads them. A Prometheus 3 ignores
    /// `--enable-feature=native-histograms` and scrapes native histograms with
    /// `scrape_native_histograms: true` (here in `global:`) instead.
    #[must_use]
    pub fn adapt(&self, config: &str, flags: &[&str]) -> (String, Vec<String>) {
        const NATIVE: &str = "--enable-feature=native-histograms";
        if self.major < 3 || !flags.contains(&NATIVE) {
            return (
                config.to_owned(),
                flags.iter().map(|flag| (*flag).to_owned()).collect(),
            );
        }
        let config = match config.strip_prefix("global:\n") {
            Some(rest) => format!("global:\n  scrape_native_histograms: true\n{rest}"),
            None => format!("global:\n  scrape_native_histograms: true\n{config}"),
        };
        let flags = flags
            .iter()
            .filter(|flag| **flag != NATIVE)
            .map(|flag| (*flag).to_owned())
            .collect();
        (config, flags)
    }

    /// Starts this server with `config` written to `dir/prometheus.yml` (so that relative
    /// paths in it resolve inside `dir`), its data in `dir/data`, its log in `dir/log`,
    /// listening on `addr` (loopback), with `flags` (see [`Server::adapt`]; `--agent` for an
    /// agent, whose data goes to the same place).
    ///
    /// # Panics
    ///
    /// When the files cannot be written or the server cannot be started.
    #[must_use]
    pub fn spawn(&self, dir: &Path, config: &str, addr: SocketAddr, flags: &[&str]) -> Child {
        let (config, flags) = self.adapt(config, flags);
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        // An agent (`--agent`) refuses the server's storage flag and has one of its own.
        let storage = if flags.iter().any(|flag| flag == "--agent") {
            "--storage.agent.path"
        } else {
            "--storage.tsdb.path"
        };
        Command::new(&self.prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("{storage}={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("{}: {error}", self.prometheus.display()))
    }
}

/// A Prometheus server of the test's own.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts the selected Prometheus ([`SELECT`]) scraping `target`'s `/metrics` every second,
    /// with `flags` (`--enable-feature=native-histograms`, ...); `name` tells its data directory
    /// apart.
    ///
    /// # Panics
    ///
    /// When Prometheus is not installed, or cannot be started.
    #[must_use]
    pub fn start(name: &str, target: SocketAddr, flags: &[&str]) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: {name}\n    static_configs:\n      \
             - targets: ['{target}']\n"
        );
        Prometheus::start_with(Server::selected(), name, &config, flags)
    }

    /// Starts `server` with `config` (a whole configuration file) and `flags`; `name` tells its
    /// data directory apart.
    ///
    /// # Panics
    ///
    /// When the server cannot be started.
    #[must_use]
    pub fn start_with(server: &Server, name: &str, config: &str, flags: &[&str]) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = server.spawn(&dir, config, addr, flags);
        Prometheus { child, addr, dir }
    }

    /// The address it listens on (loopback): its API, and its OTLP receiver at
    /// `/api/v1/otlp/v1/metrics` when started with `--web.enable-otlp-receiver`.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
