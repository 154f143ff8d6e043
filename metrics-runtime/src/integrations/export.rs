//! What the catalog generates for Prometheus and Grafana (feature `export`): recording rules
//! for every family of instrumented functions, recording rules and multi-window, multi-burn-rate
//! alerts for every objective, promtool unit tests of those alerts, and a Grafana dashboard.
//!
//! The catalog is per binary, so call these from the binary that serves the metrics (a
//! subcommand, or a test that compares them with the files checked in), after everything
//! that registers families at start-up (collectors, HTTP layers) has run:
//!
//! ```
//! use instrument_metric::instrument_metric;
//! use instrument_metric::export::Export;
//!
//! /// Places an order.
//! #[instrument_metric(name = "orders_place", objective(success = 99.9, latency = (0.25, 99.0)))]
//! fn place() {}
//!
//! fn main() {
//!     let catalog = instrument_metric::catalog();
//!     let export = Export::new(&catalog, "shop catalog");
//!     let rules = export.objective_rules();
//!     assert!(rules.contains("alert: ObjectiveFastBurn"));
//!     let tests = export.objective_rule_tests("../objectives.yml");
//!     assert!(tests.contains("rule_files:\n  - \"../objectives.yml\"\n"));
//!     assert!(export.dashboard().contains("\"title\": \"Objective orders_place\""));
//! }
//! ```
//!
//! # Objectives
//!
//! Each objective has one or two indicators (`sli` label): `success`, the share of calls that
//! did not fail (`result` `error` or `panic`; or a 5xx `status` for the HTTP layer), and
//! `latency`, the share no longer than the threshold (the histogram's bucket at that bound).
//! For each, by `job`, the rules record the error ratio (`objective:error_ratio:rate5m`,
//! `rate30m`, `rate1h`, `rate6h`, `rate3d`, `rate30d`) and the share of the 30-day error budget
//! left (`objective:error_budget_remaining:ratio30d`), and alert on the burn rate of the budget
//! as the Google SRE workbook advises:
//!
//! | alert | burn rate | windows | severity | `for` |
//! |---|---|---|---|---|
//! | `ObjectiveFastBurn` | 14.4 (2% of the budget in an hour) | 1h and 5m | critical | 2m |
//! | `ObjectiveSlowBurn` | 6 (5% in 6 hours) | 6h and 30m | critical | 15m |
//! | `ObjectiveBudgetBurn` | 1 (all of it in 30 days) | 3d and 6h | warning | 1h |
//!
//! The long window makes sure the burn is real, the short one that it is still going on, so
//! an alert stops soon after the problem does. Without traffic a ratio is `NaN` and nothing
//! fires.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::catalog::{Catalog, DeclaredFamily, DeclaredObjective};
use crate::exposition::text::{Format, bound_text, promql_string};
use crate::model::MetricKind;

/// The windows of the error ratios, the budget's included.
const WINDOWS: [&str; 6] = ["5m", "30m", "1h", "6h", "3d", "30d"];

/// The burn-rate alerts: name, factor, long and short window, severity, `for`, and what the
/// factor means.
const BURN_ALERTS: [(&str, f64, &str, &str, &str, &str, &str); 3] = [
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

/// The generators over one catalog, with the options of their output.
///
/// ```
/// use instrument_metric::export::Export;
///
/// let catalog = instrument_metric::catalog();
/// let export = Export::new(&catalog, "my-service catalog")
///     .dashboard_title("My service", "my-service")
///     .row("Payments", &["payments_", "refunds_"])
///     .stat("payments_success_rate", "Payment success rate", "percentunit");
/// assert!(export.dashboard().starts_with("{\n"));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Export<'a> {
    catalog: &'a Catalog,
    /// The command that regenerates the files, named in their headers.
    command: String,
    title: String,
    uid: String,
    rows: Vec<(String, Vec<String>)>,
    stats: Vec<(String, String, String)>,
}

impl<'a> Export<'a> {
    /// The generators of `catalog`; `command` is how to run them again (their files say so).
    pub fn new(catalog: &'a Catalog, command: &str) -> Self {
        Export {
            catalog,
            command: command.to_owned(),
            title: "Service".to_owned(),
            uid: "service".to_owned(),
            rows: Vec::new(),
            stats: Vec::new(),
        }
    }

