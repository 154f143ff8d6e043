//! A test binary that uses nothing of the service links none of its metric declarations:
//! `check()` passes there whatever the service declares, `check_crate` says it saw nothing.
//! (The check that sees every declaration is the unit test in `src/metrics.rs`.)

use instrument_metric::CrateCheckError;

#[test]
fn a_check_that_sees_nothing_of_the_crate_fails() {
    assert!(
        instrument_metric::check().is_ok(),
        "nothing linked, nothing to refuse"
    );
    let error = instrument_metric::check_crate("personal-assistant").unwrap_err();
    let CrateCheckError::NothingDeclared { krate, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(krate, "personal_assistant");
    assert!(error.to_string().contains("#[cfg(test)]"), "{error}");
}
