//! The metric types of `#[derive(Metrics)]` (issue 12) against tikv `prometheus` and
//! prometheus-client 0.26 on the same series, measured in one run:
//!
//! - rendering a 10,000-series `IntCounterFamily<(Shard, Tenant)>` (two 100-value enums) in a
//!   scoped registry, against tikv `gather()` + `TextEncoder` on an `IntCounterVec` and
//!   prometheus-client's text encoder on a `Family<_, Counter>` with the same series and values;
//! - `with(labels).inc()` on one series of a small family from 1 and 2 threads, beside a bare
//!   loop (the machine's own noise) and tikv's `inc()` on a child resolved once;
//! - the memory of a 10,000-series family of each kind, each library measured in a process of
//!   its own (this binary run again), by bytes allocated and by resident memory.
//!
//! Prints every figure and ratio at the end. The increments are timed by wall time and by the
//! CPU time of each thread (see `common`), both in every run.
//!
//! Run: `cargo bench -p integration-tests --bench derive_families` (`BENCH_CLOCK=cpu` to time
//! the render by CPU time too).
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Clock, ThreadCpu, mean_ns, resident_bytes};
use criterion::Criterion;
use criterion::measurement::Measurement;
use instrument_metric::{
    CounterFamily, GaugeFamily, HistogramFamily, IntCounterFamily, IntGaugeFamily, LabelValue,
    Metrics, Registry,
};
use integration_tests::Exposition;
use prometheus::Encoder as _;

/// Counts the bytes allocated and not freed while [`COUNTING`] is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A fieldless enum deriving `LabelValue`, listing its variants in `ALL`, and writing the same
/// label value for prometheus-client (whose own derive would write the variant's name as is).
macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident: $($variant:ident)+) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
        #[allow(dead_code)] // a value no benchmark picks is still a series
        enum $name {
            $($variant),+
        }

        #[allow(dead_code)]
        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl prometheus_client::encoding::EncodeLabelValue for $name {
            fn encode(
                &self,
                encoder: &mut prometheus_client::encoding::LabelValueEncoder<'_>,
            ) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_label())
            }
        }
    };
}

/// A label enum of 100 values, `v00` to `v99`.
macro_rules! hundred_values {
    ($(#[$doc:meta])* $name:ident) => {
        label_enum!($(#[$doc])* $name:
            V00 V01 V02 V03 V04 V05 V06 V07 V08 V09 V10 V11 V12 V13 V14 V15 V16 V17 V18 V19
            V20 V21 V22 V23 V24 V25 V26 V27 V28 V29 V30 V31 V32 V33 V34 V35 V36 V37 V38 V39
            V40 V41 V42 V43 V44 V45 V46 V47 V48 V49 V50 V51 V52 V53 V54 V55 V56 V57 V58 V59
            V60 V61 V62 V63 V64 V65 V66 V67 V68 V69 V70 V71 V72 V73 V74 V75 V76 V77 V78 V79
            V80 V81 V82 V83 V84 V85 V86 V87 V88 V89 V90 V91 V92 V93 V94 V95 V96 V97 V98 V99);
    };
}

hundred_values!(
    /// A shard: 100 values.
    Shard
);
hundred_values!(
    /// A tenant: 100 values.
    Tenant
);

label_enum!(
    /// A region: the first label of the small family.
    Region: Eu Us
);
label_enum!(
    /// A tier: the second label of the small family.
    Tier: Free Paid
);

const SERIES: usize = 10_000;

/// Every (shard, tenant) pair in series order, with the value each family is given: distinct
/// values, so that the comparison of the three expositions checks every series' number.
fn combinations() -> impl Iterator<Item = (Shard, Tenant, u64)> {
    Shard::ALL.iter().enumerate().flat_map(|(s, shard)| {
        Tenant::ALL
            .iter()
            .enumerate()
            .map(move |(t, tenant)| (*shard, *tenant, (s * 100 + t) as u64))
    })
}

/// The family rendered: requests by shard and tenant.
#[derive(Metrics)]
#[metrics(scoped)]
struct Requests {
    /// Requests, by shard and tenant.
    bench_requests_total: IntCounterFamily<(Shard, Tenant)>,
}

/// One family of each kind, for the memory figures.
#[derive(Metrics)]
#[metrics(scoped)]
struct FloatCounters {
    /// Amounts, by shard and tenant.
    bench_amount_total: CounterFamily<(Shard, Tenant)>,
}

#[derive(Metrics)]
#[metrics(scoped)]
struct Gauges {
    /// Load, by shard and tenant.
    bench_load_ratio: GaugeFamily<(Shard, Tenant)>,
}

#[derive(Metrics)]
#[metrics(scoped)]
struct IntGauges {
    /// Items queued, by shard and tenant.
    bench_queued_items: IntGaugeFamily<(Shard, Tenant)>,
}

#[derive(Metrics)]
#[metrics(scoped)]
struct Histograms {
    /// Latency, by shard and tenant (default buckets).
    bench_latency_seconds: HistogramFamily<(Shard, Tenant)>,
}

/// The family counted into from two threads: 4 series.
#[derive(Metrics)]
#[metrics(scoped)]
struct Small {
    /// Requests, by region and tier.
    bench_small_total: IntCounterFamily<(Region, Tier)>,
}

/// prometheus-client's label set for the same series: the same enums, two bytes per key.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct ClientLabels {
    shard: Shard,
    tenant: Tenant,
}

/// The same labels as strings, the other common way to label a prometheus-client family.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct ClientStrLabels {
    shard: &'static str,
    tenant: &'static str,
}

