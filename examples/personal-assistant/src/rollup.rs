//! `personal-assistant rollup`: the nightly SMS usage rollup, a batch job. It reads the SMS
//! messages of a window (the last day by default) from the service's database, rolls them up
//! by provider and status, and pushes what it found, and whether it worked, to a Prometheus
//! Pushgateway, which Prometheus scrapes with `honor_labels: true`.
//!
//! The job records into a [`Registry`] of its own and pushes only that: none of the families
//! the service declares (`http_*`, instrumented functions, process metrics) leave with it.
//!
//! Every value describes one run, so each is a gauge: the gateway keeps the last push of each
//! family and does not add pushes up, so a counter pushed by successive runs (each from zero)
//! would lose a run whenever the next one counted as much or more. Which families a run
//! pushes depends on how it ended, and every push adds to the job's group (`POST`) rather than
//! replacing it:
//!
//! - every run: `sms_usage_rollup_duration_seconds`;
//! - a run that succeeded: the rollup (`sms_usage_rollup_messages` by provider and status,
//!   `sms_usage_rollup_users`, `sms_usage_rollup_cost_dollars` by provider) and
//!   `sms_usage_rollup_last_success_timestamp_seconds`;
//! - a run that failed: `sms_usage_rollup_last_failure_timestamp_seconds` only, so the
//!   gateway keeps the last success's time and rollup, and a failed run never publishes a
//!   partial or empty rollup as if it were the day's. The alert `SmsUsageRollupNotSucceeded`
//!   (deploy/rules/alerts.yml) fires when the last success is too old.

use std::str::FromStr as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_metric::push::{PushError, Pushgateway};
use instrument_metric::{
    Gauge, GaugeFamily, IntGauge, IntGaugeFamily, LabelValue, Metrics, Registry,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Row as _};

use crate::metrics::{SmsLabels, SmsProvider, SmsStatus};

/// The job name the rollup pushes under by default.
pub const DEFAULT_JOB: &str = "sms_usage_rollup";

/// What every run pushes.
#[derive(Metrics)]
#[metrics(scoped, prefix = "sms_usage_rollup")]
pub struct RunMetrics {
    /// How long the last run took to read and roll up the messages, in seconds, whether it
    /// succeeded or not.
    pub duration_seconds: Gauge,
}

/// What a run that succeeded pushes: the rollup and the time of success.
#[derive(Metrics)]
#[metrics(scoped, prefix = "sms_usage_rollup")]
pub struct SuccessMetrics {
    /// SMS messages of the window of the last successful run (the rows it read), by provider
    /// and status.
    pub messages: IntGaugeFamily<SmsLabels>,
    /// Users who sent at least one SMS message in the window of the last successful run.
    pub users: IntGauge,
    /// Cost of the SMS messages of the window of the last successful run, in US dollars, by
    /// provider.
    pub cost_dollars: GaugeFamily<SmsProvider>,
    /// When the job last succeeded, in seconds since the Unix epoch.
    pub last_success_timestamp_seconds: Gauge,
}

/// What a run that failed pushes: the time of failure, nothing else.
#[derive(Metrics)]
#[metrics(scoped, prefix = "sms_usage_rollup")]
pub struct FailureMetrics {
    /// When the job last failed, in seconds since the Unix epoch.
    pub last_failure_timestamp_seconds: Gauge,
}

/// How to run the rollup.
#[derive(Clone, Debug)]
pub struct Job {
    /// The service's database, any sqlx URL. A SQLite file must exist: the job never creates
    /// one.
    pub database_url: String,
    /// The window rolled up: that long before the second the run starts in (the messages of
    /// that second are left to the next run).
    pub window: Duration,
    /// Where to push, under which job name and grouping key.
    pub gateway: Pushgateway,
}

/// The SMS usage of one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Messages and their cost in microdollars, by provider and status; only the pairs that
    /// have messages.
    pub messages: Vec<(SmsProvider, SmsStatus, i64, i64)>,
    /// Users who sent at least one message.
    pub users: i64,
}

impl Usage {
    /// Every message of the window: the rows read.
    #[must_use]
    pub fn rows(&self) -> i64 {
        self.messages.iter().map(|row| row.2).sum()
    }
}

/// How a run ended, once its metrics are pushed.
#[derive(Debug)]
pub struct Report {
    /// The rollup, or why it failed.
    pub usage: Result<Usage, String>,
    /// How long reading and rolling up took.
    pub duration: Duration,
}

