//! Health checks: routes answer 200/503/404 with JSON, gauges follow the results, and a
//! failing, slow or panicking check costs only its own component.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use integration_tests::Exposition;
use tower::ServiceExt as _;

async fn get(app: &Router, path: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn status_gauge(component: &str) -> u64 {
    Exposition::parse(&instrument_metric::render())
        .unwrap()
        .count(&format!("{component}_health_status"), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_routes_and_gauges_follow_the_checks() {
    use instrument_metric::health;
    let database_up = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&database_up);
    health::register("database", Duration::from_secs(2), move || {
        let up = flag.load(Ordering::SeqCst);
        async move {
            if up {
                Ok(())
            } else {
                Err("connection refused")
            }
        }
    })
    .unwrap();
    health::register("cache", Duration::from_secs(2), || async {
        Ok::<(), String>(())
    })
    .unwrap();
    health::register("slow", Duration::from_millis(50), || async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<(), String>(())
    })
    .unwrap();
    health::register("buggy", Duration::from_secs(2), || async {
        let pending: Vec<u32> = Vec::new();
        // A bug: indexing past the end panics inside the check.
        let _ = pending[std::hint::black_box(3)];
        Ok::<(), String>(())
    })
    .unwrap();
    assert!(
        health::register("Bad-Name", Duration::from_secs(1), || async {
            Ok::<(), String>(())
        })
        .is_err()
    );
    assert!(
        health::register("cache", Duration::from_secs(1), || async {
            Ok::<(), String>(())
        })
        .is_err()
    );

    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let app: Router = health::router();
    let (status, body) = get(&app, "/health/database").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "healthy");
    assert_eq!(status_gauge("database"), 1);

    let (status, body) = get(&app, "/health/overall").await;
    // The buggy check has panicked: failures below report as usual.
    std::panic::set_hook(report);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let components = body["components"].as_array().unwrap();
    let state =
        |name: &str| components.iter().find(|c| c["component"] == name).unwrap()["status"].clone();
    assert_eq!(state("database"), "healthy");
    assert_eq!(state("cache"), "healthy");
    assert_eq!(state("slow"), "unhealthy");
    assert_eq!(state("buggy"), "unhealthy");
    let slow = components
        .iter()
        .find(|c| c["component"] == "slow")
        .unwrap();
    assert!(slow["error"].as_str().unwrap().contains("longer than"));
    assert!(
        slow["duration_seconds"].as_f64().unwrap() < 5.0,
        "the timeout cut the check short"
    );

    database_up.store(false, Ordering::SeqCst);
    let (status, body) = get(&app, "/health/database").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "connection refused");
    assert_eq!(status_gauge("database"), 0);
    database_up.store(true, Ordering::SeqCst);
    assert_eq!(get(&app, "/health/database").await.0, StatusCode::OK);
    assert_eq!(status_gauge("database"), 1, "the component comes back");
    every_change_is_seen_by_the_next_request(&app, &database_up).await;

    let (status, body) = get(&app, "/health/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown component");

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(exposition.count("buggy_health_status", &[]), 0);
    assert_eq!(exposition.count("cache_health_status", &[]), 1);
    assert!(
        exposition
            .get("health_check_duration_seconds", &[("component", "slow")])
            .is_some()
    );
}

/// A request after a change runs the check again: it never gets the result of a run that
/// ended before it came (one run at a time joins only runs still in flight).
async fn every_change_is_seen_by_the_next_request(app: &Router, database_up: &AtomicBool) {
    for round in 0..200 {
        let up = round % 2 == 0;
        database_up.store(up, Ordering::SeqCst);
        let expected = if up {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_eq!(
            get(app, "/health/database").await.0,
            expected,
            "round {round}"
        );
    }
    database_up.store(true, Ordering::SeqCst);
    assert_eq!(get(app, "/health/database").await.0, StatusCode::OK);
}
