//! Cost of one call: a bare function, the same function with `#[instrument_metric]` (without
//! and with two `LabelValue` labels), and the same counter + duration histogram written by hand
//! with tikv `prometheus` static child handles; then the same with two threads calling one
//! function; then an `async fn` and an `#[async_trait]` method, bare and instrumented; a function
//! whose histogram is native too; with the `exemplars` feature (on by default in this crate), a
//! call made in an OpenTelemetry span, which stores its exemplar. Prints every figure and ratio
//! at the end.
//!
//! Run: `cargo bench -p integration-tests --bench call_overhead`, and with
//! `--no-default-features` for the cost of a call without the `exemplars` feature.

#![allow(clippy::unused_async)] // the futures measured complete at once, on purpose

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use instrument_metric::{LabelValue, instrument_metric};
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

#[derive(Clone, Copy, LabelValue)]
enum Region {
    Eu,
    Us,
}

#[derive(Clone, Copy, LabelValue)]
enum Tier {
    Free,
    Paid,
}

#[inline(never)]
#[instrument_metric(name = "bench_labelled", labels(region = region, tier = tier))]
fn labelled(x: u64, region: Region, tier: Tier) -> Result<u64, u64> {
    black_box((region, tier));
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

/// The same function with a native histogram beside its classic one.
#[inline(never)]
#[instrument_metric(name = "bench_native", native_histogram)]
fn native(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

/// The same signature without labels: the baseline of the labelled call.
#[inline(never)]
#[instrument_metric(name = "bench_unlabelled")]
fn unlabelled(x: u64, region: Region, tier: Tier) -> Result<u64, u64> {
    black_box((region, tier));
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

/// An `async fn`, bare and instrumented, and an `#[async_trait]` method (whose future the
/// attribute wraps and boxes again), bare and instrumented.
#[inline(never)]
async fn bare_async(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

#[inline(never)]
#[instrument_metric(name = "bench_async")]
async fn instrumented_async(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

#[async_trait::async_trait]
trait Lookup {
    async fn bare(&self, x: u64) -> Result<u64, u64>;
    async fn instrumented(&self, x: u64) -> Result<u64, u64>;
}

struct Table;

#[async_trait::async_trait]
impl Lookup for Table {
    async fn bare(&self, x: u64) -> Result<u64, u64> {
        let x = black_box(x);
        if x == u64::MAX { Err(x) } else { Ok(x) }
    }

    #[instrument_metric(name = "bench_async_trait")]
    async fn instrumented(&self, x: u64) -> Result<u64, u64> {
        let x = black_box(x);
        if x == u64::MAX { Err(x) } else { Ok(x) }
    }
}

/// Polls a future that completes on its first poll.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the bench futures complete on their first poll"),
    }
}

fn async_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("async_call");
    group.bench_function("bare_async_fn", |b| {
        b.iter(|| ready(bare_async(black_box(1))));
    });
    group.bench_function("instrumented_async_fn", |b| {
        b.iter(|| ready(instrumented_async(black_box(1))));
    });
    group.bench_function("bare_async_trait", |b| {
        b.iter(|| ready(Table.bare(black_box(1))));
    });
    group.bench_function("instrumented_async_trait", |b| {
        b.iter(|| ready(Table.instrumented(black_box(1))));
    });
    group.finish();
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
    group.bench_function("instrument_metric_same_args_no_labels", |b| {
        b.iter(|| unlabelled(black_box(1), black_box(Region::Eu), black_box(Tier::Free)));
    });
    group.bench_function("instrument_metric_two_labels", |b| {
        b.iter(|| labelled(black_box(1), black_box(Region::Us), black_box(Tier::Paid)));
    });
    group.bench_function("instrument_metric_native_histogram", |b| {
        b.iter(|| native(black_box(1)));
    });
    // In a span: the exemplar is stored (trace id, span id, value, time) on every call.
    #[cfg(feature = "exemplars")]
    group.bench_function("instrument_metric_in_a_span", |b| {
        use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
        let span = SpanContext::new(
            0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128.into(),
            0x00f0_67aa_0ba9_02b7_u64.into(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let _entered = opentelemetry::Context::new()
            .with_remote_span_context(span)
            .attach();
        b.iter(|| instrumented(black_box(1)));
    });
    group.finish();

    // Two threads calling the same function: time per call of each thread.
    let mut group = c.benchmark_group("call_2_threads");
    group.bench_function("instrument_metric", |b| {
        b.iter_custom(|iters| on_two_threads(iters, instrumented));
    });
    group.bench_function("hand_written_tikv", |b| {
        b.iter_custom(|iters| on_two_threads(iters, hand_written));
    });
    group.finish();
}

/// Runs `iters` calls on each of two threads at once; the time the slower thread took.
fn on_two_threads(iters: u64, call: fn(u64) -> Result<u64, u64>) -> std::time::Duration {
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let started = Instant::now();
                    for i in 0..iters {
                        let _ = call(black_box(i));
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

async fn hello() -> &'static str {
    "hello"
}

/// One request through an axum router in process (no socket), without and with the HTTP
/// metrics layer: the layer's own cost per request, free of network noise.
fn http_requests(c: &mut Criterion) {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt as _;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain: Router = Router::new().route("/api/hello/{name}", get(hello));
    let layered: Router = Router::new()
        .route("/api/hello/{name}", get(hello))
        .layer(instrument_metric::axum::HttpMetricsLayer::default());
    let request = || {
        Request::builder()
            .uri("/api/hello/world")
            .body(Body::empty())
            .unwrap()
    };
    let mut group = c.benchmark_group("http_request");
    group.bench_function("axum_plain", |b| {
        b.iter(|| runtime.block_on(plain.clone().oneshot(request())).unwrap());
    });
    group.bench_function("axum_with_http_metrics_layer", |b| {
        b.iter(|| {
            runtime
                .block_on(layered.clone().oneshot(request()))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, calls, async_calls, http_requests);

/// The mean of one benchmark, in nanoseconds, from criterion's saved estimates.
fn mean_ns(id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let path = format!("{dir}/criterion/{id}/new/estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    let mean = &json[json.find("\"mean\"")?..];
    let estimate = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = estimate.find([',', '}'])?;
    estimate[..end].trim().parse().ok()
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let mean = |id: &str| mean_ns(id).unwrap_or(f64::NAN);
    let bare = mean("call/bare");
    let ours = mean("call/instrument_metric");
    let tikv = mean("call/hand_written_tikv");
    let labelled = mean("call/instrument_metric_two_labels");
    let same_args = mean("call/instrument_metric_same_args_no_labels");
    let native = mean("call/instrument_metric_native_histogram");
    let in_span = mean("call/instrument_metric_in_a_span");
    let ours2 = mean("call_2_threads/instrument_metric");
    let tikv2 = mean("call_2_threads/hand_written_tikv");
    println!(
        "\nper call (mean): bare {bare:.1} ns, #[instrument_metric] {ours:.1} ns, hand-written tikv {tikv:.1} ns"
    );
    println!(
        "target 1: #[instrument_metric] / hand-written tikv = {:.3} (target <= 0.7)",
        ours / tikv
    );
    println!(
        "target 2: two LabelValue labels {labelled:.1} ns / the same function unlabelled {same_args:.1} ns = {:.3} (target <= 1.1)",
        labelled / same_args
    );
    println!(
        "target 3: 2 threads {ours2:.1} ns per call / 1 thread = {:.3} (target <= 1.3); hand-written tikv {tikv2:.1} ns, {:.3}",
        ours2 / ours,
        tikv2 / tikv
    );
    println!(
        "overhead over bare: macro {:.1} ns, hand-written {:.1} ns",
        ours - bare,
        tikv - bare
    );
    println!(
        "native histogram beside the classic one: {native:.1} ns per call, {:.3} of hand-written tikv (+{:.1} ns over a classic call)",
        native / tikv,
        native - ours
    );
    if cfg!(feature = "exemplars") {
        println!(
            "exemplars feature on: a call outside any span is the #[instrument_metric] figure above ({:.3} of tikv; compare with a run built with --no-default-features); in a span {in_span:.1} ns, {:.3} of tikv (+{:.1} ns: the exemplar stored)",
            ours / tikv,
            in_span / tikv,
            in_span - ours
        );
    } else {
        println!(
            "exemplars feature off (--no-default-features): #[instrument_metric] / tikv = {:.3}",
            ours / tikv
        );
    }
    let bare_async = mean("async_call/bare_async_fn");
    let ours_async = mean("async_call/instrumented_async_fn");
    let bare_trait = mean("async_call/bare_async_trait");
    let ours_trait = mean("async_call/instrumented_async_trait");
    println!(
        "async fn: bare {bare_async:.1} ns, instrumented {ours_async:.1} ns (+{:.1} ns); #[async_trait] method: bare {bare_trait:.1} ns, instrumented {ours_trait:.1} ns (+{:.1} ns, with its second box)",
        ours_async - bare_async,
        ours_trait - bare_trait
    );
    let plain = mean("http_request/axum_plain");
    let layered = mean("http_request/axum_with_http_metrics_layer");
    println!(
        "target 5 (in process, no socket): axum request {plain:.0} ns, with the HTTP metrics layer {layered:.0} ns: the layer adds {:.0} ns, {:.2}% of the in-process request alone",
        layered - plain,
        (layered - plain) / plain * 100.0
    );
}