    /// The dashboard's title and Grafana uid.
    pub fn dashboard_title(mut self, title: &str, uid: &str) -> Self {
        title.clone_into(&mut self.title);
        uid.clone_into(&mut self.uid);
        self
    }

    /// A row of the dashboard holding the families whose names start with one of `prefixes`,
    /// in the order rows are given; families no row takes get a row per first word of their
    /// name.
    pub fn row(mut self, title: &str, prefixes: &[&str]) -> Self {
        self.rows.push((
            title.to_owned(),
            prefixes.iter().map(|p| (*p).to_owned()).collect(),
        ));
        self
    }

    /// A stat panel of a recording rule of your own, at the top of the dashboard, with a
    /// Grafana unit (`percentunit`, `s`, `short`, ...).
    pub fn stat(mut self, record: &str, title: &str, unit: &str) -> Self {
        self.stats
            .push((record.to_owned(), title.to_owned(), unit.to_owned()));
        self
    }

    fn header(&self, what: &str) -> String {
        format!(
            "# Generated by `{}` from the metric catalog; do not edit by hand.\n# {}\n",
            comment_text(&self.command),
            comment_text(what)
        )
    }

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

    fn family(&self, name: &str) -> Option<&DeclaredFamily> {
        self.catalog
            .families
            .iter()
            .find(|family| family.name == name)
    }