/// Why [`run`] did not end well.
#[derive(Debug)]
pub enum JobError {
    /// The rollup failed; its failure was pushed.
    Rollup(String),
    /// The push failed, whatever the rollup did.
    Push {
        /// How the rollup ended.
        report: Report,
        /// Why the push failed.
        error: PushError,
    },
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Rollup(why) => write!(
                f,
                "the SMS usage rollup failed: {why}; its failure is pushed \
                 (sms_usage_rollup_last_failure_timestamp_seconds), and the last success stays on \
                 the Pushgateway"
            ),
            JobError::Push { report, error } => {
                let rollup = match &report.usage {
                    Ok(usage) => format!(
                        "the rollup itself succeeded ({} messages of {} users)",
                        usage.rows(),
                        usage.users
                    ),
                    Err(why) => format!("the rollup itself failed too: {why}"),
                };
                write!(
                    f,
                    "cannot push the rollup's metrics to --pushgateway: {error}; check that a \
                     Pushgateway answers at that URL, like http://127.0.0.1:9091, and run the job \
                     again ({rollup})"
                )
            }
        }
    }
}

impl std::error::Error for JobError {}

/// Runs the rollup once and pushes its metrics (see the module documentation).
///
/// # Errors
///
/// [`JobError::Rollup`] when the rollup failed (and its failure was pushed),
/// [`JobError::Push`] when the push failed.
pub async fn run(job: &Job) -> Result<Report, JobError> {
    let started = Instant::now();
    let end = now_seconds();
    let window = i64::try_from(job.window.as_secs()).unwrap_or(i64::MAX);
    let usage = read_usage(&job.database_url, end.saturating_sub(window), end).await;
    let duration = started.elapsed();

    let registry = Registry::new();
    record(&registry, &usage, duration, now_timestamp());
    let gateway = job.gateway.clone();
    let pushed = tokio::task::spawn_blocking(move || gateway.push_add_registry(&registry))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let report = Report { usage, duration };
    match (pushed, &report.usage) {
        (Err(error), _) => Err(JobError::Push { report, error }),
        (Ok(()), Err(why)) => Err(JobError::Rollup(why.clone())),
        (Ok(()), Ok(_)) => Ok(report),
    }
}

/// Registers in `registry` what a run that ended with `usage` pushes, with its values.
pub fn record(
    registry: &Registry,
    usage: &Result<Usage, String>,
    duration: Duration,
    finished_at: f64,
) {
    RunMetrics::register_in(registry)
        .duration_seconds
        .set(duration.as_secs_f64());
    match usage {
        Ok(usage) => {
            let metrics = SuccessMetrics::register_in(registry);
            let mut cost = [0_i64; SmsProvider::ALL.len()];
            for &(provider, status, messages, cost_microdollars) in &usage.messages {
                metrics
                    .messages
                    .with(SmsLabels { provider, status })
                    .set(messages);
                cost[provider.index()] += cost_microdollars;
            }
            for provider in SmsProvider::ALL {
                #[allow(clippy::cast_precision_loss)] // far below 2^53 microdollars
                let dollars = cost[provider.index()] as f64 / 1e6;
                metrics.cost_dollars.with(provider).set(dollars);
            }
            metrics.users.set(usage.users);
            metrics.last_success_timestamp_seconds.set(finished_at);
        }
        Err(_) => FailureMetrics::register_in(registry)
            .last_failure_timestamp_seconds
            .set(finished_at),
    }
}

