//! The one table of naming rules that `instrument-metric` and `instrument-metric-macros` both
//! read: the characters of metric and label names, snake case, reserved suffixes, labels and
//! prefixes, type words, abbreviated and non-base units, the units a histogram's name ends in
//! (and the unit of a name for OpenMetrics' `# UNIT` line), the suffixes of each kind,
//! objectives' names and bucket lists.
//!
//! It is not meant to be used directly: the macros apply these rules at compile time and the
//! runtime to names registered by hand, so that both answer alike on the same name. Each check
//! decides; where the two crates word a refusal differently, the check returns what is wrong
//! (an enum) and each crate writes its own message. The checks the macros report as they are
//! return the macros' lowercase message, which states the rule and the fix.
//!
//! The rules follow the Prometheus data model (metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
//! names `[a-zA-Z_][a-zA-Z0-9_]*`) and its naming practice, and are a superset of the lints of
//! `promtool check metrics` (Prometheus 2.42, `util/promlint`), so that no accepted name is
//! ever flagged by it. Where these rules are stricter than promtool, the constant or function
//! says so. The crate depends on nothing but `std`.

// Every check's doc says what it refuses; an `# Errors` section would repeat it.
#![allow(clippy::missing_errors_doc)]

mod buckets;
mod labels;
mod names;
mod objectives;
mod units;

pub use buckets::{SMALLEST_DURATION_BOUND, buckets, help, nanosecond_buckets};
pub use labels::{
    DEFAULT_MAX_SERIES, LabelNameProblem, RESERVED_LABELS, label_name, label_name_problem,
    label_value,
};
pub use names::{
    ABBREVIATIONS, Kind, NameProblem, RESERVED_PREFIX, RESERVED_SUFFIXES, SuffixProblem,
    TYPE_WORDS, characters, common, kind_rules, metric_name, prefix, referenced_name,
    registered_name_problem, snake_case, stem, stem_names, suffix_problem,
};
pub use objectives::{ObjectiveNameProblem, objective_name, objective_name_problem};
pub use units::{HISTOGRAM_UNITS, UNIT_PREFIXES, UNITS, non_base_unit, unit_of};
