//! Pushing a registry as OTLP/HTTP protobuf: the same families `/metrics` serves, sent to an
//! OpenTelemetry Collector, Prometheus 3's OTLP receiver (`--web.enable-otlp-receiver`,
//! `http://prometheus:9090/api/v1/otlp`) or any OTLP backend, every interval from a thread of
//! its own, with a last push when it stops.
//!
//! What each family becomes:
//!
//! - counters: cumulative monotonic sums, each point with its series' start time (when the
//!   series was created; for counters that do not know theirs, collected ones, the time the
//!   first exporter of the process was made), the same at every push;
//! - gauges: gauges; classic histograms: explicit-bucket histograms (bounds without `+Inf`,
//!   the count of each bucket rather than cumulative ones); native histograms: exponential
//!   histograms (scale = schema, the zero bucket's count and threshold, each sign's buckets
//!   as an offset and counts), their classic buckets left to `/metrics`;
//! - labels, constant labels included: point attributes; exemplars (feature `exemplars`):
//!   their trace id, span id, value and time;
//! - the resource: `service.name`, `service.instance.id` (a random id made once per process
//!   unless given) and the attributes given; Prometheus makes them `job` and `instance`.
//!
//! Every point is cumulative: a push that fails loses no count, the next one carries it. A
//! failed push is logged (`log::warn!`) and counted in `metrics_otlp_push_failures_total`
//! (beside `metrics_otlp_pushes_total`), in the registry pushed; it never panics, and every
//! wait is bounded: the collectors by the registry's collect timeout, the request by
//! [`OtlpExporter::timeout`].
//!
//! Names are sent as `/metrics` writes them, without a unit (the name carries it): Prometheus'
//! translation strategies then give them back unchanged (`NoTranslation`,
//! `NoUTF8EscapingWithSuffixes`) or with runs of `_` made one and `total` moved to the end of a
//! counter's name (`UnderscoreEscapingWithSuffixes`).
//!
//! ```no_run
//! use std::time::Duration;
//! use instrument_metric::otlp::OtlpExporter;
//!
//! let pusher = OtlpExporter::new("http://127.0.0.1:9090/api/v1/otlp", "sms-gateway")
//!     .resource_attribute("deployment.environment.name", "staging")
//!     .interval(Duration::from_secs(15))
//!     .start()
//!     .expect("a valid endpoint");
//! // ... the service runs, recording into instrument_metric::registry() ...
//! pusher.shutdown().expect("the last push landed");
//! ```

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use prost::Message;

use crate::exposition::otlp::OtlpWriter;
pub use crate::exposition::otlp::messages as proto;
pub use crate::exposition::otlp::messages::OTLP_CONTENT_TYPE;
use crate::integrations::sending::{readable, url_problem};
use crate::{IntCounter, Registry};

use proto::{ExportMetricsServiceResponse, InstrumentationScope, KeyValue, Resource};

/// How often [`OtlpExporter::start`]'s thread pushes by default: the OpenTelemetry SDKs'
/// default export interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The default time one request may take, connecting included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pushes made, failed or not, counted in the registry pushed.
pub const PUSHES_FAMILY: &str = "metrics_otlp_pushes_total";

/// Pushes that failed, counted in the registry pushed.
pub const FAILURES_FAMILY: &str = "metrics_otlp_push_failures_total";

/// Why a push failed. Points are cumulative: the next push carries what this one did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtlpError {
    /// The endpoint is not `http://host[:port][/path]` (or `https://` with the `otlp-tls`
    /// feature).
    InvalidUrl(String),
    /// A setting is invalid: a zero interval, a resource attribute twice or without a name.
    InvalidConfig(String),
    /// A series could not be written as it should (a bug, reported rather than a push with a
    /// series missing).
    Encoding(String),
    /// The receiver could not be reached (or did not answer in time).
    Unreachable(String),
    /// The receiver answered with an error status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// What it said: its first 512 bytes, with `...` when it said more.
        body: String,
    },
    /// The receiver accepted the request but rejected some points.
    Rejected {
        /// Points rejected.
        points: i64,
        /// Why, as the receiver says.
        message: String,
    },
    /// The push thread is gone (it panicked): [`OtlpPusher::flush`] cannot push.
    Stopped,
}

