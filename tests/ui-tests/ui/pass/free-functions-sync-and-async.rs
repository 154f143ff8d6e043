use metrics_runtime::instrument_metric;

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

fn main() {
    assert_eq!(sync_plain(1), 2);
    let future = fetch(true);
    drop(future);
    job();
    let text = metrics_runtime::render();
    assert!(text.contains("# TYPE fetches_total counter"));
    assert!(text.contains("# TYPE jobs_run_seconds histogram"));
    assert!(text.contains(r#"queue="default""#));
}
