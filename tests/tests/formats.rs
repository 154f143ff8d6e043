//! The `/metrics` endpoint: Prometheus text by default, OpenMetrics when asked (by the exact
//! headers Prometheus 2 and 3 send, and by malformed ones), gzip when allowed, a bearer token
//! when configured; every answer parses with the reference parsers as the format it declares.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::io::Read as _;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use instrument_metric::axum::Endpoint;
use instrument_metric::{Histogram, IntCounterFamily, LabelValue, Metrics, instrument_metric};
use integration_tests::{Exposition, promtool_check_metrics, python_parse};
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
    let app: Router = instrument_metric::axum::router();
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
    assert!(openmetrics.contains("notify_sent_total{channel=\"sms\"} 3\n"));
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

/// `Accept` as Prometheus 2.42 sends it with `--enable-feature=native-histograms`: protobuf
/// first, which `/metrics` serves with the `protobuf` feature.
const PROMETHEUS_NATIVE_HISTOGRAMS_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// `Accept` as Prometheus 3 builds it by default (`acceptHeader` in `scrape/scrape.go`: the
/// default scrape protocols, weights from 0.6 down, `escaping` on the 1.0.0 formats).
const PROMETHEUS_3_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// The same from the first Prometheus 3 releases, which put `escaping` on every format.
const PROMETHEUS_3_0_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2";

/// Prometheus 3 with native histograms scraped (`DefaultProtoFirstScrapeProtocols`).
const PROMETHEUS_3_PROTO_FIRST_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// Prometheus 3 configured with `scrape_protocols: [PrometheusText1.0.0, PrometheusText0.0.4]`.
const PROMETHEUS_3_TEXT_ONLY_ACCEPT: &str =
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4";

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const OPENMETRICS_UTF8: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8";
const PROTOBUF: &str = instrument_metric::proto::PROTOBUF_CONTENT_TYPE;

/// Checks that `body` is what `content_type` declares: the reference parser of that format
/// accepts it (and promtool, for the text format), with the recorded values.
fn parses_as_declared(content_type: &str, body: &[u8]) {
    if content_type == PROTOBUF {
        use prost::Message;
        let mut bytes = body;
        let mut sms = None;
        while !bytes.is_empty() {
            let family =
                instrument_metric::proto::MetricFamily::decode_length_delimited(&mut bytes)
                    .unwrap_or_else(|error| panic!("not delimited MetricFamily messages: {error}"));
            if family.name() == "notify_sent_total" {
                sms = family
                    .metric
                    .iter()
                    .find(|metric| metric.label.iter().any(|pair| pair.value() == "sms"))
                    .and_then(|metric| {
                        metric
                            .counter
                            .as_ref()
                            .map(instrument_metric::proto::Counter::value)
                    });
            }
        }
        assert_eq!(sms, Some(3.0));
        return;
    }
    let body = std::str::from_utf8(body).unwrap();
    let openmetrics = content_type.starts_with("application/openmetrics-text");
    let samples = python_parse(body, openmetrics)
        .unwrap_or_else(|error| panic!("{content_type}: the reference parser refused it: {error}"));
    if !openmetrics {
        promtool_check_metrics(body).unwrap_or_else(|report| panic!("promtool: {report}"));
    }
    let sms = samples
        .iter()
        .find(|(name, labels, _)| {
            name == "notify_sent_total" && labels.get("channel").map(String::as_str) == Some("sms")
        })
        .unwrap_or_else(|| panic!("{content_type}: no notify_sent_total{{channel=\"sms\"}}"));
    assert_eq!(sms.2, 3.0);
}

