//! HTTP load: requests per second of an axum service with the HTTP metrics layer and an
//! instrumented handler, against the same service without either, alternated in one run; and
//! the latency of `GET /metrics` with 10,000 series while the service is under load. The load
//! generator runs in process, on keep-alive connections over loopback.
//!
//! Run: `cargo bench -p integration-tests --bench http_load`
#![allow(clippy::cast_precision_loss)] // reported figures

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use metrics_runtime::{LabelValue, instrument_metric};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[derive(Clone, Copy, LabelValue)]
enum Shard {
    A00,
    A01,
    A02,
    A03,
    A04,
    A05,
    A06,
    A07,
    A08,
    A09,
    A10,
    A11,
    A12,
    A13,
    A14,
    A15,
    A16,
    A17,
    A18,
    A19,
    A20,
    A21,
    A22,
    A23,
    A24,
    A25,
    A26,
    A27,
    A28,
    A29,
    A30,
    A31,
    A32,
    A33,
    A34,
    A35,
    A36,
    A37,
    A38,
    A39,
    A40,
    A41,
    A42,
    A43,
    A44,
    A45,
    A46,
    A47,
    A48,
    A49,
}

#[derive(Clone, Copy, LabelValue)]
enum Tenant {
    B00,
    B01,
    B02,
    B03,
    B04,
    B05,
    B06,
    B07,
    B08,
    B09,
    B10,
    B11,
    B12,
    B13,
    B14,
    B15,
    B16,
    B17,
    B18,
    B19,
    B20,
    B21,
    B22,
    B23,
    B24,
    B25,
    B26,
    B27,
    B28,
    B29,
    B30,
    B31,
    B32,
    B33,
    B34,
    B35,
    B36,
    B37,
    B38,
    B39,
    B40,
    B41,
    B42,
    B43,
    B44,
    B45,
    B46,
    B47,
    B48,
    B49,
}

const SHARDS: [Shard; 50] = [
    Shard::A00,
    Shard::A01,
    Shard::A02,
    Shard::A03,
    Shard::A04,
    Shard::A05,
    Shard::A06,
    Shard::A07,
    Shard::A08,
    Shard::A09,
    Shard::A10,
    Shard::A11,
    Shard::A12,
    Shard::A13,
    Shard::A14,
    Shard::A15,
    Shard::A16,
    Shard::A17,
    Shard::A18,
    Shard::A19,
    Shard::A20,
    Shard::A21,
    Shard::A22,
    Shard::A23,
    Shard::A24,
    Shard::A25,
    Shard::A26,
    Shard::A27,
    Shard::A28,
    Shard::A29,
    Shard::A30,
    Shard::A31,
    Shard::A32,
    Shard::A33,
    Shard::A34,
    Shard::A35,
    Shard::A36,
    Shard::A37,
    Shard::A38,
    Shard::A39,
    Shard::A40,
    Shard::A41,
    Shard::A42,
    Shard::A43,
    Shard::A44,
    Shard::A45,
    Shard::A46,
    Shard::A47,
    Shard::A48,
    Shard::A49,
];
const TENANTS: [Tenant; 50] = [
    Tenant::B00,
    Tenant::B01,
    Tenant::B02,
    Tenant::B03,
    Tenant::B04,
    Tenant::B05,
    Tenant::B06,
    Tenant::B07,
    Tenant::B08,
    Tenant::B09,
    Tenant::B10,
    Tenant::B11,
    Tenant::B12,
    Tenant::B13,
    Tenant::B14,
    Tenant::B15,
    Tenant::B16,
    Tenant::B17,
    Tenant::B18,
    Tenant::B19,
    Tenant::B20,
    Tenant::B21,
    Tenant::B22,
    Tenant::B23,
    Tenant::B24,
    Tenant::B25,
    Tenant::B26,
    Tenant::B27,
    Tenant::B28,
    Tenant::B29,
    Tenant::B30,
    Tenant::B31,
    Tenant::B32,
    Tenant::B33,
    Tenant::B34,
    Tenant::B35,
    Tenant::B36,
    Tenant::B37,
    Tenant::B38,
    Tenant::B39,
    Tenant::B40,
    Tenant::B41,
    Tenant::B42,
    Tenant::B43,
    Tenant::B44,
    Tenant::B45,
    Tenant::B46,
    Tenant::B47,
    Tenant::B48,
    Tenant::B49,
];

