//! Declarations that disagree, here and in another crate of the workspace, are reported by
//! `check()`, by a warning in the log and by `metrics_catalog_conflicts`, with every source
//! location; the first declaration is exported and the registry keeps working.

use std::sync::Mutex;

use instrument_metric::{Gauge, IntCounterFamily, LabelValue, Metrics, instrument_metric};
use integration_tests::{Exposition, SupportMetrics, declared_in_support_crate};

/// Two label types with one label name and other values.
#[derive(Clone, Copy, LabelValue)]
#[label(name = "channel")]
enum ChannelA {
    Sms,
    Email,
}

#[derive(Clone, Copy, LabelValue)]
#[label(name = "channel")]
enum ChannelB {
    Push,
}

#[derive(Metrics)]
struct FirstValues {
    /// Messages by channel.
    #[metric(name = "values_clash_total")]
    sent: IntCounterFamily<ChannelA>,
}

#[derive(Metrics)]
struct OtherValues {
    /// Messages by channel.
    #[metric(name = "values_clash_total")]
    sent: IntCounterFamily<ChannelB>,
}

#[derive(Metrics)]
struct LocalMetrics {
    /// Declared as an integer gauge in the support crate.
    #[metric(name = "group_clash")]
    clash: Gauge,
}

const CROSS_CRATE_LINE: u32 = line!() + 6;
#[instrument_metric(
    name = "cross_crate",
    help = "Declared in two crates.",
    buckets = [0.5, 5.0]
)]
fn other_buckets() {}

const HELP_LINE: u32 = line!() + 3;
// Two given helps (doc comments that differ give the family a help of its own instead).
#[instrument_metric(name = "help_clash", help = "One help text.")]
fn first_help() {}
// The other.
#[instrument_metric(name = "help_clash", help = "Another help text.")]
fn second_help() {}

#[instrument_metric(name = "label_clash")]
fn without_label() {}
#[instrument_metric(name = "label_clash", labels(region = "eu"))]
fn with_label() {}

#[instrument_metric(counter = "kind_clash_total", histogram = "kind_clash_seconds")]
fn histogram_first() {}
#[instrument_metric(name = "kind_other", in_flight = "kind_clash_seconds")]
fn gauge_second() {}

const DUPLICATE_LINE: u32 = line!() + 2;
#[instrument_metric(function = "same")]
fn one() {}
#[instrument_metric(function = "same")]
fn two() {}

/// Keeps the warnings logged, to check what a service's log would show.
struct Warnings(Mutex<Vec<String>>);

impl log::Log for Warnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static WARNINGS: Warnings = Warnings(Mutex::new(Vec::new()));

/// Installs the logger before anything builds the registry (every test calls it first).
fn capture_warnings() {
    let _ = log::set_logger(&WARNINGS);
    log::set_max_level(log::LevelFilter::Warn);
}

#[test]
fn every_conflict_is_logged_with_both_locations() {
    capture_warnings();
    // Other tests of this binary register conflicting metrics while this one runs (in scoped
    // registries too, which log theirs with the same logger): each conflict of the global
    // registry is logged, once, by the time it is read.
    let conflicts: Vec<String> = instrument_metric::check()
        .unwrap_err()
        .conflicts
        .iter()
        .map(ToString::to_string)
        .collect();
    let warnings = WARNINGS.0.lock().unwrap().clone();
    for conflict in &conflicts {
        let logged = warnings
            .iter()
            .filter(|warning| *warning == conflict)
            .count();
        assert_eq!(logged, 1, "{conflict}: logged {logged} times");
    }
    let duplicate = warnings
        .iter()
        .find(|warning| warning.contains("function_calls_total"))
        .expect("the duplicate series is logged");
    let file = "tests/tests/conflicts.rs";
    assert!(
        duplicate.contains(&format!("{file}:{DUPLICATE_LINE}:"))
            && duplicate.contains(&format!("{file}:{}:", DUPLICATE_LINE + 2))
            && duplicate.contains("only the first declaration's calls are exported"),
        "{duplicate}"
    );
}