#[tokio::test]
async fn the_headers_scrapers_send_get_the_format_they_prefer() {
    record();
    let app: Router = instrument_metric::axum::router();
    let cases: &[(&str, &str, &str)] = &[
        ("Prometheus 2.42", PROMETHEUS_ACCEPT, OPENMETRICS),
        (
            "Prometheus 2.42, native histograms",
            PROMETHEUS_NATIVE_HISTOGRAMS_ACCEPT,
            PROTOBUF,
        ),
        ("Prometheus 3", PROMETHEUS_3_ACCEPT, OPENMETRICS_UTF8),
        ("Prometheus 3.0", PROMETHEUS_3_0_ACCEPT, OPENMETRICS_UTF8),
        (
            "Prometheus 3, native histograms",
            PROMETHEUS_3_PROTO_FIRST_ACCEPT,
            PROTOBUF,
        ),
        (
            "Prometheus 3, text formats only",
            PROMETHEUS_3_TEXT_ONLY_ACCEPT,
            TEXT,
        ),
        ("curl", "*/*", TEXT),
        (
            "a browser",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            TEXT,
        ),
        ("no Accept", "", TEXT),
    ];
    for (scraper, accept, expected) in cases {
        let mut headers = vec![("accept-encoding", "gzip")];
        if !accept.is_empty() {
            headers.push(("accept", accept));
        }
        let (status, response_headers, body) = get(app.clone(), &headers).await;
        assert_eq!(status, StatusCode::OK, "{scraper}");
        assert_eq!(
            response_headers[header::CONTENT_TYPE],
            *expected,
            "{scraper}"
        );
        assert_eq!(
            response_headers[header::CONTENT_ENCODING],
            "gzip",
            "{scraper}"
        );
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut decoded)
            .unwrap();
        parses_as_declared(expected, &decoded);
    }
}

#[tokio::test]
async fn malformed_or_unsatisfiable_accept_headers_get_the_text_format() {
    record();
    let app: Router = instrument_metric::axum::router();
    let cases: &[(&str, &str)] = &[
        // Refused, whatever the case of `q`.
        ("application/openmetrics-text;q=0", TEXT),
        ("application/openmetrics-text;Q=0", TEXT),
        ("application/openmetrics-text;version=1.0.0;Q=0, */*", TEXT),
        // Versions that are not served.
        ("application/openmetrics-text;version=2.0.0", TEXT),
        (
            "application/openmetrics-text;version=2.0.0, */*;q=0.1",
            TEXT,
        ),
        (
            "application/openmetrics-text;version=2.0.0, application/openmetrics-text;version=1.0.0;q=0.5",
            OPENMETRICS,
        ),
        ("text/plain;version=1.0.0", TEXT),
        // Nothing acceptable: still the text format, not 406.
        ("image/png", TEXT),
        ("text/plain;q=0, application/openmetrics-text;q=0", TEXT),
        ("*/*;q=0", TEXT),
        // Only a wildcard names OpenMetrics' type: never chosen over the text format.
        ("application/*", TEXT),
        ("*/*;q=1, application/openmetrics-text;q=0.5", TEXT),
        // Higher weight wins; a named format beats a wildcard at equal weight.
        (
            "text/plain;q=0.4, application/openmetrics-text;q=0.5",
            OPENMETRICS,
        ),
        ("*/*, application/openmetrics-text", OPENMETRICS),
        ("text/plain, application/openmetrics-text", TEXT),
        // Malformed elements are ignored.
        ("application/openmetrics-text;q=abc", TEXT),
        ("application/openmetrics-text;q=1.5", TEXT),
        (
            "application/openmetrics-text;q=abc, application/openmetrics-text;q=0.2",
            OPENMETRICS,
        ),
        ("*/*;;;,,", TEXT),
        (";;,,==;q", TEXT),
        ("text/plain;version=9.9", TEXT),
        (
            "application/openmetrics-text;escaping=klingon",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        ),
    ];
    for (accept, expected) in cases {
        let (status, headers, body) = get(app.clone(), &[("accept", accept)]).await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(headers[header::CONTENT_TYPE], *expected, "{accept}");
        parses_as_declared(expected, &body);
    }

    // A value that is not visible ASCII, and a very long list: the text format.
    let mut request = Request::builder().uri("/metrics");
    request = request.header(
        header::ACCEPT,
        axum::http::HeaderValue::from_bytes(b"application/openmetrics-text\xff\xfe").unwrap(),
    );
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], TEXT);
    let long = "image/png;q=0.9,".repeat(5_000) + "application/openmetrics-text;q=0.95";
    let (status, headers, _) = get(app.clone(), &[("accept", &long)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], OPENMETRICS);
}

