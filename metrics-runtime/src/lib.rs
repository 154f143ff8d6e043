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
mod cells;
pub mod collect;
mod encode;
mod family;
#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "axum")]
mod http;
mod instrument;
mod labels;
mod negotiate;
#[cfg(feature = "push")]
pub mod push;
mod registry;
#[cfg(feature = "sqlx")]
pub mod sqlx;
pub mod system;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use catalog::{
    Catalog, CatalogError, Conflict, DeclaredFamily, InstrumentedFunction, Location, MetricKind,
};
pub use encode::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, render, render_as};
pub use family::{
    Counter, CounterFamily, Family, Gauge, GaugeFamily, Histogram, HistogramFamily, IntCounter,
    IntCounterFamily, IntGauge, IntGaugeFamily, Metric, MetricField, Shape,
};
pub use instrument::Outcome;
pub use labels::{LabelSet, LabelValue};
/// Derives [`LabelSet`] for a struct whose fields are [`LabelValue`] types and name the labels.
pub use metrics_macros::LabelSet;
/// Derives [`LabelValue`] (and [`LabelSet`]) for a fieldless enum: see [`LabelValue`].
pub use metrics_macros::LabelValue;
/// Derives [`Metrics`] for a struct whose fields are metrics: see [`Metrics`].
pub use metrics_macros::Metrics;
/// Records every call of a function: see the [crate documentation](crate).
pub use metrics_macros::instrument_metric;
/// Checks a metric name at compile time and gives it back as a `&'static str`.
///
/// For code that must spell a name: queries, recording rules, tests. Colons are allowed, as
/// recording rule names use them.
///
/// ```
/// const SENT: &str = metrics_runtime::metric_name!("sms_messages_total");
/// const RATIO: &str = metrics_runtime::metric_name!("job:sms_success:ratio_rate5m");
/// assert_eq!(SENT, "sms_messages_total");
/// assert_eq!(RATIO, "job:sms_success:ratio_rate5m");
/// ```
pub use metrics_macros::metric_name;
pub use registry::{ConfigError, catalog, check, registry, set_constant_labels};

/// A struct of metrics, registered at start-up, with one process-wide instance.
///
/// Derive it: each field is a metric (`Counter`, `IntCounter`, `Gauge`, `IntGauge`,
/// `Histogram`) or a family of them labelled by [`LabelSet`] types. The family name is
/// `#[metrics(prefix = "...")]`, an underscore and the field name (or `#[metric(name = "...")]`);
/// the help text is the field's doc comment (or `#[metric(help = "...")]`); a histogram
/// field takes `#[metric(buckets = [...])]`. Every name is checked at compile time.
///
/// ```
/// use metrics_runtime::{Gauge, GaugeFamily, Histogram, IntCounter, LabelValue, Metrics};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Google, Microsoft }
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "oauth")]
/// struct OAuthMetrics {
///     /// Active OAuth integrations, by provider.
///     integrations_active: GaugeFamily<Provider>,
///     /// OAuth token refreshes.
///     token_refresh_total: IntCounter,
///     /// Time taken by OAuth operations.
///     #[metric(buckets = [0.05, 0.25, 1.0, 5.0])]
///     operation_duration_seconds: Histogram,
///     /// Share of users with at least one integration.
///     #[metric(name = "oauth_adoption_ratio")]
///     adoption: Gauge,
/// }
///
/// let metrics = OAuthMetrics::global();
/// metrics.integrations_active.with(Provider::Google).set(3.0);
/// metrics.token_refresh_total.inc();
/// let text = metrics_runtime::render();
/// assert!(text.contains(r#"oauth_integrations_active{provider="google"} 3"#));
/// assert!(text.contains(r#"oauth_integrations_active{provider="microsoft"} 0"#));
/// assert!(text.contains("oauth_token_refresh_total 1"));
/// ```
pub trait Metrics: Sized + 'static {
    /// The process-wide instance, whose metrics are in [`registry`].
    fn global() -> &'static Self;
}
