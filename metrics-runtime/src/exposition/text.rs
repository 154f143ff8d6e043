//! The text of the two exposition formats: escaping, numbers, and the [`Writer`] every family
//! writes itself through, so that one code path decides how a line looks.
//!
//! A counter family written in each format:
//!
//! ```text
//! # HELP sms_sent_total SMS messages sent.          # HELP sms_sent SMS messages sent.
//! # TYPE sms_sent_total counter                     # TYPE sms_sent counter
//! sms_sent_total{provider="twilio"} 3               sms_sent_total{provider="twilio"} 3
//!                                                   ...
//!                                                   # EOF
//! ```
//!
//! Prometheus text 0.0.4 on the left, OpenMetrics 1.0 on the right: there the family of a
//! counter is named without `_total`, a family whose name ends in a unit has a `# UNIT` line,
//! and the exposition ends with `# EOF`. Metadata comes in one order in both: HELP, TYPE, UNIT.

use std::time::{SystemTime, UNIX_EPOCH};

// The unit a family name ends in (`_seconds`), which OpenMetrics names in a `# UNIT` line: one
// of the units a histogram's name may end in, from the rule table the macros read too.
use instrument_metric_rules::unit_of;

use crate::exposition::{Buckets, Exposition, HistogramReading, Kind, Value};
use crate::model::labels::Labels;
pub(crate) use crate::model::labels::render_labels;
use crate::storage::exemplar::Exemplar;

/// The content type of the Prometheus text format 0.0.4.
///
/// ```
/// assert!(instrument_metric::TEXT_CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of OpenMetrics 1.0 text.
///
/// ```
/// assert!(instrument_metric::OPENMETRICS_CONTENT_TYPE.starts_with("application/openmetrics-text"));
/// ```
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum Format {
    /// The Prometheus text format 0.0.4, the default.
    #[default]
    Text,
    /// OpenMetrics 1.0 text, with `# EOF`, `# UNIT` and counters named without `_total`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of this format.
    ///
    /// ```
    /// use instrument_metric::Format;
    ///
    /// assert_eq!(Format::Text.content_type(), instrument_metric::TEXT_CONTENT_TYPE);
    /// ```
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// A number as OpenMetrics writes it: `+Inf`, `-Inf`, `NaN`, or the shortest text that
/// reads back as the same `f64`, with a decimal point or exponent (`1.0`, `0.005`, `1e21`).
pub(crate) fn openmetrics_number(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(value));
    }
}

/// A bound or quantile as a label value in `format`: `0.005` and `1` in the text format,
/// `0.005` and `1.0` in OpenMetrics.
pub(crate) fn bound_text(bound: f64, format: Format) -> String {
    match format {
        Format::Text => bound.to_string(),
        Format::OpenMetrics => {
            let mut text = String::new();
            openmetrics_number(bound, &mut text);
            text
        }
    }
}

