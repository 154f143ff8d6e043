//! The OTLP push beside the protobuf `/metrics` render of the same registry, in one criterion
//! run: a `#[derive(Metrics)]` family of 10,000 counter series, and 2,500 histogram series (50
//! shards x 50 tenants, a hundred latencies each, a counter beside each; half of them observed
//! in a span, so with exemplars), classic and native. A value changes before each render.
//!
//! Then what the push thread costs per interval: one whole push (`OtlpExporter::push`: the
//! body, a new connection, `POST /v1/metrics`, the answer) to a receiver on 127.0.0.1 that
//! reads the body and answers 200, for the 10,000 counters. Between pushes the thread waits on
//! a channel and costs nothing.
//!
//! Run: `cargo bench -p integration-tests --bench otlp -- --warm-up-time 1 --measurement-time 3`.
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

use std::hint::black_box;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use instrument_metric::otlp::OtlpExporter;
use instrument_metric::{HistogramFamily, IntCounterFamily, LabelValue, Metrics, Registry};
use integration_tests::bench_labels::{SHARDS, Shard, TENANTS, Tenant};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};

mod common;

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
struct CounterMetrics {
    /// Requests, by shard, tenant and quarter.
    requests_total: IntCounterFamily<(Shard, Tenant, Quarter)>,
}

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

fn histograms() -> (Registry, ClassicMetrics, Registry, NativeMetrics) {
    let classic = Registry::new();
    let native = Registry::new();
    let c = ClassicMetrics::register_in(&classic);
    let n = NativeMetrics::register_in(&native);
    for (i, shard) in SHARDS.iter().enumerate() {
        for tenant in &TENANTS {
            let _entered = (i % 2 == 0).then(|| in_a_span().attach());
            for latency in (0..100).map(|i| 0.001 * 2000f64.powf(f64::from(i) / 99.0)) {
                c.latency_seconds.with((*shard, *tenant)).observe(latency);
                n.latency_seconds.with((*shard, *tenant)).observe(latency);
            }
            c.requests_total.with((*shard, *tenant)).inc_by(100);
            n.requests_total.with((*shard, *tenant)).inc_by(100);
        }
    }
    (classic, c, native, n)
}

/// A receiver on 127.0.0.1 that reads each request's body and answers 200, on a thread of its
/// own for the rest of the run.
fn receiver() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    addr
}

fn otlp_beside_protobuf(c: &mut Criterion) {
    let timeout = Duration::from_secs(1);
    let mut group = c.benchmark_group("otlp_beside_protobuf");

    let registry = Registry::new();
    let counters = CounterMetrics::register_in(&registry);
    let mut i = 0_usize;
    let mut step = || {
        i = (i + 7) % 10_000;
        let (shard, tenant, quarter) = (SHARDS[i / 200], TENANTS[(i / 4) % 50], i % 4);
        let quarter = [Quarter::Q1, Quarter::Q2, Quarter::Q3, Quarter::Q4][quarter];
        counters.requests_total.with((shard, tenant, quarter)).inc();
    };
    let exporter = OtlpExporter::new("http://127.0.0.1:4318", "bench").registry(&registry);
    group.bench_function("counters_10k_protobuf", |b| {
        b.iter(|| {
            step();
            black_box(registry.encode_protobuf_within(timeout).unwrap())
        });
    });
    group.bench_function("counters_10k_otlp", |b| {
        b.iter(|| {
            step();
            black_box(exporter.encode().unwrap())
        });
    });

    let (classic, c, native, n) = histograms();
    let mut round = 0u32;
    for (name, registry) in [("classic", &classic), ("native", &native)] {
        let exporter = OtlpExporter::new("http://127.0.0.1:4318", "bench").registry(registry);
        let mut observe = || {
            round += 1;
            let latency = f64::from(round % 1000) / 1000.0;
            c.latency_seconds
                .with((Shard::A07, Tenant::B13))
                .observe(latency);
            n.latency_seconds
                .with((Shard::A07, Tenant::B13))
                .observe(latency);
        };
        group.bench_function(format!("histograms_2500_{name}_protobuf"), |b| {
            b.iter(|| {
                observe();
                black_box(registry.encode_protobuf_within(timeout).unwrap())
            });
        });
        group.bench_function(format!("histograms_2500_{name}_otlp"), |b| {
            b.iter(|| {
                observe();
                black_box(exporter.encode().unwrap())
            });
        });
    }

    let pushed = OtlpExporter::new(format!("http://{}", receiver()), "bench").registry(&registry);
    group.bench_function("counters_10k_push", |b| {
        b.iter(|| pushed.push().unwrap());
    });
    group.finish();
}

criterion_group!(benches, otlp_beside_protobuf);

fn main() {
    let (classic, _, native, _) = histograms();
    let registry = Registry::new();
    let _counters = CounterMetrics::register_in(&registry);
    for (name, registry) in [
        ("counters_10k", &registry),
        ("histograms_2500_classic", &classic),
        ("histograms_2500_native", &native),
    ] {
        let protobuf = registry
            .encode_protobuf_within(Duration::from_secs(1))
            .unwrap()
            .len();
        let otlp = OtlpExporter::new("http://127.0.0.1:4318", "bench")
            .registry(registry)
            .encode()
            .unwrap()
            .len();
        println!("{name}: protobuf {protobuf} bytes, OTLP body {otlp} bytes");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    let mean = |id: &str| common::mean_ns(&format!("otlp_beside_protobuf/{id}")) / 1e3;
    for case in [
        "counters_10k",
        "histograms_2500_classic",
        "histograms_2500_native",
    ] {
        let (protobuf, otlp) = (
            mean(&format!("{case}_protobuf")),
            mean(&format!("{case}_otlp")),
        );
        println!(
            "{case} (mean): protobuf render {protobuf:.0} us, OTLP body {otlp:.0} us = {:.2}x",
            otlp / protobuf
        );
    }
    println!(
        "one push of the 10,000 counters to 127.0.0.1 (mean): {:.0} us",
        mean("counters_10k_push")
    );
}
