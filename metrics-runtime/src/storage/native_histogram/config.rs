//! Native histograms: Prometheus' sparse, exponential buckets (a schema, a zero bucket,
//! positive and negative buckets), kept beside the classic buckets of the same series, so
//! that one reading gives both from the same observations; how they are configured
//! ([`NativeConfig`]: bucket factor, zero threshold, bucket limit and reset interval, checked
//! when the histogram is made).
//!
//! # The schema
//!
//! In schema `s` (from -4 to 8), bucket `k` holds the values `v` with
//! `2^((k-1)/2^s) < |v| <= 2^(k/2^s)`: each power of two is split into `2^s` buckets, each
//! wider than the one before by the factor `2^(2^-s)`. [`NativeConfig::bucket_factor`] picks
//! the largest schema whose factor is at most the one asked for: 1.1, the default, gives
//! schema 3 (factor 1.09, 8 buckets per power of two). Values whose magnitude is at most the
//! zero threshold (2^-128 by default) are counted in the zero bucket. A NaN observation is
//! ignored, as a counter ignores a NaN increment: Prometheus' own clients count it, which makes
//! the sum NaN for good (and OpenMetrics then has no `_sum` nor `_count` for the series).
//!
//! # The bucket limit
//!
//! A histogram whose observations spread over more than [`NativeConfig::max_buckets`]
//! buckets (160 by default, positive and negative together) reduces its resolution, as
//! `client_golang` does: the schema drops, two neighbouring buckets (or 4, 8, ...) merge into
//! one, and no count is lost. With [`NativeConfig::min_reset_duration`] set, a histogram whose
//! resolution was reduced is also reset (every count back to 0, the schema back to the
//! configured one, a new created timestamp) once that long has passed since its creation or
//! last reset: right after the next reading of a scrape (which every
//! exposition of this crate takes), so that every observation is in a scrape
//! (`client_golang` resets at that time, or at once when over the limit that long after the
//! last reset, and loses what was observed since the last scrape). A reading for anything else
//! (a histogram's `get_sample_count` and `get_sample_sum`) never
//! resets. With several scrapers (a Prometheus HA pair, a second exporter), the first scrape
//! after the due time takes the reset, and each other scraper loses what was observed between
//! its own last scrape and that reset: its next reading starts from the reset. Without it, a
//! histogram never resets. The zero bucket never widens
//! (`client_golang` widens it only when a maximum zero threshold is configured).
//!
//! # How an observation is recorded
//!
//! The series has two halves, a hot one that observations go to and a cold one, as in
//! `client_golang`. An observation takes a ticket (one `fetch_add` on a word that also says which
//! half is hot), adds to the hot half's sum (a compare-and-swap loop), to its classic bucket
//! and to its native bucket (one `fetch_add` each): four uncontended atomic operations, no
//! lock, no allocation. A reading swaps the halves, waits until every observation holding a
//! ticket of the old hot half has landed (observers never block or panic in between, so the
//! wait is short), reads that half, which no one writes any more, and adds it into the new hot
//! one. So a reading is one consistent set of observations: its native buckets and zero bucket
//! add up to its count, and its classic `+Inf` bucket is that count.
//!
//! Native buckets live in a window of consecutive bucket numbers per sign, placed where the
//! observations are. An observation outside the windows (the first ones of a histogram, a
//! value far from the others, an infinity) is counted in a small map under a lock of its own;
//! if its bucket is new, it then (holding no ticket any more) takes a census of the buckets and
//! moves the windows where they hold the most observations, with the same swap of halves as a
//! reading; a histogram over its bucket limit reduces its schema the same way. A window is at
//! most `4 * max_buckets` bucket numbers wide (and at least 160): an outlier far from the rest
//! costs one bucket in the map, not resolution or memory, and memory stays bounded whatever is
//! observed.
//!
//! # Memory per series
//!
//! 488 bytes for the series itself (on 64-bit targets; the memory benchmark gives
//! the exact figure), plus 24 bytes per classic bucket (16 for `+Inf`), plus 16 bytes per bucket
//! number in the windows (one count per half), allocated as a window grows, in blocks of 16,
//! 32, 64, ... numbers, plus about 48 bytes per bucket outside them. A latency histogram
//! spread over 0.5 ms to 4 s (13 powers of two: 104 bucket numbers in schema 3) with the 11
//! default classic buckets takes 2,560 bytes.