fn ours_requests() -> (Registry, Requests) {
    let registry = Registry::new();
    let requests = Requests::register_in(&registry);
    for (shard, tenant, value) in combinations() {
        requests
            .bench_requests_total
            .with((shard, tenant))
            .inc_by(value);
    }
    (registry, requests)
}

fn tikv_requests() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let requests = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_requests_total", "Requests, by shard and tenant."),
        &["shard", "tenant"],
    )
    .unwrap();
    registry.register(Box::new(requests.clone())).unwrap();
    for (shard, tenant, value) in combinations() {
        requests
            .with_label_values(&[shard.as_label(), tenant.as_label()])
            .inc_by(value);
    }
    registry
}

fn client_requests() -> prometheus_client::registry::Registry {
    let mut registry = prometheus_client::registry::Registry::default();
    let requests = prometheus_client::metrics::family::Family::<
        ClientLabels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    registry.register(
        "bench_requests",
        "Requests, by shard and tenant.",
        requests.clone(),
    );
    for (shard, tenant, value) in combinations() {
        requests
            .get_or_create(&ClientLabels { shard, tenant })
            .inc_by(value);
    }
    registry
}

fn tikv_render(registry: &prometheus::Registry) -> String {
    let mut buffer = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .unwrap();
    String::from_utf8(buffer).unwrap()
}

fn client_render(registry: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
    out
}

/// The samples of `bench_requests_total`, by labels.
fn requests_samples(text: &str) -> BTreeMap<Vec<(String, String)>, f64> {
    let exposition = Exposition::parse(text).expect("a valid exposition");
    exposition
        .samples
        .into_iter()
        .filter(|sample| sample.name == "bench_requests_total")
        .map(|sample| (sample.labels.into_iter().collect(), sample.value))
        .collect()
}

fn renders<M: Measurement>(c: &mut Criterion<M>) {
    let (ours, _requests) = ours_requests();
    let tikv = tikv_requests();
    let client = client_requests();
    // The three write the same 10,000 series with the same values, and the scoped registry
    // nothing else.
    let text = ours.render();
    assert_eq!(Exposition::parse(&text).unwrap().samples.len(), SERIES);
    let expected = requests_samples(&text);
    assert_eq!(expected.len(), SERIES);
    assert_eq!(requests_samples(&tikv_render(&tikv)), expected);
    assert_eq!(requests_samples(&client_render(&client)), expected);

    let mut group = c.benchmark_group("derive_render_10k");
    group.sample_size(30);
    group.bench_function("instrument_metric", |b| b.iter(|| black_box(ours.render())));
    group.bench_function("tikv_gather_text_encoder", |b| {
        b.iter(|| black_box(tikv_render(&tikv)));
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| black_box(client_render(&client)));
    });
    group.finish();
}

/// Runs `work` `iters` times on each of `threads` threads at once; the time the slowest took
/// by `clock`.
fn on_threads<F: Fn() + Sync>(threads: usize, iters: u64, clock: Clock, work: F) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let started = clock.now();
                    for _ in 0..iters {
                        work();
                    }
                    clock.now().saturating_sub(started)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

