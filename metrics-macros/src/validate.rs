//! Every naming, label, bucket, help and series-count rule, in one place.
//!
//! The rules follow the Prometheus data model (metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
//! names `[a-zA-Z_][a-zA-Z0-9_]*`) and its naming practice, and are a superset of the lints of
//! `promtool check metrics` (Prometheus 2.42, `util/promlint`), so that no accepted name is
//! ever flagged by it. Where these rules are stricter than promtool, the constant or function
//! says so. Each check returns a lowercase message that states the rule and the fix; the
//! caller puts it on the offending token.
//!
//! This file is compiled on its own by `tests/tests/validation_agreement.rs` and
//! `tests/tests/promtool_names.rs`: it depends on nothing but `std`.

/// Suffixes a histogram or gauge must not carry: Prometheus derives them from the family
/// (promtool flags `_total`, `_count`, `_sum` and `_bucket`; `_created` is OpenMetrics').
const RESERVED_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket", "_created"];

/// Label names that Prometheus gives a meaning of its own.
const RESERVED_LABELS: &[&str] = &["le", "quantile"];

/// Metric types: a name segment equal to one of them repeats what `# TYPE` says (promtool's
/// `lintMetricTypeInName`, for every type but `untyped`).
const TYPE_WORDS: &[&str] = &["counter", "gauge", "histogram", "summary"];

/// Abbreviated units, refused as a name segment after the first (promtool's
/// `lintUnitAbbreviations` refuses the first fourteen as `_x_` or a trailing `_x`, any case),
/// with the base unit to spell instead (`""` when the abbreviation is ambiguous). The rest are
/// refused too, stricter than promtool: they are abbreviations of the same units.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("s", "seconds"),
    ("ms", "seconds"),
    ("us", "seconds"),
    ("ns", "seconds"),
    ("sec", "seconds"),
    ("b", "bytes"),
    ("kb", "bytes"),
    ("mb", "bytes"),
    ("gb", "bytes"),
    ("tb", "bytes"),
    ("pb", "bytes"),
    ("m", ""),
    ("h", "seconds"),
    ("d", "seconds"),
    // Stricter than promtool.
    ("secs", "seconds"),
    ("msec", "seconds"),
    ("msecs", "seconds"),
    ("millis", "seconds"),
    ("micros", "seconds"),
    ("nanos", "seconds"),
    ("mins", "seconds"),
    ("hrs", "seconds"),
    ("kib", "bytes"),
    ("mib", "bytes"),
    ("gib", "bytes"),
    ("tib", "bytes"),
    ("pib", "bytes"),
];

/// Units promtool 2.42 knows (`metricUnits`), each with its base unit. A name segment that is
/// a unit whose base is another one, or any unit with a prefix of [`UNIT_PREFIXES`], is refused
/// wherever it stands in the name, in any case. promtool checks only one unit per name (the
/// first it meets, in random order), case-sensitively: these rules check every segment.
/// (Prometheus 2.42 has `kelvins` -> `kelvin` and no `candela` or `moles`, unlike later
/// versions; the property test in `tests/tests/promtool_names.rs` found it.)
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("kelvins", "kelvin"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("fahrenheit", "celsius"),
    ("rankine", "kelvin"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
    // Stricter than promtool: a percentage is a ratio from 0 to 1.
    ("percentage", "ratio"),
];

/// Prefixes that make a unit non-base (`kilobytes`, `milliseconds`), as promtool lists them.
const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

/// Units a histogram of a `#[derive(Metrics)]` struct ends in (after the base units of the
/// Prometheus naming practice); a histogram of counts of things is marked `unitless` instead.
pub(crate) const HISTOGRAM_UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "meters", "grams", "celsius", "kelvin", "joules", "volts",
    "amperes",
];

/// The most series (label combinations) one declaration may create unless it raises the cap
/// with `max_series = N`: every series exists from start-up, so a larger product of label
/// types is almost always a label that should not be one.
pub(crate) const DEFAULT_MAX_SERIES: usize = 10_000;

