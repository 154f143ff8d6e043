//! What generated code submits and every layer shares: outcomes, descriptors of functions and
//! metric structs, source locations, metric kinds, and the runtime's label-name rule. Knows
//! nothing above it.

pub(crate) mod label_values;
pub(crate) mod labels;

use std::fmt;

use instrument_metric_rules as rules;

/// The bucket bounds of a histogram that declares none, in seconds: Prometheus' defaults.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Name of the counter shared by functions without their own metrics.
pub(crate) const SHARED_COUNTER: &str = "function_calls_total";
/// Help text of [`SHARED_COUNTER`].
pub(crate) const SHARED_COUNTER_HELP: &str = "Calls of instrumented functions, by result.";
/// Name of the duration histogram shared by functions without their own metrics.
pub(crate) const SHARED_HISTOGRAM: &str = "function_calls_duration_seconds";
/// Help text of [`SHARED_HISTOGRAM`].
pub(crate) const SHARED_HISTOGRAM_HELP: &str =
    "Duration of calls of instrumented functions, in seconds.";
/// Name of the counter of errors by kind shared by functions without their own metrics.
pub(crate) const SHARED_ERRORS: &str = "function_calls_errors_total";
/// Help text of [`SHARED_ERRORS`].
pub(crate) const SHARED_ERRORS_HELP: &str = "Errors returned by instrumented functions, by kind.";
/// Name of the in-flight gauge shared by functions without their own metrics.
pub(crate) const SHARED_IN_FLIGHT: &str = "function_calls_in_flight";
/// Help text of [`SHARED_IN_FLIGHT`].
pub(crate) const SHARED_IN_FLIGHT_HELP: &str =
    "Calls of instrumented functions that have not returned yet.";

/// How a call of an instrumented function ended: the value of its `result` label.
///
/// ```
/// use instrument_metric::Outcome;
///
/// let labels: Vec<&str> = Outcome::ALL.iter().map(|outcome| outcome.as_str()).collect();
/// assert_eq!(labels, ["ok", "error", "panic", "cancelled"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It returned, with `Ok` if it returns a `Result`.
    Ok,
    /// It returned an `Err`.
    Error,
    /// It panicked (the panic goes on unwinding).
    Panic,
    /// Its future was dropped before it completed.
    Cancelled,
}

impl Outcome {
    /// Every outcome, in index order: `ok`, `error`, `panic`, `cancelled`.
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
    ];

    /// The label value: `ok`, `error`, `panic` or `cancelled`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// `ok` when `ok` is true, `error` otherwise: the outcome an `ok_if = predicate` gives.
    ///
    /// ```
    /// use instrument_metric::Outcome;
    ///
    /// assert_eq!(Outcome::ok_if(true), Outcome::Ok);
    /// assert_eq!(Outcome::ok_if(false), Outcome::Error);
    /// ```
    #[must_use]
    #[inline]
    pub const fn ok_if(ok: bool) -> Outcome {
        if ok { Outcome::Ok } else { Outcome::Error }
    }
}

/// How a call ended: its outcome and, for an error whose type lists its kinds
/// ([`ErrorKinds`](crate::ErrorKinds)), the index of its kind.
///
/// ```
/// use instrument_metric::Outcome;
/// use instrument_metric::__private::Ending;
///
/// assert_eq!(Ending::from(Outcome::Ok).outcome(), Outcome::Ok);
/// assert_eq!(Ending::with_kind(Outcome::Error, Some(2)).kind(), Some(2));
/// // Every `Err` counts by kind, also one whose kind is of class `ok`.
/// assert_eq!(Ending::with_kind(Outcome::Ok, Some(2)).kind(), Some(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ending {
    outcome: Outcome,
    kind: Option<usize>,
}

impl Ending {
    /// An ending with the kind of the `Err` returned, if one was (whatever the outcome: a
    /// kind of class `ok`, or an `ok_if` predicate, can make an `Err` `ok`).
    #[must_use]
    #[inline]
    pub const fn with_kind(outcome: Outcome, kind: Option<usize>) -> Ending {
        Ending { outcome, kind }
    }

    /// The outcome.
    #[must_use]
    pub const fn outcome(self) -> Outcome {
        self.outcome
    }

    /// The index of the error's kind among its type's [`ErrorKinds::KINDS`](crate::ErrorKinds::KINDS).
    #[must_use]
    pub const fn kind(self) -> Option<usize> {
        self.kind
    }
}

