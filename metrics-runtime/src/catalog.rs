//! The catalog of declared metrics: what generated code submits through `inventory`, how one
//! declaration describes a family, and the errors reported when two declarations disagree or
//! would write the same series. Pure functions of the declarations: an instrumented function's
//! families and `function` label (`functions.rs`, `function_name.rs`), its objectives
//! (`objectives.rs`).

pub(crate) mod function_name;
pub(crate) mod functions;
pub(crate) mod objectives;

pub(crate) use objectives::LabelMatch;

use std::fmt;

use crate::exposition::Kind;
use crate::instrument::CallSite;
use crate::model::{FieldDescriptor, GroupDescriptor, Location, MetricKind, Shape};

/// One declaration, submitted through `inventory` and read when the global registry is built.
#[derive(Debug)]
pub enum Declaration {
    /// A function instrumented with `#[instrument_metric]`.
    Function(&'static CallSite),
    /// A struct deriving `Metrics`.
    Group(&'static GroupDescriptor),
}

impl FieldDescriptor {
    pub(crate) fn spec(&self) -> FamilySpec {
        FamilySpec {
            name: self.name,
            help: self.help,
            shape: self.shape,
            labels: self.label_names.to_vec(),
            buckets: self.buckets,
            native: self.native_histogram,
            location: self.location(),
            origin: Origin::Field,
        }
    }
}

inventory::collect!(Declaration);

/// What declares a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// Functions instrumented with `#[instrument_metric]`.
    Function,
    /// A field of a `#[derive(Metrics)]` struct.
    Field,
    /// A metric registered by hand on a [`Registry`](crate::Registry).
    Registered,
    /// A collector, read at each scrape.
    Collector,
    /// The crate itself: the HTTP layer, health checks, system and process metrics, and the
    /// exporter's own metrics.
    Crate,
    /// A recorder of the `metrics` facade (`instrument_metric::facade`), from a name recorded
    /// with `metrics::counter!`, `gauge!` or `histogram!`.
    Facade,
}

/// What [`catalog`](crate::catalog()) returns: every declared family, instrumented function and
/// objective.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Every declared family, sorted by name.
    pub families: Vec<DeclaredFamily>,
    /// Every instrumented function, sorted by counter name, module and function.
    pub functions: Vec<InstrumentedFunction>,
    /// Every objective, sorted by name.
    pub objectives: Vec<DeclaredObjective>,
}

