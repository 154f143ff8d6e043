#![deny(missing_docs, unreachable_pub)]
//! Every derive and dynamic labels in a crate that denies missing docs.

use instrument_metric::{
    Counter, CounterFamily, Gauge, GaugeFamily, Histogram, HistogramFamily, IntCounter,
    IntCounterFamily, IntGauge, IntGaugeFamily, LabelSet, LabelValue, Metrics, instrument_metric,
    metric_name,
};

/// A provider.
#[derive(Clone, Copy, LabelValue)]
pub enum Provider {
    /// One.
    Twilio,
    /// Two.
    #[label(rename = "vonage")]
    Nexmo,
    /// Raw identifiers work.
    r#Type,
}

/// A status.
#[derive(Clone, Copy, LabelValue)]
#[label(name = "state")]
pub enum Status {
    /// Fine.
    Ok,
    /// Not fine.
    Failed,
}

/// Labels of a message.
#[derive(LabelSet)]
pub struct MessageLabels {
    /// The provider.
    pub provider: Provider,
    /// Renamed label.
    #[label(name = "status")]
    pub outcome: Status,
    /// A flag.
    pub urgent: bool,
}

/// Every kind of field.
#[derive(Metrics)]
#[metrics(prefix = "all")]
pub struct AllMetrics {
    /// A float counter.
    pub float_total: Counter,
    /// An integer counter.
    pub int_total: IntCounter,
    /// A float gauge.
    pub float_level: Gauge,
    /// An integer gauge.
    pub int_level: IntGauge,
    /// A histogram.
    #[metric(buckets = [0.5, 1, 2])]
    pub sizes_bytes: Histogram,
    /// Families.
    pub by_provider_total: CounterFamily<Provider>,
    /// Families over a label set.
    pub messages_total: IntCounterFamily<MessageLabels>,
    /// Families over a tuple.
    pub pairs: GaugeFamily<(Provider, Status)>,
    /// Integer gauge family.
    pub flags: IntGaugeFamily<bool>,
    /// Histogram family.
    pub latency_seconds: HistogramFamily<Status>,
}

/// Sends.
#[instrument_metric(name = "send", labels(provider = provider, state = status, urgent = urgent))]
pub fn send(provider: Provider, status: &Status, urgent: bool) -> usize {
    provider.index() + status.index() + usize::from(urgent)
}

/// Referenced by name.
pub const SENT: &str = metric_name!("all_int_total");

fn main() {
    let metrics = AllMetrics::global();
    metrics.int_total.inc();
    metrics.messages_total.with(MessageLabels { provider: Provider::r#Type, outcome: Status::Failed, urgent: true }).inc();
    metrics.pairs.with((Provider::Nexmo, Status::Ok)).set(1.5);
    metrics.flags.with(true).set(2);
    assert_eq!(send(Provider::Twilio, &Status::Failed, false), 1);
    let text = instrument_metric::render();
    assert!(text.contains(r#"all_messages_total{provider="type",status="failed",urgent="true"} 1"#));
    assert!(text.contains(r#"all_pairs{provider="vonage",state="ok"} 1.5"#));
    assert!(text.contains(r#"all_flags{value="true"} 2"#));
    assert!(text.contains(SENT));
    instrument_metric::check().unwrap();
}
