//! The Prometheus 3 exposition: rendering 2,500 histogram series (50 shards x 50 tenants, a
//! hundred latencies each, and a counter beside each) in the text format, in OpenMetrics with
//! exemplars and `_created` samples, and in protobuf, classic and native; the bytes each
//! native series takes; and what an exemplar costs a `Metrics` histogram and counter, outside
//! any span and in one, beside prometheus-client 0.26's `HistogramWithExemplars` and
//! `CounterWithExemplar` given the same trace (its caller reads the span's ids, writes them as
//! labels and passes the time, which ours does itself).
//!
//! Then protobuf against text for the same classic families, side by side in one run: the
//! families of 100 instrumented functions (the global registry), and one `#[derive(Metrics)]`
//! family of 10,000 counter series; a value changes before every render.
//!
//! Run: `cargo bench -p integration-tests --bench exposition` (with the `exemplars` feature,
//! on by default in this crate).
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use instrument_metric::{
    Format, HistogramFamily, IntCounterFamily, LabelValue, Metrics, Registry, instrument_metric,
};
use integration_tests::bench_labels::{SHARDS, Shard, TENANTS, Tenant};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};

#[derive(Metrics)]
#[metrics(scoped, prefix = "classic")]
struct ClassicMetrics {
    /// Requests, by shard and tenant.
    requests_total: IntCounterFamily<(Shard, Tenant)>,
    /// Request latency, by shard and tenant.
    latency_seconds: HistogramFamily<(Shard, Tenant)>,
}

#[derive(Metrics)]
#[metrics(scoped, prefix = "native")]
struct NativeMetrics {
    /// Requests, by shard and tenant.
    requests_total: IntCounterFamily<(Shard, Tenant)>,
    /// Request latency, by shard and tenant.
    #[metric(native_histogram)]
    latency_seconds: HistogramFamily<(Shard, Tenant)>,
}

/// A quarter: with the 50 shards and 50 tenants, 10,000 combinations.
#[derive(Clone, Copy, Debug, LabelValue)]
enum Quarter {
    Q1,
    Q2,
    Q3,
    Q4,
}

#[derive(Metrics)]
#[metrics(scoped, prefix = "derive")]
struct DeriveMetrics {
    /// Requests, by shard, tenant and quarter.
    requests_total: IntCounterFamily<(Shard, Tenant, Quarter)>,
}

/// 100 instrumented functions (in the global registry), and a function that calls them all.
macro_rules! functions {
    ($($name:ident)+) => {
        $(
            #[instrument_metric]
            fn $name(fail: bool) -> Result<(), ()> {
                if black_box(fail) { Err(()) } else { Ok(()) }
            }
        )+

        /// Calls each function, failing every third call.
        fn call_all(round: u64) {
            let mut i = round;
            $(
                i += 1;
                let _ = $name(i % 3 == 0);
            )+
        }
    };
}

functions!(
    f00 f01 f02 f03 f04 f05 f06 f07 f08 f09 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19
    f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39
    f40 f41 f42 f43 f44 f45 f46 f47 f48 f49 f50 f51 f52 f53 f54 f55 f56 f57 f58 f59
    f60 f61 f62 f63 f64 f65 f66 f67 f68 f69 f70 f71 f72 f73 f74 f75 f76 f77 f78 f79
    f80 f81 f82 f83 f84 f85 f86 f87 f88 f89 f90 f91 f92 f93 f94 f95 f96 f97 f98 f99
);

/// Latencies from 1 ms to 2 s, spread over 11 powers of two.
fn latencies() -> impl Iterator<Item = f64> {
    (0..100).map(|i| 0.001 * 2000f64.powf(f64::from(i) / 99.0))
}

