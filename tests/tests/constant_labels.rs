//! Constant labels from configuration appear on every series, declared or registered by hand,
//! and a declared label of the same name is reported.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use instrument_metric::{ConfigError, instrument_metric};
use integration_tests::{Exposition, promtool_check_metrics};

#[instrument_metric(name = "tagged")]
fn tagged() {}

#[instrument_metric(name = "clashing", labels(env = "inner"))]
fn clashing() {}

// One test: the labels must be set before anything in this process builds the registry.
#[test]
fn constant_labels_are_on_every_series() {
    assert_eq!(
        instrument_metric::set_constant_labels([("bad-name", "x")]),
        Err(ConfigError::InvalidLabel("bad-name".to_owned()))
    );
    // Labels the crate's own families carry, or Prometheus adds, would repeat in a series.
    for taken in [
        "method",
        "status",
        "endpoint",
        "collector",
        "component",
        "job",
        "instance",
    ] {
        assert!(
            matches!(
                instrument_metric::set_constant_labels([(taken, "x")]),
                Err(ConfigError::Taken { .. })
            ),
            "{taken}"
        );
    }
    instrument_metric::set_constant_labels([("env", "staging"), ("service", "assistant")]).unwrap();
    assert_eq!(
        instrument_metric::set_constant_labels([("zone", "a")]),
        Err(ConfigError::TooLate)
    );

    let manual = instrument_metric::registry()
        .int_gauge("manual_workers", "Registered by hand.")
        .unwrap();
    manual.set(5);
    let legacy = prometheus::Registry::new();
    let gathered = prometheus::IntGauge::new("legacy_workers", "Registered with tikv.").unwrap();
    legacy.register(Box::new(gathered.clone())).unwrap();
    gathered.set(2);
    instrument_metric::registry().attach_prometheus(legacy);
    tagged();
    clashing();

    let text = instrument_metric::render();
    let exposition = Exposition::parse(&text).unwrap();
    assert!(!exposition.samples.is_empty());
    assert_eq!(
        exposition.series("clashing_total").count(),
        0,
        "the clashing family is not exported"
    );
    for sample in &exposition.samples {
        assert_eq!(
            sample.labels.get("service").map(String::as_str),
            Some("assistant"),
            "{sample:?}"
        );
        assert_eq!(
            sample.labels.get("env").map(String::as_str),
            Some("staging"),
            "{sample:?}"
        );
    }
    assert_eq!(
        exposition.count(
            "manual_workers",
            &[("env", "staging"), ("service", "assistant")]
        ),
        5
    );
    assert_eq!(
        exposition.count(
            "legacy_workers",
            &[("env", "staging"), ("service", "assistant")]
        ),
        2
    );

    let error = instrument_metric::check().unwrap_err();
    assert!(
        error
            .conflicts
            .iter()
            .any(|c| c.family == "clashing_total" && c.problem.contains("`env`")),
        "{error}"
    );
    promtool_check_metrics(&text).unwrap();
}
