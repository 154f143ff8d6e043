//! The cost of a record through the `metrics` facade (issue 27, part 5), measured in one run
//! beside the crate's own handles and beside `metrics-exporter-prometheus`'s recorder (the
//! facade's Prometheus exporter, 0.18):
//!
//! - `metrics::counter!("x").increment(1)` through the installed recorder (the macro finds
//!   the handle of its key at each call), with and without a label, and the handle kept;
//! - `metrics::histogram!("x").record(v)`, each call and with the handle kept;
//! - the crate's `IntCounter::inc()` and `Histogram::observe()` on a registered family;
//! - the same key registered and recorded on each recorder directly
//!   (`Recorder::register_counter(&key, &metadata).increment(1)`: what the macro does once it
//!   has the recorder) and through a kept handle, ours and `metrics-exporter-prometheus`'s.
//!
//! Run: `cargo bench -p integration-tests --bench metrics_facade -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::Criterion;
use instrument_metric::Registry;
use instrument_metric::facade::FacadeRecorder;
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::PrometheusBuilder;

static METADATA: Metadata<'static> = Metadata::new("bench", Level::INFO, Some("metrics_facade"));

fn main() {
    FacadeRecorder::builder().install().unwrap();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("facade");

    group.bench_function("macro counter increment", |b| {
        b.iter(|| metrics::counter!("bench_macro").increment(black_box(1)));
    });
    group.bench_function("macro counter with a label increment", |b| {
        b.iter(|| {
            metrics::counter!("bench_macro_labelled", "queue" => "mail").increment(black_box(1));
        });
    });
    let kept = metrics::counter!("bench_kept");
    group.bench_function("kept counter increment", |b| {
        b.iter(|| kept.increment(black_box(1)));
    });
    group.bench_function("macro histogram record", |b| {
        b.iter(|| metrics::histogram!("bench_macro_seconds").record(black_box(0.042)));
    });
    let kept_histogram = metrics::histogram!("bench_kept_seconds");
    group.bench_function("kept histogram record", |b| {
        b.iter(|| kept_histogram.record(black_box(0.042)));
    });

    let registry = Registry::new();
    let own = registry
        .int_counter("bench_own_total", "Own counter.")
        .unwrap();
    group.bench_function("IntCounter inc", |b| b.iter(|| black_box(&own).inc()));
    let own_histogram = registry
        .histogram("bench_own_seconds", "Own histogram.", &[])
        .unwrap();
    group.bench_function("Histogram observe", |b| {
        b.iter(|| own_histogram.observe(black_box(0.042)));
    });

    // Each recorder used directly, on the same key.
    let ours = FacadeRecorder::builder()
        .registry(&Registry::new())
        .build()
        .unwrap();
    let peer = PrometheusBuilder::new().build_recorder();
    let key = Key::from_parts("bench_direct", vec![Label::new("queue", "mail")]);
    let histogram_key = Key::from_parts("bench_direct_seconds", vec![Label::new("queue", "mail")]);
    for (name, recorder) in [
        ("ours", &ours as &dyn Recorder),
        ("peer", &peer as &dyn Recorder),
    ] {
        group.bench_function(format!("{name} register_counter + increment"), |b| {
            b.iter(|| {
                recorder
                    .register_counter(black_box(&key), &METADATA)
                    .increment(1);
            });
        });
        let counter = recorder.register_counter(&key, &METADATA);
        group.bench_function(format!("{name} kept counter increment"), |b| {
            b.iter(|| counter.increment(black_box(1)));
        });
        group.bench_function(format!("{name} register_histogram + record"), |b| {
            b.iter(|| {
                recorder
                    .register_histogram(black_box(&histogram_key), &METADATA)
                    .record(0.042);
            });
        });
        let histogram = recorder.register_histogram(&histogram_key, &METADATA);
        group.bench_function(format!("{name} kept histogram record"), |b| {
            b.iter(|| histogram.record(black_box(0.042)));
        });
    }
    group.finish();
    criterion.final_summary();
}
