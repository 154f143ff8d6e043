//! Cost of one histogram observation: the crate's classic histogram cells, its native
//! histogram cells (alone, and with the default classic buckets beside them), and
//! prometheus-client 0.26's classic and native histograms; on one thread, then with two
//! threads observing into one series. Then the cost of reading one native series, and the
//! bytes a native series takes, ours and prometheus-client's (heap bytes counted by the
//! allocator, the same observations in both). Prints every figure and ratio at the end.
//!
//! Run: `cargo bench -p integration-tests --bench native_histogram`

#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

mod common;

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::LIVE;
use criterion::{Criterion, criterion_group};
use instrument_metric::__private::bench::ClassicHistogram;
use instrument_metric::__private::native_histogram::NativeHistogram;
use instrument_metric::DEFAULT_BUCKETS;
use instrument_metric::native_histogram::NativeConfig;
use prometheus_client::metrics::histogram::{Histogram as ClientHistogram, NativeHistogramConfig};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// Observations like latencies: log-uniform from 0.5 ms to 4 s (13 powers of two).
fn latencies() -> Vec<f64> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            0.0005 * 8000f64.powf(unit)
        })
        .collect()
}

/// The histograms compared, each filled with `values` once so that every bucket the
/// benchmark hits exists already.
struct Subjects {
    classic: ClassicHistogram,
    native: NativeHistogram,
    native_classic: NativeHistogram,
    client_classic: ClientHistogram,
    client_native: ClientHistogram,
    client_both: ClientHistogram,
}

impl Subjects {
    fn new(values: &[f64]) -> Subjects {
        let subjects = Subjects {
            classic: ClassicHistogram::new(DEFAULT_BUCKETS),
            native: NativeHistogram::new(&NativeConfig::new(), &[]).unwrap(),
            native_classic: NativeHistogram::new(&NativeConfig::new(), DEFAULT_BUCKETS).unwrap(),
            client_classic: ClientHistogram::new(DEFAULT_BUCKETS.iter().copied()),
            client_native: ClientHistogram::new_native(NativeHistogramConfig::default()),
            client_both: ClientHistogram::new_classic_and_native(
                DEFAULT_BUCKETS.iter().copied(),
                NativeHistogramConfig::default(),
            ),
        };
        for value in values {
            subjects.observe_all(*value);
        }
        subjects
    }

    fn observe_all(&self, value: f64) {
        self.classic.observe(value);
        self.native.observe(value);
        self.native_classic.observe(value);
        self.client_classic.observe(value);
        self.client_native.observe(value);
        self.client_both.observe(value);
    }
}

/// The names of the histograms compared, in the order `each!` visits them.
const NAMES: [&str; 6] = [
    "classic",
    "native",
    "native_and_classic",
    "prometheus_client_classic",
    "prometheus_client_native",
    "prometheus_client_native_and_classic",
];

/// Runs `$body` once per histogram, with `$name` its name and `$observe` a closure of its own
/// type that observes into it: the measured loops call it directly, not through a pointer.
macro_rules! each {
    ($subjects:expr, |$name:ident, $observe:ident| $body:block) => {{
        let subjects: &Subjects = $subjects;
        {
            let ($name, $observe) = (NAMES[0], |v| subjects.classic.observe(v));
            $body
        }
        {
            let ($name, $observe) = (NAMES[1], |v| subjects.native.observe(v));
            $body
        }
        {
            let ($name, $observe) = (NAMES[2], |v| subjects.native_classic.observe(v));
            $body
        }
        {
            let ($name, $observe) = (NAMES[3], |v| subjects.client_classic.observe(v));
            $body
        }
        {
            let ($name, $observe) = (NAMES[4], |v| subjects.client_native.observe(v));
            $body
        }
        {
            let ($name, $observe) = (NAMES[5], |v| subjects.client_both.observe(v));
            $body
        }
    }};
}

fn observations(c: &mut Criterion) {
    let values = latencies();
    let subjects = Subjects::new(&values);
    let mut group = c.benchmark_group("observe");
    let mut index = 0usize;
    group.bench_function("loop_only", |b| {
        b.iter(|| {
            index = (index + 1) & 1023;
            black_box(values[index]);
        });
    });
    each!(&subjects, |name, observe| {
        group.bench_function(name, |b| {
            b.iter(|| {
                index = (index + 1) & 1023;
                observe(black_box(values[index]));
            });
        });
    });
    group.finish();

    // Two threads observing into one series: time per observation of each thread.
    let mut group = c.benchmark_group("observe_2_threads");
    each!(&subjects, |name, observe| {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| on_two_threads(iters, &values, &observe));
        });
    });
    group.finish();

    // One reading of a series holding the observations above: a scrape's cost per series.
    let mut group = c.benchmark_group("read");
    group.bench_function("native_and_classic", |b| {
        b.iter(|| black_box(subjects.native_classic.read()));
    });
    group.bench_function("classic", |b| {
        b.iter(|| black_box(subjects.classic.read()));
    });
    group.finish();
}

