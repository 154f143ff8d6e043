//! Property tests: whatever help texts, label values and constant labels a program uses (quotes,
//! backslashes, newlines, any Unicode), the text and OpenMetrics outputs parse with the
//! reference parsers and give back the same values; and the macros' name rules never accept
//! what tikv `prometheus` refuses.

use instrument_metric_rules as validate;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use instrument_metric::Format;
use integration_tests::{Exposition, python_parse};
use prometheus::{GaugeVec, Opts, Registry};
use proptest::prelude::*;

/// Text with what escaping must handle: quotes, backslashes, newlines, tabs, Unicode.
fn awkward_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[a-zA-Z0-9 _.,:{}=\"\\\\\n\t\u{e9}\u{4e2d}\u{1F600}\u{2028}-]{0,16}",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn any_help_and_label_values_survive_both_formats(
        help in awkward_text().prop_filter("tikv needs a help text", |h| !h.trim().is_empty()),
        values in proptest::collection::btree_set(awkward_text(), 1..5),
        constant in awkward_text(),
    ) {
        let registry = Registry::new();
        let gauge = GaugeVec::new(Opts::new("prop_gauge", help).const_label("region", &constant), &["value"]).unwrap();
        registry.register(Box::new(gauge.clone())).unwrap();
        let mut expected = BTreeMap::new();
        for (i, value) in values.iter().enumerate() {
            let number = f64::from(u32::try_from(i).unwrap()) + 0.5;
            gauge.with_label_values(&[value.as_str()]).set(number);
            expected.insert(value.clone(), number);
        }
        let families = registry.gather();
        for (format, openmetrics) in [(Format::Text, false), (Format::OpenMetrics, true)] {
            let text = instrument_metric::__private::encode_families(&families, format);
            let samples = python_parse(&text, openmetrics).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(samples.len(), expected.len(), "{}", text);
            for (name, labels, value) in samples {
                prop_assert_eq!(name, "prop_gauge");
                prop_assert_eq!(&labels["region"], &constant);
                prop_assert_eq!(Some(&value), expected.get(&labels["value"]));
            }
        }
    }

    #[test]
    fn instrumented_series_labels_round_trip(values in proptest::collection::vec(awkward_text(), 1..4)) {
        let names = ["a", "b", "c", "d"];
        let pairs: Vec<(&str, &str)> = names.iter().copied().zip(values.iter().map(String::as_str)).collect();
        let line = format!("x_total{{{}}} 7\n", instrument_metric::__private::render_labels(&pairs));
        let parsed = Exposition::parse(&line).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
        let labels: Vec<(&str, &str)> = pairs.clone();
        prop_assert_eq!(parsed.count("x_total", &labels), 7);
    }

    #[test]
    fn the_name_rules_never_accept_what_tikv_refuses(name in "[a-zA-Z0-9_:\\- \u{e9}]{0,10}") {
        let tikv_accepts = prometheus::IntCounter::new(name.as_str(), "help").is_ok();
        prop_assert_eq!(validate::characters(&name).is_ok(), tikv_accepts);
        for kind in [validate::Kind::Counter, validate::Kind::Gauge, validate::Kind::Histogram] {
            if validate::metric_name(&name, kind).is_ok() {
                prop_assert!(tikv_accepts);
            }
        }
        if validate::label_name(&name, &[]).is_ok() {
            prop_assert!(prometheus::IntCounterVec::new(Opts::new("x", "help"), &[name.as_str()]).is_ok());
        }
    }
}

#[test]
fn instrumented_series_labels_parse_with_the_reference_parser() {
    // One batch through Python: the label strings of many awkward values.
    let values = [
        "plain",
        "with \"quotes\"",
        "back\\slash",
        "new\nline",
        "tab\there",
        "\u{1F600} \u{4e2d}",
        "",
        "a=b,c",
        "}{",
    ];
    let mut text = String::from("# TYPE x_total counter\n");
    for (i, value) in values.iter().enumerate() {
        let labels = instrument_metric::__private::render_labels(&[("v", value)]);
        let _ = writeln!(text, "x_total{{{labels}}} {i}");
    }
    let samples = python_parse(&text, false).unwrap();
    for (i, value) in values.iter().enumerate() {
        let found = samples
            .iter()
            .find(|(_, labels, _)| labels.get("v").map(String::as_str) == Some(*value));
        let expected = f64::from(u32::try_from(i).unwrap());
        assert_eq!(found.map(|(_, _, v)| *v), Some(expected), "{value:?}");
    }
}