    /// Recording rules of the error ratio of every objective over each window, of its error
    /// budget left, and its burn-rate alerts (see the [module docs](self)).
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
                            sli.share(),
                            above(factor),
                            sli.target_text()
                        )),
                    );
                }
            }
        }
        out
    }

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
                    push_test(&mut out, objective, &sli, scenario, ratio);
                }
            }
        }
        out
    }

    /// The Grafana dashboard, as pretty-printed JSON with a trailing newline: a row per
    /// objective (error budget left, error ratio against the target, burn rate), the stat
    /// panels asked for, then a panel per family with a human title and a unit, in rows. Every
    /// query is filtered by the `job` and `instance` variables, so the dashboard serves a fleet.
    #[must_use]
    pub fn dashboard(&self) -> String {
        let mut board = Board::default();
        self.objective_rows(&mut board);
        self.family_rows(&mut board);
        let variable = |name: &str, label: &str, query: &str| {
            json!({
                "name": name,
                "label": label,
                "type": "query",
                "datasource": { "type": "prometheus", "uid": "${datasource}" },
                "query": query,
                "refresh": 2,
                "multi": true,
                "includeAll": true,
                "allValue": ".+",
                "sort": 1,
            })
        };
        let dashboard = json!({
            "title": self.title,
            "uid": self.uid,
            "description": format!("Generated by `{}` from the metric catalog; do not edit by hand.", self.command),
            "tags": ["generated"],
            "timezone": "browser",
            "schemaVersion": 39,
            "version": 1,
            "editable": true,
            "refresh": "30s",
            "time": { "from": "now-1h", "to": "now" },
            "templating": { "list": [
                { "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus" },
                variable("job", "Job", "label_values(up, job)"),
                variable("instance", "Instance", "label_values(up{job=~\"$job\"}, instance)"),
            ] },
            "panels": board.panels,
        });
        let mut text = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
        text.push('\n');
        text
    }

    /// A row per objective: error budget left, error ratio against the target, burn rate.
    fn objective_rows(&self, board: &mut Board) {
        for objective in &self.catalog.objectives {
            board.row(&format!("Objective {}", objective.name));
            for sli in indicators(objective) {
                let matchers = sli.matchers();
                board.panel(
                    "stat",
                    &format!("{} {}: error budget left (30 days)", objective.name, sli.name),
                    &format!(
                        "{} The share of the 30-day error budget not spent yet; below 0 the objective is missed.",
                        sli.target_text()
                    ),
                    &[(
                        format!("objective:error_budget_remaining:ratio30d{{{matchers},job=~\"$job\"}}"),
                        "{{job}}".to_owned(),
                    )],
                    "percentunit",
                    8,
                );
                board.panel(
                    "timeseries",
                    &format!("{} {}: error ratio and target", objective.name, sli.name),
                    &sli.describe(),
                    &[
                        (
                            format!("objective:error_ratio:rate5m{{{matchers},job=~\"$job\"}}"),
                            "errors {{job}}".to_owned(),
                        ),
                        (
                            format!(
                                "{} + 0 * objective:error_ratio:rate5m{{{matchers},job=~\"$job\"}}",
                                number(sli.budget)
                            ),
                            "allowed {{job}}".to_owned(),
                        ),
                    ],
                    "percentunit",
                    8,
                );
                board.panel(
                    "timeseries",
                    &format!("{} {}: error budget burn rate", objective.name, sli.name),
                    "How many times faster than allowed the error budget is spent: 1 spends it in 30 days; the fast-burn page fires above 14.4.",
                    &[
                        (
                            format!(
                                "objective:error_ratio:rate1h{{{matchers},job=~\"$job\"}} / {}",
                                number(sli.budget)
                            ),
                            "1h {{job}}".to_owned(),
                        ),
                        (
                            format!(
                                "objective:error_ratio:rate6h{{{matchers},job=~\"$job\"}} / {}",
                                number(sli.budget)
                            ),
                            "6h {{job}}".to_owned(),
                        ),
                    ],
                    "short",
                    8,
                );
            }
        }
    }

    /// The stat panels asked for, then a panel per family, in rows.
    fn family_rows(&self, board: &mut Board) {
        if !self.stats.is_empty() {
            board.row("Ratios (recording rules)");
            for (record, title, unit) in &self.stats {
                board.panel(
                    "stat",
                    title,
                    &format!("Recording rule `{record}`."),
                    &[(record.clone(), String::new())],
                    unit,
                    8,
                );
            }
        }
        for (title, families) in self.rows_of_families() {
            board.row(&title);
            for family in families {
                board.panel(
                    "timeseries",
                    &human_title(family),
                    family.help,
                    &queries(family),
                    unit(family),
                    12,
                );
            }
        }
    }

    /// The families in their rows: the rows asked for, then one per first word of a name.
    fn rows_of_families(&self) -> Vec<(String, Vec<&'a DeclaredFamily>)> {
        let mut placed = std::collections::BTreeSet::new();
        let mut rows: Vec<(String, Vec<&DeclaredFamily>)> = Vec::new();
        for (title, prefixes) in &self.rows {
            let members: Vec<&DeclaredFamily> = self
                .catalog
                .families
                .iter()
                .filter(|family| {
                    prefixes
                        .iter()
                        .any(|prefix| family.name.starts_with(prefix.as_str()))
                        && placed.insert(family.name)
                })
                .collect();
            if !members.is_empty() {
                rows.push((title.clone(), members));
            }
        }
        let mut rest: BTreeMap<String, Vec<&DeclaredFamily>> = BTreeMap::new();
        for family in &self.catalog.families {
            if !placed.contains(family.name) {
                let word = family.name.split('_').next().unwrap_or(family.name);
                rest.entry(human_words(word)).or_default().push(family);
            }
        }
        rows.extend(rest);
        rows
    }
}

/// One indicator of an objective: its name, its error ratio's numerator and denominator
/// (PromQL, with `WINDOW` for the range), and its error budget (a ratio).
struct Indicator<'o> {
    objective: &'o DeclaredObjective,
    name: &'static str,
    /// The expression of the error ratio over `[WINDOW]`.
    ratio: String,
    /// The allowed error ratio: 1 - target.
    budget: f64,
    /// The target, in percent.
    target: f64,
    /// For latency, the threshold.
    threshold: Option<f64>,
}

