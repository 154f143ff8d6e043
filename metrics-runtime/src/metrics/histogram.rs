//! `Histogram` and the timer that observes a duration when dropped.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{DEFAULT_BUCKETS, Shape};
use crate::storage::cells::HistogramCells;

use super::{Metric, Storage, sealed};

/// A histogram of observations (durations in seconds, sizes in bytes), with the bucket bounds
/// of its family.
///
/// ```
/// use instrument_metric::{Histogram, Metrics};
///
/// #[derive(Metrics)]
/// struct Uploads {
///     /// Size of uploaded files.
///     #[metric(buckets = [1024.0, 1048576.0])]
///     upload_size_bytes: Histogram,
///     /// Time to store an upload.
///     upload_store_duration_seconds: Histogram,
/// }
///
/// let uploads = Uploads::global();
/// uploads.upload_size_bytes.observe(2048.0);
/// let stored = uploads.upload_store_duration_seconds.observe_closure_duration(|| "stored");
/// assert_eq!(stored, "stored");
/// let timer = uploads.upload_store_duration_seconds.start_timer();
/// timer.observe_duration();
/// assert_eq!(uploads.upload_size_bytes.get_sample_count(), 1);
/// assert_eq!(uploads.upload_size_bytes.get_sample_sum(), 2048.0);
/// assert_eq!(uploads.upload_store_duration_seconds.get_sample_count(), 2);
/// ```
#[derive(Clone)]
pub struct Histogram {
    cells: Arc<HistogramCells>,
    index: usize,
}

impl sealed::Sealed for Histogram {
    fn from_storage(storage: &Storage, index: usize) -> Self {
        match storage {
            Storage::Histograms(cells) => Histogram {
                cells: Arc::clone(cells),
                index,
            },
            // The registry gives each type storage of its own shape.
            Storage::Values(_) => Histogram {
                cells: Arc::new(HistogramCells::new(1, DEFAULT_BUCKETS, None)),
                index: 0,
            },
        }
    }
}

impl Metric for Histogram {
    const SHAPE: Shape = Shape::Histogram;
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.get_sample_count())
            .field("sum", &self.get_sample_sum())
            .finish()
    }
}

impl Histogram {
    /// Records one observation. A NaN is ignored (as [`Counter::inc_by`](super::Counter::inc_by) ignores one): counted,
    /// it would make the sum NaN for good.
    ///
    /// Negative values are recorded, but OpenMetrics 1.0 wants a histogram's sum to be a
    /// counter: while the sum is negative (and always, for buckets with a negative bound) the
    /// OpenMetrics exposition has no `_sum` and no `_count` for the series; its
    /// `_bucket{le="+Inf"}` is the count. The text and protobuf formats keep both.
    ///
    /// ```
    /// use instrument_metric::{Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Rooms {
    ///     /// Temperatures read, in degrees Celsius.
    ///     #[metric(buckets = [0.0, 20.0, 40.0])]
    ///     room_temperature_celsius: Histogram,
    /// }
    ///
    /// let rooms = Rooms::global();
    /// rooms.room_temperature_celsius.observe(21.5);
    /// rooms.room_temperature_celsius.observe(f64::NAN);
    /// assert_eq!(rooms.room_temperature_celsius.get_sample_count(), 1);
    /// assert_eq!(rooms.room_temperature_celsius.get_sample_sum(), 21.5);
    /// ```
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(self.index, value);
    }

    /// A timer that observes the seconds from now until it is stopped or dropped.
    pub fn start_timer(&self) -> HistogramTimer {
        HistogramTimer {
            histogram: self.clone(),
            started: Instant::now(),
            done: false,
        }
    }

    /// Runs `f` and observes how long it took, in seconds.
    pub fn observe_closure_duration<R>(&self, f: impl FnOnce() -> R) -> R {
        let started = Instant::now();
        let result = f();
        self.observe(started.elapsed().as_secs_f64());
        result
    }

    /// The number of observations.
    #[must_use]
    pub fn get_sample_count(&self) -> u64 {
        let mut cumulative = Vec::new();
        self.cells.read(self.index, &mut cumulative);
        cumulative.last().copied().unwrap_or(0)
    }

    /// The sum of the observations.
    #[must_use]
    pub fn get_sample_sum(&self) -> f64 {
        let mut cumulative = Vec::new();
        self.cells.read(self.index, &mut cumulative)
    }
}

/// Observes the seconds since [`Histogram::start_timer`] when stopped, or when dropped.
#[derive(Debug)]
#[must_use = "a timer observes when it is dropped: drop it where the work ends"]
pub struct HistogramTimer {
    histogram: Histogram,
    started: Instant,
    done: bool,
}

impl HistogramTimer {
    /// Observes the time elapsed.
    pub fn observe_duration(self) {
        self.stop_and_record();
    }

    /// Observes the time elapsed and returns it, in seconds.
    #[allow(clippy::must_use_candidate)] // observing is the point; the value is a bonus
    pub fn stop_and_record(mut self) -> f64 {
        self.done = true;
        let seconds = self.started.elapsed().as_secs_f64();
        self.histogram.observe(seconds);
        seconds
    }

    /// Returns the time elapsed, in seconds, without observing it.
    #[must_use]
    pub fn stop_and_discard(mut self) -> f64 {
        self.done = true;
        self.started.elapsed().as_secs_f64()
    }

    /// The time elapsed so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for HistogramTimer {
    fn drop(&mut self) {
        if !self.done {
            self.histogram.observe(self.started.elapsed().as_secs_f64());
        }
    }
}
