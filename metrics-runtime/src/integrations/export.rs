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
//! An HTTP layer's objective covers every route but `unmatched`; a route objective (the layer
//! builder's `route_objective`) selects its route's series by the `endpoint` and `method`
//! labels, and its alerts and dashboard row name the route.
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

use crate::catalog::{Catalog, DeclaredFamily};

mod dashboard;
mod quoting;
mod rule_tests;
mod rules;

use quoting::comment_text;

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

    fn family(&self, name: &str) -> Option<&DeclaredFamily> {
        self.catalog
            .families
            .iter()
            .find(|family| family.name == name)
    }
}
