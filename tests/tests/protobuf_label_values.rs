//! Label values that the text formats escape (`"`, `\`, a line feed) and non-ASCII ones reach
//! the protobuf exposition as they are: each series' decoded pairs are the raw values, while
//! the text exposition of the same registry escapes them.
#![allow(clippy::float_cmp)] // the values written are read back bit for bit

use instrument_metric::proto::MetricFamily;
use instrument_metric::{Format, IntCounterFamily, LabelValue, Metrics, Registry};
use prost::Message as _;

#[derive(Clone, Copy, LabelValue)]
enum Queue {
    Mail,
    Sms,
}

#[derive(Metrics)]
#[metrics(scoped)]
struct Jobs {
    /// Jobs run, by queue.
    jobs_total: IntCounterFamily<Queue>,
}

const QUOTED: &str = "say \"hi\"";
const BACKSLASH: &str = r"C:\temp\";
const LINES: &str = "one\ntwo";
const UNICODE: &str = "zürich ✓ 東京";

#[test]
fn protobuf_label_values_are_the_raw_values() {
    let registry = Registry::with_constant_labels([
        ("backslash", BACKSLASH),
        ("lines", LINES),
        ("quoted", QUOTED),
        ("unicode", UNICODE),
    ])
    .unwrap();
    let jobs = Jobs::register_in(&registry);
    jobs.jobs_total.with(Queue::Mail).inc();
    jobs.jobs_total.with(Queue::Sms).inc_by(3);
    let gauge = registry
        .gauge("temperature_celsius", "Temperature.")
        .unwrap();
    gauge.set(-2.5);

    let bytes = registry
        .encode_protobuf_within(std::time::Duration::from_secs(1))
        .unwrap();
    let mut rest = bytes.as_slice();
    let mut families = Vec::new();
    while !rest.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut rest).unwrap());
    }
    let constant = [
        ("backslash", BACKSLASH),
        ("lines", LINES),
        ("quoted", QUOTED),
        ("unicode", UNICODE),
    ];
    let pairs = |family: &MetricFamily, series: usize| -> Vec<(String, String)> {
        family.metric[series]
            .label
            .iter()
            .map(|pair| (pair.name().to_owned(), pair.value().to_owned()))
            .collect()
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    };
    let jobs = families.iter().find(|f| f.name() == "jobs_total").unwrap();
    assert_eq!(jobs.metric.len(), 2);
    for (series, queue) in ["mail", "sms"].into_iter().enumerate() {
        let mut expected = vec![("queue", queue)];
        expected.extend(constant);
        assert_eq!(pairs(jobs, series), owned(&expected));
    }
    assert_eq!(jobs.metric[1].counter.as_ref().unwrap().value(), 3.0);
    let temperature = families
        .iter()
        .find(|f| f.name() == "temperature_celsius")
        .unwrap();
    assert_eq!(pairs(temperature, 0), owned(&constant));
    assert_eq!(temperature.metric[0].gauge.as_ref().unwrap().value(), -2.5);

    // The text format writes the same values escaped.
    let text = registry.render_within(Format::Text, std::time::Duration::from_secs(1));
    assert!(
        text.contains(
            r#"jobs_total{queue="sms",backslash="C:\\temp\\",lines="one\ntwo",quoted="say \"hi\"",unicode="zürich ✓ 東京"} 3"#
        ),
        "{text}"
    );
}
