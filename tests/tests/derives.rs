//! `#[derive(Metrics)]`, `#[derive(LabelValue)]`, `#[derive(LabelSet)]` and dynamic labels
//! of `#[instrument_metric]`: every series exists at zero from the start, and recording picks
//! exactly the series of the given labels.

use instrument_metric::{
    CounterFamily, Gauge, HistogramFamily, IntCounter, IntCounterFamily, IntGaugeFamily, LabelSet,
    LabelValue, Metrics, instrument_metric,
};
use integration_tests::Exposition;

#[derive(Clone, Copy, Debug, LabelValue)]
enum Provider {
    Twilio,
    #[label(rename = "vonage_sms")]
    Vonage,
}

#[derive(Clone, Copy, Debug, LabelValue)]
#[label(name = "status")]
enum SmsStatus {
    Sent,
    Failed,
    RateLimited,
}

#[derive(LabelSet)]
struct SmsLabels {
    provider: Provider,
    status: SmsStatus,
}

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// SMS messages by provider and status.
    messages_total: IntCounterFamily<SmsLabels>,
    /// Cost of the messages sent, in dollars.
    cost_dollars_total: CounterFamily<Provider>,
    /// Messages waiting to be sent.
    queue_length: IntGaugeFamily<(Provider, bool)>,
    /// Messages a user sends per day.
    #[metric(name = "sms_usage_per_user", unitless, buckets = [1.0, 5.0, 20.0])]
    usage: HistogramFamily<Provider>,
    /// Whether the provider circuit is open.
    circuit_open: Gauge,
    /// Deliveries confirmed by webhooks.
    #[metric(help = "Delivery receipts received.")]
    receipts_total: IntCounter,
}

/// Sends an SMS through a provider.
#[instrument_metric(name = "sms_send", labels(provider = provider, urgent = urgent, tier = "free"))]
fn send(provider: Provider, urgent: bool, body: &str) -> Result<(), SmsStatus> {
    if body.is_empty() {
        Err(SmsStatus::Failed)
    } else {
        Ok(())
    }
}

#[instrument_metric(name = "sms_lookup", labels(provider = provider))]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn lookup(provider: &Provider) -> usize {
    provider.index()
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).expect("the exposition parses")
}

#[test]
fn every_series_of_a_metrics_struct_exists_at_zero() {
    // Force the registry without touching the struct: its series come from the catalog.
    let exposition = scrape();
    let messages = exposition.series("sms_messages_total").count();
    assert_eq!(messages, SmsLabels::CARDINALITY);
    assert_eq!(messages, 6);
    assert_eq!(exposition.series("sms_queue_length").count(), 4);
    assert_eq!(exposition.count("sms_circuit_open", &[]), 0);
    assert_eq!(
        exposition.help["sms_receipts_total"],
        "Delivery receipts received."
    );
    assert_eq!(
        exposition.help["sms_messages_total"],
        "SMS messages by provider and status."
    );
    assert_eq!(exposition.types["sms_usage_per_user"], "histogram");
    let bounds: Vec<&str> = exposition
        .series("sms_usage_per_user_bucket")
        .filter(|sample| sample.labels["provider"] == "twilio")
        .map(|sample| sample.labels["le"].as_str())
        .collect();
    assert_eq!(bounds, ["1", "5", "20", "+Inf"]);
}

#[test]
fn families_record_into_exactly_the_named_series() {
    let metrics = SmsMetrics::global();
    assert!(
        std::ptr::eq(metrics, SmsMetrics::global()),
        "one global instance"
    );
    let again = <SmsMetrics as Metrics>::register_in(instrument_metric::registry());
    again.receipts_total.inc();
    assert_eq!(
        metrics.receipts_total.get(),
        1,
        "registering the struct again in the global registry gives handles to the same series"
    );
    instrument_metric::check().expect("registering it again is no conflict");
    for _ in 0..3 {
        metrics
            .messages_total
            .with(SmsLabels {
                provider: Provider::Vonage,
                status: SmsStatus::RateLimited,
            })
            .inc();
    }
    metrics
        .cost_dollars_total
        .with(Provider::Twilio)
        .inc_by(0.25);
    metrics.queue_length.with((Provider::Vonage, true)).set(7);
    metrics.usage.with(Provider::Twilio).observe(3.0);
    metrics.receipts_total.inc();
    metrics.circuit_open.set(1.0);
    metrics
        .messages_total
        .with(SmsLabels {
            provider: Provider::Twilio,
            status: SmsStatus::Sent,
        })
        .inc();

    let exposition = scrape();
    let messages = |provider, status| {
        exposition.count(
            "sms_messages_total",
            &[("provider", provider), ("status", status)],
        )
    };
    assert_eq!(messages("vonage_sms", "rate_limited"), 3);
    assert_eq!(messages("vonage_sms", "sent"), 0);
    assert_eq!(messages("twilio", "sent"), 1);
    assert_eq!(exposition.count("sms_circuit_open", &[]), 1);
    assert_eq!(messages("twilio", "rate_limited"), 0);
    assert!(
        (exposition.value("sms_cost_dollars_total", &[("provider", "twilio")]) - 0.25).abs() < 1e-9
    );
    let queue = |provider, value| {
        exposition.count(
            "sms_queue_length",
            &[("provider", provider), ("value", value)],
        )
    };
    assert_eq!(queue("vonage_sms", "true"), 7);
    assert_eq!(queue("vonage_sms", "false"), 0);
    let le5 = [("provider", "twilio"), ("le", "5")];
    assert_eq!(exposition.count("sms_usage_per_user_bucket", &le5), 1);
    let le1 = [("provider", "twilio"), ("le", "1")];
    assert_eq!(exposition.count("sms_usage_per_user_bucket", &le1), 0);
    assert_eq!(
        exposition.count("sms_receipts_total", &[]),
        2,
        "one through each handle of the same series"
    );
}

#[tokio::test]
async fn dynamic_labels_pick_the_series_of_the_arguments() {
    let labels = |provider, urgent, result| {
        [
            ("function", "send"),
            ("module", "derives"),
            ("provider", provider),
            ("result", result),
            ("tier", "free"),
            ("urgent", urgent),
        ]
    };
    let before = scrape();
    // Every combination of provider x urgent exists before the first call.
    let combinations = before
        .series("sms_send_total")
        .filter(|sample| sample.labels["result"] == "ok")
        .count();
    assert_eq!(combinations, 4);
    assert_eq!(
        before.count("sms_send_total", &labels("vonage_sms", "true", "ok")),
        0
    );

    for _ in 0..4 {
        send(Provider::Vonage, true, "hi").unwrap();
    }
    send(Provider::Twilio, false, "").unwrap_err();
    assert_eq!(lookup(&Provider::Vonage).await, 1);

    let after = scrape();
    assert_eq!(
        after.count("sms_send_total", &labels("vonage_sms", "true", "ok")),
        4
    );
    assert_eq!(
        after.count("sms_send_total", &labels("vonage_sms", "false", "ok")),
        0
    );
    assert_eq!(
        after.count("sms_send_total", &labels("twilio", "false", "error")),
        1
    );
    assert_eq!(
        after.count("sms_send_total", &labels("twilio", "true", "ok")),
        0
    );
    let lookup_labels = [
        ("function", "lookup"),
        ("module", "derives"),
        ("provider", "vonage_sms"),
        ("result", "ok"),
    ];
    assert_eq!(after.count("sms_lookup_total", &lookup_labels), 1);
    instrument_metric::check().unwrap();
}
