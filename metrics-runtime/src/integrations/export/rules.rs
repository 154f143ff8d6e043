//! Recording rules: the functions' rates, error ratios and p99s, and each objective's error
//! ratios over the burn-rate windows, its budget and its alerts.

use std::fmt::Write as _;

use crate::catalog::DeclaredObjective;
use crate::exposition::text::{Format, bound_text, promql_string};

use super::Export;
use super::quoting::{number, template_text, yaml_string};
use super::rule_tests::{above, pace};

/// The windows of the error ratios, the budget's included.
pub(super) const WINDOWS: [&str; 6] = ["5m", "30m", "1h", "6h", "3d", "30d"];

/// The burn-rate alerts: name, factor, long and short window, severity, `for`, and what the
/// factor means.
pub(super) const BURN_ALERTS: [(&str, f64, &str, &str, &str, &str, &str); 3] = [
    (
        "ObjectiveFastBurn",
        14.4,
        "1h",
        "5m",
        "critical",
        "2m",
        "2% of the 30-day error budget in an hour",
    ),
    (
        "ObjectiveSlowBurn",
        6.0,
        "6h",
        "30m",
        "critical",
        "15m",
        "5% of the 30-day error budget in 6 hours",
    ),
    (
        "ObjectiveBudgetBurn",
        1.0,
        "3d",
        "6h",
        "warning",
        "1h",
        "the whole 30-day error budget before the 30 days are over",
    ),
];

impl Export<'_> {
    /// Recording rules for every family of instrumented functions: the call rate, the ratio
    /// of calls that did not end `ok`, and the 99th percentile of durations, by function.
    #[must_use]
    pub fn function_rules(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .catalog
            .functions
            .iter()
            .map(|f| (f.counter, f.histogram))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut out = self.header(
            "For every family of #[instrument_metric] functions: call rate, error ratio and p99 latency.",
        );
        out.push_str("groups:\n  - name: instrumented-functions\n    rules:\n");
        for (counter, histogram) in pairs {
            let stem = counter.strip_suffix("_total").unwrap_or(counter);
            let keep: Vec<&str> = self
                .family(counter)
                .map(|family| family.labels.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|label| *label != "result")
                .collect();
            let by = keep.join(", ");
            let p99 = quantile(0.99, histogram, "", "5m", &keep);
            let rate = format!("sum by ({by}) (rate({counter}[5m]))");
            let _ = write!(
                out,
                "      - record: function:{stem}:rate5m\n        expr: {}\n\
                 \x20     - record: function:{stem}:error_ratio_rate5m\n        expr: {}\n\
                 \x20     - record: function:{histogram}:p99_5m\n        expr: {}\n",
                yaml_string(&rate),
                yaml_string(&format!(
                    "sum by ({by}) (rate({counter}{{result!=\"ok\"}}[5m])) / {rate}"
                )),
                yaml_string(&p99),
            );
        }
        out
    }

    /// Recording rules of the error ratio of every objective over each window, of its error
    /// budget left, and its burn-rate alerts (see the [module docs](crate::export)).
    #[must_use]
    pub fn objective_rules(&self) -> String {
        let mut out = self.header(
            "Service level objectives declared in code: error ratios by window, error budget left, burn-rate alerts.",
        );
        out.push_str("groups:\n");
        if self.catalog.objectives.is_empty() {
            out.push_str("  []\n");
            return out;
        }
        out.push_str("  - name: objectives\n    rules:\n");
        for objective in &self.catalog.objectives {
            for sli in indicators(objective) {
                for window in &WINDOWS[..5] {
                    push_ratio_rule(&mut out, &sli, window);
                }
            }
        }
        // Thirty days of samples cost a query its time: evaluated every five minutes.
        out.push_str("  - name: objectives-budget\n    interval: 5m\n    rules:\n");
        for objective in &self.catalog.objectives {
            for sli in indicators(objective) {
                push_ratio_rule(&mut out, &sli, "30d");
                let _ = write!(
                    out,
                    "      - record: objective:error_budget_remaining:ratio30d\n        expr: {}\n{}",
                    yaml_string(&format!(
                        "1 - objective:error_ratio:rate30d{{{}}} / {}",
                        sli.matchers(),
                        number(sli.budget)
                    )),
                    sli.labels()
                );
            }
        }
        out.push_str("  - name: objectives-alerts\n    rules:\n");
        for objective in &self.catalog.objectives {
            for sli in indicators(objective) {
                for (alert, factor, long, short, severity, pending, meaning) in BURN_ALERTS {
                    let threshold = number(round(factor * sli.budget));
                    let matchers = sli.matchers();
                    // An alert's labels and annotations are templates: the name is printed as
                    // a template's string constant, so that `{{` in it runs nothing.
                    let _ = write!(
                        out,
                        "      - alert: {alert}\n        expr: {}\n        for: {pending}\n        labels:\n          severity: {severity}\n          objective: {}\n          sli: {}\n        annotations:\n          summary: {}\n          description: {}\n",
                        yaml_string(&format!(
                            "objective:error_ratio:rate{long}{{{matchers}}} > {threshold} and objective:error_ratio:rate{short}{{{matchers}}} > {threshold}"
                        )),
                        yaml_string(&template_text(&objective.name)),
                        sli.name,
                        yaml_string(&format!(
                            "Objective {} ({}) of job {{{{ $labels.job }}}} burns its error budget {}",
                            template_text(&objective.name),
                            sli.name,
                            pace(factor)
                        )),
                        yaml_string(&format!(
                            "{} has been {} over the last {long} and {short}: at this pace it spends {meaning}. {}",
                            sli.share_template(),
                            above(factor),
                            sli.target_text()
                        )),
                    );
                }
            }
        }
        out
    }
}