/// A service level objective in the catalog, with what its rules need to select its calls
/// (or requests): `instrument_metric::export` generates its recording rules, burn-rate alerts and
/// dashboard row from it.
///
/// ```standalone_crate
/// use instrument_metric::instrument_metric;
///
/// /// Places an order.
/// #[instrument_metric(name = "orders_place", objective(success = 99.9, latency = (0.25, 99.0)))]
/// fn place() {}
///
/// let catalog = instrument_metric::catalog();
/// let objective = &catalog.objectives[0];
/// assert_eq!(objective.name, "orders_place");
/// assert_eq!(objective.requests, "orders_place_total");
/// assert_eq!(objective.bad, "error|panic");
/// assert_eq!(objective.latency, Some((0.25, 99.0)));
/// assert_eq!(objective.selector, ""); // every series of the family
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeclaredObjective {
    /// Its name: the `objective` label of its rules.
    pub name: String,
    /// Percent of calls that must succeed.
    pub success: Option<f64>,
    /// Latency threshold (seconds, a bound of `histogram`) and percent of calls at most that
    /// long.
    pub latency: Option<(f64, f64)>,
    /// The counter of calls or requests.
    pub requests: &'static str,
    /// The label of `requests` that tells a failure: `result` or `status`.
    pub outcome_label: &'static str,
    /// A regular expression matching the values of `outcome_label` of a failure:
    /// `error|panic`, `5..` or `5xx`.
    pub bad: &'static str,
    /// A regular expression matching the values of `outcome_label` of calls that count
    /// neither way: `cancelled` (the caller gave up), `499` (the client went away).
    pub ignored: &'static str,
    /// The histogram of durations.
    pub histogram: &'static str,
    /// Its bucket bounds, in seconds.
    pub bounds: &'static [f64],
    /// PromQL label matchers selecting the objective's series of both families, such as
    /// `function="send",module="app::sms"`; empty when it covers every series.
    pub selector: String,
    /// The same matchers, as values: `selector` is their text.
    pub(crate) matchers: Vec<(&'static str, LabelMatch)>,
    /// The labels of one series it covers (those `selector` names), for generated tests.
    pub example: Vec<(&'static str, String)>,
    /// What it covers, for titles and alert texts, when it is part of its families: the
    /// methods and route of an HTTP layer's route objective (`POST /api/v1/sms`); empty
    /// otherwise.
    pub scope: String,
    /// Where it is declared.
    pub location: Location,
}

/// A declared metric family.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeclaredFamily {
    /// The family name.
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Its label names.
    pub labels: Vec<&'static str>,
    /// Histogram bucket bounds; empty for the default buckets or another kind.
    pub buckets: &'static [f64],
    /// Whether the declaration asks for a native histogram (`native_histogram`); every
    /// histogram is native when [`set_native_histograms`](crate::set_native_histograms) was
    /// called.
    pub native_histogram: bool,
    /// Its first declaration.
    pub location: Location,
    /// What declared it.
    pub origin: Origin,
}

/// A function instrumented with `#[instrument_metric]`.
#[derive(Clone, Debug)]
pub struct InstrumentedFunction {
    /// The `function` label value.
    pub function: &'static str,
    /// The `module` label value.
    pub module: &'static str,
    /// The counter of its calls, by `result`.
    pub counter: &'static str,
    /// The histogram of its durations.
    pub histogram: &'static str,
    /// Its in-flight gauge, if it has one.
    pub in_flight: Option<&'static str>,
    /// Its counter of errors by kind, if its error type lists kinds.
    pub errors: Option<&'static str>,
    /// Where it is declared.
    pub location: Location,
}

/// One metric family as one declaration describes it.
#[derive(Clone, Debug)]
pub(crate) struct FamilySpec {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) shape: Shape,
    pub(crate) labels: Vec<&'static str>,
    pub(crate) buckets: &'static [f64],
    /// Whether the declaration asks for a native histogram.
    pub(crate) native: bool,
    pub(crate) location: Location,
    pub(crate) origin: Origin,
}

impl FamilySpec {
    /// How `other` disagrees with this declaration of the same family, if it does.
    pub(crate) fn disagreement(&self, other: &FamilySpec) -> Option<String> {
        if self.shape != other.shape {
            let (first, second) = (self.shape.describe(), other.shape.describe());
            return Some(format!("declared as {first} and as {second}"));
        }
        if self.origin != other.origin {
            return Some(format!(
                "declared both by {} and by {}",
                describe(self.origin),
                describe(other.origin)
            ));
        }
        if self.labels != other.labels {
            return Some(format!(
                "declared with labels {:?} and with labels {:?}",
                self.labels, other.labels
            ));
        }
        if self.help != other.help {
            return Some(format!(
                "declared with help {:?} and with help {:?}",
                self.help, other.help
            ));
        }
        if self.buckets != other.buckets {
            return Some(format!(
                "declared with buckets {:?} and with buckets {:?}",
                self.buckets, other.buckets
            ));
        }
        if self.native != other.native {
            let with = |native| if native { "with" } else { "without" };
            return Some(format!(
                "declared {} and {} `native_histogram`",
                with(self.native),
                with(other.native)
            ));
        }
        None
    }

    /// The names this family takes in an exposition: see [`taken_names`].
    pub(crate) fn taken_names(&self) -> Vec<String> {
        taken_names(self.name, self.shape.kind().into())
    }

    /// The catalog's view of it.
    pub(crate) fn declared(&self) -> DeclaredFamily {
        DeclaredFamily {
            name: self.name,
            help: self.help,
            kind: self.shape.kind(),
            labels: self.labels.clone(),
            buckets: self.buckets,
            native_histogram: self.native,
            location: self.location,
            origin: self.origin,
        }
    }
}

