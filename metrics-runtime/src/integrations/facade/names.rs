//! A name and labels as the facade gives them, made the family name and label names of an
//! exposition, or refused: the characters mapped as `metrics-exporter-prometheus` maps them,
//! then checked with the rule table every name registered at run time is checked with.

use crate::model::{MetricKind, label_name_problem, metric_name_problem};

/// `name` with each character a Prometheus name cannot hold replaced by `_`, as
/// `metrics-exporter-prometheus` does (`http.server.requests` -> `http_server_requests`, a
/// leading digit too), and colons too: they are for recording rules.
pub(super) fn sanitize(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let kept = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit());
            if kept { c } else { '_' }
        })
        .collect()
}

/// The family name of a facade name recorded as `kind`: sanitized, with `_total` appended to a
/// counter's that lacks it; or why it is refused (a name that is empty, starts with `__`, or is
/// a gauge's or histogram's that ends in a suffix the formats give a family's samples).
pub(super) fn family_name(name: &str, kind: MetricKind) -> Result<String, String> {
    let mut family = sanitize(name);
    if kind == MetricKind::Counter && !family.ends_with("_total") {
        family.push_str("_total");
    }
    match metric_name_problem(&family, kind) {
        None if family != "_total" => Ok(family),
        None => Err(format!("`{name}` is not a metric name: it is empty")),
        Some(problem) => Err(problem),
    }
}

/// The label names of a record, sanitized, in the order given; or why they are refused (a
/// name the rules refuse, or one given twice).
pub(super) fn label_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for given in names {
        let name = sanitize(given);
        if let Some(problem) = label_name_problem(&name) {
            return Err(format!("refused the label `{given}`: {problem}"));
        }
        if out.contains(&name) {
            return Err(format!("the label `{name}` is given twice"));
        }
        out.push(name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_mapped_as_the_prometheus_exporter_maps_them() {
        assert_eq!(sanitize("http.server.requests"), "http_server_requests");
        assert_eq!(sanitize("9lives"), "_lives");
        assert_eq!(sanitize("a9-b:c"), "a9_b_c");
        assert_eq!(sanitize("größe"), "gr__e");
    }

    #[test]
    fn counters_end_in_total_once() {
        let counter = |name| family_name(name, MetricKind::Counter);
        assert_eq!(counter("jobs").unwrap(), "jobs_total");
        assert_eq!(counter("jobs_total").unwrap(), "jobs_total");
        assert_eq!(counter("jobs.done").unwrap(), "jobs_done_total");
        assert!(counter("").is_err());
        assert!(counter("__jobs").unwrap_err().contains("`__`"));
    }

    #[test]
    fn gauges_and_histograms_must_not_end_in_a_sample_suffix() {
        assert_eq!(
            family_name("queue.depth", MetricKind::Gauge).unwrap(),
            "queue_depth"
        );
        for name in ["jobs_total", "x_count", "x_sum", "x_bucket", "x_created"] {
            assert!(family_name(name, MetricKind::Gauge).is_err(), "{name}");
            assert!(family_name(name, MetricKind::Histogram).is_err(), "{name}");
        }
        assert!(family_name("", MetricKind::Gauge).is_err());
    }

    #[test]
    fn label_names_follow_the_label_rules() {
        assert_eq!(
            label_names(["method", "http.route"].into_iter()).unwrap(),
            ["method", "http_route"]
        );
        for bad in [
            &["le"][..],
            &["_x"],
            &["9x"],
            &["statusCode"],
            &["a", "a"],
            &[""],
        ] {
            assert!(label_names(bad.iter().copied()).is_err(), "{bad:?}");
        }
    }
}
