//! The service's own metrics: label value types and metric structs. Functions record the
//! rest through `#[instrument_metric]`, and `register_collectors` adds values read on scrape.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use instrument_metric::{
    CounterFamily, ErrorKinds, GaugeFamily, Histogram, IntCounter, IntCounterFamily, IntGauge,
    LabelSet, LabelValue, Metrics, collect,
};
use serde::{Deserialize, Serialize};

use crate::AppState;

/// The SMS providers the service sends through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue, Serialize, Deserialize)]
#[label(name = "provider")]
#[serde(rename_all = "snake_case")]
pub enum SmsProvider {
    /// Twilio.
    Twilio,
    /// Vonage.
    Vonage,
    /// MessageBird.
    Messagebird,
}

impl SmsProvider {
    /// Every provider.
    pub const ALL: [SmsProvider; 3] = [
        SmsProvider::Twilio,
        SmsProvider::Vonage,
        SmsProvider::Messagebird,
    ];
}

/// How an SMS ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, LabelValue, Serialize)]
#[label(name = "status")]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    /// The provider accepted it.
    Sent,
    /// The provider failed.
    Failed,
    /// The provider refused it for now.
    RateLimited,
}

impl SmsStatus {
    /// Every status.
    pub const ALL: [SmsStatus; 3] = [SmsStatus::Sent, SmsStatus::Failed, SmsStatus::RateLimited];
}

/// Labels of `sms_messages_total`.
#[derive(LabelSet)]
pub struct SmsLabels {
    /// Who sent it.
    pub provider: SmsProvider,
    /// How it ended.
    pub status: SmsStatus,
}

/// The OAuth providers users connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue, Serialize, Deserialize)]
#[label(name = "provider")]
#[serde(rename_all = "snake_case")]
pub enum OAuthProvider {
    /// Google.
    Google,
    /// Microsoft.
    Microsoft,
    /// Slack.
    Slack,
}

impl OAuthProvider {
    /// Every provider.
    pub const ALL: [OAuthProvider; 3] = [
        OAuthProvider::Google,
        OAuthProvider::Microsoft,
        OAuthProvider::Slack,
    ];

    /// The provider named `name` in a URL.
    #[must_use]
    pub fn from_path(name: &str) -> Option<OAuthProvider> {
        OAuthProvider::ALL
            .into_iter()
            .find(|provider| provider.as_label() == name)
    }
}

/// Why an OAuth provider refused: a label of `oauth_errors_total`, and the kinds of
/// `oauth_operations_errors_total` that come from the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, LabelValue, ErrorKinds)]
#[label(name = "type")]
pub enum OAuthErrorType {
    /// The grant was revoked or is unknown.
    InvalidGrant,
    /// The token expired before it was refreshed.
    ExpiredToken,
    /// The provider did not answer.
    ProviderUnavailable,
    /// The provider refused for now.
    RateLimited,
}

/// Whether a token refresh worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, LabelValue)]
#[label(name = "result")]
pub enum RefreshResult {
    /// A new token.
    Success,
    /// No new token.
    Failure,
}

/// How a phone verification attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, LabelValue)]
#[label(name = "result")]
pub enum VerificationResult {
    /// The code matched.
    Verified,
    /// The code did not match.
    WrongCode,
    /// The code was too old.
    Expired,
}

/// The kinds of background task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, LabelValue, Serialize, Deserialize)]
#[label(name = "task")]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Texts a reminder to a verified user.
    SendReminder,
    /// Refreshes OAuth tokens that expire soon.
    RefreshTokens,
    /// Records how many messages each user sent.
    UsageRollup,
    /// Deletes expired sessions.
    CleanupSessions,
}

/// SMS metrics.
#[derive(Metrics)]
#[metrics(prefix = "sms")]
pub struct SmsMetrics {
    /// SMS messages by provider and final status.
    pub messages_total: IntCounterFamily<SmsLabels>,
    /// Cost of the SMS messages sent, in US dollars.
    pub cost_total: CounterFamily<SmsProvider>,
    /// Messages each active user sent in one usage rollup window.
    #[metric(unitless, buckets = [1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0])]
    pub usage_per_user: Histogram,
}

/// OAuth metrics.
#[derive(Metrics)]
#[metrics(prefix = "oauth")]
pub struct OAuthMetrics {
    /// OAuth token refreshes by provider and result.
    pub token_refresh_total: IntCounterFamily<(OAuthProvider, RefreshResult)>,
    /// OAuth errors by provider and type.
    pub errors_total: IntCounterFamily<(OAuthProvider, OAuthErrorType)>,
    /// Active OAuth integrations by provider.
    pub integrations_active: GaugeFamily<OAuthProvider>,
    /// Users with at least one active OAuth integration.
    pub users_connected: IntGauge,
}

/// User metrics.
#[derive(Metrics)]
pub struct UserMetrics {
    /// Users registered.
    pub user_registrations_total: IntCounter,
    /// Phone verification attempts by result.
    pub phone_verifications_total: IntCounterFamily<VerificationResult>,
    /// Users registered, as counted in the database.
    pub users_registered: IntGauge,
}

/// Registers the values read at scrape time, and the process, system and pool collectors.
///
/// # Errors
///
/// When a collector is already registered (this runs once per process).
pub fn register_collectors(state: &Arc<AppState>) -> anyhow::Result<()> {
    type Read = fn(&AppState) -> i64;
    let gauges: [(&str, &str, Read); 3] = [
        ("active_sessions", "Sessions open now.", |s| {
            s.active_sessions.load(Ordering::Relaxed)
        }),
        (
            "sms_queue_length",
            "SMS messages waiting for a provider.",
            |s| s.sms_queue_length.load(Ordering::Relaxed),
        ),
        (
            "task_queue_length",
            "Background tasks waiting for a worker.",
            |s| s.task_queue_length.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, read) in gauges {
        let state = Arc::clone(state);
        collect::gauge(name, help, move || read(&state))?;
    }
    instrument_metric::system::register_process_metrics()?;
    instrument_metric::system::register_tokio_metrics(&tokio::runtime::Handle::current())?;
    instrument_metric::system::register_system_metrics()?;
    instrument_metric::sqlx::register_pool(state.db.pool())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The check CI runs: inside the crate, every declaration of it is linked, so the check
    /// sees them all (a test in `tests/` would see only what it uses).
    #[test]
    fn every_metric_declaration_of_the_service_agrees() {
        let declared = instrument_metric::check_crate(env!("CARGO_CRATE_NAME"))
            .unwrap_or_else(|error| panic!("{error}"));
        // The instrumented functions and the `Metrics` structs of the service.
        assert!(declared >= 20, "{declared} declarations");
    }
}
