//! The gRPC layer against a real tonic server and client on 127.0.0.1: calls counted once by
//! service, method and gRPC status code (not the HTTP 200 that carries it), streams timed to
//! their end, unknown paths in one `unmatched` series, a client that goes away `CANCELLED`,
//! and in-flight back to 0. Each test builds a layer with a prefix of its own, so the tests
//! share no series.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use grpc_test_service::{
    CountRequest, Echo, EchoClient, EchoServer, FILE_DESCRIPTOR_SET, Number, SERVICE, SayReply,
    SayRequest,
};
use instrument_metric::grpc::GrpcMetricsLayer;
use integration_tests::Exposition;
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic::transport::Channel;

const METHODS: [&str; 4] = ["Count", "Double", "Say", "Sum"];

/// A server on 127.0.0.1 with the layer of `prefix`, its service, and a client.
struct Served {
    prefix: String,
    echo: Echo,
    client: EchoClient<Channel>,
    channel: Channel,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(prefix: &str) -> Served {
    serve_with(
        GrpcMetricsLayer::builder()
            .file_descriptor_set(FILE_DESCRIPTOR_SET)
            .prefix(prefix)
            .build()
            .unwrap(),
        prefix,
    )
    .await
}

async fn serve_with(layer: GrpcMetricsLayer, prefix: &str) -> Served {
    let echo = Echo::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(EchoServer::new(echo.clone()));
    let server = tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .unwrap();
    Served {
        prefix: prefix.to_owned(),
        echo,
        client: EchoClient::new(channel.clone()),
        channel,
        server,
    }
}

/// The exposition, parsed and checked.
fn scrape() -> Exposition {
    let text = instrument_metric::render();
    let exposition = Exposition::parse(&text).unwrap();
    exposition.check_invariants().unwrap();
    exposition
}

impl Served {
    fn name(&self, stem: &str) -> String {
        format!("{}_{stem}", self.prefix)
    }

    fn handled(&self, exposition: &Exposition, method: &str, code: &str) -> Option<u64> {
        let service = if method == "unmatched" {
            "unmatched"
        } else {
            SERVICE
        };
        let labels = [
            ("grpc_service", service),
            ("grpc_method", method),
            ("grpc_code", code),
        ];
        let name = self.name("grpc_server_handled_total");
        exposition.get(&name, &labels)?;
        Some(exposition.count(&name, &labels))
    }

    /// The `_count` and `_sum` of `method`'s duration histogram.
    fn duration(&self, exposition: &Exposition, method: &str) -> (u64, f64) {
        let labels = [("grpc_service", SERVICE), ("grpc_method", method)];
        let name = self.name("grpc_server_handling_seconds");
        (
            exposition.count(&format!("{name}_count"), &labels),
            exposition.value(&format!("{name}_sum"), &labels),
        )
    }

    fn in_flight(&self, exposition: &Exposition, method: &str) -> i64 {
        let service = if method == "unmatched" {
            "unmatched"
        } else {
            SERVICE
        };
        let labels = [("grpc_service", service), ("grpc_method", method)];
        #[allow(clippy::cast_possible_truncation)] // a gauge of whole calls
        let value = exposition.value(&self.name("grpc_server_calls_in_flight"), &labels) as i64;
        value
    }

    /// Every `grpc_server_handled_total` series: `(service, method, code)` and its count.
    fn all_handled(&self, exposition: &Exposition) -> Vec<((String, String, String), f64)> {
        exposition
            .series(&self.name("grpc_server_handled_total"))
            .map(|sample| {
                let label = |name: &str| sample.labels[name].clone();
                (
                    (
                        label("grpc_service"),
                        label("grpc_method"),
                        label("grpc_code"),
                    ),
                    sample.value,
                )
            })
            .collect()
    }