/// The SMS usage of the messages created in `[start, end)` (seconds since the Unix epoch),
/// read in one transaction so that the counts agree while the service writes.
///
/// # Errors
///
/// Why the database could not be read, or a row the rollup cannot attribute (an unknown
/// provider or status), as a message that names it.
pub async fn read_usage(database_url: &str, start: i64, end: i64) -> Result<Usage, String> {
    sqlx::any::install_default_drivers();
    let url = crate::redacted(database_url);
    let options = connect_options(database_url)
        .map_err(|error| format!("invalid --database-url `{url}`: {error}"))?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|error| format!("cannot open the database of --database-url `{url}`: {error}"))?;
    let read = async {
        let mut transaction = pool.begin().await?;
        let rows = sqlx::query(
            "SELECT provider, status, COUNT(*), CAST(SUM(cost_microdollars) AS BIGINT) FROM sms_messages \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY provider, status \
             ORDER BY provider, status",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut *transaction)
        .await?;
        let users: i64 = sqlx::query(
            "SELECT COUNT(DISTINCT user_id) FROM sms_messages \
             WHERE created_at >= $1 AND created_at < $2",
        )
        .bind(start)
        .bind(end)
        .fetch_one(&mut *transaction)
        .await?
        .get(0);
        transaction.commit().await?;
        Ok::<_, sqlx::Error>((rows, users))
    };
    let (rows, users) = read
        .await
        .map_err(|error| format!("cannot read the SMS messages of `{url}`: {error}"))?;
    pool.close().await;
    let messages = rows
        .iter()
        .map(|row: &AnyRow| {
            let provider: String = row.get(0);
            let status: String = row.get(1);
            let known = (
                SmsProvider::ALL
                    .into_iter()
                    .find(|known| known.as_label() == provider),
                SmsStatus::ALL
                    .into_iter()
                    .find(|known| known.as_label() == status),
            );
            match known {
                (Some(provider), Some(status)) => Ok((provider, status, row.get(2), row.get(3))),
                _ => Err(format!(
                    "sms_messages has rows with provider `{provider}` and status `{status}`, \
                     which the rollup does not know (providers: {}; statuses: {}); fix those \
                     rows or teach the rollup the new value",
                    SmsProvider::VALUES.join(", "),
                    SmsStatus::VALUES.join(", ")
                )),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Usage { messages, users })
}

/// `url`'s options; a SQLite file is opened only if it exists, so that a wrong path fails
/// instead of rolling up a new, empty database.
fn connect_options(url: &str) -> Result<AnyConnectOptions, sqlx::Error> {
    if url.starts_with("sqlite:") && !url.contains(":memory:") {
        let existing = SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .to_url_lossy();
        AnyConnectOptions::from_str(existing.as_str())
    } else {
        AnyConnectOptions::from_str(url)
    }
}

fn now_seconds() -> i64 {
    crate::db::now()
}

/// Now, in seconds since the Unix epoch, with its fraction.
fn now_timestamp() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample lines of `registry`'s exposition.
    fn samples(registry: &Registry) -> Vec<String> {
        registry
            .render()
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_success_records_the_rollup_and_its_time() {
        let registry = Registry::new();
        let usage = Usage {
            messages: vec![
                (SmsProvider::Twilio, SmsStatus::Sent, 2, 15_800),
                (SmsProvider::Vonage, SmsStatus::Failed, 1, 0),
                (SmsProvider::Vonage, SmsStatus::Sent, 1, 6_500),
            ],
            users: 2,
        };
        record(
            &registry,
            &Ok(usage.clone()),
            Duration::from_millis(250),
            1_700_000_000.5,
        );
        registry.check().unwrap();
        let samples = samples(&registry);
        let expected = [
            r#"sms_usage_rollup_cost_dollars{provider="twilio"} 0.0158"#,
            r#"sms_usage_rollup_cost_dollars{provider="vonage"} 0.0065"#,
            r#"sms_usage_rollup_cost_dollars{provider="messagebird"} 0"#,
            "sms_usage_rollup_duration_seconds 0.25",
            "sms_usage_rollup_last_success_timestamp_seconds 1700000000.5",
            r#"sms_usage_rollup_messages{provider="twilio",status="sent"} 2"#,
            r#"sms_usage_rollup_messages{provider="vonage",status="failed"} 1"#,
            r#"sms_usage_rollup_messages{provider="vonage",status="sent"} 1"#,
            r#"sms_usage_rollup_messages{provider="messagebird",status="rate_limited"} 0"#,
            "sms_usage_rollup_users 2",
        ];
        for line in expected {
            assert!(samples.iter().any(|s| s == line), "{line} in {samples:#?}");
        }
        assert_eq!(samples.len(), 3 + 1 + 1 + 9 + 1, "{samples:#?}");
        assert_eq!(usage.rows(), 4);
    }

    #[test]
    fn a_failure_records_its_time_and_no_rollup() {
        let registry = Registry::new();
        record(
            &registry,
            &Err("the database is gone".to_owned()),
            Duration::from_millis(125),
            1_700_000_000.5,
        );
        registry.check().unwrap();
        assert_eq!(
            samples(&registry),
            [
                "sms_usage_rollup_duration_seconds 0.125",
                "sms_usage_rollup_last_failure_timestamp_seconds 1700000000.5",
            ]
        );
    }
}
