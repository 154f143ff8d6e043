use instrument_metric::{LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
}

#[instrument_metric]
fn sync_plain(x: u32) -> u32 {
    x + 1
}

/// Fetches a thing.
#[instrument_metric(name = "fetches", in_flight, buckets = [0.001, 0.1, 1])]
async fn fetch(ok: bool) -> Result<u32, String> {
    if ok { Ok(1) } else { Err("no".to_owned()) }
}

#[instrument_metric(counter = "jobs_run_total", histogram = "jobs_run_seconds", labels(queue = "default"))]
fn job() {}

/// A label taken from a part of a tuple pattern, in an async function (moved into its future).
#[instrument_metric(name = "parts_send", labels(provider = p))]
async fn send_parts((p, n): (Provider, u8)) -> u8 {
    let _ = p;
    n
}

fn main() {
    assert_eq!(sync_plain(1), 2);
    let future = fetch(true);
    drop(future);
    job();
    drop(send_parts((Provider::Twilio, 2)));
    let text = instrument_metric::render();
    assert!(text.contains("# TYPE fetches_total counter"));
    assert!(text.contains("# TYPE jobs_run_seconds histogram"));
    assert!(text.contains(r#"queue="default""#));
    assert!(text.contains(r#"parts_send_total{function="send_parts""#));
}
