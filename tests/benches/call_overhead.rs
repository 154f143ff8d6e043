//! Cost of one call: a bare function, the same function with `#[instrument_metric]`, and the
//! same counter + duration histogram written by hand with tikv `prometheus` static child
//! handles. Prints the ratios at the end.
//!
//! Run: `cargo bench -p integration-tests --bench call_overhead`

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use metrics_runtime::instrument_metric;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

#[inline(never)]
fn bare(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

#[inline(never)]
#[instrument_metric]
fn instrumented(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

/// The children a careful user resolves once and keeps in statics.
struct HandWritten {
    ok: IntCounter,
    error: IntCounter,
    duration: Histogram,
}

static HAND_WRITTEN: LazyLock<HandWritten> = LazyLock::new(|| {
    let registry = Registry::new();
    let calls = IntCounterVec::new(
        Opts::new("hand_calls_total", "Calls."),
        &["function", "module", "result"],
    )
    .unwrap();
    let duration = HistogramVec::new(
        HistogramOpts::new("hand_calls_duration_seconds", "Duration."),
        &["function", "module"],
    )
    .unwrap();
    registry.register(Box::new(calls.clone())).unwrap();
    registry.register(Box::new(duration.clone())).unwrap();
    HandWritten {
        ok: calls.with_label_values(&["hand", "bench", "ok"]),
        error: calls.with_label_values(&["hand", "bench", "error"]),
        duration: duration.with_label_values(&["hand", "bench"]),
    }
});

#[inline(never)]
fn hand_written(x: u64) -> Result<u64, u64> {
    let metrics = &*HAND_WRITTEN;
    let started = Instant::now();
    let x = black_box(x);
    let result = if x == u64::MAX { Err(x) } else { Ok(x) };
    match result {
        Ok(_) => metrics.ok.inc(),
        Err(_) => metrics.error.inc(),
    }
    metrics.duration.observe(started.elapsed().as_secs_f64());
    result
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("call");
    group.bench_function("bare", |b| b.iter(|| bare(black_box(1))));
    group.bench_function("instrument_metric", |b| {
        b.iter(|| instrumented(black_box(1)));
    });
    group.bench_function("hand_written_tikv", |b| {
        b.iter(|| hand_written(black_box(1)));
    });
    group.finish();
}

criterion_group!(benches, calls);

/// The mean of one benchmark, in nanoseconds, from criterion's saved estimates.
fn mean_ns(id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let path = format!("{dir}/criterion/call/{id}/new/estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    let mean = &json[json.find("\"mean\"")?..];
    let estimate = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = estimate.find([',', '}'])?;
    estimate[..end].trim().parse().ok()
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if let (Some(bare), Some(macro_ns), Some(hand)) = (
        mean_ns("bare"),
        mean_ns("instrument_metric"),
        mean_ns("hand_written_tikv"),
    ) {
        println!(
            "\nper call: bare {bare:.1} ns, #[instrument_metric] {macro_ns:.1} ns, hand-written tikv {hand:.1} ns"
        );
        println!(
            "ratio #[instrument_metric] / hand-written: {:.3} (target <= 1.1)",
            macro_ns / hand
        );
        println!(
            "overhead over bare: macro {:.1} ns, hand-written {:.1} ns",
            macro_ns - bare,
            hand - bare
        );
    }
}
