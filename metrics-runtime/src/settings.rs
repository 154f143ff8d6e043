//! Constant labels of the global registry, and the process' native histogram default: set once,
//! first thing in `main`, and frozen when first read.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::label_name_problem;
use crate::model::labels::Labels;
use crate::storage::native_histogram::{NativeConfig, NativeConfigError, NativeHistogram};

/// Labels the crate's own families carry, with the family that carries each: a constant label
/// of that name would repeat it in those series, which Prometheus refuses (the whole scrape
/// fails).
pub(crate) const CRATE_LABELS: &[(&str, &str)] = &[
    ("function", "the families of #[instrument_metric]"),
    ("module", "the families of #[instrument_metric]"),
    ("result", "the families of #[instrument_metric]"),
    ("endpoint", "the HTTP layer's http_requests_total"),
    ("method", "the HTTP layer's http_requests_total"),
    ("status", "the HTTP layer's http_requests_total"),
    ("grpc_service", "the gRPC layer's grpc_server_handled_total"),
    ("grpc_method", "the gRPC layer's grpc_server_handled_total"),
    ("grpc_code", "the gRPC layer's grpc_server_handled_total"),
    ("collector", "metrics_collector_errors_total"),
    ("family", "metrics_exporter_series"),
    ("component", "health_check_duration_seconds"),
    ("mountpoint", "system_disk_usage_percent"),
    ("interface", "system_network_io_bytes_total"),
    ("direction", "system_network_io_bytes_total"),
    ("job", "Prometheus, which adds it to every scraped series"),
    (
        "instance",
        "Prometheus, which adds it to every scraped series",
    ),
];

