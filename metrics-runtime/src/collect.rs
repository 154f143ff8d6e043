//! Values read at scrape time rather than counted: queue lengths, pool sizes, sessions.
//!
//! A read function runs on every scrape. One that fails (returns `Err`/`None`) or panics costs
//! its own series for that scrape, never the whole scrape, and is counted in
//! `metrics_collector_errors_total{collector}`.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, GaugeVec, IntCounter, Opts};

use crate::labels::LabelSet;

/// Why a collector could not be registered.
#[derive(Debug)]
pub struct CollectorError(prometheus::Error);

impl fmt::Display for CollectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot register the collector: {}", self.0)
    }
}

impl std::error::Error for CollectorError {}

impl From<prometheus::Error> for CollectorError {
    fn from(error: prometheus::Error) -> Self {
        CollectorError(error)
    }
}

/// A value a read function returns: a number, or an `Option`/`Result` of one, where `None`
/// and `Err` mean "no value this scrape".
pub trait IntoSample {
    /// The value, or `None` when there is none this scrape.
    fn into_sample(self) -> Option<f64>;
}

macro_rules! lossless_samples {
    ($($ty:ty),*) => {$(
        impl IntoSample for $ty {
            fn into_sample(self) -> Option<f64> {
                Some(f64::from(self))
            }
        }
    )*};
}

lossless_samples!(f64, f32, u32, i32, u16, i16, u8, i8);

macro_rules! wide_samples {
    ($($ty:ty),*) => {$(
        impl IntoSample for $ty {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53, which gauges stay under
            fn into_sample(self) -> Option<f64> {
                Some(self as f64)
            }
        }
    )*};
}

wide_samples!(u64, i64, usize, isize);

impl<T: IntoSample> IntoSample for Option<T> {
    fn into_sample(self) -> Option<f64> {
        self.and_then(IntoSample::into_sample)
    }
}

impl<T: IntoSample, E> IntoSample for Result<T, E> {
    fn into_sample(self) -> Option<f64> {
        self.ok().and_then(IntoSample::into_sample)
    }
}

const ERRORS_NAME: &str = "metrics_collector_errors_total";
const ERRORS_HELP: &str =
    "Scrapes in which a collector failed or panicked and its series were left out.";

#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