impl fmt::Display for OtlpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OtlpError::InvalidUrl(why) => write!(f, "invalid OTLP endpoint: {why}"),
            OtlpError::InvalidConfig(why) => write!(f, "invalid OTLP exporter setting: {why}"),
            OtlpError::Encoding(why) => write!(f, "OTLP push not encoded: {why}"),
            OtlpError::Unreachable(why) => {
                write!(f, "the OTLP receiver could not be reached: {why}")
            }
            OtlpError::Refused { status, body } => write!(
                f,
                "the OTLP receiver refused the push with status {status}: {}",
                body.trim()
            ),
            OtlpError::Rejected { points, message } => write!(
                f,
                "the OTLP receiver rejected {points} points: {}",
                message.trim()
            ),
            OtlpError::Stopped => write!(f, "the OTLP push thread has stopped"),
        }
    }
}

impl std::error::Error for OtlpError {}

/// An OTLP/HTTP endpoint and what to push there: a registry (the global one unless
/// [`OtlpExporter::registry`] says otherwise) and the resource that names the process.
///
/// ```
/// use std::time::Duration;
/// use instrument_metric::Registry;
/// use instrument_metric::otlp::{OtlpExporter, proto::ExportMetricsServiceRequest};
/// use prost::Message;
///
/// let registry = Registry::new();
/// registry.int_counter("jobs_total", "Jobs run.").unwrap().inc_by(3);
/// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "batch")
///     .registry(&registry)
///     .instance_id("worker-1");
/// let body = exporter.encode().unwrap();
/// let request = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
/// let scope = &request.resource_metrics[0].scope_metrics[0];
/// assert!(scope.metrics.iter().any(|metric| metric.name == "jobs_total"));
/// ```
#[derive(Clone, Debug)]
pub struct OtlpExporter {
    url: String,
    /// `None`: the global registry, looked up at the first push, so that making an exporter
    /// early does not build it before `set_constant_labels`.
    registry: Option<Registry>,
    service_name: String,
    instance_id: Option<String>,
    attributes: Vec<(String, String)>,
    interval: Duration,
    timeout: Duration,
    /// The registry's push counters, registered at the first push (shared by clones).
    counters: Arc<OnceLock<Option<(IntCounter, IntCounter)>>>,
}

