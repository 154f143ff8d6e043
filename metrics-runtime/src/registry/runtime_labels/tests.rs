//! The unit tests of `runtime_labels.rs`: registration, rendering, conflicts, concurrency.

use super::*;
use crate::LabelValue;
use crate::model::label_values::Runtime;

#[derive(Clone, Copy)]
enum Provider {
    Twilio,
    Vonage,
}

impl LabelValue for Provider {
    const LABEL_NAME: &'static str = "provider";
    const VALUES: &'static [&'static str] = &["twilio", "vonage"];

    fn index(&self) -> usize {
        *self as usize
    }
}

fn regions() -> LabelValues {
    LabelValues::new("region", ["eu-west", "us-east"]).unwrap()
}

/// The sample lines of `family` in the text exposition, in order.
fn samples(registry: &Registry, family: &str) -> Vec<String> {
    registry
        .render()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.split(['{', ' ']).next() == Some(family))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_series_exists_at_zero_from_registration() {
    let registry = Registry::with_constant_labels([("env", "test")]).unwrap();
    let sent: RuntimeFamily<IntCounter, (Provider, Runtime)> = registry
        .family("sms_sent_total", "SMS sent.")
        .label(&regions().with_other("other").unwrap())
        .register()
        .unwrap();
    assert_eq!(
        samples(&registry, "sms_sent_total"),
        [
            "sms_sent_total{provider=\"twilio\",region=\"eu-west\",env=\"test\"} 0",
            "sms_sent_total{provider=\"twilio\",region=\"us-east\",env=\"test\"} 0",
            "sms_sent_total{provider=\"twilio\",region=\"other\",env=\"test\"} 0",
            "sms_sent_total{provider=\"vonage\",region=\"eu-west\",env=\"test\"} 0",
            "sms_sent_total{provider=\"vonage\",region=\"us-east\",env=\"test\"} 0",
            "sms_sent_total{provider=\"vonage\",region=\"other\",env=\"test\"} 0",
        ]
    );
    assert_eq!(
        samples(&registry, UNKNOWN_VALUES_FAMILY),
        [
            "metrics_label_values_unknown_total{family=\"sms_sent_total\",label=\"region\",env=\"test\"} 0"
        ]
    );
    sent.with((Provider::Vonage, "us-east")).inc_by(2);
    sent.with((Provider::Twilio, "eu-west")).inc();
    let values: Vec<u64> = sent.iter().map(IntCounter::get).collect();
    assert_eq!(values, [1, 0, 0, 0, 2, 0]);
    registry.check().unwrap();
}

#[test]
fn a_value_outside_the_set_goes_to_other_and_is_counted() {
    let registry = Registry::new();
    let regions = regions().with_other("other").unwrap();
    let sent = registry
        .int_counter_family("sms_sent_total", "SMS sent.", &regions)
        .unwrap();
    sent.with("mars").inc();
    sent.with("venus").inc_by(3);
    sent.with("other").inc(); // the `other` value itself is in the set
    assert_eq!(sent.with("other").get(), 5);
    assert_eq!(sent.unknown_values(), [("region", 2)]);
    let error = sent.try_with("mars").unwrap_err();
    assert_eq!(
        (error.family, error.label.as_str(), error.value.as_str()),
        ("sms_sent_total", "region", "mars")
    );
    // `try_with` counts nothing.
    assert_eq!(sent.unknown_values(), [("region", 2)]);
    assert_eq!(
        samples(&registry, UNKNOWN_VALUES_FAMILY),
        ["metrics_label_values_unknown_total{family=\"sms_sent_total\",label=\"region\"} 2"]
    );
    assert_eq!(
        samples(&registry, "sms_sent_total"),
        [
            "sms_sent_total{region=\"eu-west\"} 0",
            "sms_sent_total{region=\"us-east\"} 0",
            "sms_sent_total{region=\"other\"} 5",
        ]
    );
}

