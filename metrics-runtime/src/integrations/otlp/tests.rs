//! The exporter's settings, body, schedule and failures, against receivers on 127.0.0.1.

use super::*;

#[test]
fn urls() {
    assert!(check_url("http://127.0.0.1:4318/v1/metrics").is_ok());
    for bad in ["127.0.0.1:4318", "ftp://x", "http://", "http:///v1/metrics"] {
        assert!(
            matches!(check_url(bad), Err(OtlpError::InvalidUrl(_))),
            "{bad}"
        );
    }
    assert_eq!(check_url("https://x").is_ok(), cfg!(feature = "otlp-tls"));
}

#[test]
fn the_instance_id_is_a_uuid_made_once() {
    let id = instance_id();
    assert_eq!(id, instance_id());
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert_eq!(&id[14..15], "4");
    assert!("89ab".contains(&id[19..20]), "{id}");
}

#[test]
fn invalid_settings_are_refused_before_the_thread_starts() {
    let registry = Registry::new();
    let exporter = OtlpExporter::new("http://127.0.0.1:9", "api").registry(&registry);
    let zero = exporter.clone().interval(Duration::ZERO).start();
    assert!(matches!(zero, Err(OtlpError::InvalidConfig(_))), "{zero:?}");
    let twice = exporter
        .clone()
        .resource_attribute("service.name", "other")
        .start();
    assert!(
        matches!(&twice, Err(OtlpError::InvalidConfig(why)) if why.contains("`service.name`")),
        "{twice:?}"
    );
    let url = OtlpExporter::new("127.0.0.1:4318", "api").start();
    assert!(matches!(url, Err(OtlpError::InvalidUrl(_))), "{url:?}");
}

#[test]
fn a_failed_push_is_counted_and_returned() {
    let registry = Registry::new();
    // Nothing listens on port 9 of the loopback: refused at once.
    let exporter = OtlpExporter::new("http://127.0.0.1:9", "api")
        .registry(&registry)
        .timeout(Duration::from_secs(2));
    let result = exporter.push();
    assert!(
        matches!(result, Err(OtlpError::Unreachable(_))),
        "{result:?}"
    );
    let pushes = registry.int_counter(PUSHES_FAMILY, "OTLP pushes made, failed or not.");
    let failures = registry.int_counter(FAILURES_FAMILY, "OTLP pushes that failed (logged).");
    assert_eq!(pushes.unwrap().get(), 1);
    assert_eq!(failures.unwrap().get(), 1);
}

#[test]
fn a_pusher_that_cannot_reach_its_receiver_stops_within_its_timeouts() {
    let registry = Registry::new();
    let pusher = OtlpExporter::new("http://127.0.0.1:9", "api")
        .registry(&registry)
        .timeout(Duration::from_secs(2))
        .start()
        .unwrap();
    assert!(matches!(pusher.flush(), Err(OtlpError::Unreachable(_))));
    let started = Instant::now();
    assert!(matches!(pusher.shutdown(), Err(OtlpError::Unreachable(_))));
    assert!(started.elapsed() < Duration::from_secs(5));
    let failures = registry.int_counter(FAILURES_FAMILY, "OTLP pushes that failed (logged).");
    assert_eq!(failures.unwrap().get(), 2);
}

