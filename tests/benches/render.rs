//! Rendering 10,000 counter series (and their 2,500 duration histograms) of the toolkit's own
//! metrics, against tikv `prometheus` `gather()` + `TextEncoder` on the same series; plus the
//! memory each takes per series, and the resident memory across 10,000 scrapes.
//!
//! Run: `cargo bench -p integration-tests --bench render` (`BENCH_CLOCK=cpu` for the CPU time
//! of the rendering thread instead of wall time; see `common`).
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

mod common;

use std::hint::black_box;
use std::sync::atomic::Ordering;

use common::{Clock, LIVE, ThreadCpu, mean_ns, resident_bytes};
use criterion::Criterion;
use criterion::measurement::Measurement;
use instrument_metric::{LabelValue, instrument_metric};
use integration_tests::bench_labels::{SHARDS, Shard, TENANTS, Tenant};
use prometheus::{Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// Serves one request of a tenant on a shard.
#[instrument_metric(name = "render_bench", labels(shard = shard, tenant = tenant))]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn serve(shard: Shard, tenant: Tenant) -> Result<(), ()> {
    black_box((shard, tenant));
    Ok(())
}

/// The same series in a tikv registry: counters by result, histograms.
fn tikv_registry() -> Registry {
    let registry = Registry::new();
    let counter = IntCounterVec::new(
        Opts::new("tikv_bench_total", "Calls."),
        &["function", "module", "result", "shard", "tenant"],
    )
    .unwrap();
    let histogram = HistogramVec::new(
        HistogramOpts::new("tikv_bench_duration_seconds", "Durations."),
        &["function", "module", "shard", "tenant"],
    )
    .unwrap();
    for shard in Shard::VALUES {
        for tenant in Tenant::VALUES {
            for result in ["ok", "error", "panic", "cancelled"] {
                counter
                    .with_label_values(&["serve", "render", result, shard, tenant])
                    .inc();
            }
            histogram
                .with_label_values(&["serve", "render", shard, tenant])
                .observe(0.001);
        }
    }
    registry.register(Box::new(counter)).unwrap();
    registry.register(Box::new(histogram)).unwrap();
    registry
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct CallLabels {
    function: &'static str,
    module: &'static str,
    result: &'static str,
    shard: &'static str,
    tenant: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct DurationLabels {
    function: &'static str,
    module: &'static str,
    shard: &'static str,
    tenant: &'static str,
}

type Histograms = prometheus_client::metrics::family::Family<
    DurationLabels,
    prometheus_client::metrics::histogram::Histogram,
    fn() -> prometheus_client::metrics::histogram::Histogram,
>;

/// The same series in a prometheus-client registry.
fn prometheus_client_registry() -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    let mut registry = prometheus_client::registry::Registry::default();
    let calls = Family::<CallLabels, Counter>::default();
    let durations: Histograms = Family::new_with_constructor(|| {
        Histogram::new(prometheus::DEFAULT_BUCKETS.iter().copied())
    });
    registry.register("pc_bench", "Calls.", calls.clone());
    registry.register("pc_bench_duration_seconds", "Durations.", durations.clone());
    for shard in Shard::VALUES {
        for tenant in Tenant::VALUES {
            for result in ["ok", "error", "panic", "cancelled"] {
                calls
                    .get_or_create(&CallLabels {
                        function: "serve",
                        module: "render",
                        result,
                        shard,
                        tenant,
                    })
                    .inc();
            }
            durations
                .get_or_create(&DurationLabels {
                    function: "serve",
                    module: "render",
                    shard,
                    tenant,
                })
                .observe(0.001);
        }
    }
    registry
}

fn prometheus_client_render(registry: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
    out
}

fn tikv_render(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    prometheus::TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .unwrap();
    String::from_utf8(buffer).unwrap()
}

fn touch_every_series() {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    for shard in SHARDS {
        for tenant in TENANTS {
            let mut call = std::pin::pin!(serve(shard, tenant));
            assert!(call.as_mut().poll(&mut context).is_ready());
        }
    }
}

fn renders<M: Measurement>(c: &mut Criterion<M>) {
    touch_every_series();
    let tikv = tikv_registry();
    let ours = instrument_metric::render();
    assert_eq!(
        ours.lines()
            .filter(|l| l.starts_with("render_bench_total{"))
            .count(),
        10_000
    );
    let theirs = tikv_render(&tikv);
    assert_eq!(
        theirs
            .lines()
            .filter(|l| l.starts_with("tikv_bench_total{"))
            .count(),
        10_000
    );
    let client = prometheus_client_registry();
    let text = prometheus_client_render(&client);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("pc_bench_total{"))
            .count(),
        10_000
    );
    let mut group = c.benchmark_group("render_10k");
    group.sample_size(30);
    group.bench_function("instrument_metric", |b| {
        b.iter(|| black_box(instrument_metric::render()));
    });
    group.bench_function("tikv_gather_text_encoder", |b| {
        b.iter(|| black_box(tikv_render(&tikv)));
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| black_box(prometheus_client_render(&client)));
    });
    group.finish();
}