impl Indicator<'_> {
    fn matchers(&self) -> String {
        format!(
            "objective={},sli=\"{}\"",
            promql_string(&self.objective.name),
            self.name
        )
    }

    fn labels(&self) -> String {
        format!(
            "        labels:\n          objective: {}\n          sli: {}\n",
            yaml_string(&self.objective.name),
            self.name
        )
    }

    fn describe(&self) -> String {
        format!("{}.", self.share())
    }

    /// What the indicator measures, as the subject of a sentence.
    fn share(&self) -> String {
        match self.threshold {
            None => format!(
                "The share of calls counted in {} that failed",
                self.objective.requests
            ),
            Some(threshold) => format!(
                "The share of calls timed in {} that took longer than {} s",
                self.objective.histogram,
                number(threshold)
            ),
        }
    }

    fn target_text(&self) -> String {
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
fn selector(objective: &DeclaredObjective, extra: &str) -> String {
    match (objective.selector.is_empty(), extra.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!("{{{extra}}}"),
        (false, true) => format!("{{{}}}", objective.selector),
        (false, false) => format!("{{{},{extra}}}", objective.selector),
    }
}

/// The success and latency indicators an objective has.
fn indicators(objective: &DeclaredObjective) -> Vec<Indicator<'_>> {
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
fn infinity_bucket() -> String {
    "le=\"+Inf\"".to_owned()
}

/// The `q` quantile of histogram `name` (series matching `matchers`, over `window`) by
/// `labels`, whichever way the server stored it: the native histogram (exponential or custom
/// buckets: Prometheus with native histograms scraped, or classic ones converted) or the
/// classic `_bucket` series. The native expression comes first: where the server keeps both,
/// its answer wins, and `or` adds the classic answer only for label sets the native one lacks.
fn quantile(q: f64, name: &str, matchers: &str, window: &str, labels: &[&str]) -> String {
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
fn budget(target: f64) -> f64 {
    round((100.0 - target) / 100.0)
}

/// `value` rounded off the float noise of its arithmetic (`1 - 0.999`, `14.4 * 0.001`).
fn round(value: f64) -> f64 {
    (value * 1e12).round() / 1e12
}

fn push_ratio_rule(out: &mut String, sli: &Indicator<'_>, window: &str) {
    let _ = write!(
        out,
        "      - record: objective:error_ratio:rate{window}\n        expr: {}\n{}",
        yaml_string(&sli.ratio.replace("WINDOW", window)),
        sli.labels()
    );
}

/// One promtool test: `ratio` of the calls fail (or are slow) for three hours, and each alert
/// is expected firing at two hours if its threshold is below `ratio`, absent otherwise.
fn push_test(
    out: &mut String,
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
    out.push_str("    alert_rule_test:\n");
    for (alert, factor, ..) in BURN_ALERTS {
        let fires = ratio > round(factor * sli.budget);
        let _ = write!(
            out,
            "      - eval_time: 2h\n        alertname: {alert}\n        exp_alerts:"
        );
        if !fires {
            out.push_str(" []\n");
            continue;
        }
        let (_, _, long, short, severity, _, meaning) = BURN_ALERTS
            .iter()
            .copied()
            .find(|entry| entry.0 == alert)
            .unwrap_or(BURN_ALERTS[0]);
        let _ = write!(
            out,
            "\n          - exp_labels:\n              job: test\n              objective: {}\n              sli: {}\n              severity: {severity}\n            exp_annotations:\n              summary: {}\n              description: {}\n",
            yaml_string(&objective.name),
            sli.name,
            yaml_string(&format!(
                "Objective {} ({}) of job test burns its error budget {}",
                objective.name,
                sli.name,
                pace(factor)
            )),
            yaml_string(&format!(
                "{} has been {} over the last {long} and {short}: at this pace it spends {meaning}. {}",
                sli.share(),
                above(factor),
                sli.target_text()
            )),
        );
    }
}

/// How fast an alert's burn spends the error budget, ending its summary: "faster than the
/// budget allows" (it fires above the budget's rate) or "14.4 times faster than the budget
/// allows".
#[allow(clippy::float_cmp)] // the factors are constants of `BURN_ALERTS`, 1 written as 1.0
fn pace(factor: f64) -> String {
    if factor == 1.0 {
        "faster than the budget allows".to_owned()
    } else {
        format!("{} times faster than the budget allows", number(factor))
    }
}

/// The error ratio an alert's burn is above, in its description: "above the error budget's
/// rate" or "more than 14.4 times the error budget's rate".
#[allow(clippy::float_cmp)] // the factors are constants of `BURN_ALERTS`, 1 written as 1.0
fn above(factor: f64) -> String {
    if factor == 1.0 {
        "above the error budget's rate".to_owned()
    } else {
        format!("more than {} times the error budget's rate", number(factor))
    }
}

/// A number as rules show it: the shortest text that reads back as the same `f64`.
fn number(value: f64) -> String {
    let mut text = ryu::Buffer::new().format(value).to_owned();
    if let Some(whole) = text.strip_suffix(".0") {
        text = whole.to_owned();
    }
    text
}

/// `text` as a double-quoted YAML string, in ASCII: `"` and `\` escaped, and every character
/// outside printable ASCII as `\n`, `\t`, `\uXXXX` or `\UXXXXXXXX`, so that none is
/// read as a line break (YAML parsers also break lines at U+0085, U+2028 and U+2029), folded
/// or refused (a byte-order mark, U+FFFE).
fn yaml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            ' '..='~' => quoted.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(quoted, "\\U{:08X}", u32::from(c));
            }
        }
    }
    quoted.push('"');
    quoted
}