/// One indicator of an objective: its name, its error ratio's numerator and denominator
/// (PromQL, with `WINDOW` for the range), and its error budget (a ratio).
pub(super) struct Indicator<'o> {
    pub(super) objective: &'o DeclaredObjective,
    pub(super) name: &'static str,
    /// The expression of the error ratio over `[WINDOW]`.
    pub(super) ratio: String,
    /// The allowed error ratio: 1 - target.
    pub(super) budget: f64,
    /// The target, in percent.
    pub(super) target: f64,
    /// For latency, the threshold.
    pub(super) threshold: Option<f64>,
}

impl Indicator<'_> {
    pub(super) fn matchers(&self) -> String {
        format!(
            "objective={},sli=\"{}\"",
            promql_string(&self.objective.name),
            self.name
        )
    }

    pub(super) fn labels(&self) -> String {
        format!(
            "        labels:\n          objective: {}\n          sli: {}\n",
            yaml_string(&self.objective.name),
            self.name
        )
    }

    pub(super) fn describe(&self) -> String {
        format!("{}.", self.share())
    }

    /// What the indicator measures, as the subject of a sentence.
    pub(super) fn share(&self) -> String {
        self.share_of(&self.objective.scope)
    }

    /// [`share`](Self::share) as alert template text: the scope (a route template, which may
    /// hold `{{`) printed as it is.
    pub(super) fn share_template(&self) -> String {
        self.share_of(&template_text(&self.objective.scope))
    }

    fn share_of(&self, scope: &str) -> String {
        let calls = if scope.is_empty() {
            "calls".to_owned()
        } else {
            format!("requests to {scope}")
        };
        match self.threshold {
            None => format!(
                "The share of {calls} counted in {} that failed",
                self.objective.requests
            ),
            Some(threshold) => format!(
                "The share of {calls} timed in {} that took longer than {} s",
                self.objective.histogram,
                number(threshold)
            ),
        }
    }

    pub(super) fn target_text(&self) -> String {
        match self.threshold {
            None => format!(
                "Objective: {}% of calls succeed over 30 days.",
                number(self.target)
            ),
            Some(threshold) => format!(
                "Objective: {}% of calls take at most {} s over 30 days.",
                number(self.target),
                number(threshold)
            ),
        }
    }
}

/// The selector of `objective`'s series with `extra` matchers.
pub(super) fn selector(objective: &DeclaredObjective, extra: &str) -> String {
    match (objective.selector.is_empty(), extra.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!("{{{extra}}}"),
        (false, true) => format!("{{{}}}", objective.selector),
        (false, false) => format!("{{{},{extra}}}", objective.selector),
    }
}