/// Declares 10,000 counter series (2,500 label combinations x 4 outcomes) for /metrics to carry.
#[instrument_metric(name = "load_bench_series", labels(shard = shard, tenant = tenant))]
async fn series(shard: Shard, tenant: Tenant) {
    black_box((shard, tenant));
}

async fn plain_hello() -> &'static str {
    black_box("hello")
}

/// Says hello.
#[instrument_metric(name = "load_bench_hello")]
async fn instrumented_hello() -> &'static str {
    black_box("hello")
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends GET requests on one keep-alive connection until `stop`; counts the answers.
async fn client(addr: SocketAddr, path: &'static str, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
    let mut buffer = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(request.as_bytes()).await.unwrap();
        read_response(&mut stream, &mut buffer).await;
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads one response with a Content-Length body.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = stream.read(&mut buffer[filled..]).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        filled += read;
        let Some(head_end) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if filled >= head_end + 4 + length {
            return;
        }
    }
}

/// Requests per second with `connections` clients on `path` for `duration`.
async fn measure(
    addr: SocketAddr,
    path: &'static str,
    connections: usize,
    duration: Duration,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(client(addr, path, Arc::clone(&stop), Arc::clone(&done))))
        .collect();
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for client in clients {
        client.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

/// Scrapes /metrics on its own connection until `stop`; the latency of each scrape.
async fn scraper(addr: SocketAddr, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buffer = vec![0u8; 4 * 1024 * 1024];
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await
            .unwrap();
        read_response(&mut stream, &mut buffer).await;
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    sorted.get(rank as usize).copied().unwrap_or_default()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for shard in SHARDS {
            for tenant in TENANTS {
                series(shard, tenant).await;
            }
        }
        let plain = serve(Router::new().route("/api/hello", get(plain_hello))).await;
        let instrumented = serve(
            Router::new()
                .route("/api/hello", get(instrumented_hello))
                .merge(metrics_runtime::axum::router())
                .layer(metrics_runtime::axum::HttpMetricsLayer::default()),
        )
        .await;
        let rounds = 9;
        let duration = Duration::from_secs(2);
        let connections = 16;
        // Warm up both.
        measure(plain, "/api/hello", connections, Duration::from_millis(500)).await;
        measure(instrumented, "/api/hello", connections, Duration::from_millis(500)).await;

        let (mut plain_rps, mut instrumented_rps) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate the order so that neither always runs first.
            if round % 2 == 0 {
                plain_rps.push(measure(plain, "/api/hello", connections, duration).await);
                instrumented_rps.push(measure(instrumented, "/api/hello", connections, duration).await);
            } else {
                instrumented_rps.push(measure(instrumented, "/api/hello", connections, duration).await);
                plain_rps.push(measure(plain, "/api/hello", connections, duration).await);
            }
        }

        // Then scrapes while the instrumented service is under the same load.
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = tokio::spawn(scraper(instrumented, Arc::clone(&stop)));
        measure(instrumented, "/api/hello", connections, Duration::from_secs(15)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = scrapes.await.unwrap();
        latencies.sort_unstable();

        // The median of the rounds: this machine is shared, and a round now and then loses
        // a core to someone else.
        let median = |values: &[f64]| {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted[sorted.len() / 2]
        };
        let (plain_mean, instrumented_mean) = (median(&plain_rps), median(&instrumented_rps));
        // Each round's two runs are adjacent in time, so their ratio cancels the machine's drift.
        let ratios: Vec<f64> = plain_rps.iter().zip(&instrumented_rps).map(|(p, i)| i / p).collect();
        let paired = median(&ratios);
        let series = metrics_runtime::render().lines().filter(|l| !l.starts_with('#')).count();
        println!("rounds (requests/s): plain {plain_rps:.0?}, instrumented {instrumented_rps:.0?}");
        println!(
            "target 5: HTTP layer + instrumented handler: {instrumented_mean:.0} req/s vs {plain_mean:.0} req/s without (medians of {rounds} alternated rounds); median paired ratio {paired:.3}, cost {:.2}% (target <= 2%)",
            (1.0 - paired) * 100.0
        );
        println!(
            "target 6: GET /metrics with {series} series under that load: {} scrapes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 10 ms)",
            latencies.len(),
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    });
}
