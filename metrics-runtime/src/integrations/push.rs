//! Pushing metrics to a Prometheus Pushgateway, for batch jobs that end before a scrape.
//!
//! A job pushes once at the end (or after each phase); the gateway keeps the last push of each
//! grouping key (job name plus labels such as `instance`) for Prometheus to scrape.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

use crate::Registry;
use crate::exposition::text::TEXT_CONTENT_TYPE;
use crate::integrations::sending::{REFUSAL_BODY_BYTES, readable, url_problem};

/// The default time a request to the gateway may take, connecting included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a push failed. The job's metrics are unchanged and can be pushed again.
#[derive(Debug)]
pub enum PushError {
    /// The gateway's URL is not `http://host[:port][/path]` (or `https://` with the
    /// `push-tls` feature).
    InvalidUrl(String),
    /// The job name or a grouping label is empty or not a valid label name.
    InvalidGrouping(String),
    /// The gateway could not be reached.
    Unreachable(String),
    /// The gateway answered with an error status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the gateway said: its first 512 bytes, with `...` when it said more.
        body: String,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidUrl(why) => write!(f, "invalid Pushgateway URL: {why}"),
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

/// A Pushgateway and the grouping key a job pushes under. Each request may take
/// [`DEFAULT_TIMEOUT`] (10 s) unless [`Pushgateway::timeout`] says otherwise.
///
/// ```no_run
/// use instrument_metric::push::Pushgateway;
///
/// let gateway = Pushgateway::new("http://127.0.0.1:9091", "nightly_import")
///     .grouping("instance", "db-1");
/// // ... the batch job runs, recording into instrument_metric::registry() ...
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
    /// A gateway at `url` (`http://host:9091`), for the job named `job`, with requests
    /// limited to [`DEFAULT_TIMEOUT`]. The URL is checked when a request is made: one without
    /// `http://` is [`PushError::InvalidUrl`].
    #[must_use]
    pub fn new(url: impl Into<String>, job: impl Into<String>) -> Self {
        Pushgateway {
            url: url.into().trim_end_matches('/').to_owned(),
            job: job.into(),
            grouping: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds a label to the grouping key.
    #[must_use]
    pub fn grouping(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.grouping.push((name.into(), value.into()));
        self
    }

    /// How long a request may take, connecting included ([`DEFAULT_TIMEOUT`], 10 s, by
    /// default).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces every metric of this grouping key with the global registry's current ones
    /// (`PUT`). A batch job should rather push a registry of its own, with
    /// [`Pushgateway::push_registry`]: the global one holds every family the program declares.
    ///
    /// # Errors
    ///
    /// A [`PushError`] when the key is invalid, or the gateway is unreachable or refuses.
    pub fn push(&self) -> Result<(), PushError> {
        self.push_registry(crate::registry())
    }

    /// Replaces every metric of this grouping key with `registry`'s current ones (`PUT`): the
    /// job's own metrics only.
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_registry(&self, registry: &Registry) -> Result<(), PushError> {
        self.send("PUT", Some(registry.render()))
    }

    /// Adds the global registry's metrics to this grouping key, replacing only families of the
    /// same name (`POST`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_add(&self) -> Result<(), PushError> {
        self.push_add_registry(crate::registry())
    }

    /// Adds `registry`'s metrics to this grouping key, replacing only families of the same name
    /// (`POST`).
    ///
    /// # Errors
    ///
    /// As [`Pushgateway::push`].
    pub fn push_add_registry(&self, registry: &Registry) -> Result<(), PushError> {
        self.send("POST", Some(registry.render()))
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
        check_url(&self.url)?;
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
            let mut body = Vec::new();
            let _ = std::io::Read::read_to_end(
                &mut std::io::Read::take(
                    response.body_mut().as_reader(),
                    REFUSAL_BODY_BYTES as u64 + 1,
                ),
                &mut body,
            );
            Err(PushError::Refused {
                status,
                body: readable(&body),
            })
        }
    }
}

/// `url` is `http://` or `https://` (with TLS compiled in) followed by a host.
fn check_url(url: &str) -> Result<(), PushError> {
    match url_problem(url, cfg!(feature = "push-tls"), "push-tls") {
        Some(problem) => Err(PushError::InvalidUrl(problem)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for good in [
            "http://127.0.0.1:9091",
            "HTTP://gateway",
            "http://gw/prefix",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "127.0.0.1:9091",
            "gateway",
            "ftp://gw",
            "http://",
            "http:///x",
            "",
        ] {
            assert!(
                matches!(check_url(bad), Err(PushError::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert_eq!(check_url("https://gw").is_ok(), cfg!(feature = "push-tls"));
    }
}