/// The kind of metric a name is checked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Counter,
    /// A histogram that times a call: its unit is seconds.
    DurationHistogram,
    /// A histogram of a `Metrics` struct: its name ends in a unit of [`HISTOGRAM_UNITS`].
    Histogram,
    /// A histogram of counts of things (`#[metric(unitless)]`): no unit.
    UnitlessHistogram,
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

/// Whether `name` has a lowercase letter followed by an uppercase one (promtool's camelCase
/// lint, on metric and label names alike).
fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
}

/// `TwilioSms` -> `twilio_sms`, `HTTPMethod` -> `http_method`, `OAuth2` -> `o_auth2`,
/// `smsSend_total` -> `sms_send_total`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let starts_word = previous.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// `name` with segment `index` (split at `_`) replaced by `with`, or removed when `with` is
/// empty.
fn replace_segment(name: &str, index: usize, with: &str) -> String {
    let segments: Vec<&str> = name.split('_').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        if i != index {
            kept.push(segment);
        } else if !with.is_empty() {
            kept.push(with);
        }
    }
    kept.join("_")
}

/// The base unit of a name segment that is a non-base unit (`minutes`, `kilobytes`,
/// `Milliseconds`), if it is one.
fn non_base_unit(segment: &str) -> Option<&'static str> {
    let lower = segment.to_ascii_lowercase();
    UNITS.iter().find_map(|(unit, base)| {
        let prefix = lower.strip_suffix(unit)?;
        let prefixed = UNIT_PREFIXES.contains(&prefix);
        ((prefix.is_empty() && unit != base) || prefixed).then_some(*base)
    })
}

/// The rules every metric name and stem obeys, whatever its kind: the data model's characters
/// and promtool's kind-independent lints.
pub(crate) fn common(name: &str) -> Result<(), String> {
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
    if is_camel_case(name) {
        return Err(format!(
            "metric names are written in snake_case, not camelCase; try `{}`",
            snake_case(name)
        ));
    }
    for (index, segment) in name.split('_').enumerate() {
        if let Some(base) = non_base_unit(segment) {
            return Err(format!(
                "metric names use base units, so `{segment}` should be `{base}` (and the value recorded in {base}); try `{}`",
                replace_segment(name, index, base)
            ));
        }
        let lower = segment.to_ascii_lowercase();
        // promtool matches `_x_` and a trailing `_x`: every segment but the first.
        if index == 0 {
            continue;
        }
        if let Some((abbreviation, base)) = ABBREVIATIONS.iter().find(|(a, _)| *a == lower) {
            return Err(if base.is_empty() {
                format!(
                    "metric names spell out base units, but `{segment}` abbreviates one (`_{abbreviation}`); write `seconds` for minutes (and record seconds) or `meters`, or use a word that is not a unit"
                )
            } else {
                format!(
                    "metric names spell out base units, so `{segment}` should be `{base}` (and the value recorded in {base}); try `{}`",
                    replace_segment(name, index, base)
                )
            });
        }
        if let Some(word) = TYPE_WORDS.iter().find(|word| **word == lower) {
            return Err(format!(
                "metric names do not repeat a metric type (`{word}`), which Prometheus already knows; try `{}`",
                replace_segment(name, index, "")
            ));
        }
    }
    Ok(())
}

/// Checks a metric name for a metric of `kind`.
pub(crate) fn metric_name(name: &str, kind: Kind) -> Result<(), String> {
    common(name)?;
    kind_rules(name, kind)
}