/// The names a family of `kind` named `name` takes in an exposition: its OpenMetrics family
/// name (a counter's without `_total`) and the name of each of its samples, `_created` included.
/// OpenMetrics puts them in one namespace: two families that share one of them (a gauge `x`
/// beside a counter `x_total`, a gauge `x_created` beside it too) make the whole exposition
/// invalid.
pub(crate) fn taken_names(name: &str, kind: Kind) -> Vec<String> {
    let mut names = match kind {
        Kind::Counter => {
            let base = name.strip_suffix("_total").unwrap_or(name);
            vec![
                base.to_owned(),
                name.to_owned(),
                format!("{base}_total"),
                format!("{base}_created"),
            ]
        }
        Kind::Gauge | Kind::Unknown => vec![name.to_owned()],
        Kind::Histogram | Kind::Summary => ["", "_bucket", "_sum", "_count", "_created"]
            .iter()
            // A summary's quantiles are samples named like the family; it has no buckets.
            .filter(|suffix| kind == Kind::Histogram || **suffix != "_bucket")
            .map(|suffix| format!("{name}{suffix}"))
            .collect(),
    };
    names.dedup();
    names
}

fn describe(origin: Origin) -> &'static str {
    match origin {
        Origin::Function => "an instrumented function",
        Origin::Field => "a `Metrics` struct",
        Origin::Registered => "a metric registered by hand",
        Origin::Collector => "a collector",
        Origin::Crate => "metrics-runtime itself",
        Origin::Facade => "the `metrics` facade",
    }
}

/// One problem found in the catalog: two declarations of a family that disagree, a series
/// declared twice, or a family the registry refused (also the error of a registration that is
/// refused). See [`CatalogError`] for an example.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The metric family name.
    pub family: String,
    /// What is wrong, in words.
    pub problem: String,
    /// Every source location involved, the one that was kept first.
    pub locations: Vec<Location>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "metric `{}` is {}", self.family, self.problem)?;
        for (i, location) in self.locations.iter().enumerate() {
            let lead = if i == 0 { "; declared at" } else { " and at" };
            write!(f, "{lead} {location}")?;
        }
        Ok(())
    }
}

/// Every conflict among the declared metrics, as returned by [`check`](crate::check).
///
/// The registry never panics on a conflict: it keeps the first declaration (by source
/// location) and the later ones record into metrics that are not exported.
///
/// ```standalone_crate
/// use instrument_metric::instrument_metric;
///
/// #[instrument_metric(name = "imports", help = "Imports a file.")]
/// fn import_csv() {}
///
/// #[instrument_metric(name = "imports", help = "Imports a file, differently.")]
/// fn import_json() {}
///
/// let error = instrument_metric::check().unwrap_err();
/// let conflict = &error.conflicts[0];
/// assert_eq!(conflict.family, "imports_total");
/// assert!(conflict.problem.contains("help"));
/// assert_eq!(conflict.locations.len(), 2);
/// // metric `imports_total` is declared with help "Imports a file." and with help
/// // "Imports a file, differently."; declared at src/lib.rs:4:4 and at src/lib.rs:7:4
/// println!("{error}");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogError {
    /// The conflicts, in the order they were found.
    pub conflicts: Vec<Conflict>,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} conflicting metric declaration(s)",
            self.conflicts.len()
        )?;
        for conflict in &self.conflicts {
            write!(f, "\n  {conflict}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogError {}

impl std::error::Error for Conflict {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether families `a` and `b` share a name in an exposition.
    fn clash(a: (&str, Kind), b: (&str, Kind)) -> bool {
        let a = taken_names(a.0, a.1);
        taken_names(b.0, b.1).iter().any(|name| a.contains(name))
    }

    #[test]
    fn families_clash_where_openmetrics_reads_one_name_twice() {
        use Kind::{Counter, Gauge, Histogram, Summary};
        assert!(clash(("x_total", Counter), ("x", Gauge)));
        assert!(clash(("x_total", Counter), ("x_created", Histogram)));
        assert!(clash(("x", Counter), ("x_total", Gauge)));
        assert!(clash(("x", Histogram), ("x_count", Gauge)));
        assert!(clash(("x", Histogram), ("x", Summary)));
        assert!(clash(("x_created", Gauge), ("x", Summary)));
        assert!(!clash(("x_total", Counter), ("x_seconds", Histogram)));
        assert!(!clash(("x", Gauge), ("y", Gauge)));
        assert!(!clash(("x", Summary), ("x_bucket", Gauge)));
    }
}
