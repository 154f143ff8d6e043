//! The outbound-call metrics (`instrument_metric::http_client`): a real axum server on
//! 127.0.0.1 called by a reqwest client through the middleware; exact counts by peer, method
//! and status, errors by kind (a timeout, a closed port, a body cut short), in-flight calls,
//! calls naming no declared peer, and every series at 0 before the first call.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use instrument_metric::http_client::{HttpClientError, HttpClientMetrics, Peer};
use integration_tests::{Exposition, promtool_check_metrics};
use reqwest::Method;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

/// The scrape, checked: parsed, its invariants hold, promtool accepts it.
fn scrape() -> Exposition {
    let text = instrument_metric::render();
    let exposition = Exposition::parse(&text).unwrap();
    exposition.check_invariants().unwrap();
    promtool_check_metrics(&text).unwrap();
    exposition
}

/// Lets the body of `/cut` fail, once the client has its head.
static CUT: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// A body that sends one chunk, then fails when [`CUT`] says so (the connection is cut
/// mid-body).
fn cut_short() -> Body {
    let chunks = futures_util::stream::unfold(0, |sent| async move {
        match sent {
            0 => Some((Ok(Bytes::from_static(b"partial")), 1)),
            1 => {
                CUT.notified().await;
                Some((Err(std::io::Error::other("cut short")), 2))
            }
            _ => None,
        }
    });
    Body::from_stream(chunks)
}

/// A body that sends one chunk, then nothing more.
fn stalled() -> Body {
    let first = futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"first"))]);
    let never = futures_util::stream::pending::<Result<Bytes, Infallible>>();
    Body::from_stream(futures_util::StreamExt::chain(first, never))
}