#[tokio::test]
async fn gzip_when_the_scraper_allows_it() {
    record();
    let app: Router = instrument_metric::axum::router();
    let (_, headers, body) = get(app.clone(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let mut text = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    let exposition = Exposition::parse(&text).unwrap();
    assert!(exposition.types.contains_key("notify_sent_total"));

    for refused in [
        "gzip;q=0, identity",
        "gzip;q=0, *",
        "gzip;Q=0, *",
        "*;q=0",
        "identity",
        "gzip;q=0.5, identity",
        "gzip;q=nope",
    ] {
        let (_, headers, body) = get(app.clone(), &[("accept-encoding", refused)]).await;
        assert!(
            headers.get(header::CONTENT_ENCODING).is_none(),
            "{refused}: no gzip"
        );
        assert!(Exposition::parse(&String::from_utf8(body).unwrap()).is_ok());
    }
    for allowed in [
        "*",
        "GZIP",
        "x-gzip",
        "br, gzip;q=0.5",
        "identity;q=0.5, gzip",
    ] {
        let (_, headers, _) = get(app.clone(), &[("accept-encoding", allowed)]).await;
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "{allowed}");
    }
}

#[tokio::test]
async fn a_token_guards_the_metrics_and_reveals_nothing() {
    record();
    let app: Router = Endpoint::new()
        .bearer_token("s3cret-token")
        .unwrap()
        .router();
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
    for refused in [
        "Bearer",
        "Bearer ",
        "Bearer\ts3cret-token",
        "Basic s3cret-token",
        "Bearers3cret-token",
        "Bearer s3cret-token extra",
        "Bearer S3CRET-TOKEN",
    ] {
        let (status, _, body) = get(app.clone(), &[("authorization", refused)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
        assert!(body.is_empty());
    }
    // The scheme in any case, one or more spaces before the token (RFC 6750, RFC 9110).
    for accepted in [
        "Bearer s3cret-token",
        "bearer s3cret-token",
        "BEARER s3cret-token",
        "Bearer    s3cret-token",
    ] {
        let (status, _, body) = get(app.clone(), &[("authorization", accepted)]).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert!(
            String::from_utf8(body)
                .unwrap()
                .contains("notify_sent_total")
        );
    }
}

#[test]
fn a_token_that_cannot_be_sent_is_refused_at_configuration() {
    use instrument_metric::axum::TokenError;
    assert_eq!(
        Endpoint::new().bearer_token("").unwrap_err(),
        TokenError::Empty
    );
    for (token, bad) in [
        (" ", ' '),
        ("two words", ' '),
        ("tab\t", '\t'),
        ("caf\u{e9}", '\u{e9}'),
    ] {
        let error = Endpoint::new().bearer_token(token).unwrap_err();
        assert_eq!(error, TokenError::InvalidCharacter(bad), "{token:?}");
        assert!(error.to_string().contains("visible ASCII"), "{error}");
    }
    assert!(Endpoint::new().bearer_token("Zm9v-YmFy_~+/=").is_ok());
    let configured = Endpoint::new().bearer_token("s3cret").unwrap();
    assert!(
        !format!("{configured:?}").contains("s3cret"),
        "the Debug output does not show the token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_of_its_own_on_loopback() {
    record();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = tokio::spawn(Endpoint::new().bearer_token("t0ken").unwrap().serve(addr));
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
        .unwrap()
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
