//! Labels the macros now compute series indexes for in generated code (three and more labels,
//! `Option` labels, `&mut` label arguments) land on exactly the series of their values: each
//! combination is recorded a different number of times and the parsed exposition must show
//! that number on that series and no other.

use instrument_metric::{IntCounterFamily, LabelSet, LabelValue, Metrics, instrument_metric};
use integration_tests::Exposition;

#[derive(Clone, Copy, Debug, LabelValue)]
enum Region {
    Eu,
    Us,
    Asia,
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Tier {
    Free,
    Paid,
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Channel {
    Sms,
    Email,
    Push,
    Voice,
}

#[derive(LabelSet)]
struct Delivery {
    region: Region,
    tier: Tier,
    urgent: bool,
    channel: Channel,
}

#[derive(Metrics)]
#[metrics(prefix = "indexes")]
struct IndexMetrics {
    /// Deliveries, by four labels.
    deliveries_total: IntCounterFamily<Delivery>,
    /// Deliveries, by an optional channel.
    optional_total: IntCounterFamily<(Region, Option<Channel>)>,
}

const REGIONS: [Region; 3] = [Region::Eu, Region::Us, Region::Asia];
const TIERS: [Tier; 2] = [Tier::Free, Tier::Paid];
const CHANNELS: [Channel; 4] = [Channel::Sms, Channel::Email, Channel::Push, Channel::Voice];

#[instrument_metric(
    name = "indexes_send",
    labels(region = region, tier = tier, urgent = urgent, channel = channel)
)]
#[allow(clippy::trivially_copy_pass_by_ref)] // a label argument by reference, on purpose
fn send(region: Region, tier: &Tier, urgent: bool, channel: Option<Channel>) {
    let _ = (region, tier, urgent, channel);
}

#[instrument_metric(name = "indexes_retry", labels(channel = channel))]
fn retry(channel: &mut Channel) {
    *channel = Channel::Voice;
}

/// Every combination of the four labels, each with its own number of calls (1, 2, 3, ...).
fn combinations() -> Vec<(Region, Tier, bool, Option<Channel>, u64)> {
    let channels = CHANNELS.iter().copied().map(Some).chain([None]);
    let mut all = Vec::new();
    for region in REGIONS {
        for tier in TIERS {
            for urgent in [false, true] {
                for channel in channels.clone() {
                    let times = u64::try_from(all.len()).unwrap() + 1;
                    all.push((region, tier, urgent, channel, times));
                }
            }
        }
    }
    all
}

fn channel_label(channel: Option<Channel>) -> &'static str {
    channel.map_or("none", |channel| channel.as_label())
}

#[test]
fn each_combination_of_four_labels_has_its_own_series() {
    let metrics = IndexMetrics::global();
    let all = combinations();
    for &(region, tier, urgent, channel, times) in &all {
        for _ in 0..times {
            send(region, &tier, urgent, channel);
            metrics.optional_total.with((region, channel)).inc();
            if let Some(channel) = channel {
                metrics
                    .deliveries_total
                    .with(Delivery {
                        region,
                        tier,
                        urgent,
                        channel,
                    })
                    .inc();
            }
        }
    }
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();

    let send_series: Vec<_> = exposition.series("indexes_send_total").collect();
    assert_eq!(
        send_series.len(),
        all.len() * 3,
        "every combination, by 3 outcomes"
    );
    for &(region, tier, urgent, channel, times) in &all {
        let labels = [
            ("function", "send"),
            ("module", module_path!()),
            ("region", region.as_label()),
            ("tier", tier.as_label()),
            ("urgent", urgent.as_label()),
            ("channel", channel_label(channel)),
            ("result", "ok"),
        ];
        assert_eq!(exposition.count("indexes_send_total", &labels), times);
    }
    assert_eq!(
        exposition.series("indexes_deliveries_total").count(),
        Delivery::CARDINALITY
    );
    let mut optional = std::collections::BTreeMap::new();
    for &(region, tier, urgent, channel, times) in &all {
        *optional
            .entry((region.as_label(), channel_label(channel)))
            .or_insert(0) += times;
        let Some(channel) = channel else { continue };
        let labels = [
            ("region", region.as_label()),
            ("tier", tier.as_label()),
            ("urgent", urgent.as_label()),
            ("channel", channel.as_label()),
        ];
        assert_eq!(exposition.count("indexes_deliveries_total", &labels), times);
    }
    assert_eq!(exposition.series("indexes_optional_total").count(), 3 * 5);
    for ((region, channel), times) in optional {
        let labels = [("region", region), ("channel", channel)];
        assert_eq!(exposition.count("indexes_optional_total", &labels), times);
    }
}

#[test]
fn a_mut_reference_label_is_read_when_the_call_starts() {
    let mut channel = Channel::Email;
    retry(&mut channel);
    retry(&mut channel);
    assert_eq!(channel.as_label(), "voice");
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let calls = |channel: &str| {
        let labels = [
            ("function", "retry"),
            ("module", module_path!()),
            ("channel", channel),
            ("result", "ok"),
        ];
        exposition.count("indexes_retry_total", &labels)
    };
    assert_eq!(calls("email"), 1);
    assert_eq!(calls("voice"), 1);
    assert_eq!(calls("sms"), 0);
}

#[instrument_metric(name = "indexes_route", labels(region = region, channel = channel))]
#[allow(clippy::trivially_copy_pass_by_ref)] // a tuple pattern behind a reference, on purpose
fn route((region, _attempt): (Region, u8), &(_, (channel, _)): &(u8, (Channel, bool))) {
    let _ = (region, channel);
}

#[test]
fn labels_bound_inside_tuple_patterns_land_on_their_series() {
    route((Region::Us, 1), &(0, (Channel::Push, true)));
    route((Region::Us, 2), &(0, (Channel::Push, false)));
    route((Region::Asia, 3), &(0, (Channel::Sms, false)));
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let calls = |region: &str, channel: &str| {
        let labels = [
            ("function", "route"),
            ("module", module_path!()),
            ("region", region),
            ("channel", channel),
            ("result", "ok"),
        ];
        exposition.count("indexes_route_total", &labels)
    };
    assert_eq!(calls("us", "push"), 2);
    assert_eq!(calls("asia", "sms"), 1);
    assert_eq!(calls("eu", "push"), 0);
    assert_eq!(calls("us", "sms"), 0);
}