/// The rules that depend on the kind of metric, for a name that passed [`common`]: a
/// `#[derive(Metrics)]` field knows its kind only from its type, so these are checked for
/// each kind and the answer for the field's kind is picked at compile time.
pub(crate) fn kind_rules(name: &str, kind: Kind) -> Result<(), String> {
    if kind == Kind::Counter {
        if !name.ends_with("_total") {
            let stem = RESERVED_SUFFIXES
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            return Err(format!("counter names end in `_total`; try `{stem}_total`"));
        }
        return Ok(());
    }
    let what = if kind == Kind::Gauge {
        "gauge"
    } else {
        "histogram"
    };
    if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(**s)) {
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
    match kind {
        Kind::DurationHistogram if !name.ends_with("_seconds") => Err(format!(
            "a histogram that times a call measures seconds, so its name ends in `_seconds`; try `{name}_seconds`"
        )),
        Kind::Histogram
            if !HISTOGRAM_UNITS
                .iter()
                .any(|unit| has_suffix_segment(name, unit)) =>
        {
            let units: Vec<String> = HISTOGRAM_UNITS.iter().map(|u| format!("`_{u}`")).collect();
            Err(format!(
                "a histogram name ends in the unit it measures ({}); try `{name}_seconds` for durations, or mark a histogram of counts of things (items per batch) `#[metric(unitless)]`",
                units.join(", ")
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the last `_` segment of `name` is `segment` (and not the whole name).
fn has_suffix_segment(name: &str, segment: &str) -> bool {
    name.strip_suffix(segment)
        .is_some_and(|head| head.ends_with('_') && head.len() > 1)
}

/// Checks a name spelled in code that refers to a metric or a recording rule: the characters
/// of a metric name, colons allowed.
pub(crate) fn referenced_name(name: &str) -> Result<(), String> {
    characters(name)
}

/// Checks a `#[metrics(prefix = "...")]`: the start of every family name of a struct.
pub(crate) fn prefix(name: &str) -> Result<(), String> {
    common(name)?;
    if name.ends_with('_') {
        return Err(format!(
            "the prefix is joined to each field name with `_`, so it must not end in `_`; try `{}`",
            name.trim_end_matches('_')
        ));
    }
    Ok(())
}

/// Checks a label value given in code: a renamed enum variant or a static label value.
pub(crate) fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "a label value must not be empty: Prometheus treats an empty value as a missing label"
                .to_owned(),
        );
    }
    Ok(())
}

/// The names `#[instrument_metric(name = "stem")]` derives from a stem, with their kinds.
pub(crate) fn stem_names(stem: &str) -> [(String, Kind); 3] {
    [
        (format!("{stem}_total"), Kind::Counter),
        (format!("{stem}_duration_seconds"), Kind::DurationHistogram),
        (format!("{stem}_in_flight"), Kind::Gauge),
    ]
}

/// Checks a `name = "..."` stem, from which `_total`, `_duration_seconds` and `_in_flight` are made.
pub(crate) fn stem(name: &str) -> Result<(), String> {
    common(name)?;
    let suffixes = ["_total", "_duration_seconds", "_seconds", "_in_flight"];
    if let Some(suffix) = suffixes.iter().find(|s| name.ends_with(**s)) {
        let stem = &name[..name.len() - suffix.len()];
        return Err(format!(
            "`name` is a stem that gets `_total`, `_duration_seconds` and `_in_flight` appended, so it must not end in `{suffix}`; try `{stem}`"
        ));
    }
    // A stem that passes the rules above makes valid names; this keeps it so if a rule changes.
    for (full, kind) in stem_names(name) {
        metric_name(&full, kind).map_err(|message| format!("`{full}`: {message}"))?;
    }
    Ok(())
}

/// Checks an objective's name (`objective(name = "...")`), the value of the `objective` label
/// of its rules and the text of its alerts: a family stem's characters,
/// `[a-zA-Z_][a-zA-Z0-9_]*`, so that it reads the same in PromQL, YAML and alert templates. The
/// runtime checks the names given to the HTTP layer with the same rule
/// (`metrics-runtime/src/model.rs`, `objective_name_problem`);
/// `tests/tests/validation_agreement.rs` checks that both answer alike.
pub(crate) fn objective_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(
            "an objective's name must not be empty; leave `name` out to use the family's"
                .to_owned(),
        );
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if (first.is_ascii_alphabetic() || first == '_') && name.chars().all(valid) {
        return Ok(());
    }
    let words: Vec<&str> = name
        .split(|c: char| !valid(c))
        .filter(|word| !word.is_empty())
        .collect();
    let mut fixed = words.join("_");
    if fixed.is_empty() {
        "checkout".clone_into(&mut fixed);
    } else if !fixed.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        fixed.insert(0, '_');
    }
    Err(format!(
        "an objective's name is written like a family stem, in ASCII letters, digits and `_`, not starting with a digit (it becomes a label value in rules and text in alerts); try `{fixed}`"
    ))
}

