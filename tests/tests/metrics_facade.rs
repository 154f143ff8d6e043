//! The `metrics` facade's recorder in the global registry: a library that records only through
//! the facade's macros (`facade-lib`) appears on the same exposition as a `Metrics` struct and an
//! instrumented function, in the three formats, with the constant labels; its series cap, its
//! refusals and its conflicts are counted and reported; threads lose nothing.
#![allow(clippy::float_cmp)] // the values compared are sums of exact binary fractions

use std::collections::BTreeMap;
use std::sync::{Barrier, OnceLock};
use std::time::Duration;

use instrument_metric::facade::{FacadeError, FacadeRecorder};
use instrument_metric::proto::MetricFamily;
use instrument_metric::{Format, IntCounter, Metrics, instrument_metric};
use integration_tests::{Exposition, promtool_check_metrics, python_parse};
use prost::Message as _;

#[derive(Metrics)]
struct AppMetrics {
    /// Declared by the application; the library records the same name through the facade.
    facade_conflict_total: IntCounter,
}

/// Work the application instruments itself.
#[instrument_metric(name = "app_work")]
fn work() {}

const SERVICE: (&str, &str) = ("service", "facade-test");

/// Sets the constant labels and installs the recorder, once for the binary's tests.
fn setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        instrument_metric::set_constant_labels([SERVICE]).unwrap();
        FacadeRecorder::builder()
            .series_cap(5)
            .buckets_for("facade_lib.request.duration.seconds", &[0.01, 0.1, 1.0])
            .install()
            .unwrap();
    });
}

/// `labels` and the constant label.
fn with_service<'a>(labels: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = labels.to_vec();
    all.push(SERVICE);
    all
}

