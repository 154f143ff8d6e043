//! Label values given at run time (`LabelValues`, `RuntimeFamily`): every series exported at 0
//! from registration in the three formats (each parsed: our strict parser, promtool, Python's
//! reference parsers, the protobuf messages), a value outside the set landing in `other` and
//! counted in `metrics_label_values_unknown_total`, threads recording concurrently summing
//! exactly, conflicts naming both places, and the global registry's catalog and generated
//! dashboard listing the family like any other.
#![allow(clippy::float_cmp)] // counts and exact binary fractions, read back bit for bit

use std::collections::BTreeMap;
use std::time::Duration;

use instrument_metric::export::Export;
use instrument_metric::proto::MetricFamily;
use instrument_metric::{
    Format, Histogram, IntCounter, IntGauge, LabelValue, LabelValues, Registry, Runtime,
    RuntimeFamily,
};
use integration_tests::{Exposition, promtool_check_metrics, python_parse};
use prost::Message as _;

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

/// A value read from configuration may hold what the text formats escape, and any Unicode.
const AWKWARD: &str = "São Paulo \"1\" \\ b";
const REGIONS: [&str; 3] = ["eu-west", "us-east", AWKWARD];
const TENANTS: [&str; 2] = ["acme", "globex"];

struct Families {
    sent: RuntimeFamily<IntCounter, (Provider, Runtime)>,
    latency: RuntimeFamily<Histogram>,
    queued: RuntimeFamily<IntGauge>,
}

/// A scoped registry with constant labels and three run-time labelled families, as a service
/// would build them from its configuration.
fn registered() -> (Registry, Families) {
    let registry = Registry::with_constant_labels([("service", "sms")]).unwrap();
    let regions = LabelValues::new("region", REGIONS)
        .unwrap()
        .with_other("other")
        .unwrap();
    let tenants = LabelValues::new("tenant", TENANTS).unwrap();
    let sent = registry
        .family("sms_sent_total", "SMS sent, by provider and region.")
        .label(&regions)
        .register()
        .unwrap();
    let latency = registry
        .histogram_family(
            "sms_provider_duration_seconds",
            "Provider latency, by region.",
            &[0.25, 1.0],
            &regions,
        )
        .unwrap();
    let queued = registry
        .int_gauge_family("sms_queued", "SMS waiting, by tenant.", &tenants)
        .unwrap();
    registry.check().unwrap();
    (
        registry,
        Families {
            sent,
            latency,
            queued,
        },
    )
}

