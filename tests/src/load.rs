//! A load generator for the HTTP benchmarks: keep-alive connections over loopback that send
//! raw HTTP/1.1 requests and read whole responses, closed-loop clients counting answers, and
//! a scraper timing `GET /metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Serves `app` on a loopback port of the current runtime; its address.
///
/// # Panics
///
/// When no loopback port can be bound.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects to `addr`, with Nagle's algorithm off.
    ///
    /// # Panics
    ///
    /// When the connection fails.
    pub async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            buffer: vec![0; 64 * 1024],
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the one response to it, which
    /// must carry a `Content-Length`; the response, head and body.
    ///
    /// # Panics
    ///
    /// When the server closes the connection or sends more than one response.
    pub async fn exchange(&mut self, request: &[u8]) -> &[u8] {
        self.stream.write_all(request).await.unwrap();
        let mut filled = 0;
        loop {
            if filled == self.buffer.len() {
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
            let read = self.stream.read(&mut self.buffer[filled..]).await.unwrap();
            assert!(read > 0, "the server closed the connection");
            filled += read;
            let Some(head_end) = self.buffer[..filled]
                .windows(4)
                .position(|window| window == b"\r\n\r\n")
            else {
                continue;
            };
            let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            let end = head_end + 4 + length;
            if filled >= end {
                assert_eq!(filled, end, "more than one response");
                return &self.buffer[..end];
            }
        }
    }
}

/// Requests per second of `connections` closed-loop clients sending `GET path` for
/// `duration`.
///
/// # Panics
///
/// When a client fails.
pub async fn measure(
    addr: SocketAddr,
    path: &'static str,
    connections: usize,
    duration: Duration,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let request: Arc<[u8]> = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n")
        .into_bytes()
        .into();
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            let (stop, done, request) =
                (Arc::clone(&stop), Arc::clone(&done), Arc::clone(&request));
            tokio::spawn(async move {
                let mut connection = Connection::open(addr).await;
                while !stop.load(Ordering::Relaxed) {
                    connection.exchange(&request).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for client in clients {
        client.await.unwrap();
    }
    #[allow(clippy::cast_precision_loss)] // a rate
    let rate = done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64();
    rate
}

/// Scrapes `/metrics` every 50 ms on its own connection until `stop`, asking for gzip when
/// `gzip` (as Prometheus does); the latency of each scrape, sorted.
///
/// # Panics
///
/// When a scrape fails.
pub async fn scraper(addr: SocketAddr, gzip: bool, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut connection = Connection::open(addr).await;
    let request: &[u8] = if gzip {
        b"GET /metrics HTTP/1.1\r\nHost: bench\r\nAccept-Encoding: gzip\r\n\r\n"
    } else {
        b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n"
    };
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let response = connection.exchange(request).await;
        assert!(response.starts_with(b"HTTP/1.1 200"), "a scrape failed");
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort_unstable();
    latencies
}

/// The `p` quantile of sorted durations (nearest rank).
#[must_use]
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_precision_loss)] // lengths far below 2^52
    let rank = ((sorted.len() as f64 - 1.0) * p).round();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a rank in range
    sorted.get(rank as usize).copied().unwrap_or_default()
}

/// The median of `values`.
///
/// # Panics
///
/// When `values` is empty.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
