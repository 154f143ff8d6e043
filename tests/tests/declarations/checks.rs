//! Checking expositions: each one with the strict parser, the reference parsers and promtool,
//! and the values in it against the model.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use instrument_metric::{Format, Registry};
use integration_tests::{Exposition, promtool_check_metrics, python_parse};
use proptest::prelude::*;

use super::{Expected, Kind, Model, conflicts};

/// The sample that holds a series' value in `format`: a counter's (`_total` in OpenMetrics),
/// a gauge's, or a histogram's `+Inf` bucket, its count (OpenMetrics has no `_count` for a
/// series whose sum would be negative).
fn value_sample(kind: Kind, name: &str, format: Format) -> (String, Option<(String, String)>) {
    match kind {
        Kind::Counter if format == Format::OpenMetrics && !name.ends_with("_total") => {
            (format!("{name}_total"), None)
        }
        Kind::Histogram => (
            format!("{name}_bucket"),
            Some(("le".to_owned(), "+Inf".to_owned())),
        ),
        _ => (name.to_owned(), None),
    }
}

/// The series of family `name` in an exposition: label sets (the constant labels included)
/// and values.
fn series_of(
    parsed: &Exposition,
    kind: Kind,
    name: &str,
    format: Format,
) -> BTreeMap<BTreeMap<String, String>, f64> {
    let (sample, le) = value_sample(kind, name, format);
    parsed
        .series(&sample)
        .filter_map(|sample| {
            let mut labels = sample.labels.clone();
            if let Some((key, value)) = &le
                && labels.remove(key).as_ref() != Some(value)
            {
                return None;
            }
            Some((labels, sample.value))
        })
        .collect()
}

/// Checks that family `name` has exactly the series `expected` (label sets without the
/// constant labels, and values).
fn check_series(
    parsed: &Exposition,
    model: &Model,
    (kind, name, format): (Kind, &str, Format),
    expected: &[(BTreeMap<String, String>, f64)],
) -> Result<(), String> {
    let found = series_of(parsed, kind, name, format);
    let wanted: BTreeMap<BTreeMap<String, String>, f64> = expected
        .iter()
        .map(|(labels, value)| {
            let mut labels = labels.clone();
            labels.extend(
                model
                    .constant
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone())),
            );
            (labels, *value)
        })
        .collect();
    let agree = found.len() == wanted.len()
        && wanted
            .iter()
            .all(|(labels, value)| found.get(labels).is_some_and(|found| same(*found, *value)));
    if agree {
        Ok(())
    } else {
        Err(format!("{name} has the series {found:?}, not {wanted:?}"))
    }
}

