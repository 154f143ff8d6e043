//! Families registered by hand in a tikv `prometheus::Registry` attached with
//! [`Registry::attach_prometheus`](crate::Registry::attach_prometheus): gathered at each scrape
//! and written through the same writer as every other family.

use prometheus::proto::{MetricFamily, MetricType};

use crate::exposition::{Exposition, HistogramReading, Kind, Value};
use crate::registry::{Registry, Snapshot};
use crate::text::{Format, Writer, render_labels};

/// Writes the families of every registry attached to `registry`, but those named like one of
/// `registry`'s or like one already written (reported as conflicts).
pub(crate) fn write_attached(
    registry: &Registry,
    snapshot: &Snapshot,
    writer: &mut dyn Exposition,
) {
    for attached in snapshot.attached.iter() {
        for family in attached.gather() {
            let name = family.name();
            let written = writer
                .series_counts()
                .iter()
                .any(|(written, _)| written == name);
            if written || registry.has_family(name) {
                registry.report_gathered_duplicate(name);
            } else {
                gathered_family(&family, registry.constant(), writer);
            }
        }
    }
}

/// Encodes gathered families alone (the OpenMetrics `# EOF` included), for the property
/// tests of the exposition.
pub(crate) fn encode_gathered(families: &[MetricFamily], format: Format) -> String {
    let mut out = String::new();
    let mut writer = Writer::new(&mut out, format);
    for family in families {
        gathered_family(family, "", &mut writer);
    }
    writer.finish();
    out
}

/// Writes a family gathered from a tikv `prometheus::Registry`.
fn gathered_family(family: &MetricFamily, constant: &str, writer: &mut dyn Exposition) {
    let name = family.name();
    let kind = match family.get_field_type() {
        MetricType::COUNTER => Kind::Counter,
        MetricType::GAUGE => Kind::Gauge,
        MetricType::HISTOGRAM => Kind::Histogram,
        MetricType::SUMMARY => Kind::Summary,
        MetricType::UNTYPED => Kind::Unknown,
    };
    writer.header(name, family.help(), kind);
    for metric in family.get_metric() {
        let labels = render_labels(
            metric
                .get_label()
                .iter()
                .map(|pair| (pair.name(), pair.value())),
        );
        let labels = [labels.as_str(), constant];
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
