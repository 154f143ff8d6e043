//! A scrape over HTTP never hangs: `/metrics` answers within the scraper's
//! `X-Prometheus-Scrape-Timeout-Seconds` when a collector is stuck, and while a scrape waits
//! for a collector, the service's other routes, on the same current-thread runtime, still
//! answer: the exposition is rendered off the runtime.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use instrument_metric::Registry;
use instrument_metric::axum::Endpoint;
use integration_tests::{Exposition, http};

/// How much later than its deadline a scrape may answer on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);
/// How long a test waits for something that must not hang, before it fails.
const HANG: Duration = Duration::from_secs(30);

/// Serves `registry` at `/metrics` and `GET /ping` on a current-thread runtime of its own
/// thread (left running until the test process ends).
fn serve(registry: Registry) -> SocketAddr {
    let app = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .merge(Endpoint::new().registry(registry).router());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Registers `stuck_items`, whose read function tells `entered` when it starts and then waits
/// until the returned sender is dropped, and `fresh_items`, which answers at once.
fn stuck_registry(entered: Sender<()>) -> (Registry, Sender<()>) {
    let registry = Registry::new();
    let (release, blocked) = channel::<()>();
    let blocked = Mutex::new(blocked);
    let entered = Mutex::new(entered);
    registry
        .collect_gauge("stuck_items", "Waits on a channel.", move || {
            let _ = entered.lock().unwrap().send(());
            let _ = blocked.lock().unwrap().recv();
            42_u32
        })
        .unwrap();
    registry
        .collect_gauge("fresh_items", "Answers at once.", || 5_u32)
        .unwrap();
    registry
        .int_counter("jobs_done_total", "Jobs done.")
        .unwrap()
        .inc_by(3);
    (registry, release)
}

#[test]
fn metrics_answer_within_the_scrapers_timeout() {
    let (entered, _) = channel();
    let (registry, _release) = stuck_registry(entered);
    let addr = serve(registry);
    for _ in 0..2 {
        let started = Instant::now();
        let response = http(
            addr,
            "GET",
            "/metrics",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "1")],
        )
        .unwrap();
        let took = started.elapsed();
        assert!(
            took <= Duration::from_secs(1) + MARGIN,
            "the scrape took {took:?} with a timeout of 1 s"
        );
        assert_eq!(response.status, 200);
        let exposition = Exposition::parse(&response.body).unwrap();
        assert_eq!(exposition.series("stuck_items").count(), 0);
        assert_eq!(exposition.count("fresh_items", &[]), 5);
        assert_eq!(exposition.count("jobs_done_total", &[]), 3);
    }
}

#[test]
fn other_routes_answer_while_a_scrape_waits() {
    let (entered, started) = channel();
    let (registry, release) = stuck_registry(entered);
    // The scraper may shorten the wait, never lengthen it past the collect timeout.
    registry.set_collect_timeout(Duration::from_secs(60));
    let addr = serve(registry);
    // A scrape that would wait for the collector for most of a minute.
    let scrape = std::thread::spawn(move || {
        http(
            addr,
            "GET",
            "/metrics",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "60")],
        )
        .unwrap()
    });
    started
        .recv_timeout(HANG)
        .expect("the scrape starts the collector");
    for _ in 0..3 {
        let response = http(addr, "GET", "/ping", &[]).unwrap();
        assert_eq!((response.status, response.body.as_str()), (200, "pong"));
    }
    assert!(
        !scrape.is_finished(),
        "the scrape is still waiting for the collector while /ping answers"
    );
    drop(release);
    let response = scrape.join().unwrap();
    assert_eq!(response.status, 200);
    let exposition = Exposition::parse(&response.body).unwrap();
    assert_eq!(exposition.count("stuck_items", &[]), 42);
    assert_eq!(exposition.count("fresh_items", &[]), 5);
}
