//! Sending SMS through the providers (simulated on 127.0.0.1 by `providers`, since no network
//! is reachable: realistic latency, failures, rate limits). Messages wait in a queue for a pool
//! of sender tasks.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use instrument_metric::{
    ErrorKinds, IntCounter, LabelValue as _, LabelValues, RuntimeFamily, instrument_metric,
};
use tokio::sync::mpsc;

use crate::AppState;
use crate::metrics::{SmsLabels, SmsMetrics, SmsProvider, SmsStatus};
use crate::providers::{Providers, SmsAnswer};

/// One message to send.
#[derive(Clone, Debug)]
pub struct OutgoingSms {
    /// The user it is for.
    pub user_id: String,
    /// Destination number.
    pub to: String,
    /// Text.
    pub body: String,
}

/// What a provider did with a message.
#[derive(Debug)]
pub struct Delivery {
    /// Provider's latency, in milliseconds.
    pub latency_ms: u64,
    /// Price, in micro-dollars.
    pub cost_microdollars: u64,
}

/// Why a provider did not send a message: counted by kind in `sms_send_attempts_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ErrorKinds)]
pub enum SmsError {
    /// The provider failed.
    Failed,
    /// The provider refused for now.
    RateLimited,
}

pub use crate::providers::ProviderSimulation;

fn price_microdollars(provider: SmsProvider) -> u64 {
    match provider {
        SmsProvider::Twilio => 7_900,
        SmsProvider::Vonage => 6_800,
        SmsProvider::Messagebird => 7_200,
    }
}

/// Sends one message through `provider` over HTTP: it waits for the provider's answer, which
/// takes 20 to 150 ms and sometimes fails or is rate limited.
#[instrument_metric(
    counter = "sms_send_attempts_total",
    histogram = "sms_processing_duration_seconds",
    native_histogram,
    help = "SMS send attempts, by provider.",
    labels(provider = provider),
    buckets = [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0],
    error_kinds = SmsError,
    // Providers fail now and then (4%) and rate limit (2%): 90% of attempts succeed; 99% are
    // answered within 250 ms.
    objective(name = "sms_delivery", success = 90.0, latency = (0.25, 99.0))
)]
pub async fn deliver(
    provider: SmsProvider,
    providers: &Providers,
    sms: &OutgoingSms,
) -> Result<Delivery, SmsError> {
    let latency_ms = match providers.send_sms(provider, &sms.to, &sms.body).await {
        SmsAnswer::Sent { latency_ms } => latency_ms,
        SmsAnswer::RateLimited => return Err(SmsError::RateLimited),
        SmsAnswer::Failed => return Err(SmsError::Failed),
    };
    let segments = u64::try_from(sms.body.len().div_ceil(160).max(1)).unwrap_or(1);
    Ok(Delivery {
        latency_ms,
        cost_microdollars: price_microdollars(provider) * segments,
    })
}

/// The countries the service sends SMS to, with their E.164 calling codes: its configuration
/// (these defaults are embedded; a deployment would read its own list at start). The label
/// values of `sms_sent_by_destination_total` come from it at run time.
pub const DESTINATIONS: &[(&str, &str)] = &[("us", "+1"), ("gb", "+44"), ("de", "+49")];

/// `sms_sent_by_destination_total{destination}`, registered by [`register_destinations`].
static SENT_BY_DESTINATION: OnceLock<RuntimeFamily<IntCounter>> = OnceLock::new();

/// Registers `sms_sent_by_destination_total`, a series per country of [`DESTINATIONS`] and
/// one, `other`, for numbers of any other country, each at 0 from now on.
///
/// # Errors
///
/// When the configured destinations are not valid label values (empty or listed twice), or
/// the family is registered otherwise elsewhere.
pub fn register_destinations() -> anyhow::Result<()> {
    let countries = LabelValues::new(
        "destination",
        DESTINATIONS.iter().map(|(country, _)| country),
    )?
    .with_other("other")?;
    let family = instrument_metric::registry().int_counter_family(
        "sms_sent_by_destination_total",
        "SMS messages sent, by destination country (those configured, then `other`).",
        &countries,
    )?;
    let _ = SENT_BY_DESTINATION.set(family);
    Ok(())
}