fn increments<M: Measurement<Value = Duration>>(c: &mut Criterion<M>) {
    let registry = Registry::new();
    let small = Small::register_in(&registry);
    let tikv_family = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_small_total", "Requests, by region and tier."),
        &["region", "tier"],
    )
    .unwrap();
    let tikv_child = tikv_family.with_label_values(&["us", "paid"]);

    let ours = || {
        small
            .bench_small_total
            .with((black_box(Region::Us), black_box(Tier::Paid)))
            .inc();
    };
    let tikv = || black_box(&tikv_child).inc();
    let resolved = small
        .bench_small_total
        .with((Region::Us, Tier::Paid))
        .clone();
    let ours_resolved = || black_box(&resolved).inc();
    let bare = || {
        black_box((Region::Us, Tier::Paid));
    };

    // Calls made, to check that every increment was counted.
    let ours_calls = AtomicU64::new(0);
    let tikv_calls = AtomicU64::new(0);
    let mut group = c.benchmark_group("derive_inc");
    for (clock, suffix) in [(Clock::Wall, ""), (Clock::Cpu, "_cpu")] {
        for threads in [1, 2] {
            group.bench_function(format!("bare_loop_{threads}_threads{suffix}"), |b| {
                b.iter_custom(|iters| on_threads(threads, iters, clock, bare));
            });
            group.bench_function(
                format!("instrument_metric_{threads}_threads{suffix}"),
                |b| {
                    b.iter_custom(|iters| {
                        ours_calls.fetch_add(iters * threads as u64, Ordering::Relaxed);
                        on_threads(threads, iters, clock, ours)
                    });
                },
            );
            group.bench_function(
                format!("instrument_metric_resolved_{threads}_threads{suffix}"),
                |b| {
                    b.iter_custom(|iters| {
                        ours_calls.fetch_add(iters * threads as u64, Ordering::Relaxed);
                        on_threads(threads, iters, clock, ours_resolved)
                    });
                },
            );
            group.bench_function(
                format!("tikv_static_child_{threads}_threads{suffix}"),
                |b| {
                    b.iter_custom(|iters| {
                        tikv_calls.fetch_add(iters * threads as u64, Ordering::Relaxed);
                        on_threads(threads, iters, clock, tikv)
                    });
                },
            );
        }
    }
    group.finish();

    let counted = small.bench_small_total.with((Region::Us, Tier::Paid)).get();
    assert_eq!(
        counted,
        ours_calls.load(Ordering::Relaxed),
        "lost increments"
    );
    assert_eq!(tikv_child.get(), tikv_calls.load(Ordering::Relaxed));
}

fn run<M: Measurement<Value = Duration>>(mut criterion: Criterion<M>) {
    renders(&mut criterion);
    increments(&mut criterion);
    criterion.final_summary();
}

/// The kinds measured for memory.
const KINDS: [&str; 5] = ["IntCounter", "Counter", "Gauge", "IntGauge", "Histogram"];

/// The libraries measured for memory; `prometheus-client-str` labels its family with strings.
const LIBRARIES: [&str; 4] = [
    "instrument-metric",
    "tikv",
    "prometheus-client",
    "prometheus-client-str",
];

const MEMORY_CASE: &str = "DERIVE_FAMILIES_MEMORY_CASE";

/// Creates what every library needs once per process (lazily initialised state), so that the
/// measured creation holds only the family.
fn warm_up() {
    let registry = Registry::new();
    registry
        .int_counter("warm_total", "Warm-up.")
        .unwrap()
        .inc();
    black_box(registry.render());
    std::mem::forget(registry);
    let tikv = prometheus::Registry::new();
    let counter = prometheus::IntCounter::new("warm_total", "Warm-up.").unwrap();
    tikv.register(Box::new(counter)).unwrap();
    black_box(tikv_render(&tikv));
    std::mem::forget(tikv);
    let mut client = prometheus_client::registry::Registry::default();
    client.register(
        "warm",
        "Warm-up.",
        prometheus_client::metrics::counter::Counter::<u64>::default(),
    );
    black_box(client_render(&client));
    std::mem::forget(client);
}

/// A 10,000-series family of `kind` in a registry of `library`, every series created; what
/// keeps it alive, and (for ours) the bytes of its cells and of its handles.
fn create(library: &str, kind: &str) -> (Box<dyn std::any::Any>, Option<(usize, usize)>) {
    match library {
        "instrument-metric" => create_ours(kind),
        "tikv" => (create_tikv(kind), None),
        "prometheus-client" => (
            create_client::<ClientLabels>(kind, |s, t| ClientLabels {
                shard: s,
                tenant: t,
            }),
            None,
        ),
        _ => (
            create_client::<ClientStrLabels>(kind, |s, t| ClientStrLabels {
                shard: s.as_label(),
                tenant: t.as_label(),
            }),
            None,
        ),
    }
}

