//! A scrape never hangs (scoped registries): a collector that blocks costs its own series for
//! the scrapes that cannot wait for it, never more than their deadline, never a second run of
//! it; a collector may register another one, or render its own registry, while it is collected.
//!
//! Times are bounded from above only, generously (a loaded 2-core machine): the deadline plus
//! [`MARGIN`]. Nothing here sleeps to synchronise: blocked collectors wait on channels that the
//! test sends on (or never does).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instrument_metric::{Format, Registry};
use integration_tests::Exposition;

/// How much later than its deadline a scrape may return on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);
/// How long a test waits for something that must not hang, before it fails.
const HANG: Duration = Duration::from_secs(30);

/// A collector's read function that counts its runs, the runs in flight, and the most ever in
/// flight at once, and blocks until the test drops the sender (forever if it never does).
#[derive(Clone, Default)]
struct Probe {
    entered: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Probe {
    /// A read function blocked on `release` until its sender is dropped, then giving 42.
    fn blocking(&self, release: Receiver<()>) -> impl Fn() -> u32 + Send + Sync + 'static {
        let probe = self.clone();
        let release = Mutex::new(release);
        move || {
            probe.entered.fetch_add(1, Ordering::SeqCst);
            let now = probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            probe.most.fetch_max(now, Ordering::SeqCst);
            // Nothing is ever sent: this returns when the sender is dropped.
            let _ = release.lock().unwrap().recv();
            probe.in_flight.fetch_sub(1, Ordering::SeqCst);
            42
        }
    }
}

/// Renders `registry` within `deadline`, asserting it returns by the deadline plus [`MARGIN`].
fn scrape(registry: &Registry, deadline: Duration) -> Exposition {
    let started = Instant::now();
    let text = registry.render_within(Format::Text, deadline);
    let took = started.elapsed();
    assert!(
        took <= deadline.saturating_add(MARGIN),
        "the scrape took {took:?}, with a deadline of {deadline:?}"
    );
    Exposition::parse(&text).expect("the exposition parses")
}

#[test]
fn a_blocked_collector_costs_its_own_series_and_runs_once() {
    let registry = Registry::new();
    let probe = Probe::default();
    let (release, blocked) = channel::<()>();
    registry
        .collect_gauge("stuck_items", "Never answers.", probe.blocking(blocked))
        .unwrap();
    registry
        .collect_gauge("fresh_items", "Answers at once.", || 5_u32)
        .unwrap();
    let counted = registry
        .int_counter("jobs_done_total", "Jobs done.")
        .unwrap();
    counted.inc_by(3);

    // Scrapes one after another, and several at once: each returns by its deadline, without
    // the stuck collector's series, with all the others.
    let deadline = Duration::from_millis(200);
    for _ in 0..3 {
        let exposition = scrape(&registry, deadline);
        assert_eq!(exposition.series("stuck_items").count(), 0);
        assert_eq!(exposition.count("fresh_items", &[]), 5);
        assert_eq!(exposition.count("jobs_done_total", &[]), 3);
    }
    std::thread::scope(|threads| {
        for _ in 0..4 {
            threads.spawn(|| {
                let exposition = scrape(&registry, deadline);
                assert_eq!(exposition.series("stuck_items").count(), 0);
                assert_eq!(exposition.count("fresh_items", &[]), 5);
            });
        }
    });
    assert_eq!(
        probe.entered.load(Ordering::SeqCst),
        1,
        "the stuck collector is not started again while it runs"
    );
    assert_eq!(probe.most.load(Ordering::SeqCst), 1);

    // Released, it answers the next scrape that waits long enough.
    drop(release);
    let exposition = scrape(&registry, HANG);
    assert_eq!(exposition.count("stuck_items", &[]), 42);
    assert_eq!(probe.most.load(Ordering::SeqCst), 1);
}

