//! Every way a synchronous instrumented function can end is counted exactly, and every series
//! exists at zero before the first call.

use std::panic::{AssertUnwindSafe, catch_unwind};

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

#[derive(Debug)]
struct Failure;

#[derive(Debug)]
struct Wrapped(#[allow(dead_code)] Failure);

impl From<Failure> for Wrapped {
    fn from(failure: Failure) -> Self {
        Wrapped(failure)
    }
}

fn may_fail(fail: bool) -> Result<u32, Failure> {
    if fail { Err(Failure) } else { Ok(1) }
}

/// Parses a number, failing on demand through every exit a function has.
#[instrument_metric(name = "parse_calls")]
fn parse(input: &str, how: &str) -> Result<u32, Wrapped> {
    match how {
        "early-ok" => return Ok(7),
        "early-err" => return Err(Wrapped(Failure)),
        "question" => {
            let value = may_fail(true)?;
            return Ok(value);
        }
        "panic" => panic!("asked to panic"),
        _ => {}
    }
    input.parse().map_err(|_| Wrapped(Failure))
}

mod local {
    pub(crate) type Result<T> = std::result::Result<T, super::Failure>;
}

/// Returns through a local `Result` alias.
#[instrument_metric(name = "alias_calls")]
fn through_alias(fail: bool) -> local::Result<()> {
    may_fail(fail).map(drop)
}

#[instrument_metric(name = "io_calls")]
fn through_io_alias(fail: bool) -> std::io::Result<()> {
    if fail {
        Err(std::io::Error::other("no"))
    } else {
        Ok(())
    }
}

#[instrument_metric(name = "option_calls")]
fn optional(some: bool) -> Option<u32> {
    some.then_some(1)
}

/// Declared and never called: its series exist at 0. The attribute does not hide the
/// dead-code lint, any more than it hides other lints of the user's function.
#[expect(dead_code, reason = "never called, on purpose")]
#[instrument_metric]
fn never_called() {}

#[instrument_metric(name = "unit_calls", in_flight)]
fn unit(panics: bool) {
    assert!(!panics, "asked to panic");
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).expect("the exposition parses")
}

fn calls(exposition: &Exposition, family: &str, function: &str, result: &str) -> u64 {
    exposition.count(
        family,
        &[
            ("function", function),
            ("module", "sync_outcomes"),
            ("result", result),
        ],
    )
}

#[test]
fn every_exit_is_counted_exactly() {
    const N: usize = 25;
    // Series exist at zero before the first call.
    let before = scrape();
    assert_eq!(
        calls(&before, "function_calls_total", "never_called", "ok"),
        0
    );
    assert_eq!(
        calls(&before, "function_calls_total", "never_called", "error"),
        0
    );
    assert_eq!(
        calls(&before, "function_calls_total", "never_called", "panic"),
        0
    );
    assert_eq!(
        before.get(
            "function_calls_total",
            &[
                ("function", "never_called"),
                ("module", "sync_outcomes"),
                ("result", "cancelled")
            ]
        ),
        None,
        "a synchronous function cannot be cancelled"
    );

    for _ in 0..N {
        assert_eq!(parse("12", "").unwrap(), 12);
        assert_eq!(parse("", "early-ok").unwrap(), 7);
        parse("x", "").unwrap_err();
        parse("", "early-err").unwrap_err();
        parse("", "question").unwrap_err();
        let panicked = catch_unwind(AssertUnwindSafe(|| parse("", "panic")));
        assert!(panicked.is_err(), "the panic propagates");
    }
    let after = scrape();
    assert_eq!(
        calls(&after, "parse_calls_total", "parse", "ok"),
        (2 * N) as u64
    );
    assert_eq!(
        calls(&after, "parse_calls_total", "parse", "error"),
        (3 * N) as u64
    );
    assert_eq!(
        calls(&after, "parse_calls_total", "parse", "panic"),
        N as u64
    );
    let labels = [("function", "parse"), ("module", "sync_outcomes")];
    assert_eq!(
        after.count("parse_calls_duration_seconds_count", &labels),
        (6 * N) as u64
    );
    assert!(after.value("parse_calls_duration_seconds_sum", &labels) > 0.0);
    assert_eq!(after.types["parse_calls_total"], "counter");
    assert_eq!(after.types["parse_calls_duration_seconds"], "histogram");
    assert_eq!(
        after.help["parse_calls_total"],
        "Parses a number, failing on demand through every exit a function has."
    );
}

#[test]
fn result_aliases_are_results() {
    for fail in [false, true, true] {
        let _ = through_alias(fail);
        let _ = through_io_alias(fail);
    }
    let after = scrape();
    for (family, function) in [
        ("alias_calls_total", "through_alias"),
        ("io_calls_total", "through_io_alias"),
    ] {
        assert_eq!(calls(&after, family, function, "ok"), 1, "{family}");
        assert_eq!(calls(&after, family, function, "error"), 2, "{family}");
    }
}

#[test]
fn other_returns_are_ok() {
    optional(true);
    optional(false);
    let after = scrape();
    assert_eq!(calls(&after, "option_calls_total", "optional", "ok"), 2);
    assert_eq!(calls(&after, "option_calls_total", "optional", "error"), 0);
}

#[test]
fn in_flight_returns_to_zero_after_panics() {
    unit(false);
    assert!(catch_unwind(|| unit(true)).is_err());
    let after = scrape();
    let labels = [("function", "unit"), ("module", "sync_outcomes")];
    assert_eq!(after.count("unit_calls_in_flight", &labels), 0);
    assert_eq!(calls(&after, "unit_calls_total", "unit", "ok"), 1);
    assert_eq!(calls(&after, "unit_calls_total", "unit", "panic"), 1);
    assert_eq!(after.count("unit_calls_duration_seconds_count", &labels), 2);
}

#[test]
fn declarations_agree() {
    instrument_metric::check().expect("no conflicts in this binary");
}
