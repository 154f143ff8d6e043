//! The tokio runtime collector: worker count, alive tasks, the global queue and busy time,
//! read on the collectors' thread, so a runtime whose only worker is stuck still reports.

#![allow(clippy::float_cmp)] // counts are whole numbers

use std::sync::mpsc;
use std::time::Duration;

use integration_tests::Exposition;

#[test]
fn a_stuck_runtime_reports_its_queue_and_busy_worker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    instrument_metric::system::register_tokio_metrics(runtime.handle()).unwrap();
    let idle = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(idle.value("tokio_workers", &[]), 1.0);
    assert_eq!(idle.value("tokio_alive_tasks", &[]), 0.0);
    assert_eq!(idle.value("tokio_global_queue_depth", &[]), 0.0);

    // The only worker blocks until told to stop; five more tasks wait behind it.
    let (release, blocked) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel::<()>();
    runtime.spawn(async move {
        started.send(()).unwrap();
        blocked.recv().unwrap();
    });
    running.recv().unwrap();
    std::thread::sleep(Duration::from_millis(50)); // busy time to measure, not a synchronisation
    let handles: Vec<_> = (0..5).map(|_| runtime.spawn(async {})).collect();
    let stuck = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(stuck.value("tokio_alive_tasks", &[]), 6.0);
    assert_eq!(stuck.value("tokio_global_queue_depth", &[]), 5.0);
    release.send(()).unwrap();
    runtime.block_on(async {
        for handle in handles {
            handle.await.unwrap();
        }
    });
    // A worker hands its busy time to the runtime's metrics when it parks, which it does on
    // its own once the queue is empty: wait for that, with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let after = loop {
        let after = Exposition::parse(&instrument_metric::render()).unwrap();
        let busy = after.value("tokio_worker_busy_seconds_total", &[("worker", "0")]);
        if busy >= 0.05 || std::time::Instant::now() > deadline {
            break after;
        }
        std::thread::yield_now();
    };
    assert_eq!(after.value("tokio_global_queue_depth", &[]), 0.0);
    let busy = after.value("tokio_worker_busy_seconds_total", &[("worker", "0")]);
    assert!(busy >= 0.05, "the worker ran the blocking task: {busy} s");
    assert!(after.value("tokio_worker_parks_total", &[("worker", "0")]) >= 1.0);
    assert!(instrument_metric::system::register_tokio_metrics(runtime.handle()).is_err());
}