/// Runs `iters` observations on each of two threads at once; the time the slower took.
fn on_two_threads(iters: u64, values: &[f64], observe: &(impl Fn(f64) + Sync)) -> Duration {
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|thread| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let mut index = thread * 512;
                    for _ in 0..iters {
                        index = (index + 1) & 1023;
                        observe(black_box(values[index]));
                    }
                    started.elapsed()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

criterion_group!(benches, observations);

fn mean_ns(id: &str) -> f64 {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let json = std::fs::read_to_string(format!("{dir}/criterion/{id}/new/estimates.json"))
        .unwrap_or_default();
    let Some(start) = json.find("\"mean\"") else {
        return f64::NAN;
    };
    let mean = &json[start..];
    let key = "\"point_estimate\":";
    let Some(at) = mean.find(key) else {
        return f64::NAN;
    };
    let value = &mean[at + key.len()..];
    value[..value.find([',', '}']).unwrap_or(value.len())]
        .trim()
        .parse()
        .unwrap_or(f64::NAN)
}

/// Heap bytes one series takes once `values` are observed, as the allocator counts them.
fn heap_bytes<T>(make: impl FnOnce() -> T, observe: impl Fn(&T, f64), values: &[f64]) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    let series = make();
    for value in values {
        observe(&series, *value);
    }
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(series);
    bytes
}

fn main() {
    let values = latencies();
    // Memory per series, before the benchmarks allocate anything, once what is allocated
    // once per process (our schema tables) is.
    let warm = NativeHistogram::new(&NativeConfig::new(), &[]).unwrap();
    warm.observe(1.0);
    let warm_client = ClientHistogram::new_native(NativeHistogramConfig::default());
    warm_client.observe(1.0);
    drop((warm, warm_client));
    let ours = heap_bytes(
        || Box::new(NativeHistogram::new(&NativeConfig::new(), DEFAULT_BUCKETS).unwrap()),
        |h, v| h.observe(v),
        &values,
    );
    let ours_native_only = heap_bytes(
        || Box::new(NativeHistogram::new(&NativeConfig::new(), &[]).unwrap()),
        |h, v| h.observe(v),
        &values,
    );
    let client = heap_bytes(
        || {
            ClientHistogram::new_classic_and_native(
                DEFAULT_BUCKETS.iter().copied(),
                NativeHistogramConfig::default(),
            )
        },
        ClientHistogram::observe,
        &values,
    );
    let client_native_only = heap_bytes(
        || ClientHistogram::new_native(NativeHistogramConfig::default()),
        ClientHistogram::observe,
        &values,
    );
    let reported = NativeHistogram::new(&NativeConfig::new(), DEFAULT_BUCKETS).unwrap();
    for value in &values {
        reported.observe(*value);
    }

    benches();
    Criterion::default().configure_from_args().final_summary();

    let mean = |id: &str| mean_ns(id);
    let base = mean("observe/loop_only");
    println!("\nper observation, one thread (mean, loop {base:.1} ns):");
    let classic = mean("observe/classic");
    for name in NAMES {
        let ns = mean(&format!("observe/{name}"));
        println!(
            "  {name:<38} {ns:>6.1} ns  {:>5.2}x classic  (two threads on one series: {:.1} ns)",
            ns / classic,
            mean(&format!("observe_2_threads/{name}"))
        );
    }
    let native = mean("observe/native_and_classic");
    let client_both = mean("observe/prometheus_client_native_and_classic");
    println!(
        "  native+classic vs prometheus-client native+classic: {:.2}x (one thread), \
         {:.2}x (two threads)",
        native / client_both,
        mean("observe_2_threads/native_and_classic")
            / mean("observe_2_threads/prometheus_client_native_and_classic")
    );
    println!(
        "read of one series: native+classic {:.0} ns, classic {:.0} ns",
        mean("read/native_and_classic"),
        mean("read/classic")
    );
    println!(
        "bytes per series, 1024 latencies from 0.5 ms to 4 s ({} native buckets):",
        reported
            .read()
            .buckets(false)
            .filter(|(_, count)| *count > 0)
            .count()
    );
    println!(
        "  ours: {ours} with the 11 default classic buckets, {ours_native_only} native only \
         (size() says {})",
        reported.size()
    );
    println!(
        "  prometheus-client: {client} with the 11 default classic buckets, \
         {client_native_only} native only"
    );
}