impl From<Outcome> for Ending {
    #[inline]
    fn from(outcome: Outcome) -> Ending {
        Ending {
            outcome,
            kind: None,
        }
    }
}

/// Which metric families a function records into.
#[derive(Debug)]
pub enum Families {
    /// `function_calls_total`, `function_calls_duration_seconds`, `function_calls_in_flight`.
    Shared,
    /// The function's own families, named by its attribute.
    Own {
        /// Counter of errors by kind (used when the descriptor lists error kinds).
        errors: &'static str,
        /// Its help.
        errors_help: &'static str,
        /// Counter name, ends in `_total`.
        counter: &'static str,
        /// Counter help.
        counter_help: &'static str,
        /// Histogram name, ends in `_seconds`.
        histogram: &'static str,
        /// Histogram help.
        histogram_help: &'static str,
        /// In-flight gauge name (used when the descriptor asks for one).
        in_flight: &'static str,
        /// In-flight gauge help.
        in_flight_help: &'static str,
        /// Whether the help was given with `help = "..."` rather than taken from the
        /// function's doc comment (or made up): a given help wins over doc comments when
        /// functions that share the families disagree.
        help_given: bool,
    },
}

/// The help texts of a function's own families (counter, histogram, in-flight gauge, errors)
/// from the counter's: what the attribute derives at compile time, and the registry when
/// functions sharing the families disagree (see `shared_help`).
#[must_use]
pub fn own_helps(counter_help: &str) -> [String; 4] {
    let short = counter_help.trim_end_matches('.');
    [
        counter_help.to_owned(),
        format!("{short} (duration in seconds)."),
        format!("{short} (calls in flight)."),
        format!("{short} (errors by kind)."),
    ]
}

/// The help of the families of stem `stem` when the functions sharing them document
/// themselves differently and none gives `help = "..."`: each function's doc comment says what
/// it does, not what the family holds.
#[must_use]
pub(crate) fn shared_help(stem: &str) -> String {
    format!("Calls of the functions instrumented as `{stem}`.")
}

/// Where the `function` label value of an instrumented function comes from.
#[derive(Clone, Copy, Debug)]
pub enum FunctionName {
    /// `function = "..."`, as given.
    Given(&'static str),
    /// The path of an item declared in the function's body, as [`std::any::type_name`]
    /// prints it (`app::repo::UserRepo::get::MetricsFunctionPath`): the macro cannot see the `impl`
    /// block a method is in, but the compiler knows it. Read when the registry is built.
    Path(fn() -> &'static str),
}

/// Everything `#[instrument_metric]` knows about one function, as a `static`.
#[derive(Debug)]
pub struct FunctionDescriptor {
    /// Where the `function` label value comes from.
    pub function: FunctionName,
    /// The `module` label value (`module_path!()`).
    pub module: &'static str,
    /// The families the function records into.
    pub families: Families,
    /// Whether it has an in-flight gauge.
    pub in_flight: bool,
    /// Static labels, in declaration order.
    pub labels: &'static [(&'static str, &'static str)],
    /// Labels whose value comes from an argument of a `LabelValue` type: name and every value,
    /// in declaration order (the call's series index is mixed-radix in this order).
    pub dynamic_labels: &'static [(&'static str, &'static [&'static str])],
    /// Histogram bucket bounds; empty means the default buckets.
    pub buckets: &'static [f64],
    /// The kinds of error the function's error type lists (`error_kinds = Type`), each a
    /// series of the errors family; empty without.
    pub error_kinds: &'static [&'static str],
    /// Its objective, if the attribute declares one.
    pub objective: Option<Objective>,
    /// Whether the histogram is native too (`native_histogram`).
    pub native_histogram: bool,
    /// Whether a call is a future (an `async fn`, or a function returning one): only then can
    /// a call be cancelled.
    pub asynchronous: bool,
    /// Source file of the function.
    pub file: &'static str,
    /// Source line of the function name.
    pub line: u32,
    /// Source column of the function name.
    pub column: u32,
}

impl FunctionDescriptor {
    /// The histogram's bucket bounds, in seconds.
    pub(crate) fn bucket_bounds(&self) -> &'static [f64] {
        if self.buckets.is_empty() {
            DEFAULT_BUCKETS
        } else {
            self.buckets
        }
    }

    /// The outcomes this function can have; each gets a series at start-up.
    pub(crate) fn outcomes(&self) -> &'static [Outcome] {
        if self.asynchronous {
            &Outcome::ALL
        } else {
            &Outcome::ALL[..3]
        }
    }
}

