//! The recorder on scoped registries: each test reads its own exposition. The records come
//! through the facade's macros, as a library's would.
#![allow(clippy::float_cmp)] // the values compared are sums of exact binary fractions

use metrics::{Label, Level, Metadata, Recorder};

use super::*;
use crate::Format;

fn recorder(registry: &Registry) -> FacadeRecorder {
    FacadeRecorder::builder()
        .registry(registry)
        .series_cap(2)
        .build()
        .unwrap()
}

/// The value of the sample line `series` (name and labels as written) of a text exposition.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[test]
fn counters_gauges_and_histograms_are_written_with_their_help() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs.done", "queue" => "mail").increment(2);
        metrics::counter!("jobs.done", "queue" => "mail").increment(3);
        metrics::gauge!("queue.depth").set(4.0);
        metrics::gauge!("queue.depth").decrement(1.5);
        metrics::histogram!("job.duration.seconds").record(0.3);
        // Described after the first record: the help changes from the next scrape on.
        metrics::describe_counter!("jobs.done", "Jobs done.");
        metrics::describe_counter!("jobs.done", "A second description is ignored.");
    });
    let text = registry.render();
    assert_eq!(value(&text, "jobs_done_total{queue=\"mail\"}"), Some(5.0));
    assert_eq!(value(&text, "queue_depth"), Some(2.5));
    assert_eq!(
        value(&text, "job_duration_seconds_bucket{le=\"0.5\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "job_duration_seconds_bucket{le=\"0.25\"}"),
        Some(0.0)
    );
    assert!(
        text.contains("# HELP jobs_done_total Jobs done.\n"),
        "{text}"
    );
    assert!(text.contains("# HELP queue_depth Recorded through the `metrics` facade by `"));
    let catalog = registry.catalog();
    let jobs = catalog
        .families
        .iter()
        .find(|family| family.name == "jobs_done_total")
        .unwrap();
    assert_eq!(jobs.help, "Jobs done.");
    registry.check().unwrap();
}

#[test]
fn past_the_cap_records_go_to_the_overflow_series_and_are_counted() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        for user in ["ann", "bob", "cy", "dee", "ann"] {
            metrics::counter!("logins", "user" => user).increment(10);
        }
        let cached = metrics::counter!("logins", "user" => "eve");
        cached.increment(1);
        cached.increment(1);
    });
    let text = registry.render();
    assert_eq!(value(&text, "logins_total{user=\"ann\"}"), Some(20.0));
    assert_eq!(value(&text, "logins_total{user=\"bob\"}"), Some(10.0));
    assert_eq!(value(&text, "logins_total{user=\"cy\"}"), None);
    assert_eq!(
        value(&text, "logins_total{user=\"__overflow__\"}"),
        Some(22.0)
    );
    assert_eq!(
        value(
            &text,
            "metrics_facade_overflow_total{family=\"logins_total\"}"
        ),
        Some(4.0)
    );
}

#[test]
fn refused_records_are_counted_and_reported() {
    let registry = Registry::new();
    let taken = registry.int_counter("orders_total", "Orders.").unwrap();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("orders").increment(5);
        metrics::gauge!("__secret").set(1.0);
        metrics::histogram!("sizes_count").record(1.0);
        metrics::counter!("hits", "le" => "x").increment(1);
        metrics::counter!("visits", "page" => "a").increment(1);
        metrics::counter!("visits", "path" => "b").increment(1);
        metrics::gauge!("visits_total").set(3.0);
        metrics::gauge!("depth").set(1.0);
        metrics::histogram!("depth").record(1.0);
    });
    assert_eq!(taken.get(), 0, "the facade never adds to another family");
    let text = registry.render();
    assert_eq!(value(&text, "orders_total"), Some(0.0));
    assert_eq!(value(&text, "visits_total{page=\"a\"}"), Some(1.0));
    let refused = |reason| {
        value(
            &text,
            &format!("metrics_facade_refused_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refused("conflict"), Some(2.0));
    assert_eq!(value(&text, "depth"), Some(1.0));
    assert_eq!(refused("name"), Some(3.0));
    assert_eq!(refused("labels"), Some(2.0));
    let conflicts = registry.check().unwrap_err().conflicts;
    assert_eq!(conflicts.len(), 7, "{conflicts:#?}");
    let depth = conflicts.iter().find(|c| c.family == "depth").unwrap();
    assert!(
        depth
            .problem
            .contains("recorded as a histogram after being recorded as a gauge"),
        "{depth}"
    );
    let orders = conflicts
        .iter()
        .find(|c| c.family == "orders_total")
        .unwrap();
    assert!(
        orders
            .problem
            .contains("only the first declaration is exported"),
        "{orders}"
    );
}

#[test]
fn a_counter_set_with_absolute_never_goes_down() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        let counter = metrics::counter!("bytes.read");
        counter.absolute(100);
        counter.absolute(40);
        counter.increment(1);
        counter.absolute(150);
    });
    assert_eq!(value(&registry.render(), "bytes_read_total"), Some(150.0));
}