/// An OpenTelemetry context with a span, as a request's would be.
fn in_a_span() -> opentelemetry::Context {
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c_u128.into(),
        0x00f0_67aa_0ba9_02b7_u64.into(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

fn registries() -> (Registry, Registry) {
    let classic = Registry::new();
    let native = Registry::new();
    let c = ClassicMetrics::register_in(&classic);
    let n = NativeMetrics::register_in(&native);
    // Half of the observations in spans, so that the exposition has exemplars.
    for (i, shard) in SHARDS.iter().enumerate() {
        for tenant in &TENANTS {
            let _entered = (i % 2 == 0).then(|| in_a_span().attach());
            for latency in latencies() {
                c.latency_seconds.with((*shard, *tenant)).observe(latency);
                n.latency_seconds.with((*shard, *tenant)).observe(latency);
            }
            c.requests_total.with((*shard, *tenant)).inc_by(100);
            n.requests_total.with((*shard, *tenant)).inc_by(100);
        }
    }
    native.set_created_samples(true);
    classic.set_created_samples(true);
    (classic, native)
}

fn render(c: &mut Criterion) {
    let (classic, native) = registries();
    let timeout = Duration::from_secs(1);
    let mut group = c.benchmark_group("render_2500_histograms");
    for (name, registry) in [("classic", &classic), ("native", &native)] {
        group.bench_function(format!("{name}_text"), |b| {
            b.iter(|| black_box(registry.render_within(Format::Text, timeout)));
        });
        group.bench_function(format!("{name}_openmetrics"), |b| {
            b.iter(|| black_box(registry.render_within(Format::OpenMetrics, timeout)));
        });
        group.bench_function(format!("{name}_protobuf"), |b| {
            b.iter(|| black_box(registry.encode_protobuf_within(timeout).unwrap()));
        });
    }
    group.finish();
}

/// Protobuf against text for the same classic families: 100 instrumented functions, and a
/// derive family of 10,000 series. A value changes before each render, as between scrapes.
fn protobuf_over_text(c: &mut Criterion) {
    let timeout = Duration::from_secs(1);
    let mut group = c.benchmark_group("protobuf_over_text");
    let global = instrument_metric::registry();
    let mut round = 0;
    call_all(round);
    group.bench_function("functions_100_text", |b| {
        b.iter(|| {
            round += 1;
            call_all(round);
            black_box(global.render_within(Format::Text, timeout))
        });
    });
    group.bench_function("functions_100_protobuf", |b| {
        b.iter(|| {
            round += 1;
            call_all(round);
            black_box(global.encode_protobuf_within(timeout).unwrap())
        });
    });
    let registry = Registry::new();
    let metrics = DeriveMetrics::register_in(&registry);
    let mut i = 0_usize;
    let mut step = || {
        i = (i + 7) % 10_000;
        let (shard, tenant, quarter) = (SHARDS[i / 200], TENANTS[(i / 4) % 50], i % 4);
        let quarter = [Quarter::Q1, Quarter::Q2, Quarter::Q3, Quarter::Q4][quarter];
        metrics.requests_total.with((shard, tenant, quarter)).inc();
    };
    group.bench_function("derive_10k_text", |b| {
        b.iter(|| {
            step();
            black_box(registry.render_within(Format::Text, timeout))
        });
    });
    group.bench_function("derive_10k_protobuf", |b| {
        b.iter(|| {
            step();
            black_box(registry.encode_protobuf_within(timeout).unwrap())
        });
    });
    group.finish();
}

fn observe(c: &mut Criterion) {
    let registry = Registry::new();
    let metrics = ClassicMetrics::register_in(&registry);
    let native = NativeMetrics::register_in(&Registry::new());
    let histogram = metrics
        .latency_seconds
        .with((Shard::A07, Tenant::B13))
        .clone();
    let native_histogram = native
        .latency_seconds
        .with((Shard::A07, Tenant::B13))
        .clone();
    let counter = metrics
        .requests_total
        .with((Shard::A07, Tenant::B13))
        .clone();
    let mut group = c.benchmark_group("metrics_field");
    group.bench_function("histogram_observe", |b| {
        b.iter(|| histogram.observe(black_box(0.042)));
    });
    group.bench_function("native_histogram_observe", |b| {
        b.iter(|| native_histogram.observe(black_box(0.042)));
    });
    group.bench_function("counter_inc", |b| b.iter(|| counter.inc()));
    {
        let _entered = in_a_span().attach();
        group.bench_function("histogram_observe_in_a_span", |b| {
            b.iter(|| histogram.observe(black_box(0.042)));
        });
        group.bench_function("counter_inc_in_a_span", |b| b.iter(|| counter.inc()));
    }
    group.finish();
}

/// The exemplar labels a prometheus-client user writes: the span's ids in hex.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct TraceLabels {
    trace_id: String,
    span_id: String,
}

/// What a prometheus-client user does for each observation: the current span's ids as labels,
/// and the time of the exemplar when there is one.
fn client_exemplar() -> (Option<TraceLabels>, Option<std::time::SystemTime>) {
    use opentelemetry::trace::TraceContextExt as _;
    let exemplar = opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| TraceLabels {
            trace_id: context.trace_id().to_string(),
            span_id: context.span_id().to_string(),
        })
    });
    let time = exemplar.as_ref().map(|_| std::time::SystemTime::now());
    (exemplar, time)
}

fn peer_observe(c: &mut Criterion) {
    use prometheus_client::metrics::exemplar::{CounterWithExemplar, HistogramWithExemplars};
    let histogram = HistogramWithExemplars::<TraceLabels>::new(
        instrument_metric::DEFAULT_BUCKETS.iter().copied(),
    );
    let counter = CounterWithExemplar::<TraceLabels>::default();
    let mut group = c.benchmark_group("prometheus_client");
    let observe = || {
        let (exemplar, time) = client_exemplar();
        histogram.observe(black_box(0.042), exemplar, time);
    };
    let inc = || {
        let (exemplar, time) = client_exemplar();
        counter.inc_by(1, exemplar, time);
    };
    group.bench_function("histogram_observe", |b| b.iter(observe));
    group.bench_function("counter_inc", |b| b.iter(inc));
    {
        let _entered = in_a_span().attach();
        group.bench_function("histogram_observe_in_a_span", |b| b.iter(observe));
        group.bench_function("counter_inc_in_a_span", |b| b.iter(inc));
    }
    group.finish();
}

