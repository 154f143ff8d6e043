//! Every naming, label, bucket and help rule, in one place.
//!
//! The rules follow the Prometheus data model (metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
//! names `[a-zA-Z_][a-zA-Z0-9_]*`, `__` reserved) and its naming practice (counters end in
//! `_total`, base units only). Each check returns a lowercase message that states the rule and
//! the fix; the caller puts it on the offending token.

/// Suffixes a histogram or gauge must not carry: Prometheus derives them from the family.
const RESERVED_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket", "_created"];

/// Label names that Prometheus gives a meaning of its own.
const RESERVED_LABELS: &[&str] = &["le", "quantile"];

/// Unit suffixes that are not base units, with the base unit to use instead.
const NON_BASE_UNITS: &[(&str, &str)] = &[
    ("_ms", "_seconds"),
    ("_msec", "_seconds"),
    ("_millis", "_seconds"),
    ("_milliseconds", "_seconds"),
    ("_us", "_seconds"),
    ("_microseconds", "_seconds"),
    ("_ns", "_seconds"),
    ("_nanoseconds", "_seconds"),
    ("_secs", "_seconds"),
    ("_minutes", "_seconds"),
    ("_hours", "_seconds"),
    ("_days", "_seconds"),
    ("_kb", "_bytes"),
    ("_kib", "_bytes"),
    ("_kilobytes", "_bytes"),
    ("_mb", "_bytes"),
    ("_mib", "_bytes"),
    ("_megabytes", "_bytes"),
    ("_gb", "_bytes"),
    ("_gib", "_bytes"),
    ("_gigabytes", "_bytes"),
    ("_bits", "_bytes"),
    ("_percentage", "_ratio"),
];

/// The kind of metric a name is checked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Counter,
    /// A histogram that times a call: its unit is seconds.
    DurationHistogram,
    /// Any other histogram.
    Histogram,
    Gauge,
}

/// Checks the characters of a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, as the data model and
/// tikv `prometheus` define it.
pub(crate) fn characters(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("metric names must not be empty".to_owned());
    };
    if !(first.is_ascii_alphabetic() || first == '_' || first == ':') {
        return Err(format!(
            "metric names must start with a letter or `_`; `{name}` starts with `{first}`"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == ':'))
    {
        let fixed: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == ':' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        return Err(format!(
            "metric names may only contain ASCII letters, digits and `_`, not `{bad}`; try `{fixed}`"
        ));
    }
    Ok(())
}

/// Checks the characters of a metric name and the rules every kind shares.
fn metric_name_syntax(name: &str) -> Result<(), String> {
    characters(name)?;
    if name.contains(':') {
        return Err(format!(
            "colons in metric names are reserved for recording rules; try `{}`",
            name.replace(':', "_")
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "metric names starting with `__` are reserved for Prometheus; try `{}`",
            name.trim_start_matches('_')
        ));
    }
    if let Some((bad, base)) = NON_BASE_UNITS.iter().find(|(suffix, _)| {
        name.strip_suffix("_total")
            .unwrap_or(name)
            .ends_with(suffix)
    }) {
        let trimmed = name.strip_suffix("_total").unwrap_or(name);
        let stem = &trimmed[..trimmed.len() - bad.len()];
        let tail = if name.ends_with("_total") {
            "_total"
        } else {
            ""
        };
        return Err(format!(
            "metric names use base units, so `{bad}` should be `{base}`; try `{stem}{base}{tail}`"
        ));
    }
    Ok(())
}

/// Checks a metric name for a metric of `kind`.
pub(crate) fn metric_name(name: &str, kind: Kind) -> Result<(), String> {
    metric_name_syntax(name)?;
    let type_word = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram | Kind::DurationHistogram => "histogram",
    };
    let lower = name.to_ascii_lowercase();
    let word = format!("_{type_word}");
    if lower.ends_with(&word) || lower.contains(&format!("{word}_")) {
        let fixed = lower.replace(&format!("{word}_"), "_").replace(&word, "");
        return Err(format!(
            "metric names do not repeat the metric type (`{type_word}`), which Prometheus already knows; try `{fixed}`"
        ));
    }
    match kind {
        Kind::Counter => {
            if !name.ends_with("_total") {
                let stem = RESERVED_SUFFIXES
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                return Err(format!("counter names end in `_total`; try `{stem}_total`"));
            }
        }
        Kind::DurationHistogram | Kind::Histogram | Kind::Gauge => {
            if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(**s)) {
                let what = if kind == Kind::Gauge {
                    "gauge"
                } else {
                    "histogram"
                };
                let stem = &name[..name.len() - suffix.len()];
                let fix = if kind == Kind::DurationHistogram {
                    format!("{}_seconds", stem.trim_end_matches("_seconds"))
                } else {
                    stem.to_owned()
                };
                return Err(format!(
                    "a {what} name must not end in `{suffix}`, which Prometheus derives from the family; try `{fix}`"
                ));
            }
            if kind == Kind::DurationHistogram && !name.ends_with("_seconds") {
                return Err(format!(
                    "a histogram that times a call measures seconds, so its name ends in `_seconds`; try `{name}_seconds`"
                ));
            }
        }
    }
    Ok(())
}

/// Checks a name spelled in code that refers to a metric or a recording rule: the characters
/// of a metric name, colons allowed.
pub(crate) fn referenced_name(name: &str) -> Result<(), String> {
    characters(name)
}

/// Checks a `#[metrics(prefix = "...")]`: the start of every family name of a struct.
pub(crate) fn prefix(name: &str) -> Result<(), String> {
    metric_name_syntax(name)?;
    if name.ends_with('_') {
        return Err(format!(
            "the prefix is joined to each field name with `_`, so it must not end in `_`; try `{}`",
            name.trim_end_matches('_')
        ));
    }
    Ok(())
}