use std::fmt;
use std::time::Duration;

/// The bucket factor of a native histogram that configures none: 8 buckets per power of two
/// (schema 3), as `client_golang` recommends.
pub const DEFAULT_BUCKET_FACTOR: f64 = 1.1;

/// The zero threshold of a native histogram that configures none: 2^-128, `client_golang`'s.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// The bucket limit of a native histogram that configures none.
pub const DEFAULT_MAX_BUCKETS: u32 = 160;

/// The highest bucket limit a native histogram can have.
pub const MAX_BUCKET_LIMIT: u32 = 1000;

/// The lowest schema: 2^16 per bucket.
pub const MIN_SCHEMA: i32 = -4;

/// The highest schema: 256 buckets per power of two.
pub const MAX_SCHEMA: i32 = 8;

/// How a native histogram is configured.
///
/// ```
/// use std::time::Duration;
/// use instrument_metric::native_histogram::NativeConfig;
///
/// let config = NativeConfig::new()
///     .bucket_factor(1.05)
///     .max_buckets(100)
///     .min_reset_duration(Duration::from_secs(3600));
/// assert_eq!(config.schema(), Ok(4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeConfig {
    pub(super) bucket_factor: f64,
    pub(super) zero_threshold: f64,
    pub(super) max_buckets: u32,
    pub(super) min_reset_duration: Option<Duration>,
}

impl Default for NativeConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeConfig {
    /// The defaults: bucket factor 1.1 (schema 3), zero threshold 2^-128, at most 160 buckets,
    /// never reset.
    ///
    /// ```
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// assert_eq!(NativeConfig::new().schema(), Ok(3));
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        NativeConfig {
            bucket_factor: DEFAULT_BUCKET_FACTOR,
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_buckets: DEFAULT_MAX_BUCKETS,
            min_reset_duration: None,
        }
    }

    /// The largest growth from one bucket to the next, above 1: the schema is the largest
    /// whose factor `2^(2^-schema)` is at most this (and at most 8, whose factor is 1.0027).
    ///
    /// ```
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// assert_eq!(NativeConfig::new().bucket_factor(2.0).schema(), Ok(0));
    /// assert!(NativeConfig::new().bucket_factor(1.0).schema().is_err());
    /// ```
    #[must_use]
    pub const fn bucket_factor(mut self, factor: f64) -> Self {
        self.bucket_factor = factor;
        self
    }

    /// Observations whose magnitude is at most this, finite and not negative, are counted in
    /// the zero bucket; 0 counts only zeros there.
    ///
    /// ```
    /// # use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// let config = NativeConfig::new().zero_threshold(0.001);
    /// let histogram = NativeHistogram::new(&config, &[]).unwrap();
    /// histogram.observe(0.0005);
    /// assert_eq!(histogram.read().zero_count, 1);
    /// ```
    #[must_use]
    pub const fn zero_threshold(mut self, threshold: f64) -> Self {
        self.zero_threshold = threshold;
        self
    }

    /// The most native buckets (positive and negative) before the resolution is reduced (and,
    /// with [`NativeConfig::min_reset_duration`], a reset scheduled): 1 to 1000.
    ///
    /// ```
    /// # use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new().max_buckets(4), &[]).unwrap();
    /// for value in [1.0, 2.0, 4.0, 8.0, 16.0, 32.0] {
    ///     histogram.observe(value);
    /// }
    /// let reading = histogram.read();
    /// assert!(reading.schema < 3);
    /// assert!(reading.buckets(false).filter(|(_, count)| *count > 0).count() <= 4);
    /// assert_eq!(reading.count, 6);
    /// ```
    #[must_use]
    pub const fn max_buckets(mut self, limit: u32) -> Self {
        self.max_buckets = limit;
        self
    }

    /// Resets a histogram whose resolution was reduced once `duration` has passed since its
    /// creation or last reset, right after the next reading of a scrape
    /// (a scrape's reading, which has every observation made until then), to get the
    /// configured resolution back; reads from user code never reset. With several scrapers,
    /// the first scrape after the due time takes the reset and the others lose what was
    /// observed since their own last scrape. A zero duration never resets (the default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// let config = NativeConfig::new().min_reset_duration(Duration::from_secs(600));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub const fn min_reset_duration(mut self, duration: Duration) -> Self {
        self.min_reset_duration = if duration.is_zero() {
            None
        } else {
            Some(duration)
        };
        self
    }

    /// The schema this configuration starts with, or why it is not valid.
    ///
    /// # Errors
    ///
    /// A bucket factor that is not above 1.
    ///
    /// ```
    /// use instrument_metric::native_histogram::NativeConfig;
    ///
    /// assert_eq!(NativeConfig::new().bucket_factor(1.1).schema(), Ok(3));
    /// assert_eq!(NativeConfig::new().bucket_factor(1e9).schema(), Ok(-4));
    /// ```
    pub fn schema(&self) -> Result<i32, NativeConfigError> {
        let factor = self.bucket_factor;
        if factor.is_nan() || factor <= 1.0 {
            return Err(NativeConfigError::BucketFactor(factor));
        }
        let floor = factor.log2().log2().floor();
        Ok(if floor <= -f64::from(MAX_SCHEMA) {
            MAX_SCHEMA
        } else if floor >= -f64::from(MIN_SCHEMA) {
            MIN_SCHEMA
        } else {
            // -8 < floor < 4: a small whole number.
            #[allow(clippy::cast_possible_truncation)]
            let schema = -(floor as i32);
            schema
        })
    }

    pub(super) fn validate(&self) -> Result<i32, NativeConfigError> {
        let schema = self.schema()?;
        if !(self.zero_threshold.is_finite() && self.zero_threshold >= 0.0) {
            return Err(NativeConfigError::ZeroThreshold(self.zero_threshold));
        }
        if !(1..=MAX_BUCKET_LIMIT).contains(&self.max_buckets) {
            return Err(NativeConfigError::MaxBuckets(self.max_buckets));
        }
        Ok(schema)
    }
}

