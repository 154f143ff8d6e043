//! Pushing to a real Prometheus Pushgateway (Debian's `prometheus-pushgateway`, started here on
//! 127.0.0.1) and reading the metrics back from it.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use instrument_metric::push::{PushError, Pushgateway};
use instrument_metric::{IntCounter, Metrics};
use integration_tests::{Exposition, http};

#[derive(Metrics)]
#[metrics(prefix = "import")]
struct ImportMetrics {
    /// Rows imported by the batch job.
    rows_total: IntCounter,
}

struct Gateway {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::net::SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start_gateway() -> Gateway {
    let binary = ["/usr/bin/prometheus-pushgateway", "/usr/local/bin/pushgateway"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("the Pushgateway is installed: apt-get install -y prometheus-pushgateway (scripts/test does it)");
    let addr = free_port();
    let child = Command::new(binary)
        .arg(format!("--web.listen-address={addr}"))
        // In memory only: Debian's default file is shared by every gateway on the machine.
        .arg("--persistence.file=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gateway = Gateway { child, addr };
    // Wait until it answers, with a deadline: readiness, not a fixed sleep.
    let deadline = Instant::now() + Duration::from_secs(20);
    while http(addr, "GET", "/-/ready", &[]).map(|r| r.status).ok() != Some(200) {
        assert!(Instant::now() < deadline, "the Pushgateway did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    gateway
}

#[test]
fn a_batch_job_pushes_and_the_gateway_serves_it() {
    let gateway = start_gateway();
    ImportMetrics::global().rows_total.inc_by(1234);
    let url = format!("http://{}", gateway.addr);
    let job = Pushgateway::new(&url, "nightly_import")
        .grouping("instance", "db/1")
        .grouping("shard", "");
    job.push().unwrap();

    let response = http(gateway.addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(response.status, 200);
    let exposition = Exposition::parse(&response.body).unwrap();
    let labels = [
        ("instance", "db/1"),
        ("job", "nightly_import"),
        ("shard", ""),
    ];
    let rows = exposition
        .series("import_rows_total")
        .find(|sample| sample.labels.get("job").map(String::as_str) == Some("nightly_import"))
        .expect("the pushed counter");
    assert_eq!(rows.value, 1234.0);
    assert_eq!(
        rows.labels.get("instance").map(String::as_str),
        Some(labels[0].1)
    );
    assert!(
        exposition
            .series("push_time_seconds")
            .any(|s| s.labels["job"] == "nightly_import")
    );

    // A second push replaces the group.
    ImportMetrics::global().rows_total.inc_by(6);
    job.push().unwrap();
    let again =
        Exposition::parse(&http(gateway.addr, "GET", "/metrics", &[]).unwrap().body).unwrap();
    let rows = again
        .series("import_rows_total")
        .find(|s| s.labels["job"] == "nightly_import")
        .unwrap();
    assert_eq!(rows.value, 1240.0);

    job.delete().unwrap();
    let deleted =
        Exposition::parse(&http(gateway.addr, "GET", "/metrics", &[]).unwrap().body).unwrap();
    assert_eq!(deleted.series("import_rows_total").count(), 0);
}

#[test]
fn a_gateway_that_is_down_is_an_error_value() {
    let nobody = free_port();
    let error = Pushgateway::new(format!("http://{nobody}"), "job")
        .timeout(Duration::from_secs(2))
        .push()
        .unwrap_err();
    assert!(matches!(error, PushError::Unreachable(_)), "{error}");
    let invalid = Pushgateway::new("http://127.0.0.1:1", "job")
        .grouping("bad-label", "x")
        .push()
        .unwrap_err();
    assert!(
        matches!(invalid, PushError::InvalidGrouping(_)),
        "{invalid}"
    );
    // A URL without a scheme is a mistake to fix, not a gateway that is down.
    let error = Pushgateway::new("127.0.0.1:9091", "job")
        .push()
        .unwrap_err();
    assert!(matches!(error, PushError::InvalidUrl(_)), "{error}");
    assert!(
        error.to_string().contains("http://127.0.0.1:9091"),
        "{error}"
    );
}

/// A gateway (or a proxy in front of it) that refuses with a whole page: the error keeps the
/// first 512 bytes, readable in a log line.
#[test]
fn a_refusal_keeps_a_readable_part_of_the_answer() {
    use std::io::{Read as _, Write as _};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Read the whole request, headers then the body's announced length.
        let mut request = Vec::new();
        let mut chunk = [0_u8; 16 * 1024];
        let complete = |request: &[u8]| {
            let text = String::from_utf8_lossy(request);
            let (head, body) = text.split_once("\r\n\r\n")?;
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            (body.len() >= length).then_some(())
        };
        while complete(&request).is_none() {
            let read = stream.read(&mut chunk).unwrap();
            assert!(read > 0, "the client closed before sending its request");
            request.extend_from_slice(&chunk[..read]);
        }
        let page = format!("push refused: {}", "x".repeat(1 << 20));
        let _ = write!(
            stream,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
    });
    let error = Pushgateway::new(format!("http://{addr}"), "job")
        .timeout(Duration::from_secs(20))
        .push()
        .unwrap_err();
    server.join().unwrap();
    let PushError::Refused { status, body } = &error else {
        panic!("refused: {error}");
    };
    assert_eq!(*status, 502);
    assert!(body.starts_with("push refused: xxx"), "{body}");
    assert!(body.ends_with("..."));
    assert!(body.len() <= 515, "{} bytes", body.len());
    assert!(error.to_string().len() < 600);
}
