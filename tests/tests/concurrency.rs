//! Threads calling one instrumented function lose nothing: totals, histogram counts and sums
//! are exact.

use std::sync::Barrier;

use integration_tests::Exposition;
use metrics_runtime::instrument_metric;

/// Adds nothing; fails for odd inputs.
#[instrument_metric(name = "busy_calls", buckets = [0.5, 1])]
fn busy(i: u64) -> Result<u64, u64> {
    if i % 2 == 0 { Ok(i) } else { Err(i) }
}

#[test]
fn concurrent_calls_are_exact() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 20_000;
    let barrier = Barrier::new(usize::try_from(THREADS).unwrap());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                barrier.wait();
                for i in 0..CALLS {
                    let _ = busy(i);
                }
            });
        }
    });
    let exposition = Exposition::parse(&metrics_runtime::render()).unwrap();
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
    let total = THREADS * CALLS;
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
