//! Cost of one unary gRPC call through the gRPC layer, in process (no sockets): tonic's
//! generated `echo.v1.Echo` server called with a framed `SayRequest`, its response body read to
//! its trailers (where the layer records the call), bare and behind `GrpcMetricsLayer`; and in
//! the same run, for reference, one request through an axum router bare and behind the default
//! `HttpMetricsLayer`. The layers' costs are the differences. Then the four again in
//! alternated rounds (medians), which a machine whose load drifts charges alike.
//!
//! Run: `cargo bench -p integration-tests --bench grpc_layer -- --warm-up-time 1 --measurement-time 3`

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use axum::routing::post;
use criterion::{Criterion, criterion_group};
use grpc_test_service::{Echo, EchoServer, FILE_DESCRIPTOR_SET, SayRequest};
use http_body_util::{BodyExt as _, Full};
use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::grpc::GrpcMetricsLayer;
use prost::Message as _;
use tower::{Layer as _, Service, ServiceExt as _};

/// A `SayRequest` in gRPC's framing: uncompressed, its length, the message.
fn framed_request() -> Bytes {
    let message = SayRequest {
        text: "hello".to_owned(),
    }
    .encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&message);
    Bytes::from(frame)
}

fn grpc_request(frame: &Bytes) -> Request<Full<Bytes>> {
    Request::builder()
        .method("POST")
        .uri("/echo.v1.Echo/Say")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(frame.clone()))
        .unwrap()
}

/// One call: the response read to its trailers, which must say `OK`.
async fn call<S, B>(service: &S, frame: &Bytes)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: axum::body::HttpBody,
    B::Error: std::fmt::Debug,
{
    let response = service.clone().oneshot(grpc_request(frame)).await.unwrap();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected
        .trailers()
        .expect("a gRPC response ends with trailers");
    assert_eq!(trailers["grpc-status"], "0");
}

async fn request(app: &Router) {
    let request = Request::builder()
        .method("POST")
        .uri("/echo.v1.Echo/Say")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    response.into_body().collect().await.unwrap();
}

/// The time `iters` runs of `run` take on `runtime`.
fn timed<F: Future<Output = ()>>(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    mut run: impl FnMut() -> F,
) -> Duration {
    runtime.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            run().await;
        }
        started.elapsed()
    })
}

fn layer_costs(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let frame = framed_request();
    let bare = EchoServer::new(Echo::default());
    let layer = GrpcMetricsLayer::builder()
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build()
        .unwrap();
    let layered = layer.layer(EchoServer::new(Echo::default()));
    let router = || Router::new().route("/echo.v1.Echo/Say", post(|| async { "hello" }));
    let http_bare = router();
    let http_layered = router().layer(HttpMetricsLayer::default());

    let mut group = c.benchmark_group("grpc_layer");
    let (frame, bare, layered) = (&frame, &bare, &layered);
    group.bench_function("unary call, bare", |b| {
        b.iter_custom(|iters| timed(&runtime, iters, move || call(bare, frame)));
    });
    group.bench_function("unary call, gRPC layer", |b| {
        b.iter_custom(|iters| timed(&runtime, iters, move || call(layered, frame)));
    });
    let (http_bare, http_layered) = (&http_bare, &http_layered);
    group.bench_function("HTTP request, bare", |b| {
        b.iter_custom(|iters| timed(&runtime, iters, move || request(http_bare)));
    });
    group.bench_function("HTTP request, default HTTP layer", |b| {
        b.iter_custom(|iters| timed(&runtime, iters, move || request(http_layered)));
    });
    group.finish();
    // Every call was recorded once, with its code from the trailers.
    let text = instrument_metric::render();
    assert!(text.contains(r#"grpc_server_handled_total{grpc_method="Say",grpc_service="echo.v1.Echo",grpc_code="OK"} "#));
}

/// Calls per round of the alternated measurement.
const CALLS: u64 = 5_000;
/// Rounds, each variant once per round.
const ROUNDS: usize = 15;

/// The same four variants in alternated rounds, so that a machine whose load drifts over the
/// run charges every variant alike: the median time of each, and the layers' costs.
fn alternated() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let frame = &framed_request();
    let bare = &EchoServer::new(Echo::default());
    let layer = GrpcMetricsLayer::builder()
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .build()
        .unwrap();
    let layered = &layer.layer(EchoServer::new(Echo::default()));
    let router = || Router::new().route("/echo.v1.Echo/Say", post(|| async { "hello" }));
    let (http_bare, http_layered) = (&router(), &router().layer(HttpMetricsLayer::default()));
    let variants: [(&str, &dyn Fn() -> Duration); 4] = [
        ("unary call, bare", &|| {
            timed(&runtime, CALLS, move || call(bare, frame))
        }),
        ("unary call, gRPC layer", &|| {
            timed(&runtime, CALLS, move || call(layered, frame))
        }),
        ("HTTP request, bare", &|| {
            timed(&runtime, CALLS, move || request(http_bare))
        }),
        ("HTTP request, default HTTP layer", &|| {
            timed(&runtime, CALLS, move || request(http_layered))
        }),
    ];
    let mut times = vec![Vec::new(); variants.len()];
    for round in 0..=ROUNDS {
        for ((_, run), times) in variants.iter().zip(&mut times) {
            #[allow(clippy::cast_precision_loss)] // a few thousand calls
            let per_call = run().as_secs_f64() * 1e9 / CALLS as f64;
            // Round 0 warms up.
            if round > 0 {
                times.push(per_call);
            }
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect();
    println!("alternated, {CALLS} calls x {ROUNDS} rounds, median ns per call:");
    for ((name, _), median) in variants.iter().zip(&medians) {
        println!("  {name:<34} {median:>8.0} ns");
    }
    println!(
        "  gRPC layer's cost {:>6.0} ns; default HTTP layer's cost {:>6.0} ns",
        medians[1] - medians[0],
        medians[3] - medians[2]
    );
}

criterion_group!(benches, layer_costs);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    alternated();
}