/// The success and latency indicators an objective has.
pub(super) fn indicators(objective: &DeclaredObjective) -> Vec<Indicator<'_>> {
    let mut all = Vec::new();
    if let Some(target) = objective.success {
        let label = objective.outcome_label;
        let bad = selector(objective, &format!("{label}=~\"{}\"", objective.bad));
        let counted = if objective.ignored.is_empty() {
            selector(objective, "")
        } else {
            selector(objective, &format!("{label}!~\"{}\"", objective.ignored))
        };
        let requests = objective.requests;
        all.push(Indicator {
            objective,
            name: "success",
            ratio: format!(
                "sum by (job) (rate({requests}{bad}[WINDOW])) / sum by (job) (rate({requests}{counted}[WINDOW]))"
            ),
            budget: budget(target),
            target,
            threshold: None,
        });
    }
    if let Some((threshold, target)) = objective.latency {
        // The `le` of the bound as either format writes it ("1" in text, "1.0" in OpenMetrics).
        let text = bound_text(threshold, Format::Text);
        let openmetrics = bound_text(threshold, Format::OpenMetrics);
        let le = if text == openmetrics {
            format!("le=\"{text}\"")
        } else {
            format!(
                "le=~\"{}|{}\"",
                text.replace('.', "\\\\."),
                openmetrics.replace('.', "\\\\.")
            )
        };
        let histogram = objective.histogram;
        let native = selector(objective, "");
        let native = format!(
            "1 - histogram_fraction(-Inf, {}, sum by (job) (rate({histogram}{native}[WINDOW])))",
            number(threshold)
        );
        let classic = format!(
            "1 - sum by (job) (rate({histogram}_bucket{}[WINDOW])) / sum by (job) (rate({histogram}_bucket{}[WINDOW]))",
            selector(objective, &le),
            selector(objective, &infinity_bucket())
        );
        all.push(Indicator {
            objective,
            name: "latency",
            ratio: format!("({native}) or ({classic})"),
            budget: budget(target),
            target,
            threshold: Some(threshold),
        });
    }
    all
}

/// The `le` matcher of a classic histogram's `+Inf` bucket, which counts every observation as
/// `_count` does: unlike `_count`, OpenMetrics keeps it while the histogram's sum is negative.
pub(super) fn infinity_bucket() -> String {
    "le=\"+Inf\"".to_owned()
}

/// The `q` quantile of histogram `name` (series matching `matchers`, over `window`) by
/// `labels`, whichever way the server stored it: the native histogram (exponential or custom
/// buckets: Prometheus with native histograms scraped, or classic ones converted) or the
/// classic `_bucket` series. The native expression comes first: where the server keeps both,
/// its answer wins, and `or` adds the classic answer only for label sets the native one lacks.
pub(super) fn quantile(
    q: f64,
    name: &str,
    matchers: &str,
    window: &str,
    labels: &[&str],
) -> String {
    let mut with_le = vec!["le"];
    with_le.extend(labels);
    let by_labels = if labels.is_empty() {
        String::new()
    } else {
        format!(" by ({})", labels.join(", "))
    };
    let matchers = if matchers.is_empty() {
        String::new()
    } else {
        format!("{{{matchers}}}")
    };
    format!(
        "histogram_quantile({q}, sum{by_labels} (rate({name}{matchers}[{window}]))) or histogram_quantile({q}, sum by ({}) (rate({name}_bucket{matchers}[{window}])))",
        with_le.join(", ")
    )
}

/// The error budget of a target in percent, as a ratio.
pub(super) fn budget(target: f64) -> f64 {
    round((100.0 - target) / 100.0)
}

/// `value` rounded off the float noise of its arithmetic (`1 - 0.999`, `14.4 * 0.001`).
pub(super) fn round(value: f64) -> f64 {
    (value * 1e12).round() / 1e12
}

pub(super) fn push_ratio_rule(out: &mut String, sli: &Indicator<'_>, window: &str) {
    let _ = write!(
        out,
        "      - record: objective:error_ratio:rate{window}\n        expr: {}\n{}",
        yaml_string(&sli.ratio.replace("WINDOW", window)),
        sli.labels()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // rounded to the very decimals compared
    fn budgets_are_round() {
        assert_eq!(budget(99.9), 0.001);
        assert_eq!(budget(95.0), 0.05);
        assert_eq!(number(round(14.4 * budget(99.9))), "0.0144");
        assert_eq!(number(2.0), "2");
    }
}
