//! A request whose response never comes: a handler that panics is a server error (`500`, what
//! axum's `CatchPanic` answers), however the panic is caught; a client that goes away is `499`
//! (client closed). Objectives count the first and leave the second out.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use instrument_metric::axum::{CLIENT_CLOSED_STATUS, HttpMetricsLayer};
use integration_tests::Exposition;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tower::ServiceExt as _;

/// Bounds every wait of these tests.
const PATIENCE: Duration = Duration::from_secs(10);

/// The requests of `endpoint` answered with `status`, from a scrape of the global registry.
fn requests(endpoint: &str, status: &str) -> Option<f64> {
    Exposition::parse(&instrument_metric::render())
        .unwrap()
        .get(
            "http_requests_total",
            &[
                ("endpoint", endpoint),
                ("method", "GET"),
                ("status", status),
            ],
        )
}

fn request(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

async fn panics() -> &'static str {
    panic!("the handler fails")
}

/// Sends `()` on `started` when the handler starts and on `dropped` when its future is dropped;
/// never answers.
#[derive(Clone)]
struct Signals {
    started: mpsc::UnboundedSender<()>,
    dropped: mpsc::UnboundedSender<()>,
}

struct OnDrop(mpsc::UnboundedSender<()>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

async fn hangs(signals: Signals) -> &'static str {
    let _dropped = OnDrop(signals.dropped);
    let _ = signals.started.send(());
    std::future::pending().await
}

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

#[tokio::test]
async fn a_handler_that_panics_on_a_served_connection_is_a_server_error() {
    let app = Router::new()
        .route("/served/panic", get(panics))
        .layer(HttpMetricsLayer::default());
    let address = serve(app).await;
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET /served/panic HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The connection's task panics: the server closes the connection without an answer.
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, client.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap_or_default();
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // The record is made as the panic unwinds through the layer, before the socket closes.
    assert_eq!(requests("/served/panic", "500"), Some(1.0));
    assert_eq!(requests("/served/panic", CLIENT_CLOSED_STATUS), None);
}

#[tokio::test]
async fn a_panic_caught_around_the_layer_is_a_server_error() {
    // As under `CatchPanic` wrapping the layer: the panic unwinds through the layer's poll and
    // is caught there; the response future is dropped later, when no panic unwinds.
    let app = Router::new()
        .route("/caught/panic", get(panics))
        .layer(HttpMetricsLayer::default());
    let mut response = Box::pin(app.oneshot(request("/caught/panic")));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let caught =
        std::panic::catch_unwind(AssertUnwindSafe(|| response.as_mut().poll(&mut context)));
    assert!(caught.is_err(), "the handler panics");
    drop(response);
    assert_eq!(requests("/caught/panic", "500"), Some(1.0));
    assert_eq!(requests("/caught/panic", CLIENT_CLOSED_STATUS), None);
}

#[tokio::test]
async fn a_request_dropped_while_its_task_panics_is_a_server_error() {
    // The panic is elsewhere in the request's task: tokio drops the task's future, the request
    // with it, while the panic unwinds. The server failed; the client did not go away.
    let (started, mut started_rx) = mpsc::unbounded_channel();
    let (dropped, _dropped_rx) = mpsc::unbounded_channel();
    let signals = Signals { started, dropped };
    let app = Router::new()
        .route("/sibling/hangs", get(move || hangs(signals.clone())))
        .layer(HttpMetricsLayer::default());
    let task = tokio::spawn(async move {
        let sibling = async move {
            started_rx.recv().await;
            panic!("a sibling of the request fails");
        };
        tokio::join!(app.oneshot(request("/sibling/hangs")), sibling)
    });
    let joined = tokio::time::timeout(PATIENCE, task).await.unwrap();
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(requests("/sibling/hangs", "500"), Some(1.0));
    assert_eq!(requests("/sibling/hangs", CLIENT_CLOSED_STATUS), None);
}

#[tokio::test]
async fn a_client_that_goes_away_is_still_client_closed() {
    let (started, mut started_rx) = mpsc::unbounded_channel();
    let (dropped, mut dropped_rx) = mpsc::unbounded_channel();
    let signals = Signals { started, dropped };
    let app = Router::new()
        .route("/gone/hangs", get(move || hangs(signals.clone())))
        .layer(HttpMetricsLayer::default());
    let address = serve(app).await;
    let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"GET /gone/hangs HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, started_rx.recv())
        .await
        .unwrap()
        .unwrap();
    drop(client);
    // The server drops the request's future, its handler first, then the layer's record, in
    // one go on this test's single thread: once the handler is dropped, the record is made.
    tokio::time::timeout(PATIENCE, dropped_rx.recv())
        .await
        .expect("the server notices the client went away")
        .unwrap();
    assert_eq!(requests("/gone/hangs", CLIENT_CLOSED_STATUS), Some(1.0));
    assert_eq!(requests("/gone/hangs", "500"), None);
}