#[test]
fn a_sleeping_collector_does_not_hold_the_scrape() {
    let registry = Registry::new();
    let entered = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&entered);
    registry
        .collect_gauge("slow_items", "Sleeps ten seconds.", move || {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(10));
            1_u32
        })
        .unwrap();
    registry
        .int_gauge("other_items", "Set by hand.")
        .unwrap()
        .set(2);
    let deadline = Duration::from_millis(500);
    for _ in 0..3 {
        let exposition = scrape(&registry, deadline);
        assert_eq!(exposition.series("slow_items").count(), 0);
        assert_eq!(exposition.count("other_items", &[]), 2);
    }
    assert_eq!(entered.load(Ordering::SeqCst), 1);
}

#[test]
fn the_registry_default_deadline_applies_to_render() {
    let registry = Registry::new();
    let (_never, blocked) = channel::<()>();
    registry
        .collect_gauge(
            "stuck_items",
            "Never answers.",
            Probe::default().blocking(blocked),
        )
        .unwrap();
    assert_eq!(
        registry.collect_timeout(),
        instrument_metric::DEFAULT_COLLECT_TIMEOUT
    );
    registry.set_collect_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let text = registry.render();
    assert!(started.elapsed() <= Duration::from_millis(100) + MARGIN);
    assert!(Exposition::parse(&text).unwrap().samples.is_empty());
}

#[test]
fn a_deadline_without_limit_is_no_panic() {
    let registry = Registry::new();
    registry
        .collect_gauge("quick_items", "Answers at once.", || 1_u32)
        .unwrap();
    let exposition = scrape(&registry, Duration::MAX);
    assert_eq!(exposition.count("quick_items", &[]), 1);
    registry.set_collect_timeout(Duration::MAX);
    let exposition = Exposition::parse(&registry.render()).unwrap();
    assert_eq!(exposition.count("quick_items", &[]), 1);
}

/// Runs `f` on a thread of its own and fails if it does not return within [`HANG`].
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    result
        .recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} hangs"))
}

#[test]
fn a_collector_may_register_another_while_it_is_collected() {
    let registry = Registry::new();
    let inner = registry.clone();
    let registered: Arc<Mutex<Vec<bool>>> = Arc::default();
    let results = Arc::clone(&registered);
    registry
        .collect_gauge(
            "outer_items",
            "Registers a collector when read.",
            move || {
                let result =
                    inner.collect_gauge("inner_items", "Registered by a collector.", || 7_u32);
                results.lock().unwrap().push(result.is_ok());
                1_u32
            },
        )
        .unwrap();
    let scraper = registry.clone();
    let first = bounded(
        "a scrape whose collector registers a collector",
        move || scraper.render_within(Format::Text, HANG),
    );
    let first = Exposition::parse(&first).unwrap();
    assert_eq!(first.count("outer_items", &[]), 1);
    let scraper = registry.clone();
    let second = bounded("the next scrape", move || {
        scraper.render_within(Format::Text, HANG)
    });
    let second = Exposition::parse(&second).unwrap();
    assert_eq!(
        second.count("inner_items", &[]),
        7,
        "the new collector is read"
    );
    // The first registration is accepted; the second scrape's attempt is refused: a value,
    // listed by check().
    assert_eq!(*registered.lock().unwrap(), [true, false]);
    let conflicts = registry.check().unwrap_err().conflicts;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].family, "inner_items");
}

#[test]
fn a_collector_that_renders_its_own_registry_is_bounded() {
    let registry = Registry::new();
    let inner = registry.clone();
    let (sender, inner_texts): (Sender<String>, Receiver<String>) = channel();
    let sender = Mutex::new(sender);
    registry
        .collect_gauge(
            "reentrant_items",
            "Renders its own registry when read.",
            move || {
                // Its own run is in flight: the inner scrape cannot wait for it past its deadline.
                let text = inner.render_within(Format::Text, Duration::from_millis(100));
                let _ = sender.lock().unwrap().send(text);
                3_u32
            },
        )
        .unwrap();
    let scraper = registry.clone();
    let text = bounded("a scrape whose collector renders the registry", move || {
        scraper.render_within(Format::Text, HANG)
    });
    assert_eq!(
        Exposition::parse(&text)
            .unwrap()
            .count("reentrant_items", &[]),
        3
    );
    let inner_text = inner_texts.recv_timeout(HANG).unwrap();
    assert_eq!(
        Exposition::parse(&inner_text)
            .unwrap()
            .series("reentrant_items")
            .count(),
        0
    );
}