/// A service level objective: the share of calls that must succeed, and the share that must
/// be faster than a threshold, over 30 days. Declared with `objective(...)` on
/// `#[instrument_metric]` or given to the HTTP layer's builder; `instrument_metric::export`
/// generates its recording rules, burn-rate alerts and dashboard row.
///
/// ```
/// use instrument_metric::Objective;
///
/// let objective = Objective::new("checkout").success(99.9).latency(0.25, 99.0);
/// assert_eq!(objective.name, "checkout");
/// assert_eq!(objective.success, Some(99.9));
/// assert_eq!(objective.latency, Some((0.25, 99.0)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// Its name, in rule labels (`objective="checkout"`) and alert texts; empty for the
    /// default name (an instrumented function's family stem, or its `function` label in the
    /// shared families, such as `Payments::charge`, which the generated files quote). A name
    /// given is written like a family stem, `[a-zA-Z_][a-zA-Z0-9_]*`: the attribute checks it
    /// at compile time, the HTTP layer builder's `build()` returns an error otherwise.
    pub name: &'static str,
    /// Percent of calls that must succeed (not `error` nor `panic`; `cancelled` calls do not
    /// count), such as `99.9`.
    pub success: Option<f64>,
    /// A latency threshold in seconds (a bound of the histogram) and the percent of calls that
    /// must take no longer, such as `(0.25, 99.0)`.
    pub latency: Option<(f64, f64)>,
}

impl Objective {
    /// An objective named `name`, with no target yet.
    #[must_use]
    pub const fn new(name: &'static str) -> Objective {
        Objective {
            name,
            success: None,
            latency: None,
        }
    }

    /// With a success target, in percent.
    #[must_use]
    pub const fn success(mut self, percent: f64) -> Objective {
        self.success = Some(percent);
        self
    }

    /// With a latency target: `percent` of calls take at most `threshold` seconds.
    #[must_use]
    pub const fn latency(mut self, threshold: f64, percent: f64) -> Objective {
        self.latency = Some((threshold, percent));
        self
    }

    /// Why this objective cannot be met by a histogram with `bounds`, if it cannot: a target
    /// that is not a percent strictly between 0 and 100, or a threshold that is not a bound.
    pub(crate) fn problem(&self, bounds: &[f64]) -> Option<String> {
        let percent = |value: f64| value > 0.0 && value < 100.0;
        if self.success.is_none() && self.latency.is_none() {
            return Some("has neither a success nor a latency target".to_owned());
        }
        if let Some(success) = self.success.filter(|value| !percent(*value)) {
            return Some(format!(
                "has the success target {success}, not a percent between 0 and 100 (both excluded)"
            ));
        }
        if let Some((threshold, target)) = self.latency {
            if !percent(target) {
                return Some(format!(
                    "has the latency target {target}, not a percent between 0 and 100 (both excluded)"
                ));
            }
            if !is_bound(bounds, threshold) {
                return Some(format!(
                    "has the latency threshold {threshold} s, which is not a bound of the histogram ({bounds:?}): only a bound tells which calls were faster; use one of them, or add it to the buckets"
                ));
            }
        }
        None
    }
}

/// Whether `threshold` is one of `bounds`: generated code checks an objective's latency
/// threshold against a histogram's bounds at compile time with it.
///
/// ```
/// use instrument_metric::DEFAULT_BUCKETS;
/// use instrument_metric::__private::is_bound;
///
/// assert!(is_bound(DEFAULT_BUCKETS, 0.25));
/// assert!(!is_bound(DEFAULT_BUCKETS, 0.3));
/// ```
#[must_use]
#[allow(clippy::float_cmp)] // a bound is the very literal written, so equality is exact
pub const fn is_bound(bounds: &[f64], threshold: f64) -> bool {
    let mut i = 0;
    while i < bounds.len() {
        if bounds[i] == threshold {
            return true;
        }
        i += 1;
    }
    false
}

/// A struct deriving `Metrics`: its fields are the metric families it declares.
#[derive(Debug)]
pub struct GroupDescriptor {
    /// The struct's name.
    pub type_name: &'static str,
    /// The module that declares it (`module_path!()`).
    pub module: &'static str,
    /// Its fields, in declaration order.
    pub fields: &'static [FieldDescriptor],
}

