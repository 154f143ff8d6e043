//! Every argument checked against the function's signature: the `Plan` of its expansion.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ReturnType, Signature, Type};

use super::args::{Args, LabelSource, Number, ObjectiveArg};
use super::signature::{argument_type, concrete_type};
use crate::ctxt::{Check, Errors};
use crate::shared::{crate_path, doc_help};
use crate::validate::{self, Kind};

/// Labels that every instrumented function carries, set by the macro.
const MACRO_LABELS: &[&str] = &["function", "module", "result"];

/// Names and help texts of the families a function records into, when it has its own.
pub(super) struct OwnFamilies {
    pub(super) counter: String,
    pub(super) counter_help: String,
    pub(super) histogram: String,
    pub(super) histogram_help: String,
    pub(super) in_flight: String,
    pub(super) in_flight_help: String,
    pub(super) errors: String,
    pub(super) errors_help: String,
    /// `help = "..."` was given (not a doc comment or the made-up help).
    pub(super) help_given: bool,
}

/// A validated `objective(...)`.
pub(super) struct PlanObjective {
    /// Empty for the default name.
    pub(super) name: String,
    pub(super) success: Option<f64>,
    pub(super) latency: Option<(Number, f64)>,
}

/// Everything the expansion of one function needs, validated.
pub(super) struct Plan {
    pub(super) krate: TokenStream,
    /// `function = "..."`; the function's path, read at run time, without it.
    pub(super) function: Option<String>,
    pub(super) own: Option<OwnFamilies>,
    pub(super) in_flight: bool,
    pub(super) labels: Vec<(String, String)>,
    pub(super) dynamic: Vec<DynamicLabel>,
    pub(super) buckets: Vec<f64>,
    /// `native_histogram`: the duration histogram is native too.
    pub(super) native_histogram: bool,
    /// The most series the dynamic labels may create, and how the user raises it.
    pub(super) max_series: usize,
    /// The span of `labels(...)`, where a series cap error points.
    pub(super) labels_span: Span,
    /// `ok_if` (`true`) or `error_if` (`false`), with the predicate.
    pub(super) predicate: Option<(Expr, bool)>,
    /// `error_kinds = Type`, without named lifetimes.
    pub(super) error_kinds: Option<Type>,
    pub(super) objective: Option<PlanObjective>,
}

/// A label whose value comes from an argument of a `LabelValue` type.
pub(super) struct DynamicLabel {
    pub(super) key: String,
    pub(super) argument: syn::Ident,
    /// The argument's type without references, to name its `LabelValue` values in a static.
    pub(super) ty: Type,
    /// How many references were taken off the argument's type.
    pub(super) derefs: usize,
}

/// The value of a metric name literal, checked for `kind`.
fn family_name(check: &mut Check<'_>, lit: &syn::LitStr, kind: Kind) -> String {
    let value = lit.value();
    if let Err(message) = validate::metric_name(&value, kind) {
        check.fail(lit.span(), message);
    }
    value
}

const SHARED_HINT: &str = "the shared `function_calls_*` families have one label set, help and bucket list for every function; give this function its own metrics with `name = \"...\"`";

impl Plan {
    /// Validates the arguments for one function; `None` when an error was reported.
    pub(super) fn new(
        args: &Args,
        sig: &Signature,
        attrs: &[Attribute],
        errors: &mut Errors,
    ) -> Option<Plan> {
        let mut check = Check::new(errors);
        if let Some(constness) = &sig.constness {
            check.fail(
                constness.span(),
                "`#[instrument_metric]` cannot instrument a `const fn`: reading the clock and recording a call are not possible in const evaluation; remove `const` or the attribute",
            );
        }
        let (labels, dynamic) = labels(args, sig, &mut check);
        let diverges =
            matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
        if diverges {
            let value_arguments = args
                .predicate
                .as_ref()
                .map(|predicate| predicate.key.span())
                .into_iter()
                .chain(args.error_kinds.as_ref().map(Spanned::span));
            for span in value_arguments {
                check.fail(
                    span,
                    "this function never returns, so there is no value to classify: it can only panic, which counts as `panic`; remove the argument",
                );
            }
        }
        let buckets = bucket_list(args, &mut check);
        let objective = args
            .objective
            .as_ref()
            .and_then(|objective| plan_objective(objective, &buckets, &mut check));
        let error_kinds = args
            .error_kinds
            .as_ref()
            .and_then(|ty| concrete_type(ty, sig, "`error_kinds`", "ErrorKinds", &mut check));
        let plan = Plan {
            krate: crate_path(args.krate.as_ref()),
            function: function_label(args, &mut check),
            own: own_families(args, attrs, &mut check),
            in_flight: args.in_flight.is_some(),
            labels,
            dynamic,
            buckets,
            native_histogram: args.native_histogram.is_some(),
            max_series: args
                .max_series
                .as_ref()
                .map_or(validate::DEFAULT_MAX_SERIES, |cap| cap.value),
            labels_span: args
                .labels
                .as_ref()
                .map_or_else(Span::call_site, |(span, _)| *span),
            predicate: args
                .predicate
                .as_ref()
                .map(|predicate| (predicate.function.clone(), predicate.ok)),
            error_kinds,
            objective,
        };
        (!check.failed()).then_some(plan)
    }