fn create_ours(kind: &str) -> (Box<dyn std::any::Any>, Option<(usize, usize)>) {
    use std::mem::size_of;
    let registry = Registry::new();
    // Every series touched, as the peers' are when they create them.
    macro_rules! touch {
        ($metrics:expr, $field:ident, $metric:ty, $touch:ident($($arg:expr)?)) => {{
            let metrics = $metrics;
            for (shard, tenant, _) in combinations() {
                metrics.$field.with((shard, tenant)).$touch($($arg)?);
            }
            let kept: Box<dyn std::any::Any> = Box::new(metrics);
            (kept, size_of::<$metric>())
        }};
    }
    let (kept, handle) = match kind {
        "IntCounter" => touch!(
            Requests::register_in(&registry),
            bench_requests_total,
            instrument_metric::IntCounter,
            inc()
        ),
        "Counter" => touch!(
            FloatCounters::register_in(&registry),
            bench_amount_total,
            instrument_metric::Counter,
            inc()
        ),
        "Gauge" => touch!(
            Gauges::register_in(&registry),
            bench_load_ratio,
            instrument_metric::Gauge,
            inc()
        ),
        "IntGauge" => touch!(
            IntGauges::register_in(&registry),
            bench_queued_items,
            instrument_metric::IntGauge,
            inc()
        ),
        _ => touch!(
            Histograms::register_in(&registry),
            bench_latency_seconds,
            instrument_metric::Histogram,
            observe(0.01)
        ),
    };
    let (cells, _) = instrument_metric::__private::memory_of(&registry);
    (Box::new((registry, kept)), Some((cells, handle * SERIES)))
}

fn create_tikv(kind: &str) -> Box<dyn std::any::Any> {
    let registry = prometheus::Registry::new();
    let labels = ["shard", "tenant"];
    let opts = |name: &str| prometheus::Opts::new(name, "Help.");
    macro_rules! fill {
        ($vec:expr, $touch:ident($($arg:expr)?)) => {{
            let vec = $vec;
            registry.register(Box::new(vec.clone())).unwrap();
            for (shard, tenant, _) in combinations() {
                vec.with_label_values(&[shard.as_label(), tenant.as_label()])
                    .$touch($($arg)?);
            }
        }};
    }
    match kind {
        "IntCounter" => fill!(
            prometheus::IntCounterVec::new(opts("bench_total"), &labels).unwrap(),
            inc()
        ),
        "Counter" => fill!(
            prometheus::CounterVec::new(opts("bench_total"), &labels).unwrap(),
            inc()
        ),
        "Gauge" => fill!(
            prometheus::GaugeVec::new(opts("bench_ratio"), &labels).unwrap(),
            inc()
        ),
        "IntGauge" => fill!(
            prometheus::IntGaugeVec::new(opts("bench_items"), &labels).unwrap(),
            inc()
        ),
        _ => fill!(
            prometheus::HistogramVec::new(
                prometheus::HistogramOpts::new("bench_seconds", "Help."),
                &labels
            )
            .unwrap(),
            observe(0.01)
        ),
    }
    Box::new(registry)
}

fn create_client<L>(kind: &str, labels: fn(Shard, Tenant) -> L) -> Box<dyn std::any::Any>
where
    L: Clone
        + std::hash::Hash
        + Eq
        + std::fmt::Debug
        + prometheus_client::encoding::EncodeLabelSet
        + Send
        + Sync
        + 'static,
{
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    let mut registry = prometheus_client::registry::Registry::default();
    macro_rules! fill {
        ($name:literal, $family:expr, $touch:ident($($arg:expr)?)) => {{
            let family = $family;
            registry.register($name, "Help.", family.clone());
            for (shard, tenant, _) in combinations() {
                family.get_or_create(&labels(shard, tenant)).$touch($($arg)?);
            }
        }};
    }
    match kind {
        "IntCounter" => fill!("bench", Family::<L, Counter>::default(), inc()),
        "Counter" => fill!("bench", Family::<L, Counter<f64>>::default(), inc()),
        "Gauge" => fill!(
            "bench_ratio",
            Family::<L, Gauge<f64, std::sync::atomic::AtomicU64>>::default(),
            inc()
        ),
        "IntGauge" => fill!("bench_items", Family::<L, Gauge>::default(), inc()),
        _ => fill!(
            "bench_seconds",
            Family::<L, Histogram>::new_with_constructor(|| Histogram::new(
                instrument_metric::DEFAULT_BUCKETS.iter().copied()
            )),
            observe(0.01)
        ),
    }
    Box::new(registry)
}

/// In a process of its own: creates one family and prints what it took.
fn measure_memory(case: &str) {
    let (library, kind) = case.split_once('/').expect("library/kind");
    warm_up();
    let resident_before = resident_bytes();
    LIVE.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let (kept, ours) = create(library, kind);
    COUNTING.store(false, Ordering::Relaxed);
    let allocated = LIVE.load(Ordering::Relaxed);
    let resident_after = resident_bytes();
    let (cells, handles) = ours.unwrap_or_default();
    println!(
        "{allocated} {} {cells} {handles}",
        resident_after.saturating_sub(resident_before)
    );
    drop(kept);
}

