//! `set_recording(false)`: calls and requests that start while it is off are not recorded, a
//! call that started before is recorded in full (its in-flight gauge returns to 0), and every
//! family stays in the exposition with its values.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::{instrument_metric, set_recording};
use integration_tests::Exposition;
use tower::ServiceExt as _;

#[instrument_metric(name = "switched_calls", in_flight)]
fn work(while_running: impl FnOnce()) {
    while_running();
}

fn calls(exposition: &Exposition) -> u64 {
    exposition.count(
        "switched_calls_total",
        &[
            ("function", "work"),
            ("module", "recording_switch"),
            ("result", "ok"),
        ],
    )
}

#[tokio::test]
async fn nothing_starts_recording_while_it_is_off() {
    let app = Router::new().route("/", get(|| async { "hello" })).layer(
        HttpMetricsLayer::builder()
            .prefix("switched")
            .build()
            .unwrap(),
    );
    let request = || Request::builder().uri("/").body(Body::empty()).unwrap();
    work(|| {});
    app.clone().oneshot(request()).await.unwrap();

    set_recording(false);
    assert!(!instrument_metric::recording());
    work(|| {});
    app.clone().oneshot(request()).await.unwrap();
    // Started while on, finished while off: recorded in full.
    set_recording(true);
    work(|| set_recording(false));
    let off = Exposition::parse(&instrument_metric::render()).unwrap();
    set_recording(true);

    assert_eq!(calls(&off), 2, "the call made while off is not counted");
    assert_eq!(
        off.count(
            "switched_calls_in_flight",
            &[("function", "work"), ("module", "recording_switch")]
        ),
        0
    );
    let route = [("endpoint", "/"), ("method", "GET"), ("status", "200")];
    assert_eq!(off.count("switched_http_requests_total", &route), 1);

    work(|| {});
    app.clone().oneshot(request()).await.unwrap();
    let on = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(calls(&on), 3);
    assert_eq!(on.count("switched_http_requests_total", &route), 2);
}
