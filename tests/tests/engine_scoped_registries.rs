//! Scoped registries: `Registry::new()` filled with `#[metrics(scoped)]` structs, metrics
//! registered by hand and collectors renders those and nothing else (no instrumented
//! function's, exporter's or HTTP family); a struct registered twice shares its series, in two
//! registries it has two; `Endpoint::registry` serves one.

use std::collections::BTreeSet;

use instrument_metric::axum::{Endpoint, HttpMetricsLayer};
use instrument_metric::{
    Format, Histogram, IntCounter, IntCounterFamily, IntGauge, LabelValue, Metrics, Registry,
    instrument_metric,
};
use integration_tests::{Exposition, http};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Step {
    Extract,
    Load,
}

/// A batch job's metrics, kept out of the global registry.
#[derive(Metrics)]
#[metrics(scoped)]
struct BatchMetrics {
    /// Rows imported, by step.
    rows_total: IntCounterFamily<Step>,
    /// Time a batch takes.
    batch_duration_seconds: Histogram,
    /// Rows waiting.
    rows_pending: IntGauge,
}

/// A service's metrics, in the global registry.
#[derive(Metrics)]
struct ServiceMetrics {
    /// Requests served.
    service_requests_total: IntCounter,
}

#[instrument_metric]
fn serve_request() {}

/// Fills `registry` with a struct (twice), a gauge registered by hand and a collector.
fn fill(registry: &Registry) -> BatchMetrics {
    let first = BatchMetrics::register_in(registry);
    let again = BatchMetrics::register_in(registry);
    first.rows_total.with(Step::Load).inc_by(2);
    again.rows_total.with(Step::Load).inc();
    again.batch_duration_seconds.observe(0.5);
    again.rows_pending.set(6);
    registry
        .int_gauge("workers", "Workers running.")
        .unwrap()
        .set(4);
    registry
        .collect_gauge("backlog_items", "Items waiting.", || 9_u32)
        .unwrap();
    first
}

/// The families of an exposition, from its TYPE lines.
fn families(exposition: &Exposition) -> BTreeSet<&str> {
    exposition.types.keys().map(String::as_str).collect()
}

#[test]
fn a_scoped_registry_renders_only_its_own_families() {
    // The global registry has families of every kind.
    serve_request();
    ServiceMetrics::global().service_requests_total.inc();

    let registry = Registry::new();
    let metrics = fill(&registry);
    assert_eq!(
        metrics.rows_total.with(Step::Load).get(),
        3,
        "registering the struct twice gives handles to the same series"
    );
    registry
        .check()
        .expect("registering it again is no conflict");

    for (format, rows) in [(Format::Text, "rows_total"), (Format::OpenMetrics, "rows")] {
        let text = registry.render_as(format);
        let samples: String = text
            .lines()
            .filter(|line| !line.starts_with("# HELP"))
            .flat_map(|line| [line, "\n"])
            .collect();
        let exposition = Exposition::parse(&samples).unwrap();
        assert_eq!(
            families(&exposition),
            BTreeSet::from([
                "backlog_items",
                "batch_duration_seconds",
                rows,
                "rows_pending",
                "workers"
            ]),
            "{text}"
        );
        assert_eq!(exposition.count("rows_total", &[("step", "load")]), 3);
        assert_eq!(exposition.count("rows_total", &[("step", "extract")]), 0);
        assert_eq!(exposition.count("batch_duration_seconds_count", &[]), 1);
        assert_eq!(exposition.count("rows_pending", &[]), 6);
        assert_eq!(exposition.count("workers", &[]), 4);
        assert_eq!(exposition.count("backlog_items", &[]), 9);
    }

    // The global registry has none of them, and its own.
    let global = Exposition::parse(&instrument_metric::render()).unwrap();
    for scoped in ["rows_total", "batch_duration_seconds", "rows_pending"] {
        assert!(!global.types.contains_key(scoped), "{scoped}");
        assert!(
            instrument_metric::catalog()
                .families
                .iter()
                .all(|family| family.name != scoped),
            "{scoped} is not in the global catalog"
        );
    }
    assert_eq!(global.count("service_requests_total", &[]), 1);
    assert!(global.types.contains_key("function_calls_total"));
    assert!(global.types.contains_key("metrics_exporter_series"));
}

#[test]
fn a_struct_in_two_registries_has_two_sets_of_series() {
    let (one, two) = (Registry::new(), Registry::new());
    let in_one = BatchMetrics::register_in(&one);
    let in_two = BatchMetrics::register_in(&two);
    in_one.rows_total.with(Step::Extract).inc_by(5);
    in_two.rows_total.with(Step::Extract).inc();
    // A struct of the global registry, registered in a scoped one too: a series of its own.
    ServiceMetrics::register_in(&two)
        .service_requests_total
        .inc_by(7);
    let one = Exposition::parse(&one.render()).unwrap();
    let two = Exposition::parse(&two.render()).unwrap();
    assert_eq!(one.count("rows_total", &[("step", "extract")]), 5);
    assert_eq!(two.count("rows_total", &[("step", "extract")]), 1);
    assert_eq!(two.count("service_requests_total", &[]), 7);
    assert!(!one.types.contains_key("service_requests_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_serves_a_scoped_registry() {
    let registry = Registry::new();
    fill(&registry);
    // The HTTP layer records into the global registry, never into the one served.
    let app = Endpoint::new()
        .registry(registry.clone())
        .router::<()>()
        .layer(HttpMetricsLayer::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let scrape = move || http(addr, "GET", "/metrics", &[]);
    tokio::task::spawn_blocking(scrape).await.unwrap().unwrap();
    let response = tokio::task::spawn_blocking(scrape).await.unwrap().unwrap();
    assert_eq!(response.status, 200);
    let served = Exposition::parse(&response.body).unwrap();
    let rendered = Exposition::parse(&registry.render()).unwrap();
    assert_eq!(families(&served), families(&rendered));
    assert_eq!(served.samples, rendered.samples);
    assert_eq!(served.count("rows_total", &[("step", "load")]), 3);

    let global = Exposition::parse(&instrument_metric::render()).unwrap();
    let scrapes = global
        .series("http_requests_total")
        .filter(|sample| sample.labels["endpoint"] == "/metrics")
        .map(|sample| sample.value)
        .sum::<f64>();
    assert!(
        scrapes >= 1.0,
        "the first scrape is counted in the global registry"
    );
    assert_eq!(
        families(&served),
        BTreeSet::from([
            "backlog_items",
            "batch_duration_seconds",
            "rows_total",
            "rows_pending",
            "workers"
        ]),
        "no family of the global registry"
    );
}
