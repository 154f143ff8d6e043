//! A scrape stops waiting for a stuck collector when its client goes away (issue 26, item 1):
//! it counts no timeout, since nobody waits for its answer. Before, the scrape waited on a
//! blocking thread until its deadline whether or not anyone was there to read the answer.
//!
//! In a binary of its own: the timeouts are counted in the global registry.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::mpsc::channel;
use std::time::Duration;

use instrument_metric::axum::Endpoint;
use integration_tests::{Exposition, http};

/// How long the test waits for something that must not hang, before it fails.
const HANG: Duration = Duration::from_secs(60);

/// Serves the global registry at `/metrics` on a current-thread runtime of its own thread
/// (left running until the test process ends).
fn serve() -> SocketAddr {
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
            axum::serve(listener, Endpoint::new().router::<()>())
                .await
                .unwrap();
        });
    });
    addr
}

#[test]
fn a_scrape_whose_client_left_counts_no_timeout() {
    let (entered, collector_started) = channel();
    let entered = Mutex::new(entered);
    let (release, blocked) = channel::<()>();
    // Never released: the collector stays stuck until the process ends.
    std::mem::forget(release);
    let blocked = Mutex::new(blocked);
    instrument_metric::collect::gauge("stuck_items", "Waits forever.", move || {
        let _ = entered.lock().unwrap().send(());
        let _ = blocked.lock().unwrap().recv();
        42_u32
    })
    .unwrap();
    let addr = serve();

    // A scrape that would wait 1.8 s, whose client leaves once the collector is stuck.
    let mut leaving = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Prometheus-Scrape-Timeout-Seconds: 2\r\nConnection: close\r\n\r\n"
    );
    leaving.write_all(request.as_bytes()).unwrap();
    collector_started
        .recv_timeout(HANG)
        .expect("the scrape starts the stuck collector");
    drop(leaving);

    // A scrape sent after it, which waits 2.7 s: by the time it answers, the first scrape's
    // deadline has passed by at least 0.9 s. Only this one has counted a timeout.
    let response = http(
        addr,
        "GET",
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
    )
    .expect("the second scrape is answered");
    assert_eq!(response.status, 200);
    let exposition = Exposition::parse(&response.body).unwrap();
    assert_eq!(exposition.series("stuck_items").count(), 0);
    assert_eq!(
        exposition.count(
            "metrics_collector_timeouts_total",
            &[("collector", "stuck_items")]
        ),
        1,
        "only the scrape whose client waited counts a timeout"
    );
}