type Read = Box<dyn Fn() -> Option<Vec<(Vec<&'static str>, f64)>> + Send + Sync>;

/// A collector calling a read function on every scrape. Its failures are counted in its own
/// series of `metrics_collector_errors_total`, exported beside its values (and instead of them
/// when it fails), so the count includes the scrape that reports it.
struct FnCollector {
    errors: IntCounter,
    kind: Kind,
    opts: Opts,
    labels: Vec<&'static str>,
    desc: Vec<Desc>,
    read: Read,
}

impl FnCollector {
    fn new(
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&'static str],
        read: Read,
    ) -> Result<Self, CollectorError> {
        let opts = Opts::new(name, help);
        let desc: Vec<Desc> = match kind {
            Kind::Gauge => GaugeVec::new(opts.clone(), labels)?
                .desc()
                .into_iter()
                .cloned()
                .collect(),
            Kind::Counter => CounterVec::new(opts.clone(), labels)?
                .desc()
                .into_iter()
                .cloned()
                .collect(),
        };
        let errors = IntCounter::with_opts(
            Opts::new(ERRORS_NAME, ERRORS_HELP).const_label("collector", name),
        )?;
        let desc = desc
            .into_iter()
            .chain(errors.desc().into_iter().cloned())
            .collect();
        Ok(FnCollector {
            errors,
            kind,
            opts,
            labels: labels.to_vec(),
            desc,
            read,
        })
    }

    fn families(&self, samples: &[(Vec<&'static str>, f64)]) -> Option<Vec<MetricFamily>> {
        Some(match self.kind {
            Kind::Gauge => {
                let vec = GaugeVec::new(self.opts.clone(), &self.labels).ok()?;
                for (labels, value) in samples {
                    vec.get_metric_with_label_values(labels).ok()?.set(*value);
                }
                vec.collect()
            }
            Kind::Counter => {
                let vec = CounterVec::new(self.opts.clone(), &self.labels).ok()?;
                for (labels, value) in samples {
                    if *value < 0.0 || value.is_nan() {
                        return None;
                    }
                    vec.get_metric_with_label_values(labels)
                        .ok()?
                        .inc_by(*value);
                }
                vec.collect()
            }
        })
    }
}

impl Collector for FnCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.desc.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let families = catch_unwind(AssertUnwindSafe(|| {
            (self.read)().and_then(|samples| self.families(&samples))
        }));
        let mut families = if let Ok(Some(families)) = families {
            families
        } else {
            self.errors.inc();
            Vec::new()
        };
        families.extend(self.errors.collect());
        families
    }
}

fn register(collector: FnCollector) -> Result<(), CollectorError> {
    crate::registry().register(Box::new(collector))?;
    Ok(())
}

/// Registers a gauge whose value `read` returns on every scrape.
///
/// # Errors
///
/// When the name or help is invalid, or a metric of that name is already registered.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let queue = Arc::new(AtomicUsize::new(3));
/// let reader = Arc::clone(&queue);
/// metrics_runtime::collect::gauge("jobs_queue_length", "Jobs waiting.", move || reader.load(Ordering::Relaxed))
///     .unwrap();
/// assert!(metrics_runtime::render().contains("jobs_queue_length 3"));
/// ```
pub fn gauge<V: IntoSample>(
    name: &str,
    help: &str,
    read: impl Fn() -> V + Send + Sync + 'static,
) -> Result<(), CollectorError> {
    register_unlabelled(name, help, Kind::Gauge, read)
}

/// Registers a counter whose running total `read` returns on every scrape (bytes sent by an
/// interface, say); the name must end in `_total`, and a negative value is refused.
///
/// # Errors
///
/// When the name or help is invalid, or a metric of that name is already registered.
///
/// ```
/// metrics_runtime::collect::counter("jobs_finished_total", "Jobs finished.", || 12_u64).unwrap();
/// assert!(metrics_runtime::render().contains("jobs_finished_total 12"));
/// ```
pub fn counter<V: IntoSample>(
    name: &str,
    help: &str,
    read: impl Fn() -> V + Send + Sync + 'static,
) -> Result<(), CollectorError> {
    register_unlabelled(name, help, Kind::Counter, read)
}

/// Registers a collector of one unlabelled series of `kind`.
fn register_unlabelled<V: IntoSample>(
    name: &str,
    help: &str,
    kind: Kind,
    read: impl Fn() -> V + Send + Sync + 'static,
) -> Result<(), CollectorError> {
    let read: Read = Box::new(move || read().into_sample().map(|value| vec![(Vec::new(), value)]));
    register(FnCollector::new(name, help, kind, &[], read)?)
}

/// Registers a gauge family whose values `read` returns on every scrape, as pairs of labels
/// and value. Label combinations it leaves out are not exported for that scrape; a value that
/// is `None` or `Err` leaves the whole family out for that scrape.
///
/// # Errors
///
/// When the name or help is invalid, or a metric of that name is already registered.
///
/// ```
/// use metrics_runtime::LabelValue;
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Google, Microsoft }
///
/// metrics_runtime::collect::gauge_family("integrations_active", "Active integrations.", || {
///     [(Provider::Google, 4), (Provider::Microsoft, 1)]
/// })
/// .unwrap();
/// assert!(metrics_runtime::render().contains(r#"integrations_active{provider="google"} 4"#));
/// ```
pub fn gauge_family<L, I, V>(
    name: &str,
    help: &str,
    read: impl Fn() -> I + Send + Sync + 'static,
) -> Result<(), CollectorError>
where
    L: LabelSet,
    I: IntoIterator<Item = (L, V)>,
    V: IntoSample,
{
    let read: Read = Box::new(move || {
        read()
            .into_iter()
            .map(|(labels, value)| {
                Some((
                    label_values::<L>(labels.series_index()),
                    value.into_sample()?,
                ))
            })
            .collect()
    });
    register(FnCollector::new(name, help, Kind::Gauge, L::NAMES, read)?)
}

/// The label values of combination `index` of `L`.
fn label_values<L: LabelSet>(mut index: usize) -> Vec<&'static str> {
    let mut values: Vec<&'static str> = L::VALUE_SETS
        .iter()
        .rev()
        .map(|set| {
            let value = set[index % set.len()];
            index /= set.len();
            value
        })
        .collect();
    values.reverse();
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_invert_the_series_index() {
        for a in [false, true] {
            for b in [false, true] {
                let index = (a, b).series_index();
                assert_eq!(
                    label_values::<(bool, bool)>(index),
                    [a.to_string(), b.to_string()]
                );
            }
        }
    }
}
