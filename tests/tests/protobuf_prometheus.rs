//! The protobuf exposition against the real server: an exposition written by `ProtoWriter` (a
//! counter, a gauge, a classic histogram and a native histogram of known observations) is
//! served on 127.0.0.1 and scraped by Debian's Prometheus 2.42 (or the pinned 3.x with
//! `TEST_PROMETHEUS=3`) with native histograms enabled; what Prometheus stored is read back
//! through its query API.

#![allow(clippy::float_cmp)] // values are compared as Prometheus read them, bit for bit

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use instrument_metric::__private::native_histogram::{
    NativeHistogram, NativeReading, bucket_bounds,
};
use instrument_metric::__private::proto::ProtoWriter;
use instrument_metric::DEFAULT_BUCKETS;
use instrument_metric::native_histogram::NativeConfig;
use instrument_metric::proto::{MetricType, PROTOBUF_CONTENT_TYPE};
use integration_tests::XorShift;
use integration_tests::prometheus::{Prometheus, eventually, number};

/// How long the whole test may wait for Prometheus.
const PATIENCE: Duration = Duration::from_secs(45);

/// Serves one body, as protobuf, to every request; keeps each request's `Accept` header.
struct Target {
    addr: SocketAddr,
    accepts: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    fn serve(body: Vec<u8>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepts, stop) = (Arc::clone(&accepts), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // A scrape that goes wrong shows in what Prometheus stored.
                        let _ = answer(&stream, &body, &accepts);
                    }
                }
            })
        };
        Target {
            addr,
            accepts,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: &TcpStream, body: &[u8], accepts: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("accept")
        {
            accepts.lock().unwrap().push(value.trim().to_owned());
        }
    }
    let mut writer = stream;
    write!(
        writer,
        "HTTP/1.1 200 OK\r\nContent-Type: {PROTOBUF_CONTENT_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    writer.write_all(body)?;
    writer.flush()
}

/// Latency-like observations: log-uniform from 1 ms to 10 s, and a few zeros.
fn observations() -> Vec<f64> {
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    let mut values: Vec<f64> = (0..2000)
        .map(|_| {
            #[allow(clippy::cast_precision_loss)] // 53 random bits, exact
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            10f64.powf(unit * 4.0 - 3.0)
        })
        .collect();
    values.extend([0.0; 10]);
    values
}