impl OtlpExporter {
    /// An exporter to the OTLP/HTTP endpoint `endpoint`, for the service `service_name`.
    /// `/v1/metrics` is added to the endpoint (as to `OTEL_EXPORTER_OTLP_ENDPOINT`) unless it
    /// ends with it: `http://collector:4318` or, for Prometheus 3,
    /// `http://prometheus:9090/api/v1/otlp`. The URL is checked when a push is made or the
    /// thread started.
    ///
    /// ```
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318/", "api");
    /// assert_eq!(exporter.url(), "http://127.0.0.1:4318/v1/metrics");
    /// ```
    #[must_use]
    pub fn new(endpoint: impl Into<String>, service_name: impl Into<String>) -> Self {
        process_start();
        let endpoint = endpoint.into();
        let endpoint = endpoint.trim_end_matches('/');
        let url = if endpoint.ends_with("/v1/metrics") {
            endpoint.to_owned()
        } else {
            format!("{endpoint}/v1/metrics")
        };
        OtlpExporter {
            url,
            registry: None,
            service_name: service_name.into(),
            instance_id: None,
            attributes: Vec::new(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            counters: Arc::default(),
        }
    }

    /// The URL pushes go to.
    ///
    /// ```
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318/v1/metrics", "api");
    /// assert_eq!(exporter.url(), "http://127.0.0.1:4318/v1/metrics");
    /// ```
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Pushes `registry` rather than the global one.
    ///
    /// ```
    /// use instrument_metric::Registry;
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let registry = Registry::new();
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "job").registry(&registry);
    /// # let _ = exporter;
    /// ```
    #[must_use]
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self.counters = Arc::default();
        self
    }

    /// The resource's `service.instance.id` (Prometheus' `instance`): by default an id made at
    /// random once per process, the same for every exporter of the process.
    ///
    /// ```
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "api").instance_id("api-0");
    /// # let _ = exporter;
    /// ```
    #[must_use]
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Adds an attribute to the resource (`deployment.environment.name`, `host.name`, ...).
    /// Prometheus writes them on its `target_info` series, and as labels of every series those
    /// its `otlp.promote_resource_attributes` names.
    ///
    /// ```
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "api")
    ///     .resource_attribute("deployment.environment.name", "production");
    /// # let _ = exporter;
    /// ```
    #[must_use]
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// How often the thread pushes ([`DEFAULT_INTERVAL`], 60 s, by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "api")
    ///     .interval(Duration::from_secs(10));
    /// # let _ = exporter;
    /// ```
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long one request may take, connecting included ([`DEFAULT_TIMEOUT`], 10 s, by
    /// default). The collectors are waited for up to the registry's collect timeout before.
    ///
    /// ```
    /// use std::time::Duration;
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let exporter = OtlpExporter::new("http://127.0.0.1:4318", "api")
    ///     .timeout(Duration::from_secs(2));
    /// # let _ = exporter;
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The body of a push made now: an `ExportMetricsServiceRequest`, encoded.
    ///
    /// # Errors
    ///
    /// [`OtlpError::InvalidConfig`] for a resource attribute twice or without a name;
    /// [`OtlpError::Encoding`] for a series that could not be written.
    ///
    /// ```
    /// use instrument_metric::Registry;
    /// use instrument_metric::otlp::{OtlpExporter, proto::{ExportMetricsServiceRequest, metric::Data}};
    /// use prost::Message;
    ///
    /// let registry = Registry::new();
    /// registry.int_gauge("queue_length", "Jobs waiting.").unwrap().set(4);
    /// let body = OtlpExporter::new("http://127.0.0.1:4318", "worker")
    ///     .registry(&registry)
    ///     .encode()
    ///     .unwrap();
    /// let request = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    /// let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    /// let Some(Data::Gauge(gauge)) = &metric.data else { panic!("a gauge") };
    /// assert_eq!(gauge.data_points[0].as_f64(), Some(4.0));
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, OtlpError> {
        let resource = self.resource()?.encode_to_vec();
        let mut writer = OtlpWriter::new(SystemTime::now(), process_start());
        let registry = self.target();
        let scrape = registry.start_scrape(registry.collect_timeout());
        registry.write_all(&mut writer, scrape, None);
        let metrics = writer.finish().map_err(OtlpError::Encoding)?;
        let scope = InstrumentationScope {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..InstrumentationScope::default()
        }
        .encode_to_vec();
        // `ExportMetricsServiceRequest { resource_metrics: [ResourceMetrics { resource,
        // scope_metrics: [ScopeMetrics { scope, metrics }] }] }`, the metrics encoded already.
        let field = |bytes: usize| 1 + prost::length_delimiter_len(bytes) + bytes;
        let scope_metrics = field(scope.len()) + metrics.len();
        let resource_metrics = field(resource.len()) + field(scope_metrics);
        let mut body = Vec::with_capacity(field(resource_metrics));
        let put = |tag: u8, length: usize, body: &mut Vec<u8>| {
            body.push(tag << 3 | 2);
            prost::encoding::encode_varint(length as u64, body);
        };
        put(1, resource_metrics, &mut body);
        put(1, resource.len(), &mut body);
        body.extend_from_slice(&resource);
        put(2, scope_metrics, &mut body);
        put(1, scope.len(), &mut body);
        body.extend_from_slice(&scope);
        body.extend_from_slice(&metrics);
        Ok(body)
    }

    /// The registry pushed.
    fn target(&self) -> &Registry {
        self.registry.as_ref().unwrap_or_else(|| crate::registry())
    }

    fn resource(&self) -> Result<Resource, OtlpError> {
        let instance = self.instance_id.as_deref().unwrap_or_else(|| instance_id());
        let mut attributes = vec![
            KeyValue::string("service.name", &self.service_name),
            KeyValue::string("service.instance.id", instance),
        ];
        for (key, value) in &self.attributes {
            if key.is_empty() {
                return Err(OtlpError::InvalidConfig(format!(
                    "a resource attribute (value `{value}`) has no name"
                )));
            }
            if attributes.iter().any(|attribute| attribute.key == *key) {
                return Err(OtlpError::InvalidConfig(format!(
                    "resource attribute `{key}` is given twice (`service.name` and \
                     `service.instance.id` are set by `OtlpExporter::new` and `instance_id`)"
                )));
            }
            attributes.push(KeyValue::string(key, value));
        }
        Ok(Resource {
            attributes,
            dropped_attributes_count: 0,
        })
    }

    /// Pushes the registry now, from this thread, counting the push (and its failure) in the
    /// registry's `metrics_otlp_pushes_total` (`metrics_otlp_push_failures_total`).
    ///
    /// # Errors
    ///
    /// An [`OtlpError`] when the settings are invalid, or the receiver is unreachable,
    /// refuses or rejects points.
    ///
    /// ```no_run
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// OtlpExporter::new("http://127.0.0.1:4318", "nightly-import").push().expect("pushed");
    /// ```
    pub fn push(&self) -> Result<(), OtlpError> {
        let counters = self.counters();
        if let Some((pushes, _)) = counters {
            pushes.inc();
        }
        let result = self.send();
        if let (Err(_), Some((_, failures))) = (&result, counters) {
            failures.inc();
        }
        result
    }

    /// Starts a thread that pushes every [`OtlpExporter::interval`], and once more when the
    /// returned [`OtlpPusher`] is shut down or dropped. A failed push is logged and counted;
    /// the thread goes on.
    ///
    /// # Errors
    ///
    /// [`OtlpError::InvalidUrl`] or [`OtlpError::InvalidConfig`] (a zero interval, a resource
    /// attribute twice), checked before the thread starts.
    ///
    /// ```no_run
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let pusher = OtlpExporter::new("http://127.0.0.1:4318", "api").start().unwrap();
    /// // ...
    /// pusher.shutdown().unwrap();
    /// ```
    pub fn start(self) -> Result<OtlpPusher, OtlpError> {
        check_url(&self.url)?;
        self.resource()?;
        if self.interval.is_zero() {
            return Err(OtlpError::InvalidConfig(
                "the push interval is zero; give one of a second or more".to_owned(),
            ));
        }
        self.counters();
        let (commands, received) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("otlp-push".to_owned())
            .spawn(move || self.run(&received))
            .map_err(|error| OtlpError::InvalidConfig(format!("no push thread: {error}")))?;
        Ok(OtlpPusher {
            commands,
            thread: Some(thread),
        })
    }

    /// The push thread: a push each interval, one for each flush, a last one at the end.
    fn run(&self, commands: &mpsc::Receiver<Command>) -> Result<(), OtlpError> {
        let mut next = Instant::now() + self.interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match commands.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.push_logged();
                    // A push slower than the interval skips the pushes it overran.
                    next += self.interval;
                    let now = Instant::now();
                    if next <= now {
                        next = now + self.interval;
                    }
                }
                Ok(Command::Flush(reply)) => {
                    let _ = reply.send(self.push_logged());
                }
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    return self.push_logged();
                }
            }
        }
    }

    fn push_logged(&self) -> Result<(), OtlpError> {
        let result = self.push();
        if let Err(error) = &result {
            log::warn!("OTLP push to {} failed: {error}", self.url);
        }
        result
    }

    /// The registry's push counters, registered the first time (a family of the same name
    /// registered otherwise is a conflict, reported by `Registry::check`: then uncounted).
    fn counters(&self) -> Option<&(IntCounter, IntCounter)> {
        self.counters
            .get_or_init(|| {
                let pushes = self
                    .target()
                    .int_counter(PUSHES_FAMILY, "OTLP pushes made, failed or not.")
                    .ok()?;
                let failures = self
                    .target()
                    .int_counter(FAILURES_FAMILY, "OTLP pushes that failed (logged).")
                    .ok()?;
                Some((pushes, failures))
            })
            .as_ref()
    }

    fn send(&self) -> Result<(), OtlpError> {
        check_url(&self.url)?;
        let body = self.encode()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        let mut response = agent
            .post(&self.url)
            .header("Content-Type", OTLP_CONTENT_TYPE)
            .send(&body[..])
            .map_err(|error| OtlpError::Unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(
            &mut std::io::Read::take(
                response.body_mut().as_reader(),
                64 * 1024, // a response names rejected points; a page is not read whole
            ),
            &mut answer,
        );
        if !(200..300).contains(&status) {
            return Err(OtlpError::Refused {
                status,
                body: readable(&answer),
            });
        }
        // A receiver that kept part of the points says so in a 2xx answer.
        if let Ok(ExportMetricsServiceResponse {
            partial_success: Some(partial),
        }) = ExportMetricsServiceResponse::decode(answer.as_slice())
            && (partial.rejected_data_points > 0 || !partial.error_message.is_empty())
        {
            return Err(OtlpError::Rejected {
                points: partial.rejected_data_points,
                message: partial.error_message,
            });
        }
        Ok(())
    }
}