    /// Whether the attribute has no argument that changes the descriptor.
    pub(super) fn is_default(&self) -> bool {
        self.function.is_none()
            && self.own.is_none()
            && !self.in_flight
            && self.labels.is_empty()
            && self.dynamic.is_empty()
            && self.buckets.is_empty()
            && self.error_kinds.is_none()
            && self.objective.is_none()
            && !self.native_histogram
    }
}

/// The `function` label when given; without it the function's path decides (at run time).
fn function_label(args: &Args, check: &mut Check<'_>) -> Option<String> {
    let lit = args.function.as_ref()?;
    if lit.value().trim().is_empty() {
        check.fail(
            lit.span(),
            "`function` must not be empty; leave it out to use the function's path",
        );
    }
    Some(lit.value())
}

/// The function's own families, if `name`, `counter` or `histogram` ask for them; refuses the
/// arguments that only make sense for own families when there are none.
fn own_families(args: &Args, attrs: &[Attribute], check: &mut Check<'_>) -> Option<OwnFamilies> {
    let stem = args.name.as_ref().map(|lit| {
        let value = lit.value();
        if let Err(message) = validate::stem(&value) {
            check.fail(lit.span(), message);
        }
        value
    });
    let counter = args
        .counter
        .as_ref()
        .map(|lit| family_name(check, lit, Kind::Counter));
    let histogram = args
        .histogram
        .as_ref()
        .map(|lit| family_name(check, lit, Kind::DurationHistogram));
    let in_flight = args
        .in_flight
        .as_ref()
        .and_then(|flag| flag.name.as_ref())
        .map(|lit| family_name(check, lit, Kind::Gauge));
    let help = match &args.help {
        Some(lit) => {
            if let Err(message) = validate::help(&lit.value()) {
                check.fail(lit.span(), message);
            }
            Some(lit.value())
        }
        None => doc_help(attrs),
    };

    let (counter, histogram, stem) = match (stem, counter, histogram) {
        (Some(stem), counter, histogram) => (
            counter.unwrap_or_else(|| format!("{stem}_total")),
            histogram.unwrap_or_else(|| format!("{stem}_duration_seconds")),
            stem,
        ),
        (None, Some(counter), Some(histogram)) => {
            let stem = counter
                .strip_suffix("_total")
                .unwrap_or(&counter)
                .to_owned();
            (counter, histogram, stem)
        }
        (None, counter, histogram) => {
            refuse_shared(args, counter.is_some(), histogram.is_some(), check);
            return None;
        }
    };
    let help = help.unwrap_or_else(|| format!("Calls of the functions instrumented as `{stem}`."));
    let short = help.trim_end_matches('.');
    let errors = format!("{stem}_errors_total");
    if let Some(ty) = &args.error_kinds
        && let Err(message) = validate::metric_name(&errors, Kind::Counter)
    {
        check.fail(
            ty.span(),
            format!("the errors family of this function would be `{errors}`: {message}"),
        );
    }
    Some(OwnFamilies {
        help_given: args.help.is_some(),
        errors,
        errors_help: format!("{short} (errors by kind)."),
        in_flight: in_flight.unwrap_or_else(|| format!("{stem}_in_flight")),
        counter,
        histogram,
        histogram_help: format!("{short} (duration in seconds)."),
        in_flight_help: format!("{short} (calls in flight)."),
        counter_help: help,
    })
}

/// Reports the arguments that need the function's own families when it records into the
/// shared ones.
fn refuse_shared(args: &Args, has_counter: bool, has_histogram: bool, check: &mut Check<'_>) {
    if let (true, false, Some(lit)) = (has_counter, has_histogram, &args.counter) {
        check.fail(
            lit.span(),
            "a function with its own counter needs its own histogram too: add `histogram = \"..._seconds\"`, or use `name = \"...\"` for both",
        );
    }
    if let (false, true, Some(lit)) = (has_counter, has_histogram, &args.histogram) {
        check.fail(
            lit.span(),
            "a function with its own histogram needs its own counter too: add `counter = \"..._total\"`, or use `name = \"...\"` for both",
        );
    }
    if let Some(help) = &args.help {
        check.fail(
            help.span(),
            format!("`help` describes a function's own metrics, but {SHARED_HINT}"),
        );
    }
    if let Some((span, _)) = &args.labels {
        check.fail(
            *span,
            format!("`labels` change the label set, but {SHARED_HINT}"),
        );
    }
    if let Some(buckets) = &args.buckets {
        check.fail(
            buckets.span,
            format!("`buckets` change the bucket list, but {SHARED_HINT}"),
        );
    }
    if let Some(flag) = &args.native_histogram {
        check.fail(
            flag.span(),
            format!("`native_histogram` makes a function's own histogram native (for every histogram: `instrument_metric::set_native_histograms`), but {SHARED_HINT}"),
        );
    }
    if let Some(name) = args.in_flight.as_ref().and_then(|flag| flag.name.as_ref()) {
        check.fail(
            name.span(),
            format!(
                "a named in-flight gauge belongs to a function's own metrics, but {SHARED_HINT}"
            ),
        );
    }
    if let Some(cap) = &args.max_series {
        check.fail(
            cap.span,
            format!("`max_series` caps the series of a function's labels, but {SHARED_HINT}"),
        );
    }
}

