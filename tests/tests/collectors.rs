//! Values read at scrape time; a collector that fails or panics costs only its own series.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use instrument_metric::{LabelValue, collect};
use integration_tests::Exposition;

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Google,
    Microsoft,
}

#[test]
fn collectors_are_read_on_scrape_and_failures_stay_contained() {
    let sessions = Arc::new(AtomicI64::new(2));
    let reader = Arc::clone(&sessions);
    collect::gauge("active_sessions", "Sessions open now.", move || {
        reader.load(Ordering::Relaxed)
    })
    .unwrap();
    collect::gauge_family("oauth_integrations", "Integrations by provider.", || {
        [(Provider::Google, 3_u32), (Provider::Microsoft, 1)]
    })
    .unwrap();
    collect::counter("bytes_sent_total", "Bytes sent.", || 1024_u64).unwrap();
    collect::gauge("failing_gauge", "Always fails.", || {
        Err::<f64, _>("the queue is unreachable")
    })
    .unwrap();
    collect::gauge("panicking_gauge", "Always panics.", || -> f64 {
        panic!("collector bug")
    })
    .unwrap();
    collect::counter("negative_total", "A counter cannot go negative.", || -5_i64).unwrap();

    // A duplicate or invalid registration is an error value, not a panic.
    assert!(collect::gauge("active_sessions", "Again.", || 1).is_err());
    assert!(collect::gauge("bad name", "Invalid.", || 1).is_err());

    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let first = Exposition::parse(&instrument_metric::render()).unwrap();
    sessions.store(7, Ordering::Relaxed);
    let second = Exposition::parse(&instrument_metric::render()).unwrap();
    std::panic::set_hook(report);

    assert_eq!(first.count("active_sessions", &[]), 2);
    assert_eq!(
        second.count("active_sessions", &[]),
        7,
        "read again on every scrape"
    );
    assert_eq!(
        second.count("oauth_integrations", &[("provider", "google")]),
        3
    );
    assert_eq!(
        second.count("oauth_integrations", &[("provider", "microsoft")]),
        1
    );
    assert_eq!(second.count("bytes_sent_total", &[]), 1024);
    for missing in ["failing_gauge", "panicking_gauge", "negative_total"] {
        assert_eq!(second.series(missing).count(), 0, "{missing} is left out");
        assert_eq!(
            second.count("metrics_collector_errors_total", &[("collector", missing)]),
            2
        );
    }
}
