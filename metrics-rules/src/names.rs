//! Metric names: their characters and case, the words and suffixes they must not carry, the
//! suffix of each kind, and the stems and prefixes names are built from.

use crate::units::{HISTOGRAM_UNITS, ends_in_histogram_unit, non_base_unit};

/// Suffixes a histogram or gauge must not carry: Prometheus derives them from the family
/// (promtool flags `_total`, `_count`, `_sum` and `_bucket`; `_created` is OpenMetrics').
pub const RESERVED_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket", "_created"];

/// The prefix of names Prometheus keeps for itself (`__name__`, `__address__`).
pub const RESERVED_PREFIX: &str = "__";

/// Metric types: a name segment equal to one of them repeats what `# TYPE` says (promtool's
/// `lintMetricTypeInName`, for every type but `untyped`).
pub const TYPE_WORDS: &[&str] = &["counter", "gauge", "histogram", "summary"];

/// Abbreviated units, refused as a name segment after the first (promtool's
/// `lintUnitAbbreviations` refuses the first fourteen as `_x_` or a trailing `_x`, any case),
/// with the base unit to spell instead (`""` when the abbreviation is ambiguous). The rest are
/// refused too, stricter than promtool: they are abbreviations of the same units.
pub const ABBREVIATIONS: &[(&str, &str)] = &[
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

/// The kind of metric a name is checked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
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
pub fn characters(name: &str) -> Result<(), String> {
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
pub(crate) fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
}

/// `TwilioSms` -> `twilio_sms`, `HTTPMethod` -> `http_method`, `OAuth2` -> `o_auth2`,
/// `smsSend_total` -> `sms_send_total`.
#[must_use]
pub fn snake_case(name: &str) -> String {
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

/// The rules every metric name and stem obeys, whatever its kind: the data model's characters
/// and promtool's kind-independent lints.
pub fn common(name: &str) -> Result<(), String> {
    characters(name)?;
    if name.contains(':') {
        return Err(format!(
            "colons in metric names are reserved for recording rules; try `{}`",
            name.replace(':', "_")
        ));
    }
    if name.starts_with(RESERVED_PREFIX) {
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
pub fn metric_name(name: &str, kind: Kind) -> Result<(), String> {
    common(name)?;
    kind_rules(name, kind)
}

/// The rules that depend on the kind of metric, for a name that passed [`common`]: a
/// `#[derive(Metrics)]` field knows its kind only from its type, so these are checked for
/// each kind and the answer for the field's kind is picked at compile time.
pub fn kind_rules(name: &str, kind: Kind) -> Result<(), String> {
    match suffix_problem(name, kind == Kind::Counter) {
        Some(SuffixProblem::MissingTotal) => {
            let stem = RESERVED_SUFFIXES
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            return Err(format!("counter names end in `_total`; try `{stem}_total`"));
        }
        Some(SuffixProblem::Reserved(suffix)) => {
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
        None => {}
    }
    match kind {
        Kind::DurationHistogram if !name.ends_with("_seconds") => Err(format!(
            "a histogram that times a call measures seconds, so its name ends in `_seconds`; try `{name}_seconds`"
        )),
        Kind::Histogram if !ends_in_histogram_unit(name) => {
            let units: Vec<String> = HISTOGRAM_UNITS.iter().map(|u| format!("`_{u}`")).collect();
            Err(format!(
                "a histogram name ends in the unit it measures ({}); try `{name}_seconds` for durations, or mark a histogram of counts of things (items per batch) `#[metric(unitless)]`",
                units.join(", ")
            ))
        }
        _ => Ok(()),
    }
}

/// What is wrong with the end of a name for its kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SuffixProblem {
    /// A counter's name that does not end in `_total`.
    MissingTotal,
    /// Another kind's name that ends in one of [`RESERVED_SUFFIXES`] (this one).
    Reserved(&'static str),
}

/// The suffix rule of each kind: a counter's name ends in `_total`, any other's in none of
/// [`RESERVED_SUFFIXES`] (a histogram's series take `_count`, `_sum` and `_bucket`).
#[must_use]
pub fn suffix_problem(name: &str, counter: bool) -> Option<SuffixProblem> {
    if counter {
        return (!name.ends_with("_total")).then_some(SuffixProblem::MissingTotal);
    }
    RESERVED_SUFFIXES
        .iter()
        .copied()
        .find(|suffix| name.ends_with(suffix))
        .map(SuffixProblem::Reserved)
}

/// What is wrong with a name registered at run time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameProblem {
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*` (colons are for recording rules).
    Characters,
    /// It starts with [`RESERVED_PREFIX`].
    ReservedPrefix,
    /// Its end does not suit its kind.
    Suffix(SuffixProblem),
}

/// The rules a name registered at run time obeys, a subset of [`metric_name`]'s (which also
/// checks case, units and type words, on the names the macros see at compile time): the
/// characters of [`characters`] without colons, no [`RESERVED_PREFIX`], and
/// [`suffix_problem`]. Every name [`metric_name`] accepts for a kind passes it.
#[must_use]
pub fn registered_name_problem(name: &str, counter: bool) -> Option<NameProblem> {
    if characters(name).is_err() || name.contains(':') {
        return Some(NameProblem::Characters);
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Some(NameProblem::ReservedPrefix);
    }
    suffix_problem(name, counter).map(NameProblem::Suffix)
}

/// Checks a name spelled in code that refers to a metric or a recording rule: the characters
/// of a metric name, colons allowed.
pub fn referenced_name(name: &str) -> Result<(), String> {
    characters(name)
}

/// Checks a `#[metrics(prefix = "...")]`: the start of every family name of a struct.
pub fn prefix(name: &str) -> Result<(), String> {
    common(name)?;
    if name.ends_with('_') {
        return Err(format!(
            "the prefix is joined to each field name with `_`, so it must not end in `_`; try `{}`",
            name.trim_end_matches('_')
        ));
    }
    Ok(())
}

/// The names `#[instrument_metric(name = "stem")]` derives from a stem, with their kinds.
#[must_use]
pub fn stem_names(stem: &str) -> [(String, Kind); 3] {
    [
        (format!("{stem}_total"), Kind::Counter),
        (format!("{stem}_duration_seconds"), Kind::DurationHistogram),
        (format!("{stem}_in_flight"), Kind::Gauge),
    ]
}

/// Checks a `name = "..."` stem, from which `_total`, `_duration_seconds` and `_in_flight` are made.
pub fn stem(name: &str) -> Result<(), String> {
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
    fn names_registered_at_run_time() {
        use NameProblem::{Characters, ReservedPrefix, Suffix};
        use SuffixProblem::{MissingTotal, Reserved};
        for (name, counter, expected) in [
            ("jobs_total", true, None),
            ("jobs", true, Some(Suffix(MissingTotal))),
            ("jobs_count", true, Some(Suffix(MissingTotal))),
            ("jobs_total", false, Some(Suffix(Reserved("_total")))),
            ("queue_depth", false, None),
            ("room_kelvin", false, None),
            ("rpc_seconds_count", false, Some(Suffix(Reserved("_count")))),
            ("rpc_seconds_sum", false, Some(Suffix(Reserved("_sum")))),
            (
                "rpc_seconds_bucket",
                false,
                Some(Suffix(Reserved("_bucket"))),
            ),
            ("x_created", false, Some(Suffix(Reserved("_created")))),
            ("__jobs_total", true, Some(ReservedPrefix)),
            ("9lives_total", true, Some(Characters)),
            ("job:rate_total", true, Some(Characters)),
            ("", false, Some(Characters)),
            ("a-b", false, Some(Characters)),
            ("é", false, Some(Characters)),
            // Refused at compile time only: the macros check more.
            ("jobMinutes", false, None),
            ("queue_gauge", false, None),
        ] {
            assert_eq!(registered_name_problem(name, counter), expected, "{name:?}");
        }
    }

    /// The macros' rules for a kind ([`metric_name`]) and the runtime's
    /// ([`registered_name_problem`]) share their pieces; on a table of names, the runtime never
    /// refuses what the macros accept.
    #[test]
    fn the_macros_accept_no_name_the_runtime_refuses() {
        let words = [
            "", "jobs", "Jobs", "jobSize", "_", "__x", "9a", "a:b", "a-b", "room", "kelvin",
            "kelvins", "seconds", "ms", "total", "count", "sum", "bucket", "created", "gauge",
        ];
        let mut names = Vec::new();
        for a in words {
            names.push(a.to_owned());
            for b in words {
                names.push(format!("{a}_{b}"));
                for c in ["total", "seconds", "kelvin", "count", "x"] {
                    names.push(format!("{a}_{b}_{c}"));
                }
            }
        }
        let kinds = [
            Kind::Counter,
            Kind::Gauge,
            Kind::Histogram,
            Kind::DurationHistogram,
            Kind::UnitlessHistogram,
        ];
        let mut accepted = 0;
        for name in &names {
            for kind in kinds {
                if metric_name(name, kind).is_ok() {
                    let runtime = registered_name_problem(name, kind == Kind::Counter);
                    assert_eq!(runtime, None, "{name:?} {kind:?}");
                    accepted += 1;
                }
            }
        }
        assert!(accepted > 100, "only {accepted} names were accepted");
    }

    #[test]
    fn kelvin_is_a_unit_of_histograms() {
        assert!(metric_name("room_temperature_kelvin", Kind::Histogram).is_ok());
        assert!(metric_name("room_temperature_kelvins", Kind::Histogram).is_err());
        assert_eq!(crate::unit_of("room_temperature_kelvin"), Some("kelvin"));
    }
}
