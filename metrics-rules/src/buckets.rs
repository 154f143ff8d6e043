//! Bucket lists and help texts.

/// The smallest positive bound of a histogram that times calls: the calls' durations are
/// counted in whole nanoseconds.
pub const SMALLEST_DURATION_BOUND: f64 = 1e-9;

/// Checks the bounds of a histogram that times calls, whose cells count whole nanoseconds: a
/// positive bound below 1 ns separates nothing. Returns the index of each offending bound with
/// its message.
#[must_use]
pub fn nanosecond_buckets(bounds: &[f64]) -> Vec<(usize, String)> {
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

/// Checks a bucket list; returns the index of each offending bound with its message.
///
/// For a histogram of seconds (`seconds`), a negative bound is refused (no duration falls in
/// it), and so is a list whose bounds all look like milliseconds (every bound at least 1, the
/// largest at least 5000, i.e. 83 minutes) unless `long_running` says the work really takes
/// that long.
#[must_use]
pub fn buckets(bounds: &[f64], seconds: bool, long_running: bool) -> Vec<(Option<usize>, String)> {
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
pub fn help(text: &str) -> Result<(), String> {
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
}