fn parsed(text: &str) -> Exposition {
    Exposition::parse(text).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn a_library_recording_through_the_facade_is_on_the_same_exposition() {
    setup();
    assert_eq!(
        instrument_metric::facade::install(),
        Err(FacadeError::AlreadyInstalled)
    );

    record_library_traffic();
    let text = instrument_metric::render();
    let ours = parsed(&text);
    assert_values(&ours);
    assert_refusals(&ours);
    assert_formats(&text, &ours);
}

/// What the library and the application record.
fn record_library_traffic() {
    facade_lib::describe();
    for _ in 0..3 {
        facade_lib::request("/users", 200, 0.003);
    }
    facade_lib::request("/users", 500, 0.25);
    facade_lib::request("/orders", 200, 1.5);
    facade_lib::request("/orders", 200, 1.5);
    facade_lib::connections(12.0);
    let cache = facade_lib::Cache::new();
    for _ in 0..5 {
        cache.hit(100.0);
    }
    facade_lib::describe_late();
    for _ in 0..2 {
        facade_lib::login("u0");
    }
    for user in 0..10 {
        facade_lib::login(&format!("u{user}"));
    }
    for user in 0..8 {
        facade_lib::payload(&format!("p{user}"), 10.0);
    }
    facade_lib::invalid();
    facade_lib::conflicting();
    AppMetrics::global().facade_conflict_total.inc_by(2);
    work();
}

/// The library's values, help, and overflow series.
fn assert_values(ours: &Exposition) {
    let value = |name: &str, labels: &[(&str, &str)]| ours.value(name, &with_service(labels));
    // Counters by label, and the histogram with the buckets given for it.
    let requests = "facade_lib_requests_total";
    assert_eq!(
        value(requests, &[("route", "/users"), ("status", "200")]),
        3.0
    );
    assert_eq!(
        value(requests, &[("route", "/users"), ("status", "500")]),
        1.0
    );
    assert_eq!(
        value(requests, &[("route", "/orders"), ("status", "200")]),
        2.0
    );
    assert_eq!(ours.series(requests).count(), 3);
    let duration = "facade_lib_request_duration_seconds";
    let users = |le| {
        value(
            &format!("{duration}_bucket"),
            &[("route", "/users"), ("le", le)],
        )
    };
    assert_eq!(
        ["0.01", "0.1", "1", "+Inf"].map(users),
        [3.0, 3.0, 4.0, 4.0]
    );
    assert_eq!(
        value(&format!("{duration}_count"), &[("route", "/orders")]),
        2.0
    );
    assert_eq!(
        value(&format!("{duration}_sum"), &[("route", "/orders")]),
        3.0
    );
    assert_eq!(ours.series(&format!("{duration}_bucket")).count(), 8);
    assert_eq!(value("facade_lib_connections", &[]), 12.0);
    assert_eq!(value("facade_lib_cache_hits_total", &[]), 5.0);
    assert_eq!(value("facade_lib_cache_entry_bytes_sum", &[]), 500.0);
    assert_eq!(ours.types["facade_lib_cache_entry_bytes"], "histogram");

    // Help from `describe_*`, also when it came after the first record; else where from.
    assert_eq!(
        ours.help[requests],
        "Requests handled, by route and status."
    );
    assert_eq!(ours.help[duration], "Time to handle a request, in seconds.");
    assert_eq!(ours.help["facade_lib_cache_hits_total"], "Cache hits.");
    assert_eq!(
        ours.help["facade_lib_logins_total"],
        "Recorded through the `metrics` facade by `facade_lib` (not described)."
    );

    // Past the cap of 5 series: the overflow series holds every other record, counted.
    let logins = "facade_lib_logins_total";
    assert_eq!(value(logins, &[("user", "u0")]), 3.0);
    for user in ["u1", "u2", "u3", "u4"] {
        assert_eq!(value(logins, &[("user", user)]), 1.0);
    }
    assert_eq!(ours.get(logins, &with_service(&[("user", "u5")])), None);
    assert_eq!(value(logins, &[("user", "__overflow__")]), 5.0);
    let total: f64 = ours.series(logins).map(|sample| sample.value).sum();
    assert_eq!(total, 12.0, "no login lost");
    let overflow = "metrics_facade_overflow_total";
    assert_eq!(value(overflow, &[("family", logins)]), 5.0);
    let payload = "facade_lib_payload_bytes";
    assert_eq!(
        value(&format!("{payload}_count"), &[("user", "__overflow__")]),
        3.0
    );
    assert_eq!(
        value(&format!("{payload}_sum"), &[("user", "__overflow__")]),
        30.0
    );
    assert_eq!(value(overflow, &[("family", payload)]), 3.0);
    assert_eq!(value(overflow, &[("family", requests)]), 0.0);
}

/// The refused records, the conflicts, and the families beside the library's.
fn assert_refusals(ours: &Exposition) {
    let value = |name: &str, labels: &[(&str, &str)]| ours.value(name, &with_service(labels));
    // Refused records: counted by reason, reported with the module that recorded them.
    let refused = |reason| value("metrics_facade_refused_total", &[("reason", reason)]);
    assert_eq!(refused("name"), 2.0);
    assert_eq!(refused("labels"), 2.0);
    assert_eq!(refused("conflict"), 1.0);
    assert_eq!(value("facade_lib_retries_total", &[("attempt", "1")]), 1.0);
    // The application's family is exported once, with the application's value.
    assert_eq!(ours.series("facade_conflict_total").count(), 1);
    assert_eq!(value("facade_conflict_total", &[]), 2.0);
    let conflicts = instrument_metric::check().unwrap_err().conflicts;
    let families: Vec<&str> = conflicts.iter().map(|c| c.family.as_str()).collect();
    assert_eq!(
        families,
        [
            "__facade_lib_private",
            "facade_lib.batches_count",
            "facade_lib_retries_total",
            "facade_lib_retries_total",
            "facade_conflict_total",
        ],
        "{conflicts:#?}"
    );
    for conflict in &conflicts {
        let from_library = conflict.locations.iter().any(|at| at.file == "facade_lib");
        assert!(from_library, "{conflict}");
    }
    let clash = &conflicts[4];
    assert!(
        clash.locations[0].file.ends_with("metrics_facade.rs"),
        "{clash}"
    );
    assert!(
        clash
            .to_string()
            .contains("only the first declaration is exported"),
        "{clash}"
    );
    assert_eq!(
        value("metrics_catalog_conflicts", &[]),
        f64::from(u32::try_from(conflicts.len()).unwrap())
    );
    // Beside the application's instrumented function.
    assert_eq!(
        value(
            "app_work_total",
            &[
                ("function", "work"),
                ("module", "metrics_facade"),
                ("result", "ok")
            ]
        ),
        1.0
    );

    // The catalog has the facade's families, with their help.
    let catalog = instrument_metric::catalog();
    let hits = catalog
        .families
        .iter()
        .find(|family| family.name == "facade_lib_cache_hits_total")
        .unwrap();
    assert_eq!(hits.help, "Cache hits.");
}

/// The same values in every format, read by the reference tools.
fn assert_formats(text: &str, ours: &Exposition) {
    // The reference tools accept every format, and read the same values.
    promtool_check_metrics(text).unwrap_or_else(|report| panic!("promtool: {report}"));
    let openmetrics = instrument_metric::render_as(Format::OpenMetrics);
    let from_text = python_parse(text, false).expect("the text parser accepts it");
    let from_openmetrics =
        python_parse(&openmetrics, true).expect("the OpenMetrics parser accepts it");
    let facade = |samples: &[integration_tests::ReferenceSample]| -> Vec<(String, BTreeMap<String, String>, u64)> {
        samples
            .iter()
            .filter(|(name, _, _)| name.starts_with("facade_lib_") && !name.ends_with("_created"))
            .map(|(name, labels, value)| {
                let mut labels = labels.clone();
                if let Some(le) = labels.get_mut("le") {
                    *le = le.parse::<f64>().unwrap().to_string();
                }
                (name.clone(), labels, value.to_bits())
            })
            .collect()
    };
    assert_eq!(facade(&from_text), facade(&from_openmetrics));
    assert_eq!(
        facade(&from_text).len(),
        ours.samples
            .iter()
            .filter(|s| s.name.starts_with("facade_lib_"))
            .count()
    );
    assert!(openmetrics.contains("# TYPE facade_lib_requests counter\n"));
    assert!(openmetrics.contains("# UNIT facade_lib_request_duration_seconds seconds\n"));

    let bytes = instrument_metric::registry()
        .encode_protobuf_within(Duration::from_secs(5))
        .unwrap();
    let mut rest = bytes.as_slice();
    let mut decoded = Vec::new();
    while !rest.is_empty() {
        decoded.push(MetricFamily::decode_length_delimited(&mut rest).unwrap());
    }
    let family = |name: &str| decoded.iter().find(|f| f.name() == name).unwrap();
    let counts: Vec<(String, f64)> = family("facade_lib_requests_total")
        .metric
        .iter()
        .map(|metric| {
            let labels: Vec<String> = metric
                .label
                .iter()
                .map(|l| format!("{}={}", l.name(), l.value()))
                .collect();
            (labels.join(","), metric.counter.as_ref().unwrap().value())
        })
        .collect();
    assert_eq!(
        counts,
        [
            (
                "route=/users,status=200,service=facade-test".to_owned(),
                3.0
            ),
            (
                "route=/users,status=500,service=facade-test".to_owned(),
                1.0
            ),
            (
                "route=/orders,status=200,service=facade-test".to_owned(),
                2.0
            ),
        ]
    );
    let histogram = family("facade_lib_request_duration_seconds").metric[0]
        .histogram
        .as_ref()
        .unwrap();
    assert_eq!(histogram.sample_count(), 4);
    let cumulative: Vec<(f64, u64)> = histogram
        .bucket
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    assert_eq!(cumulative, [(0.01, 3), (0.1, 3), (1.0, 4)]);
}

#[test]
fn threads_recording_through_the_facade_lose_nothing() {
    const THREADS: usize = 4;
    const CALLS: u64 = 20_000;
    setup();
    let start = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let start = &start;
            scope.spawn(move || {
                let label = thread.to_string();
                start.wait();
                // Every thread registers the same new keys at once: one series each.
                let shared = metrics::counter!("facade_concurrent.shared");
                for call in 0..CALLS {
                    shared.increment(1);
                    metrics::counter!("facade_concurrent.by_thread", "thread" => label.clone())
                        .increment(2);
                    metrics::histogram!("facade_concurrent.seconds").record(0.5);
                    if call < 100 {
                        let user = format!("t{thread}-{call}");
                        metrics::counter!("facade_concurrent.users", "user" => user).increment(1);
                    }
                }
            });
        }
    });
    let ours = parsed(&instrument_metric::render());
    let value = |name: &str, labels: &[(&str, &str)]| ours.value(name, &with_service(labels));
    let all = CALLS * THREADS as u64;
    #[allow(clippy::cast_precision_loss)] // below 2^53
    let all_f = all as f64;
    assert_eq!(value("facade_concurrent_shared_total", &[]), all_f);
    for thread in ["0", "1", "2", "3"] {
        #[allow(clippy::cast_precision_loss)]
        let expected = (CALLS * 2) as f64;
        assert_eq!(
            value("facade_concurrent_by_thread_total", &[("thread", thread)]),
            expected
        );
    }
    assert_eq!(value("facade_concurrent_seconds_count", &[]), all_f);
    assert_eq!(value("facade_concurrent_seconds_sum", &[]), all_f * 0.5);
    // 400 users past a cap of 5: 5 series of one login each, 395 in the overflow series.
    let users = "facade_concurrent_users_total";
    let total: f64 = ours.series(users).map(|sample| sample.value).sum();
    assert_eq!(total, 400.0);
    assert_eq!(ours.series(users).count(), 6);
    assert_eq!(value(users, &[("user", "__overflow__")]), 395.0);
    assert_eq!(
        value("metrics_facade_overflow_total", &[("family", users)]),
        395.0
    );
}