    /// Polls the exposition until `check` gives a value (every 20 ms, for at most 10 s).
    async fn eventually<T>(&self, what: &str, check: impl Fn(&Exposition) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = check(&scrape()) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `seconds` measured by the client's clock, as the layer's clock may read them: the two
/// clocks' rates differ by up to 0.1%.
fn within(seconds: f64) -> f64 {
    seconds * 1.001 + 1e-6
}

fn say(text: &str) -> SayRequest {
    SayRequest {
        text: text.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_is_exported_at_zero_before_the_first_call() {
    let served = serve("zero").await;
    let exposition = scrape();
    let mut expected: Vec<((String, String, String), f64)> = METHODS
        .iter()
        .map(|method| {
            (
                (SERVICE.to_owned(), (*method).to_owned(), "OK".to_owned()),
                0.0,
            )
        })
        .collect();
    expected.push((
        (
            "unmatched".to_owned(),
            "unmatched".to_owned(),
            "UNIMPLEMENTED".to_owned(),
        ),
        0.0,
    ));
    assert_eq!(served.all_handled(&exposition), expected);
    for method in METHODS {
        assert_eq!(served.duration(&exposition, method), (0, 0.0));
        assert_eq!(served.in_flight(&exposition, method), 0);
    }
    assert_eq!(served.in_flight(&exposition, "unmatched"), 0);
    integration_tests::promtool_check_metrics(&instrument_metric::render()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_calls_are_counted_by_their_grpc_code() {
    let mut served = serve("unary").await;
    let started = Instant::now();
    for _ in 0..3 {
        let reply = served.client.say(say("hello")).await.unwrap();
        assert_eq!(
            reply.into_inner(),
            SayReply {
                text: "hello".to_owned()
            }
        );
    }
    for _ in 0..2 {
        let status = served.client.say(say("missing")).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }
    let status = served.client.say(say("invalid")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    served.client.say(say("sleep:150")).await.unwrap();
    let waited = started.elapsed().as_secs_f64();

    let exposition = scrape();
    assert_eq!(served.handled(&exposition, "Say", "OK"), Some(4));
    assert_eq!(served.handled(&exposition, "Say", "NOT_FOUND"), Some(2));
    assert_eq!(
        served.handled(&exposition, "Say", "INVALID_ARGUMENT"),
        Some(1)
    );
    // The HTTP status that carried them is no code.
    let codes: Vec<String> = served
        .all_handled(&exposition)
        .into_iter()
        .map(|((_, _, code), _)| code)
        .collect();
    assert!(codes.iter().all(|code| code != "200"), "{codes:?}");
    let (count, sum) = served.duration(&exposition, "Say");
    assert_eq!(count, 7, "one observation per call, whatever its code");
    // The slept call alone took 150 ms on the server; all of them, no more than the client
    // waited for them.
    assert!(sum >= 0.15, "{sum}");
    assert!(sum <= within(waited), "{sum} > {waited}");
    assert_eq!(served.in_flight(&exposition, "Say"), 0);
    integration_tests::promtool_check_metrics(&instrument_metric::render()).unwrap();
    // The reference parser reads the same counts in OpenMetrics.
    let openmetrics = instrument_metric::render_as(instrument_metric::Format::OpenMetrics);
    let samples = integration_tests::python_parse(&openmetrics, true).unwrap();
    let not_found = samples.iter().find(|(name, labels, _)| {
        name == "unary_grpc_server_handled_total"
            && labels.get("grpc_method").map(String::as_str) == Some("Say")
            && labels.get("grpc_code").map(String::as_str) == Some("NOT_FOUND")
    });
    assert_eq!(not_found.map(|(_, _, value)| *value), Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_go_out_in_protobuf_beside_the_classic_buckets() {
    use prost::Message as _;
    let layer = GrpcMetricsLayer::builder()
        .service(SERVICE, &["Say"])
        .prefix("native")
        .native_histograms()
        .build()
        .unwrap();
    let mut served = serve_with(layer, "native").await;
    for _ in 0..3 {
        served.client.say(say("hello")).await.unwrap();
    }
    // Served but not given to the layer: `unmatched`.
    served
        .client
        .count(CountRequest {
            count: 1,
            interval_ms: 0,
            fail_at: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap();
    let exposition = served
        .eventually("the calls recorded", |exposition| {
            (served.handled(exposition, "unmatched", "OK") == Some(1)).then(|| exposition.clone())
        })
        .await;
    assert_eq!(served.handled(&exposition, "Say", "OK"), Some(3));
    assert_eq!(served.duration(&exposition, "Say").0, 3);
    let bytes = instrument_metric::registry()
        .encode_protobuf_within(Duration::from_secs(5))
        .unwrap();
    let mut bytes = &bytes[..];
    let mut histogram = None;
    while !bytes.is_empty() {
        let family =
            instrument_metric::proto::MetricFamily::decode_length_delimited(&mut bytes).unwrap();
        if family.name() == "native_grpc_server_handling_seconds" {
            histogram = family
                .metric
                .into_iter()
                .find(|metric| metric.label.iter().any(|pair| pair.value() == "Say"))
                .and_then(|metric| metric.histogram);
        }
    }
    let histogram = histogram.expect("the histogram of Say in protobuf");
    assert_eq!(histogram.sample_count, Some(3));
    assert!(histogram.schema.is_some(), "native: {histogram:?}");
    let native: i64 = histogram
        .positive_delta
        .iter()
        .scan(0, |count, delta| {
            *count += delta;
            Some(*count)
        })
        .sum();
    assert_eq!(native, 3, "every call in the native buckets");
    assert_eq!(
        histogram
            .bucket
            .last()
            .and_then(|bucket| bucket.cumulative_count),
        Some(3),
        "and in the classic ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stream_is_one_call_timed_to_its_end() {
    let mut served = serve("server_stream").await;
    let started = Instant::now();
    let mut stream = served
        .client
        .count(CountRequest {
            count: 5,
            interval_ms: 40,
            fail_at: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut values = Vec::new();
    while let Some(number) = stream.message().await.unwrap() {
        values.push(number.value);
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(values, [0, 1, 2, 3, 4]);
    // The body's end is seen by the server before the client reads it: poll.
    let (count, sum) = served
        .eventually("the stream recorded", |exposition| {
            (served.handled(exposition, "Count", "OK") == Some(1))
                .then(|| served.duration(exposition, "Count"))
        })
        .await;
    assert_eq!(count, 1, "a stream of five messages is one call");
    // Five messages 40 ms apart: the duration runs to the stream's end, not its headers.
    assert!(sum >= 0.2, "{sum}");
    assert!(sum <= within(elapsed), "{sum} > {elapsed}");
    let bucket = scrape().count(
        &served.name("grpc_server_handling_seconds_bucket"),
        &[
            ("grpc_service", SERVICE),
            ("grpc_method", "Count"),
            ("le", "0.1"),
        ],
    );
    assert_eq!(bucket, 0, "not observed at the response's headers");

    // A stream that fails part way ends with the code of its trailers.
    let mut stream = served
        .client
        .count(CountRequest {
            count: 5,
            interval_ms: 5,
            fail_at: 2,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().value, 0);
    assert_eq!(stream.message().await.unwrap().unwrap().value, 1);
    assert_eq!(stream.message().await.unwrap_err().code(), Code::Aborted);
    let exposition = served
        .eventually("the failed stream recorded", |exposition| {
            (served.handled(exposition, "Count", "ABORTED") == Some(1)).then(|| exposition.clone())
        })
        .await;
    assert_eq!(served.handled(&exposition, "Count", "OK"), Some(1));
    assert_eq!(served.duration(&exposition, "Count").0, 2);
    assert_eq!(served.in_flight(&exposition, "Count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_bidirectional_streams_are_one_call_each() {
    let mut served = serve("client_stream").await;
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let feeder = tokio::spawn(async move {
        for value in 1..=4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sender.send(Number { value }).await.unwrap();
        }
    });
    let started = Instant::now();
    let total = served
        .client
        .sum(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    let elapsed = started.elapsed().as_secs_f64();
    feeder.await.unwrap();
    assert_eq!((total.sum, total.numbers), (10, 4));

    let numbers = tokio_stream::iter((1..=3).map(|value| Number { value }));
    let doubled: Vec<i64> = served
        .client
        .double(numbers)
        .await
        .unwrap()
        .into_inner()
        .map(|number| number.unwrap().value)
        .collect()
        .await;
    assert_eq!(doubled, [2, 4, 6]);

    let exposition = served
        .eventually("both streams recorded", |exposition| {
            (served.handled(exposition, "Sum", "OK") == Some(1)
                && served.handled(exposition, "Double", "OK") == Some(1))
            .then(|| exposition.clone())
        })
        .await;
    let (count, sum) = served.duration(&exposition, "Sum");
    assert_eq!(count, 1, "four messages in, one out: one call");
    // The last number left the client 200 ms after the call started; the server answered
    // after it.
    assert!(sum >= 0.19, "{sum}");
    assert!(sum <= within(elapsed), "{sum} > {elapsed}");
    assert_eq!(served.duration(&exposition, "Double").0, 1);
    for method in METHODS {
        assert_eq!(served.in_flight(&exposition, method), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_one_unmatched_series() {
    const CALLS: u64 = 60;
    let served = serve("unmatched").await;
    let mut grpc = tonic::client::Grpc::new(served.channel.clone());
    let mut random = integration_tests::XorShift(0x6E9C);
    for call in 0..CALLS {
        let path = match call % 4 {
            0 => format!("/{SERVICE}/Nope{:x}", random.next_u64()),
            1 => format!("/other.v{}.Service/Say", random.next_u64()),
            2 => format!("/{SERVICE}/Say/{:x}", random.next_u64()),
            _ => format!("/{:x}", random.next_u64()),
        };
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<SayRequest, SayReply>::default();
        let status = grpc
            .unary(tonic::Request::new(say("x")), path.parse().unwrap(), codec)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}");
    }
    let exposition = served
        .eventually("every unknown call recorded", |exposition| {
            (served.handled(exposition, "unmatched", "UNIMPLEMENTED") == Some(CALLS))
                .then(|| exposition.clone())
        })
        .await;
    // Sixty paths, one series; the served methods untouched.
    let handled = served.all_handled(&exposition);
    assert_eq!(handled.len(), METHODS.len() + 1, "{handled:?}");
    assert!(handled.iter().all(|((service, method, _), _)| {
        service == "unmatched" && method == "unmatched"
            || service == SERVICE && METHODS.contains(&method.as_str())
    }));
    assert_eq!(served.in_flight(&exposition, "unmatched"), 0);
    integration_tests::promtool_check_metrics(&instrument_metric::render()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_client_goes_away_is_cancelled_and_leaves_no_one_in_flight() {
    let served = serve("client_left").await;
    // A unary call the server never answers, abandoned by its client.
    let mut client = served.client.clone();
    let call = tokio::spawn(async move { client.say(say("hang")).await });
    served
        .eventually("the hanging call in flight", |exposition| {
            (served.echo.hanging.load(Ordering::SeqCst) == 1
                && served.in_flight(exposition, "Say") == 1)
                .then_some(())
        })
        .await;
    call.abort();
    let exposition = served
        .eventually("the abandoned call recorded", |exposition| {
            (served.handled(exposition, "Say", "CANCELLED") == Some(1)).then(|| exposition.clone())
        })
        .await;
    assert_eq!(served.in_flight(&exposition, "Say"), 0);
    assert_eq!(served.duration(&exposition, "Say").0, 1);

    // A server stream its client stops reading and drops.
    let mut client = served.client.clone();
    let mut stream = client
        .count(CountRequest {
            count: 100_000,
            interval_ms: 5,
            fail_at: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().value, 0);
    assert_eq!(served.in_flight(&scrape(), "Count"), 1);
    drop(stream);
    drop(client);
    let exposition = served
        .eventually("the abandoned stream recorded", |exposition| {
            (served.handled(exposition, "Count", "CANCELLED") == Some(1))
                .then(|| exposition.clone())
        })
        .await;
    assert_eq!(served.handled(&exposition, "Count", "OK"), Some(0));
    assert_eq!(served.in_flight(&exposition, "Count"), 0);
    assert_eq!(served.duration(&exposition, "Count").0, 1);
}
