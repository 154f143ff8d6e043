//! How a native histogram is configured: bucket factor (the schema), zero threshold, bucket
//! limit and reset interval, checked when the histogram is made.

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
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
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
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
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
    /// ([`NativeHistogram::scrape`](super::NativeHistogram::scrape), which has every observation made until then), to get the
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
/// use instrument_metric::native_histogram::{NativeConfig, NativeConfigError, NativeHistogram};
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