/// A server on 127.0.0.1 with the answers the tests call for.
async fn server() -> SocketAddr {
    let app = Router::new()
        .route("/ok", any(|| async { "ok" }))
        .route("/created", post(|| async { StatusCode::CREATED }))
        .route(
            "/unavailable",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route("/never", get(std::future::pending::<&'static str>))
        .route("/cut", get(|| async { cut_short() }))
        .route("/stalled", get(|| async { stalled() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn client(metrics: HttpClientMetrics, timeout: Option<Duration>) -> ClientWithMiddleware {
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    ClientBuilder::new(builder.build().unwrap())
        .with(metrics)
        .build()
}

/// Polls `check` on each scrape every 20 ms until it holds, for at most 10 s.
async fn until(what: &str, check: impl Fn(&Exposition) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
        if check(&exposition) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn every_series_of_the_declared_peers_is_at_zero_before_the_first_call() {
    let _metrics = HttpClientMetrics::builder()
        .prefix("zero")
        .peers(&["billing", "geo"])
        .methods(&[Method::GET, Method::POST])
        .status_classes()
        .build()
        .unwrap();
    let _codes = HttpClientMetrics::builder()
        .prefix("zero_codes")
        .peers(&["billing"])
        .methods(&[Method::GET])
        .build()
        .unwrap();
    let exposition = scrape();
    let peers = ["billing", "geo", "other"];
    let methods = ["GET", "POST", "other"];
    let statuses = ["1xx", "2xx", "3xx", "4xx", "5xx", "error"];
    let requests: Vec<_> = exposition
        .series("zero_http_client_requests_total")
        .collect();
    assert_eq!(requests.len(), peers.len() * methods.len() * statuses.len());
    for peer in peers {
        assert_eq!(
            exposition.count("zero_http_client_requests_in_flight", &[("peer", peer)]),
            0
        );
        for kind in instrument_metric::http_client::ERROR_KINDS {
            let labels = [("peer", peer), ("kind", kind)];
            assert_eq!(
                exposition.count("zero_http_client_errors_total", &labels),
                0
            );
        }
        for method in methods {
            let labels = [("peer", peer), ("method", method)];
            let histogram = "zero_http_client_request_duration_seconds_count";
            assert_eq!(exposition.count(histogram, &labels), 0);
            for status in statuses {
                let labels = [("peer", peer), ("method", method), ("status", status)];
                assert_eq!(
                    exposition.count("zero_http_client_requests_total", &labels),
                    0
                );
            }
        }
    }
    assert_eq!(
        exposition.series("zero_http_client_errors_total").count(),
        peers.len() * 7
    );
    // With codes, the calls that got no head are there from the start; a code from its first
    // response (there are too many to export them all).
    let codes: Vec<(&str, &str, &str)> = exposition
        .series("zero_codes_http_client_requests_total")
        .map(|sample| {
            (
                sample.labels["peer"].as_str(),
                sample.labels["method"].as_str(),
                sample.labels["status"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("billing", "GET", "error"),
            ("billing", "other", "error"),
            ("other", "GET", "error"),
            ("other", "other", "error"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_counted_by_peer_method_and_status() {
    let addr = server().await;
    let metrics = HttpClientMetrics::builder()
        .prefix("counts")
        .peers(&["billing", "geo"])
        .methods(&[Method::GET, Method::POST])
        .build()
        .unwrap();
    let billing = client(metrics.for_peer("billing").unwrap(), None);
    let shared = client(metrics, None);
    let url = |path: &str| format!("http://{addr}{path}");
    for _ in 0..3 {
        let response = billing.get(url("/ok")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    billing.get(url("/unavailable")).send().await.unwrap();
    billing.delete(url("/ok")).send().await.unwrap();
    for _ in 0..2 {
        let response = shared
            .post(url("/created"))
            .with_extension(Peer::new("geo"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        // The response keeps its URL and extensions through the middleware.
        assert_eq!(response.url().as_str(), url("/created"));
        assert_eq!(response.remote_addr(), Some(addr));
    }
    // A call's own peer overrides its client's.
    billing
        .get(url("/ok"))
        .with_extension(Peer::new("geo"))
        .send()
        .await
        .unwrap();
    // A peer that was not declared, and none at all: `other`, never a new series.
    shared
        .get(url("/ok"))
        .with_extension(Peer::new("https://evil.example"))
        .send()
        .await
        .unwrap();
    shared.get(url("/ok")).send().await.unwrap();

    let exposition = scrape();
    let requests = |peer, method, status| {
        exposition.count(
            "counts_http_client_requests_total",
            &[("peer", peer), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("billing", "GET", "200"), 3);
    assert_eq!(requests("billing", "GET", "503"), 1);
    assert_eq!(
        requests("billing", "other", "200"),
        1,
        "DELETE was not named"
    );
    assert_eq!(requests("geo", "POST", "201"), 2);
    assert_eq!(requests("geo", "GET", "200"), 1);
    assert_eq!(requests("other", "GET", "200"), 2);
    let series: Vec<_> = exposition
        .series("counts_http_client_requests_total")
        .collect();
    let peers: std::collections::BTreeSet<&str> = series
        .iter()
        .map(|sample| sample.labels["peer"].as_str())
        .collect();
    assert_eq!(peers, ["billing", "geo", "other"].into());
    let total: f64 = series.iter().map(|sample| sample.value).sum();
    assert_eq!(total, 10.0);
    // Each method's durations count its calls, whatever their status.
    let durations = |peer, method| {
        exposition.count(
            "counts_http_client_request_duration_seconds_count",
            &[("peer", peer), ("method", method)],
        )
    };
    assert_eq!(durations("billing", "GET"), 4);
    assert_eq!(durations("billing", "other"), 1);
    assert_eq!(durations("geo", "POST"), 2);
    assert_eq!(durations("other", "GET"), 2);
    for peer in ["billing", "geo", "other"] {
        assert_eq!(
            exposition.count("counts_http_client_requests_in_flight", &[("peer", peer)]),
            0
        );
        assert_eq!(
            requests(peer, "GET", "error"),
            0,
            "no call of {peer} failed"
        );
    }
    let error = metrics.for_peer("biling").unwrap_err();
    assert!(matches!(error, HttpClientError::Peer(_)));
    assert!(error.to_string().contains("`billing`, `geo`"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_a_closed_port_and_a_body_cut_short_are_counted_by_kind() {
    let addr = server().await;
    let metrics = HttpClientMetrics::builder()
        .prefix("failures")
        .peers(&["slow", "gone", "flaky"])
        .methods(&[Method::GET])
        .status_classes()
        .build()
        .unwrap();
    let timeout = Duration::from_millis(300);
    let slow = client(metrics.for_peer("slow").unwrap(), Some(timeout));
    let gone = client(metrics.for_peer("gone").unwrap(), None);
    let flaky = client(
        metrics.for_peer("flaky").unwrap(),
        Some(Duration::from_secs(1)),
    );

    let error = slow
        .get(format!("http://{addr}/never"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = gone
        .get(format!("http://{closed}/"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");

    // The head comes (a 200), the body is cut: the call counts under 2xx and its error too.
    let response = flaky
        .get(format!("http://{addr}/cut"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    CUT.notify_one();
    let error = response.bytes().await.unwrap_err();
    assert!(error.is_decode() || error.is_body(), "{error:?}");
    // The head comes, the body stalls past the client's timeout: a timeout, while reading.
    let response = flaky
        .get(format!("http://{addr}/stalled"))
        .send()
        .await
        .unwrap();
    let error = response.bytes().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    let exposition = scrape();
    // The kinds counted for `peer`, with their counts.
    let errors = |peer| -> Vec<(String, u64)> {
        instrument_metric::http_client::ERROR_KINDS
            .iter()
            .map(|kind| {
                let labels = [("peer", peer), ("kind", *kind)];
                let count = exposition.count("failures_http_client_errors_total", &labels);
                ((*kind).to_owned(), count)
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    };
    assert_eq!(errors("slow"), [("timeout".to_owned(), 1)]);
    assert_eq!(errors("gone"), [("connect".to_owned(), 1)]);
    assert_eq!(
        errors("flaky"),
        [("timeout".to_owned(), 1), ("body".to_owned(), 1)]
    );
    let requests = |peer, status| {
        exposition.count(
            "failures_http_client_requests_total",
            &[("peer", peer), ("method", "GET"), ("status", status)],
        )
    };
    assert_eq!(requests("slow", "error"), 1);
    assert_eq!(requests("gone", "error"), 1);
    assert_eq!(requests("flaky", "2xx"), 2);
    assert_eq!(requests("flaky", "error"), 0);
    // The timeout's duration is the client's timeout: the call waited that long.
    let slow_sum = exposition.value(
        "failures_http_client_request_duration_seconds_sum",
        &[("peer", "slow"), ("method", "GET")],
    );
    assert!(
        (0.3..5.0).contains(&slow_sum),
        "{slow_sum} s for a 300 ms timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_is_counted_until_dropped_then_cancelled() {
    let addr = server().await;
    let metrics = HttpClientMetrics::builder()
        .prefix("flight")
        .peers(&["slow"])
        .build()
        .unwrap();
    let slow = client(metrics.for_peer("slow").unwrap(), None);
    let call = tokio::spawn(async move { slow.get(format!("http://{addr}/never")).send().await });
    let in_flight = |exposition: &Exposition| {
        exposition.count("flight_http_client_requests_in_flight", &[("peer", "slow")])
    };
    until("a call in flight", |exposition| in_flight(exposition) == 1).await;
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    let exposition = scrape();
    assert_eq!(in_flight(&exposition), 0);
    let labels = [("peer", "slow"), ("kind", "cancelled")];
    assert_eq!(
        exposition.count("flight_http_client_errors_total", &labels),
        1
    );
    let labels = [("peer", "slow"), ("method", "GET"), ("status", "error")];
    assert_eq!(
        exposition.count("flight_http_client_requests_total", &labels),
        1
    );
}
