//! Encoding the registry: the Prometheus text format 0.0.4, and OpenMetrics 1.0 text for
//! scrapers that ask for it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};

use crate::cells::Readings;
use crate::registry::{
    CONFLICTS_FAMILY, NativeFamily, NativeKind, conflict_count, native_cells, native_families,
    registry, report_hand_registered_duplicate,
};

/// The content type of the Prometheus text format 0.0.4.
///
/// ```
/// assert!(metrics_runtime::TEXT_CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of OpenMetrics 1.0 text.
///
/// ```
/// assert!(metrics_runtime::OPENMETRICS_CONTENT_TYPE.starts_with("application/openmetrics-text"));
/// ```
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format.
///
/// ```
/// use metrics_runtime::Format;
///
/// let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::from_accept(prometheus), Format::OpenMetrics);
/// assert_eq!(Format::from_accept("text/plain"), Format::Text);
/// assert_eq!(Format::from_accept("application/openmetrics-text;q=0"), Format::Text);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// The Prometheus text format 0.0.4, the default.
    #[default]
    Text,
    /// OpenMetrics 1.0 text, with `# EOF`, `# UNIT` and counters named without `_total`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of this format.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Renders every metric of [`registry`] in the Prometheus text exposition format 0.0.4.
///
/// A family that cannot be encoded (which only a hand-registered, broken collector can
/// produce) is left out; the rest is still rendered.
///
/// ```
/// let text = metrics_runtime::render();
/// assert!(text.is_empty() || text.starts_with("# HELP"));
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
    let families = registry().gather();
    let mut out = String::with_capacity(LAST_SIZE.load(Ordering::Relaxed) + 4096);
    for family in native {
        native_family(family, &readings, format, &mut out);
    }
    #[cfg(feature = "axum")]
    http_families(format, &mut out);
    conflicts_family(&mut out);
    // A family registered by hand under the name of a family written above would repeat it:
    // the crate's own is exported, and the other is reported as a conflict.
    let hand_registered = families.iter().filter(|family| {
        let name = family.name();
        let repeated = native.binary_search_by(|n| n.name.cmp(name)).is_ok()
            || name == CONFLICTS_FAMILY
            || cfg!(feature = "axum") && http_family(name);
        if repeated {
            report_hand_registered_duplicate(name);
        }
        !repeated
    });
    write_gathered(hand_registered, format, &mut out);
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

/// `metrics_catalog_conflicts`: conflicting declarations, so that a dashboard or an alert sees
/// what [`check`](crate::check) would report.
fn conflicts_family(out: &mut String) {
    let help = "Conflicting metric declarations: each one's series are missing from this exposition; metrics_runtime::check() and the log name their source locations.";
    let _ = write!(
        out,
        "# HELP {CONFLICTS_FAMILY} {help}\n# TYPE {CONFLICTS_FAMILY} gauge\n{CONFLICTS_FAMILY}"
    );
    let constant: Vec<(&str, &str)> = crate::registry::constant_labels()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if !constant.is_empty() {
        let _ = write!(out, "{{{}}}", render_labels(&constant));
    }
    out.push(' ');
    out.push_str(itoa::Buffer::new().format(conflict_count()));
    out.push('\n');
}

/// Encodes gathered families alone (the OpenMetrics `# EOF` included).
pub(crate) fn encode_gathered(families: &[MetricFamily], format: Format) -> String {
    let mut out = String::new();
    write_gathered(families.iter(), format, &mut out);
    out
}

fn write_gathered<'a>(
    families: impl Iterator<Item = &'a MetricFamily>,
    format: Format,
    out: &mut String,
) {
    match format {
        Format::Text => {
            let encoder = prometheus::TextEncoder::new();
            for family in families {
                // A refused family (only a broken hand-written collector makes one) is left
                // out; the rest is still rendered.
                let _ = encoder.encode_utf8(std::slice::from_ref(family), out);
            }
        }
        Format::OpenMetrics => {
            for family in families {
                openmetrics_family(family, out);
            }
            out.push_str("# EOF\n");
        }
    }
}

/// `name="value",...` with values escaped, for labels sorted by name.
pub(crate) fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(value, &mut out);
        out.push('"');
    }
    out
}