/// `text` as alert template text that prints it as it is: unchanged when it has no `{` or
/// `}`, otherwise as a template action printing it as a Go string constant (`{{ "a{{b" }}`),
/// since Prometheus expands alert labels and annotations with Go's `text/template`.
fn template_text(text: &str) -> String {
    if !text.contains(['{', '}']) {
        return text.to_owned();
    }
    let mut constant = String::with_capacity(text.len() + 10);
    constant.push_str("{{ \"");
    for c in text.chars() {
        match c {
            '"' => constant.push_str("\\\""),
            '\\' => constant.push_str("\\\\"),
            '\n' => constant.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(constant, "\\u{:04X}", u32::from(c));
            }
            c => constant.push(c),
        }
    }
    constant.push_str("\" }}");
    constant
}

/// `text` on one line of a YAML comment: control characters (line breaks included) as spaces.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || ['\u{2028}', '\u{2029}'].contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Panels laid out in rows, two by two (or three by three for stats).
#[derive(Default)]
struct Board {
    panels: Vec<Value>,
    next_id: u32,
    /// The top of the current line of panels, and how much of its width is taken.
    y: u32,
    x: u32,
}

impl Board {
    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.y += 8;
            self.x = 0;
        }
        self.next_id += 1;
        self.panels.push(json!({
            "id": self.next_id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.y += 1;
    }

    fn panel(
        &mut self,
        kind: &str,
        title: &str,
        description: &str,
        targets: &[(String, String)],
        unit: &str,
        width: u32,
    ) {
        if self.x + width > 24 {
            self.y += 8;
            self.x = 0;
        }
        self.next_id += 1;
        let targets: Vec<Value> = targets
            .iter()
            .zip('A'..)
            .map(|((expr, legend), ref_id)| {
                json!({
                    "datasource": { "type": "prometheus", "uid": "${datasource}" },
                    "expr": expr,
                    "legendFormat": legend,
                    "refId": ref_id.to_string(),
                })
            })
            .collect();
        self.panels.push(json!({
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
            "gridPos": { "h": 8, "w": width, "x": self.x, "y": self.y },
            "targets": targets,
        }));
        self.x += width;
    }
}

/// Words of a name as a title: `_` to spaces, the first letter upper case, abbreviations
/// (`http`, `api`, `sms`, `cpu`, ...) in capitals.
fn human_words(name: &str) -> String {
    const ABBREVIATIONS: [&str; 12] = [
        "http", "api", "sms", "cpu", "io", "db", "oauth", "url", "id", "os", "gc", "tls",
    ];
    let words: Vec<String> = name
        .split('_')
        .filter(|word| !word.is_empty())
        .enumerate()
        .map(|(index, word)| {
            if ABBREVIATIONS.contains(&word) {
                if word == "oauth" {
                    "OAuth".to_owned()
                } else {
                    word.to_uppercase()
                }
            } else if index == 0 {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            } else {
                word.to_owned()
            }
        })
        .collect();
    words.join(" ")
}

/// A panel's title: the family's name in words, without its unit and `_total`, with what the
/// panel shows (`per second`, `p50 / p95 / p99`).
fn human_title(family: &DeclaredFamily) -> String {
    let mut stem = family.name.strip_suffix("_total").unwrap_or(family.name);
    for unit in ["_seconds", "_bytes", "_percent", "_ratio"] {
        stem = stem.strip_suffix(unit).unwrap_or(stem);
    }
    let words = human_words(stem);
    match family.kind {
        MetricKind::Counter => format!("{words} per second"),
        MetricKind::Gauge => words,
        MetricKind::Histogram => format!("{words} (p50, p95, p99)"),
    }
}

/// Labels worth a legend: all but `module` (the function already says where) and `le`.
fn grouping(family: &DeclaredFamily) -> Vec<&'static str> {
    family
        .labels
        .iter()
        .copied()
        .filter(|label| *label != "module" && *label != "le")
        .collect()
}

