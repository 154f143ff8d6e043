//! Families registered by hand in a tikv `prometheus::Registry` attached with
//! [`Registry::attach_prometheus`](crate::Registry::attach_prometheus): gathered at each scrape
//! and written through the same writer as every other family.

use std::collections::{BTreeSet, HashSet};

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};

use crate::catalog::taken_names;

use crate::exposition::text::{Format, Writer};
use crate::exposition::{Exposition, HistogramReading, Kind, Value};
use crate::model::labels::Labels;
use crate::registry::{Registry, Snapshot};

/// Writes the families of every registry attached to `registry`, but those that would make
/// the exposition invalid (reported as conflicts, once each): a family named like one of
/// `registry`'s or like one already gathered, or one of whose samples another family would
/// write (`x_count` beside a histogram `x`, a gauge `x_total` beside a counter `x`), and a
/// family whose series are not valid as they are (see [`series_problem`]).
pub(crate) fn write_attached(
    registry: &Registry,
    snapshot: &Snapshot,
    writer: &mut dyn Exposition,
) {
    // The names the gathered families written so far take.
    let mut written: HashSet<String> = HashSet::new();
    for attached in snapshot.attached.iter() {
        for family in attached.gather() {
            let name = family.name();
            let taken = taken_names(name, kind(&family));
            let labels: BTreeSet<&str> = family
                .get_metric()
                .iter()
                .flat_map(|metric| metric.get_label().iter().map(LabelPair::name))
                .collect();
            let labels: Vec<&str> = labels.into_iter().collect();
            let problem = series_problem(&family)
                .or_else(|| {
                    taken.iter().any(|name| written.contains(name)).then(|| {
                        "named like another gathered family, or one of its series".to_owned()
                    })
                })
                .or_else(|| registry.gathered_refusal(name, &taken, &labels));
            if let Some(problem) = problem {
                registry.report_gathered(name, &problem);
            } else {
                written.extend(taken);
                gathered_family(&family, registry.constant(), writer);
            }
        }
    }
}

/// Why the series of a gathered family cannot be written as they are, if they cannot: a name
/// or label name Prometheus does not accept, a label twice in one series (tikv accepts a
/// constant label of the same name as a variable one), `le` on a histogram or `quantile` on a
/// summary, the same series twice, or a series of another type (see [`of_another_type`]).
fn series_problem(family: &MetricFamily) -> Option<String> {
    let valid = |name: &str, colon: bool| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    };
    if !valid(family.name(), true) {
        return Some("its name is not a metric name".to_owned());
    }
    let reserved = match kind(family) {
        Kind::Histogram => Some("le"),
        Kind::Summary => Some("quantile"),
        _ => None,
    };
    let mut series = HashSet::new();
    for metric in family.get_metric() {
        let mut names = HashSet::new();
        for pair in metric.get_label() {
            let label = pair.name();
            if !valid(label, false) {
                return Some(format!("its label name `{label}` is not a label name"));
            }
            if !names.insert(label) {
                return Some(format!("a series of it has the label `{label}` twice"));
            }
            if Some(label) == reserved {
                return Some(format!(
                    "a series of it has the label `{label}`, which its type writes"
                ));
            }
        }
        if of_another_type(metric, kind(family)) {
            return Some(
                "a series of it holds a value of another type (tikv gathers the collectors of one name, whatever their type, into one family)"
                    .to_owned(),
            );
        }
        let mut pairs: Vec<(&str, &str)> = metric
            .get_label()
            .iter()
            .map(|pair| (pair.name(), pair.value()))
            .collect();
        pairs.sort_unstable();
        if !series.insert(pairs) {
            return Some("it has a series twice".to_owned());
        }
    }
    None
}

/// Whether `metric` of a family of `kind` holds a value of another type. tikv's `gather`
/// puts the collectors of one name into one family, typed as the first: a gauge and a
/// counter of one name and help with different constant label values both register, and the
/// counter's value would be read as the gauge's (zero). A histogram or summary always has
/// buckets or quantiles; another type's value shows when it is not zero (a zero is the
/// same value in the family's type).
fn of_another_type(metric: &Metric, kind: Kind) -> bool {
    let histogram = !metric.get_histogram().get_bucket().is_empty();
    let summary =
        !metric.get_summary().get_quantile().is_empty() || metric.get_summary().sample_count() != 0;
    #[allow(deprecated)] // tikv creates no untyped metrics; a hand-written collector may
    let untyped = metric.get_untyped().get_value() != 0.0;
    let counter = metric.get_counter().get_value() != 0.0;
    let gauge = metric.get_gauge().get_value() != 0.0;
    match kind {
        Kind::Counter => gauge || untyped || histogram || summary,
        Kind::Gauge => counter || untyped || histogram || summary,
        Kind::Unknown => counter || gauge || histogram || summary,
        Kind::Histogram => !histogram || counter || gauge || untyped || summary,
        Kind::Summary => counter || gauge || untyped || histogram,
    }
}

/// The kind a gathered family is written as.
fn kind(family: &MetricFamily) -> Kind {
    match family.get_field_type() {
        MetricType::COUNTER => Kind::Counter,
        MetricType::GAUGE => Kind::Gauge,
        MetricType::HISTOGRAM => Kind::Histogram,
        MetricType::SUMMARY => Kind::Summary,
        MetricType::UNTYPED => Kind::Unknown,
    }
}

/// Encodes gathered families alone (the OpenMetrics `# EOF` included), for the property
/// tests of the exposition.
pub(crate) fn encode_gathered(families: &[MetricFamily], format: Format) -> String {
    let mut out = String::new();
    let mut writer = Writer::new(&mut out, format);
    for family in families {
        gathered_family(family, &Labels::default(), &mut writer);
    }
    writer.finish();
    out
}

