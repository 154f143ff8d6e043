//! Registering again keeps no memory (issue 26, item 2): a get-or-create registration of an
//! existing family, a scoped registry filled, rendered and dropped, an HTTP layer built again
//! with the same options, and a refused registration repeated in a loop each leave the heap as
//! they found it after their first time, and a repeated conflict is reported once.
//!
//! A counting `#[global_allocator]` measures the bytes live on the heap, so this binary has no
//! test harness (`harness = false`): libtest's own threads would allocate while a scenario is
//! measured. Its `main` runs the scenarios one after the other, and fails by panicking.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::{IntGauge, Metrics, Registry, registry};
use integration_tests::Exposition;

/// Counts the bytes the program holds on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

#[allow(clippy::cast_possible_wrap)]
// allocations are smaller than `isize::MAX`
// SAFETY: every call is forwarded to `System` unchanged.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many times each scenario repeats after its first run.
const REPEATS: isize = 2_000;

/// The bytes kept by `repeats` runs of `scenario`, after a first run that may keep what it
/// registers.
fn kept_by_runs(repeats: isize, mut scenario: impl FnMut()) -> isize {
    scenario();
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..repeats {
        scenario();
    }
    LIVE.load(Ordering::SeqCst) - before
}

/// The bytes kept by [`REPEATS`] runs of `scenario`, after its first run.
fn kept_per_run(scenario: impl FnMut()) -> isize {
    kept_by_runs(REPEATS, scenario)
}

/// Declared twice with other help texts: the second is refused when the registry is built.
#[derive(Metrics)]
struct QueueMetrics {
    /// Jobs waiting.
    queue_depth: IntGauge,
}

mod other {
    use instrument_metric::{IntGauge, Metrics};

    #[derive(Metrics)]
    pub(crate) struct QueueMetrics {
        /// Jobs waiting, by another name.
        pub(crate) queue_depth: IntGauge,
    }
}

fn conflicts() -> Vec<instrument_metric::Conflict> {
    registry()
        .check()
        .err()
        .map(|e| e.conflicts)
        .unwrap_or_default()
}

fn conflicts_gauge() -> u64 {
    let text = registry().render();
    Exposition::parse(&text)
        .unwrap()
        .count("metrics_catalog_conflicts", &[])
}

fn main() {
    // `cargo test -p integration-tests --test registration_memory -- --rss`: the resident
    // memory figures of RELIABILITY.md.
    if std::env::args().any(|arg| arg == "--rss") {
        resident_memory_figures();
        return;
    }
    registering_again_keeps_no_memory();
    println!("registering_again_keeps_no_memory ... ok");
}

/// The resident memory of this process, in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kilobytes: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("VmRSS in kB");
    kilobytes * 1024
}

/// Prints the resident memory before and after 2 M re-registrations, 200,000 scoped
/// registries and 200,000 refused registrations.
#[allow(clippy::cast_precision_loss)] // megabytes, for reading
fn resident_memory_figures() {
    let megabytes = |bytes: u64| bytes as f64 / 1e6;
    let report = |what: &str, runs: u32, scenario: &mut dyn FnMut()| {
        scenario();
        let (before, heap) = (resident(), LIVE.load(Ordering::SeqCst));
        for _ in 0..runs {
            scenario();
        }
        let after = resident();
        println!(
            "{what}: {runs} runs, resident {:.1} MB before, {:.1} MB after ({:+.1} MB); heap {:+} bytes",
            megabytes(before),
            megabytes(after),
            megabytes(after) - megabytes(before),
            LIVE.load(Ordering::SeqCst) - heap,
        );
    };
    report("re-registration of jobs_done_total", 2_000_000, &mut || {
        registry()
            .int_counter("jobs_done_total", "Jobs done.")
            .unwrap()
            .inc();
    });
    report(
        "scoped registry, counter, histogram, render, dropped",
        200_000,
        &mut || {
            let scoped = Registry::new();
            scoped
                .int_counter("batch_rows_total", "Rows.")
                .unwrap()
                .inc();
            scoped
                .histogram("batch_duration_seconds", "Batch durations.", &[0.5, 5.0])
                .unwrap()
                .observe(1.0);
            let _ = scoped.render();
        },
    );
    report("refused registration of jobs_done", 200_000, &mut || {
        let _ = registry().int_gauge("jobs_done", "Clashes with jobs_done_total.");
    });
    println!("metrics_catalog_conflicts {}", conflicts_gauge());
}

fn registering_again_keeps_no_memory() {
    // Get-or-create in a loop, on the global registry.
    let kept = kept_per_run(|| {
        registry()
            .int_counter("jobs_done_total", "Jobs done.")
            .unwrap()
            .inc();
        registry()
            .histogram("job_duration_seconds", "Job durations.", &[0.1, 1.0])
            .unwrap()
            .observe(0.5);
    });
    assert_eq!(kept, 0, "bytes kept by re-registrations");

    // A scoped registry, filled, rendered and dropped.
    let kept = kept_per_run(|| {
        let scoped = Registry::new();
        scoped
            .int_counter("batch_rows_total", "Rows.")
            .unwrap()
            .inc();
        scoped
            .histogram("batch_duration_seconds", "Batch durations.", &[0.5, 5.0])
            .unwrap()
            .observe(1.0);
        assert!(!scoped.render().is_empty());
    });
    assert_eq!(kept, 0, "bytes kept by scoped registries dropped");

    // With a collector: its runs go through the collector threads' channels, whose blocks of
    // slots come and go, and a new collector thread keeps its own buffers (a few kilobytes in
    // all, however many runs); a byte kept per run would keep more than that over this many.
    let runs = 10 * REPEATS;
    let kept = kept_by_runs(runs, || {
        let scoped = Registry::new();
        scoped
            .collect_gauge("batch_backlog", "Backlog.", || 3_u32)
            .unwrap();
        assert!(scoped.render().contains("batch_backlog 3"));
    });
    assert!(
        kept < 8192,
        "{kept} bytes kept by {runs} scoped registries with a collector, dropped"
    );

    // HTTP layers built again with the options of one built before.
    let kept = kept_per_run(|| {
        let _ = HttpMetricsLayer::default();
        HttpMetricsLayer::builder()
            .prefix("admin")
            .buckets(&[0.1, 1.0])
            .build()
            .unwrap();
    });
    assert_eq!(kept, 0, "bytes kept by HTTP layers built again");

    // A conflicting registration repeated in a loop is refused, and reported once.
    let before = conflicts().len();
    let kept = kept_per_run(|| {
        let refused = registry().int_gauge("jobs_done", "Clashes with jobs_done_total.");
        assert!(refused.is_err());
    });
    assert_eq!(kept, 0, "bytes kept by refused registrations");
    assert_eq!(conflicts().len(), before + 1, "{:#?}", conflicts());

    // A `Metrics` struct whose field was refused when the registry was built, used again.
    let reported = |all: &[instrument_metric::Conflict]| {
        all.iter()
            .filter(|conflict| conflict.family == "queue_depth")
            .count()
    };
    QueueMetrics::global().queue_depth.set(4);
    assert_eq!(reported(&conflicts()), 1, "{:#?}", conflicts());
    other::QueueMetrics::global().queue_depth.set(7);
    let kept = kept_per_run(|| {
        other::QueueMetrics::register_in(registry())
            .queue_depth
            .set(7);
    });
    assert_eq!(kept, 0, "bytes kept by a struct registered again");
    assert_eq!(reported(&conflicts()), 1, "{:#?}", conflicts());
    let listed = u64::try_from(conflicts().len()).unwrap();
    assert_eq!(conflicts_gauge(), listed);
}