/// The smallest positive bound of a histogram that times calls: the calls' durations are
/// counted in whole nanoseconds.
pub(crate) const SMALLEST_DURATION_BOUND: f64 = 1e-9;

/// Checks the bounds of a histogram that times calls, whose cells count whole nanoseconds: a
/// positive bound below 1 ns separates nothing. Returns the index of each offending bound with
/// its message.
pub(crate) fn nanosecond_buckets(bounds: &[f64]) -> Vec<(usize, String)> {
    bounds
        .iter()
        .enumerate()
        .filter(|(_, bound)| **bound > 0.0 && **bound < SMALLEST_DURATION_BOUND)
        .map(|(index, bound)| {
            (
                index,
                format!(
                    "a call's duration is counted in whole nanoseconds, so a bucket bound must be 0 or at least 1e-9 (1 ns), not {bound:e}; remove it, or use `1e-9`"
                ),
            )
        })
        .collect()
}

/// Checks one label name. `taken` holds the names the macro itself sets.
pub(crate) fn label_name(name: &str, taken: &[&str]) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("label names must not be empty".to_owned());
    };
    if first == '_' {
        return Err(format!(
            "label names starting with `_` are reserved (by Prometheus and OpenMetrics); try `{}`",
            name.trim_start_matches('_')
        ));
    }
    if !first.is_ascii_alphabetic() {
        return Err(format!(
            "label names must start with a letter; `{name}` starts with `{first}`"
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
    if is_camel_case(name) {
        return Err(format!(
            "label names are written in snake_case, not camelCase; try `{}`",
            snake_case(name)
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
///
/// For a histogram of seconds (`seconds`), a negative bound is refused (no duration falls in
/// it), and so is a list whose bounds all look like milliseconds (every bound at least 1, the
/// largest at least 5000, i.e. 83 minutes) unless `long_running` says the work really takes
/// that long.
pub(crate) fn buckets(
    bounds: &[f64],
    seconds: bool,
    long_running: bool,
) -> Vec<(Option<usize>, String)> {
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
        } else if seconds && *bound < 0.0 {
            problems.push((
                Some(i),
                format!(
                    "a duration is never negative, so no observation falls in a bucket bounded by {bound}; remove it"
                ),
            ));
        }
    }
    let largest = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if seconds
        && !long_running
        && problems.is_empty()
        && bounds.iter().all(|bound| *bound >= 1.0)
        && largest >= 5000.0
    {
        let divided: Vec<String> = bounds
            .iter()
            .map(|bound| format!("{:?}", bound / 1000.0))
            .collect();
        problems.push((
            None,
            format!(
                "these bounds look like milliseconds, but this histogram measures seconds (its largest bucket, {largest}, is {:.1} hours); divide them by 1000: `[{}]`, or add `long_running` if the work really takes that long",
                largest / 3600.0,
                divided.join(", ")
            ),
        ));
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

/// The message of a declaration whose labels make more than `cap` series: `what` names the
/// labels, `raise` is where to write `max_series = N`.
pub(crate) fn too_many_series(cap: usize, what: &str, raise: &str) -> String {
    format!(
        "{what} make more than {} series, each created at start-up; use fewer or smaller label types, or raise the cap with `{raise}` (N at least the number of series) if that many are intended",
        thousands(cap)
    )
}

/// Formats a number with `,` between thousands: `10,000`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    fn histograms_of_structs_carry_a_unit() {
        for good in [
            "payload_size_bytes",
            "cache_hit_ratio",
            "sms_send_seconds",
            "x_volts",
        ] {
            assert!(metric_name(good, Kind::Histogram).is_ok(), "{good}");
        }
        let err = metric_name("batch_size", Kind::Histogram).unwrap_err();
        assert!(err.contains("`_seconds`, `_bytes`, `_ratio`"), "{err}");
        assert!(err.contains("#[metric(unitless)]"), "{err}");
        assert!(metric_name("bytes", Kind::Histogram).is_err());
        assert!(metric_name("job_megabytes", Kind::Histogram).is_err());
        assert!(metric_name("batch_size", Kind::UnitlessHistogram).is_ok());
        assert!(metric_name("batch_size_count", Kind::UnitlessHistogram).is_err());
    }

    #[test]
    fn the_type_is_not_part_of_the_name() {
        let err = metric_name("queue_gauge", Kind::Gauge).unwrap_err();
        assert!(err.contains("try `queue`"), "{err}");
        assert!(metric_name("jobs_counter_total", Kind::Counter).is_err());
        assert!(metric_name("latency_histogram_seconds", Kind::DurationHistogram).is_err());
        assert!(metric_name("gauges_total", Kind::Counter).is_ok());
        // Any type, not only the metric's own (promtool checks them all).
        let err = metric_name("queue_gauge_total", Kind::Counter).unwrap_err();
        assert!(err.contains("try `queue_total`"), "{err}");
        assert!(metric_name("rpc_summary_seconds", Kind::DurationHistogram).is_err());
        assert!(metric_name("Queue_Gauge", Kind::Gauge).is_err());
    }

    #[test]
    fn camel_case_is_refused() {
        let err = metric_name("smsSend_total", Kind::Counter).unwrap_err();
        assert!(err.contains("snake_case"), "{err}");
        assert!(err.contains("try `sms_send_total`"), "{err}");
        // promtool's rule is a lowercase letter before an uppercase one.
        assert!(metric_name("HTTP_requests_total", Kind::Counter).is_ok());
        assert!(stem("smsSend").is_err());
        assert!(prefix("oAuth").is_err());
    }

    #[test]
    fn abbreviated_units_are_refused_as_any_segment_after_the_first() {
        for bad in [
            "api_ms_budget_total",
            "request_MS_total",
            "disk_read_b",
            "x_s",
            "uptime_h",
            "age_d_total",
            "distance_m",
            "mem_kb_used",
            "mem_TB",
            "copy_pb_total",
            "wait_sec",
            "wait_secs",
            "heap_mib",
            "_ms_x",
            "a__ms",
        ] {
            let err = metric_name(bad, Kind::Gauge).unwrap_err();
            assert!(err.contains("spell"), "{bad}: {err}");
        }
        let err = metric_name("api_ms_budget_total", Kind::Counter).unwrap_err();
        assert!(err.contains("try `api_seconds_budget_total`"), "{err}");
        // The first segment is not a unit suffix, as in promtool.
        for good in [
            "s3_uploads_total",
            "ms_teams_messages_total",
            "b_tree_splits_total",
        ] {
            assert!(metric_name(good, Kind::Counter).is_ok(), "{good}");
        }
    }

    #[test]
    fn non_base_units_are_refused_anywhere() {
        for (bad, fix) in [
            ("job_minutes_total", "job_seconds_total"),
            ("upload_kilobytes_total", "upload_bytes_total"),
            ("link_bits", "link_bytes"),
            ("room_fahrenheit", "room_celsius"),
            ("sms_milliseconds_budget", "sms_seconds_budget"),
            ("minutes_idle", "seconds_idle"),
            ("food_Kilograms", "food_grams"),
            ("cpu_percentage", "cpu_ratio"),
            ("trip_miles", "trip_meters"),
        ] {
            let err = metric_name(bad, Kind::Gauge).unwrap_err();
            assert!(err.contains("base units"), "{bad}: {err}");
            assert!(err.contains(&format!("try `{fix}`")), "{bad}: {err}");
        }
        // A unit word inside a longer word is not a unit, as in promtool.
        for good in [
            "thermometers",
            "sms_bytes_total",
            "x_seconds",
            "kelvin_temperature",
        ] {
            assert!(common(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn name_characters() {
        for bad in ["", "1abc", "a-b", "a b", "__x", "a:b", "é"] {
            assert!(metric_name(bad, Kind::Gauge).is_err(), "{bad}");
        }
        for good in ["a", "_a", "abc_def9", "A_bc"] {
            assert!(metric_name(good, Kind::Gauge).is_ok(), "{good}");
        }
    }

    #[test]
    fn label_names() {
        assert!(label_name("provider", &[]).is_ok());
        assert!(label_name("p2p_kind", &[]).is_ok());
        for bad in [
            "",
            "9a",
            "a-b",
            "__a",
            "_a",
            "le",
            "quantile",
            "größe",
            "httpMethod",
        ] {
            assert!(label_name(bad, &[]).is_err(), "{bad}");
        }
        assert!(label_name("_kind", &[]).unwrap_err().contains("reserved"));
        assert!(
            label_name("httpMethod", &[])
                .unwrap_err()
                .contains("try `http_method`")
        );
        assert!(label_name("result", &["result"]).is_err());
    }

    #[test]
    fn bucket_lists() {
        assert!(buckets(&[0.1, 0.5, 1.0], true, false).is_empty());
        assert_eq!(buckets(&[], false, false).len(), 1);
        assert_eq!(
            buckets(&[0.1, 0.1], false, false).first().map(|p| p.0),
            Some(Some(1))
        );
        assert_eq!(
            buckets(&[1.0, f64::NAN], false, false).first().map(|p| p.0),
            Some(Some(1))
        );
    }

    #[test]
    fn duration_buckets_in_milliseconds_are_refused() {
        let ms = [5.0, 25.0, 100.0, 500.0, 1000.0, 5000.0];
        let problems = buckets(&ms, true, false);
        assert_eq!(problems.len(), 1);
        let (index, message) = &problems[0];
        assert_eq!(*index, None);
        assert!(message.contains("milliseconds"), "{message}");
        assert!(
            message.contains("`[0.005, 0.025, 0.1, 0.5, 1.0, 5.0]`"),
            "{message}"
        );
        assert!(message.contains("long_running"), "{message}");
        // Opted out, not seconds, or not all above 1: accepted.
        assert!(buckets(&ms, true, true).is_empty());
        assert!(buckets(&ms, false, false).is_empty());
        assert!(buckets(&[0.5, 1.0, 5000.0], true, false).is_empty());
        assert!(buckets(&[1.0, 10.0, 100.0, 1000.0], true, false).is_empty());
    }

    #[test]
    fn negative_duration_bounds_are_refused() {
        let problems = buckets(&[-1.0, 0.0, 1.0], true, false);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, Some(0));
        assert!(
            problems[0].1.contains("never negative"),
            "{}",
            problems[0].1
        );
        assert!(buckets(&[-1.0, 0.0, 1.0], false, false).is_empty());
    }

    #[test]
    fn objective_names() {
        assert!(objective_name("checkout").is_ok());
        assert!(objective_name("_api2").is_ok());
        assert!(
            objective_name("")
                .unwrap_err()
                .contains("must not be empty")
        );
        assert!(
            objective_name("checkout #1")
                .unwrap_err()
                .contains("try `checkout_1`")
        );
        assert!(objective_name("1st").unwrap_err().contains("try `_1st`"));
        assert!(objective_name("{{ .Labels.job }}").is_err());
        assert!(objective_name("region: eu").is_err());
        assert!(objective_name("a:b").is_err());
        assert!(objective_name("café").is_err());
    }

    #[test]
    fn duration_bounds_below_a_nanosecond_are_refused() {
        let problems = nanosecond_buckets(&[0.0, 1e-10, 1e-9, 0.5]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, 1);
        assert!(
            problems[0].1.contains("whole nanoseconds"),
            "{}",
            problems[0].1
        );
        assert!(nanosecond_buckets(&[-1.0, 0.0, 1e-9, 1.0]).is_empty());
    }

    #[test]
    fn stems() {
        assert!(stem("sms_send").is_ok());
        assert!(
            stem("sms_send_total")
                .unwrap_err()
                .contains("try `sms_send`")
        );
        assert!(stem("sms_gauge").is_err());
        assert!(stem("sms_ms").is_err());
    }

    #[test]
    fn snake_case_words() {
        assert_eq!(snake_case("Twilio"), "twilio");
        assert_eq!(snake_case("TwilioSms"), "twilio_sms");
        assert_eq!(snake_case("HTTPMethod"), "http_method");
        assert_eq!(snake_case("OAuth2"), "o_auth2");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("Error5xx"), "error5xx");
        assert_eq!(snake_case("smsSend_total"), "sms_send_total");
    }

    #[test]
    fn numbers_with_thousands() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let message = too_many_series(10_000, "the labels", "max_series = N");
        assert!(message.contains("more than 10,000 series"), "{message}");
    }
}
