//! Cost of the HTTP layer's options, in process (no sockets): one `oneshot` request through a
//! router with a handler that reads a 1 KiB body and answers 1 KiB, bare, behind the default
//! layer, behind a layer with status classes and an excluded route, behind a prefixed layer
//! without and with a layer-wide and a route objective, and behind a layer with body sizes. Rounds alternate the variants; the medians and their ratios to the default layer
//! are printed at the end.
//!
//! Run: `cargo bench -p integration-tests --bench http_options`

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use instrument_metric::Objective;
use instrument_metric::axum::{BODY_SIZE_BUCKETS, HttpMetricsLayer};
use tower::ServiceExt as _;

const REQUESTS: u32 = 20_000;
const ROUNDS: usize = 9;

fn router() -> Router {
    Router::new().route("/echo", post(|body: axum::body::Bytes| async move { body }))
}

async fn round(app: &Router, payload: &axum::body::Bytes) -> f64 {
    let started = Instant::now();
    for _ in 0..REQUESTS {
        let request = Request::builder()
            .method("POST")
            .uri("/echo")
            .body(Body::from(payload.clone()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body.len(), payload.len());
    }
    started.elapsed().as_secs_f64() * 1e9 / f64::from(REQUESTS)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let variants: Vec<(&str, Router)> = vec![
        ("bare", router()),
        ("default layer", router().layer(HttpMetricsLayer::default())),
        (
            "classes + exclusion",
            router().layer(
                HttpMetricsLayer::builder()
                    .prefix("classes")
                    .status_classes()
                    .exclude("/metrics")
                    .build()
                    .unwrap(),
            ),
        ),
        (
            // The reference of the next: the same layer without objectives.
            "prefixed",
            router().layer(
                HttpMetricsLayer::builder()
                    .prefix("prefixed")
                    .build()
                    .unwrap(),
            ),
        ),
        (
            // Objectives are rules over the same series: nothing per request.
            "route objectives",
            router().layer(
                HttpMetricsLayer::builder()
                    .prefix("objectives")
                    .objective(
                        Objective::new("bench_api")
                            .success(99.9)
                            .latency(0.25, 99.0),
                    )
                    .route_objective(
                        &["POST"],
                        "/echo",
                        Objective::new("bench_echo")
                            .success(99.5)
                            .latency(0.1, 99.0),
                    )
                    .build()
                    .unwrap(),
            ),
        ),
        (
            "body sizes",
            router().layer(
                HttpMetricsLayer::builder()
                    .prefix("sized")
                    .body_sizes(BODY_SIZE_BUCKETS)
                    .build()
                    .unwrap(),
            ),
        ),
    ];
    let payload = axum::body::Bytes::from(vec![b'x'; 1024]);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    runtime.block_on(async {
        for (_, app) in &variants {
            round(app, &payload).await; // warm-up
        }
        for _ in 0..ROUNDS {
            for ((_, app), times) in variants.iter().zip(&mut times) {
                times.push(round(app, &payload).await);
            }
        }
    });
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let default = medians[1];
    println!("HTTP layer options, {REQUESTS} requests x {ROUNDS} rounds, median ns/request:");
    for ((name, _), median) in variants.iter().zip(&medians) {
        println!(
            "  {name:<20} {median:>8.0} ns   {:>5.3}x the default layer   layer cost {:>6.0} ns",
            median / default,
            median - medians[0]
        );
    }
}