/// The exposition: a counter, a gauge, a classic histogram, and a native histogram (with the
/// default classic buckets beside it) of `values`, whose reading it returns too.
fn exposition(values: &[f64]) -> (Vec<u8>, NativeReading) {
    let cells = NativeHistogram::new(&NativeConfig::new(), DEFAULT_BUCKETS).unwrap();
    for value in values {
        cells.observe(*value);
    }
    let reading = cells.read();
    let mut out = Vec::new();
    let mut writer = ProtoWriter::new(&mut out);
    writer.header("proto_test_jobs_total", "Jobs run.", MetricType::Counter);
    writer.counter(
        "proto_test_jobs_total",
        &[r#"queue="a\"b,c""#],
        Some(("result", "ok")),
        42.0,
        Some(std::time::SystemTime::now()),
    );
    writer.header(
        "proto_test_temperature_celsius",
        "Temperature.",
        MetricType::Gauge,
    );
    writer.gauge("proto_test_temperature_celsius", &[], None, -3.25);
    writer.header("proto_test_size_bytes", "Sizes.", MetricType::Histogram);
    writer.histogram(
        "proto_test_size_bytes",
        &[],
        &[100.0, 1000.0],
        &[3, 7, 8],
        4321.5,
        None,
    );
    writer.header("proto_test_wait_seconds", "Waits.", MetricType::Histogram);
    writer.native_histogram("proto_test_wait_seconds", &[], DEFAULT_BUCKETS, &reading);
    writer.finish().unwrap();
    (out, reading)
}

/// The bounds of the schema-3 bucket holding `value` above 0, from the schema's definition.
fn bucket_of(value: f64) -> (f64, f64) {
    let key = (value.log2() * 8.0).ceil();
    (((key - 1.0) / 8.0).exp2(), (key / 8.0).exp2())
}

#[test]
fn prometheus_stores_what_the_protobuf_exposition_says() {
    let values = observations();
    let (body, reading) = exposition(&values);
    assert_eq!(reading.schema, 3);
    let target = Target::serve(body);
    let prometheus = Prometheus::start(
        "protobuf-prometheus",
        target.addr,
        &["--enable-feature=native-histograms"],
    );

    let counter = eventually("the first scrape", PATIENCE, || {
        prometheus.query("proto_test_jobs_total").into_iter().next()
    });
    assert_eq!(counter["metric"]["queue"], "a\"b,c", "{}", prometheus.log());
    assert_eq!(counter["metric"]["result"], "ok");
    assert_eq!(number(&counter["value"][1]), 42.0);
    assert_eq!(prometheus.value("proto_test_temperature_celsius"), -3.25);
    assert_eq!(
        prometheus.value("up{job=\"protobuf-prometheus\"}"),
        1.0,
        "{}",
        prometheus.log()
    );

    // The classic histogram, as classic series (`le` as Prometheus writes it: `100.0`).
    let mut buckets: Vec<(f64, f64)> = prometheus
        .query("proto_test_size_bytes_bucket")
        .iter()
        .map(|series| (number(&series["metric"]["le"]), number(&series["value"][1])))
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(buckets, [(100.0, 3.0), (1000.0, 7.0), (f64::INFINITY, 8.0)]);
    assert_eq!(prometheus.value("proto_test_size_bytes_count"), 8.0);
    assert_eq!(prometheus.value("proto_test_size_bytes_sum"), 4321.5);

    // The native histogram, stored as one: the query API answers a `histogram`.
    let stored = prometheus.query("proto_test_wait_seconds");
    assert_eq!(stored.len(), 1, "{stored:?}\n{}", prometheus.log());
    let histogram = &stored[0]["histogram"][1];
    assert!(histogram.is_object(), "not a native histogram: {stored:?}");
    assert_eq!(number(&histogram["count"]), 2010.0);
    assert_eq!(number(&histogram["sum"]), reading.sum);
    let in_order: f64 = values.iter().sum();
    assert!((reading.sum - in_order).abs() <= 1e-12 * in_order);
    // Its buckets, as Prometheus decoded the spans and deltas: those of the reading.
    let stored_buckets: Vec<(f64, f64, u64)> = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // counts
            let count = number(&bucket[3]) as u64;
            (number(&bucket[1]), number(&bucket[2]), count)
        })
        .collect();
    let zero = stored_buckets
        .iter()
        .find(|(lower, upper, _)| *lower <= 0.0 && *upper >= 0.0);
    assert_eq!(
        zero.map(|(_, upper, count)| (*upper, *count)),
        Some((reading.zero_threshold, 10))
    );
    let mut ours: Vec<(f64, f64, u64)> = reading
        .buckets(false)
        .filter(|(_, count)| *count > 0)
        .map(|(key, count)| {
            let (lower, upper) = bucket_bounds(3, key);
            (lower, upper, count)
        })
        .collect();
    ours.sort_by(|a, b| a.0.total_cmp(&b.0));
    let theirs: Vec<&(f64, f64, u64)> = stored_buckets.iter().filter(|b| b.0 > 0.0).collect();
    assert_eq!(theirs.len(), ours.len());
    for (theirs, ours) in theirs.iter().zip(&ours) {
        assert_eq!(theirs.2, ours.2, "{theirs:?} {ours:?}");
        assert!((theirs.0 / ours.0 - 1.0).abs() < 1e-12 && (theirs.1 / ours.1 - 1.0).abs() < 1e-12);
    }
    assert_eq!(
        prometheus.value("histogram_count(proto_test_wait_seconds)"),
        2010.0
    );

    // Each quantile estimate lies in the bucket of the exact quantile of the observations.
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    for q in [0.5, 0.9, 0.99] {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )] // a rank of 2010
        let rank = (q * sorted.len() as f64).ceil() as usize;
        let exact = sorted[rank - 1];
        let (lower, upper) = bucket_of(exact);
        let estimate =
            prometheus.value(&format!("histogram_quantile({q}, proto_test_wait_seconds)"));
        assert!(
            lower * (1.0 - 1e-9) <= estimate && estimate <= upper * (1.0 + 1e-9),
            "q{q}: estimate {estimate}, exact {exact} in ({lower}, {upper}]"
        );
    }

    // Prometheus asked for protobuf, as a server with native histograms does.
    let accepts = target.accepts.lock().unwrap().clone();
    assert!(
        accepts
            .iter()
            .any(|accept| accept.starts_with("application/vnd.google.protobuf")),
        "{accepts:?}"
    );
}