/// Checks a label value given in code (a renamed enum variant).
pub(crate) fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "a label value must not be empty: Prometheus treats an empty value as a missing label"
                .to_owned(),
        );
    }
    Ok(())
}

/// Checks a `name = "..."` stem, from which `_total`, `_duration_seconds` and `_in_flight` are made.
pub(crate) fn stem(name: &str) -> Result<(), String> {
    metric_name_syntax(name)?;
    let suffixes = ["_total", "_duration_seconds", "_seconds", "_in_flight"];
    if let Some(suffix) = suffixes.iter().find(|s| name.ends_with(**s)) {
        let stem = &name[..name.len() - suffix.len()];
        return Err(format!(
            "`name` is a stem that gets `_total`, `_duration_seconds` and `_in_flight` appended, so it must not end in `{suffix}`; try `{stem}`"
        ));
    }
    Ok(())
}

/// Checks one label name. `taken` holds the names the macro itself sets.
pub(crate) fn label_name(name: &str, taken: &[&str]) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("label names must not be empty".to_owned());
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(format!(
            "label names must start with a letter or `_`; `{name}` starts with `{first}`"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "label names may only contain ASCII letters, digits and `_`, not `{bad}`"
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "label names starting with `__` are reserved for Prometheus; try `{}`",
            name.trim_start_matches('_')
        ));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(format!(
            "`{name}` is a label Prometheus reserves for histograms and summaries; choose another name"
        ));
    }
    if taken.contains(&name) {
        return Err(format!(
            "the `{name}` label is set by `#[instrument_metric]` itself; choose another name"
        ));
    }
    Ok(())
}

/// Checks a bucket list; returns the index of each offending bound with its message.
pub(crate) fn buckets(bounds: &[f64]) -> Vec<(Option<usize>, String)> {
    let mut problems = Vec::new();
    if bounds.is_empty() {
        problems.push((
            None,
            "a bucket list must not be empty; list the upper bounds, e.g. `[0.01, 0.1, 1.0]`"
                .to_owned(),
        ));
    }
    for (i, bound) in bounds.iter().enumerate() {
        if !bound.is_finite() {
            problems.push((
                Some(i),
                "bucket bounds must be finite; the `+Inf` bucket is always added".to_owned(),
            ));
        } else if i > 0 && bounds[i - 1].is_finite() && *bound <= bounds[i - 1] {
            problems.push((
                Some(i),
                format!(
                    "bucket bounds must be strictly increasing, but {bound} follows {}",
                    bounds[i - 1]
                ),
            ));
        }
    }
    problems
}

/// Checks a help text.
pub(crate) fn help(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(
            "help text must not be empty; say what the metric counts or measures".to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_end_in_total() {
        assert!(metric_name("sms_messages_total", Kind::Counter).is_ok());
        let err = metric_name("sms_messages", Kind::Counter).unwrap_err();
        assert!(err.contains("try `sms_messages_total`"), "{err}");
        let err = metric_name("sms_messages_count", Kind::Counter).unwrap_err();
        assert!(err.contains("try `sms_messages_total`"), "{err}");
    }

    #[test]
    fn histograms_measure_seconds() {
        assert!(metric_name("sms_duration_seconds", Kind::DurationHistogram).is_ok());
        let err = metric_name("sms_duration_ms", Kind::DurationHistogram).unwrap_err();
        assert!(err.contains("try `sms_duration_seconds`"), "{err}");
        let err = metric_name("sms_duration", Kind::DurationHistogram).unwrap_err();
        assert!(err.contains("try `sms_duration_seconds`"), "{err}");
        assert!(metric_name("sms_duration_total", Kind::DurationHistogram).is_err());
    }

    #[test]
    fn the_type_is_not_part_of_the_name() {
        let err = metric_name("queue_gauge", Kind::Gauge).unwrap_err();
        assert!(err.contains("try `queue`"), "{err}");
        assert!(metric_name("jobs_counter_total", Kind::Counter).is_err());
        assert!(metric_name("latency_histogram_seconds", Kind::DurationHistogram).is_err());
        assert!(metric_name("gauges_total", Kind::Counter).is_ok());
    }

    #[test]
    fn name_characters() {
        for bad in ["", "1abc", "a-b", "a b", "__x", "a:b", "é"] {
            assert!(metric_name(bad, Kind::Gauge).is_err(), "{bad}");
        }
        for good in ["a", "_a", "abc_def9", "A_b"] {
            assert!(metric_name(good, Kind::Gauge).is_ok(), "{good}");
        }
    }

    #[test]
    fn label_names() {
        assert!(label_name("provider", &[]).is_ok());
        for bad in ["", "9a", "a-b", "__a", "le", "quantile"] {
            assert!(label_name(bad, &[]).is_err(), "{bad}");
        }
        assert!(label_name("result", &["result"]).is_err());
    }

    #[test]
    fn bucket_lists() {
        assert!(buckets(&[0.1, 0.5, 1.0]).is_empty());
        assert_eq!(buckets(&[]).len(), 1);
        assert_eq!(buckets(&[0.1, 0.1]).first().map(|p| p.0), Some(Some(1)));
        assert_eq!(
            buckets(&[1.0, f64::NAN]).first().map(|p| p.0),
            Some(Some(1))
        );
    }

    #[test]
    fn stems() {
        assert!(stem("sms_send").is_ok());
        assert!(
            stem("sms_send_total")
                .unwrap_err()
                .contains("try `sms_send`")
        );
    }
}
