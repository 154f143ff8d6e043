//! The default HTTP layer's names are kept for it (issue 26, item 9): a collector, or a metric
//! registered by hand, that takes one of them, or the name of one of their series, before the
//! layer is built is refused with an error, and the layer, built afterwards, exports all its
//! families. Before, the layer refused itself with no `Result` to say so: its families
//! vanished, seen only as `metrics_catalog_conflicts 1`.
//!
//! In a binary of its own: it needs a global registry in which no layer is built yet.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::{collect, registry};
use integration_tests::Exposition;
use tower::ServiceExt as _;

#[tokio::test]
async fn names_of_the_default_layer_are_refused_to_others_and_the_layer_exports_them() {
    let taken = collect::counter(
        "http_requests_total",
        "Requests, counted elsewhere.",
        || 7_u64,
    )
    .expect_err("the HTTP layer keeps `http_requests_total`");
    assert_eq!(taken.family, "http_requests_total");
    assert!(
        taken.problem.contains("HttpMetricsLayer"),
        "the error says why: {taken}"
    );
    // A series name of the layer's counter, and its other families.
    let series = collect::gauge("http_requests", "Clashes with http_requests_total.", || {
        1_u32
    })
    .expect_err("`http_requests` is the OpenMetrics name of http_requests_total");
    assert_eq!(series.family, "http_requests");
    registry()
        .histogram("http_request_duration_seconds", "Durations.", &[])
        .expect_err("the layer keeps `http_request_duration_seconds`");
    registry()
        .int_gauge("http_requests_in_flight", "In flight.")
        .expect_err("the layer keeps `http_requests_in_flight`");
    // Names beside them stay free.
    registry()
        .int_counter("http_retries_total", "Retries.")
        .expect("a name the layer does not take");
    let refused = instrument_metric::check().unwrap_err().conflicts.len();
    assert_eq!(refused, 4);

    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(HttpMetricsLayer::default());
    let request = Request::builder()
        .uri("/users/7")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let route = [
        ("endpoint", "/users/{id}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(exposition.count("http_requests_total", &route), 1);
    let route = [("endpoint", "/users/{id}"), ("method", "GET")];
    assert_eq!(
        exposition.count("http_request_duration_seconds_count", &route),
        1
    );
    assert_eq!(exposition.count("http_requests_in_flight", &route), 0);
    // The layer registered without a conflict of its own.
    assert_eq!(
        instrument_metric::check().unwrap_err().conflicts.len(),
        refused
    );
    assert_eq!(
        exposition.count("metrics_catalog_conflicts", &[]),
        u64::try_from(refused).unwrap()
    );
}
