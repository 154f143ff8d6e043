//! A route objective against the real server (Debian's Prometheus 2.42, or the pinned 3.x with
//! `TEST_PROMETHEUS=3`) evaluating the generated recording rules over this process's
//! `/metrics`: slow requests to `POST /api/v1/sms` break its latency objective (threshold
//! 100 ms) while the layer-wide objective (threshold 1 s) holds, and each indicator's recorded
//! error ratio is exactly the share of the requests the test sent.
//!
//! Exact ratios from `rate()`: every series the rules read exists (with a non-zero value)
//! before Prometheus first scrapes, so all share their sample times, and each one's increase
//! stays small beside its first value over the samples taken, so that no extrapolation stops
//! at zero: each rate is its increase times one factor, which the ratios cancel.

#![allow(clippy::float_cmp)] // the ratios compared are those of whole counts

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, Uri};
use axum::routing::{get, post};
use instrument_metric::Objective;
use instrument_metric::axum::{Endpoint, HttpMetricsLayer};
use instrument_metric::export::Export;
use integration_tests::Exposition;
use integration_tests::prometheus::{Prometheus, Server, eventually, number};
use tower::ServiceExt as _;

/// How long the test waits for Prometheus at most.
const PATIENCE: Duration = Duration::from_secs(60);

/// Answers a request to the test's routes as its query says: `slow` waits 200 ms (past the
/// route's threshold, within the layer's), `fail` answers 500.
async fn answer(uri: Uri) -> StatusCode {
    let query = uri.query().unwrap_or_default();
    if query.contains("slow") {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if query.contains("fail") {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn app() -> Router {
    let layer = HttpMetricsLayer::builder()
        .prefix("routed")
        .buckets(&[0.1, 1.0])
        .objective(
            Objective::new("routed_api")
                .success(90.0)
                .latency(1.0, 99.0),
        )
        .route_objective(
            &["POST"],
            "/api/v1/sms",
            Objective::new("routed_sms")
                .success(80.0)
                .latency(0.1, 99.0),
        )
        .build()
        .unwrap();
    Router::new()
        .route("/api/v1/sms", post(answer))
        .route("/api/v1/notes", get(answer))
        .layer(layer)
}

/// Sends `count` requests, each answered as `query` says.
async fn send(app: &Router, count: usize, method: Method, path: &str, query: &str) {
    for _ in 0..count {
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("{path}?{query}"))
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(request).await.unwrap();
    }
}

/// The requests of every route answered within 100 ms.
fn within_100ms(exposition: &Exposition) -> f64 {
    exposition
        .series("routed_http_request_duration_seconds_bucket")
        .filter(|sample| sample.labels["le"] == "0.1")
        .map(|sample| sample.value)
        .sum()
}

/// The value of the one series `promql` gives, once Prometheus answers it.
fn value(prometheus: &Prometheus, promql: &str) -> Option<f64> {
    let result = prometheus.query(promql);
    (result.len() == 1).then(|| number(&result[0]["value"][1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_route_breaks_its_objective_while_the_layer_holds() {
    let app = app();
    let sms = || (Method::POST, "/api/v1/sms");
    let notes = || (Method::GET, "/api/v1/notes");
    // Before Prometheus: every series the rules read, each with a first value of 4 or 8.
    let (method, path) = sms();
    send(&app, 4, method.clone(), path, "").await;
    send(&app, 4, method, path, "fail=true").await;
    let (method, path) = notes();
    send(&app, 4, method, path, "").await;
    let before = Exposition::parse(&instrument_metric::render()).unwrap();
    before.check_invariants().unwrap();
    integration_tests::promtool_check_metrics(&instrument_metric::render()).unwrap();
    // All 12 within 100 ms, or the ratios below would not be the test's.
    assert_eq!(within_100ms(&before), 12.0);

    let server = Endpoint::new().spawn("127.0.0.1:0").unwrap();
    let catalog = instrument_metric::catalog();
    let rules = Export::new(&catalog, "route objectives test").objective_rules();
    let dir = std::env::temp_dir().join(format!("route-objective-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_file = dir.join("objectives.yml");
    std::fs::write(&rules_file, rules).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: routed\n    static_configs:\n      - targets: ['{}']\n",
        rules_file.display(),
        server.local_addr()
    );
    let prometheus = Prometheus::start_with(Server::selected(), "route-objectives", &config, &[]);
    // Five samples of every series before the traffic: its increases (10 at most) stay below
    // 1.1 times its first value (4 at least) times the intervals sampled, so that no
    // extrapolation stops at zero (Prometheus 2's rule; Prometheus 3 asks for 0.5 times).
    eventually("five scrapes of every series", PATIENCE, || {
        let samples = prometheus
            .query("count_over_time(routed_http_requests_total[5m])")
            .iter()
            .map(|sample| number(&sample["value"][1]))
            .collect::<Vec<_>>();
        (samples.len() == 3 && samples.iter().all(|count| *count >= 5.0)).then_some(())
    });

    // The traffic: 6 slow, 3 fast and 1 failing request to the route, 10 fast ones elsewhere.
    let (method, path) = sms();
    send(&app, 6, method.clone(), path, "slow=true").await;
    send(&app, 3, method.clone(), path, "").await;
    send(&app, 1, method, path, "fail=true").await;
    let (method, path) = notes();
    send(&app, 10, method, path, "").await;
    let after = Exposition::parse(&instrument_metric::render()).unwrap();
    after.check_invariants().unwrap();
    assert_eq!(
        within_100ms(&after),
        12.0 + 3.0 + 1.0 + 10.0,
        "a fast request took 100 ms or more"
    );

    // The last scrape of the whole traffic, then a rule evaluation after it.
    let scraped = eventually("the traffic scraped", PATIENCE, || {
        let total = value(&prometheus, "sum(routed_http_requests_total)")?;
        (total == 32.0).then(|| value(&prometheus, "max(timestamp(routed_http_requests_total))"))?
    });
    let ratio = |objective: &str, sli: &str, window: &str| {
        format!("objective:error_ratio:rate{window}{{objective=\"{objective}\",sli=\"{sli}\"}}")
    };
    eventually("the rules evaluated after that scrape", PATIENCE, || {
        let evaluated = ["routed_sms", "routed_api"]
            .iter()
            .flat_map(|objective| ["success", "latency"].map(|sli| (*objective, sli)))
            .map(|(objective, sli)| {
                value(
                    &prometheus,
                    &format!("timestamp({})", ratio(objective, sli, "5m")),
                )
            })
            .collect::<Option<Vec<f64>>>()?;
        // A second later: an evaluation just after the scrape may not have read it yet.
        evaluated
            .iter()
            .all(|at| *at >= scraped + 1.5)
            .then_some(())
    });

    // Route: 6 of 10 slower than 100 ms, 1 of 10 failed. Layer: 1 of 20 failed, none slower
    // than 1 s. Every window holds the whole test.
    for window in ["5m", "30m", "1h", "6h", "3d"] {
        let exact = |objective: &str, sli: &str, expected: f64| {
            let recorded = value(&prometheus, &ratio(objective, sli, window))
                .unwrap_or_else(|| panic!("no {objective} {sli} {window}"));
            assert!(
                (recorded - expected).abs() < 1e-12,
                "{objective} {sli} over {window}: {recorded}, not {expected}\n{}",
                prometheus.log()
            );
        };
        exact("routed_sms", "latency", 0.6);
        exact("routed_sms", "success", 0.1);
        exact("routed_api", "latency", 0.0);
        exact("routed_api", "success", 0.05);
    }
    // The route burns its latency budget (1%) 60 times too fast, past the fast-burn page's
    // 14.4; the layer's burns stay below it (5% of a 10% budget, and nothing slow).
    let burning = prometheus
        .query("objective:error_ratio:rate1h{objective=~\"routed_.*\"} > 0.144")
        .iter()
        .map(|sample| {
            let labels = &sample["metric"];
            (labels["objective"].clone(), labels["sli"].clone())
        })
        .collect::<Vec<_>>();
    assert_eq!(burning, [("routed_sms".into(), "latency".into())]);
    drop(prometheus);
    server.shutdown().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
