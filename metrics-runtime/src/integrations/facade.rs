#![doc = include_str!("../../docs/facade.md")]

mod family;
mod handles;
mod names;
mod recorder;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::catalog::{Conflict, FamilySpec, Origin};
use crate::exposition::Exposition;
use crate::integrations::facade::recorder::{OVERFLOW_FAMILY, REFUSED_FAMILY, Settings, Shared};
use crate::model::{DEFAULT_BUCKETS, Location, Shape};
use crate::registry::Registry;

/// The series a family recorded through the facade has at most, unless
/// [`FacadeBuilder::series_cap`] says otherwise; a record of another label combination goes to
/// the family's overflow series.
///
/// ```
/// assert_eq!(instrument_metric::facade::DEFAULT_SERIES_CAP, 1000);
/// ```
pub const DEFAULT_SERIES_CAP: usize = 1000;

/// The value of every label of a family's overflow series, which holds the records of the
/// label combinations past the family's series cap.
///
/// ```
/// use instrument_metric::facade::{FacadeRecorder, OVERFLOW_VALUE};
///
/// let registry = instrument_metric::Registry::new();
/// let recorder = FacadeRecorder::builder().registry(&registry).series_cap(1).build().unwrap();
/// metrics::with_local_recorder(&recorder, || {
///     for peer in ["a", "b", "c"] {
///         metrics::gauge!("peer_lag", "peer" => peer).increment(1.0);
///     }
/// });
/// let overflow = format!("peer_lag{{peer=\"{OVERFLOW_VALUE}\"}} 2\n");
/// assert!(registry.render().contains(&overflow));
/// ```
pub const OVERFLOW_VALUE: &str = family::OVERFLOW_VALUE;

/// A recorder of the [`metrics`] facade that records into a [`Registry`]: install it
/// ([`FacadeRecorder::install`], [`install`]) or use it in a scope
/// ([`metrics::with_local_recorder`]). Clones share their families.
///
/// ```
/// use instrument_metric::Registry;
/// use instrument_metric::facade::FacadeRecorder;
///
/// let registry = Registry::new();
/// let recorder = FacadeRecorder::builder().registry(&registry).build().unwrap();
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("cache.hits").increment(2);
/// });
/// assert!(registry.render().contains("\ncache_hits_total 2\n"));
/// ```
#[derive(Clone)]
pub struct FacadeRecorder {
    shared: Arc<Shared>,
}

impl fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FacadeRecorder")
            .field("registry", &self.shared.registry)
            .finish_non_exhaustive()
    }
}

impl FacadeRecorder {
    /// A builder: the global registry, [`DEFAULT_SERIES_CAP`] series per family, the default
    /// buckets ([`DEFAULT_BUCKETS`]), native histograms when the process' default says so.
    ///
    /// ```
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder()
    ///     .series_cap(100)
    ///     .buckets(&[0.01, 0.1, 1.0])
    ///     .build()
    ///     .unwrap();
    /// assert!(recorder.registry().check().is_ok());
    /// ```
    #[must_use]
    pub fn builder() -> FacadeBuilder {
        FacadeBuilder {
            registry: None,
            cap: DEFAULT_SERIES_CAP,
            buckets: DEFAULT_BUCKETS.to_vec(),
            buckets_for: HashMap::new(),
            native: false,
        }
    }