/// One memory figure: bytes allocated, resident growth, and (ours) cells and handles.
struct Memory {
    allocated: usize,
    resident: usize,
    cells: usize,
    handles: usize,
}

fn memory(library: &str, kind: &str) -> Option<Memory> {
    let output = std::process::Command::new(std::env::current_exe().ok()?)
        .env(MEMORY_CASE, format!("{library}/{kind}"))
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let numbers: Vec<usize> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [allocated, resident, cells, handles] = numbers[..] else {
        return None;
    };
    Some(Memory {
        allocated,
        resident,
        cells,
        handles,
    })
}

fn main() {
    if let Ok(case) = std::env::var(MEMORY_CASE) {
        measure_memory(&case);
        return;
    }
    let mut figures = Vec::new();
    for kind in KINDS {
        for library in LIBRARIES {
            if library == "prometheus-client-str" && kind != "IntCounter" {
                continue;
            }
            figures.push((library, kind, memory(library, kind)));
        }
    }

    // The render is timed by `BENCH_CLOCK`; the increments by both clocks, always.
    let clock = Clock::from_env();
    match clock {
        Clock::Wall => run(Criterion::default().configure_from_args()),
        Clock::Cpu => run(Criterion::default()
            .with_measurement(ThreadCpu)
            .configure_from_args()),
    }

    let ours = mean_ns("derive_render_10k/instrument_metric");
    let tikv = mean_ns("derive_render_10k/tikv_gather_text_encoder");
    let client = mean_ns("derive_render_10k/prometheus_client");
    println!(
        "\nissue 12, render of a 10,000-series IntCounterFamily<(Shard, Tenant)> ({}): instrument-metric {:.3} ms ({:.1} ns per series), tikv gather+TextEncoder {:.3} ms, prometheus-client {:.3} ms",
        clock.name(),
        ours / 1e6,
        ours / SERIES as f64,
        tikv / 1e6,
        client / 1e6
    );
    println!(
        "  {:.1}x faster than tikv (target >= 20x), {:.2}x faster than prometheus-client (target >= 2x)",
        tikv / ours,
        client / ours
    );

    println!(
        "issue 12, with(labels).inc() on one series of a 4-series family, per call of each thread:"
    );
    for (suffix, clock) in [("", "wall time"), ("_cpu", "CPU time")] {
        let ns = |id: &str, threads: usize| {
            mean_ns(&format!("derive_inc/{id}_{threads}_threads{suffix}"))
        };
        let line = |what: &str, id: &str, target: &str| {
            let (one, two) = (ns(id, 1), ns(id, 2));
            println!(
                "  {clock}: {what}: 1 thread {one:.2} ns, 2 threads {two:.2} ns, {:.2}x{target}",
                two / one
            );
            one
        };
        let bare = line("bare loop (the machine's noise)", "bare_loop", "");
        let ours = line(
            "instrument-metric with(labels).inc()",
            "instrument_metric",
            " (target <= 1.3x)",
        );
        let resolved = line(
            "instrument-metric inc() on a handle resolved once",
            "instrument_metric_resolved",
            "",
        );
        let tikv = line("tikv inc() on a static child", "tikv_static_child", "");
        println!(
            "  {clock}: 1 thread, instrument-metric with(labels).inc() / tikv static child = {:.2} (target <= 1.0); a handle resolved once / tikv static child = {:.2}; bare loop {bare:.2} ns",
            ours / tikv,
            resolved / tikv
        );
    }

    println!(
        "issue 12, memory of a 10,000-series family, per series (bytes allocated; resident growth, in a process of its own):"
    );
    for (library, kind, memory) in &figures {
        let Some(memory) = memory else {
            println!("  {kind:<10} {library:<22} not measured (the child process failed)");
            continue;
        };
        let per = |bytes: usize| bytes as f64 / SERIES as f64;
        let ours = if *library == "instrument-metric" {
            format!(
                " (cells {:.1}, handles {:.1}, the rest {:.1})",
                per(memory.cells),
                per(memory.handles),
                per(memory
                    .allocated
                    .saturating_sub(memory.cells + memory.handles))
            )
        } else {
            String::new()
        };
        println!(
            "  {kind:<10} {library:<22} allocated {:>6.1} B{ours}, resident {:>6.1} B",
            per(memory.allocated),
            per(memory.resident)
        );
    }
}