/// Why a native histogram cannot be built as configured.
///
/// ```
/// # use instrument_metric::__private::native_histogram::NativeHistogram;
/// use instrument_metric::native_histogram::{NativeConfig, NativeConfigError};
///
/// let error = NativeHistogram::new(&NativeConfig::new().max_buckets(0), &[]).unwrap_err();
/// assert_eq!(error, NativeConfigError::MaxBuckets(0));
/// assert!(error.to_string().contains("between 1 and 1000"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NativeConfigError {
    /// The bucket factor is not above 1.
    BucketFactor(f64),
    /// The zero threshold is negative, infinite or NaN.
    ZeroThreshold(f64),
    /// The bucket limit is 0 or above [`MAX_BUCKET_LIMIT`].
    MaxBuckets(u32),
    /// The classic bucket bounds are not finite and strictly increasing.
    ClassicBounds,
}

impl fmt::Display for NativeConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NativeConfigError::BucketFactor(factor) => write!(
                f,
                "the bucket factor of a native histogram must be above 1, got {factor}; \
                 1.1 (the default) gives 8 buckets per power of two"
            ),
            NativeConfigError::ZeroThreshold(threshold) => write!(
                f,
                "the zero threshold of a native histogram must be finite and at least 0, \
                 got {threshold}"
            ),
            NativeConfigError::MaxBuckets(limit) => write!(
                f,
                "the bucket limit of a native histogram must be between 1 and \
                 {MAX_BUCKET_LIMIT}, got {limit}; {DEFAULT_MAX_BUCKETS} is the default"
            ),
            NativeConfigError::ClassicBounds => f.write_str(
                "the classic buckets of a histogram must be finite and strictly increasing",
            ),
        }
    }
}

impl std::error::Error for NativeConfigError {}