/// The series of the three formats, parsed, checked by every parser there is, and equal.
struct Parsed {
    text: Exposition,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn scrape(registry: &Registry) -> Parsed {
    let text = registry.render_as(Format::Text);
    let openmetrics = registry.render_as(Format::OpenMetrics);
    let ours = Exposition::parse(&text).unwrap_or_else(|error| panic!("{error}"));
    ours.check_invariants().unwrap();
    promtool_check_metrics(&text).unwrap_or_else(|report| panic!("promtool: {report}\n{text}"));
    let reference_text = python_parse(&text, false).unwrap();
    let reference_openmetrics = python_parse(&openmetrics, true).unwrap();
    assert!(openmetrics.ends_with("# EOF\n"));

    // The reference parser reads what ours reads, value for value.
    let mut from_ours: Vec<_> = ours
        .samples
        .iter()
        .map(|sample| (sample.name.clone(), sample.labels.clone(), sample.value))
        .collect();
    from_ours.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(from_ours, reference_text);

    // OpenMetrics carries the same samples (`le` spelled as a float there).
    let normal = |samples: &[integration_tests::ReferenceSample]| {
        let mut samples: Vec<_> = samples
            .iter()
            .filter(|(name, ..)| !name.ends_with("_created"))
            .map(|(name, labels, value)| {
                let mut labels = labels.clone();
                if let Some(le) = labels.get_mut("le") {
                    *le = le.parse::<f64>().unwrap().to_string();
                }
                (name.clone(), labels, value.to_bits())
            })
            .collect();
        samples.sort();
        samples
    };
    assert_eq!(normal(&reference_openmetrics), normal(&reference_text));

    // Protobuf: every sample of the text format, from the decoded messages.
    let bytes = registry
        .encode_protobuf_within(Duration::from_secs(5))
        .unwrap();
    let mut rest = bytes.as_slice();
    let mut from_protobuf = Vec::new();
    while !rest.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut rest).unwrap();
        for metric in &family.metric {
            let pairs: BTreeMap<String, String> = metric
                .label
                .iter()
                .map(|pair| (pair.name().to_owned(), pair.value().to_owned()))
                .collect();
            if let Some(counter) = &metric.counter {
                from_protobuf.push((family.name().to_owned(), pairs.clone(), counter.value()));
            }
            if let Some(gauge) = &metric.gauge {
                from_protobuf.push((family.name().to_owned(), pairs.clone(), gauge.value()));
            }
            if let Some(histogram) = &metric.histogram {
                let name = family.name();
                #[allow(clippy::cast_precision_loss)]
                let count = histogram.sample_count() as f64;
                from_protobuf.push((format!("{name}_count"), pairs.clone(), count));
                from_protobuf.push((format!("{name}_sum"), pairs.clone(), histogram.sample_sum()));
                for bucket in &histogram.bucket {
                    let mut with_le = pairs.clone();
                    with_le.insert("le".to_owned(), bucket.upper_bound().to_string());
                    #[allow(clippy::cast_precision_loss)]
                    let cumulative = bucket.cumulative_count() as f64;
                    from_protobuf.push((format!("{name}_bucket"), with_le, cumulative));
                }
                let mut inf = pairs.clone();
                inf.insert("le".to_owned(), "inf".to_owned());
                from_protobuf.push((format!("{name}_bucket"), inf, count));
            }
        }
    }
    let mut from_text: Vec<_> = normal(&reference_text)
        .into_iter()
        .map(|(name, labels, bits)| (name, labels, f64::from_bits(bits)))
        .collect();
    from_text.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    from_protobuf.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(from_protobuf, from_text);
    Parsed { text: ours }
}

#[test]
fn every_series_is_exported_at_zero_from_registration_in_every_format() {
    let (registry, _families) = registered();
    let parsed = scrape(&registry).text;
    let mut regions: Vec<&str> = REGIONS.to_vec();
    regions.push("other");
    for provider in ["twilio", "vonage"] {
        for region in &regions {
            let series = [
                ("provider", provider),
                ("region", region),
                ("service", "sms"),
            ];
            assert_eq!(parsed.count("sms_sent_total", &series), 0);
        }
    }
    assert_eq!(parsed.series("sms_sent_total").count(), 8);
    for region in &regions {
        let series = [("region", *region), ("service", "sms")];
        assert_eq!(
            parsed.count("sms_provider_duration_seconds_count", &series),
            0
        );
        assert_eq!(
            parsed.value("sms_provider_duration_seconds_sum", &series),
            0.0
        );
    }
    assert_eq!(
        parsed
            .series("sms_provider_duration_seconds_bucket")
            .count(),
        4 * 3
    );
    for tenant in TENANTS {
        let series = [("tenant", tenant), ("service", "sms")];
        assert_eq!(parsed.value("sms_queued", &series), 0.0);
    }
    assert_eq!(parsed.series("sms_queued").count(), 2);
    // One count of unknown values per family and run-time label, at 0 too.
    let unknown: Vec<_> = parsed
        .series("metrics_label_values_unknown_total")
        .collect();
    assert_eq!(unknown.len(), 3);
    for family in ["sms_sent_total", "sms_provider_duration_seconds"] {
        let series = [("family", family), ("label", "region"), ("service", "sms")];
        assert_eq!(
            parsed.count("metrics_label_values_unknown_total", &series),
            0
        );
    }
    assert_eq!(
        parsed.types["metrics_label_values_unknown_total"],
        "counter"
    );
}