#[test]
fn the_body_is_one_request_with_the_resource_the_scope_and_every_family() {
    use proto::{ExportMetricsServiceRequest, metric::Data};
    let registry = Registry::new();
    registry
        .int_counter("jobs_total", "Jobs.")
        .unwrap()
        .inc_by(2);
    registry
        .int_gauge("queue_length", "Waiting.")
        .unwrap()
        .set(-1);
    let wait = registry
        .histogram("wait_seconds", "Waits.", &[1.0])
        .unwrap();
    wait.observe(0.5);
    wait.observe(3.0);
    let body = OtlpExporter::new("http://127.0.0.1:4318", "api")
        .registry(&registry)
        .instance_id("api-0")
        .resource_attribute("deployment.environment.name", "test")
        .encode()
        .unwrap();
    let request = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    let [resource_metrics] = &request.resource_metrics[..] else {
        panic!("{request:?}")
    };
    let attributes: Vec<(&str, &str)> = resource_metrics
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|pair| (pair.key.as_str(), pair.as_str().unwrap()))
        .collect();
    assert_eq!(
        attributes,
        [
            ("service.name", "api"),
            ("service.instance.id", "api-0"),
            ("deployment.environment.name", "test")
        ]
    );
    let [scope_metrics] = &resource_metrics.scope_metrics[..] else {
        panic!("{request:?}")
    };
    let scope = scope_metrics.scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("instrument-metric", env!("CARGO_PKG_VERSION"))
    );
    let names: Vec<&str> = scope_metrics
        .metrics
        .iter()
        .map(|metric| metric.name.as_str())
        .collect();
    assert_eq!(names, ["jobs_total", "queue_length", "wait_seconds"]);
    let Some(Data::Gauge(gauge)) = &scope_metrics.metrics[1].data else {
        panic!("{request:?}")
    };
    assert_eq!(gauge.data_points[0].as_f64(), Some(-1.0));
    let Some(Data::Histogram(histogram)) = &scope_metrics.metrics[2].data else {
        panic!("{request:?}")
    };
    let point = &histogram.data_points[0];
    assert_eq!((point.count, point.sum), (2, Some(3.5)));
    assert_eq!(point.explicit_bounds, [1.0]);
    assert_eq!(point.bucket_counts, [1, 1]);
    // Re-encoding the decoded request gives the same bytes: nothing unknown was written.
    assert_eq!(request.encode_to_vec(), body);
}

/// A receiver on 127.0.0.1 that answers each request with `status` and sends its request
/// line, `Content-Type` and body on the channel.
fn receiver(status: u16) -> (String, mpsc::Receiver<(String, String, Vec<u8>)>) {
    use std::io::{BufRead as _, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sender, requests) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let (mut first, mut line) = (String::new(), String::new());
            let _ = reader.read_line(&mut first);
            let (mut length, mut content_type) = (0, String::new());
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                if let Some((name, value)) = line.split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "content-type" => value.trim().clone_into(&mut content_type),
                        _ => {}
                    }
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            // On the channel before the answer: a push that returned has been sent.
            if sender
                .send((first.trim().to_owned(), content_type, body))
                .is_err()
            {
                return;
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, requests)
}

#[test]
fn the_thread_pushes_every_interval_and_once_more_when_it_stops() {
    use proto::ExportMetricsServiceRequest;
    let registry = Registry::new();
    let jobs = registry.int_counter("jobs_total", "Jobs.").unwrap();
    let (url, requests) = receiver(200);
    let pusher = OtlpExporter::new(url, "api")
        .registry(&registry)
        .interval(Duration::from_millis(50))
        .start()
        .unwrap();
    // Two pushes on the schedule, each waited for at most 10 s.
    for _ in 0..2 {
        let (line, content_type, body) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(line, "POST /v1/metrics HTTP/1.1");
        assert_eq!(content_type, OTLP_CONTENT_TYPE);
        ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    }
    jobs.inc_by(5);
    pusher.shutdown().unwrap();
    // The last push carries the last value (pushes already on their way come first).
    let last = requests
        .try_iter()
        .last()
        .map(|(_, _, body)| ExportMetricsServiceRequest::decode(body.as_slice()).unwrap())
        .unwrap();
    let metric = &last.resource_metrics[0].scope_metrics[0].metrics;
    let jobs = metric
        .iter()
        .find(|metric| metric.name == "jobs_total")
        .unwrap();
    let Some(proto::metric::Data::Sum(sum)) = &jobs.data else {
        panic!("{jobs:?}")
    };
    assert_eq!(sum.data_points[0].as_f64(), Some(5.0));
    let failures = registry.int_counter(FAILURES_FAMILY, "OTLP pushes that failed (logged).");
    assert_eq!(failures.unwrap().get(), 0);
}

#[test]
fn a_refusal_says_the_status_and_the_answer() {
    let registry = Registry::new();
    let (url, _requests) = receiver(400);
    let refused = OtlpExporter::new(url, "api").registry(&registry).push();
    assert_eq!(
        refused,
        Err(OtlpError::Refused {
            status: 400,
            body: "nope".to_owned()
        })
    );
}