/// One field of a `#[derive(Metrics)]` struct: one metric family.
#[derive(Debug)]
pub struct FieldDescriptor {
    /// The family name (prefix and field name, or the `name` override).
    pub name: &'static str,
    /// The help text.
    pub help: &'static str,
    /// How the family is registered.
    pub shape: Shape,
    /// Label names (empty for a single metric).
    pub label_names: &'static [&'static str],
    /// The values of each label.
    pub label_values: &'static [&'static [&'static str]],
    /// Histogram bucket bounds; empty means the default buckets.
    pub buckets: &'static [f64],
    /// Whether the histogram is native too (`#[metric(native_histogram)]`).
    pub native_histogram: bool,
    /// Source file of the field.
    pub file: &'static str,
    /// Line of the field name.
    pub line: u32,
    /// Column of the field name.
    pub column: u32,
}

impl FieldDescriptor {
    pub(crate) fn location(&self) -> Location {
        Location {
            file: self.file,
            line: self.line,
            column: self.column,
        }
    }
}

/// Where a metric was declared in the source: the position of the function or field name.
///
/// ```
/// let location = instrument_metric::Location { file: "src/sms.rs", line: 12, column: 8 };
/// assert_eq!(location.to_string(), "src/sms.rs:12:8");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Source file, as `file!()` gives it.
    pub file: &'static str,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The type of a metric family, as Prometheus knows it.
///
/// ```
/// use instrument_metric::{IntCounter, Metric, MetricKind};
///
/// assert_eq!(IntCounter::SHAPE.kind(), MetricKind::Counter);
/// assert_eq!(MetricKind::Histogram.to_string(), "a histogram");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A monotonic counter.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram of observations.
    Histogram,
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricKind::Counter => "a counter",
            MetricKind::Gauge => "a gauge",
            MetricKind::Histogram => "a histogram",
        })
    }
}

/// The concrete type of a metric family as registered: kind and value type.
///
/// ```
/// use instrument_metric::{Gauge, IntGauge, Metric, MetricKind, Shape};
///
/// assert_eq!(IntGauge::SHAPE, Shape::IntGauge);
/// assert_eq!(Gauge::SHAPE.kind(), MetricKind::Gauge);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `f64` counter.
    Counter,
    /// `u64` counter.
    IntCounter,
    /// `f64` gauge.
    Gauge,
    /// `i64` gauge.
    IntGauge,
    /// Histogram.
    Histogram,
}

impl Shape {
    /// The Prometheus metric type.
    #[must_use]
    pub const fn kind(self) -> MetricKind {
        match self {
            Shape::Counter | Shape::IntCounter => MetricKind::Counter,
            Shape::Gauge | Shape::IntGauge => MetricKind::Gauge,
            Shape::Histogram => MetricKind::Histogram,
        }
    }

    pub(crate) const fn describe(self) -> &'static str {
        match self {
            Shape::Counter => "a float counter",
            Shape::IntCounter => "an integer counter",
            Shape::Gauge => "a float gauge",
            Shape::IntGauge => "an integer gauge",
            Shape::Histogram => "a histogram",
        }
    }
}

/// The problem with a `#[derive(Metrics)]` field of `shape`, among those the derive found
/// for each kind (`""` for none): the derive knows the name, only the type knows the kind, so
/// generated code picks the message at compile time and fails the build with it.
///
/// ```
/// use instrument_metric::{IntCounter, Metric};
/// use instrument_metric::__private::for_kind;
///
/// let problem = for_kind(IntCounter::SHAPE, "counter names end in `_total`", "", "");
/// assert_eq!(problem, "counter names end in `_total`");
/// ```
#[must_use]
pub const fn for_kind(
    shape: Shape,
    counter: &'static str,
    gauge: &'static str,
    histogram: &'static str,
) -> &'static str {
    match shape.kind() {
        MetricKind::Counter => counter,
        MetricKind::Gauge => gauge,
        MetricKind::Histogram => histogram,
    }
}

/// Why `name` cannot be a label name, if it cannot: the characters Prometheus accepts, not
/// reserved (`__` prefix, a leading `_` in OpenMetrics, `le`, `quantile`), not camelCase (which
/// promtool flags). The rule is `instrument-metric-rules`' (`label_name_problem`), which the
/// macros apply too; the words are the runtime's.
pub(crate) fn label_name_problem(name: &str) -> Option<&'static str> {
    use rules::LabelNameProblem as Problem;
    Some(match rules::label_name_problem(name)? {
        Problem::Empty | Problem::LeadingUnderscore | Problem::FirstCharacter(_) => {
            "a label name starts with a letter (a leading `_` is reserved)"
        }
        Problem::Character(_) => "a label name has only ASCII letters, digits and `_`",
        Problem::CamelCase => "a label name is snake_case, not camelCase",
        Problem::Reserved => "`le` and `quantile` are labels of histograms and summaries",
    })
}