fn by(labels: &[&str]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(" by ({})", labels.join(", "))
    }
}

fn legend(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|label| format!("{{{{{label}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The variables' matchers, in every query.
const FLEET: &str = "job=~\"$job\",instance=~\"$instance\"";

/// The queries of one family's panel: `(expression, legend)`.
fn queries(family: &DeclaredFamily) -> Vec<(String, String)> {
    let labels = grouping(family);
    let name = family.name;
    match family.kind {
        MetricKind::Counter => vec![(
            format!(
                "sum{}(rate({name}{{{FLEET}}}[$__rate_interval]))",
                by(&labels)
            ),
            legend(&labels),
        )],
        MetricKind::Gauge => vec![(
            format!("sum{}({name}{{{FLEET}}})", by(&labels)),
            legend(&labels),
        )],
        MetricKind::Histogram => [0.5_f64, 0.95, 0.99]
            .iter()
            .map(|q| {
                (
                    quantile(*q, name, FLEET, "$__rate_interval", &labels),
                    format!("p{} {}", (q * 100.0).round(), legend(&labels))
                        .trim_end()
                        .to_owned(),
                )
            })
            .collect(),
    }
}

/// A Grafana unit for a family, from its name's unit and its kind.
fn unit(family: &DeclaredFamily) -> &'static str {
    let name = family.name;
    let stem = name.strip_suffix("_total").unwrap_or(name);
    match (family.kind, stem) {
        (MetricKind::Counter, stem) if stem.ends_with("_seconds") => "percentunit",
        (MetricKind::Counter, stem) if stem.ends_with("_bytes") => "Bps",
        (MetricKind::Counter, _) => "ops",
        (_, stem) if stem.ends_with("_seconds") => "s",
        (_, stem) if stem.ends_with("_bytes") => "bytes",
        (_, stem) if stem.ends_with("_percent") => "percent",
        (_, stem) if stem.ends_with("_ratio") || stem.ends_with("_utilization") => "percentunit",
        _ => "short",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_words_with_abbreviations() {
        assert_eq!(human_words("sms_processing"), "SMS processing");
        assert_eq!(human_words("oauth_token_refresh"), "OAuth token refresh");
        assert_eq!(human_words("process_cpu"), "Process CPU");
    }

    #[test]
    fn yaml_strings_are_double_quoted_ascii() {
        assert_eq!(yaml_string("api"), "\"api\"");
        assert_eq!(
            yaml_string("a #1: \"b\" \\ {{ x }}"),
            "\"a #1: \\\"b\\\" \\\\ {{ x }}\""
        );
        assert_eq!(yaml_string("a\nb\tc\r"), "\"a\\nb\\tc\\u000D\"");
        assert_eq!(
            yaml_string("é\u{2028}\u{1F600}"),
            "\"\\u00E9\\u2028\\U0001F600\""
        );
    }

    #[test]
    fn template_text_prints_braces_as_they_are() {
        assert_eq!(template_text("checkout"), "checkout");
        assert_eq!(
            template_text("{{ .Labels.job }}"),
            "{{ \"{{ .Labels.job }}\" }}"
        );
        assert_eq!(template_text("a}\"\\\n"), "{{ \"a}\\\"\\\\\\n\" }}");
    }

    #[test]
    fn comments_stay_on_their_line() {
        assert_eq!(comment_text("run\nx: y\r\u{2028}z"), "run x: y  z");
    }

    #[test]
    #[allow(clippy::float_cmp)] // rounded to the very decimals compared
    fn budgets_are_round() {
        assert_eq!(budget(99.9), 0.001);
        assert_eq!(budget(95.0), 0.05);
        assert_eq!(number(round(14.4 * budget(99.9))), "0.0144");
        assert_eq!(number(2.0), "2");
    }
}
