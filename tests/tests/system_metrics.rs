//! Process and system metrics are read on scrape and carry plausible values.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use integration_tests::{Exposition, promtool_check_metrics};

#[test]
fn process_and_system_metrics_are_exported() {
    instrument_metric::system::register_process_metrics().unwrap();
    instrument_metric::system::register_system_metrics().unwrap();
    assert!(
        instrument_metric::system::register_system_metrics().is_err(),
        "registered once"
    );

    let first = instrument_metric::render();
    let exposition = Exposition::parse(&first).unwrap();
    assert!(exposition.value("process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(exposition.value("process_start_time_seconds", &[]) > 1_600_000_000.0);
    assert!(exposition.value("process_open_fds", &[]) >= 3.0);
    assert!(exposition.value("system_memory_usage_bytes", &[]) > 0.0);
    assert!(
        exposition.value("system_memory_total_bytes", &[])
            >= exposition.value("system_memory_usage_bytes", &[])
    );
    let cpu = exposition.value("system_cpu_usage_percent", &[]);
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    for disk in exposition.series("system_disk_usage_percent") {
        assert!((0.0..=100.0).contains(&disk.value), "{disk:?}");
        assert!(disk.labels.contains_key("mountpoint"));
    }
    let loopback: Vec<_> = exposition
        .series("system_network_io_bytes_total")
        .filter(|sample| sample.labels["interface"] == "lo")
        .map(|sample| sample.labels["direction"].clone())
        .collect();
    assert_eq!(loopback.len(), 2, "received and transmitted for lo");
    assert_eq!(exposition.types["system_network_io_bytes_total"], "counter");

    // Network counters never go backwards between scrapes.
    let second = Exposition::parse(&instrument_metric::render()).unwrap();
    for sample in exposition.series("system_network_io_bytes_total") {
        let labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(later) = second.get("system_network_io_bytes_total", &labels) {
            assert!(later >= sample.value, "{sample:?}");
        }
    }
    promtool_check_metrics(&first).unwrap();
}