#[test]
fn label_order_does_not_make_another_series() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    let metadata = Metadata::new("test", Level::INFO, Some("facade_tests"));
    let a = metrics::Key::from_parts("calls", vec![Label::new("a", "1"), Label::new("b", "2")]);
    let b = metrics::Key::from_parts("calls", vec![Label::new("b", "2"), Label::new("a", "1")]);
    recorder.register_counter(&a, &metadata).increment(1);
    recorder.register_counter(&b, &metadata).increment(1);
    let text = registry.render();
    assert_eq!(value(&text, "calls_total{a=\"1\",b=\"2\"}"), Some(2.0));
    registry.check().unwrap();
}

#[test]
fn one_recorder_per_registry() {
    let registry = Registry::new();
    let _first = recorder(&registry);
    let second = FacadeRecorder::builder().registry(&registry).build();
    assert_eq!(second.unwrap_err(), FacadeError::RegistryTaken);
    registry.check().unwrap();
    let other = Registry::new();
    other
        .int_counter("metrics_facade_refused_total", "Taken.")
        .unwrap();
    let taken = FacadeRecorder::builder().registry(&other).build();
    assert!(matches!(taken, Err(FacadeError::Conflict(_))), "{taken:?}");
    assert_eq!(
        FacadeRecorder::builder().series_cap(0).build().unwrap_err(),
        FacadeError::SeriesCap
    );
    let error = FacadeRecorder::builder()
        .buckets_for("x", &[f64::INFINITY])
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("`x`"), "{error}");
}

#[test]
fn constant_labels_follow_every_series() {
    let registry = Registry::with_constant_labels([("env", "test")]).unwrap();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("pings", "peer" => "a").increment(1);
        metrics::counter!("pongs", "env" => "prod").increment(1);
    });
    let text = registry.render_as(Format::OpenMetrics);
    assert_eq!(
        value(&text, "pings_total{peer=\"a\",env=\"test\"}"),
        Some(1.0)
    );
    assert!(!text.contains("pongs"), "{text}");
    assert_eq!(
        value(
            &text,
            "metrics_facade_refused_total{reason=\"conflict\",env=\"test\"}"
        ),
        Some(1.0)
    );
}

#[cfg(feature = "protobuf")]
#[test]
fn native_histograms_carry_their_native_buckets_in_protobuf() {
    use prost::Message as _;

    let registry = Registry::new();
    let recorder = FacadeRecorder::builder()
        .registry(&registry)
        .buckets(&[0.1, 1.0])
        .native_histograms(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for value in [0.0625, 0.5, 0.5, 4.0] {
            metrics::histogram!("fetch.seconds").record(value);
        }
    });
    let bytes = registry
        .encode_protobuf_within(std::time::Duration::from_secs(1))
        .unwrap();
    let family = crate::proto::MetricFamily::decode_length_delimited(bytes.as_slice()).unwrap();
    assert_eq!(family.name(), "fetch_seconds");
    let histogram = family.metric[0].histogram.as_ref().unwrap();
    assert_eq!(histogram.sample_count(), 4);
    assert_eq!(histogram.sample_sum(), 5.0625);
    assert!(histogram.schema.is_some() && !histogram.positive_span.is_empty());
    // Delta-encoded counts: the running sum of each bucket's delta gives its count.
    let mut running = 0;
    let counts: i64 = histogram
        .positive_delta
        .iter()
        .map(|delta| {
            running += delta;
            running
        })
        .sum();
    assert_eq!(counts, 4);
    let classic: Vec<u64> = histogram
        .bucket
        .iter()
        .map(crate::proto::Bucket::cumulative_count)
        .collect();
    assert_eq!(classic, [1, 3]);
    // The text formats write the classic buckets.
    assert_eq!(
        value(&registry.render(), "fetch_seconds_bucket{le=\"+Inf\"}"),
        Some(4.0)
    );
}

#[test]
fn keys_past_the_cap_keep_nothing() {
    let registry = Registry::new();
    let recorder = recorder(&registry);
    metrics::with_local_recorder(&recorder, || {
        for request in 0..10_000 {
            let id = request.to_string();
            metrics::counter!("requests", "id" => id).increment(1);
        }
    });
    // Two series' handles kept; the 9,998 keys past the cap of 2 are not.
    let kept = recorder
        .shared
        .counters
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len();
    assert_eq!(kept, 2);
    let text = registry.render();
    assert_eq!(
        value(&text, "requests_total{id=\"__overflow__\"}"),
        Some(9998.0)
    );
    assert_eq!(text.matches("\nrequests_total{").count(), 3);
}
