//! The HTTP layer's options, each with exact values parsed from the exposition: excluded
//! routes (404s still counted), status classes, buckets, body sizes, a name prefix, objectives,
//! and the error values of bad options.

#![allow(clippy::float_cmp)] // the values compared are whole numbers or exact bounds

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use instrument_metric::Objective;
use instrument_metric::axum::{HttpLayerError, HttpMetricsLayer};
use integration_tests::Exposition;
use tower::ServiceExt as _;

fn app(layer: HttpMetricsLayer) -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/fail",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route("/health/overall", get(|| async { "ok" }))
        .route("/health/{component}", get(|| async { "ok" }))
        .merge(instrument_metric::axum::router())
        .layer(layer)
}

async fn send(app: &Router, method: Method, path: &str, body: &str) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    // Read the body, as a client does: its size is observed when it is done.
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    status
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).unwrap()
}

fn requests(exposition: &Exposition, family: &str, endpoint: &str, status: &str) -> Option<f64> {
    exposition.get(
        family,
        &[
            ("endpoint", endpoint),
            ("method", "GET"),
            ("status", status),
        ],
    )
}

#[tokio::test]
async fn excluded_routes_are_not_recorded_but_unmatched_404s_are() {
    let layer = HttpMetricsLayer::builder()
        .prefix("excluding")
        .exclude("/metrics")
        .exclude("/health/*")
        .build()
        .unwrap();
    let app = app(layer);
    for path in [
        "/metrics",
        "/health/overall",
        "/health/database",
        "/users/1",
        "/metrics/extra",
        "/health",
    ] {
        send(&app, Method::GET, path, "").await;
    }
    let exposition = scrape();
    let family = "excluding_http_requests_total";
    let endpoints: Vec<(String, String)> = exposition
        .series(family)
        .map(|sample| {
            (
                sample.labels["endpoint"].clone(),
                sample.labels["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        endpoints,
        [
            ("/users/{id}".to_owned(), "200".to_owned()),
            ("unmatched".to_owned(), "404".to_owned())
        ]
    );
    assert_eq!(requests(&exposition, family, "unmatched", "404"), Some(2.0));
    assert_eq!(
        requests(&exposition, family, "/users/{id}", "200"),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_wildcard_segment_is_an_exact_route_template() {
    // axum's `{*path}` is part of a template, not the final `*` of a prefix.
    let layer = HttpMetricsLayer::builder()
        .prefix("wildcards")
        .exclude("/assets/{*path}")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/assets/{*path}", get(|| async { "asset" }))
        .route("/assets-index", get(|| async { "index" }))
        .layer(layer);
    send(&app, Method::GET, "/assets/css/site.css", "").await;
    send(&app, Method::GET, "/assets-index", "").await;
    let exposition = scrape();
    let endpoints: Vec<&str> = exposition
        .series("wildcards_http_requests_total")
        .map(|sample| sample.labels["endpoint"].as_str())
        .collect();
    assert_eq!(endpoints, ["/assets-index"]);
}

#[tokio::test]
async fn status_classes_replace_codes() {
    let layer = HttpMetricsLayer::builder()
        .prefix("classes")
        .status_classes()
        .build()
        .unwrap();
    let app = app(layer);
    for path in [
        "/users/1", "/users/2", "/fail", "/nowhere", "/fail", "/fail",
    ] {
        send(&app, Method::GET, path, "").await;
    }
    let exposition = scrape();
    let family = "classes_http_requests_total";
    assert_eq!(
        requests(&exposition, family, "/users/{id}", "2xx"),
        Some(2.0)
    );
    assert_eq!(requests(&exposition, family, "/fail", "5xx"), Some(3.0));
    assert_eq!(requests(&exposition, family, "unmatched", "4xx"), Some(1.0));
    assert!(
        exposition
            .series(family)
            .all(|sample| sample.labels["status"].ends_with("xx")),
        "only classes"
    );
}

#[tokio::test]
async fn buckets_are_the_ones_given() {
    let layer = HttpMetricsLayer::builder()
        .prefix("bucketed")
        .buckets(&[0.5, 30.0])
        .build()
        .unwrap();
    let app = app(layer);
    send(&app, Method::GET, "/users/7", "").await;
    let exposition = scrape();
    let les: Vec<&str> = exposition
        .series("bucketed_http_request_duration_seconds_bucket")
        .map(|sample| sample.labels["le"].as_str())
        .collect();
    assert_eq!(les, ["0.5", "30", "+Inf"]);
    let labels = [("endpoint", "/users/{id}"), ("method", "GET")];
    assert_eq!(
        exposition.value("bucketed_http_request_duration_seconds_count", &labels),
        1.0
    );
    assert_eq!(
        exposition.value(
            "bucketed_http_request_duration_seconds_bucket",
            &[("endpoint", "/users/{id}"), ("method", "GET"), ("le", "30")]
        ),
        1.0
    );
}

#[tokio::test]
async fn body_sizes_are_the_bytes_read_and_sent() {
    let layer = HttpMetricsLayer::builder()
        .prefix("sized")
        .body_sizes(&[100.0, 1000.0, 10_000.0])
        .build()
        .unwrap();
    let app = app(layer);
    let big = "x".repeat(1500);
    send(&app, Method::POST, "/echo", &big).await;
    send(&app, Method::POST, "/echo", "hello").await;
    send(&app, Method::GET, "/users/1", "ignored by the handler").await;
    let exposition = scrape();
    let echo = [("endpoint", "/echo"), ("method", "POST")];
    let user = [("endpoint", "/users/{id}"), ("method", "GET")];
    for family in [
        "sized_http_request_size_bytes",
        "sized_http_response_size_bytes",
    ] {
        assert_eq!(exposition.value(&format!("{family}_count"), &echo), 2.0);
        assert_eq!(exposition.value(&format!("{family}_sum"), &echo), 1505.0);
        let bucket = |le: &str| {
            exposition.value(
                &format!("{family}_bucket"),
                &[("endpoint", "/echo"), ("method", "POST"), ("le", le)],
            )
        };
        assert_eq!(
            [
                bucket("100"),
                bucket("1000"),
                bucket("10000"),
                bucket("+Inf")
            ],
            [1.0, 1.0, 2.0, 2.0]
        );
    }
    // The handler read none of its request body; it answered "user".
    assert_eq!(
        exposition.value("sized_http_request_size_bytes_sum", &user),
        0.0
    );
    assert_eq!(
        exposition.value("sized_http_response_size_bytes_sum", &user),
        4.0
    );
}

#[test]
fn objectives_are_in_the_catalog_with_their_selector() {
    HttpMetricsLayer::builder()
        .prefix("served")
        .objective(
            Objective::new("served_api")
                .success(99.5)
                .latency(0.25, 95.0),
        )
        .build()
        .unwrap();
    let catalog = instrument_metric::catalog();
    let objective = catalog
        .objectives
        .iter()
        .find(|objective| objective.name == "served_api")
        .unwrap();
    assert_eq!(objective.requests, "served_http_requests_total");
    assert_eq!(objective.histogram, "served_http_request_duration_seconds");
    assert_eq!(objective.outcome_label, "status");
    assert_eq!(objective.bad, "5..");
    assert_eq!(objective.ignored, "499");
    assert_eq!(objective.selector, r#"endpoint!="unmatched""#);
    assert_eq!(objective.success, Some(99.5));
    assert_eq!(objective.latency, Some((0.25, 95.0)));
    let family = catalog
        .families
        .iter()
        .find(|family| family.name == "served_http_requests_total")
        .unwrap();
    assert_eq!(family.labels, ["endpoint", "method", "status"]);
}

#[test]
fn the_same_options_give_the_same_layer() {
    let build = || {
        HttpMetricsLayer::builder()
            .prefix("twice")
            .status_classes()
            .build()
    };
    build().unwrap();
    build().unwrap();
    // Other options under the same names would write the same series twice.
    let error = HttpMetricsLayer::builder()
        .prefix("twice")
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, HttpLayerError::Conflict(conflict) if conflict.family == "twice_http_requests_total"),
        "{error}"
    );
    // Built again, it is refused again: never a layer that silently exports nothing.
    let again = HttpMetricsLayer::builder()
        .prefix("twice")
        .build()
        .unwrap_err();
    assert_eq!(again, error);
}

#[test]
fn bad_options_are_error_values() {
    let message = |builder: instrument_metric::axum::HttpMetricsBuilder| {
        builder.build().unwrap_err().to_string()
    };
    assert_eq!(
        message(HttpMetricsLayer::builder().prefix("9lives")),
        "the prefix `9lives` gives `9lives_http_requests_total`: `9lives_http_requests_total` is not a metric name: ASCII letters, digits and `_`, not starting with a digit"
    );
    // The prefix as given, never trimmed away.
    assert_eq!(
        message(HttpMetricsLayer::builder().prefix("_")),
        "the prefix `_` would give `__http_requests_total`: the prefix is joined to each name with `_`, so it must not end in `_`; leave `.prefix` out for the unprefixed names"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().prefix("__x")),
        "the prefix `__x` gives `__x_http_requests_total`: `__x_http_requests_total` starts with `__`, which Prometheus reserves"
    );
    // The layer adds the `_`: one given too would double it.
    assert_eq!(
        message(HttpMetricsLayer::builder().prefix("api_")),
        "the prefix `api_` would give `api__http_requests_total`: the prefix is joined to each name with `_`, so it must not end in `_`; try `.prefix(\"api\")`"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().prefix("")),
        "an empty prefix would give `_http_requests_total`; leave `.prefix` out for the unprefixed names"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().buckets(&[1.0, 0.5])),
        "the duration buckets [1.0, 0.5] are not strictly increasing"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().buckets(&[0.0, 1e-10, 0.5])),
        "the duration buckets [0.0, 1e-10, 0.5] have the bound 1e-10: durations are counted in whole nanoseconds, so a bound is 0 or at least 1e-9"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().body_sizes(&[])),
        "the body size buckets Some([]) are empty; give at least one bound"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().exclude("metrics")),
        "`metrics` is not a route template: excluded routes start with `/`, like `/metrics` or `/health/*`"
    );
    // Only a final `*` matches: one before the end would exclude nothing.
    for route in ["/health/*/x", "/*/metrics*"] {
        assert_eq!(
            message(HttpMetricsLayer::builder().exclude(route)),
            format!(
                "`{route}` has a `*` before its end, which matches nothing: only a final `*` matches (every route template that starts with what precedes it, like `/health/*`); name each route template to leave out, like `/health/{{component}}/x`"
            )
        );
    }
    assert_eq!(
        message(
            HttpMetricsLayer::builder()
                .buckets(&[0.1, 0.5, 1.0])
                .objective(Objective::new("api").latency(0.25, 99.0))
        ),
        "the objective `api` has the latency threshold 0.25 s, which is not a bound of the histogram ([0.1, 0.5, 1.0]): only a bound tells which calls were faster; use one of them, or add it to the buckets"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().objective(Objective::new("api").success(100.0))),
        "the objective `api` has the success target 100, not a percent between 0 and 100 (both excluded)"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().objective(Objective::new("").success(99.0))),
        "an objective of the HTTP layer needs a name: `Objective::new(\"api\")`"
    );
    // Names that would break the generated YAML or run in alert templates.
    for name in [
        "checkout #1",
        "region: eu",
        "{{ .Labels.job }}",
        "1st",
        "api-v2",
        "café",
    ] {
        let built = HttpMetricsLayer::builder()
            .prefix("hostile")
            .objective(Objective::new(name).success(99.0))
            .build();
        let Err(HttpLayerError::Objective(message)) = built else {
            panic!("{name:?} was accepted");
        };
        assert_eq!(
            message,
            format!(
                "the objective name {name:?} is not written like a family stem: ASCII letters, digits and `_`, not starting with a digit (it becomes a label value in rules and text in alerts)"
            )
        );
    }
}
