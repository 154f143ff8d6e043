//! Compile-time checked Prometheus instrumentation for Rust services.
//!
//! Annotate a function with [`instrument_metric`] and every call is counted by outcome and
//! timed; the metrics are registered in [`registry`] before the first call, and
//! [`axum::router`] serves them on `GET /metrics` for Prometheus to scrape.
//!
//! ```
//! use metrics_runtime::instrument_metric;
//!
//! #[derive(Debug)]
//! struct NoCredit;
//!
//! /// Sends one SMS.
//! #[instrument_metric(name = "sms_send")]
//! fn send_sms(to: &str) -> Result<(), NoCredit> {
//!     if to.is_empty() { Err(NoCredit) } else { Ok(()) }
//! }
//!
//! send_sms("+15550100").unwrap();
//! send_sms("").unwrap_err();
//!
//! // sms_send_total{function="send_sms",module="...",result="ok"} 1
//! // sms_send_total{function="send_sms",module="...",result="error"} 1
//! // sms_send_duration_seconds_count{function="send_sms",module="..."} 2
//! let text = metrics_runtime::render();
//! let sample = |prefix: &str, suffix: &str| {
//!     text.lines().any(|line| line.starts_with(prefix) && line.ends_with(suffix))
//! };
//! assert!(sample(r#"sms_send_total{function="send_sms""#, r#"result="ok"} 1"#));
//! assert!(sample(r#"sms_send_total{function="send_sms""#, r#"result="error"} 1"#));
//! assert!(sample(r#"sms_send_duration_seconds_count{function="send_sms""#, "} 2"));
//! ```
//!
//! # What a call records
//!
//! Without arguments, `#[instrument_metric]` records into families shared by every annotated
//! function:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `function_calls_total` | counter | `function`, `module`, `result` |
//! | `function_calls_duration_seconds` | histogram | `function`, `module` |
//! | `function_calls_in_flight` (with `in_flight`) | gauge | `function`, `module` |
//!
//! `result` is `ok` or `error` for a function returning a `Result` (through any alias), `ok`
//! for any other return, `panic` when the body panics (the panic goes on), and `cancelled`
//! when the future of an `async fn` is dropped before it completes. Every outcome a function
//! can have is exported at 0 from the start. An `async fn` is timed from its first poll.
//!
//! # Arguments
//!
//! All optional; each is checked at compile time, with an error on the offending token.
//!
//! - `name = "stem"`: the function's own families `stem_total`, `stem_duration_seconds` and
//!   `stem_in_flight`.
//! - `counter = "..._total"`, `histogram = "..._seconds"`: explicit family names (both, or
//!   one of them with `name`).
//! - `help = "..."`: help text of the own families; the first line of the doc comment by
//!   default.
//! - `function = "..."`: the `function` label value; by default the function name, or
//!   `Type::method` when the attribute is on the `impl` block.
//! - `labels(key = "value", ...)`: static labels of the own families.
//! - `buckets = [0.01, 0.1, 1.0]`: histogram bounds of the own families.
//! - `in_flight` or `in_flight = "..."`: also keep a gauge of calls that have not returned.
//! - `crate = path`: where this crate is, if you renamed the dependency.
//!
//! On an `impl` block the attribute instruments every method with a body except `const fn`s;
//! a method's own `#[instrument_metric(...)]` inside it replaces the block's arguments.
//!
//! # Conflicts
//!
//! Two declarations of one family that disagree (kind, labels, help, buckets), or two
//! functions that would share one series, are reported by [`check`] with both source
//! locations; the registry keeps the first and never panics.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "axum")]
pub mod axum;
mod catalog;
mod encode;
mod instrument;
mod registry;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use catalog::{CatalogError, Conflict, Location, MetricKind};
pub use encode::{TEXT_CONTENT_TYPE, render};
pub use instrument::Outcome;
/// Records every call of a function: see the [crate documentation](crate).
pub use metrics_macros::instrument_metric;
pub use registry::{check, registry};