#[test]
fn values_outside_the_set_land_in_other_and_are_counted() {
    let (registry, families) = registered();
    families.sent.with((Provider::Twilio, "eu-west")).inc();
    families.sent.with((Provider::Vonage, AWKWARD)).inc_by(2);
    families.sent.with((Provider::Vonage, "mars")).inc_by(5);
    families.sent.with((Provider::Twilio, "moon")).inc();
    families.latency.with("us-east").observe(0.5);
    families.latency.with("jupiter").observe(2.0);
    families.queued.try_with("acme").unwrap().set(4);
    // A gauge refuses a value outside its set (no `other`): nothing recorded, nothing counted.
    let error = families.queued.try_with("initech").unwrap_err();
    assert_eq!(
        (error.label.as_str(), error.value.as_str()),
        ("tenant", "initech")
    );
    assert_eq!(error.family, "sms_queued");
    assert_eq!(error.location.file, file!());
    // Through `with`, it goes nowhere and is counted.
    families.queued.with("initech").set(9);

    let parsed = scrape(&registry).text;
    let sent = |provider, region| {
        parsed.count(
            "sms_sent_total",
            &[
                ("provider", provider),
                ("region", region),
                ("service", "sms"),
            ],
        )
    };
    assert_eq!(sent("twilio", "eu-west"), 1);
    assert_eq!(sent("vonage", AWKWARD), 2);
    assert_eq!(sent("vonage", "other"), 5);
    assert_eq!(sent("twilio", "other"), 1);
    let total: f64 = parsed.series("sms_sent_total").map(|s| s.value).sum();
    assert_eq!(total, 9.0, "no series but the declared ones");
    assert_eq!(parsed.series("sms_sent_total").count(), 8);

    let histogram = |suffix: &str, region: &str| {
        parsed.value(
            &format!("sms_provider_duration_seconds{suffix}"),
            &[("region", region), ("service", "sms")],
        )
    };
    assert_eq!(histogram("_count", "us-east"), 1.0);
    assert_eq!(histogram("_sum", "us-east"), 0.5);
    assert_eq!(histogram("_count", "other"), 1.0);
    assert_eq!(histogram("_sum", "other"), 2.0);
    let bucket = labels(&[("region", "other"), ("service", "sms"), ("le", "1")]);
    let in_bucket = parsed
        .series("sms_provider_duration_seconds_bucket")
        .find(|s| s.labels == bucket)
        .unwrap();
    assert_eq!(in_bucket.value, 0.0);

    assert_eq!(
        parsed.value("sms_queued", &[("tenant", "acme"), ("service", "sms")]),
        4.0
    );
    assert_eq!(parsed.series("sms_queued").count(), 2);
    assert!(
        parsed
            .series("sms_queued")
            .all(|s| s.labels["tenant"] != "initech")
    );

    let unknown = |family, label| {
        parsed.count(
            "metrics_label_values_unknown_total",
            &[("family", family), ("label", label), ("service", "sms")],
        )
    };
    assert_eq!(unknown("sms_sent_total", "region"), 2);
    assert_eq!(unknown("sms_provider_duration_seconds", "region"), 1);
    assert_eq!(unknown("sms_queued", "tenant"), 1);
    assert_eq!(families.sent.unknown_values(), [("region", 2)]);
}

#[test]
fn threads_recording_concurrently_sum_exactly() {
    const PER_THREAD: u64 = 20_000;
    let (registry, families) = registered();
    let keys: [(Provider, &str); 6] = [
        (Provider::Twilio, "eu-west"),
        (Provider::Twilio, "us-east"),
        (Provider::Vonage, AWKWARD),
        (Provider::Vonage, "mars"),
        (Provider::Twilio, "venus"),
        (Provider::Vonage, "eu-west"),
    ];
    std::thread::scope(|scope| {
        for (thread, key) in keys.into_iter().enumerate() {
            let families = &families;
            scope.spawn(move || {
                // Half the threads resolve once, half look the value up each time.
                let resolved = (thread % 2 == 0).then(|| families.sent.with(key).clone());
                for _ in 0..PER_THREAD {
                    match &resolved {
                        Some(resolved) => resolved.inc(),
                        None => families.sent.with(key).inc(),
                    }
                    families.latency.with(key.1).observe(0.125);
                }
            });
        }
    });
    let parsed = scrape(&registry).text;
    let sent = |provider, region| {
        parsed.count(
            "sms_sent_total",
            &[
                ("provider", provider),
                ("region", region),
                ("service", "sms"),
            ],
        )
    };
    assert_eq!(sent("twilio", "eu-west"), PER_THREAD);
    assert_eq!(sent("twilio", "us-east"), PER_THREAD);
    assert_eq!(sent("vonage", AWKWARD), PER_THREAD);
    assert_eq!(sent("vonage", "other"), PER_THREAD);
    assert_eq!(sent("twilio", "other"), PER_THREAD);
    assert_eq!(sent("vonage", "eu-west"), PER_THREAD);
    let count = |region| {
        parsed.count(
            "sms_provider_duration_seconds_count",
            &[("region", region), ("service", "sms")],
        )
    };
    assert_eq!(count("eu-west"), 2 * PER_THREAD);
    assert_eq!(count("other"), 2 * PER_THREAD);
    let series = [
        ("family", "sms_sent_total"),
        ("label", "region"),
        ("service", "sms"),
    ];
    // A value outside the set is counted each time it is looked up: PER_THREAD times for
    // `mars` (looked up at each record), once for `venus` (resolved once, then recorded).
    assert_eq!(
        parsed.count("metrics_label_values_unknown_total", &series),
        PER_THREAD + 1
    );
}