/// `text` as a PromQL string literal, quoted and escaped: control characters as `\uXXXX`,
/// and U+FFFD too, which PromQL's lexer takes for an invalid UTF-8 byte.
pub(crate) fn promql_string(text: &str) -> String {
    use std::fmt::Write as _;
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if c.is_control() || c == '\u{FFFD}' => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `text` with the characters a regular expression (RE2, as PromQL's `=~`) gives a meaning
/// escaped, so that it matches itself only.
pub(crate) fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The `le` label values of `bounds` in `format`, `+Inf` last.
pub(crate) fn le_values(bounds: &[f64], format: Format) -> Vec<String> {
    bounds
        .iter()
        .map(|bound| bound_text(*bound, format))
        .chain(std::iter::once("+Inf".to_owned()))
        .collect()
}

/// Writes families, line by line, in one format. Families call it; it knows no registry.
pub(crate) struct Writer<'a> {
    out: &'a mut String,
    format: Format,
    integers: itoa::Buffer,
    /// Each family written, with its number of series.
    families: Vec<(String, u64)>,
    /// Whether OpenMetrics gets `_created` samples.
    created: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut String, format: Format) -> Self {
        Writer {
            out,
            format,
            integers: itoa::Buffer::new(),
            families: Vec::new(),
            created: false,
        }
    }

    /// Writes, in OpenMetrics, a `_created` sample (Unix seconds) after each counter's
    /// `_total` and each histogram's `_sum` and `_count` whose start is known: Prometheus 2
    /// stores them as series of their own, hence not by default.
    pub(crate) fn with_created(mut self, created: bool) -> Self {
        self.created = created;
        self
    }

    /// The `# HELP`, `# TYPE` and (OpenMetrics, for a name ending in a unit) `# UNIT` lines.
    pub(crate) fn header(&mut self, name: &str, help: &str, kind: impl Into<Kind>) {
        let kind = kind.into();
        self.families.push((name.to_owned(), 0));
        let openmetrics = self.format == Format::OpenMetrics;
        let family = match kind {
            Kind::Counter if openmetrics => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        self.out.push_str("# HELP ");
        self.out.push_str(family);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '"' if openmetrics => self.out.push_str("\\\""),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(family);
        self.out.push(' ');
        self.out.push_str(match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Unknown if openmetrics => "unknown",
            Kind::Unknown => "untyped",
        });
        self.out.push('\n');
        if openmetrics && let Some(unit) = unit_of(family) {
            self.out.push_str("# UNIT ");
            self.out.push_str(family);
            self.out.push(' ');
            self.out.push_str(unit);
            self.out.push('\n');
        }
    }

    /// `name{labels,extra="value"} ` (the value follows); no braces when there is no label.
    /// The extra label's value is written as it is (a number, an outcome).
    fn start(&mut self, name: &str, suffix: &str, labels: &[&Labels], extra: Option<(&str, &str)>) {
        self.out.push_str(name);
        self.out.push_str(suffix);
        let mut first = true;
        for part in labels
            .iter()
            .map(|part| part.text())
            .filter(|text| !text.is_empty())
        {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(part);
        }
        if let Some((label, value)) = extra {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(label);
            self.out.push_str("=\"");
            self.out.push_str(value);
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
    }

    /// One series of a counter family `name`. `labels` are rendered label lists
    /// ([`render_labels`], joined with commas, empty ones skipped); `extra` is one more label
    /// whose value needs no escaping (`result="ok"`, `status="200"`). The sample is named
    /// `name` in the text format, and the family's name with `_total` in OpenMetrics (the same
    /// for a name ending in `_total`), where the exemplar follows the value and `_created`
    /// the sample (when asked for).
    fn counter_series(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
        created: Option<SystemTime>,
        exemplar: Option<&Exemplar>,
    ) {
        self.count_series();
        let openmetrics = self.format == Format::OpenMetrics;
        let suffix = if openmetrics && !name.ends_with("_total") {
            "_total"
        } else {
            ""
        };
        self.start(name, suffix, labels, extra);
        self.number(value);
        if openmetrics && let Some(exemplar) = exemplar {
            self.exemplar(exemplar);
        }
        self.out.push('\n');
        if let Some(created) = created.filter(|_| openmetrics && self.created) {
            let family = name.strip_suffix("_total").unwrap_or(name);
            self.created_sample(family, labels, extra, created);
        }
    }

    /// One series of a gauge family (see [`Writer::counter_series`] for `labels` and `extra`).
    pub(crate) fn gauge(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        self.count_series();
        self.start(name, "", labels, extra);
        self.value(value);
    }

    /// One series of a family of unknown type (gathered from a hand-written collector).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn unknown(&mut self, name: &str, labels: &[&Labels], value: Value) {
        self.gauge(name, labels, None, value);
    }

    /// One series of a summary family: its quantiles (quantile, value), sum and count.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn summary(
        &mut self,
        name: &str,
        labels: &[&Labels],
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
    ) {
        self.count_series();
        for (quantile, value) in quantiles {
            let quantile = bound_text(*quantile, self.format);
            self.start(name, "", labels, Some(("quantile", &quantile)));
            self.value(Value::Float(*value));
        }
        self.start(name, "_sum", labels, None);
        self.value(Value::Float(sum));
        self.start(name, "_count", labels, None);
        self.value(Value::Unsigned(count));
    }

    fn value(&mut self, value: Value) {
        self.number(value);
        self.out.push('\n');
    }

    fn number(&mut self, value: Value) {
        match value {
            Value::Unsigned(value) => self.out.push_str(self.integers.format(value)),
            Value::Signed(value) => self.out.push_str(self.integers.format(value)),
            Value::Float(value) => self.float(value),
        }
    }

    /// ` # {trace_id="...",span_id="..."} value timestamp`, after an OpenMetrics sample.
    fn exemplar(&mut self, exemplar: &Exemplar) {
        self.out.push_str(" # {");
        exemplar.labels(self.out);
        self.out.push_str("} ");
        openmetrics_number(exemplar.value, self.out);
        self.out.push(' ');
        openmetrics_number(unix_seconds(exemplar.time), self.out);
    }

    /// `family_created{labels} seconds`.
    fn created_sample(
        &mut self,
        family: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        created: SystemTime,
    ) {
        self.start(family, "_created", labels, extra);
        openmetrics_number(unix_seconds(created), self.out);
        self.out.push('\n');
    }

    fn float(&mut self, value: f64) {
        match self.format {
            Format::OpenMetrics => openmetrics_number(value, self.out),
            Format::Text => {
                if value.is_nan() {
                    self.out.push_str("NaN");
                } else if value.is_infinite() {
                    self.out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
                } else if value.fract() == 0.0 && value.abs() < 1e15 {
                    // Whole numbers as integers (`3`, not `3.0`), as Prometheus' own clients do.
                    #[allow(clippy::cast_possible_truncation)] // |value| < 1e15
                    self.out.push_str(self.integers.format(value as i64));
                } else {
                    self.out.push_str(ryu::Buffer::new().format_finite(value));
                }
            }
        }
    }

    /// The bucket, sum and count lines of one histogram series from cumulative bucket counts
    /// (the last is `+Inf`: the count; `le` from [`le_values`]), with each bucket's exemplar in
    /// OpenMetrics, then `_created` (when asked for).
    ///
    /// In OpenMetrics a histogram's sum is a counter: a series with a bucket below zero has no
    /// sum, nor one whose sum is negative (a negative observation) or NaN (this crate's
    /// histograms ignore NaN observations, a gathered `prometheus` one does not), and without
    /// its sum it has no count either (its `+Inf` bucket is the count). A scraper that follows
    /// the specification refuses the whole exposition otherwise.
    #[allow(clippy::too_many_arguments)] // one series: what the trait's method takes, spelt out
    fn histogram_series(
        &mut self,
        name: &str,
        labels: &[&Labels],
        le: &[String],
        cumulative: &[u64],
        sum: f64,
        created: Option<SystemTime>,
        exemplars: &[Option<Exemplar>],
    ) {
        self.count_series();
        let openmetrics = self.format == Format::OpenMetrics;
        for (bucket, (bound, count)) in le.iter().zip(cumulative).enumerate() {
            self.start(name, "_bucket", labels, Some(("le", bound)));
            self.number(Value::Unsigned(*count));
            if openmetrics && let Some(Some(exemplar)) = exemplars.get(bucket) {
                self.exemplar(exemplar);
            }
            self.out.push('\n');
        }
        let negative_bucket = le.first().is_some_and(|bound| {
            bound.starts_with('-') && bound.parse().is_ok_and(|b: f64| b < 0.0)
        });
        if self.format == Format::OpenMetrics && (negative_bucket || sum.is_nan() || sum < 0.0) {
            return;
        }
        self.start(name, "_sum", labels, None);
        self.value(Value::Float(sum));
        self.start(name, "_count", labels, None);
        self.value(Value::Unsigned(cumulative.last().copied().unwrap_or(0)));
        if let Some(created) = created.filter(|_| openmetrics && self.created) {
            self.created_sample(name, labels, None, created);
        }
    }

    fn count_series(&mut self) {
        if let Some((_, series)) = self.families.last_mut() {
            *series += 1;
        }
    }

    /// Each family written so far, with its number of series (a histogram's is one).
    pub(crate) fn series_counts(&self) -> Vec<(String, u64)> {
        self.families.clone()
    }

    /// The end of an OpenMetrics exposition; nothing in the text format.
    pub(crate) fn finish(&mut self) {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }
}

