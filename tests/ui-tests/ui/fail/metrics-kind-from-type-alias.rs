use instrument_metric::{IntCounter as Hits, IntCounterFamily, LabelValue, Metrics};

#[derive(Clone, Copy, LabelValue)]
enum Channel {
    Sms,
    Email,
}

type Sends = IntCounterFamily<Channel>;

#[derive(Metrics)]
#[metrics(prefix = "notify")]
struct NotifyMetrics {
    /// Notifications sent, by channel.
    sends: Sends,
    /// Cache hits.
    cache_hits: Hits,
}

fn main() {}
