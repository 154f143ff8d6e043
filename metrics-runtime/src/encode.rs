//! Rendering the registry: every family, whatever declared it, written through one
//! [`Writer`](crate::text::Writer) in the format asked for.

use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::proto::{MetricFamily, MetricType};

use crate::cells::Readings;
use crate::model::MetricKind;
use crate::registry::{
    CONFLICTS_FAMILY, NativeFamily, NativeKind, conflict_count, constant_labels, native_cells,
    native_families, registry, report_hand_registered_duplicate,
};
use crate::text::{Format, Kind, Value, Writer, le_values, render_labels};

/// Renders every metric of [`registry`] in the Prometheus text exposition format 0.0.4.
///
/// ```
/// let text = metrics_runtime::render();
/// assert!(text.starts_with("# HELP"));
/// ```
#[must_use]
pub fn render() -> String {
    render_as(Format::Text)
}

/// The last exposition's size, so that the buffer is allocated once at the right size.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(64 * 1024);

/// Renders every metric of [`registry`] in `format`.
///
/// ```
/// use metrics_runtime::Format;
///
/// let text = metrics_runtime::render_as(Format::OpenMetrics);
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[must_use]
pub fn render_as(format: Format) -> String {
    let native = native_families();
    // Every cell is read once, before anything is written: a function's counter rows and its
    // histogram come from the same reading, so they agree even while calls are recorded.
    let readings = Readings::take(native_cells().iter().copied());
    let gathered = registry().gather();
    let mut out = String::with_capacity(LAST_SIZE.load(Ordering::Relaxed) + 4096);
    let mut writer = Writer::new(&mut out, format);
    for family in native {
        native_family(family, &readings, &mut writer);
    }
    #[cfg(feature = "axum")]
    crate::http::write_families(&mut writer);
    conflicts_family(&mut writer);
    for family in &gathered {
        // A family registered by hand under the name of a family written above would repeat
        // it: the crate's own is exported, and the other is reported as a conflict.
        let name = family.name();
        let repeated = native.binary_search_by(|n| n.name.cmp(name)).is_ok()
            || name == CONFLICTS_FAMILY
            || http_family(name);
        if repeated {
            report_hand_registered_duplicate(name);
        } else {
            gathered_family(family, &mut writer);
        }
    }
    writer.finish();
    LAST_SIZE.store(out.len(), Ordering::Relaxed);
    out
}

#[cfg(feature = "axum")]
fn http_family(name: &str) -> bool {
    crate::http::FAMILIES.contains(&name)
}

#[cfg(not(feature = "axum"))]
fn http_family(_: &str) -> bool {
    false
}

/// The constant labels, rendered.
fn constant() -> String {
    render_labels(
        constant_labels()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )
}

/// `metrics_catalog_conflicts`: conflicting declarations, so that a dashboard or an alert sees
/// what [`check`](crate::check) would report.
fn conflicts_family(writer: &mut Writer<'_>) {
    let help = "Conflicting metric declarations: each one's series are missing from this exposition; metrics_runtime::check() and the log name their source locations.";
    writer.header(CONFLICTS_FAMILY, help, MetricKind::Gauge);
    let count = u64::try_from(conflict_count()).unwrap_or(u64::MAX);
    writer.gauge(
        CONFLICTS_FAMILY,
        &[&constant()],
        None,
        Value::Unsigned(count),
    );
}

/// Writes one family of instrumented functions from the readings of its cells.
fn native_family(family: &NativeFamily, readings: &Readings, writer: &mut Writer<'_>) {
    let name = family.name;
    let kind = match family.kind {
        NativeKind::Calls => MetricKind::Counter,
        NativeKind::Duration => MetricKind::Histogram,
        NativeKind::InFlight => MetricKind::Gauge,
    };
    writer.header(name, family.help, kind);
    match family.kind {
        NativeKind::Calls => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                for outcome in series.outcomes {
                    let calls = Value::Unsigned(reading.calls(*outcome));
                    let result = Some(("result", outcome.as_str()));
                    writer.counter(name, &[&series.labels], result, calls);
                }
            }
        }
        NativeKind::InFlight => {
            for series in &family.series {
                let in_flight = Value::Signed(readings.get(series.cells).in_flight());
                writer.gauge(name, &[&series.labels], None, in_flight);
            }
        }
        NativeKind::Duration => {
            let le = le_values(family.bounds, writer.format());
            for series in &family.series {
                let reading = readings.get(series.cells);
                #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact past a year
                let sum = reading.sum_nanos() as f64 / 1e9;
                writer.histogram(name, &[&series.labels], &le, reading.buckets(), sum);
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
        gathered_family(family, &mut writer);
    }
    writer.finish();
    out
}

/// Writes a family gathered from a tikv `prometheus::Registry`, through the same writer.
fn gathered_family(family: &MetricFamily, writer: &mut Writer<'_>) {
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
        let labels = [labels.as_str()];
        match kind {
            Kind::Counter => {
                let value = Value::Float(metric.get_counter().get_value());
                writer.counter(name, &labels, None, value);
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
                let le = le_values(&bounds, writer.format());
                writer.histogram(name, &labels, &le, &cumulative, histogram.get_sample_sum());
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
                );
            }
        }
    }
}
