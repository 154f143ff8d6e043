//! A scrape of the global registry never hangs: collectors that block (one sleeping ten
//! seconds, one waiting on a channel nobody sends on) lose their series for each scrape that
//! cannot wait for them, each such scrape is counted in `metrics_collector_timeouts_total`,
//! neither collector ever has two runs in flight, and every other family is written.
//!
//! One test: the counts are of every scrape of the process.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instrument_metric::{Format, IntCounter, Metrics, collect, instrument_metric};
use integration_tests::Exposition;

/// How much later than its deadline a scrape may return on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);

#[derive(Metrics)]
struct WorkMetrics {
    /// Work done.
    work_done_total: IntCounter,
}

#[instrument_metric]
fn handle() {}

/// Runs, runs in flight and the most in flight at once of one read function.
#[derive(Clone, Default)]
struct Probe {
    entered: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Probe {
    fn enter(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn scrape(deadline: Duration) -> Exposition {
    let started = Instant::now();
    let text = instrument_metric::registry().render_within(Format::Text, deadline);
    let took = started.elapsed();
    assert!(
        took <= deadline + MARGIN,
        "the scrape took {took:?}, with a deadline of {deadline:?}"
    );
    Exposition::parse(&text).expect("the exposition parses")
}

fn timeouts(exposition: &Exposition, collector: &str) -> u64 {
    exposition.count(
        "metrics_collector_timeouts_total",
        &[("collector", collector)],
    )
}

#[test]
fn late_collectors_are_counted_and_every_other_family_is_written() {
    let sleeping = Probe::default();
    let probe = sleeping.clone();
    collect::gauge("slow_items", "Sleeps ten seconds.", move || {
        probe.enter();
        std::thread::sleep(Duration::from_secs(10));
        probe.leave();
        1_u32
    })
    .unwrap();
    let stuck = Probe::default();
    let probe = stuck.clone();
    // Kept until the end of the test, never sent on.
    let (_never, blocked) = channel::<()>();
    let blocked = Mutex::new(blocked);
    collect::gauge("stuck_items", "Waits on a channel.", move || {
        probe.enter();
        let _ = blocked.lock().unwrap().recv();
        probe.leave();
        1_u32
    })
    .unwrap();
    collect::gauge("fresh_items", "Answers at once.", || 5_u32).unwrap();
    handle();
    WorkMetrics::global().work_done_total.inc();

    let deadline = Duration::from_millis(300);
    let mut scrapes = 0;
    for _ in 0..3 {
        let exposition = scrape(deadline);
        scrapes += 1;
        for late in ["slow_items", "stuck_items"] {
            assert_eq!(exposition.series(late).count(), 0, "{late} is left out");
            assert_eq!(timeouts(&exposition, late), scrapes, "{late}");
            assert_eq!(
                exposition.count("metrics_collector_errors_total", &[("collector", late)]),
                0
            );
        }
        assert_eq!(exposition.count("fresh_items", &[]), 5);
        assert_eq!(timeouts(&exposition, "fresh_items"), 0);
        assert_eq!(exposition.count("work_done_total", &[]), 1);
        let calls = [
            ("function", "handle"),
            ("module", "engine_scrape_deadline_global"),
            ("result", "ok"),
        ];
        assert_eq!(exposition.count("function_calls_total", &calls), 1);
        // Every family of the catalog but the late collectors' is written (and the HTTP
        // layer's, which are written once the layer serves a route: none here).
        let written: BTreeSet<&str> = exposition.types.keys().map(String::as_str).collect();
        let missing: Vec<&str> = instrument_metric::catalog()
            .families
            .iter()
            .map(|family| family.name)
            .filter(|name| !written.contains(name) && !name.starts_with("http_"))
            .collect();
        assert_eq!(missing, ["slow_items", "stuck_items"]);
    }

    // Scrapes at once: each is late, each is counted, none starts a second run.
    std::thread::scope(|threads| {
        for _ in 0..4 {
            threads.spawn(|| {
                let exposition = scrape(deadline);
                assert_eq!(exposition.series("stuck_items").count(), 0);
                assert_eq!(exposition.count("fresh_items", &[]), 5);
            });
        }
    });
    scrapes += 4;
    let exposition = scrape(deadline);
    scrapes += 1;
    for (late, probe) in [("slow_items", &sleeping), ("stuck_items", &stuck)] {
        assert_eq!(timeouts(&exposition, late), scrapes, "{late}");
        assert_eq!(probe.entered.load(Ordering::SeqCst), 1, "{late} runs once");
        assert_eq!(probe.most.load(Ordering::SeqCst), 1, "{late}");
    }
}
