//! The exporter's metrics about itself, in the global registry: scrape durations count every
//! scrape, the size is the last exposition's, `metrics_exporter_series` agrees with the series
//! a parser counts in the same exposition, and `metrics_catalog_conflicts` with `check()`.
//!
//! One test: the counts are of every scrape of the process.

use std::collections::{BTreeMap, BTreeSet};

use instrument_metric::{HistogramFamily, IntCounterFamily, LabelValue, Metrics, collect};
use integration_tests::{Exposition, Sample, promtool_check_metrics};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Step {
    Extract,
    Load,
}

#[derive(Metrics)]
struct JobMetrics {
    /// Jobs run, by step.
    jobs_total: IntCounterFamily<Step>,
    /// Time a job takes, by step.
    job_duration_seconds: HistogramFamily<Step>,
}

#[instrument_metric::instrument_metric]
fn work(fail: bool) -> Result<(), ()> {
    if fail { Err(()) } else { Ok(()) }
}

/// Scrapes between the two parsed.
const SCRAPES: u64 = 5;

/// The exporter's own families that are written after `metrics_exporter_series` is counted.
const WRITTEN_AFTER: [&str; 3] = [
    "metrics_exporter_series",
    "metrics_collector_errors_total",
    "metrics_collector_timeouts_total",
];

/// The series of each family of `exposition`, counted by the test: a histogram's series is one
/// label set (its buckets, sum and count together), any other family's one sample.
fn series_per_family(exposition: &Exposition) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (family, kind) in &exposition.types {
        let count = if kind == "histogram" {
            let bucket = format!("{family}_bucket");
            let label_sets: BTreeSet<_> = exposition
                .series(&bucket)
                .map(|sample: &Sample| {
                    let mut labels = sample.labels.clone();
                    labels.remove("le");
                    labels
                })
                .collect();
            label_sets.len()
        } else {
            exposition.series(family).count()
        };
        counts.insert(family.clone(), u64::try_from(count).unwrap());
    }
    counts
}

#[test]
fn the_exporter_metrics_describe_each_scrape() {
    work(false).unwrap();
    work(true).unwrap_err();
    let jobs = JobMetrics::global();
    jobs.jobs_total.with(Step::Load).inc();
    jobs.job_duration_seconds.with(Step::Extract).observe(0.2);
    collect::gauge_family("queue_items", "Items by step.", || {
        [(Step::Extract, 3_u32), (Step::Load, 4)]
    })
    .unwrap();
    // Refused, as the HTTP layer writes this family: a conflict.
    assert!(collect::gauge("http_requests_total", "Clashes.", || 1_u32).is_err());
    // A tikv family named like a family of the registry: left out, a conflict.
    let tikv = prometheus::Registry::new();
    let gauge = prometheus::IntGauge::new("jobs_total", "Clashes too.").unwrap();
    tikv.register(Box::new(gauge)).unwrap();
    let legacy = prometheus::IntCounter::new("legacy_runs_total", "Legacy runs.").unwrap();
    tikv.register(Box::new(legacy.clone())).unwrap();
    legacy.inc_by(6);
    instrument_metric::registry().attach_prometheus(tikv);

    // The first scrape finds the tikv conflict.
    let _ = instrument_metric::render();
    let first_text = instrument_metric::render();
    let first = Exposition::parse(&first_text).unwrap();
    let mut last_text = String::new();
    for _ in 0..SCRAPES {
        last_text = instrument_metric::render();
    }
    let text = instrument_metric::render();
    let after = Exposition::parse(&text).unwrap();
    promtool_check_metrics(&text).unwrap();

    // Each scrape is observed once it is written: `first` shows the scrapes before it, `after`
    // those before it too, `first` and the SCRAPES between them included.
    let scrapes = |exposition: &Exposition| {
        exposition.count("metrics_exporter_scrape_duration_seconds_count", &[])
    };
    assert_eq!(scrapes(&after) - scrapes(&first), SCRAPES + 1);
    assert!(
        after.value("metrics_exporter_scrape_duration_seconds_sum", &[])
            > first.value("metrics_exporter_scrape_duration_seconds_sum", &[])
    );
    assert_eq!(
        after.count("metrics_exporter_scrape_size_bytes", &[]),
        u64::try_from(last_text.len()).unwrap(),
        "the size of the last exposition"
    );

    // Series per family, as the parser counts them in the same exposition.
    let counted = series_per_family(&after);
    let reported: BTreeMap<String, u64> = after
        .series("metrics_exporter_series")
        .map(|sample| {
            let family = sample.labels["family"].clone();
            (
                family.clone(),
                after.count("metrics_exporter_series", &[("family", &family)]),
            )
        })
        .collect();
    let expected: BTreeMap<String, u64> = counted
        .into_iter()
        .filter(|(family, _)| !WRITTEN_AFTER.contains(&family.as_str()))
        .collect();
    assert_eq!(reported, expected);
    assert_eq!(reported["jobs_total"], 2);
    assert_eq!(reported["job_duration_seconds"], 2);
    assert_eq!(reported["queue_items"], 2);
    assert_eq!(reported["legacy_runs_total"], 1);

    let conflicts = instrument_metric::check().unwrap_err().conflicts;
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    assert_eq!(
        after.count("metrics_catalog_conflicts", &[]),
        u64::try_from(conflicts.len()).unwrap()
    );
}
