//! Bodies that cannot leave early (no `return`, no `?`, no macro call) are bound as they are,
//! without a closure or an `async` block around them: every way such a function ends is still
//! counted exactly, and its duration still covers its work. The bodies below call helper
//! functions for what a macro would do (failing, panicking, waiting), so that they take that
//! path; `sync_outcomes.rs` and `async_outcomes.rs` have the bodies that keep the closure.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

#[derive(Debug)]
struct Refused;

/// How long the timed calls below work.
const WORK: Duration = Duration::from_millis(20);

/// Works for `WORK` on this thread (no sleep: the time is the body's own).
fn busy() -> u32 {
    let started = Instant::now();
    let mut spins = 0u32;
    while started.elapsed() < WORK {
        spins = spins.wrapping_add(1);
        std::hint::spin_loop();
    }
    spins
}

fn fail_if(fail: bool) -> Result<u32, Refused> {
    if fail { Err(Refused) } else { Ok(1) }
}

fn panic_if(panics: bool) {
    assert!(!panics, "asked to panic");
}

/// Never returns: a body whose value is this diverges.
fn diverge() -> u32 {
    panic_if(true);
    unreachable!("panic_if(true) panics")
}

#[instrument_metric(name = "inline_result_calls")]
fn result(fail: bool) -> Result<u32, Refused> {
    fail_if(fail)
}

#[instrument_metric(name = "inline_unit_calls", in_flight)]
fn unit(panics: bool) {
    panic_if(panics);
}

#[instrument_metric(name = "inline_timed_calls")]
fn timed() -> u32 {
    busy()
}

#[instrument_metric(name = "inline_diverging_calls")]
fn diverging() -> u32 {
    diverge()
}

/// Completes on its second poll: pending once, so that a drop in between is a cancellation.
struct Yield(bool);

impl Future for Yield {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[instrument_metric(name = "inline_async_calls", in_flight)]
async fn asynchronous(fail: bool, panics: bool) -> Result<u32, Refused> {
    Yield(false).await;
    panic_if(panics);
    fail_if(fail)
}

#[instrument_metric(name = "inline_async_timed_calls")]
async fn asynchronous_timed() -> u32 {
    Yield(false).await;
    busy()
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).expect("the exposition parses")
}

fn labels(function: &str) -> [(&str, &str); 2] {
    [("function", function), ("module", "inline_bodies")]
}

fn calls(exposition: &Exposition, family: &str, function: &str, result: &str) -> u64 {
    let [function, module] = labels(function);
    exposition.count(family, &[function, module, ("result", result)])
}

/// Polls `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

#[test]
fn sync_outcomes_are_counted_exactly() {
    for fail in [false, true, true] {
        let _ = result(fail);
    }
    unit(false);
    assert!(catch_unwind(|| unit(true)).is_err(), "the panic propagates");
    assert!(catch_unwind(diverging).is_err(), "the panic propagates");
    let after = scrape();
    assert_eq!(
        calls(&after, "inline_result_calls_total", "result", "ok"),
        1
    );
    assert_eq!(
        calls(&after, "inline_result_calls_total", "result", "error"),
        2
    );
    assert_eq!(calls(&after, "inline_unit_calls_total", "unit", "ok"), 1);
    assert_eq!(calls(&after, "inline_unit_calls_total", "unit", "panic"), 1);
    assert_eq!(
        after.count("inline_unit_calls_in_flight", &labels("unit")),
        0
    );
    let family = "inline_diverging_calls_total";
    assert_eq!(calls(&after, family, "diverging", "panic"), 1);
    assert_eq!(calls(&after, family, "diverging", "ok"), 0);
}

#[test]
fn durations_cover_the_work() {
    assert!(timed() > 0);
    assert!(block_on(asynchronous_timed()) > 0);
    let after = scrape();
    for (family, function) in [
        ("inline_timed_calls_duration_seconds", "timed"),
        (
            "inline_async_timed_calls_duration_seconds",
            "asynchronous_timed",
        ),
    ] {
        let labels = labels(function);
        assert_eq!(after.count(&format!("{family}_count"), &labels), 1);
        let sum = after.value(&format!("{family}_sum"), &labels);
        assert!(
            sum >= WORK.as_secs_f64(),
            "{family}: {sum} s for {WORK:?} of work"
        );
    }
}

#[test]
fn async_outcomes_are_counted_exactly() {
    assert!(block_on(asynchronous(false, false)).is_ok());
    assert!(block_on(asynchronous(true, false)).is_err());
    let panicked = catch_unwind(AssertUnwindSafe(|| block_on(asynchronous(false, true))));
    assert!(panicked.is_err(), "the panic propagates");
    {
        // Dropped after its first poll, while pending: cancelled.
        let mut future = Box::pin(asynchronous(false, false));
        let mut context = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut context).is_pending());
    }
    // Dropped before its first poll: never started, not counted.
    drop(asynchronous(false, false));
    let after = scrape();
    let family = "inline_async_calls_total";
    assert_eq!(calls(&after, family, "asynchronous", "ok"), 1);
    assert_eq!(calls(&after, family, "asynchronous", "error"), 1);
    assert_eq!(calls(&after, family, "asynchronous", "panic"), 1);
    assert_eq!(calls(&after, family, "asynchronous", "cancelled"), 1);
    let labels = labels("asynchronous");
    assert_eq!(after.count("inline_async_calls_in_flight", &labels), 0);
    assert_eq!(
        after.count("inline_async_calls_duration_seconds_count", &labels),
        4
    );
}

#[test]
fn declarations_agree() {
    instrument_metric::check().expect("no conflicts in this binary");
}