#[test]
fn without_other_a_value_outside_the_set_is_counted_and_exported_nowhere() {
    let registry = Registry::new();
    let tenants = LabelValues::new("tenant", ["acme"]).unwrap();
    let regions = regions().with_other("elsewhere").unwrap();
    let jobs: RuntimeFamily<IntGauge, (Runtime, Runtime)> = registry
        .family("jobs_running", "Jobs running.")
        .label(&tenants)
        .label(&regions)
        .register()
        .unwrap();
    jobs.with(("initech", "eu-west")).set(7);
    jobs.with(("acme", "mars")).set(2);
    assert_eq!(jobs.unknown_values(), [("tenant", 1), ("region", 1)]);
    assert_eq!(
        samples(&registry, "jobs_running"),
        [
            "jobs_running{tenant=\"acme\",region=\"eu-west\"} 0",
            "jobs_running{tenant=\"acme\",region=\"us-east\"} 0",
            "jobs_running{tenant=\"acme\",region=\"elsewhere\"} 2",
        ]
    );
    // Both labels outside their sets: the first one is named.
    let error = jobs.try_with(("initech", "mars")).unwrap_err();
    assert_eq!(
        (error.label.as_str(), error.value.as_str()),
        ("tenant", "initech")
    );
    let error = jobs.try_with(("acme", "mars")).unwrap_err();
    assert_eq!(
        (error.label.as_str(), error.value.as_str()),
        ("region", "mars")
    );
}

#[test]
fn registering_alike_finds_the_family_and_otherwise_names_both_places() {
    let registry = Registry::new();
    let first = registry
        .int_counter_family("sms_sent_total", "SMS sent.", &regions())
        .unwrap();
    let again = registry
        .int_counter_family("sms_sent_total", "SMS sent.", &regions())
        .unwrap();
    again.with("us-east").inc();
    assert_eq!(first.with("us-east").get(), 1);
    again.with("mars").inc();
    assert_eq!(first.unknown_values(), [("region", 1)], "shared counts");

    let conflicts = [
        registry.int_counter_family(
            "sms_sent_total",
            "SMS sent.",
            &LabelValues::new("region", ["eu-west"]).unwrap(),
        ),
        registry.int_counter_family(
            "sms_sent_total",
            "SMS sent.",
            &LabelValues::new("region", ["eu-west"])
                .unwrap()
                .with_other("us-east")
                .unwrap(),
        ),
        registry.int_counter_family("sms_sent_total", "Other help.", &regions()),
        registry.int_counter_family(
            "sms_sent_total",
            "SMS sent.",
            &LabelValues::new("zone", ["eu-west", "us-east"]).unwrap(),
        ),
    ];
    let problems: Vec<String> = conflicts
        .into_iter()
        .map(|result| {
            let conflict = result.unwrap_err();
            assert_eq!(conflict.locations.len(), 2, "{conflict}");
            let [kept, refused] = conflict.locations[..] else {
                unreachable!()
            };
            assert_eq!(kept.file, file!());
            assert!(kept.line < refused.line, "{conflict}");
            conflict.problem
        })
        .collect();
    assert!(problems[0].contains("[\"eu-west\"]"), "{}", problems[0]);
    assert!(problems[1].contains("`other` values"), "{}", problems[1]);
    assert!(problems[2].contains("help"), "{}", problems[2]);
    assert!(problems[3].contains("labels"), "{}", problems[3]);
    let float = registry.counter_family("sms_sent_total", "SMS sent.", &regions());
    assert!(float.unwrap_err().problem.contains("a float counter"));
    let plain = registry.int_counter("sms_sent_total", "SMS sent.");
    assert!(plain.is_err());
    assert_eq!(registry.check().unwrap_err().conflicts.len(), 6);
    // The first is still the one exported.
    assert_eq!(samples(&registry, "sms_sent_total").len(), 2);
}

#[test]
fn the_labels_are_checked_together() {
    let registry = Registry::new();
    let problem = |result: Result<RuntimeFamily<IntCounter, (Provider, Runtime)>, Conflict>| {
        let conflict = result.unwrap_err();
        assert_eq!(conflict.family, "sms_sent_total");
        assert_eq!(conflict.locations.len(), 1);
        conflict.problem
    };
    let builder = || registry.family("sms_sent_total", "SMS sent.");
    let missing = problem(builder().register());
    assert!(missing.contains("1 run-time label(s)"), "{missing}");
    let twice = problem(builder().label(&regions()).label(&regions()).register());
    assert!(twice.contains("2 set(s)"), "{twice}");
    let providers = LabelValues::new("provider", ["a"]).unwrap();
    let named_twice = problem(builder().label(&providers).register());
    assert!(
        named_twice.contains("`provider` is given twice"),
        "{named_twice}"
    );
    let many = LabelValues::new("user", (0..5_001).map(|n| n.to_string())).unwrap();
    let capped = problem(builder().label(&many).register());
    assert!(
        capped.contains("(provider: 2, user: 5001) make more than 10000 series"),
        "{capped}"
    );
    let raised: RuntimeFamily<IntCounter, (Provider, Runtime)> = registry
        .family("users_total", "Users.")
        .label(&many)
        .max_series(10_002)
        .register()
        .unwrap();
    assert_eq!(raised.iter().count(), 10_002);
    let buckets = problem(builder().label(&regions()).buckets(&[1.0]).register());
    assert!(
        buckets.contains("only a histogram has buckets"),
        "{buckets}"
    );
    let bad_name = registry
        .family("sms_sent", "SMS sent.")
        .label(&regions())
        .register::<IntCounter, Runtime>();
    assert!(bad_name.unwrap_err().problem.contains("`_total`"));
    let histogram = registry
        .family("sms_duration_seconds", "Durations.")
        .label(&regions())
        .buckets(&[2.0, 1.0])
        .register::<Histogram, Runtime>();
    assert!(
        histogram
            .unwrap_err()
            .problem
            .contains("strictly increasing")
    );
}

