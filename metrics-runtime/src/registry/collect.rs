//! Values read at scrape time rather than counted: queue lengths, pool sizes, sessions.
//!
//! A read function runs at every scrape, on a thread of its own, while the scrape writes the
//! counted families. One that fails (returns `Err`/`None`), panics or returns what its family
//! cannot hold (a negative count) costs its own series for that scrape, never the whole
//! scrape, and is counted in `metrics_collector_errors_total{collector}`; one that has not
//! answered by the scrape's deadline is left out too and counted in
//! `metrics_collector_timeouts_total{collector}` (it keeps running, and is not started again
//! before it returns).

use std::borrow::Cow;

use crate::catalog::Conflict;
use crate::model::Shape;
use crate::model::labels::LabelSet;
use crate::registry::runner::{Read, Samples};
use crate::registry::{Registry, registry};

/// Why a collector could not be registered: the conflict that refused it, also reported by
/// [`check`](crate::check).
pub type CollectorError = Conflict;

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

impl Registry {
    /// Registers a gauge whose value `read` returns at each scrape.
    ///
    /// # Errors
    ///
    /// When the name or help is invalid, a family of that name (or one whose series it would
    /// repeat) is already registered, or, in the global registry, it is a name kept for the
    /// default HTTP layer (`http_requests_total`, `http_request_duration_seconds`,
    /// `http_requests_in_flight` and their series).
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// registry.collect_gauge("cache_entries", "Entries in the cache.", || 3_u32).unwrap();
    /// assert!(registry.render().contains("cache_entries 3"));
    /// ```
    #[track_caller]
    pub fn collect_gauge<V: IntoSample>(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> V + Send + Sync + 'static,
    ) -> Result<(), CollectorError> {
        self.collect_one(name, help, Shape::Gauge, read)
    }

    /// Registers a counter whose running total `read` returns at each scrape (bytes sent by an
    /// interface, say); the name ends in `_total`, and a negative value is refused.
    ///
    /// # Errors
    ///
    /// As [`Registry::collect_gauge`].
    #[track_caller]
    pub fn collect_counter<V: IntoSample>(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> V + Send + Sync + 'static,
    ) -> Result<(), CollectorError> {
        self.collect_one(name, help, Shape::Counter, read)
    }

    #[track_caller]
    fn collect_one<V: IntoSample>(
        &self,
        name: &str,
        help: &str,
        shape: Shape,
        read: impl Fn() -> V + Send + Sync + 'static,
    ) -> Result<(), CollectorError> {
        let read: Read = Box::new(move || {
            let value = read()
                .into_sample()
                .ok_or_else(|| "the read function returned no value".to_owned())?;
            Ok(vec![Samples {
                series: vec![(Vec::new(), value)],
            }])
        });
        self.add_source(
            name,
            vec![(name.to_owned(), help.to_owned(), shape, Vec::new())],
            read,
        )
    }

    /// Registers a gauge family whose values `read` returns at each scrape, as pairs of labels
    /// and value. Label combinations it leaves out are not exported for that scrape; a value
    /// that is `None` or `Err`, or a combination given twice, leaves the whole family out.
    ///
    /// # Errors
    ///
    /// As [`Registry::collect_gauge`].
    #[track_caller]
    pub fn collect_gauge_family<L, I, V>(
        &self,
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
            let series = read()
                .into_iter()
                .map(|(labels, value)| {
                    let value = value
                        .into_sample()
                        .ok_or_else(|| "the read function returned no value".to_owned())?;
                    Ok((label_values::<L>(labels.series_index()), value))
                })
                .collect::<Result<_, String>>()?;
            Ok(vec![Samples { series }])
        });
        self.add_source(
            name,
            vec![(
                name.to_owned(),
                help.to_owned(),
                Shape::Gauge,
                L::NAMES.to_vec(),
            )],
            read,
        )
    }
}

/// Registers a gauge of the global registry whose value `read` returns at each scrape; see
/// [`Registry::collect_gauge`].
///
/// # Errors
///
/// As [`Registry::collect_gauge`].
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let queue = Arc::new(AtomicUsize::new(3));
/// let reader = Arc::clone(&queue);
/// instrument_metric::collect::gauge("jobs_queue_length", "Jobs waiting.", move || reader.load(Ordering::Relaxed))
///     .unwrap();
/// assert!(instrument_metric::render().contains("jobs_queue_length 3"));
/// ```
#[track_caller]
pub fn gauge<V: IntoSample>(
    name: &str,
    help: &str,
    read: impl Fn() -> V + Send + Sync + 'static,
) -> Result<(), CollectorError> {
    registry().collect_gauge(name, help, read)
}

/// Registers a counter of the global registry whose running total `read` returns at each
/// scrape; see [`Registry::collect_counter`].
///
/// # Errors
///
/// As [`Registry::collect_gauge`].
///
/// ```
/// instrument_metric::collect::counter("jobs_finished_total", "Jobs finished.", || 12_u64).unwrap();
/// assert!(instrument_metric::render().contains("jobs_finished_total 12"));
/// ```
#[track_caller]
pub fn counter<V: IntoSample>(
    name: &str,
    help: &str,
    read: impl Fn() -> V + Send + Sync + 'static,
) -> Result<(), CollectorError> {
    registry().collect_counter(name, help, read)
}

/// Registers a gauge family of the global registry whose values `read` returns at each
/// scrape; see [`Registry::collect_gauge_family`].
///
/// # Errors
///
/// As [`Registry::collect_gauge`].
///
/// ```
/// use instrument_metric::LabelValue;
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Google, Microsoft }
///
/// instrument_metric::collect::gauge_family("integrations_active", "Active integrations.", || {
///     [(Provider::Google, 4), (Provider::Microsoft, 1)]
/// })
/// .unwrap();
/// assert!(instrument_metric::render().contains(r#"integrations_active{provider="google"} 4"#));
/// ```
#[track_caller]
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
    registry().collect_gauge_family(name, help, read)
}

/// The label values of combination `index` of `L`.
fn label_values<L: LabelSet>(mut index: usize) -> Vec<Cow<'static, str>> {
    let mut values: Vec<Cow<'static, str>> = L::VALUE_SETS
        .iter()
        .rev()
        .map(|set| {
            let value = set[index % set.len()];
            index /= set.len();
            Cow::Borrowed(value)
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