/// The configured country of the number `to`; `unlisted`, which is no label value, for one
/// of another country: its messages count as `other` (never a series of their own).
fn destination(to: &str) -> &'static str {
    DESTINATIONS
        .iter()
        .find(|(_, code)| to.starts_with(code))
        .map_or("unlisted", |(country, _)| country)
}

/// The queue in front of the providers.
#[derive(Clone)]
pub struct SmsQueue {
    sender: mpsc::Sender<OutgoingSms>,
}

impl SmsQueue {
    /// Starts `workers` sender tasks; returns the queue they drain.
    #[must_use]
    pub fn start(
        state: &Arc<AppState>,
        mut receiver: mpsc::Receiver<OutgoingSms>,
        workers: usize,
    ) -> tokio::task::JoinHandle<()> {
        let state = Arc::clone(state);
        tokio::spawn(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(workers));
            while let Some(sms) = receiver.recv().await {
                state.sms_queue_length.fetch_sub(1, Ordering::Relaxed);
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break;
                };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    send_one(&state, &sms).await;
                    drop(permit);
                });
            }
        })
    }

    /// A queue and its receiving end.
    #[must_use]
    pub fn new(capacity: usize) -> (SmsQueue, mpsc::Receiver<OutgoingSms>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (SmsQueue { sender }, receiver)
    }

    /// Queues a message; `false` when the queue is full.
    pub fn enqueue(&self, state: &AppState, sms: OutgoingSms) -> bool {
        state.sms_queue_length.fetch_add(1, Ordering::Relaxed);
        if self.sender.try_send(sms).is_ok() {
            true
        } else {
            state.sms_queue_length.fetch_sub(1, Ordering::Relaxed);
            false
        }
    }
}

/// Sends one queued message, retrying once on another provider when rate limited.
async fn send_one(state: &AppState, sms: &OutgoingSms) {
    let metrics = SmsMetrics::global();
    let mut provider = SmsProvider::ALL[fastrand::usize(0..SmsProvider::ALL.len())];
    for attempt in 0..2 {
        let result = deliver(provider, &state.providers, sms).await;
        let status = match &result {
            Ok(_) => SmsStatus::Sent,
            Err(SmsError::Failed) => SmsStatus::Failed,
            Err(SmsError::RateLimited) => SmsStatus::RateLimited,
        };
        metrics
            .messages_total
            .with(SmsLabels { provider, status })
            .inc();
        if let (SmsStatus::Sent, Some(by_destination)) = (status, SENT_BY_DESTINATION.get()) {
            by_destination.with(destination(&sms.to)).inc();
        }
        let (cost, latency) = match &result {
            Ok(delivery) => {
                #[allow(clippy::cast_precision_loss)]
                metrics
                    .cost_total
                    .with(provider)
                    .inc_by(delivery.cost_microdollars as f64 / 1e6);
                (delivery.cost_microdollars, delivery.latency_ms)
            }
            Err(_) => (0, 0),
        };
        let stored = state
            .db
            .insert_sms(
                &sms.user_id,
                provider.as_label(),
                status.as_label(),
                i64::try_from(cost).unwrap_or(i64::MAX),
                i64::try_from(latency).unwrap_or(i64::MAX),
            )
            .await;
        if stored.is_err() {
            state.storage_errors.fetch_add(1, Ordering::Relaxed);
        }
        if status != SmsStatus::RateLimited || attempt == 1 {
            break;
        }
        provider = SmsProvider::ALL[(provider.index() + 1) % SmsProvider::ALL.len()];
    }
}

#[cfg(test)]
mod tests {
    use super::destination;

    #[test]
    fn a_number_counts_for_its_configured_country_or_for_none() {
        assert_eq!(destination("+15550100"), "us");
        assert_eq!(destination("+447700900123"), "gb");
        assert_eq!(destination("+4930123456"), "de");
        // Not a configured country: no label value, so `with` records it as `other`.
        assert_eq!(destination("+81312345678"), "unlisted");
    }
}
