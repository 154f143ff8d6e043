//! The HTTP metrics layer: exact counts per route template, method and status, and a bounded
//! number of series whatever paths and methods clients send.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use instrument_metric::axum::HttpMetricsLayer;
use integration_tests::{Exposition, XorShift};
use tower::ServiceExt as _;

fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route("/sms", post(|| async { StatusCode::ACCEPTED }))
        .route("/slow", get(std::future::pending::<&'static str>))
        .merge(instrument_metric::axum::router())
        .layer(HttpMetricsLayer::default())
}

async fn send(app: &Router, method: Method, path: &str) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).unwrap()
}

#[tokio::test]
async fn hostile_paths_and_methods_create_no_series() {
    const REQUESTS: usize = 3_000;
    let app = app();
    let mut random = XorShift(0x5EED);
    let methods = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PURGE", "FOO", "X-ATTACK",
        "M-SEARCH",
    ];
    for i in 0..REQUESTS {
        let method = Method::from_bytes(
            methods[usize::try_from(random.next_u64() % 11).unwrap()].as_bytes(),
        )
        .unwrap();
        let path = match i % 4 {
            0 => format!("/users/{}", random.next_u64()),
            1 => format!("/{:x}/{:x}", random.next_u64(), random.next_u64()),
            2 => format!("/sms?to={}", random.next_u64()),
            _ => format!(
                "/%{:02X}/..%2F{}",
                random.next_u64() % 256,
                random.next_u64()
            ),
        };
        let _ = send(&app, method, &path).await;
    }
    let exposition = scrape();
    let series: Vec<_> = exposition.series("http_requests_total").collect();
    let endpoints: std::collections::BTreeSet<&str> = series
        .iter()
        .map(|sample| sample.labels["endpoint"].as_str())
        .collect();
    let allowed = ["/users/{id}", "/sms", "/slow", "/metrics", "unmatched"];
    assert!(
        endpoints.iter().all(|e| allowed.contains(e)),
        "{endpoints:?}"
    );
    let methods_seen: std::collections::BTreeSet<&str> = series
        .iter()
        .map(|sample| sample.labels["method"].as_str())
        .collect();
    let standard = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
    ];
    assert!(
        methods_seen.iter().all(|m| standard.contains(m)),
        "{methods_seen:?}"
    );
    // 5 endpoints x 10 methods x the few statuses axum produces: a hard bound far below the
    // number of distinct requests.
    assert!(series.len() <= 5 * 10 * 4, "{} series", series.len());
    let total: f64 = series.iter().map(|sample| sample.value).sum();
    assert!(total >= 3_000.0, "{total}");
    assert!(
        exposition
            .series("http_request_duration_seconds_count")
            .count()
            <= 5 * 10
    );
}

#[tokio::test]
async fn requests_are_counted_by_route_method_and_status() {
    let app = app();
    for _ in 0..3 {
        assert_eq!(send(&app, Method::GET, "/users/7").await, StatusCode::OK);
    }
    assert_eq!(send(&app, Method::POST, "/sms").await, StatusCode::ACCEPTED);
    assert_eq!(
        send(&app, Method::GET, "/sms").await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(&app, Method::GET, "/nowhere/at/all").await,
        StatusCode::NOT_FOUND
    );

    let exposition = scrape();
    let count = |method, endpoint, status| {
        exposition.get(
            "http_requests_total",
            &[
                ("endpoint", endpoint),
                ("method", method),
                ("status", status),
            ],
        )
    };
    assert!(count("GET", "/users/{id}", "200").unwrap() >= 3.0);
    assert!(count("POST", "/sms", "202").unwrap() >= 1.0);
    assert!(count("GET", "/sms", "405").unwrap() >= 1.0);
    assert!(count("GET", "unmatched", "404").unwrap() >= 1.0);
    assert!(
        exposition
            .series("http_requests_total")
            .all(|sample| !sample.labels["endpoint"].contains("nowhere")),
        "raw paths never become labels"
    );
    // Valid for Prometheus' own tools, in both formats.
    integration_tests::promtool_check_metrics(&instrument_metric::render()).unwrap();
    let openmetrics = instrument_metric::render_as(instrument_metric::Format::OpenMetrics);
    integration_tests::python_parse(&openmetrics, true).unwrap();
}

#[tokio::test]
async fn an_abandoned_request_is_counted_as_client_closed() {
    let app = app();
    let request = Request::builder().uri("/slow").body(Body::empty()).unwrap();
    let labels = [("endpoint", "/slow"), ("method", "GET")];
    {
        let mut response = std::pin::pin!(app.clone().oneshot(request));
        let poll = futures_poll(response.as_mut());
        assert!(poll.is_pending());
        assert_eq!(scrape().count("http_requests_in_flight", &labels), 1);
    }
    let exposition = scrape();
    assert_eq!(exposition.count("http_requests_in_flight", &labels), 0);
    let closed = [("endpoint", "/slow"), ("method", "GET"), ("status", "499")];
    assert_eq!(exposition.count("http_requests_total", &closed), 1);
}

fn futures_poll<F: std::future::Future>(
    future: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}
