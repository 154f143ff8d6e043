//! No client can pin `/metrics` (issue 26, item 1): 520 scrapes asking to wait an hour
//! (`X-Prometheus-Scrape-Timeout-Seconds: 3600`) while a collector is stuck hold no thread
//! each, a scrape asking for 10 s meanwhile answers within 10 s, and once the clients have
//! left `/metrics` answers within the registry's collect timeout.
//!
//! In a binary of its own: it counts the threads of the process.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use instrument_metric::Registry;
use instrument_metric::axum::Endpoint;
use integration_tests::{Exposition, http};

/// The scrapes that ask to wait an hour.
const PINNING: usize = 520;
/// Fewer threads than this in the whole process while they wait.
const THREADS: usize = 50;
/// How much later than its deadline a scrape may answer on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);
/// How long the test waits for something that must not hang, before it fails.
const HANG: Duration = Duration::from_secs(60);

/// Serves `registry` at `/metrics` on a current-thread runtime of its own thread (left running
/// until the test process ends), with a backlog that holds every connection of the test.
fn serve(registry: Registry) -> SocketAddr {
    let (bound, addr) = channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let listener = socket.listen(1024).unwrap();
            bound.send(listener.local_addr().unwrap()).unwrap();
            let app = Endpoint::new().registry(registry).router::<()>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr.recv_timeout(HANG).expect("the server starts")
}

/// A registry with `stuck_items`, whose read function tells `entered` when it starts and then
/// never returns while the test runs, and `fresh_items`, which answers at once.
fn stuck_registry(entered: Sender<()>) -> Registry {
    let registry = Registry::new();
    let (release, blocked) = channel::<()>();
    // Never released: the collector stays stuck until the process ends.
    std::mem::forget(release);
    let blocked = Mutex::new(blocked);
    let entered = Mutex::new(entered);
    registry
        .collect_gauge("stuck_items", "Waits forever.", move || {
            let _ = entered.lock().unwrap().send(());
            let _ = blocked.lock().unwrap().recv();
            42_u32
        })
        .unwrap();
    registry
        .collect_gauge("fresh_items", "Answers at once.", || 5_u32)
        .unwrap();
    registry
}

/// The threads of this process now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The resident memory of this process, in megabytes.
#[allow(clippy::cast_precision_loss)] // megabytes, for reading
fn resident_megabytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|field| field.parse().ok())
        .expect("VmRSS in /proc/self/status");
    kilobytes as f64 / 1024.0
}

/// Sends a scrape asking to wait `seconds`, and leaves its answer unread.
fn send_scrape(addr: SocketAddr, seconds: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Prometheus-Scrape-Timeout-Seconds: {seconds}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

#[test]
fn scrapes_asking_for_an_hour_cannot_pin_metrics() {
    let (entered, collector_started) = channel();
    let registry = stuck_registry(entered);
    registry.set_collect_timeout(Duration::from_secs(3));
    let collect_timeout = registry.collect_timeout();
    let addr = serve(registry);
    let (threads_before, resident_before) = (threads(), resident_megabytes());

    let pinning: Vec<TcpStream> = (0..PINNING).map(|_| send_scrape(addr, "3600")).collect();
    collector_started
        .recv_timeout(HANG)
        .expect("a scrape starts the stuck collector");

    // A scrape as Prometheus sends it, while the others wait; the threads counted meanwhile.
    let started = Instant::now();
    let scrape = std::thread::spawn(move || {
        http(
            addr,
            "GET",
            "/metrics",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "10")],
        )
    });
    let (mut most, mut resident_most) = (threads(), resident_megabytes());
    while !scrape.is_finished() {
        assert!(started.elapsed() < HANG, "the 10 s scrape never answered");
        most = most.max(threads());
        resident_most = resident_most.max(resident_megabytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    println!(
        "{PINNING} scrapes asking 3600 s, one collector stuck: threads {threads_before} before, at most {most} while they waited; resident {resident_before:.1} MB before, at most {resident_most:.1} MB; the 10 s scrape ended after {took:.2?}"
    );
    let response = scrape.join().unwrap().expect("the 10 s scrape is answered");
    assert!(
        took < Duration::from_secs(10),
        "the 10 s scrape took {took:?} while {PINNING} scrapes asked for an hour"
    );
    assert_eq!(response.status, 200);
    let exposition = Exposition::parse(&response.body).unwrap();
    assert_eq!(exposition.series("stuck_items").count(), 0);
    assert_eq!(exposition.count("fresh_items", &[]), 5);
    assert!(
        most < THREADS,
        "{most} threads in the process while {PINNING} scrapes waited for a stuck collector"
    );

    // The clients leave; the next scrape waits for the stuck collector no longer than the
    // collect timeout.
    drop(pinning);
    let started = Instant::now();
    let response = http(addr, "GET", "/metrics", &[]).expect("a scrape after the clients left");
    let took = started.elapsed();
    println!(
        "after the clients left: /metrics answered after {took:.2?} (collect timeout {collect_timeout:?}), {} threads",
        threads()
    );
    assert!(
        took <= collect_timeout + MARGIN,
        "/metrics took {took:?} after the clients left (collect timeout {collect_timeout:?})"
    );
    assert_eq!(response.status, 200);
    let exposition = Exposition::parse(&response.body).unwrap();
    assert_eq!(exposition.count("fresh_items", &[]), 5);
    // Every one of the 522 scrapes shared the stuck collector's one run.
    assert!(
        collector_started.try_recv().is_err(),
        "the stuck collector was started again while it ran"
    );
}