enum Command {
    Flush(mpsc::Sender<Result<(), OtlpError>>),
    Stop,
}

/// The push thread of an [`OtlpExporter`]: pushes every interval; [`OtlpPusher::flush`] pushes
/// now, [`OtlpPusher::shutdown`] (or dropping it) pushes a last time and stops. Each push is
/// bounded by the registry's collect timeout and the exporter's request timeout, so that
/// stopping never hangs.
///
/// ```no_run
/// use instrument_metric::otlp::OtlpExporter;
///
/// let pusher = OtlpExporter::new("http://127.0.0.1:4318", "api").start().unwrap();
/// pusher.flush().unwrap(); // e.g. after a batch of work
/// drop(pusher); // a last push, then the thread ends
/// ```
#[derive(Debug)]
pub struct OtlpPusher {
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<Result<(), OtlpError>>>,
}

impl OtlpPusher {
    /// Pushes now, on the push thread, and waits for the answer.
    ///
    /// # Errors
    ///
    /// The push's [`OtlpError`]; [`OtlpError::Stopped`] when the thread is gone.
    ///
    /// ```no_run
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let pusher = OtlpExporter::new("http://127.0.0.1:4318", "api").start().unwrap();
    /// pusher.flush().expect("pushed");
    /// ```
    pub fn flush(&self) -> Result<(), OtlpError> {
        let (reply, answer) = mpsc::channel();
        self.commands
            .send(Command::Flush(reply))
            .map_err(|_| OtlpError::Stopped)?;
        answer.recv().map_err(|_| OtlpError::Stopped)?
    }