/// The `labels(...)` pairs, each name checked: static values, and arguments whose values
/// are a `LabelValue` type.
fn labels(
    args: &Args,
    sig: &Signature,
    check: &mut Check<'_>,
) -> (Vec<(String, String)>, Vec<DynamicLabel>) {
    let (mut fixed, mut dynamic) = (Vec::new(), Vec::new());
    let Some((_, labels)) = &args.labels else {
        return (fixed, dynamic);
    };
    for label in labels {
        let key = label.key.to_string();
        if let Err(message) = validate::label_name(&key, MACRO_LABELS) {
            check.fail(label.key.span(), message);
        }
        match &label.value {
            LabelSource::Literal(value) => {
                if let Err(message) = validate::label_value(&value.value()) {
                    check.fail(value.span(), message);
                }
                fixed.push((key, value.value()));
            }
            LabelSource::Argument(argument) => {
                if let Some((ty, derefs)) = argument_type(sig, argument, check) {
                    dynamic.push(DynamicLabel {
                        key,
                        argument: argument.clone(),
                        ty,
                        derefs,
                    });
                }
            }
        }
    }
    (fixed, dynamic)
}

/// The checked `objective(...)`: targets that are percents strictly between 0 and 100, a
/// positive threshold, a bound of the buckets when they are given (the default buckets are
/// checked by a generated `const`, against the runtime's table).
fn plan_objective(
    objective: &ObjectiveArg,
    buckets: &[f64],
    check: &mut Check<'_>,
) -> Option<PlanObjective> {
    let mut valid = true;
    let mut percent = |number: Number, what: &str| {
        if !(number.value > 0.0 && number.value < 100.0) {
            check.fail(
                number.span,
                format!(
                    "the {what} target of an objective is a percent of calls, between 0 and 100 (both excluded), such as 99.9; `{}` is not",
                    number.value
                ),
            );
            valid = false;
        }
        number.value
    };
    let success = objective.success.map(|number| percent(number, "success"));
    let latency = objective
        .latency
        .map(|(threshold, target)| (threshold, percent(target, "latency")));
    if objective.success.is_none() && objective.latency.is_none() {
        check.fail(
            objective.span,
            "an objective needs a target: `success = 99.9` (percent of calls that succeed), `latency = (0.25, 99.0)` (percent of calls at most 0.25 s long), or both",
        );
        valid = false;
    }
    if let Some((threshold, _)) = &latency
        && !buckets.is_empty()
        && !buckets.contains(&threshold.value)
    {
        let bounds: Vec<String> = buckets.iter().map(ToString::to_string).collect();
        check.fail(
            threshold.span,
            format!(
                "the latency threshold of an objective must be a bound of the histogram, which alone tells which calls were faster; `{}` is not one of this function's `buckets` [{}]: use one of them, or add it to `buckets`",
                threshold.value,
                bounds.join(", ")
            ),
        );
        valid = false;
    }
    let name = match &objective.name {
        Some(lit) => {
            if let Err(message) = validate::objective_name(&lit.value()) {
                check.fail(lit.span(), message);
                valid = false;
            }
            lit.value()
        }
        None => String::new(),
    };
    valid.then_some(PlanObjective {
        name,
        success,
        latency,
    })
}

/// The `buckets = [...]` bounds, checked.
fn bucket_list(args: &Args, check: &mut Check<'_>) -> Vec<f64> {
    let Some(list) = &args.buckets else {
        if let Some(flag) = &args.long_running {
            check.fail(
                flag.span(),
                "`long_running` allows `buckets` of hours, but this function has no `buckets`; remove it, or list the bounds in seconds",
            );
        }
        return Vec::new();
    };
    let bounds: Vec<f64> = list.bounds.iter().map(|(bound, _)| *bound).collect();
    // The histogram of a function measures seconds.
    for (index, message) in validate::buckets(&bounds, true, args.long_running.is_some()) {
        check.push(list.error(index, message));
    }
    for (index, message) in validate::nanosecond_buckets(&bounds) {
        check.push(list.error(Some(index), message));
    }
    bounds
}