/// Why `name` cannot name an objective, if it cannot: it becomes the `objective` label of
/// generated rules and text in alerts, so it is written like a family stem, ASCII letters,
/// digits and `_`, not starting with a digit. The rule is `instrument-metric-rules`'
/// (`objective_name_problem`), which the macros apply too; the words are the runtime's.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn objective_name_problem(name: &str) -> Option<String> {
    Some(match rules::objective_name_problem(name)? {
        rules::ObjectiveNameProblem::Empty => {
            "an objective needs a name: `Objective::new(\"api\")`".to_owned()
        }
        rules::ObjectiveNameProblem::NotAStem => format!(
            "the objective name {name:?} is not written like a family stem: ASCII letters, digits and `_`, not starting with a digit (it becomes a label value in rules and text in alerts)"
        ),
    })
}

/// Why `name` cannot be the name of a family of `kind` registered at run time, if it cannot:
/// the characters Prometheus accepts (no colon: those are for recording rules), no leading
/// `__`, `_total` for a counter and only for a counter, no suffix a histogram's series take.
/// The rule is `instrument-metric-rules`' (`registered_name_problem`), a part of the one the
/// macros check (which adds units, case and abbreviations) on the names they see at compile
/// time; the words are the runtime's.
pub(crate) fn metric_name_problem(name: &str, kind: MetricKind) -> Option<String> {
    use rules::{NameProblem, SuffixProblem};
    Some(
        match rules::registered_name_problem(name, kind == MetricKind::Counter)? {
            NameProblem::Characters => format!(
                "`{name}` is not a metric name: ASCII letters, digits and `_`, not starting with a digit"
            ),
            NameProblem::ReservedPrefix => {
                format!("`{name}` starts with `__`, which Prometheus reserves")
            }
            NameProblem::Suffix(SuffixProblem::MissingTotal) => {
                format!("a counter's name ends in `_total`; try `{name}_total`")
            }
            NameProblem::Suffix(SuffixProblem::Reserved("_total")) => {
                format!("only a counter's name ends in `_total`, and `{name}` is {kind}")
            }
            NameProblem::Suffix(SuffixProblem::Reserved(suffix)) => {
                format!("`{name}` ends in `{suffix}`, which the series of a histogram take")
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime decides with the macros' rules (`instrument-metric-rules`), in its own words:
    /// on one table of names, what the macros accept the runtime accepts, and for labels and
    /// objectives, both answer alike.
    #[test]
    fn the_runtime_and_the_macros_decide_alike() {
        let names = [
            "",
            "a",
            "_a",
            "__a",
            "9a",
            "a-b",
            "a:b",
            "é",
            "le",
            "quantile",
            "provider",
            "httpMethod",
            "HTTP_method",
            "jobs",
            "jobs_total",
            "jobs_count",
            "rpc_seconds",
            "rpc_seconds_sum",
            "rpc_seconds_bucket",
            "x_created",
            "room_kelvin",
            "queue_gauge",
            "job_minutes_total",
            "checkout",
            "checkout #1",
        ];
        let kinds = [
            (MetricKind::Counter, rules::Kind::Counter),
            (MetricKind::Gauge, rules::Kind::Gauge),
            (MetricKind::Histogram, rules::Kind::UnitlessHistogram),
        ];
        for name in names {
            assert_eq!(
                label_name_problem(name).is_none(),
                rules::label_name(name, &[]).is_ok(),
                "{name:?}"
            );
            assert_eq!(
                objective_name_problem(name).is_none(),
                rules::objective_name(name).is_ok(),
                "{name:?}"
            );
            for (runtime, macros) in kinds {
                if rules::metric_name(name, macros).is_ok() {
                    assert_eq!(
                        metric_name_problem(name, runtime),
                        None,
                        "{name:?} {runtime}"
                    );
                }
            }
        }
        assert_eq!(
            metric_name_problem("jobs_total", MetricKind::Gauge).as_deref(),
            Some("only a counter's name ends in `_total`, and `jobs_total` is a gauge")
        );
    }
}
