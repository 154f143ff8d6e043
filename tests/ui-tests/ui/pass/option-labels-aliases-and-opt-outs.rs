//! `Option` and `&mut` label arguments, metric kinds taken from type aliases and renamed
//! imports, and the explicit opt-outs: `unitless`, `long_running`, `max_series`.

use instrument_metric::{
    Histogram, IntCounter as Hits, IntCounterFamily, LabelSet, LabelValue, Metrics,
    instrument_metric,
};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

/// A raw identifier names the label after the identifier itself.
#[derive(Clone, Copy, LabelValue)]
enum r#Match {
    Exact,
    Prefix,
}

macro_rules! hundred {
    ($name:ident) => {
        #[derive(Clone, Copy, LabelValue)]
        #[allow(dead_code)]
        enum $name {
            V0, V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18,
            V19, V20, V21, V22, V23, V24, V25, V26, V27, V28, V29, V30, V31, V32, V33, V34, V35,
            V36, V37, V38, V39, V40, V41, V42, V43, V44, V45, V46, V47, V48, V49, V50, V51, V52,
            V53, V54, V55, V56, V57, V58, V59, V60, V61, V62, V63, V64, V65, V66, V67, V68, V69,
            V70, V71, V72, V73, V74, V75, V76, V77, V78, V79, V80, V81, V82, V83, V84, V85, V86,
            V87, V88, V89, V90, V91, V92, V93, V94, V95, V96, V97, V98, V99,
        }
    };
}

hundred!(Shard);
hundred!(Tenant);

type Sends = IntCounterFamily<Option<Provider>>;

#[derive(Metrics)]
#[metrics(prefix = "notify")]
struct NotifyMetrics {
    /// Notifications sent, by provider (`none` when no provider was picked).
    sends_total: Sends,
    /// Cache hits.
    cache_hits_total: Hits,
    /// Messages per batch: a count of things, without a unit.
    #[metric(unitless, buckets = [1, 10, 100])]
    batch_messages: Histogram,
    /// Nightly backups take hours.
    #[metric(long_running, buckets = [600, 1800, 3600, 7200, 14400])]
    backup_duration_seconds: Histogram,
    /// 10,000 series, the cap raised on purpose.
    #[metric(max_series = 10_000)]
    by_shard_total: IntCounterFamily<(Shard, Tenant)>,
}

#[derive(LabelSet)]
struct Route {
    provider: Option<Provider>,
    matched: r#Match,
}

#[instrument_metric(name = "notify_send", labels(provider = provider, urgent = urgent))]
fn send(provider: Option<Provider>, urgent: Option<&bool>) -> bool {
    let _ = urgent;
    provider.is_some()
}

/// A named lifetime in a label argument's type.
#[instrument_metric(name = "notify_pick", labels(provider = provider))]
fn pick<'a>(provider: Option<&'a Provider>, fallback: &'a Provider) -> &'a Provider {
    provider.unwrap_or(fallback)
}

#[instrument_metric(name = "notify_switch", labels(provider = provider))]
fn switch(provider: &mut Provider) {
    *provider = Provider::Vonage;
}

#[instrument_metric(
    name = "notify_export",
    buckets = [600, 1800, 3600, 7200, 14400],
    long_running,
    labels(shard = shard),
    max_series = 400
)]
fn export(shard: Shard) -> Shard {
    shard
}

fn main() {
    assert_eq!(r#Match::LABEL_NAME, "match");
    assert_eq!(<Option<Provider>>::VALUES, ["twilio", "vonage", "none"]);
    assert_eq!(Route::NAMES, ["provider", "matched"]);
    assert_eq!(Route::CARDINALITY, 6);

    let metrics = NotifyMetrics::global();
    metrics.sends_total.with(None).inc();
    metrics.sends_total.with(Some(Provider::Twilio)).inc_by(2);
    metrics.cache_hits_total.inc();
    metrics.batch_messages.observe(12.0);

    assert!(!send(None, Some(&true)));
    assert!(send(Some(Provider::Twilio), None));
    let mut provider = Provider::Twilio;
    switch(&mut provider);
    assert_eq!(provider.as_label(), "vonage");
    export(Shard::V7);
    assert_eq!(pick(None, &Provider::Twilio).as_label(), "twilio");

    let text = instrument_metric::render();
    let value = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no sample `{prefix}`"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value(r#"notify_sends_total{provider="none"}"#), 1.0);
    assert_eq!(value(r#"notify_sends_total{provider="twilio"}"#), 2.0);
    assert_eq!(value(r#"notify_sends_total{provider="vonage"}"#), 0.0);
    assert_eq!(value("notify_cache_hits_total"), 1.0);
    assert_eq!(value(r#"notify_batch_messages_bucket{le="100"}"#), 1.0);
    assert_eq!(value(r#"notify_backup_duration_seconds_bucket{le="14400"}"#), 0.0);
    let send_ok = |provider: &str, urgent: &str| {
        text.lines().any(|line| {
            line.starts_with("notify_send_total{")
                && line.contains(&format!(r#"provider="{provider}""#))
                && line.contains(&format!(r#"urgent="{urgent}""#))
                && line.contains(r#"result="ok""#)
                && line.ends_with(" 1")
        })
    };
    assert!(send_ok("none", "true"));
    assert!(send_ok("twilio", "none"));
    assert!(
        text.lines().any(|line| line.starts_with("notify_switch_total{")
            && line.contains(r#"provider="twilio""#)
            && line.ends_with(" 1")),
        "the label is read when the call starts"
    );
    assert!(
        text.lines().any(|line| line.starts_with("notify_export_duration_seconds_count{")
            && line.contains(r#"shard="v7""#)
            && line.ends_with(" 1"))
    );
}