    /// The registry it records into.
    ///
    /// ```
    /// use instrument_metric::facade::FacadeRecorder;
    ///
    /// let registry = instrument_metric::Registry::new();
    /// let recorder = FacadeRecorder::builder().registry(&registry).build().unwrap();
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs").increment(1));
    /// assert!(recorder.registry().render().contains("\njobs_total 1\n"));
    /// ```
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// Makes it the process' recorder of the facade ([`metrics::set_global_recorder`]).
    ///
    /// # Errors
    ///
    /// [`FacadeError::AlreadyInstalled`] when the process has one already (when another
    /// library installed it, this recorder's self-metrics stay in its registry, at 0).
    ///
    /// ```no_run
    /// use instrument_metric::facade::FacadeRecorder;
    ///
    /// FacadeRecorder::builder().series_cap(200).build().unwrap().install().unwrap();
    /// metrics::counter!("jobs").increment(1);
    /// ```
    pub fn install(self) -> Result<(), FacadeError> {
        metrics::set_global_recorder(self).map_err(|_| FacadeError::AlreadyInstalled)?;
        INSTALLED.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// How a [`FacadeRecorder`] is made: [`FacadeRecorder::builder`].
///
/// ```
/// use instrument_metric::facade::FacadeRecorder;
///
/// let recorder = FacadeRecorder::builder()
///     .registry(&instrument_metric::Registry::new())
///     .series_cap(50)
///     .buckets(&[0.01, 0.1, 1.0])
///     .buckets_for("payload.bytes", &[1024.0, 65536.0])
///     .build()
///     .unwrap();
/// # drop(recorder);
/// ```
#[derive(Debug)]
pub struct FacadeBuilder {
    registry: Option<Registry>,
    cap: usize,
    buckets: Vec<f64>,
    buckets_for: HashMap<String, Vec<f64>>,
    native: bool,
}

impl FacadeBuilder {
    /// Records into `registry` instead of the global one.
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder().registry(&registry).build().unwrap();
    /// metrics::with_local_recorder(&recorder, || metrics::gauge!("queue_depth").set(4.0));
    /// assert!(registry.render().contains("\nqueue_depth 4\n"));
    /// ```
    #[must_use]
    pub fn registry(mut self, registry: &Registry) -> FacadeBuilder {
        self.registry = Some(registry.clone());
        self
    }

    /// The series a family has at most ([`DEFAULT_SERIES_CAP`] until then): the records of a
    /// label combination past them go to the family's overflow series, whose every label is
    /// [`OVERFLOW_VALUE`], and are counted in `metrics_facade_overflow_total{family}`.
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder()
    ///     .registry(&registry)
    ///     .series_cap(1)
    ///     .build()
    ///     .unwrap();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::counter!("logins", "user" => "ann").increment(1);
    ///     metrics::counter!("logins", "user" => "bob").increment(1);
    /// });
    /// let text = registry.render();
    /// assert!(text.contains("logins_total{user=\"__overflow__\"} 1\n"));
    /// assert!(text.contains("metrics_facade_overflow_total{family=\"logins_total\"} 1\n"));
    /// ```
    #[must_use]
    pub fn series_cap(mut self, cap: usize) -> FacadeBuilder {
        self.cap = cap;
        self
    }

    /// The buckets of every histogram without buckets of its own ([`DEFAULT_BUCKETS`] until
    /// then).
    ///
    /// ```
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder()
    ///     .buckets(&[0.001, 0.01, 0.1])
    ///     .build();
    /// assert!(recorder.is_ok());
    /// ```
    #[must_use]
    pub fn buckets(mut self, bounds: &[f64]) -> FacadeBuilder {
        self.buckets = bounds.to_vec();
        self
    }

    /// The buckets of the histogram named `name` (as the facade names it, or as the
    /// exposition does: `db.query` and `db_query` are the same).
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder()
    ///     .registry(&registry)
    ///     .buckets_for("upload.size", &[1024.0, 1048576.0])
    ///     .build()
    ///     .unwrap();
    /// metrics::with_local_recorder(&recorder, || metrics::histogram!("upload.size").record(2048.0));
    /// assert!(registry.render().contains("upload_size_bucket{le=\"1048576\"} 1\n"));
    /// ```
    #[must_use]
    pub fn buckets_for(mut self, name: &str, bounds: &[f64]) -> FacadeBuilder {
        self.buckets_for
            .insert(names::sanitize(name), bounds.to_vec());
        self
    }

    /// Makes every histogram native (its classic buckets too), or, with `false`, as the
    /// process' default ([`set_native_histograms`](crate::set_native_histograms)) says.
    /// Native buckets are carried by the protobuf exposition.
    ///
    /// ```
    /// let recorder = instrument_metric::facade::FacadeRecorder::builder()
    ///     .native_histograms(true)
    ///     .build();
    /// assert!(recorder.is_ok());
    /// ```
    #[must_use]
    pub fn native_histograms(mut self, native: bool) -> FacadeBuilder {
        self.native = native;
        self
    }

    /// The recorder, its self-metrics (`metrics_facade_overflow_total`,
    /// `metrics_facade_refused_total`) claimed in its registry.
    ///
    /// # Errors
    ///
    /// A bucket list that is empty, not finite or not strictly increasing; a series cap of 0;
    /// a registry that already has a facade recorder ([`FacadeError::RegistryTaken`]) or
    /// families named like its self-metrics.
    ///
    /// ```
    /// use instrument_metric::facade::{FacadeError, FacadeRecorder};
    ///
    /// let error = FacadeRecorder::builder().buckets(&[1.0, 0.5]).build().unwrap_err();
    /// assert!(matches!(error, FacadeError::Buckets { .. }));
    /// ```
    pub fn build(self) -> Result<FacadeRecorder, FacadeError> {
        if self.cap == 0 {
            return Err(FacadeError::SeriesCap);
        }
        let lists = std::iter::once((None, &self.buckets)).chain(
            self.buckets_for
                .iter()
                .map(|(name, list)| (Some(name), list)),
        );
        for (name, bounds) in lists {
            if let Some((_, problem)) = instrument_metric_rules::buckets(bounds, false, false)
                .into_iter()
                .next()
            {
                let histogram = name.cloned();
                return Err(FacadeError::Buckets { histogram, problem });
            }
        }
        let registry = self.registry.unwrap_or_else(|| crate::registry().clone());
        if registry.origin_of(OVERFLOW_FAMILY) == Some(Origin::Crate) {
            return Err(FacadeError::RegistryTaken);
        }
        let shared = Arc::new(Shared::new(
            registry.clone(),
            Settings {
                cap: self.cap,
                buckets: self.buckets,
                buckets_for: self.buckets_for,
                native: self.native,
            },
        ));
        // The registry keeps the recorder's state for as long as it lives: the series stay
        // exported whatever becomes of the recorder.
        let writer = Arc::clone(&shared);
        let write = Arc::new(move |out: &mut dyn Exposition| writer.write(out));
        registry
            .add_writer(&self_metrics(), write)
            .map_err(FacadeError::Conflict)?;
        Ok(FacadeRecorder { shared })
    }

    /// Builds the recorder and installs it: [`FacadeBuilder::build`], then
    /// [`FacadeRecorder::install`].
    ///
    /// # Errors
    ///
    /// As both.
    ///
    /// ```no_run
    /// instrument_metric::facade::FacadeRecorder::builder()
    ///     .series_cap(500)
    ///     .buckets_for("db.query.duration", &[0.001, 0.01, 0.1, 1.0])
    ///     .install()
    ///     .expect("the only recorder of the facade");
    /// ```
    pub fn install(self) -> Result<(), FacadeError> {
        // Before building: a second install leaves the registry as it is.
        if INSTALLED.load(Ordering::Relaxed) {
            return Err(FacadeError::AlreadyInstalled);
        }
        self.build()?.install()
    }
}

/// Whether a recorder of this crate is the process' recorder of the facade.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The declarations of the recorder's self-metrics.
fn self_metrics() -> Vec<FamilySpec> {
    let here = Location {
        file: file!(),
        line: line!(),
        column: column!(),
    };
    [(OVERFLOW_FAMILY, "family"), (REFUSED_FAMILY, "reason")]
        .into_iter()
        .map(|(name, label)| FamilySpec {
            name,
            help: recorder::help_of(name),
            shape: Shape::IntCounter,
            labels: vec![label],
            buckets: &[],
            native: false,
            location: here,
            origin: Origin::Crate,
        })
        .collect()
}

/// Installs a recorder of the facade into the global registry, with the defaults of
/// [`FacadeRecorder::builder`].
///
/// # Errors
///
/// As [`FacadeRecorder::install`].
///
/// ```no_run
/// instrument_metric::facade::install().expect("the only recorder of the facade");
/// metrics::counter!("emails.sent", "provider" => "smtp").increment(1);
/// assert!(instrument_metric::render().contains("emails_sent_total{provider=\"smtp\"} 1"));
/// ```
pub fn install() -> Result<(), FacadeError> {
    FacadeRecorder::builder().install()
}

/// Why a facade recorder could not be built or installed.
///
/// ```
/// use instrument_metric::Registry;
/// use instrument_metric::facade::{FacadeError, FacadeRecorder};
///
/// let registry = Registry::new();
/// let first = FacadeRecorder::builder().registry(&registry).build().unwrap();
/// let second = FacadeRecorder::builder().registry(&registry).build();
/// assert_eq!(second.unwrap_err(), FacadeError::RegistryTaken);
/// # drop(first);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FacadeError {
    /// The process has a recorder of the facade already.
    AlreadyInstalled,
    /// A series cap of 0: every record would overflow.
    SeriesCap,
    /// A bucket list the rules refuse.
    Buckets {
        /// The histogram it was given for (`None`: the default list).
        histogram: Option<String>,
        /// What is wrong.
        problem: String,
    },
    /// The registry has a recorder of the facade already: clone that one.
    RegistryTaken,
    /// The registry has families named like the recorder's self-metrics (reported by
    /// [`check`](crate::check) too).
    Conflict(Conflict),
}

impl fmt::Display for FacadeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FacadeError::AlreadyInstalled => f.write_str(
                "a recorder of the `metrics` facade is installed already (metrics::set_global_recorder takes one per process): install this one first, or use it with metrics::with_local_recorder",
            ),
            FacadeError::SeriesCap => {
                f.write_str("a series cap of 0 would send every record to the overflow series; give at least 1")
            }
            FacadeError::Buckets {
                histogram: Some(name),
                problem,
            } => write!(f, "the buckets given for `{name}`: {problem}"),
            FacadeError::Buckets {
                histogram: None,
                problem,
            } => write!(f, "the default buckets of the facade's histograms: {problem}"),
            FacadeError::RegistryTaken => f.write_str(
                "the registry has a recorder of the facade already: clone that one (a registry takes one, so that one name is one family)",
            ),
            FacadeError::Conflict(conflict) => write!(
                f,
                "{conflict}: the recorder's self-metrics take these names; rename the other family"
            ),
        }
    }
}

impl std::error::Error for FacadeError {}
