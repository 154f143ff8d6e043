//! Cost of the outbound-call metrics (`instrument_metric::http_client`) per call, beside the
//! same call without them and beside the server layer's cost per request, in one run:
//!
//! - `in_process`: a `reqwest-middleware` client whose last middleware answers at once (no
//!   socket), its body read, without and with the metrics: the middleware's own cost, free of
//!   network noise;
//! - `loopback`: a GET to an axum server on 127.0.0.1, its body read, without and with the
//!   metrics: what the cost is next to a real (and the cheapest) call;
//! - `server`: one request through an axum router in process, without and with
//!   `HttpMetricsLayer::default()`.
//!
//! Run: `cargo bench -p integration-tests --bench http_client -- --warm-up-time 1 --measurement-time 3`

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use instrument_metric::http_client::HttpClientMetrics;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

/// The end of a chain that answers `hello` without a network.
struct Answer;

#[async_trait::async_trait]
impl Middleware for Answer {
    async fn handle(
        &self,
        _request: reqwest::Request,
        _extensions: &mut axum::http::Extensions,
        _next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(reqwest::Response::from(axum::http::Response::new(
            reqwest::Body::from("hello"),
        )))
    }
}

fn chain(metrics: Option<HttpClientMetrics>) -> ClientWithMiddleware {
    let mut builder = ClientBuilder::new(reqwest::Client::builder().no_proxy().build().unwrap());
    if let Some(metrics) = metrics {
        builder = builder.with(metrics);
    }
    builder.with(Answer).build()
}

fn loopback(metrics: Option<HttpClientMetrics>) -> ClientWithMiddleware {
    let mut builder = ClientBuilder::new(reqwest::Client::builder().no_proxy().build().unwrap());
    if let Some(metrics) = metrics {
        builder = builder.with(metrics);
    }
    builder.build()
}

/// `iterations` calls to `url`, each body read, timed.
async fn calls(client: &ClientWithMiddleware, url: &str, iterations: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.bytes().await.unwrap().len(), 5);
    }
    started.elapsed()
}

fn outbound(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let metrics = HttpClientMetrics::builder()
        .peers(&["bench"])
        .methods(&[reqwest::Method::GET])
        .build()
        .unwrap()
        .for_peer("bench")
        .unwrap();
    let addr = runtime.block_on(async {
        let app = Router::new().route("/", get(|| async { "hello" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    let url = format!("http://{addr}/");
    let mut group = c.benchmark_group("http_client");
    for (name, client, url) in [
        ("in_process/bare", chain(None), "http://127.0.0.1:9/"),
        (
            "in_process/with_metrics",
            chain(Some(metrics)),
            "http://127.0.0.1:9/",
        ),
        ("loopback/bare", loopback(None), url.as_str()),
        (
            "loopback/with_metrics",
            loopback(Some(metrics)),
            url.as_str(),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| runtime.block_on(calls(&client, url, iterations)));
        });
    }
    group.finish();
}

async fn hello() -> &'static str {
    "hello"
}

/// One request through an axum router in process, without and with the server layer.
fn server(c: &mut Criterion) {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let plain: Router = Router::new().route("/", get(hello));
    let layered = plain
        .clone()
        .layer(instrument_metric::axum::HttpMetricsLayer::default());
    let mut group = c.benchmark_group("http_client");
    for (name, app) in [("server/bare", plain), ("server/with_layer", layered)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iterations {
                        let request = Request::builder().uri("/").body(Body::empty()).unwrap();
                        let response = app.clone().oneshot(request).await.unwrap();
                        let body = axum::body::to_bytes(response.into_body(), 64)
                            .await
                            .unwrap();
                        assert_eq!(body.len(), 5);
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, outbound, server);
criterion_main!(benches);
