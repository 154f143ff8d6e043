//! Rendering 10,000 counter series (and their 2,500 duration histograms) of the toolkit's own
//! metrics, against tikv `prometheus` `gather()` + `TextEncoder` on the same series; plus the
//! memory each takes per series, and the resident memory across 10,000 scrapes.
//!
//! Run: `cargo bench -p integration-tests --bench render`
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group};
use metrics_runtime::{LabelValue, instrument_metric};
use prometheus::{Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Counts the bytes allocated and not freed, to measure what each library keeps per series.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Copy, LabelValue)]
enum Shard {
    A00,
    A01,
    A02,
    A03,
    A04,
    A05,
    A06,
    A07,
    A08,
    A09,
    A10,
    A11,
    A12,
    A13,
    A14,
    A15,
    A16,
    A17,
    A18,
    A19,
    A20,
    A21,
    A22,
    A23,
    A24,
    A25,
    A26,
    A27,
    A28,
    A29,
    A30,
    A31,
    A32,
    A33,
    A34,
    A35,
    A36,
    A37,
    A38,
    A39,
    A40,
    A41,
    A42,
    A43,
    A44,
    A45,
    A46,
    A47,
    A48,
    A49,
}

#[derive(Clone, Copy, LabelValue)]
enum Tenant {
    B00,
    B01,
    B02,
    B03,
    B04,
    B05,
    B06,
    B07,
    B08,
    B09,
    B10,
    B11,
    B12,
    B13,
    B14,
    B15,
    B16,
    B17,
    B18,
    B19,
    B20,
    B21,
    B22,
    B23,
    B24,
    B25,
    B26,
    B27,
    B28,
    B29,
    B30,
    B31,
    B32,
    B33,
    B34,
    B35,
    B36,
    B37,
    B38,
    B39,
    B40,
    B41,
    B42,
    B43,
    B44,
    B45,
    B46,
    B47,
    B48,
    B49,
}

const SHARDS: [Shard; 50] = [
    Shard::A00,
    Shard::A01,
    Shard::A02,
    Shard::A03,
    Shard::A04,
    Shard::A05,
    Shard::A06,
    Shard::A07,
    Shard::A08,
    Shard::A09,
    Shard::A10,
    Shard::A11,
    Shard::A12,
    Shard::A13,
    Shard::A14,
    Shard::A15,
    Shard::A16,
    Shard::A17,
    Shard::A18,
    Shard::A19,
    Shard::A20,
    Shard::A21,
    Shard::A22,
    Shard::A23,
    Shard::A24,
    Shard::A25,
    Shard::A26,
    Shard::A27,
    Shard::A28,
    Shard::A29,
    Shard::A30,
    Shard::A31,
    Shard::A32,
    Shard::A33,
    Shard::A34,
    Shard::A35,
    Shard::A36,
    Shard::A37,
    Shard::A38,
    Shard::A39,
    Shard::A40,
    Shard::A41,
    Shard::A42,
    Shard::A43,
    Shard::A44,
    Shard::A45,
    Shard::A46,
    Shard::A47,
    Shard::A48,
    Shard::A49,
];
const TENANTS: [Tenant; 50] = [
    Tenant::B00,
    Tenant::B01,
    Tenant::B02,
    Tenant::B03,
    Tenant::B04,
    Tenant::B05,
    Tenant::B06,
    Tenant::B07,
    Tenant::B08,
    Tenant::B09,
    Tenant::B10,
    Tenant::B11,
    Tenant::B12,
    Tenant::B13,
    Tenant::B14,
    Tenant::B15,
    Tenant::B16,
    Tenant::B17,
    Tenant::B18,
    Tenant::B19,
    Tenant::B20,
    Tenant::B21,
    Tenant::B22,
    Tenant::B23,
    Tenant::B24,
    Tenant::B25,
    Tenant::B26,
    Tenant::B27,
    Tenant::B28,
    Tenant::B29,
    Tenant::B30,
    Tenant::B31,
    Tenant::B32,
    Tenant::B33,
    Tenant::B34,
    Tenant::B35,
    Tenant::B36,
    Tenant::B37,
    Tenant::B38,
    Tenant::B39,
    Tenant::B40,
    Tenant::B41,
    Tenant::B42,
    Tenant::B43,
    Tenant::B44,
    Tenant::B45,
    Tenant::B46,
    Tenant::B47,
    Tenant::B48,
    Tenant::B49,
];

/// Serves one request of a tenant on a shard.
#[instrument_metric(name = "render_bench", labels(shard = shard, tenant = tenant))]
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

fn renders(c: &mut Criterion) {
    touch_every_series();
    let tikv = tikv_registry();
    let ours = metrics_runtime::render();
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
    group.bench_function("metrics_runtime", |b| {
        b.iter(|| black_box(metrics_runtime::render()));
    });
    group.bench_function("tikv_gather_text_encoder", |b| {
        b.iter(|| black_box(tikv_render(&tikv)));
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| black_box(prometheus_client_render(&client)));
    });
    group.finish();
}

criterion_group!(benches, renders);

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

/// Resident memory, in bytes, from `/proc/self/statm`.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

fn main() {
    // Memory per series, before anything else allocates: ours, then tikv's.
    let before = LIVE.load(Ordering::Relaxed);
    touch_every_series();
    let ours_bytes = LIVE.load(Ordering::Relaxed) - before;
    let (cell_bytes, series) = metrics_runtime::__private::native_memory();
    let before = LIVE.load(Ordering::Relaxed);
    let tikv = tikv_registry();
    let tikv_bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(tikv);
    let before = LIVE.load(Ordering::Relaxed);
    let client = prometheus_client_registry();
    let client_bytes = LIVE.load(Ordering::Relaxed) - before;
    drop(client);

    benches();
    Criterion::default().configure_from_args().final_summary();

    // Resident memory across 10,000 scrapes.
    for _ in 0..100 {
        black_box(metrics_runtime::render());
    }
    let resident_before = resident_bytes();
    for _ in 0..10_000 {
        black_box(metrics_runtime::render());
    }
    let resident_after = resident_bytes();

    let ours = mean_ns("render_10k/metrics_runtime");
    let theirs = mean_ns("render_10k/tikv_gather_text_encoder");
    let client = mean_ns("render_10k/prometheus_client");
    println!(
        "\ntarget 4: render 10,000 counter series (+2,500 histograms): metrics-runtime {:.2} ms, tikv gather+TextEncoder {:.2} ms, {:.1}x faster (target >= 10x)",
        ours / 1e6,
        theirs / 1e6,
        theirs / ours
    );
    println!(
        "target 4: prometheus-client {:.2} ms on the same series: metrics-runtime is {:.1}x faster",
        client / 1e6,
        client / ours
    );
    println!(
        "target 8: allocated for the 2,500 call sites: metrics-runtime {ours_bytes} bytes ({cell_bytes} in cells, {series} exported series, {:.0} bytes per series); tikv {tikv_bytes} bytes ({:.0} bytes per series); prometheus-client {client_bytes} bytes ({:.0} bytes per series)",
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