    /// Pushes a last time and stops the thread.
    ///
    /// # Errors
    ///
    /// The last push's [`OtlpError`]; [`OtlpError::Stopped`] when the thread had panicked.
    ///
    /// ```no_run
    /// use instrument_metric::otlp::OtlpExporter;
    ///
    /// let pusher = OtlpExporter::new("http://127.0.0.1:4318", "api").start().unwrap();
    /// pusher.shutdown().expect("the last push landed");
    /// ```
    pub fn shutdown(mut self) -> Result<(), OtlpError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), OtlpError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let _ = self.commands.send(Command::Stop);
        thread.join().unwrap_or(Err(OtlpError::Stopped))
    }
}

impl Drop for OtlpPusher {
    fn drop(&mut self) {
        // Logged by the thread when it fails.
        let _ = self.stop();
    }
}

/// The start time of counters that do not know theirs: when the first exporter of the process
/// was made, the same for every push.
fn process_start() -> SystemTime {
    static START: OnceLock<SystemTime> = OnceLock::new();
    *START.get_or_init(SystemTime::now)
}

/// This process's `service.instance.id` unless one is given: a random UUID (version 4), made
/// once.
fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use std::hash::{BuildHasher as _, Hasher as _};
        // std's hasher keys are random per process: two of them give 128 random bits.
        let random = |salt: u64| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.write_u128(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos()),
            );
            hasher.write_u32(std::process::id());
            hasher.finish()
        };
        let bits = u128::from(random(1)) << 64 | u128::from(random(2));
        // Version 4, variant 10.
        let bits = bits & !(0xf << 76) | (0x4 << 76);
        let bits = bits & !(0x3 << 62) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    })
}

/// `url` is `http://` or `https://` (with TLS compiled in) followed by a host.
fn check_url(url: &str) -> Result<(), OtlpError> {
    match url_problem(url, cfg!(feature = "otlp-tls"), "otlp-tls") {
        Some(problem) => Err(OtlpError::InvalidUrl(problem)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
