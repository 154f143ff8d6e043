//! promtool unit tests of the objectives' rules: series at a steady error ratio, and which
//! alert fires when.

use std::fmt::Write as _;

use crate::catalog::DeclaredObjective;
use crate::exposition::text::{Format, bound_text, promql_string};

use super::Export;
use super::quoting::{number, yaml_string};
use super::rules::{BURN_ALERTS, Indicator, indicators, round};

impl Export<'_> {
    /// Unit tests of [`Export::objective_rules`] for `promtool test rules`, with `rules` the
    /// path of the rules file from the test file. For each objective and indicator, three
    /// burns: 20 times the budget's rate (both pages and the ticket fire, or those that can: a
    /// page whose threshold is above 100% errors cannot), twice it (the ticket only) and half
    /// of it (nothing).
    #[must_use]
    pub fn objective_rule_tests(&self, rules: &str) -> String {
        let mut out = self.header(&format!(
            "Unit tests of the objectives' alerts: promtool test rules (the rules: {rules})."
        ));
        let _ = write!(
            out,
            "rule_files:\n  - {}\n\nevaluation_interval: 1m\n\ntests:\n",
            yaml_string(rules)
        );
        if self.catalog.objectives.is_empty() {
            out.push_str("  []\n");
        }
        for objective in &self.catalog.objectives {
            for sli in indicators(objective) {
                for (scenario, factor) in [("20 times", 20.0), ("twice", 2.0), ("half", 0.5)] {
                    let ratio = (factor * sli.budget).min(1.0);
                    push_test(
                        &mut out,
                        &self.catalog.objectives,
                        objective,
                        &sli,
                        scenario,
                        ratio,
                    );
                }
            }
        }
        out
    }
}

/// One promtool test: `ratio` of the calls fail (or are slow) for three hours, and each alert
/// is expected firing at two hours if its threshold is below `ratio`, absent otherwise; for
/// `objective`, and for each other objective of `all` that covers the same series with the
/// same indicator (a route's requests are the layer-wide objective's too), which sees the
/// same ratio.
pub(super) fn push_test(
    out: &mut String,
    all: &[DeclaredObjective],
    objective: &DeclaredObjective,
    sli: &Indicator<'_>,
    scenario: &str,
    ratio: f64,
) {
    // Calls per minute: large, so that bad calls are a whole number.
    const CALLS: f64 = 100_000.0;
    let bad = (ratio * CALLS).round();
    let good = CALLS - bad;
    let mut labels: Vec<(String, String)> = objective
        .example
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    labels.push(("job".to_owned(), "test".to_owned()));
    labels.push(("instance".to_owned(), "test:9100".to_owned()));
    let series = |name: &str, extra: &[(&str, &str)]| {
        let mut all: Vec<(String, String)> = labels.clone();
        all.extend(
            extra
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        all.sort();
        let rendered: Vec<String> = all
            .iter()
            .map(|(name, value)| format!("{name}={}", promql_string(value)))
            .collect();
        format!("{name}{{{}}}", rendered.join(","))
    };
    let _ = write!(
        out,
        "  - name: {}\n    interval: 1m\n    input_series:\n",
        yaml_string(&format!(
            "{} {}: errors at {scenario} the budget's rate",
            objective.name, sli.name
        ))
    );
    let mut input = |series: String, per_minute: f64| {
        let _ = write!(
            out,
            "      - series: {}\n        values: '0+{}x180'\n",
            yaml_string(&series),
            number(per_minute)
        );
    };
    match sli.threshold {
        None => {
            let label = objective.outcome_label;
            let (ok, failed) = if label == "result" {
                ("ok", "error")
            } else if objective.bad.contains("xx") {
                ("2xx", "5xx")
            } else {
                ("200", "500")
            };
            input(series(objective.requests, &[(label, ok)]), good);
            input(series(objective.requests, &[(label, failed)]), bad);
        }
        Some(threshold) => {
            let le = bound_text(threshold, Format::Text);
            let bucket = format!("{}_bucket", objective.histogram);
            input(series(&bucket, &[("le", &le)]), good);
            input(series(&bucket, &[("le", "+Inf")]), CALLS);
        }
    }
    let readers = readers(all, objective, sli);
    out.push_str("    alert_rule_test:\n");
    for (alert, factor, long, short, severity, _, meaning) in BURN_ALERTS {
        let _ = write!(
            out,
            "      - eval_time: 2h\n        alertname: {alert}\n        exp_alerts:"
        );
        let firing: Vec<&(&DeclaredObjective, Indicator<'_>)> = readers
            .iter()
            .filter(|(_, indicator)| ratio > round(factor * indicator.budget))
            .collect();
        if firing.is_empty() {
            out.push_str(" []\n");
            continue;
        }
        out.push('\n');
        for (other, indicator) in firing {
            let _ = write!(
                out,
                "          - exp_labels:\n              job: test\n              objective: {}\n              sli: {}\n              severity: {severity}\n            exp_annotations:\n              summary: {}\n              description: {}\n",
                yaml_string(&other.name),
                indicator.name,
                yaml_string(&format!(
                    "Objective {} ({}) of job test burns its error budget {}",
                    other.name,
                    indicator.name,
                    pace(factor)
                )),
                yaml_string(&format!(
                    "{} has been {} over the last {long} and {short}: at this pace it spends {meaning}. {}",
                    indicator.share(),
                    above(factor),
                    indicator.target_text()
                )),
            );
        }
    }
}

/// Every indicator that reads the series of `objective`'s test of `sli`: that one, and those of
/// the objectives of `all` over the same series with the same indicator (and threshold), which
/// see the same ratio.
fn readers<'a>(
    all: &'a [DeclaredObjective],
    objective: &DeclaredObjective,
    sli: &Indicator<'_>,
) -> Vec<(&'a DeclaredObjective, Indicator<'a>)> {
    let example: Vec<(&str, String)> = objective
        .example
        .iter()
        .map(|(name, value)| (*name, value.clone()))
        .collect();
    all.iter()
        .filter(|other| match sli.threshold {
            None => {
                other.requests == objective.requests
                    && other.outcome_label == objective.outcome_label
            }
            Some(threshold) => {
                other.histogram == objective.histogram
                    && other.latency.map(|(at, _)| at) == Some(threshold)
            }
        })
        .filter(|other| std::ptr::eq(*other, objective) || other.covers(&example))
        .filter_map(|other| {
            indicators(other)
                .into_iter()
                .find(|indicator| indicator.name == sli.name)
                .map(|indicator| (other, indicator))
        })
        .collect()
}

/// How fast an alert's burn spends the error budget, ending its summary: "faster than the
/// budget allows" (it fires above the budget's rate) or "14.4 times faster than the budget
/// allows".
#[allow(clippy::float_cmp)] // the factors are constants of `BURN_ALERTS`, 1 written as 1.0
pub(super) fn pace(factor: f64) -> String {
    if factor == 1.0 {
        "faster than the budget allows".to_owned()
    } else {
        format!("{} times faster than the budget allows", number(factor))
    }
}

/// The error ratio an alert's burn is above, in its description: "above the error budget's
/// rate" or "more than 14.4 times the error budget's rate".
#[allow(clippy::float_cmp)] // the factors are constants of `BURN_ALERTS`, 1 written as 1.0
pub(super) fn above(factor: f64) -> String {
    if factor == 1.0 {
        "above the error budget's rate".to_owned()
    } else {
        format!("more than {} times the error budget's rate", number(factor))
    }
}