/// Seconds since the Unix epoch (negative before it).
fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

impl Exposition for Writer<'_> {
    fn buckets<'b>(&self, bounds: &'b [f64]) -> Buckets<'b> {
        Buckets {
            bounds,
            le: le_values(bounds, self.format),
        }
    }

    fn native_histograms(&self) -> bool {
        false
    }

    fn header(&mut self, name: &str, help: &str, kind: Kind) {
        Writer::header(self, name, help, kind);
    }

    fn counter(
        &mut self,
        name: &str,
        labels: &[&Labels],
        extra: Option<(&str, &str)>,
        value: Value,
        created: Option<SystemTime>,
        exemplar: Option<&Exemplar>,
    ) {
        self.counter_series(name, labels, extra, value, created, exemplar);
    }

    fn gauge(&mut self, name: &str, labels: &[&Labels], extra: Option<(&str, &str)>, value: Value) {
        Writer::gauge(self, name, labels, extra, value);
    }

    fn unknown(&mut self, name: &str, labels: &[&Labels], value: Value) {
        Writer::unknown(self, name, labels, value);
    }

    fn summary(
        &mut self,
        name: &str,
        labels: &[&Labels],
        quantiles: &[(f64, f64)],
        sum: f64,
        count: u64,
        created: Option<SystemTime>,
    ) {
        Writer::summary(self, name, labels, quantiles, sum, count);
        if let Some(created) =
            created.filter(|_| self.format == Format::OpenMetrics && self.created)
        {
            self.created_sample(name, labels, None, created);
        }
    }

    fn histogram(
        &mut self,
        name: &str,
        labels: &[&Labels],
        buckets: &Buckets<'_>,
        reading: HistogramReading<'_>,
        created: Option<SystemTime>,
        exemplars: &[Option<Exemplar>],
    ) {
        self.histogram_series(
            name,
            labels,
            &buckets.le,
            reading.cumulative(),
            reading.sum(),
            created,
            exemplars,
        );
    }

    fn series_counts(&self) -> Vec<(String, u64)> {
        Writer::series_counts(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetricKind;
    use crate::model::labels::escape_label_value;

    fn written(format: Format, write: impl FnOnce(&mut Writer<'_>)) -> String {
        let mut out = String::new();
        write(&mut Writer::new(&mut out, format));
        out
    }

    #[test]
    fn numbers() {
        let om = |value| {
            let mut out = String::new();
            openmetrics_number(value, &mut out);
            out
        };
        assert_eq!(om(1.0), "1.0");
        assert_eq!(om(0.005), "0.005");
        assert_eq!(om(f64::INFINITY), "+Inf");
        assert_eq!(om(f64::NEG_INFINITY), "-Inf");
        assert_eq!(om(f64::NAN), "NaN");
        assert_eq!(om(1e21), "1e21");
        let text = |value| {
            written(Format::Text, |w| {
                w.gauge("x", &[], None, Value::Float(value));
            })
        };
        assert_eq!(text(3.0), "x 3\n");
        assert_eq!(text(0.25), "x 0.25\n");
        assert_eq!(text(-2.0), "x -2\n");
        assert_eq!(text(1e300), "x 1e300\n");
    }

    #[test]
    fn escapes() {
        let mut out = String::new();
        escape_label_value("a\\b\"c\nd", &mut out);
        assert_eq!(out, "a\\\\b\\\"c\\nd");
        let header = |format| {
            written(format, |w| {
                w.header("x_seconds", "a \\ \"b\"\nc", MetricKind::Histogram);
            })
        };
        assert_eq!(
            header(Format::Text),
            "# HELP x_seconds a \\\\ \"b\"\\nc\n# TYPE x_seconds histogram\n"
        );
        assert_eq!(
            header(Format::OpenMetrics),
            "# HELP x_seconds a \\\\ \\\"b\\\"\\nc\n# TYPE x_seconds histogram\n# UNIT x_seconds seconds\n"
        );
    }

    #[test]
    fn a_family_in_kelvin_has_a_unit_line() {
        let header = written(Format::OpenMetrics, |w| {
            w.header("room_kelvin", "Room.", MetricKind::Histogram);
        });
        assert!(header.ends_with("# UNIT room_kelvin kelvin\n"), "{header}");
        // Registered by hand, as a `#[derive(Metrics)]` field or an attribute's histogram is.
        let registry = crate::Registry::new();
        let histogram = registry
            .histogram(
                "room_temperature_kelvin",
                "Room temperature.",
                &[250.0, 300.0],
            )
            .unwrap();
        histogram.observe(293.0);
        let text = registry.render_as(Format::OpenMetrics);
        assert!(
            text.contains(
                "# TYPE room_temperature_kelvin histogram\n# UNIT room_temperature_kelvin kelvin\n"
            ),
            "{text}"
        );
        assert!(!registry.render_as(Format::Text).contains("# UNIT"));
    }

    /// A `#[derive(Metrics)]` histogram in kelvin, which the macros accept: its family has a
    /// `# UNIT` line too (the macros and the runtime read one list of units).
    #[test]
    fn a_derived_histogram_in_kelvin_has_a_unit_line() {
        use crate::Metrics as _;

        #[derive(crate::Metrics)]
        #[metrics(prefix = "oven", scoped, crate = crate)]
        struct Oven {
            /// Oven temperature.
            #[metric(buckets = [300.0, 500.0])]
            temperature_kelvin: crate::Histogram,
        }

        let registry = crate::Registry::new();
        let oven = Oven::register_in(&registry);
        oven.temperature_kelvin.observe(450.0);
        let text = registry.render_as(Format::OpenMetrics);
        assert!(
            text.contains("# UNIT oven_temperature_kelvin kelvin\n"),
            "{text}"
        );
    }

    #[test]
    fn counters_are_named_without_total_in_openmetrics() {
        let out = written(Format::OpenMetrics, |w| {
            w.header("jobs_total", "Jobs.", MetricKind::Counter);
            Exposition::counter(
                w,
                "jobs_total",
                &[&Labels::new([("kind", "a")])],
                None,
                Value::Unsigned(2),
                None,
                None,
            );
            w.finish();
        });
        assert_eq!(
            out,
            "# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total{kind=\"a\"} 2\n# EOF\n"
        );
    }

    #[test]
    fn histogram_lines() {
        let le = le_values(&[0.5, 1.0], Format::Text);
        let out = written(Format::Text, |w| {
            w.histogram_series(
                "t_seconds",
                &[&Labels::default(), &Labels::new([("a", "x")])],
                &le,
                &[1, 2, 3],
                1.5,
                None,
                &[],
            );
            w.histogram_series("u_seconds", &[], &le, &[0, 0, 0], 0.0, None, &[]);
        });
        assert_eq!(
            out,
            "t_seconds_bucket{a=\"x\",le=\"0.5\"} 1\nt_seconds_bucket{a=\"x\",le=\"1\"} 2\nt_seconds_bucket{a=\"x\",le=\"+Inf\"} 3\nt_seconds_sum{a=\"x\"} 1.5\nt_seconds_count{a=\"x\"} 3\n\
             u_seconds_bucket{le=\"0.5\"} 0\nu_seconds_bucket{le=\"1\"} 0\nu_seconds_bucket{le=\"+Inf\"} 0\nu_seconds_sum 0\nu_seconds_count 0\n"
        );
    }

    #[test]
    fn openmetrics_histograms_have_no_sum_that_is_not_a_count() {
        let le = le_values(&[0.5], Format::OpenMetrics);
        let below_zero = le_values(&[-1.0, 0.5], Format::OpenMetrics);
        let out = written(Format::OpenMetrics, |w| {
            w.histogram_series("a", &[], &le, &[1, 1], -2.0, None, &[]);
            w.histogram_series("b", &[], &le, &[0, 1], f64::NAN, None, &[]);
            w.histogram_series("c", &[], &below_zero, &[0, 1, 1], 0.25, None, &[]);
            w.histogram_series("d", &[], &le, &[1, 1], 0.25, None, &[]);
        });
        assert_eq!(
            out,
            "a_bucket{le=\"0.5\"} 1\na_bucket{le=\"+Inf\"} 1\n\
             b_bucket{le=\"0.5\"} 0\nb_bucket{le=\"+Inf\"} 1\n\
             c_bucket{le=\"-1.0\"} 0\nc_bucket{le=\"0.5\"} 1\nc_bucket{le=\"+Inf\"} 1\n\
             d_bucket{le=\"0.5\"} 1\nd_bucket{le=\"+Inf\"} 1\nd_sum 0.25\nd_count 1\n"
        );
        // The text format has no such rule.
        let le = le_values(&[0.5], Format::Text);
        let text = written(Format::Text, |w| {
            w.histogram_series("a", &[], &le, &[1, 1], -2.0, None, &[]);
        });
        assert!(text.contains("a_sum -2\na_count 1\n"), "{text}");
    }

    #[test]
    fn exemplars_and_created_samples_in_openmetrics_only() {
        use crate::storage::exemplar::Trace;
        let time = |seconds: u64| UNIX_EPOCH + std::time::Duration::from_millis(seconds);
        let exemplar = Exemplar {
            trace: Trace {
                trace_id: 0xabc,
                span_id: 0x12,
            },
            value: 0.25,
            time: time(1_700_000_000_500),
        };
        let write = |format: Format| {
            let mut out = String::new();
            let mut writer = Writer::new(&mut out, format).with_created(true);
            let w: &mut dyn Exposition = &mut writer;
            w.header("jobs_total", "Jobs.", Kind::Counter);
            let created = Some(time(1_600_000_000_000));
            let ok = Some(("result", "ok"));
            w.counter(
                "jobs_total",
                &[&Labels::new([("a", "x")])],
                ok,
                Value::Unsigned(2),
                created,
                Some(&exemplar),
            );
            w.header("t_seconds", "T.", Kind::Histogram);
            let buckets = w.buckets(&[0.5]);
            let reading = HistogramReading::Classic {
                cumulative: &[1, 3],
                sum: 2.0,
            };
            w.histogram(
                "t_seconds",
                &[],
                &buckets,
                reading,
                created,
                &[Some(exemplar), None],
            );
            writer.finish();
            out
        };
        let exemplar_text = "# {trace_id=\"00000000000000000000000000000abc\",span_id=\"0000000000000012\"} 0.25 1700000000.5";
        assert_eq!(
            write(Format::OpenMetrics),
            format!(
                "# HELP jobs Jobs.\n# TYPE jobs counter\n\
                 jobs_total{{a=\"x\",result=\"ok\"}} 2 {exemplar_text}\n\
                 jobs_created{{a=\"x\",result=\"ok\"}} 1600000000.0\n\
                 # HELP t_seconds T.\n# TYPE t_seconds histogram\n# UNIT t_seconds seconds\n\
                 t_seconds_bucket{{le=\"0.5\"}} 1 {exemplar_text}\n\
                 t_seconds_bucket{{le=\"+Inf\"}} 3\nt_seconds_sum 2.0\nt_seconds_count 3\n\
                 t_seconds_created 1600000000.0\n# EOF\n"
            )
        );
        assert_eq!(
            write(Format::Text),
            "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{a=\"x\",result=\"ok\"} 2\n\
             # HELP t_seconds T.\n# TYPE t_seconds histogram\n\
             t_seconds_bucket{le=\"0.5\"} 1\nt_seconds_bucket{le=\"+Inf\"} 3\nt_seconds_sum 2\nt_seconds_count 3\n"
        );
    }
}
