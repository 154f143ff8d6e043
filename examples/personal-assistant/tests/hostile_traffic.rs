//! Hostile traffic against the service, on loopback and bounded in time: random paths and
//! methods, huge headers, garbage `Accept` values and bodies. The series count stays bounded by
//! the routes, the service stays up, and `/metrics` stays correct and fast while it happens.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::Exposition;
use personal_assistant::Config;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Every route template of the service, and the label of requests that match none.
const ENDPOINTS: &[&str] = &[
    "/api/v1/users",
    "/api/v1/users/{id}/phone/verification",
    "/api/v1/users/{id}/phone/verify",
    "/api/v1/sms",
    "/api/v1/oauth/{provider}/connect",
    "/api/v1/oauth/{provider}/refresh",
    "/api/v1/oauth/{provider}",
    "/api/v1/sessions",
    "/api/v1/sessions/{id}",
    "/api/v1/tasks",
    "/api/v1/analytics/sms-performance",
    "/api/v1/simulation/report",
    "/api/v1/simulation/sms",
    "/api/v1/simulation/database",
    "/api/v1/simulation/traffic",
    "/health/overall",
    "/health/{component}",
    "/metrics",
    "unmatched",
];

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// One raw request; the status line's code, if the server answered at all.
async fn raw(addr: SocketAddr, request: Vec<u8>) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.write_all(&request).await.ok()?;
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    if read.is_err() {
        return None;
    }
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1)?.parse().ok()
}

fn random_token() -> String {
    (0..fastrand::usize(1..12))
        .map(|_| fastrand::alphabetic().to_ascii_uppercase())
        .collect()
}

fn hostile_request() -> Vec<u8> {
    let method = match fastrand::u32(0..4) {
        0 => random_token(),
        1 => ["GET", "POST", "DELETE", "PUT"][fastrand::usize(0..4)].to_owned(),
        2 => "PURGE".to_owned(),
        _ => "GET".to_owned(),
    };
    let path = match fastrand::u32(0..6) {
        0 => format!("/api/v1/users/{}/phone/verify", fastrand::u64(..)),
        1 => format!(
            "/{:x}/{:x}?q={}",
            fastrand::u64(..),
            fastrand::u64(..),
            fastrand::u32(..)
        ),
        2 => format!(
            "/%{:02X}%2e%2e/{}",
            fastrand::u8(..),
            "a".repeat(fastrand::usize(0..4000))
        ),
        3 => "/metrics".to_owned(),
        4 => format!("/api/v1/oauth/{}/connect", random_token().to_lowercase()),
        _ => format!("/health/{}", random_token().to_lowercase()),
    };
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: target\r\nConnection: close\r\n");
    match fastrand::u32(0..4) {
        0 => {
            let _ = write!(
                request,
                "X-Padding: {}\r\n",
                "x".repeat(fastrand::usize(1_000..200_000))
            );
        }
        1 => {
            let _ = write!(
                request,
                "Accept: {}\r\n",
                [
                    "application/openmetrics-text;q=abc",
                    "*/*;;;,,",
                    "text/plain;version=9.9",
                    "\u{1}\u{2}garbage"
                ][fastrand::usize(0..4)]
            );
        }
        2 => {
            for i in 0..fastrand::usize(50..300) {
                {
                    let _ = write!(request, "X-Many-{i}: {i}\r\n");
                };
            }
        }
        _ => {}
    }
    let body = [
        "{\"name\": 5}",
        "{not json",
        "",
        "{\"user_id\": \"\\u0000\"}",
    ][fastrand::usize(0..4)];
    {
        let _ = write!(
            request,
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    };
    request.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_traffic_creates_no_series_and_the_service_stays_up() {
    let scratch = std::env::temp_dir().join(format!("pa-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            scratch.join("assistant.db").display()
        ),
        simulate: false,
        simulate_rate: 0,
    };
    let state = personal_assistant::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        axum::serve(listener, personal_assistant::router(Arc::clone(&state))).into_future(),
    );

    let deadline = Instant::now() + Duration::from_secs(6);
    let attackers: Vec<_> = (0..6)
        .map(|_| {
            tokio::spawn(async move {
                let mut sent = 0_u32;
                while Instant::now() < deadline && sent < 3_000 {
                    let _ = raw(addr, hostile_request()).await;
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    // Meanwhile, scrape: every scrape answers, parses, and in bounded time.
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let request =
            b"GET /metrics HTTP/1.1\r\nHost: prometheus\r\nConnection: close\r\n\r\n".to_vec();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        latencies.push(started.elapsed());
        let text = String::from_utf8_lossy(&response);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "{}",
            &text[..text.len().min(200)]
        );
        Exposition::parse(body).expect("the scrape parses while under attack");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut sent = 0;
    for attacker in attackers {
        sent += attacker.await.unwrap();
    }
    assert!(!server.is_finished(), "the server is still running");
    assert_eq!(
        raw(
            addr,
            b"GET /health/overall HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()
        )
        .await,
        Some(200)
    );

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let series: Vec<_> = exposition.series("http_requests_total").collect();
    let endpoints: BTreeSet<&str> = series
        .iter()
        .map(|s| s.labels["endpoint"].as_str())
        .collect();
    let methods: BTreeSet<&str> = series.iter().map(|s| s.labels["method"].as_str()).collect();
    assert!(
        endpoints.iter().all(|e| ENDPOINTS.contains(e)),
        "{endpoints:?}"
    );
    assert!(methods.iter().all(|m| METHODS.contains(m)), "{methods:?}");
    let statuses: BTreeSet<&str> = series.iter().map(|s| s.labels["status"].as_str()).collect();
    assert!(series.len() <= ENDPOINTS.len() * METHODS.len() * statuses.len());
    latencies.sort_unstable();
    let p99 = latencies[(latencies.len() - 1) * 99 / 100];
    println!(
        "hostile traffic: {sent} requests from 6 clients, {} series of http_requests_total ({} endpoints, {} methods, {} statuses); {} scrapes under attack, p99 {:.1} ms",
        series.len(),
        endpoints.len(),
        methods.len(),
        statuses.len(),
        latencies.len(),
        p99.as_secs_f64() * 1e3
    );
    // A debug build on two shared cores, under attack: a generous budget that still catches a
    // scrape stuck behind the attack.
    assert!(p99 < Duration::from_secs(1), "p99 {p99:?}");
    let _ = std::fs::remove_dir_all(&scratch);
}
