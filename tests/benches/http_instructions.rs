//! HTTP instruction counts: the user-space instructions one request costs in an axum service
//! with the HTTP metrics layer and an instrumented handler, against the same service without
//! either. Unlike requests per second (`http_load`), an instruction count does not depend on
//! what else the machine is doing, so a cost of a few percent can be seen.
//!
//! `http_instructions <plain|instrumented> <requests>` serves the variant on loopback from a
//! current-thread tokio runtime and, in the same thread, sends `<requests>` sequential
//! `GET /api/hello` on one keep-alive connection, after a warm-up that sets everything up
//! (connection, route caches, clock calibration). The measured requests run inside
//! [`measured`], so that a counting tool can restrict itself to them.
//!
//! Run: `scripts/bench-http-instructions.sh`, which counts instructions under valgrind
//! (callgrind) at two request counts and reports the difference per request. Without
//! arguments (`cargo bench -p integration-tests --bench http_instructions`) it only sends a
//! few requests to each variant, as a check that it works.
#![allow(clippy::cast_precision_loss)] // reported figures

use std::hint::black_box;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use instrument_metric::instrument_metric;
use integration_tests::load::{Connection, serve};
use tokio::runtime::Runtime;

/// Requests sent before the measured ones.
const WARM_UP: u64 = 200;

/// Requests per variant when run without arguments.
const CHECK: u64 = 2_000;

async fn plain_hello() -> &'static str {
    black_box("hello")
}

/// Says hello.
#[instrument_metric(name = "instructions_bench_hello")]
async fn instrumented_hello() -> &'static str {
    black_box("hello")
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Plain,
    Instrumented,
}

impl Variant {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "plain" => Some(Self::Plain),
            "instrumented" => Some(Self::Instrumented),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Instrumented => "instrumented",
        }
    }

    /// The same routers as `http_load`.
    fn app(self) -> Router {
        match self {
            Self::Plain => Router::new().route("/api/hello", get(plain_hello)),
            Self::Instrumented => Router::new()
                .route("/api/hello", get(instrumented_hello))
                .merge(instrument_metric::axum::router())
                .layer(instrument_metric::axum::HttpMetricsLayer::default()),
        }
    }
}

/// Sends `count` sequential `GET /api/hello`, each answered `200 hello` before the next.
/// Not inlined, so that valgrind can count the client's own instructions apart.
#[inline(never)]
async fn send_requests(connection: &mut Connection, count: u64) {
    for _ in 0..count {
        let response = connection
            .exchange(b"GET /api/hello HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await;
        assert!(
            response.starts_with(b"HTTP/1.1 200") && response.ends_with(b"\r\n\r\nhello"),
            "unexpected response: {}",
            String::from_utf8_lossy(response)
        );
    }
}

/// The measured part: `count` requests, server and client on this thread. Not inlined, so
/// that `valgrind --toggle-collect='*http_instructions::measured*'` counts only these.
#[inline(never)]
fn measured(runtime: &Runtime, connection: &mut Connection, count: u64) {
    runtime.block_on(send_requests(connection, count));
}

/// Serves `variant`, warms it up, then sends `count` measured requests.
fn run(variant: Variant, count: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut connection = runtime.block_on(async {
        let mut connection = Connection::open(serve(variant.app()).await).await;
        send_requests(&mut connection, WARM_UP).await;
        connection
    });
    measured(&runtime, &mut connection, black_box(count));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(variant) = args.first().and_then(|name| Variant::parse(name)) {
        let count = args.get(1).and_then(|count| count.parse().ok());
        let Some(count) = count.filter(|_| args.len() == 2) else {
            eprintln!("usage: http_instructions <plain|instrumented> <requests>");
            std::process::exit(2);
        };
        run(variant, count);
        return;
    }
    // No variant (`cargo bench` passes `--bench`): a quick check of both.
    for variant in [Variant::Plain, Variant::Instrumented] {
        let started = Instant::now();
        run(variant, CHECK);
        let elapsed = started.elapsed();
        println!(
            "{}: {CHECK} requests in {:.1} ms ({:.0} requests/s, one thread, not a measurement)",
            variant.name(),
            elapsed.as_secs_f64() * 1e3,
            CHECK as f64 / elapsed.as_secs_f64()
        );
    }
    println!(
        "instruction counts per request: scripts/bench-http-instructions.sh (runs this under valgrind)"
    );
}