#[test]
fn every_conflict_names_both_locations() {
    capture_warnings();
    let error = instrument_metric::check().expect_err("the declarations conflict");
    let text = error.to_string();
    let find = |family: &str| {
        error
            .conflicts
            .iter()
            .find(|conflict| conflict.family == family)
            .unwrap_or_else(|| panic!("no conflict for {family} in:\n{text}"))
    };
    let file = "tests/tests/conflicts.rs";

    let cross = find("cross_crate_duration_seconds");
    assert!(cross.problem.contains("buckets"), "{}", cross.problem);
    assert_eq!(cross.locations[0].file, "tests/src/lib.rs");
    assert_eq!(
        (cross.locations[1].file, cross.locations[1].line),
        (file, CROSS_CRATE_LINE)
    );

    let help = find("help_clash_total");
    assert!(help.problem.contains("One help text.") && help.problem.contains("Another help text."));
    let lines: Vec<u32> = help.locations.iter().map(|l| l.line).collect();
    assert_eq!(lines, [HELP_LINE, HELP_LINE + 3]);

    assert!(find("label_clash_total").problem.contains("labels"));
    assert!(
        find("values_clash_total").problem.contains("label values"),
        "two label types of one name with other values are two families"
    );
    assert!(
        find("kind_clash_seconds")
            .problem
            .contains("as a histogram and as an integer gauge")
    );

    let duplicate = find("function_calls_total");
    assert!(
        duplicate.problem.contains("declared twice"),
        "{}",
        duplicate.problem
    );
    let lines: Vec<u32> = duplicate.locations.iter().map(|l| l.line).collect();
    assert_eq!(lines, [DUPLICATE_LINE, DUPLICATE_LINE + 2]);

    assert!(
        text.contains(&format!("{file}:{CROSS_CRATE_LINE}:")),
        "{text}"
    );
    assert!(text.contains("tests/src/lib.rs:"), "{text}");
}

#[test]
fn conflicting_functions_still_run_and_the_first_declaration_is_kept() {
    capture_warnings();
    declared_in_support_crate();
    other_buckets();
    first_help();
    second_help();
    without_label();
    with_label();
    histogram_first();
    gauge_second();
    one();
    two();
    two();
    SupportMetrics::global().clash.set(4);
    FirstValues::global().sent.with(ChannelA::Email).inc();
    assert_eq!(FirstValues::global().sent.with(ChannelA::Sms).get(), 0);
    OtherValues::global().sent.with(ChannelB::Push).inc_by(5);
    LocalMetrics::global().clash.set(9.0);
    let exposition =
        Exposition::parse(&instrument_metric::render()).expect("the exposition parses");
    let functions: Vec<&str> = exposition
        .series("cross_crate_duration_seconds_count")
        .map(|sample| sample.labels["function"].as_str())
        .collect();
    assert_eq!(functions, ["declared_in_support_crate"]);
    assert_eq!(exposition.types["kind_clash_seconds"], "histogram");
    assert_eq!(
        exposition.count("group_clash", &[]),
        4,
        "the support crate's declaration is kept"
    );
    assert_eq!(
        exposition.count("values_clash_total", &[("channel", "email")]),
        1
    );
    assert_eq!(
        exposition.series("values_clash_total").count(),
        2,
        "the first declaration only"
    );
    let help_calls = exposition.count(
        "help_clash_total",
        &[
            ("function", "first_help"),
            ("module", "conflicts"),
            ("result", "ok"),
        ],
    );
    assert_eq!(help_calls, 1);
    // `one` and `two` share a series: it is written once (the parser refuses a series written
    // twice), with the calls of `one`, the first declared.
    let same = [
        ("function", "same"),
        ("module", "conflicts"),
        ("result", "ok"),
    ];
    assert_eq!(exposition.count("function_calls_total", &same), 1);
    let conflicts = instrument_metric::check().unwrap_err().conflicts.len();
    assert_eq!(
        exposition.count("metrics_catalog_conflicts", &[]),
        u64::try_from(conflicts).unwrap()
    );
}

#[test]
fn a_gauge_and_a_counter_that_share_a_name_are_refused_in_a_sentence_that_names_both() {
    let registry = instrument_metric::Registry::new();
    let counter_line = line!() + 1;
    let _jobs = registry.int_counter("queue_jobs_total", "Jobs queued.");
    let gauge_line = line!() + 1;
    let refused = registry.int_gauge("queue_jobs", "Waiting.");
    let refused = refused.unwrap_err();

    assert_eq!(refused.family, "queue_jobs");
    let lines: Vec<u32> = refused.locations.iter().map(|l| l.line).collect();
    assert_eq!(lines, [counter_line, gauge_line]);
    assert_eq!(
        refused.to_string(),
        format!(
            "metric `queue_jobs` is an integer gauge that takes the name `queue_jobs` in an \
             exposition, which `queue_jobs_total`, an integer counter declared first, takes too \
             (OpenMetrics names a counter `x_total`'s family `x`, and a histogram `x`'s samples \
             `x_bucket`, `x_sum`, `x_count` and `x_created`): a scraper would read the two as one \
             family, so only `queue_jobs_total` is exported; rename one of them so that neither \
             name is the other's plus `_total`, `_bucket`, `_sum`, `_count` or `_created`; \
             declared at {} and at {}",
            refused.locations[0], refused.locations[1]
        )
    );

    // The other way round: the counter declared after the gauge.
    let _depth = registry.gauge("queue_depth", "Jobs waiting.");
    let refused = registry
        .counter("queue_depth_total", "Jobs queued.")
        .unwrap_err();
    assert!(
        refused.problem.starts_with(
            "a float counter that takes the name `queue_depth` in an exposition, which \
             `queue_depth`, a float gauge declared first, takes too"
        ),
        "{refused}"
    );
}