#[test]
fn the_global_registry_reports_conflicts_lists_the_family_and_generates_its_panel() {
    let regions = LabelValues::new("region", REGIONS).unwrap();
    let registry = instrument_metric::registry();
    let sent = registry
        .int_counter_family(
            "notify_sent_total",
            "Notifications sent, by region.",
            &regions,
        )
        .unwrap();
    sent.with("us-east").inc();
    // Registered alike again (a second start-up path): the same family.
    let again = registry
        .int_counter_family(
            "notify_sent_total",
            "Notifications sent, by region.",
            &regions,
        )
        .unwrap();
    assert_eq!(again.with("us-east").get(), 1);
    // With another set: refused, naming both places.
    let fewer = LabelValues::new("region", ["eu-west"]).unwrap();
    let conflict = registry
        .int_counter_family(
            "notify_sent_total",
            "Notifications sent, by region.",
            &fewer,
        )
        .unwrap_err();
    assert_eq!(conflict.family, "notify_sent_total");
    assert_eq!(conflict.locations.len(), 2);
    assert!(conflict.locations.iter().all(|at| at.file == file!()));
    assert!(conflict.locations[0].line < conflict.locations[1].line);
    assert!(conflict.problem.contains("[\"eu-west\"]"), "{conflict}");
    let error = instrument_metric::check().unwrap_err();
    assert_eq!(error.conflicts, [conflict]);

    let text = instrument_metric::render();
    let parsed = Exposition::parse(&text).unwrap();
    promtool_check_metrics(&text).unwrap_or_else(|report| panic!("promtool: {report}"));
    assert_eq!(
        parsed.count("notify_sent_total", &[("region", "us-east")]),
        1
    );
    assert_eq!(parsed.count("notify_sent_total", &[("region", AWKWARD)]), 0);
    assert_eq!(parsed.series("notify_sent_total").count(), 3);
    let unknown = [("family", "notify_sent_total"), ("label", "region")];
    assert_eq!(
        parsed.count("metrics_label_values_unknown_total", &unknown),
        0
    );
    assert_eq!(parsed.count("metrics_catalog_conflicts", &[]), 1);

    let catalog = instrument_metric::catalog();
    let family = catalog
        .families
        .iter()
        .find(|family| family.name == "notify_sent_total")
        .unwrap();
    assert_eq!(family.labels, ["region"]);
    let dashboard = Export::new(&catalog, "runtime label sets test").dashboard();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut expressions = Vec::new();
    collect_expressions(&dashboard, &mut expressions);
    let wanted = r#"sum by (region)(rate(notify_sent_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))"#;
    assert!(
        expressions.iter().any(|expr| expr == wanted),
        "the family's panel sums by its run-time label: {expressions:#?}"
    );
}

/// Every `expr` of the dashboard's panels.
fn collect_expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field.as_str()) {
                    ("expr", Some(expr)) => out.push(expr.to_owned()),
                    _ => collect_expressions(field, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_expressions(item, out);
            }
        }
        _ => {}
    }
}
