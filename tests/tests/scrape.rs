//! End to end: instrumented axum handlers, `GET /metrics` over a real socket, the exposition
//! parsed and accepted by Prometheus' own `promtool check metrics`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use instrument_metric::instrument_metric;
use integration_tests::{Exposition, Response, http, promtool_check_metrics};

/// Does some work; odd numbers find the service unavailable (a 5xx: an `error`; a 4xx would
/// be the client's mistake, `ok`).
#[instrument_metric(name = "work_requests", in_flight, labels(tier = "free"))]
async fn work(Path(n): Path<u32>) -> Result<String, StatusCode> {
    if n % 2 == 1 {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    }
    Ok(format!("{}", n / 2))
}

#[instrument_metric]
fn helper() -> u8 {
    1
}

async fn request(addr: SocketAddr, method: &'static str, path: String) -> Response {
    tokio::task::spawn_blocking(move || http(addr, method, &path, &[]))
        .await
        .expect("the request task finishes")
        .expect("the server answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_metrics_are_exact_and_pass_promtool() {
    let app = Router::new()
        .route("/work/{n}", get(work))
        .merge(instrument_metric::axum::router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    for n in 0..10 {
        let response = request(addr, "GET", format!("/work/{n}")).await;
        assert_eq!(response.status, if n % 2 == 0 { 200 } else { 503 });
    }
    assert_eq!(helper(), 1);

    let response = request(addr, "GET", "/metrics".to_owned()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let exposition = Exposition::parse(&response.body).expect("the exposition parses");
    let labels = |result| {
        [
            ("function", "work"),
            ("module", "scrape"),
            ("tier", "free"),
            ("result", result),
        ]
    };
    assert_eq!(exposition.count("work_requests_total", &labels("ok")), 5);
    assert_eq!(exposition.count("work_requests_total", &labels("error")), 5);
    assert_eq!(
        exposition.count("work_requests_total", &labels("cancelled")),
        0
    );
    let series = [("function", "work"), ("module", "scrape"), ("tier", "free")];
    assert_eq!(
        exposition.count("work_requests_duration_seconds_count", &series),
        10
    );
    assert_eq!(exposition.count("work_requests_in_flight", &series), 0);

    assert!(!response.body.is_empty());
    if let Err(report) = promtool_check_metrics(&response.body) {
        panic!("promtool found problems:\n{report}\nin:\n{}", response.body);
    }

    let wrong_method = request(addr, "POST", "/metrics".to_owned()).await;
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn promtool_is_a_real_check() {
    // The check above would be worthless if promtool accepted anything.
    let bad = "# HELP latency_ms Latency.\n# TYPE latency_ms counter\nlatency_ms 1\n";
    let report = promtool_check_metrics(bad).expect_err("promtool refuses a badly named counter");
    assert!(report.contains("_total"), "{report}");
}
