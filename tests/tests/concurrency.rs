//! Threads calling one instrumented function lose nothing: totals, histogram counts and sums
//! are exact, and every scrape taken meanwhile holds the invariants (each function's `result`
//! rows add up to its histogram's count, which `Exposition::parse` checks).

use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

/// Adds nothing; fails for odd inputs.
#[instrument_metric(name = "busy_calls", buckets = [0.5, 1])]
fn busy(i: u64) -> Result<u64, u64> {
    if i.is_multiple_of(2) { Ok(i) } else { Err(i) }
}

#[test]
fn concurrent_calls_are_exact() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 20_000;
    /// Scrapes taken while every thread is calling.
    const SCRAPES: u64 = 20;
    let barrier = Barrier::new(usize::try_from(THREADS).unwrap() + 1);
    let scrapes = AtomicU64::new(0);
    let total: u64 = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let mut calls = 0;
                    // Calls go on until the scraper has read the cells enough times, so the
                    // scrapes overlap the calls; one `ok` and one `error` at a time.
                    while calls < CALLS || scrapes.load(Ordering::Relaxed) < SCRAPES {
                        let _ = busy(calls);
                        let _ = busy(calls + 1);
                        calls += 2;
                    }
                    calls
                })
            })
            .collect();
        scope.spawn(|| {
            barrier.wait();
            for _ in 0..SCRAPES {
                Exposition::parse(&instrument_metric::render())
                    .expect("every scrape taken during the calls holds the invariants");
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
        });
        callers
            .into_iter()
            .map(|caller| caller.join().unwrap())
            .sum()
    });
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let result = |r| {
        exposition.count(
            "busy_calls_total",
            &[
                ("function", "busy"),
                ("module", "concurrency"),
                ("result", r),
            ],
        )
    };
    assert_eq!(result("ok"), total / 2);
    assert_eq!(result("error"), total / 2);
    let labels = [("function", "busy"), ("module", "concurrency")];
    assert_eq!(
        exposition.count("busy_calls_duration_seconds_count", &labels),
        total
    );
    let inf = [
        ("function", "busy"),
        ("module", "concurrency"),
        ("le", "+Inf"),
    ];
    assert_eq!(
        exposition.count("busy_calls_duration_seconds_bucket", &inf),
        total
    );
    // Every call takes far less than half a second, so each lands in the first bucket.
    let first = [
        ("function", "busy"),
        ("module", "concurrency"),
        ("le", "0.5"),
    ];
    assert_eq!(
        exposition.count("busy_calls_duration_seconds_bucket", &first),
        total
    );
    assert!(
        exposition.value("busy_calls_duration_seconds_sum", &labels)
            < 0.5 * f64::from(u32::try_from(total).unwrap())
    );
}
