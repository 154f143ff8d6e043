//! The `/metrics` endpoint: Prometheus text by default, OpenMetrics when asked, gzip when
//! allowed, a bearer token when configured; both formats parse with the reference parsers.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::io::Read as _;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use integration_tests::{Exposition, python_parse};
use metrics_runtime::axum::Endpoint;
use metrics_runtime::{Histogram, IntCounterFamily, LabelValue, Metrics, instrument_metric};
use tower::ServiceExt as _;

#[derive(Clone, Copy, LabelValue)]
enum Channel {
    Sms,
    Email,
}

#[derive(Metrics)]
#[metrics(prefix = "notify")]
struct NotifyMetrics {
    /// Notifications sent, with "quotes", a \ backslash and
    /// a second doc line that is not part of the help.
    sent_total: IntCounterFamily<Channel>,
    /// Sizes of notifications, in bytes.
    #[metric(buckets = [64.0, 512.0, 4096.0])]
    size_bytes: Histogram,
}

/// Delivers a notification; the label value has quotes, a backslash and a newline.
#[instrument_metric(name = "deliver", labels(note = "a \"quoted\" \\ value\nnext line"))]
fn deliver(ok: bool) -> Result<(), ()> {
    if ok { Ok(()) } else { Err(()) }
}

/// Records the same values once, whichever test runs first.
fn record() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        NotifyMetrics::global()
            .sent_total
            .with(Channel::Sms)
            .inc_by(3);
        NotifyMetrics::global()
            .sent_total
            .with(Channel::Email)
            .reset();
        NotifyMetrics::global().size_bytes.observe(100.0);
        deliver(true).unwrap();
        deliver(false).unwrap_err();
    });
}

async fn get(
    app: Router,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().uri("/metrics");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes.to_vec())
}

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test]
async fn openmetrics_when_the_scraper_asks_and_both_formats_parse_to_the_same_values() {
    record();
    let app: Router = metrics_runtime::axum::router();
    let (status, headers, body) = get(app.clone(), &[("accept", PROMETHEUS_ACCEPT)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let openmetrics = String::from_utf8(body).unwrap();
    assert!(openmetrics.ends_with("# EOF\n"));
    assert!(
        openmetrics.contains("# TYPE notify_sent counter\n"),
        "counter families are named without _total"
    );
    assert!(openmetrics.contains("notify_sent_total{channel=\"sms\"} 3.0\n"));
    assert!(openmetrics.contains("# UNIT notify_size_bytes bytes\n"));
    assert!(openmetrics.contains("# UNIT deliver_duration_seconds seconds\n"));

    let (_, headers, body) = get(app, &[]).await;
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(body).unwrap();

    let from_openmetrics =
        python_parse(&openmetrics, true).expect("the OpenMetrics parser accepts it");
    let from_text = python_parse(&text, false).expect("the text parser accepts it");
    // The same samples with the same values, whichever format carried them.
    let key = |samples: &[integration_tests::ReferenceSample]| {
        samples
            .iter()
            .filter(|(name, _, _)| name.starts_with("notify_") || name.starts_with("deliver_"))
            .map(|(name, labels, value)| {
                // `le` is a number: OpenMetrics writes 1.0 where the text format writes 1.
                let mut labels = labels.clone();
                if let Some(le) = labels.get_mut("le") {
                    *le = le.parse::<f64>().unwrap().to_string();
                }
                (name.clone(), labels, value.to_bits())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&from_openmetrics), key(&from_text));
    let note = from_text
        .iter()
        .find(|(name, labels, _)| name == "deliver_total" && labels["result"] == "error")
        .expect("the error series");
    assert_eq!(note.1["note"], "a \"quoted\" \\ value\nnext line");
    assert_eq!(note.2, 1.0);

    // Our own strict parser agrees with the reference one on the text format.
    let ours = Exposition::parse(&text).unwrap();
    assert_eq!(ours.samples.len(), from_text.len());
}

#[tokio::test]
async fn gzip_when_the_scraper_allows_it() {
    record();
    let app: Router = metrics_runtime::axum::router();
    let (_, headers, body) = get(app.clone(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    let exposition = Exposition::parse(&text).unwrap();
    assert!(exposition.types.contains_key("notify_sent_total"));

    let (_, headers, body) = get(app, &[("accept-encoding", "gzip;q=0, identity")]).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert!(String::from_utf8(body).unwrap().contains("# TYPE"));
}

#[tokio::test]
async fn a_token_guards_the_metrics_and_reveals_nothing() {
    record();
    let app: Router = Endpoint::new().bearer_token("s3cret-token").router();
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("authorization", "s3cret-token")],
        vec![("authorization", "Bearer s3cret-token-and-more")],
    ] {
        let (status, response_headers, body) = get(app.clone(), &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(response_headers[header::WWW_AUTHENTICATE], "Bearer");
        assert!(body.is_empty(), "a refused scrape reveals nothing");
    }
    let (status, _, body) = get(app, &[("authorization", "Bearer s3cret-token")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("notify_sent_total")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_of_its_own_on_loopback() {
    record();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = tokio::spawn(Endpoint::new().bearer_token("t0ken").serve(addr));
    // Wait until it listens, with a deadline: readiness, not a fixed sleep.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answer = loop {
        let attempt = tokio::task::spawn_blocking(move || {
            integration_tests::http(
                addr,
                "GET",
                "/metrics",
                &[("Authorization", "Bearer t0ken")],
            )
        })
        .await
        .unwrap();
        match attempt {
            Ok(response) => break response,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(error) => panic!("the metrics listener never answered: {error}"),
        }
    };
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("notify_sent_total"));
    let refused =
        tokio::task::spawn_blocking(move || integration_tests::http(addr, "GET", "/metrics", &[]))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(refused.status, 401);
    let other = tokio::task::spawn_blocking(move || {
        integration_tests::http(addr, "GET", "/api/v1/users", &[])
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        other.status, 404,
        "the metrics listener serves /metrics only"
    );
    server.abort();
}

/// A listener on a thread of its own answers while the application's runtime cannot: here a
/// single-threaded runtime is stuck in a task that blocks without yielding.
#[test]
fn a_thread_of_its_own_answers_while_the_application_is_blocked() {
    record();
    let server = Endpoint::new()
        .bearer_token("t0ken")
        .spawn("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    let application = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let (entered, has_entered) = std::sync::mpsc::channel::<()>();
    let stuck = std::thread::spawn(move || {
        application.block_on(async move {
            entered.send(()).unwrap();
            // Blocks the only worker of this runtime until the scrape below is answered.
            blocked.recv().unwrap();
        });
    });
    has_entered.recv().unwrap();

    // The listener is bound before `spawn` returns: no readiness wait is needed.
    let answer = integration_tests::http(
        addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer t0ken")],
    )
    .unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("notify_sent_total"));
    let refused = integration_tests::http(addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(refused.status, 401);
    release.send(()).unwrap();
    stuck.join().unwrap();

    server.shutdown().unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "after shutdown nothing listens on {addr}"
    );
}