#[test]
fn a_constant_label_cannot_be_a_run_time_label() {
    let registry = Registry::with_constant_labels([("region", "eu")]).unwrap();
    let conflict = registry
        .int_counter_family("sms_sent_total", "SMS sent.", &regions())
        .unwrap_err();
    assert!(conflict.problem.contains("constant label"), "{conflict}");
    assert!(!registry.render().contains("sms_sent_total"));
}

#[test]
fn the_count_of_unknown_values_is_claimed_once_and_refused_when_taken() {
    let registry = Registry::new();
    registry
        .int_counter_family("a_total", "A.", &regions())
        .unwrap();
    registry
        .int_counter_family("b_total", "B.", &regions())
        .unwrap();
    assert_eq!(
        samples(&registry, UNKNOWN_VALUES_FAMILY),
        [
            "metrics_label_values_unknown_total{family=\"a_total\",label=\"region\"} 0",
            "metrics_label_values_unknown_total{family=\"b_total\",label=\"region\"} 0",
        ]
    );
    let catalog = registry.catalog();
    let unknown = catalog
        .families
        .iter()
        .find(|family| family.name == UNKNOWN_VALUES_FAMILY)
        .unwrap();
    assert_eq!(unknown.labels, ["family", "label"]);
    assert_eq!(unknown.origin, Origin::Crate);
    registry.check().unwrap();

    let taken = Registry::new();
    taken.int_counter(UNKNOWN_VALUES_FAMILY, "Mine.").unwrap();
    let conflict = taken
        .int_counter_family("a_total", "A.", &regions())
        .unwrap_err();
    assert_eq!(conflict.family, UNKNOWN_VALUES_FAMILY);
    assert_eq!(conflict.locations.len(), 2);
}

#[test]
fn histograms_keep_their_buckets_and_the_catalog_lists_the_labels() {
    let registry = Registry::new();
    let latency = registry
        .histogram_family(
            "upstream_duration_seconds",
            "Latency.",
            &[0.5, 1.0],
            &regions(),
        )
        .unwrap();
    latency.with("us-east").observe(0.7);
    latency.with("mars").observe(0.7); // no `other`: lost, counted
    let lines = samples(&registry, "upstream_duration_seconds_bucket");
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[4],
        "upstream_duration_seconds_bucket{region=\"us-east\",le=\"1\"} 1"
    );
    let catalog = registry.catalog();
    let family = catalog
        .families
        .iter()
        .find(|family| family.name == "upstream_duration_seconds")
        .unwrap();
    assert_eq!(family.labels, ["region"]);
    assert_eq!(family.buckets, [0.5, 1.0]);
    assert_eq!(family.origin, Origin::Registered);
    assert_eq!(latency.unknown_values(), [("region", 1)]);
}

#[test]
fn concurrent_records_sum_exactly() {
    let registry = Registry::new();
    let regions = regions().with_other("other").unwrap();
    let sent = registry
        .int_counter_family("sms_sent_total", "SMS sent.", &regions)
        .unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let sent = &sent;
            scope.spawn(move || {
                let region = ["eu-west", "us-east", "mars", "other"][thread];
                for _ in 0..25_000 {
                    sent.with(region).inc();
                }
            });
        }
    });
    let values: Vec<u64> = sent.iter().map(IntCounter::get).collect();
    assert_eq!(values, [25_000, 25_000, 50_000]);
    assert_eq!(sent.unknown_values(), [("region", 25_000)]);
}
