//! A native histogram with `min_reset_duration` resets only after a scrape's reading: what user
//! code reads (`get_sample_count`, `get_sample_sum`) never resets it, so everything observed
//! since the last scrape reaches the next one. Its own binary: it sets the process' native
//! histogram configuration.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use std::time::Duration;

use instrument_metric::Registry;
use instrument_metric::native_histogram::NativeConfig;
use integration_tests::Exposition;

/// The count of `reads_wait_seconds` in a scrape of `registry`.
fn scrape(registry: &Registry) -> f64 {
    Exposition::parse(&registry.render())
        .unwrap()
        .value("reads_wait_seconds_count", &[])
}

#[test]
fn reading_a_native_histogram_in_user_code_never_resets_it() {
    // Reduced past 2 buckets, a histogram is due for a reset at once: after every scrape.
    let config = NativeConfig::new()
        .max_buckets(2)
        .min_reset_duration(Duration::from_nanos(1));
    instrument_metric::set_native_histograms(config).unwrap();
    let registry = Registry::new();
    let histogram = registry
        .histogram("reads_wait_seconds", "Waits.", &[1.0])
        .unwrap();
    let spread = |n: i32| {
        for i in 0..n {
            histogram.observe(2f64.powi(i % 16));
        }
    };
    spread(100);
    // The scrape has all 100 and takes the reset; the next one starts from it.
    assert_eq!(scrape(&registry), 100.0);
    assert_eq!(scrape(&registry), 0.0);
    spread(50);
    assert_eq!(histogram.get_sample_count(), 50);
    assert_eq!(histogram.get_sample_sum(), sum(50));
    // User code read them, reset due: the next scrape still has every one of them.
    assert_eq!(scrape(&registry), 50.0);
}

/// The sum of `2^(i % 16)` for `i` below `n`.
fn sum(n: i32) -> f64 {
    (0..n).map(|i| 2f64.powi(i % 16)).sum()
}