/// Why [`set_constant_labels`] refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The registry was already built (something recorded or rendered first), or constant
    /// labels were already set.
    TooLate,
    /// A label name is not `[a-zA-Z][a-zA-Z0-9_]*` (a leading `_` is reserved), is camelCase,
    /// is `le` or `quantile`, or is given twice.
    InvalidLabel(String),
    /// A label name that a family of the crate, or Prometheus, already uses: every series of
    /// that family would carry it twice.
    Taken {
        /// The label name.
        name: String,
        /// Who uses it.
        by: &'static str,
    },
    /// Native histograms were turned on after a histogram was created (something recorded or
    /// rendered first), or twice.
    NativeHistogramsTooLate,
    /// The native histogram configuration is not valid.
    NativeHistogram(NativeConfigError),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::TooLate => f.write_str(
                "constant labels must be set once, before the registry is first used (first thing in main)",
            ),
            ConfigError::InvalidLabel(name) => write!(f, "`{name}` cannot be a constant label name"),
            ConfigError::Taken { name, by } => write!(
                f,
                "`{name}` cannot be a constant label: it is a label of {by}; choose another name"
            ),
            ConfigError::NativeHistogramsTooLate => f.write_str(
                "native histograms must be turned on once, before any histogram is created (first thing in main)",
            ),
            ConfigError::NativeHistogram(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Labels added to every series the global registry exports.
static CONSTANT_LABELS: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Set when the global registry is built: constant labels can no longer change.
static FROZEN: AtomicBool = AtomicBool::new(false);

/// Adds `labels` (say `env` and `service`) to every series the global registry exports.
/// Call it once, first thing in `main`, before anything records or renders.
///
/// A declared family that has a label of the same name is reported by
/// [`check`](crate::check) and left out.
///
/// # Errors
///
/// [`ConfigError::TooLate`] after the registry is built or once labels are set,
/// [`ConfigError::InvalidLabel`] for a name Prometheus does not accept, and
/// [`ConfigError::Taken`] for a label the crate's own families carry (`method`, `status`,
/// ...) or that Prometheus adds (`job`, `instance`).
///
/// ```standalone_crate
/// use instrument_metric::{ConfigError, IntCounter, Metrics};
///
/// #[derive(Metrics)]
/// struct Boots {
///     /// Boots.
///     boots_total: IntCounter,
/// }
///
/// assert!(matches!(
///     instrument_metric::set_constant_labels([("instance", "a")]),
///     Err(ConfigError::Taken { .. })
/// ));
/// instrument_metric::set_constant_labels([("env", "staging"), ("service", "assistant")]).unwrap();
/// Boots::global().boots_total.inc();
/// let text = instrument_metric::render();
/// let line = text.lines().find(|line| line.starts_with("boots_total{")).unwrap();
/// assert!(line.contains(r#"env="staging""#) && line.contains(r#"service="assistant""#));
/// ```
pub fn set_constant_labels<K, V>(
    labels: impl IntoIterator<Item = (K, V)>,
) -> Result<(), ConfigError>
where
    K: Into<String>,
    V: Into<String>,
{
    let labels = checked(labels)?;
    if FROZEN.load(Ordering::Acquire) {
        return Err(ConfigError::TooLate);
    }
    CONSTANT_LABELS
        .set(labels)
        .map_err(|_| ConfigError::TooLate)
}

/// The native histogram configuration of every histogram; `None` until set, and frozen by the
/// first histogram created.
static NATIVE_DEFAULT: OnceLock<Option<NativeConfig>> = OnceLock::new();

/// Makes every histogram native (sparse exponential buckets, in the protobuf exposition), with
/// `config`: those of instrumented functions, of `Metrics` structs, of the HTTP layer and those
/// registered by hand, in every registry. Each keeps its classic buckets beside the native
/// ones, which the text formats show, so that classic queries, rules and dashboards keep
/// working. Call it once, first thing in `main`, before anything records or renders.
///
/// Without it, a histogram is native when its declaration asks (`native_histogram` in
/// `#[instrument_metric]` or `#[metric(...)]`, [`HttpMetricsLayer::native_histograms`]), with
/// [`NativeConfig::new`]'s defaults; with it, those take `config` too.
///
/// [`HttpMetricsLayer::native_histograms`]: crate::axum::HttpMetricsLayer::native_histograms
///
/// # Errors
///
/// [`ConfigError::NativeHistogram`] for a configuration a native histogram cannot have,
/// [`ConfigError::NativeHistogramsTooLate`] once a histogram exists or when called twice.
///
/// ```standalone_crate
/// use instrument_metric::native_histogram::NativeConfig;
///
/// let config = NativeConfig::new().bucket_factor(1.05).max_buckets(100);
/// instrument_metric::set_native_histograms(config).unwrap();
/// assert!(instrument_metric::set_native_histograms(config).is_err());
/// ```
pub fn set_native_histograms(config: NativeConfig) -> Result<(), ConfigError> {
    NativeHistogram::new(&config, &[]).map_err(ConfigError::NativeHistogram)?;
    NATIVE_DEFAULT
        .set(Some(config))
        .map_err(|_| ConfigError::NativeHistogramsTooLate)
}

/// The native configuration of a histogram that asks for one (`opted_in`) or not: the
/// process' default if set, else the defaults for one that asks, else none. Freezes the
/// default.
pub(crate) fn native_config(opted_in: bool) -> Option<NativeConfig> {
    NATIVE_DEFAULT
        .get_or_init(|| None)
        .or_else(|| opted_in.then(NativeConfig::new))
}

/// `labels`, when each is a valid constant label name that no family of the crate uses.
pub(crate) fn checked<K, V>(
    labels: impl IntoIterator<Item = (K, V)>,
) -> Result<Vec<(String, String)>, ConfigError>
where
    K: Into<String>,
    V: Into<String>,
{
    let labels: Vec<(String, String)> = labels
        .into_iter()
        .map(|(name, value)| (name.into(), value.into()))
        .collect();
    for (name, _) in &labels {
        if let Some((_, by)) = CRATE_LABELS.iter().find(|(taken, _)| taken == name) {
            return Err(ConfigError::Taken {
                name: name.clone(),
                by,
            });
        }
        let repeated = labels.iter().filter(|(other, _)| other == name).count() > 1;
        if label_name_problem(name).is_some() || repeated {
            return Err(ConfigError::InvalidLabel(name.clone()));
        }
    }
    Ok(labels)
}

/// The global registry's constant labels, sorted by name, and rendered; reading them freezes
/// them.
pub(crate) fn freeze() -> &'static ConstantLabels {
    static FROZEN_LABELS: OnceLock<ConstantLabels> = OnceLock::new();
    FROZEN.store(true, Ordering::Release);
    FROZEN_LABELS
        .get_or_init(|| ConstantLabels::new(CONSTANT_LABELS.get().cloned().unwrap_or_default()))
}

/// A registry's constant labels.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConstantLabels {
    /// Sorted by name.
    pub(crate) pairs: Vec<(String, String)>,
    /// The same, made once: the last label list of every series a registry writes.
    pub(crate) labels: Labels,
}

impl ConstantLabels {
    pub(crate) fn new(mut pairs: Vec<(String, String)>) -> ConstantLabels {
        pairs.sort();
        let labels = Labels::new(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        ConstantLabels { pairs, labels }
    }

    /// The label list of a series labelled `labels` (none of them a constant label: refused
    /// when set): `labels` then the constant labels, or, `by_name`, all of them sorted by name.
    pub(crate) fn join<'a>(&'a self, labels: &[(&'a str, &'a str)], by_name: bool) -> Labels {
        let mut all = labels.to_vec();
        all.extend(self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if by_name {
            all.sort_by_key(|(name, _)| *name);
        }
        Labels::new(all)
    }

    /// Whether `name` is one of them.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(label, _)| label == name)
    }
}
