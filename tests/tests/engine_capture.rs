//! `testing::capture`: one call of an instrumented function inside a capture gives exactly one
//! call and one duration, while other threads (or tasks) call the same function by the
//! hundred thousand; captured futures keep their capture across threads; nested captures each
//! see their calls; the registry still counts every call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use instrument_metric::{Outcome, instrument_metric, testing};
use integration_tests::Exposition;

#[instrument_metric]
fn parse_number(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[instrument_metric]
async fn fetch(n: u32) -> u32 {
    // Gives the runtime a chance to resume the future on another worker.
    tokio::task::yield_now().await;
    n
}

#[instrument_metric]
fn step() {}

/// Calls of `function` that the global registry counted, every outcome.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole counts below 2^53
fn counted(function: &str) -> u64 {
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    exposition
        .series("function_calls_total")
        .filter(|sample| sample.labels["function"] == function)
        .map(|sample| sample.value)
        .sum::<f64>() as u64
}

#[test]
fn one_call_is_captured_while_four_threads_call_the_same_function() {
    const CALLS: usize = 100_000;
    let finished = AtomicUsize::new(0);
    let mut captures = 0_u64;
    std::thread::scope(|threads| {
        for _ in 0..4 {
            threads.spawn(|| {
                for i in 0..CALLS {
                    let _ = parse_number(if i % 2 == 0 { "1" } else { "x" });
                }
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Capture one call after another until the other threads are done, so that captures
        // overlap their calls; at least one capture even when they finish first.
        loop {
            let started = Instant::now();
            let (parsed, calls) = testing::capture(|| parse_number("12"));
            let elapsed = started.elapsed();
            captures += 1;
            assert_eq!(parsed, Ok(12));
            assert_eq!(calls.calls("parse_number"), 1);
            assert_eq!(calls.outcomes("parse_number", Outcome::Ok), 1);
            assert_eq!(calls.outcomes("parse_number", Outcome::Error), 0);
            let durations = calls.durations("parse_number");
            assert_eq!(durations.len(), 1);
            // The call's clock (the calibrated TSC) and `Instant` (the monotonic clock) tick
            // at rates that differ by the calibration's error, a few hundred parts per million
            // at most: a call preempted for milliseconds can measure a few hundred nanoseconds
            // more on one than on the other.
            let tolerance = elapsed / 1_000 + std::time::Duration::from_micros(1);
            assert!(
                durations[0] <= elapsed + tolerance,
                "{durations:?} within {elapsed:?}"
            );
            if finished.load(Ordering::SeqCst) == 4 {
                break;
            }
        }
    });
    // The registry counted every call, the captured ones too.
    assert_eq!(counted("parse_number"), 4 * CALLS as u64 + captures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_future_sees_its_own_calls_while_other_tasks_make_theirs() {
    let others: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async {
                for i in 0..20_000 {
                    fetch(i).await;
                }
            })
        })
        .collect();
    for _ in 0..200 {
        let (sum, calls) = testing::capture_future(async { fetch(1).await + fetch(2).await }).await;
        assert_eq!(sum, 3);
        assert_eq!(calls.calls("fetch"), 2);
        assert_eq!(calls.outcomes("fetch", Outcome::Ok), 2);
        assert_eq!(calls.durations("fetch").len(), 2);
    }
    // A task spawned from the captured future is another task: not in the capture.
    let (value, calls) =
        testing::capture_future(async { tokio::spawn(fetch(5)).await.unwrap() }).await;
    assert_eq!(value, 5);
    assert!(calls.is_empty());
    for other in others {
        other.await.unwrap();
    }
}

#[test]
fn nested_captures_each_see_their_calls() {
    let ((inner, after_panic), outer) = testing::capture(|| {
        step();
        let ((), inner) = testing::capture(step);
        // A capture that panics ends, and the enclosing one goes on.
        let panicked = std::panic::catch_unwind(|| {
            testing::capture(|| {
                step();
                panic!("the captured code fails");
            })
        });
        assert!(panicked.is_err());
        step();
        let ((), after_panic) = testing::capture(|| {
            step();
            step();
        });
        (inner, after_panic)
    });
    assert_eq!(inner.calls("step"), 1);
    assert_eq!(after_panic.calls("step"), 2);
    // Every call made while the outer capture ran, those of the inner captures included.
    assert_eq!(outer.calls("step"), 6);
    assert_eq!(outer.durations("step").len(), 6);
    // Calls on another thread are not this thread's.
    let ((), calls) = testing::capture(|| {
        std::thread::scope(|threads| {
            threads.spawn(step);
        });
    });
    assert!(calls.is_empty());
}
