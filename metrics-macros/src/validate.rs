//! The rules the macros check, and how they report them.
//!
//! Every naming, label, unit and bucket rule comes from `instrument-metric-rules`, the one rule
//! table the runtime reads too, so that a name is judged alike at compile time and when it is
//! registered by hand. What stays here is the macros' own: the cap on the series of one
//! declaration and its message. Each check returns a lowercase message that states the rule
//! and the fix; the caller puts it on the offending token.

pub(crate) use instrument_metric_rules::{
    DEFAULT_MAX_SERIES, Kind, buckets, common, help, kind_rules, label_name, label_value,
    metric_name, nanosecond_buckets, objective_name, prefix, referenced_name, snake_case, stem,
};

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
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
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
    fn numbers_with_thousands() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let message = too_many_series(10_000, "the labels", "max_series = N");
        assert!(message.contains("more than 10,000 series"), "{message}");
    }
}
