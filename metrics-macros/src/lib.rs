//! Procedural macros of [`instrument-metric`](https://docs.rs/instrument-metric).
//!
//! Depend on `instrument-metric`, which re-exports these macros; the code they generate calls
//! into it by absolute path. Each macro parses its input into a typed model, checks every name,
//! label and bucket list (`validate`, with the rules of `instrument-metric-rules`) and generates
//! code: `instrument` for the attribute, one module of `derive` per derive. Every problem is
//! collected in one accumulator (`ctxt`); `shared` holds what the attribute and the derives
//! both parse or generate.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use proc_macro::TokenStream;

mod ctxt;
mod derive;
mod instrument;
mod shared;
mod validate;

/// Records calls of a function: a counter labelled by outcome, a duration histogram and,
/// optionally, an in-flight gauge.
///
/// The arguments, all optional and all checked at compile time (`instrument-metric` documents
/// each with an example):
///
/// - `name = "stem"`: own families `stem_total`, `stem_duration_seconds`, `stem_in_flight`;
/// - `counter = "..._total"`, `histogram = "..._seconds"`: own family names;
/// - `help = "..."`: their help text (default: the doc comment's first line);
/// - `function = "..."`: the `function` label value;
/// - `labels(key = "value", key = argument, ...)`: static labels, and labels whose value is an
///   argument of a `LabelValue` type (a plain `name: Type` argument, or a binding of a tuple
///   pattern of a tuple type, `(p, _n): (Provider, u8)`);
/// - `buckets = [...]`: histogram bounds in seconds, 0 or at least 1e-9 (durations are counted
///   in whole nanoseconds); `long_running`: bounds of hours on purpose;
/// - `max_series = N`: the cap (default 10,000) on the series the dynamic labels create;
/// - `in_flight` or `in_flight = "..."`: a gauge of the calls running;
/// - `ok_if = path` / `error_if = path`: a predicate on the returned value decides `result`;
/// - `error_kinds = Type`: errors counted by kind, in `stem_errors_total`;
/// - `objective(name = "...", success = 99.9, latency = (0.25, 99.0))`: a service level
///   objective, its name written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`), its latency
///   threshold checked against the histogram's bounds;
/// - `crate = path`: where `instrument-metric` is, if the dependency is renamed.
#[proc_macro_attribute]
pub fn instrument_metric(attr: TokenStream, item: TokenStream) -> TokenStream {
    instrument::instrument_metric(attr.into(), item.into()).into()
}

/// Derives `ErrorKinds` for an enum of errors. Documented in `instrument-metric`.
#[proc_macro_derive(ErrorKinds, attributes(error_kind))]
pub fn derive_error_kinds(input: TokenStream) -> TokenStream {
    derive::error_kinds::derive(input.into()).into()
}

/// Derives `LabelValue` and `LabelSet` for a fieldless enum. Documented in `instrument-metric`.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    derive::label_value::derive(input.into()).into()
}

/// Derives `LabelSet` for a struct of `LabelValue` fields. Documented in `instrument-metric`.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    derive::label_set::derive(input.into()).into()
}

/// Derives `Metrics` for a struct of metric fields. Documented in `instrument-metric`.
///
/// On the struct, `#[metrics(prefix = "...", crate = path)]`; on a field,
/// `#[metric(name = "...", help = "...", buckets = [...], long_running, unitless,
/// max_series = N)]`.
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    derive::metrics::derive(input.into()).into()
}

/// Checks a metric name literal at compile time. Documented in `instrument-metric`.
#[proc_macro]
pub fn metric_name(input: TokenStream) -> TokenStream {
    let name = match syn::parse::<syn::LitStr>(input) {
        Ok(name) => name,
        Err(error) => {
            let message = "`metric_name!` takes one string literal, such as `metric_name!(\"sms_messages_total\")`";
            return syn::Error::new(error.span(), message)
                .into_compile_error()
                .into();
        }
    };
    match validate::referenced_name(&name.value()) {
        Ok(()) => quote::quote!(#name).into(),
        Err(message) => syn::Error::new(name.span(), message)
            .into_compile_error()
            .into(),
    }
}