/// Writes one family of instrumented functions straight from the readings of its cells: no
/// intermediate protobuf-like structures, no per-series allocation.
fn native_family(family: &NativeFamily, readings: &Readings, format: Format, out: &mut String) {
    let name = family.name;
    let (kind, base) = match family.kind {
        NativeKind::Calls => ("counter", name.strip_suffix("_total").unwrap_or(name)),
        NativeKind::Duration => ("histogram", name),
        NativeKind::InFlight => ("gauge", name),
    };
    let metadata_name = if format == Format::OpenMetrics {
        base
    } else {
        name
    };
    out.push_str("# HELP ");
    out.push_str(metadata_name);
    out.push(' ');
    if format == Format::OpenMetrics {
        escape(family.help, out);
    } else {
        escape_help(family.help, out);
    }
    out.push_str("\n# TYPE ");
    out.push_str(metadata_name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    if format == Format::OpenMetrics
        && family.kind == NativeKind::Duration
        && name.ends_with("_seconds")
    {
        out.push_str("# UNIT ");
        out.push_str(name);
        out.push_str(" seconds\n");
    }
    let mut integers = itoa::Buffer::new();
    match family.kind {
        NativeKind::Calls => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                for outcome in series.outcomes {
                    line(
                        out,
                        name,
                        "",
                        &series.labels,
                        Some(("result", outcome.as_str())),
                    );
                    out.push_str(integers.format(reading.calls(*outcome)));
                    out.push('\n');
                }
            }
        }
        NativeKind::InFlight => {
            for series in &family.series {
                line(out, name, "", &series.labels, None);
                out.push_str(integers.format(readings.get(series.cells).in_flight()));
                out.push('\n');
            }
        }
        NativeKind::Duration => {
            let bounds = le_values(family.bounds, format);
            for series in &family.series {
                let reading = readings.get(series.cells);
                histogram_lines(
                    out,
                    name,
                    &series.labels,
                    &bounds,
                    reading.buckets(),
                    reading.sum_nanos(),
                );
            }
        }
    }
}

/// The HTTP layer's families, straight from one reading of its cells; nothing before the
/// first request.
#[cfg(feature = "axum")]
fn http_families(format: Format, out: &mut String) {
    use crate::instrument::Outcome;

    let routes = crate::http::routes();
    if routes.is_empty() {
        return;
    }
    // One reading of every status of every route, so that the requests by status add up to
    // the histogram's count.
    let mut readings = Readings::default();
    let mut statuses: Vec<Vec<(usize, usize)>> = Vec::with_capacity(routes.len());
    let mut next = 0;
    for route in &routes {
        let mut seen = Vec::new();
        for (status, cells) in route.by_status() {
            seen.push((status, next));
            next += 1;
            readings.push(cells);
        }
        statuses.push(seen);
    }
    let mut integers = itoa::Buffer::new();
    let header = |out: &mut String, name: &str, base: &str, kind: &str, help: &str| {
        let shown = if format == Format::OpenMetrics {
            base
        } else {
            name
        };
        let _ = write!(out, "# HELP {shown} {help}\n# TYPE {shown} {kind}\n");
    };
    header(
        out,
        "http_requests_total",
        "http_requests",
        "counter",
        "HTTP requests served, by method, route and status.",
    );
    for (route, seen) in routes.iter().zip(&statuses) {
        for (status, reading) in seen {
            line(
                out,
                "http_requests_total",
                "",
                &route.labels,
                Some(("status", integers.format(*status))),
            );
            out.push_str(integers.format(readings.get(*reading).calls(Outcome::Ok)));
            out.push('\n');
        }
    }
    let name = "http_request_duration_seconds";
    header(
        out,
        name,
        name,
        "histogram",
        "Time from receiving an HTTP request to sending its response headers, in seconds.",
    );
    if format == Format::OpenMetrics {
        out.push_str("# UNIT http_request_duration_seconds seconds\n");
    }
    let bounds = le_values(prometheus::DEFAULT_BUCKETS, format);
    let mut total = Vec::new();
    for (route, seen) in routes.iter().zip(&statuses) {
        total.clear();
        total.resize(bounds.len(), 0_u64);
        let mut sum_nanos = 0_u64;
        for (_, reading) in seen {
            let reading = readings.get(*reading);
            sum_nanos += reading.sum_nanos();
            for (sum, count) in total.iter_mut().zip(reading.buckets()) {
                *sum += count;
            }
        }
        histogram_lines(out, name, &route.labels, &bounds, &total, sum_nanos);
    }
    header(
        out,
        "http_requests_in_flight",
        "http_requests_in_flight",
        "gauge",
        "HTTP requests being served.",
    );
    for route in &routes {
        line(out, "http_requests_in_flight", "", &route.labels, None);
        out.push_str(integers.format(route.in_flight()));
        out.push('\n');
    }
}

/// The `le` label values of `bounds` in `format`, `+Inf` last.
fn le_values(bounds: &[f64], format: Format) -> Vec<String> {
    bounds
        .iter()
        .map(|bound| {
            if format == Format::OpenMetrics {
                number(*bound)
            } else {
                bound.to_string()
            }
        })
        .chain(std::iter::once("+Inf".to_owned()))
        .collect()
}

/// The bucket, sum and count lines of one histogram series from cumulative `buckets`.
fn histogram_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[String],
    buckets: &[u64],
    sum_nanos: u64,
) {
    let mut integers = itoa::Buffer::new();
    for (bound, count) in bounds.iter().zip(buckets) {
        line(out, name, "_bucket", labels, Some(("le", bound)));
        out.push_str(integers.format(*count));
        out.push('\n');
    }
    line(out, name, "_sum", labels, None);
    #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact far past a year
    out.push_str(ryu::Buffer::new().format(sum_nanos as f64 / 1e9));
    out.push('\n');
    line(out, name, "_count", labels, None);
    out.push_str(integers.format(buckets.last().copied().unwrap_or(0)));
    out.push('\n');
}

