//! Procedural macros of [`metrics-runtime`](https://docs.rs/metrics-runtime).
//!
//! Depend on `metrics-runtime`, which re-exports these macros; the code they generate calls
//! into it by absolute path. Each macro parses its input into a typed model (`attr`), checks
//! every name, label and bucket list (`validate`) and generates code (`expand`).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use proc_macro::TokenStream;

mod attr;
mod expand;
mod validate;

/// Records calls of a function: a counter labelled by outcome, a duration histogram and,
/// optionally, an in-flight gauge.
///
/// See the `metrics-runtime` documentation of `instrument_metric` for the arguments and
/// examples.
#[proc_macro_attribute]
pub fn instrument_metric(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrument_metric(attr.into(), item.into()).into()
}
