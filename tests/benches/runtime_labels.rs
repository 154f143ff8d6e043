//! Label values given at run time (`RuntimeFamily`, issue 27) against the alternatives, in one
//! criterion run, on a family of 50 tenants (the values of `bench_labels::Tenant`):
//!
//! - `with("b27").inc()`: the value looked up (one hash of it in the set of 50);
//! - the same with a value outside the set, folded into `other` (and counted);
//! - `with((Shard::A07, "b27")).inc()`: a `LabelValue` type beside the run-time label;
//! - a handle resolved once (`with("b27").clone()`), then `inc()`, for both families;
//! - the lookup alone (`LabelValues::index_of`);
//! - a compile-time `IntCounterFamily<Tenant>::with(Tenant::B27).inc()`;
//! - tikv `prometheus`' `IntCounterVec::with_label_values(&["b27"]).inc()` (a hash of the
//!   value and a read lock on its map of children at each call).
//!
//! Run: `cargo bench -p integration-tests --bench runtime_labels -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use instrument_metric::{
    IntCounter, IntCounterFamily, LabelValue, LabelValues, Metrics, Registry, Runtime,
    RuntimeFamily,
};
use integration_tests::bench_labels::{Shard, TENANTS, Tenant};

#[derive(Metrics)]
#[metrics(scoped)]
struct CompileTime {
    /// Requests, by tenant.
    compile_time_requests_total: IntCounterFamily<Tenant>,
}

/// The value of the tenant looked up, in the middle of the sorted values.
const PICKED: Tenant = TENANTS[27];

fn increments(c: &mut Criterion) {
    let registry = Registry::new();
    let names: Vec<&str> = Tenant::VALUES.to_vec();
    let picked = PICKED.as_label();
    let tenants = LabelValues::new("tenant", &names)
        .unwrap()
        .with_other("other")
        .unwrap();
    let runtime = registry
        .int_counter_family("runtime_requests_total", "Requests, by tenant.", &tenants)
        .unwrap();
    let mixed: RuntimeFamily<IntCounter, (Shard, Runtime)> = registry
        .family("mixed_requests_total", "Requests, by shard and tenant.")
        .label(&tenants)
        .register()
        .unwrap();
    let resolved = runtime.with(picked).clone();
    let compile_time = CompileTime::register_in(&registry);
    let tikv = prometheus::IntCounterVec::new(
        prometheus::Opts::new("tikv_requests_total", "Requests, by tenant."),
        &["tenant"],
    )
    .unwrap();
    for name in &names {
        tikv.with_label_values(&[*name]);
    }

    let mut group = c.benchmark_group("runtime_labels");
    group.bench_function("runtime_with_value_inc", |b| {
        b.iter(|| runtime.with(black_box(picked)).inc());
    });
    group.bench_function("runtime_with_unknown_value_into_other_inc", |b| {
        b.iter(|| runtime.with(black_box("b99")).inc());
    });
    group.bench_function("runtime_with_enum_and_value_inc", |b| {
        b.iter(|| mixed.with(black_box((Shard::A07, picked))).inc());
    });
    let mixed_resolved = mixed.with((Shard::A07, picked)).clone();
    group.bench_function("runtime_mixed_resolved_handle_inc", |b| {
        b.iter(|| black_box(&mixed_resolved).inc());
    });
    group.bench_function("label_values_index_of", |b| {
        b.iter(|| tenants.index_of(black_box(picked)));
    });
    group.bench_function("runtime_resolved_handle_inc", |b| {
        b.iter(|| black_box(&resolved).inc());
    });
    group.bench_function("compile_time_family_with_inc", |b| {
        b.iter(|| {
            compile_time
                .compile_time_requests_total
                .with(black_box(PICKED))
                .inc();
        });
    });
    group.bench_function("tikv_with_label_values_inc", |b| {
        b.iter(|| tikv.with_label_values(&[black_box(picked)]).inc());
    });
    group.finish();
}

criterion_group!(benches, increments);
criterion_main!(benches);