/// `name_suffix{labels,extra="value"} ` (the value follows).
fn line(out: &mut String, name: &str, suffix: &str, labels: &str, extra: Option<(&str, &str)>) {
    out.push_str(name);
    out.push_str(suffix);
    out.push('{');
    out.push_str(labels);
    if let Some((label, value)) = extra {
        if !labels.is_empty() {
            out.push(',');
        }
        out.push_str(label);
        out.push_str("=\"");
        out.push_str(value);
        out.push('"');
    }
    out.push_str("} ");
}

/// Escapes `\\` and line feeds, as the text format requires in help texts.
fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Units that OpenMetrics `# UNIT` lines name, when a family name ends in one.
const UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "celsius", "meters", "volts", "amperes", "joules", "grams",
];

fn openmetrics_family(family: &MetricFamily, out: &mut String) {
    let name = family.name();
    let kind = family.get_field_type();
    let base = match kind {
        MetricType::COUNTER => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let type_name = match kind {
        MetricType::COUNTER => "counter",
        MetricType::GAUGE => "gauge",
        MetricType::HISTOGRAM => "histogram",
        MetricType::SUMMARY => "summary",
        MetricType::UNTYPED => "unknown",
    };
    let _ = writeln!(out, "# TYPE {base} {type_name}");
    if let Some(unit) = UNITS.iter().find(|unit| {
        base.strip_suffix(**unit)
            .is_some_and(|stem| stem.ends_with('_'))
    }) {
        let _ = writeln!(out, "# UNIT {base} {unit}");
    }
    out.push_str("# HELP ");
    out.push_str(base);
    out.push(' ');
    escape(family.help(), out);
    out.push('\n');
    for metric in family.get_metric() {
        let labels = metric.get_label();
        match kind {
            MetricType::COUNTER => {
                let value = metric.get_counter().get_value();
                sample(out, base, "_total", labels, None, value);
            }
            MetricType::GAUGE => {
                sample(out, base, "", labels, None, metric.get_gauge().get_value());
            }
            MetricType::UNTYPED => {
                // tikv creates no untyped metrics; a hand-written collector still may.
                #[allow(deprecated)]
                let value = metric.get_untyped().get_value();
                sample(out, base, "", labels, None, value);
            }
            MetricType::HISTOGRAM => histogram(out, base, metric),
            MetricType::SUMMARY => {
                let summary = metric.get_summary();
                for quantile in summary.get_quantile() {
                    let q = number(quantile.quantile());
                    sample(
                        out,
                        base,
                        "",
                        labels,
                        Some(("quantile", &q)),
                        quantile.value(),
                    );
                }
                sample(out, base, "_sum", labels, None, summary.sample_sum());
                #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
                sample(
                    out,
                    base,
                    "_count",
                    labels,
                    None,
                    summary.sample_count() as f64,
                );
            }
        }
    }
}

fn histogram(out: &mut String, base: &str, metric: &Metric) {
    let labels = metric.get_label();
    let histogram = metric.get_histogram();
    let mut saw_infinity = false;
    for bucket in histogram.get_bucket() {
        let bound = bucket.upper_bound();
        saw_infinity |= bound == f64::INFINITY;
        let le = number(bound);
        #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
        sample(
            out,
            base,
            "_bucket",
            labels,
            Some(("le", &le)),
            bucket.cumulative_count() as f64,
        );
    }
    #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
    let count = histogram.get_sample_count() as f64;
    if !saw_infinity {
        sample(out, base, "_bucket", labels, Some(("le", "+Inf")), count);
    }
    sample(out, base, "_count", labels, None, count);
    sample(out, base, "_sum", labels, None, histogram.get_sample_sum());
}

fn sample(
    out: &mut String,
    base: &str,
    suffix: &str,
    labels: &[LabelPair],
    extra: Option<(&str, &str)>,
    value: f64,
) {
    out.push_str(base);
    out.push_str(suffix);
    let pairs = labels
        .iter()
        .map(|pair| (pair.name(), pair.value()))
        .chain(extra);
    let mut first = true;
    for (name, label_value) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape(label_value, out);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    out.push_str(&number(value));
    out.push('\n');
}

/// A number as OpenMetrics writes it: `+Inf`, `-Inf`, `NaN`, or Rust's shortest round-trip
/// form with a decimal point (`1.0`, `0.005`, `1e-7`).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".to_owned()
        } else {
            "-Inf".to_owned()
        }
    } else {
        format!("{value:?}")
    }
}

/// Escapes `\`, `"` and line feeds, as OpenMetrics requires in label values and help texts.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(1.0), "1.0");
        assert_eq!(number(0.005), "0.005");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1e21), "1e21");
    }

    #[test]
    fn escapes() {
        let mut out = String::new();
        escape("a\\b\"c\nd", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd");
    }
}