/// Writes a family gathered from a tikv `prometheus::Registry`.
fn gathered_family(family: &MetricFamily, constant: &Labels, writer: &mut dyn Exposition) {
    let name = family.name();
    let kind = kind(family);
    writer.header(name, family.help(), kind);
    for metric in family.get_metric() {
        let labels = Labels::new(
            metric
                .get_label()
                .iter()
                .map(|pair| (pair.name(), pair.value())),
        );
        let labels = [&labels, constant];
        match kind {
            Kind::Counter => {
                let value = Value::Float(metric.get_counter().get_value());
                writer.counter(name, &labels, None, value, None, None);
            }
            Kind::Gauge => {
                let value = Value::Float(metric.get_gauge().get_value());
                writer.gauge(name, &labels, None, value);
            }
            Kind::Unknown => {
                #[allow(deprecated)]
                // tikv creates no untyped metrics; a hand-written collector may
                let value = Value::Float(metric.get_untyped().get_value());
                writer.unknown(name, &labels, value);
            }
            Kind::Histogram => {
                let histogram = metric.get_histogram();
                let finite: Vec<_> = histogram
                    .get_bucket()
                    .iter()
                    .filter(|bucket| bucket.upper_bound().is_finite())
                    .collect();
                let bounds: Vec<f64> = finite.iter().map(|bucket| bucket.upper_bound()).collect();
                let mut cumulative: Vec<u64> = finite
                    .iter()
                    .map(|bucket| bucket.cumulative_count())
                    .collect();
                cumulative.push(histogram.get_sample_count());
                let buckets = writer.buckets(&bounds);
                let reading = HistogramReading::Classic {
                    cumulative: &cumulative,
                    sum: histogram.get_sample_sum(),
                };
                writer.histogram(name, &labels, &buckets, reading, None, &[]);
            }
            Kind::Summary => {
                let summary = metric.get_summary();
                let quantiles: Vec<(f64, f64)> = summary
                    .get_quantile()
                    .iter()
                    .map(|quantile| (quantile.quantile(), quantile.value()))
                    .collect();
                writer.summary(
                    name,
                    &labels,
                    &quantiles,
                    summary.sample_sum(),
                    summary.sample_count(),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Format, Registry};

    #[test]
    fn gathered_families_that_would_break_the_exposition_are_left_out() {
        let registry = Registry::with_constant_labels([("env", "prod")]).unwrap();
        registry
            .histogram("wait_seconds", "Waits.", &[])
            .unwrap()
            .observe(1.0);
        let tikv = prometheus::Registry::new();
        let gauge = |opts: prometheus::Opts| {
            let gauge = prometheus::Gauge::with_opts(opts.const_label("x", "1")).unwrap();
            tikv.register(Box::new(gauge)).unwrap();
        };
        // A series of the histogram's, the sample of a counter `kept`, a label the registry
        // adds to every series.
        gauge(prometheus::Opts::new("wait_seconds_count", "Clash."));
        gauge(prometheus::Opts::new("kept_total", "Clash with a counter."));
        gauge(prometheus::Opts::new("tagged", "A constant label.").const_label("env", "dev"));
        let counter = prometheus::Counter::new("kept", "Kept.").unwrap();
        tikv.register(Box::new(counter)).unwrap();
        // tikv accepts a constant label that is also a variable one.
        let twice = prometheus::GaugeVec::new(
            prometheus::Opts::new("twice", "A label twice.").const_label("zone", "a"),
            &["zone"],
        )
        .unwrap();
        twice.with_label_values(&["b"]).set(1.0);
        tikv.register(Box::new(twice)).unwrap();
        registry.attach_prometheus(tikv);

        for format in [Format::Text, Format::OpenMetrics] {
            let text = registry.render_as(format);
            for left_out in ["wait_seconds_count{x", "tagged", "twice", "kept_total{x"] {
                assert!(!text.contains(left_out), "{left_out} in {text}");
            }
            assert!(text.contains("# TYPE kept counter"), "{text}");
        }
        let conflicts = registry.check().unwrap_err().conflicts;
        let families: Vec<&str> = conflicts.iter().map(|c| c.family.as_str()).collect();
        assert_eq!(
            families,
            ["kept_total", "tagged", "twice", "wait_seconds_count"]
        );
    }

    #[test]
    fn a_family_gathered_with_series_of_two_types_is_left_out() {
        let tikv = prometheus::Registry::new();
        // One name, one help, constant labels of one name: tikv registers both.
        let opts =
            |name, region| prometheus::Opts::new(name, "Mixed.").const_label("region", region);
        let counter = prometheus::Counter::with_opts(opts("mixed", "eu")).unwrap();
        let gauge = prometheus::Gauge::with_opts(opts("mixed", "us")).unwrap();
        let histogram = prometheus::Histogram::with_opts(opts("spread", "eu").into()).unwrap();
        let unobserved = prometheus::IntGauge::with_opts(opts("spread", "us")).unwrap();
        tikv.register(Box::new(counter.clone())).unwrap();
        tikv.register(Box::new(gauge.clone())).unwrap();
        tikv.register(Box::new(histogram)).unwrap();
        tikv.register(Box::new(unobserved)).unwrap();
        counter.inc_by(2.0);
        gauge.set(5.0);
        let registry = Registry::new();
        registry.attach_prometheus(tikv);
        let text = registry.render();
        assert!(
            !text.contains("mixed") && !text.contains("spread"),
            "{text}"
        );
        let conflicts = registry.check().unwrap_err().conflicts;
        let families: Vec<&str> = conflicts.iter().map(|c| c.family.as_str()).collect();
        assert_eq!(families, ["mixed", "spread"]);
    }
}
