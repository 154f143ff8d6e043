//! Pushing metrics to a Prometheus Pushgateway, for batch jobs that end before a scrape.
//!
//! A job pushes once at the end (or after each phase); the gateway keeps the last push of each
//! grouping key (job name plus labels such as `instance`) for Prometheus to scrape.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

use crate::encode::{TEXT_CONTENT_TYPE, render};

/// Why a push failed. The job's metrics are unchanged and can be pushed again.
#[derive(Debug)]
pub enum PushError {
    /// The job name or a grouping label is empty or not a valid label name.
    InvalidGrouping(String),
    /// The gateway could not be reached.
    Unreachable(String),
    /// The gateway answered with an error status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the gateway said.
        body: String,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidGrouping(why) => write!(f, "invalid grouping key: {why}"),
            PushError::Unreachable(why) => write!(f, "the Pushgateway could not be reached: {why}"),
            PushError::Refused { status, body } => {
                write!(
                    f,
                    "the Pushgateway refused the push with status {status}: {}",
                    body.trim()
                )
            }
        }
    }
}

impl std::error::Error for PushError {}

/// A Pushgateway and the grouping key a job pushes under.
///
/// ```no_run
/// use metrics_runtime::push::Pushgateway;
///
/// let gateway = Pushgateway::new("http://127.0.0.1:9091", "nightly_import")
///     .grouping("instance", "db-1");
/// // ... the batch job runs, recording into metrics_runtime::registry() ...
/// gateway.push().expect("metrics pushed");
/// ```
#[derive(Clone, Debug)]
pub struct Pushgateway {
    url: String,
    job: String,
    grouping: Vec<(String, String)>,
    timeout: Duration,
}

impl Pushgateway {
    /// A gateway at `url` (`http://host:9091`), for the job named `job`.
    #[must_use]
    pub fn new(url: impl Into<String>, job: impl Into<String>) -> Self {
        Pushgateway {
            url: url.into().trim_end_matches('/').to_owned(),
            job: job.into(),
            grouping: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Adds a label to the grouping key.
    #[must_use]
    pub fn grouping(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// How long a request may take (10 s by default).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces every metric of this grouping key with the registry's current ones (`PUT`).
    ///
    /// # Errors
    ///
    /// A [`PushError`] when the key is invalid, or the gateway is unreachable or refuses.
    pub fn push(&self) -> Result<(), PushError> {
        self.send("PUT", Some(render()))
    }

    /// Adds the registry's metrics to this grouping key, replacing only families of the same
    /// name (`POST`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_add(&self) -> Result<(), PushError> {
        self.send("POST", Some(render()))
    }

    /// Deletes every metric of this grouping key from the gateway.
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn delete(&self) -> Result<(), PushError> {
        self.send("DELETE", None)
    }

    /// `/metrics/job/<job>/<label>/<value>...`, each value base64url-encoded (the gateway's
    /// `@base64` form), so that values with `/` or nothing at all travel intact.
    fn path(&self) -> Result<String, PushError> {
        if self.job.is_empty() {
            return Err(PushError::InvalidGrouping(
                "the job name is empty".to_owned(),
            ));
        }
        let encode = |value: &str| {
            if value.is_empty() {
                "=".to_owned()
            } else {
                base64::engine::general_purpose::URL_SAFE.encode(value)
            }
        };
        let mut path = format!("{}/metrics/job@base64/{}", self.url, encode(&self.job));
        for (name, value) in &self.grouping {
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name != "job";
            if !valid {
                return Err(PushError::InvalidGrouping(format!(
                    "`{name}` is not a valid grouping label"
                )));
            }
            path.extend(["/", name, "@base64/", &encode(value)]);
        }
        Ok(path)
    }

    fn send(&self, method: &str, body: Option<String>) -> Result<(), PushError> {
        let url = self.path()?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        let unreachable = |error: ureq::Error| PushError::Unreachable(error.to_string());
        let response = match (method, body) {
            ("PUT", Some(body)) => agent
                .put(&url)
                .header("Content-Type", TEXT_CONTENT_TYPE)
                .send(body),
            ("POST", Some(body)) => agent
                .post(&url)
                .header("Content-Type", TEXT_CONTENT_TYPE)
                .send(body),
            _ => agent.delete(&url).call(),
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            Err(PushError::Refused { status, body })
        }
    }
}
