//! Label names and values.

use crate::names::{is_camel_case, snake_case};

/// Label names that Prometheus gives a meaning of its own.
pub const RESERVED_LABELS: &[&str] = &["le", "quantile"];

/// The most series (label combinations) one family may create unless its declaration raises
/// the cap (`max_series = N` at compile time, `FamilyBuilder::max_series` for label values
/// given at run time): every series exists from start-up, so a larger product of label value
/// counts is almost always a label that should not be one.
pub const DEFAULT_MAX_SERIES: usize = 10_000;

/// What is wrong with a label name, in the order the rules are checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LabelNameProblem {
    Empty,
    /// A leading `_`, reserved by Prometheus (`__`) and OpenMetrics (`_`).
    LeadingUnderscore,
    /// A first character that is not an ASCII letter (this one).
    FirstCharacter(char),
    /// A character that is not an ASCII letter, digit or `_` (this one).
    Character(char),
    /// A lowercase letter followed by an uppercase one (promtool's camelCase lint).
    CamelCase,
    /// One of [`RESERVED_LABELS`].
    Reserved,
}

/// Why `name` cannot be a label name, if it cannot: the characters Prometheus accepts, no
/// leading `_`, not camelCase, not one of [`RESERVED_LABELS`].
#[must_use]
pub fn label_name_problem(name: &str) -> Option<LabelNameProblem> {
    let Some(first) = name.chars().next() else {
        return Some(LabelNameProblem::Empty);
    };
    if first == '_' {
        return Some(LabelNameProblem::LeadingUnderscore);
    }
    if !first.is_ascii_alphabetic() {
        return Some(LabelNameProblem::FirstCharacter(first));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Some(LabelNameProblem::Character(bad));
    }
    if is_camel_case(name) {
        return Some(LabelNameProblem::CamelCase);
    }
    if RESERVED_LABELS.contains(&name) {
        return Some(LabelNameProblem::Reserved);
    }
    None
}

/// Checks one label name ([`label_name_problem`]), with the macros' messages. `taken` holds
/// the names the macro itself sets.
pub fn label_name(name: &str, taken: &[&str]) -> Result<(), String> {
    let message = match label_name_problem(name) {
        None if taken.contains(&name) => format!(
            "the `{name}` label is set by `#[instrument_metric]` itself; choose another name"
        ),
        None => return Ok(()),
        Some(LabelNameProblem::Empty) => "label names must not be empty".to_owned(),
        Some(LabelNameProblem::LeadingUnderscore) => format!(
            "label names starting with `_` are reserved (by Prometheus and OpenMetrics); try `{}`",
            name.trim_start_matches('_')
        ),
        Some(LabelNameProblem::FirstCharacter(first)) => {
            format!("label names must start with a letter; `{name}` starts with `{first}`")
        }
        Some(LabelNameProblem::Character(bad)) => {
            format!("label names may only contain ASCII letters, digits and `_`, not `{bad}`")
        }
        Some(LabelNameProblem::CamelCase) => format!(
            "label names are written in snake_case, not camelCase; try `{}`",
            snake_case(name)
        ),
        Some(LabelNameProblem::Reserved) => format!(
            "`{name}` is a label Prometheus reserves for histograms and summaries; choose another name"
        ),
    };
    Err(message)
}

/// Checks a label value given in code: a renamed enum variant or a static label value.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "a label value must not be empty: Prometheus treats an empty value as a missing label"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn label_name_problems() {
        use LabelNameProblem::{
            CamelCase, Character, Empty, FirstCharacter, LeadingUnderscore, Reserved,
        };
        for (name, expected) in [
            ("provider", None),
            ("p2p_kind", None),
            ("HTTP_method", None),
            ("", Some(Empty)),
            ("_kind", Some(LeadingUnderscore)),
            ("__name__", Some(LeadingUnderscore)),
            ("9a", Some(FirstCharacter('9'))),
            ("a-b", Some(Character('-'))),
            ("größe", Some(Character('ö'))),
            ("a:b", Some(Character(':'))),
            ("httpMethod", Some(CamelCase)),
            ("le", Some(Reserved)),
            ("quantile", Some(Reserved)),
        ] {
            assert_eq!(label_name_problem(name), expected, "{name:?}");
            // The macros' check decides with the same function.
            assert_eq!(
                label_name(name, &[]).is_ok(),
                expected.is_none(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn label_values() {
        assert!(label_value("eu").is_ok());
        assert!(label_value("").unwrap_err().contains("missing label"));
    }
}
