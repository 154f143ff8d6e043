//! `build_info!()`: one series at 1 with the version, the compiler and (when set at build time)
//! the revision; a second registration of one name is refused.

use integration_tests::Exposition;

#[test]
fn build_info_is_one_series_at_one() {
    instrument_metric::build_info!().unwrap();
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let series: Vec<_> = exposition.series("integration_tests_build_info").collect();
    assert_eq!(series.len(), 1);
    let sample = series[0];
    assert!(
        (sample.value - 1.0).abs() < f64::EPSILON,
        "{}",
        sample.value
    );
    assert_eq!(sample.labels["version"], env!("CARGO_PKG_VERSION"));
    let rustc = &sample.labels["rustc"];
    assert!(
        rustc.split('.').count() >= 3 && rustc.chars().next().unwrap().is_ascii_digit(),
        "{rustc}"
    );
    assert_eq!(
        sample.labels["revision"],
        option_env!("GIT_REVISION").unwrap_or("unknown")
    );
    let help = instrument_metric::render()
        .lines()
        .any(|line| line == "# TYPE integration_tests_build_info gauge");
    assert!(help);
}

#[test]
fn a_prefix_names_it_and_a_taken_name_is_refused() {
    instrument_metric::register_build_info("worker", "3.1.4", Some("abc1234")).unwrap();
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let sample = exposition.series("worker_build_info").next().unwrap();
    assert_eq!(sample.labels["revision"], "abc1234");
    assert_eq!(sample.labels["version"], "3.1.4");
    // The same build again is the same series; another build under the name would not be
    // exported, so it is refused.
    instrument_metric::register_build_info("worker", "3.1.4", Some("abc1234")).unwrap();
    let refused = instrument_metric::register_build_info("worker", "9.9.9", None).unwrap_err();
    assert_eq!(refused.family, "worker_build_info");
    assert!(refused.problem.contains("other label values"), "{refused}");
    let refused = instrument_metric::register_build_info("9", "1", None).unwrap_err();
    assert!(refused.problem.contains("not a metric name"), "{refused}");
}
