use instrument_metric::{GaugeFamily, IntCounterFamily, LabelValue, Metrics};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(Clone, Copy, LabelValue)]
#[label(name = "provider")]
enum Backup {
    Local,
    Remote,
}

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// Messages rerouted, from one provider to another.
    rerouted_total: IntCounterFamily<(Provider, Provider)>,
    /// Providers paired with a backup.
    pairs: GaugeFamily<(Provider, Backup)>,
}

fn main() {}
