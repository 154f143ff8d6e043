//! Never an invalid exposition, in a scoped registry: whatever a program declares, from every
//! source (metrics registered by hand, collectors, `Metrics` structs, attached tikv registries,
//! constant labels), with clashing and invalid names, every exposition of the registry parses
//! with the strict parser, Python's reference parsers and promtool, no family or series is
//! written twice, every value recorded is read back exactly, and every refused registration
//! is an error value listed by `check()`. The rules are in `declarations/mod.rs`.

mod declarations;

use declarations::{Case, Model, apply, case, check_registry, quiet_collector_panics};
use instrument_metric::{ConfigError, Registry};
use proptest::prelude::*;

fn run(case: &Case) -> Result<(), TestCaseError> {
    quiet_collector_panics();
    let registry = if case.constant.is_empty() {
        Registry::new()
    } else {
        Registry::with_constant_labels(case.constant.iter().map(|(k, v)| (*k, v.clone())))
            .map_err(|error| TestCaseError::fail(format!("constant labels refused: {error}")))?
    };
    let mut model = Model::new(case.constant.clone(), &[]);
    for decl in &case.decls {
        apply(&registry, &mut model, decl)?;
    }
    check_registry(&registry, &model, true, |_, _| Ok(()))?;
    // Gathered tikv families are checked (and their conflicts reported) at each scrape: the
    // next one is the same.
    check_registry(&registry, &model, false, |_, _| Ok(()))
}

proptest! {
    // Each case runs Python twice and promtool once: about 0.3 s on an idle machine, 1.2 s
    // on a loaded one.
    #![proptest_config(ProptestConfig {
        cases: 24,
        // Each step of shrinking runs the reference parsers: bounded, so a failure is
        // reported in minutes.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_declarations_give_valid_expositions(case in case()) {
        run(&case)?;
    }
}

#[test]
fn constant_labels_that_would_repeat_a_label_are_refused() {
    for name in [
        "le",
        "quantile",
        "job",
        "instance",
        "bad-name",
        "__x",
        "camelCase",
    ] {
        let refused = Registry::with_constant_labels([(name, "x")]);
        assert!(refused.is_err(), "{name} is refused as a constant label");
    }
    assert!(matches!(
        Registry::with_constant_labels([("env", "a"), ("env", "b")]),
        Err(ConfigError::InvalidLabel(_))
    ));
}

#[test]
fn values_read_back_from_python_compare_exactly() {
    // Without serde_json's `float_roundtrip`, this one reads back one ulp off.
    let text = "190594.65078452486";
    let read: f64 = serde_json::from_str(text).unwrap();
    assert_eq!(read.to_bits(), text.parse::<f64>().unwrap().to_bits());
}
