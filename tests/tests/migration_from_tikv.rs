//! The README's "Coming from tikv `prometheus`" example, both sides: an `IntCounterVec` and a
//! `HistogramVec` registered with `register_*_vec!` in a lazily initialised static and fed
//! through `with_label_values`, and the `#[derive(Metrics)]` struct that replaces them, fed
//! through `Family::with`. Both expositions, parsed, carry the same samples for the values
//! recorded (and this crate's also the other provider's, at 0).

#![allow(clippy::float_cmp)] // the same values, recorded alike, compared exactly

use std::collections::BTreeMap;
use std::sync::LazyLock;

use instrument_metric::{HistogramFamily, IntCounterFamily, LabelValue, Metrics};
use integration_tests::{Exposition, Sample};
use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};

// Before: tikv `prometheus` (`lazy_static!` or, as here, `LazyLock`).
static SENT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sms_sent_total",
        "SMS messages sent, by provider.",
        &["provider"]
    )
    .unwrap()
});
static SEND_TIME: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sms_send_duration_seconds",
        "Time to send an SMS.",
        &["provider"],
        vec![0.1, 0.5, 1.0, 5.0]
    )
    .unwrap()
});

// After: instrument-metric.
#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    #[expect(dead_code, reason = "a label value exported at 0, never recorded here")]
    Vonage,
}

#[derive(Metrics)]
#[metrics(prefix = "sms")]
struct SmsMetrics {
    /// SMS messages sent, by provider.
    sent_total: IntCounterFamily<Provider>,
    /// Time to send an SMS.
    #[metric(buckets = [0.1, 0.5, 1.0, 5.0])]
    send_duration_seconds: HistogramFamily<Provider>,
}

/// The samples of `families` in `text`, their `le` read as a number (the two crates write
/// bounds alike, but the comparison should not depend on it).
fn samples(text: &str, families: &[&str]) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let exposition = Exposition::parse(text).unwrap();
    let mut found: Vec<_> = exposition
        .samples
        .into_iter()
        .filter(|Sample { name, .. }| {
            families.iter().any(|family| {
                name.strip_prefix(family)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
            })
        })
        .map(
            |Sample {
                 name,
                 mut labels,
                 value,
             }| {
                if let Some(le) = labels.get_mut("le") {
                    *le = le.parse::<f64>().unwrap().to_string();
                }
                (name, labels, value)
            },
        )
        .collect();
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found
}

#[test]
fn the_derived_struct_writes_what_the_tikv_vecs_wrote() {
    SENT.with_label_values(&["twilio"]).inc();
    SENT.with_label_values(&["twilio"]).inc_by(2);
    SEND_TIME.with_label_values(&["twilio"]).observe(0.3);
    SEND_TIME.with_label_values(&["twilio"]).observe(2.0);

    let sms = SmsMetrics::global();
    sms.sent_total.with(Provider::Twilio).inc();
    sms.sent_total.with(Provider::Twilio).inc_by(2);
    sms.send_duration_seconds
        .with(Provider::Twilio)
        .observe(0.3);
    sms.send_duration_seconds
        .with(Provider::Twilio)
        .observe(2.0);

    let families = ["sms_sent_total", "sms_send_duration_seconds"];
    let tikv = {
        let mut text = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&prometheus::gather(), &mut text)
            .unwrap();
        samples(&text, &families)
    };
    let ours = samples(&instrument_metric::render(), &families);

    let (twilio, vonage): (Vec<_>, Vec<_>) = ours
        .into_iter()
        .partition(|(_, labels, _)| labels["provider"] == "twilio");
    assert_eq!(twilio, tikv);
    assert_eq!(
        tikv.len(),
        1 + 5 + 2,
        "a counter, five buckets, a sum and a count"
    );
    // Every value of the label type exists from the start, at 0.
    assert_eq!(vonage.len(), tikv.len());
    assert!(
        vonage.iter().all(|(_, _, value)| *value == 0.0),
        "{vonage:?}"
    );
}