fn main() {
    // Memory per series, before anything else allocates: ours, then tikv's.
    let before = LIVE.load(Ordering::Relaxed);
    touch_every_series();
    let ours_bytes = LIVE.load(Ordering::Relaxed) - before;
    let (cell_bytes, series) = instrument_metric::__private::memory();
    let before = LIVE.load(Ordering::Relaxed);
    let tikv = tikv_registry();
    let tikv_bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(tikv);
    let before = LIVE.load(Ordering::Relaxed);
    let client = prometheus_client_registry();
    let client_bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(client);

    let clock = Clock::from_env();
    match clock {
        Clock::Wall => {
            let mut criterion = Criterion::default().configure_from_args();
            renders(&mut criterion);
            criterion.final_summary();
        }
        Clock::Cpu => {
            let mut criterion = Criterion::default()
                .with_measurement(ThreadCpu)
                .configure_from_args();
            renders(&mut criterion);
            criterion.final_summary();
        }
    }

    // Resident memory across 10,000 scrapes.
    for _ in 0..100 {
        black_box(instrument_metric::render());
    }
    let resident_before = resident_bytes();
    for _ in 0..10_000 {
        black_box(instrument_metric::render());
    }
    let resident_after = resident_bytes();

    let ours = mean_ns("render_10k/instrument_metric");
    let theirs = mean_ns("render_10k/tikv_gather_text_encoder");
    let client = mean_ns("render_10k/prometheus_client");
    println!("\nclock: {}", clock.name());
    println!(
        "target 4: render 10,000 counter series (+2,500 histograms): instrument-metric {:.2} ms, tikv gather+TextEncoder {:.2} ms, {:.1}x faster (target >= 10x)",
        ours / 1e6,
        theirs / 1e6,
        theirs / ours
    );
    println!(
        "target 4: prometheus-client {:.2} ms on the same series: instrument-metric is {:.1}x faster",
        client / 1e6,
        client / ours
    );
    println!(
        "target 8: allocated for the 2,500 call sites: instrument-metric {ours_bytes} bytes ({cell_bytes} in cells, {series} exported series, {:.0} bytes per series); tikv {tikv_bytes} bytes ({:.0} bytes per series); prometheus-client {client_bytes} bytes ({:.0} bytes per series)",
        ours_bytes as f64 / series as f64,
        tikv_bytes as f64 / series as f64,
        client_bytes as f64 / series as f64,
    );
    println!(
        "target 8: resident memory across 10,000 scrapes: {:.1} MiB before, {:.1} MiB after ({:+.1} KiB)",
        resident_before as f64 / 1_048_576.0,
        resident_after as f64 / 1_048_576.0,
        (resident_after as f64 - resident_before as f64) / 1024.0
    );
}
