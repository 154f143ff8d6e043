//! Nothing is lost under concurrency: threads and tokio tasks call instrumented functions on
//! every path (ok, error, panic, cancelled) while other threads scrape continuously. Every
//! scrape parses, every counter only grows, and the final totals equal the calls made, for
//! counters, histogram counts and sums.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Waker};

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

/// Works, fails or panics on demand.
#[instrument_metric(name = "reliable_sync")]
fn sync_work(i: u64) -> Result<u64, u64> {
    match i % 4 {
        0 | 1 => Ok(i),
        2 => Err(i),
        _ => panic!("asked to panic"),
    }
}

/// Works, fails, panics, or waits forever (and is then cancelled).
#[instrument_metric(name = "reliable_async")]
async fn async_work(i: u64) -> Result<u64, u64> {
    tokio::task::yield_now().await;
    match i % 4 {
        0 => Ok(i),
        1 => Err(i),
        2 => panic!("asked to panic"),
        _ => std::future::pending().await,
    }
}

fn key(sample: &integration_tests::Sample) -> String {
    format!("{}{:?}", sample.name, sample.labels)
}

/// Parses a scrape and checks that no counter, bucket, count or sum went down since `previous`.
fn check_scrape(previous: &mut BTreeMap<String, f64>) {
    let text = instrument_metric::render();
    let exposition = Exposition::parse(&text).expect("every scrape parses");
    for sample in exposition
        .samples
        .iter()
        .filter(|s| s.name.starts_with("reliable_") && !s.name.contains("in_flight"))
    {
        let key = key(sample);
        if let Some(before) = previous.get(&key) {
            assert!(
                sample.value >= *before,
                "{key} went from {before} to {}",
                sample.value
            );
        }
        previous.insert(key, sample.value);
    }
    // Within one scrape, a histogram's count is its +Inf bucket.
    for family in [
        "reliable_sync_duration_seconds",
        "reliable_async_duration_seconds",
    ] {
        let count = exposition
            .series(&format!("{family}_count"))
            .map(|s| s.value)
            .sum::<f64>();
        let infinity = exposition
            .series(&format!("{family}_bucket"))
            .filter(|s| s.labels["le"] == "+Inf")
            .map(|s| s.value)
            .sum::<f64>();
        assert!(
            (count - infinity).abs() < 0.5,
            "{family}: count {count}, +Inf {infinity}"
        );
    }
}

#[test]
fn totals_are_exact_while_scraping() {
    const THREADS: u64 = 3;
    const SYNC_CALLS: u64 = 40_000;
    const TASKS: u64 = 20_000;
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let stop = AtomicBool::new(false);
    let scrapes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut previous = BTreeMap::new();
                while !stop.load(Ordering::SeqCst) {
                    check_scrape(&mut previous);
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
                check_scrape(&mut previous);
            });
        }
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    for i in 0..SYNC_CALLS {
                        let _ = catch_unwind(AssertUnwindSafe(|| sync_work(i)));
                    }
                })
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut handles = Vec::new();
            for i in 0..TASKS {
                if i % 4 == 3 {
                    // Poll once so the call starts, then drop it: cancelled.
                    let mut call = pin!(async_work(i));
                    let first = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                    assert!(first.is_pending());
                } else {
                    handles.push(tokio::spawn(async_work(i)));
                }
            }
            for handle in handles {
                let _ = handle.await;
            }
        });
        for worker in workers {
            worker.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
    });
    std::panic::set_hook(report);

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let calls = |family: &str, result: &str| {
        let module = "reliability";
        let function = if family.starts_with("reliable_sync") {
            "sync_work"
        } else {
            "async_work"
        };
        exposition.count(
            family,
            &[
                ("function", function),
                ("module", module),
                ("result", result),
            ],
        )
    };
    let sync_total = THREADS * SYNC_CALLS;
    assert_eq!(calls("reliable_sync_total", "ok"), sync_total / 2);
    assert_eq!(calls("reliable_sync_total", "error"), sync_total / 4);
    assert_eq!(calls("reliable_sync_total", "panic"), sync_total / 4);
    for result in ["ok", "error", "panic", "cancelled"] {
        assert_eq!(calls("reliable_async_total", result), TASKS / 4, "{result}");
    }
    let histogram = |family: &str, function: &str| {
        let labels = [("function", function), ("module", "reliability")];
        (
            exposition.count(&format!("{family}_count"), &labels),
            exposition.value(&format!("{family}_sum"), &labels),
        )
    };
    let (count, sum) = histogram("reliable_sync_duration_seconds", "sync_work");
    assert_eq!(count, sync_total);
    assert!(sum > 0.0);
    let (count, sum) = histogram("reliable_async_duration_seconds", "async_work");
    assert_eq!(count, TASKS);
    assert!(sum > 0.0);
    let in_flight = exposition.get("reliable_async_in_flight", &[]);
    assert!(in_flight.is_none());
    println!(
        "reliability: {} calls ({sync_total} sync on {THREADS} threads, {TASKS} async), {} scrapes, all parsed, monotonic and exact",
        sync_total + TASKS,
        scrapes.load(Ordering::Relaxed)
    );
}
