#![doc = include_str!("../docs/guide.md")]
// Unsafe code only where the CPU of a thread is read (`storage/stripes.rs`).
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

// Bottom layer first; a module uses only those above it in this list.
// What declarations, labels and names are: descriptors, label sets, the naming rules.
mod model;
// Where values live: cells striped by CPU, the clock, native histograms, exemplars.
mod storage;
// How a family is written: the writer trait, text and protobuf, content negotiation.
mod exposition;
// Process-wide settings: constant labels, the native histogram default.
mod settings;
// The handles users hold: counters, gauges, histograms, families.
mod metrics;
// What `#[instrument_metric]` calls: the per-call hot path and outcomes.
mod instrument;
// What was declared: pure functions of the declarations.
mod catalog;
// Registries: state, hand registration, the build from the declarations, collectors.
mod registry;
// One scrape: a registry written in one format.
mod render;
// What a service plugs in: HTTP layer, endpoint, health, push, system, sqlx, export.
mod integrations;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use catalog::{
    Catalog, CatalogError, Conflict, DeclaredFamily, DeclaredObjective, InstrumentedFunction,
    Origin,
};
#[cfg(feature = "protobuf")]
pub use exposition::proto;
pub use exposition::text::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
pub use instrument::outcome::ResponseStatus;
pub use instrument::{recording, set_recording};
/// Derives [`ErrorKinds`] for an enum of errors: see [`ErrorKinds`].
pub use instrument_metric_macros::ErrorKinds;
/// Derives [`LabelSet`] for a struct whose fields are [`LabelValue`] types and name the labels.
pub use instrument_metric_macros::LabelSet;
/// Derives [`LabelValue`] (and [`LabelSet`]) for a fieldless enum: see [`LabelValue`].
pub use instrument_metric_macros::LabelValue;
/// Derives [`Metrics`] for a struct whose fields are metrics: see [`Metrics`].
pub use instrument_metric_macros::Metrics;
#[doc = include_str!("../docs/instrument_metric.md")]
#[doc = include_str!("../docs/outcomes.md")]
pub use instrument_metric_macros::instrument_metric;
/// Checks a metric name at compile time and gives it back as a `&'static str`.
///
/// For code that must spell a name: queries, recording rules, tests. Colons are allowed, as
/// recording rule names use them.
///
/// ```
/// const SENT: &str = instrument_metric::metric_name!("sms_messages_total");
/// const RATIO: &str = instrument_metric::metric_name!("job:sms_success:ratio_rate5m");
/// assert_eq!(SENT, "sms_messages_total");
/// assert_eq!(RATIO, "job:sms_success:ratio_rate5m");
/// ```
pub use instrument_metric_macros::metric_name;
#[cfg(feature = "axum")]
pub use integrations::axum;
pub use integrations::build_info::register_build_info;
#[cfg(feature = "export")]
pub use integrations::export;
#[cfg(feature = "metrics-facade")]
pub use integrations::facade;
#[cfg(feature = "grpc")]
pub use integrations::grpc;
#[cfg(feature = "health")]
pub use integrations::health;
#[cfg(feature = "reqwest")]
pub use integrations::http_client;
#[cfg(feature = "otlp")]
pub use integrations::otlp;
#[cfg(feature = "push")]
pub use integrations::push;
#[cfg(feature = "sqlx")]
pub use integrations::sqlx;
pub use integrations::system;
pub use metrics::{
    Counter, CounterFamily, Family, Gauge, GaugeFamily, Histogram, HistogramFamily, HistogramTimer,
    IntCounter, IntCounterFamily, IntGauge, IntGaugeFamily, Metric, RuntimeFamily,
    UnknownLabelValue,
};
pub use model::label_values::{LabelPart, LabelValues, LabelValuesError, Runtime, RuntimeLabels};
pub use model::labels::{ErrorKinds, LabelSet, LabelValue, OptionLabelValue};
pub use model::{DEFAULT_BUCKETS, Location, MetricKind, Objective, Outcome, Shape};
pub use registry::collect;
pub use registry::crate_check::{CrateCheckError, check_crate};
pub use registry::{
    DEFAULT_COLLECT_TIMEOUT, FamilyBuilder, MIN_COLLECT_TIMEOUT, MetricField, Registry, catalog,
    check, registry,
};
pub use render::{render, render_as};
pub use settings::{ConfigError, set_constant_labels, set_native_histograms};
pub use storage::native_histogram::config as native_histogram;

#[doc = include_str!("../docs/metrics.md")]
pub trait Metrics: Sized + 'static {
    /// Registers the struct's families in `registry` (or finds them, when the same struct is
    /// registered there again) and gives handles to them. A field whose family conflicts with
    /// one already there gets handles exported nowhere; [`Registry::check`] reports it.
    ///
    /// ```
    /// use instrument_metric::{IntCounter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(scoped)]
    /// struct Batch {
    ///     /// Rows read.
    ///     batch_rows_total: IntCounter,
    /// }
    ///
    /// let registry = Registry::new();
    /// let first = Batch::register_in(&registry);
    /// let again = Batch::register_in(&registry);
    /// first.batch_rows_total.inc();
    /// assert_eq!(again.batch_rows_total.get(), 1, "the same series");
    /// registry.check().unwrap();
    /// ```
    fn register_in(registry: &Registry) -> Self;
}