criterion_group!(benches, render, protobuf_over_text, observe, peer_observe);

/// The mean of one benchmark, in nanoseconds, from criterion's saved estimates.
fn mean_ns(id: &str) -> f64 {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let path = format!("{dir}/criterion/{id}/new/estimates.json");
    let Ok(json) = std::fs::read_to_string(path) else {
        return f64::NAN;
    };
    let parse = || {
        let mean = &json[json.find("\"mean\"")?..];
        let estimate = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
        let end = estimate.find([',', '}'])?;
        estimate[..end].trim().parse().ok()
    };
    parse().unwrap_or(f64::NAN)
}

fn main() {
    let (classic, native) = registries();
    let sizes: Vec<(&str, usize, usize, usize)> = [("classic", &classic), ("native", &native)]
        .into_iter()
        .map(|(name, registry)| {
            let (bytes, _) = instrument_metric::__private::memory_of(registry);
            let text = registry
                .render_within(Format::Text, Duration::from_secs(1))
                .len();
            let protobuf = registry
                .encode_protobuf_within(Duration::from_secs(1))
                .unwrap()
                .len();
            (name, bytes, text, protobuf)
        })
        .collect();
    benches();
    Criterion::default().configure_from_args().final_summary();
    let group = "render_2500_histograms";
    println!(
        "\nrendering 2,500 histogram series and 2,500 counters (mean), exemplars on half of them:"
    );
    let text = mean_ns(&format!("{group}/classic_text"));
    for (name, bytes, text_size, protobuf_size) in &sizes {
        let ms = |format: &str| mean_ns(&format!("{group}/{name}_{format}")) / 1e6;
        println!(
            "  {name:<7}: text {:.2} ms ({text_size} bytes), OpenMetrics {:.2} ms, protobuf {:.2} ms ({protobuf_size} bytes), {:.2}x the classic text render; cells {:.0} bytes per histogram series",
            ms("text"),
            ms("openmetrics"),
            ms("protobuf"),
            ms("protobuf") * 1e6 / text,
            *bytes as f64 / 2_500.0,
        );
    }
    let ratio = |case: &str| {
        let ns = |format: &str| mean_ns(&format!("protobuf_over_text/{case}_{format}"));
        (
            ns("text") / 1e3,
            ns("protobuf") / 1e3,
            ns("protobuf") / ns("text"),
        )
    };
    let (functions, derive) = (ratio("functions_100"), ratio("derive_10k"));
    let native =
        mean_ns(&format!("{group}/native_protobuf")) / mean_ns(&format!("{group}/native_text"));
    println!(
        "protobuf / text, classic (mean): 100 functions {:.1} us / {:.1} us = {:.2}x; derive family of 10,000 series {:.1} us / {:.1} us = {:.2}x; native histograms (2,500) {native:.2}x",
        functions.1, functions.0, functions.2, derive.1, derive.0, derive.2,
    );
    let field = |id: &str| mean_ns(&format!("metrics_field/{id}"));
    println!(
        "a Metrics field (mean): histogram observe {:.1} ns, native {:.1} ns; in a span {:.1} ns (+{:.1} ns: the exemplar); counter inc {:.1} ns, in a span {:.1} ns (+{:.1} ns)",
        field("histogram_observe"),
        field("native_histogram_observe"),
        field("histogram_observe_in_a_span"),
        field("histogram_observe_in_a_span") - field("histogram_observe"),
        field("counter_inc"),
        field("counter_inc_in_a_span"),
        field("counter_inc_in_a_span") - field("counter_inc"),
    );
    let peer = |id: &str| mean_ns(&format!("prometheus_client/{id}"));
    println!(
        "prometheus-client with exemplars (mean): histogram observe {:.1} ns, in a span {:.1} ns; counter inc {:.1} ns, in a span {:.1} ns; ours / theirs: {:.2}, {:.2}, {:.2}, {:.2}",
        peer("histogram_observe"),
        peer("histogram_observe_in_a_span"),
        peer("counter_inc"),
        peer("counter_inc_in_a_span"),
        field("histogram_observe") / peer("histogram_observe"),
        field("histogram_observe_in_a_span") / peer("histogram_observe_in_a_span"),
        field("counter_inc") / peer("counter_inc"),
        field("counter_inc_in_a_span") / peer("counter_inc_in_a_span"),
    );
}