/// Equal, NaN to NaN included.
#[allow(clippy::float_cmp)] // the values are compared exactly: the text must give them back
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Renders `registry` in both formats and checks each exposition (see [`check_exposition`];
/// with the reference parsers and promtool when `reference`) and every value against
/// `model`; then that every refusal is listed by `check()`. `more` checks each parsed
/// exposition further (the global registry's families).
pub fn check_registry(
    registry: &Registry,
    model: &Model,
    reference: bool,
    more: impl Fn(&Exposition, Format) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    for format in [Format::Text, Format::OpenMetrics] {
        let text = registry.render_within(format, Duration::from_secs(20));
        let parsed = check_exposition(&text, format, reference, &model.tikv_off_practice)
            .map_err(TestCaseError::fail)?;
        check_values(&parsed, model, format)
            .map_err(|error| TestCaseError::fail(format!("{error}\nin:\n{text}")))?;
        more(&parsed, format)
            .map_err(|error| TestCaseError::fail(format!("{error}\nin:\n{text}")))?;
    }
    let (_, tikv_refused) = model.tikv_outcome();
    let listed = conflicts(registry);
    for error in &model.errors {
        prop_assert!(
            listed.contains(error),
            "the refusal {} is not listed by check()",
            error
        );
    }
    for name in &tikv_refused {
        prop_assert!(
            listed.iter().any(|conflict| &conflict.family == name),
            "the tikv family {} left out is not listed by check()",
            name
        );
    }
    Ok(())
}

fn check_values(parsed: &Exposition, model: &Model, format: Format) -> Result<(), String> {
    for sample in &parsed.samples {
        for (label, value) in &model.constant {
            if sample.labels.get(*label) != Some(value) {
                return Err(format!(
                    "{}{:?} lacks the constant label {label}",
                    sample.name, sample.labels
                ));
            }
        }
    }
    for (name, expected) in &model.hand_values {
        let kind = model.families[name].shape.kind();
        let value = match expected {
            Expected::Value(value) => *value,
            #[allow(clippy::cast_precision_loss)]
            Expected::Count(count) => *count as f64,
        };
        check_series(
            parsed,
            model,
            (kind, name, format),
            &[(BTreeMap::new(), value)],
        )?;
    }
    for (name, series) in &model.collected {
        let kind = model.families[name].shape.kind();
        check_series(parsed, model, (kind, name, format), series)?;
    }
    for (name, field) in &model.fields {
        let kind = model.families[name].shape.kind();
        let found = series_of(parsed, kind, name, format);
        if found.len() != field.series {
            let count = field.series;
            return Err(format!("{name} has {} series, not {count}", found.len()));
        }
        let mut series = field.touched.clone();
        series.extend(
            model
                .constant
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        );
        #[allow(clippy::cast_precision_loss)]
        let wanted = field.touches as f64;
        if found.get(&series).is_none_or(|found| !same(*found, wanted)) {
            return Err(format!("{name}{series:?} is not {wanted} in {found:?}"));
        }
    }
    for (name, (kind, series)) in &model.tikv_outcome().0 {
        check_series(parsed, model, (*kind, name, format), series)?;
    }
    Ok(())
}

/// Checks one exposition: the strict parser accepts it (no series twice, histograms
/// consistent); no family is written twice and no sample name is written by two families;
/// and when `reference`, Python's reference parser of the format accepts it and reads the
/// same samples, and promtool accepts the text format, flagging at most the names of tikv
/// families in `off_practice`.
///
/// # Errors
///
/// What is wrong, with the exposition.
fn check_exposition(
    text: &str,
    format: Format,
    reference: bool,
    off_practice: &HashSet<String>,
) -> Result<Exposition, String> {
    let fail = |what: String| format!("{what}\nin the {format:?} exposition:\n{text}");
    // The strict parser reads the text format's HELP escapes; OpenMetrics' also escape `"`,
    // which Python's parser checks: it reads the OpenMetrics samples without the HELP lines.
    let samples: String = match format {
        Format::OpenMetrics => text
            .lines()
            .filter(|line| !line.starts_with("# HELP "))
            .flat_map(|line| [line, "\n"])
            .collect(),
        Format::Text => text.to_owned(),
    };
    let parsed =
        Exposition::parse(&samples).map_err(|e| fail(format!("the strict parser: {e}")))?;
    let owners = families_once(text, format).map_err(fail)?;
    if !reference {
        return Ok(parsed);
    }
    let openmetrics = format == Format::OpenMetrics;
    let reference =
        python_parse(text, openmetrics).map_err(|e| fail(format!("prometheus_client: {e}")))?;
    // The reference parser names a counter's sample with `_total` in both formats.
    let mut ours: Vec<(String, BTreeMap<String, String>, u64)> = parsed
        .samples
        .iter()
        .map(|sample| {
            let counter = owners
                .get(&sample.name)
                .is_some_and(|(_, kind)| kind == "counter");
            let name = if counter && !sample.name.ends_with("_total") {
                format!("{}_total", sample.name)
            } else {
                sample.name.clone()
            };
            (name, sample.labels.clone(), bits(sample.value))
        })
        .collect();
    let mut theirs: Vec<_> = reference
        .into_iter()
        .map(|(name, labels, value)| (name, labels, bits(value)))
        .collect();
    ours.sort();
    theirs.sort();
    if ours != theirs {
        return Err(fail(format!(
            "prometheus_client reads other samples:\nours:   {ours:?}\ntheirs: {theirs:?}"
        )));
    }
    if !openmetrics && let Err(report) = promtool_check_metrics(text) {
        let unexpected: Vec<&str> = report
            .lines()
            .filter(|line| {
                let name = line.split(' ').next().unwrap_or("");
                !off_practice.contains(name)
            })
            .collect();
        if !unexpected.is_empty() {
            return Err(fail(format!("promtool: {}", unexpected.join("\n"))));
        }
    }
    Ok(parsed)
}

/// A value to compare: every NaN is one, and `-0` is `0`.
fn bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else if value == 0.0 {
        0
    } else {
        value.to_bits()
    }
}

/// Checks that each family is written once, that each sample is one its family's kind
/// writes in `format`, and that no sample name is written by two families; gives the family
/// and kind of every sample name.
fn families_once(text: &str, format: Format) -> Result<HashMap<String, (String, String)>, String> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut owners: HashMap<String, (String, String)> = HashMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or("a TYPE line without a type")?;
            if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(format!("the family {name} is written twice"));
            }
            current = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let sample = &line[..end];
        let (family, kind) = current
            .as_ref()
            .ok_or_else(|| format!("{sample} comes before any TYPE line"))?;
        let suffixes: &[&str] = match (kind.as_str(), format) {
            ("counter", Format::OpenMetrics) => &["_total", "_created"],
            ("histogram", _) => &["_bucket", "_sum", "_count", "_created"],
            ("summary", _) => &["", "_sum", "_count"],
            _ => &[""],
        };
        if !suffixes
            .iter()
            .any(|suffix| format!("{family}{suffix}") == sample)
        {
            return Err(format!("{sample} is not a sample of the {kind} {family}"));
        }
        if let Some((other, _)) = owners.insert(sample.to_owned(), (family.clone(), kind.clone()))
            && other != *family
        {
            return Err(format!(
                "{sample} is written by the families {other} and {family}"
            ));
        }
    }
    Ok(owners)
}
