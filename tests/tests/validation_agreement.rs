//! The macro's name rules (`instrument-metric-rules`, which the macros apply) agree with
//! what tikv `prometheus` accepts at runtime: the character rules exactly, and every name,
//! label and bucket list the macros accept is accepted by the registry. Where the macros are
//! stricter, the test checks that it is for a documented naming rule. The runtime's own label
//! rule (`set_constant_labels`) agrees with the macros' exactly.

use instrument_metric_rules as validate;

use integration_tests::XorShift;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};
use validate::Kind;

const ALPHABET: &[char] = &[
    'a', 'z', 'A', 'Z', '_', ':', '0', '9', '-', ' ', '.', 'é', '\n', '"', '\\',
];

fn inputs() -> Vec<String> {
    let mut names: Vec<String> = [
        "",
        "_",
        "__",
        "__x",
        "a",
        "a1",
        "1a",
        "a:b",
        ":a",
        "le",
        "quantile",
        "sms_total",
        "sms_duration_ms",
        "http_requests_total",
        "a-b",
        "a b",
        "é",
        "x\n",
        "job:rate:5m",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = random.below(7);
        names.push(
            (0..len)
                .map(|_| ALPHABET[random.below(ALPHABET.len())])
                .collect(),
        );
    }
    names
}

fn tikv_accepts_metric_name(name: &str) -> bool {
    IntCounter::new(name, "help").is_ok()
}

fn tikv_accepts_label_name(name: &str) -> bool {
    IntCounterVec::new(Opts::new("x", "help"), &[name]).is_ok()
        && Histogram::with_opts(HistogramOpts::new("x", "help").const_label(name, "v")).is_ok()
}

#[test]
fn metric_name_characters_agree_exactly() {
    let mut checked = 0;
    for name in inputs() {
        assert_eq!(
            validate::characters(&name).is_ok(),
            tikv_accepts_metric_name(&name),
            "{name:?}"
        );
        checked += 1;
    }
    assert!(checked > 20_000);
}

#[test]
fn accepted_metric_names_are_accepted_by_tikv() {
    for name in inputs() {
        for kind in [
            Kind::Counter,
            Kind::Gauge,
            Kind::Histogram,
            Kind::DurationHistogram,
        ] {
            match validate::metric_name(&name, kind) {
                Ok(()) => assert!(tikv_accepts_metric_name(&name), "{name:?}"),
                Err(message) if tikv_accepts_metric_name(&name) => {
                    // Stricter than tikv only for the naming practice.
                    let documented = [
                        "colons",
                        "`__`",
                        "end in",
                        "ends in",
                        "base units",
                        "must not end",
                        "snake_case",
                        "metric type",
                    ];
                    assert!(
                        documented.iter().any(|rule| message.contains(rule)),
                        "{name:?}: {message}"
                    );
                }
                Err(_) => {}
            }
        }
    }
}

#[test]
fn accepted_label_names_are_accepted_by_tikv() {
    for name in inputs() {
        match validate::label_name(&name, &[]) {
            Ok(()) => assert!(tikv_accepts_label_name(&name), "{name:?}"),
            Err(message) if tikv_accepts_label_name(&name) => {
                let camel_case = name
                    .as_bytes()
                    .windows(2)
                    .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase());
                assert!(
                    name.starts_with('_') || name == "quantile" || camel_case,
                    "{name:?}: {message}"
                );
            }
            Err(_) => {}
        }
    }
    // tikv itself refuses `le` on histograms; the macros refuse it everywhere.
    assert!(validate::label_name("le", &[]).is_err());
    assert!(!tikv_accepts_label_name("le"));
}

#[test]
fn accepted_buckets_are_accepted_by_tikv() {
    let mut random = XorShift(7);
    let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -1.0];
    for _ in 0..5_000 {
        let len = random.below(5);
        let bounds: Vec<f64> = (0..len)
            .map(|_| match random.below(8) {
                0 => specials[random.below(specials.len())],
                n => f64::from(u32::try_from(n).unwrap()) / 2.0,
            })
            .collect();
        let ours = validate::buckets(&bounds, false, false).is_empty();
        // A histogram of seconds only adds rules.
        assert!(ours || !validate::buckets(&bounds, true, false).is_empty());
        let tikv =
            Histogram::with_opts(HistogramOpts::new("x", "help").buckets(bounds.clone())).is_ok();
        if ours {
            assert!(tikv, "{bounds:?}");
        }
        if !tikv {
            assert!(!ours, "{bounds:?}");
        }
    }
}

#[test]
fn accepted_help_is_accepted_by_tikv() {
    for help in ["", " ", "\n", "x", "Counts things.", "\"quoted\" \\ back"] {
        if validate::help(help).is_ok() {
            assert!(IntCounter::new("x", help).is_ok(), "{help:?}");
        }
    }
    assert!(validate::help("").is_err() && IntCounter::new("x", "").is_err());
}

#[test]
fn constant_label_names_follow_the_macros_label_rules() {
    let taken = ["function", "module", "result"];
    let mut accepted = 0;
    for name in inputs() {
        let runtime = !matches!(
            instrument_metric::set_constant_labels([(name.as_str(), "v")]),
            Err(instrument_metric::ConfigError::InvalidLabel(_))
        );
        let macros = validate::label_name(&name, &taken).is_ok();
        assert_eq!(runtime, macros, "{name:?}");
        accepted += usize::from(macros);
    }
    assert!(
        accepted > 100,
        "only {accepted} inputs were valid label names"
    );
}

#[test]
fn objective_names_follow_one_rule_in_the_macros_and_the_http_layer() {
    let mut accepted = 0;
    for name in inputs() {
        let name: &'static str = Box::leak(name.into_boxed_str());
        // A target of 100% is refused after the name is checked: nothing is registered, and
        // the message tells which check refused the objective.
        let built = instrument_metric::axum::HttpMetricsLayer::builder()
            .objective(instrument_metric::Objective::new(name).success(100.0))
            .build();
        let Err(instrument_metric::axum::HttpLayerError::Objective(message)) = built else {
            panic!("{name:?}: the objective was not refused");
        };
        let runtime = message.contains("has the success target 100");
        let macros = validate::objective_name(name).is_ok();
        assert_eq!(runtime, macros, "{name:?}: {message}");
        accepted += usize::from(macros);
    }
    assert!(
        accepted > 100,
        "only {accepted} inputs were valid objective names"
    );
}
