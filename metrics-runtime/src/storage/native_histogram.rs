//! The cells of one native histogram series: Prometheus' sparse, exponential buckets (a
//! schema, a zero bucket, positive and negative buckets), with the classic buckets of the same
//! series beside them, so that one reading gives both from the same observations.
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
//! last reset: right after the next reading of a scrape ([`NativeHistogram::scrape`], which
//! every exposition of this crate takes), so that every observation is in a scrape
//! (`client_golang` resets at that time, or at once when over the limit that long after the
//! last reset, and loses what was observed since the last scrape). A reading for anything else
//! ([`NativeHistogram::read`], a histogram's `get_sample_count` and `get_sample_sum`) never
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
//! 488 bytes for the series itself (on 64-bit targets; [`NativeHistogram::size`] gives the
//! exact figure), plus 24 bytes per classic bucket (16 for `+Inf`), plus 16 bytes per bucket
//! number in the windows (one count per half), allocated as a window grows, in blocks of 16,
//! 32, 64, ... numbers, plus about 48 bytes per bucket outside them. A latency histogram
//! spread over 0.5 ms to 4 s (13 powers of two: 104 bucket numbers in schema 3) with the 11
//! default classic buckets takes 2,560 bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

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

/// Bucket numbers in the first block of a window; block `k` holds `FIRST_BLOCK << k`.
const FIRST_BLOCK: u32 = 16;
/// Blocks of a window.
const BLOCKS: usize = 8;
/// The widest window: every block.
const WINDOW_CAPACITY: u32 = FIRST_BLOCK * ((1 << BLOCKS) - 1);
/// The narrowest limit on a window's width: every `f64` fits in 133 buckets in schema -4.
const MIN_WINDOW_LIMIT: u32 = 160;

/// The hot half's index in the ticket word.
const HOT_BIT: u64 = 1 << 63;
/// The observations started, in the ticket word.
const STARTED: u64 = HOT_BIT - 1;

const MANTISSA_BITS: u32 = 52;
const MANTISSA: u64 = (1 << MANTISSA_BITS) - 1;

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
    bucket_factor: f64,
    zero_threshold: f64,
    max_buckets: u32,
    min_reset_duration: Option<Duration>,
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
    /// ([`NativeHistogram::scrape`], which has every observation made until then), to get the
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

    fn validate(&self) -> Result<i32, NativeConfigError> {
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

/// A run of consecutive native buckets: `offset` is the gap from the end of the previous span
/// (for the first span, the number of its first bucket), `length` the buckets in it.
///
/// ```
/// use instrument_metric::native_histogram::Span;
///
/// let span = Span { offset: -3, length: 2 };
/// assert_eq!(span.length, 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The gap from the previous span, or the first bucket's number.
    pub offset: i32,
    /// The buckets in the span.
    pub length: u32,
}

/// One reading of a native histogram series, in the form the protobuf exposition takes.
///
/// ```
/// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram, Span};
///
/// let histogram = NativeHistogram::new(&NativeConfig::new(), &[0.5, 1.0]).unwrap();
/// for value in [1.0, 1.0, 2.0, 0.0, -1.0] {
///     histogram.observe(value);
/// }
/// let reading = histogram.read();
/// assert_eq!((reading.schema, reading.count, reading.sum, reading.zero_count), (3, 5, 3.0, 1));
/// // 1.0 is the top of bucket 0, 2.0 of bucket 8: two spans, counts 2 then 1.
/// let spans = [Span { offset: 0, length: 1 }, Span { offset: 7, length: 1 }];
/// assert_eq!(reading.positive_spans, spans);
/// assert_eq!(reading.positive_deltas, [2, -1]);
/// assert_eq!(reading.negative_spans, [Span { offset: 0, length: 1 }]);
/// assert_eq!(reading.classic, [2, 4, 5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NativeReading {
    /// The schema of the buckets.
    pub schema: i32,
    /// The zero bucket's threshold.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Positive buckets: spans of consecutive bucket numbers.
    pub positive_spans: Vec<Span>,
    /// The count of each positive bucket in the spans, as a difference from the previous one
    /// (the first from 0).
    pub positive_deltas: Vec<i64>,
    /// Negative buckets (numbered by magnitude): spans.
    pub negative_spans: Vec<Span>,
    /// Negative buckets: count differences.
    pub negative_deltas: Vec<i64>,
    /// The classic buckets' cumulative counts, `+Inf` last (the count); empty without classic
    /// buckets.
    pub classic: Vec<u64>,
    /// When the series was created or last reset.
    pub created: SystemTime,
}

impl NativeReading {
    /// The buckets of one sign (`negative`), as (bucket number, count), in order, the empty
    /// buckets inside spans included.
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new(), &[]).unwrap();
    /// histogram.observe(1.0);
    /// histogram.observe(1.2);
    /// let buckets: Vec<(i32, u64)> = histogram.read().buckets(false).collect();
    /// assert_eq!(buckets, [(0, 1), (1, 0), (2, 0), (3, 1)]);
    /// ```
    pub fn buckets(&self, negative: bool) -> impl Iterator<Item = (i32, u64)> + '_ {
        let (spans, deltas) = if negative {
            (&self.negative_spans, &self.negative_deltas)
        } else {
            (&self.positive_spans, &self.positive_deltas)
        };
        let mut keys = Vec::with_capacity(deltas.len());
        // The first offset is a bucket number, the others count from the end of the span
        // before.
        let mut key = 0i32;
        for span in spans {
            key += span.offset;
            for _ in 0..span.length {
                keys.push(key);
                key += 1;
            }
        }
        let mut count = 0i64;
        keys.into_iter().zip(deltas).map(move |(key, delta)| {
            count += delta;
            (key, u64::try_from(count).unwrap_or(0))
        })
    }
}

/// The lower and upper bound of native bucket `key` in `schema`: it holds the magnitudes
/// above the first and at most the second.
///
/// ```
/// use instrument_metric::native_histogram::bucket_bounds;
///
/// assert_eq!(bucket_bounds(0, 1), (1.0, 2.0));
/// assert_eq!(bucket_bounds(3, 8), (2f64.powf(7.0 / 8.0), 2.0));
/// ```
#[must_use]
pub fn bucket_bounds(schema: i32, key: i32) -> (f64, f64) {
    (upper_bound(schema, key - 1), upper_bound(schema, key))
}

/// `2^(key / 2^schema)`, with the bucket of the largest finite values bounded by `f64::MAX`
/// (the next is the bucket of infinities).
fn upper_bound(schema: i32, key: i32) -> f64 {
    let schema = schema.clamp(MIN_SCHEMA, MAX_SCHEMA);
    if schema <= 0 {
        let exponent = key.saturating_mul(1 << -schema);
        return match exponent {
            1024 => f64::MAX,
            e => power_of_two(e),
        };
    }
    let per_octave = 1i32 << schema;
    let exponent = key.div_euclid(per_octave);
    let step = key.rem_euclid(per_octave);
    if exponent == 1024 && step == 0 {
        return f64::MAX;
    }
    if exponent >= 1024 {
        return f64::INFINITY;
    }
    let table = &TABLES[table_index(schema)];
    let fraction = f64::from_bits(
        1023u64 << MANTISSA_BITS | table.thresholds[usize::try_from(step).unwrap_or(0)],
    );
    // Exact, unless the bound is subnormal.
    fraction * power_of_two(exponent)
}

/// `2^exponent`, exactly: 0 below the smallest subnormal, infinity above `f64::MAX`.
fn power_of_two(exponent: i32) -> f64 {
    match exponent {
        -1022..=1023 => {
            f64::from_bits(u64::from((exponent + 1023).unsigned_abs()) << MANTISSA_BITS)
        }
        -1074..=-1023 => f64::from_bits(1u64 << (exponent + 1074)),
        ..=-1075 => 0.0,
        _ => f64::INFINITY,
    }
}

/// For schema `s` (1 to 8): the mantissas of the bucket boundaries within a power of two.
struct SchemaTable {
    /// `2^s + 1` mantissa bits: of `2^(j / 2^s)` for `j` in `0..2^s`, then `u64::MAX`.
    thresholds: Box<[u64]>,
    /// For each of the `2^(s+1)` cells the top `s + 1` mantissa bits make, the thresholds
    /// below the cell's start. A cell is narrower than the narrowest gap between thresholds,
    /// so it holds at most one: one comparison finishes the lookup.
    cells: Box<[u16]>,
}

static TABLES: LazyLock<Vec<SchemaTable>> = LazyLock::new(|| {
    (1..=MAX_SCHEMA)
        .map(|schema| {
            let per_octave = 1u32 << schema;
            let thresholds: Box<[u64]> = (0..per_octave)
                .map(|j| (f64::from(j) / f64::from(per_octave)).exp2().to_bits() & MANTISSA)
                .chain(std::iter::once(u64::MAX))
                .collect();
            let cell_bits = MANTISSA_BITS - schema.unsigned_abs() - 1;
            let cells = (0..u64::from(per_octave) * 2)
                .map(|cell| {
                    let below = thresholds[..per_octave as usize]
                        .iter()
                        .filter(|threshold| **threshold < cell << cell_bits)
                        .count();
                    u16::try_from(below).unwrap_or(u16::MAX)
                })
                .collect();
            SchemaTable { thresholds, cells }
        })
        .collect()
});

#[inline]
fn table_index(schema: i32) -> usize {
    usize::try_from(schema - 1).unwrap_or(0)
}

/// The native bucket that a finite or infinite magnitude above 0 falls in, in `schema`.
#[inline]
fn bucket_key(magnitude: f64, schema: i32) -> i32 {
    if magnitude == f64::INFINITY {
        return bucket_key(f64::MAX, schema) + 1;
    }
    let bits = magnitude.to_bits();
    let biased = i32::try_from(bits >> MANTISSA_BITS).unwrap_or(0);
    let (exponent, mantissa) = if biased == 0 {
        // Subnormal: normalise, its highest set bit becomes the implicit 1.
        let top = bits.ilog2();
        let exponent = i32::try_from(top).unwrap_or(0) - 1074;
        (exponent, (bits << (MANTISSA_BITS - top)) & MANTISSA)
    } else {
        (biased - 1023, bits & MANTISSA)
    };
    if schema > 0 {
        let table = &TABLES[table_index(schema)];
        let cell =
            usize::try_from(mantissa >> (MANTISSA_BITS - schema.unsigned_abs() - 1)).unwrap_or(0);
        let below = table.cells[cell];
        let step = below + u16::from(table.thresholds[usize::from(below)] < mantissa);
        exponent * (1 << schema) + i32::from(step)
    } else {
        // The schema-0 bucket, then `2^-schema` of them per bucket, rounding up.
        let key = exponent + i32::from(mantissa != 0);
        -((-key) >> -schema)
    }
}

/// Bucket `key` of a schema `reduction` steps finer, in the coarser schema:
/// `ceil(key / 2^reduction)`.
#[inline]
fn coarser(key: i32, reduction: i32) -> i32 {
    -((-key) >> reduction)
}

/// The classic bucket of `value`: the first bound at or above it, else `+Inf` (NaN too).
#[inline]
fn classic_bucket(bounds: &[f64], value: f64) -> usize {
    bounds
        .iter()
        .position(|bound| value <= *bound)
        .unwrap_or(bounds.len())
}

#[inline]
fn add_f64(slot: &AtomicU64, value: f64) {
    let mut current = slot.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + value).to_bits();
        match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds whole data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The buckets of one sign: a window of consecutive bucket numbers per half, in blocks
/// allocated as the window grows and shared by the halves (slot `2 * n + half` of a block).
#[derive(Debug, Default)]
struct Side {
    /// The first bucket number of each half's window.
    low: [AtomicI32; 2],
    /// The width of each half's window.
    width: [AtomicU32; 2],
    blocks: [OnceLock<Box<[AtomicU64]>>; BLOCKS],
}

impl Side {
    /// Block and place in it of the `offset`-th bucket of a window.
    #[inline]
    fn place(offset: u32) -> (usize, usize) {
        let shifted = offset + FIRST_BLOCK;
        let block = shifted.ilog2() - FIRST_BLOCK.ilog2();
        let place = shifted - (FIRST_BLOCK << block);
        (block as usize, place as usize)
    }

    #[inline]
    fn slot(&self, offset: u32, half: usize) -> Option<&AtomicU64> {
        let (block, place) = Self::place(offset);
        self.blocks.get(block)?.get()?.get(2 * place + half)
    }

    /// Allocates the blocks a window of `width` needs.
    fn reserve(&self, width: u32) {
        if width == 0 {
            return;
        }
        let (last, _) = Self::place(width.min(WINDOW_CAPACITY) - 1);
        for (block, cell) in self.blocks.iter().enumerate().take(last + 1) {
            cell.get_or_init(|| {
                (0..2 * (FIRST_BLOCK << block))
                    .map(|_| AtomicU64::new(0))
                    .collect()
            });
        }
    }

    fn set_window(&self, half: usize, window: Window) {
        self.reserve(window.width);
        self.low[half].store(window.low, Ordering::Relaxed);
        self.width[half].store(window.width, Ordering::Relaxed);
    }

    /// Calls `each(bucket number, slot)` for every slot of `half`'s window.
    fn for_each(&self, half: usize, mut each: impl FnMut(i32, &AtomicU64)) {
        self.for_each_pair(half, |key, pair| each(key, &pair[half]));
    }

    /// Calls `each(bucket number, [slot of half 0, slot of half 1])` for every bucket number
    /// of `half`'s window, block by block.
    fn for_each_pair(&self, half: usize, mut each: impl FnMut(i32, &[AtomicU64])) {
        let mut key = self.low[half].load(Ordering::Relaxed);
        let mut left = self.width[half].load(Ordering::Relaxed) as usize;
        for block in self.blocks.iter().map_while(OnceLock::get) {
            for pair in block.chunks_exact(2).take(left) {
                each(key, pair);
                key += 1;
            }
            left = left.saturating_sub(block.len() / 2);
            if left == 0 {
                break;
            }
        }
    }

    fn bytes(&self) -> usize {
        self.blocks
            .iter()
            .filter_map(OnceLock::get)
            .map(|block| block.len() * 8)
            .sum()
    }
}

/// A window: the bucket numbers `low..low + width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Window {
    low: i32,
    width: u32,
}

impl Window {
    fn holds(self, key: i32) -> bool {
        u32::try_from(key - self.low).is_ok_and(|offset| offset < self.width)
    }
}

/// What one half holds besides the window slots and classic counts.
#[derive(Debug, Default)]
struct Half {
    schema: AtomicI32,
    /// The sum's bits.
    sum: AtomicU64,
    zero: AtomicU64,
    /// Buckets outside this half's windows: (negative, bucket number) to count.
    outside: Mutex<BTreeMap<(bool, i32), u64>>,
}

/// What only a reading, a window move or a reset changes, under one lock.
#[derive(Debug)]
struct Control {
    created: SystemTime,
    last_reset: Instant,
    /// When a histogram whose resolution was reduced is reset.
    reset_due: Option<Instant>,
}

/// How a native bucket was counted.
enum Counted {
    /// In a bucket that had observations.
    Known,
    /// In a bucket of the window that had none.
    NewBucket,
    /// Outside the windows, in a bucket that had none: the windows may have to move.
    NewOutside,
}

/// The cells of one native histogram series, with its classic buckets. See the
/// [module documentation](self).
///
/// ```
/// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
///
/// let histogram = NativeHistogram::new(&NativeConfig::new(), &[0.1, 1.0]).unwrap();
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| (0..1000).for_each(|i| histogram.observe(f64::from(i) / 1000.0)));
///     }
/// });
/// let reading = histogram.read();
/// assert_eq!(reading.count, 4000);
/// assert_eq!(reading.classic.last(), Some(&4000));
/// let native: u64 = reading.buckets(false).map(|(_, count)| count).sum();
/// assert_eq!(native + reading.zero_count, 4000);
/// ```
#[derive(Debug)]
pub struct NativeHistogram {
    /// Bit 63: the hot half. The others: observations started since the last reset.
    tickets: AtomicU64,
    halves: [Half; 2],
    positive: Side,
    negative: OnceLock<Box<Side>>,
    /// Classic upper bounds; `+Inf` follows.
    bounds: Box<[f64]>,
    /// Classic counts, slot `2 * bucket + half`.
    classic: Box<[AtomicU64]>,
    zero_threshold: f64,
    max_buckets: u32,
    max_width: u32,
    initial_schema: i32,
    min_reset: Option<Duration>,
    /// Native buckets with observations, as observers count them: at least the true number
    /// (a bucket can be counted twice around a reading); a census under `control` sets it
    /// right.
    populated: AtomicU32,
    control: Mutex<Control>,
}

impl NativeHistogram {
    /// A series with `config` and the classic buckets `bounds` (upper bounds, finite and
    /// increasing; `+Inf` follows them; none for a native histogram alone).
    ///
    /// # Errors
    ///
    /// A configuration that [`NativeConfig::schema`] refuses, a zero threshold or bucket limit
    /// out of range, bounds that are not finite and strictly increasing.
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// assert!(NativeHistogram::new(&NativeConfig::new(), &[0.1, 1.0]).is_ok());
    /// assert!(NativeHistogram::new(&NativeConfig::new(), &[1.0, 0.1]).is_err());
    /// ```
    pub fn new(config: &NativeConfig, bounds: &[f64]) -> Result<Self, NativeConfigError> {
        let schema = config.validate()?;
        if bounds.iter().any(|bound| !bound.is_finite()) || bounds.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(NativeConfigError::ClassicBounds);
        }
        let halves = [Half::default(), Half::default()];
        for half in &halves {
            half.schema.store(schema, Ordering::Relaxed);
        }
        Ok(NativeHistogram {
            tickets: AtomicU64::new(0),
            halves,
            positive: Side::default(),
            negative: OnceLock::new(),
            bounds: bounds.into(),
            classic: (0..2 * (bounds.len() + 1))
                .map(|_| AtomicU64::new(0))
                .collect(),
            zero_threshold: config.zero_threshold,
            max_buckets: config.max_buckets,
            max_width: (config.max_buckets * 4).clamp(MIN_WINDOW_LIMIT, WINDOW_CAPACITY),
            initial_schema: schema,
            min_reset: config.min_reset_duration,
            populated: AtomicU32::new(0),
            control: Mutex::new(Control {
                created: SystemTime::now(),
                last_reset: Instant::now(),
                reset_due: None,
            }),
        })
    }

    /// Records one observation; a NaN is ignored (see the [module documentation](self)).
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new(), &[]).unwrap();
    /// histogram.observe(0.25);
    /// histogram.observe(f64::NAN);
    /// let reading = histogram.read();
    /// assert_eq!((reading.count, reading.sum), (1, 0.25));
    /// ```
    #[inline]
    pub fn observe(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::Acquire);
        let hot = usize::from(ticket & HOT_BIT != 0);
        let half = &self.halves[hot];
        add_f64(&half.sum, value);
        if !self.bounds.is_empty()
            && let Some(slot) = self
                .classic
                .get(2 * classic_bucket(&self.bounds, value) + hot)
        {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        // The native count last, with `Release`: once a reading sees it, it sees the sum and
        // the classic count too.
        match self.count_native(hot, half, value) {
            Counted::Known => {}
            Counted::NewBucket => {
                let populated = self.populated.fetch_add(1, Ordering::Relaxed) + 1;
                if populated > self.max_buckets {
                    self.rearrange();
                }
            }
            Counted::NewOutside => self.rearrange(),
        }
    }

    #[inline]
    fn count_native(&self, hot: usize, half: &Half, value: f64) -> Counted {
        let magnitude = value.abs();
        if magnitude <= self.zero_threshold {
            half.zero.fetch_add(1, Ordering::Release);
            return Counted::Known;
        }
        let negative = value < 0.0;
        let key = bucket_key(magnitude, half.schema.load(Ordering::Relaxed));
        let side = if negative {
            self.negative.get().map(AsRef::as_ref)
        } else {
            Some(&self.positive)
        };
        if let Some(side) = side
            && let Ok(offset) = u32::try_from(key - side.low[hot].load(Ordering::Relaxed))
            && offset < side.width[hot].load(Ordering::Relaxed)
            && let Some(slot) = side.slot(offset, hot)
        {
            return if slot.fetch_add(1, Ordering::Release) == 0 {
                Counted::NewBucket
            } else {
                Counted::Known
            };
        }
        let mut outside = lock(&half.outside);
        let count = outside.entry((negative, key)).or_insert(0);
        *count += 1;
        if *count == 1 {
            Counted::NewOutside
        } else {
            Counted::Known
        }
    }

    fn side(&self, negative: bool) -> Option<&Side> {
        if negative {
            self.negative.get().map(AsRef::as_ref)
        } else {
            Some(&self.positive)
        }
    }

    /// The hot half; stable while `control` is held.
    fn hot(&self) -> usize {
        usize::from(self.tickets.load(Ordering::Acquire) & HOT_BIT != 0)
    }

    /// Calls `each(negative, bucket number, slot)` for every window slot of `half`.
    fn for_each_slot(&self, half: usize, mut each: impl FnMut(bool, i32, &AtomicU64)) {
        for negative in [false, true] {
            if let Some(side) = self.side(negative) {
                side.for_each(half, |key, slot| each(negative, key, slot));
            }
        }
    }

    /// Observations that have landed in `half`.
    fn landed(&self, half: usize) -> u64 {
        let own = &self.halves[half];
        let mut total = own.zero.load(Ordering::Acquire);
        self.for_each_slot(half, |_, _, slot| total += slot.load(Ordering::Acquire));
        total + lock(&own.outside).values().sum::<u64>()
    }

    /// Waits until the `started` observations of `half`, which is no longer hot, have landed.
    fn settle(&self, half: usize, started: u64) {
        let mut spins = 0u32;
        while self.landed(half) != started {
            // An observer between its ticket and its native count: a few instructions,
            // unless its thread was preempted there.
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Sets `half`'s schema and windows.
    fn configure(&self, half: usize, schema: i32, positive: Window, negative: Window) {
        self.halves[half].schema.store(schema, Ordering::Relaxed);
        self.positive.set_window(half, positive);
        if negative.width > 0 || self.negative.get().is_some() {
            self.negative
                .get_or_init(Box::default)
                .set_window(half, negative);
        }
    }

    /// Counts `count` observations in bucket `key` of `half`, in its window or outside it.
    fn add_native(&self, half: usize, negative: bool, key: i32, count: u64) {
        if let Some(side) = self.side(negative)
            && let Ok(offset) = u32::try_from(key - side.low[half].load(Ordering::Relaxed))
            && offset < side.width[half].load(Ordering::Relaxed)
            && let Some(slot) = side.slot(offset, half)
        {
            slot.fetch_add(count, Ordering::Relaxed);
            return;
        }
        *lock(&self.halves[half].outside)
            .entry((negative, key))
            .or_insert(0) += count;
    }

    /// Moves everything `from` holds into `to`, whose schema may be coarser, and leaves
    /// `from` empty. `from` must have settled.
    fn drain(&self, from: usize, to: usize) {
        let (source, target) = (&self.halves[from], &self.halves[to]);
        let reduction =
            source.schema.load(Ordering::Relaxed) - target.schema.load(Ordering::Relaxed);
        let mut moved = Vec::new();
        self.for_each_slot(from, |negative, key, slot| {
            let count = slot.swap(0, Ordering::Relaxed);
            if count > 0 {
                moved.push((negative, key, count));
            }
        });
        moved.extend(
            std::mem::take(&mut *lock(&source.outside))
                .into_iter()
                .map(|((negative, key), count)| (negative, key, count)),
        );
        for (negative, key, count) in moved {
            self.add_native(to, negative, coarser(key, reduction), count);
        }
        target
            .zero
            .fetch_add(source.zero.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        add_f64(
            &target.sum,
            f64::from_bits(source.sum.swap(0, Ordering::Relaxed)),
        );
        for bucket in 0..=self.bounds.len() {
            let count = self.classic[2 * bucket + from].swap(0, Ordering::Relaxed);
            self.classic[2 * bucket + to].fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Swaps the halves: the cold one becomes hot. Returns the old hot half and the
    /// observations it was given, once they have all landed.
    fn swap_halves(&self) -> (usize, u64) {
        let ticket = self.tickets.fetch_add(HOT_BIT, Ordering::AcqRel);
        let old = usize::from(ticket & HOT_BIT != 0);
        let started = ticket & STARTED;
        self.settle(old, started);
        (old, started)
    }

    /// Takes a census of the hot half's buckets; reduces the schema if they are over the
    /// limit (and schedules a reset, if configured), and moves the windows where they hold
    /// more observations. Runs after an observation in a new bucket outside the
    /// windows, or one that may have passed the limit, once that observation has landed.
    #[cold]
    #[inline(never)]
    fn rearrange(&self) {
        let mut control = lock(&self.control);
        let hot = self.hot();
        let schema = self.halves[hot].schema.load(Ordering::Relaxed);
        let mut census = Vec::new();
        self.for_each_slot(hot, |negative, key, slot| {
            let count = slot.load(Ordering::Relaxed);
            if count > 0 {
                census.push((negative, key, count));
            }
        });
        let in_windows = census.len();
        census.extend(
            lock(&self.halves[hot].outside)
                .iter()
                .map(|(&(negative, key), &count)| (negative, key, count)),
        );
        let outside: Vec<(bool, i32)> = census[in_windows..]
            .iter()
            .map(|(negative, key, _)| (*negative, *key))
            .collect();
        let plan = self.plan(census, schema);
        self.populated.store(plan.populated, Ordering::Relaxed);
        if plan.schema < schema
            && let Some(min_reset) = self.min_reset
            && control.reset_due.is_none()
        {
            // Due at once if the last reset is that long ago: at the next reading.
            control.reset_due = Some(control.last_reset + min_reset);
        }
        let window = |negative| {
            if negative {
                plan.negative
            } else {
                plan.positive
            }
        };
        if plan.schema == schema
            && !outside
                .iter()
                .any(|(negative, key)| window(*negative).holds(*key))
        {
            // The windows hold the same buckets as before; those outside stay outside (an
            // outlier, an infinity), or the limit check was a false alarm.
            return;
        }
        let cold = 1 - hot;
        self.configure(cold, plan.schema, plan.positive, plan.negative);
        let (old, _) = self.swap_halves();
        self.drain(old, cold);
        self.configure(old, plan.schema, plan.positive, plan.negative);
    }

    /// The schema and windows for the buckets of a census (negative, bucket number, count)
    /// in `schema`: the finest schema where they are at most the limit, and for each sign the
    /// window that holds the most observations.
    fn plan(&self, mut census: Vec<(bool, i32, u64)>, schema: i32) -> Plan {
        census.sort_unstable();
        let mut target = schema;
        loop {
            let reduction = schema - target;
            let mut merged: Vec<(bool, i32, u64)> = Vec::with_capacity(census.len());
            for &(negative, key, count) in &census {
                let key = coarser(key, reduction);
                match merged.last_mut() {
                    Some(last) if (last.0, last.1) == (negative, key) => last.2 += count,
                    _ => merged.push((negative, key, count)),
                }
            }
            let populated = u32::try_from(merged.len()).unwrap_or(u32::MAX);
            if populated <= self.max_buckets || target == MIN_SCHEMA {
                let split = merged.partition_point(|(negative, _, _)| !negative);
                let (positive, negative) = merged.split_at(split);
                return Plan {
                    schema: target,
                    populated,
                    positive: self.densest_window(positive),
                    negative: self.densest_window(negative),
                };
            }
            target -= 1;
        }
    }

    /// The window, at most the widest, holding the most observations of `buckets` (sorted
    /// bucket numbers with counts), with room on both sides: at least 4 bucket numbers, and
    /// the rest of the last block it needs.
    fn densest_window(&self, buckets: &[(bool, i32, u64)]) -> Window {
        let mut best = None;
        let mut best_count = 0;
        let mut held = 0;
        let mut end = 0;
        for (start, &(_, first, _)) in buckets.iter().enumerate() {
            while let Some(&(_, key, count)) = buckets.get(end)
                && (key - first).unsigned_abs() < self.max_width
            {
                held += count;
                end += 1;
            }
            if best.is_none() || held > best_count {
                best = Some((first, buckets[end - 1].1));
                best_count = held;
            }
            held -= buckets[start].2;
        }
        let Some((first, last)) = best else {
            return Window::default();
        };
        let needed = (last - first).unsigned_abs() + 1;
        let (block, _) = Side::place((needed + 8).min(WINDOW_CAPACITY) - 1);
        let blocks_end = FIRST_BLOCK * ((2 << block) - 1);
        let width = blocks_end.min(self.max_width).max(needed);
        Window {
            low: first - i32::try_from((width - needed) / 2).unwrap_or(0),
            width,
        }
    }

    /// Reads the series: one consistent set of observations (see the
    /// [module documentation](self)). Never resets the histogram: an exposition reads it with
    /// [`NativeHistogram::scrape`].
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new(), &[1.0]).unwrap();
    /// histogram.observe(0.5);
    /// histogram.observe(2.0);
    /// let reading = histogram.read();
    /// assert_eq!(reading.count, 2);
    /// assert_eq!(reading.sum, 2.5);
    /// assert_eq!(reading.classic, [1, 2]);
    /// ```
    #[must_use]
    pub fn read(&self) -> NativeReading {
        self.read_at(Instant::now(), false)
    }

    /// Reads the series for a scrape, as [`NativeHistogram::read`] does, then resets it if a
    /// reset is due ([`NativeConfig::min_reset_duration`]): the reading has every observation
    /// made until then, the next one starts from the reset. Call it once per exposition, and
    /// [`read`](NativeHistogram::read) for anything else, which never resets.
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new(), &[1.0]).unwrap();
    /// histogram.observe(0.5);
    /// let scraped = histogram.scrape(); // written into an exposition
    /// assert_eq!(scraped.count, 1);
    /// assert_eq!(histogram.read().count, 1);
    /// ```
    #[must_use]
    pub fn scrape(&self) -> NativeReading {
        self.scrape_at(Instant::now())
    }

    fn scrape_at(&self, now: Instant) -> NativeReading {
        self.read_at(now, true)
    }

    /// A reading at `now`; for a scrape (`scrape`), followed by the reset if one is due.
    fn read_at(&self, now: Instant, scrape: bool) -> NativeReading {
        let mut control = lock(&self.control);
        let reset = scrape && control.reset_due.is_some_and(|due| now >= due);
        let new = 1 - self.hot();
        let (old, count) = if reset {
            // The new period starts with this swap, in the configured schema, its tickets
            // counted from 0; everything before it is in this reading.
            self.configure(
                new,
                self.initial_schema,
                Window::default(),
                Window::default(),
            );
            let ticket = self
                .tickets
                .swap(u64::from(new == 1) << 63, Ordering::AcqRel);
            let old = 1 - new;
            self.settle(old, ticket & STARTED);
            (old, ticket & STARTED)
        } else {
            self.swap_halves()
        };
        // Without a reset, the halves' schemas and windows are the same: read the old hot
        // half and move it into the new one in one pass. With one, empty it.
        let into = (!reset).then_some(new);
        let reading = self.take(old, count, into, control.created);
        if reset {
            self.configure(
                old,
                self.initial_schema,
                Window::default(),
                Window::default(),
            );
            self.populated.store(0, Ordering::Relaxed);
            control.created = SystemTime::now();
            control.last_reset = now;
            control.reset_due = None;
        }
        reading
    }

    /// Reads the settled half `old`, which holds `count` observations, leaving it empty, and
    /// moves its counts `into` the other half if given.
    fn take(
        &self,
        old: usize,
        count: u64,
        into: Option<usize>,
        created: SystemTime,
    ) -> NativeReading {
        let own = &self.halves[old];
        let hot = into.map(|new| &self.halves[new]);
        let mut positive = Vec::new();
        let mut negative = Vec::new();
        for is_negative in [false, true] {
            let buckets = if is_negative {
                &mut negative
            } else {
                &mut positive
            };
            if let Some(side) = self.side(is_negative) {
                debug_assert!(into.is_none_or(|new| {
                    side.low[old].load(Ordering::Relaxed) == side.low[new].load(Ordering::Relaxed)
                        && side.width[old].load(Ordering::Relaxed)
                            == side.width[new].load(Ordering::Relaxed)
                }));
                side.for_each_pair(old, |key, pair| {
                    let count = pair[old].load(Ordering::Relaxed);
                    if count > 0 {
                        pair[old].store(0, Ordering::Relaxed);
                        if let Some(new) = into {
                            pair[new].fetch_add(count, Ordering::Relaxed);
                        }
                        buckets.push((key, count));
                    }
                });
            }
        }
        let outside = std::mem::take(&mut *lock(&own.outside));
        let mut moved = hot
            .filter(|_| !outside.is_empty())
            .map(|hot| lock(&hot.outside));
        for ((is_negative, key), count) in outside {
            if let Some(moved) = &mut moved {
                *moved.entry((is_negative, key)).or_insert(0) += count;
            }
            if is_negative {
                &mut negative
            } else {
                &mut positive
            }
            .push((key, count));
        }
        drop(moved);
        let mut running = 0;
        let classic = if self.bounds.is_empty() {
            Vec::new()
        } else {
            self.classic
                .chunks_exact(2)
                .map(|pair| {
                    let count = pair[old].swap(0, Ordering::Relaxed);
                    if let Some(new) = into {
                        pair[new].fetch_add(count, Ordering::Relaxed);
                    }
                    running += count;
                    running
                })
                .collect()
        };
        let zero_count = own.zero.swap(0, Ordering::Relaxed);
        let sum = f64::from_bits(own.sum.swap(0, Ordering::Relaxed));
        if let Some(hot) = hot {
            hot.zero.fetch_add(zero_count, Ordering::Relaxed);
            add_f64(&hot.sum, sum);
        }
        let (positive_spans, positive_deltas) = spans_and_deltas(positive);
        let (negative_spans, negative_deltas) = spans_and_deltas(negative);
        let mut reading = NativeReading {
            schema: own.schema.load(Ordering::Relaxed),
            zero_threshold: self.zero_threshold,
            zero_count,
            count,
            sum,
            positive_spans,
            positive_deltas,
            negative_spans,
            negative_deltas,
            classic,
            created,
        };
        if reading.zero_threshold == 0.0
            && reading.zero_count == 0
            && reading.positive_spans.is_empty()
            && reading.negative_spans.is_empty()
        {
            // Without it, a scraper could take an empty native histogram for a classic one.
            reading.positive_spans.push(Span {
                offset: 0,
                length: 0,
            });
        }
        reading
    }

    /// Bytes this series takes: itself, its classic buckets, the blocks of its windows and
    /// the buckets counted outside them.
    ///
    /// ```
    /// use instrument_metric::native_histogram::{NativeConfig, NativeHistogram};
    ///
    /// let histogram = NativeHistogram::new(&NativeConfig::new(), &[]).unwrap();
    /// let empty = histogram.size();
    /// histogram.observe(1.0);
    /// assert!(histogram.size() > empty);
    /// ```
    #[must_use]
    pub fn size(&self) -> usize {
        let outside: usize = self
            .halves
            .iter()
            .map(|half| lock(&half.outside).len() * 48)
            .sum();
        std::mem::size_of::<Self>()
            + self.bounds.len() * 8
            + self.classic.len() * 8
            + self.positive.bytes()
            + self
                .negative
                .get()
                .map_or(0, |side| std::mem::size_of::<Side>() + side.bytes())
            + outside
    }
}

/// Where a census puts the windows.
struct Plan {
    schema: i32,
    /// Buckets with observations in that schema.
    populated: u32,
    positive: Window,
    negative: Window,
}

/// Spans and deltas of the buckets `(number, count)` (counts above 0): a gap of up to two
/// empty buckets stays inside a span, written as zeros, which is shorter than a new span.
fn spans_and_deltas(mut buckets: Vec<(i32, u64)>) -> (Vec<Span>, Vec<i64>) {
    buckets.sort_unstable_by_key(|(key, _)| *key);
    let mut spans: Vec<Span> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut previous_count = 0i64;
    let mut next_key = 0i32;
    for (key, count) in buckets {
        let gap = key - next_key;
        match spans.last_mut() {
            Some(span) if gap <= 2 => {
                for _ in 0..gap {
                    deltas.push(-previous_count);
                    previous_count = 0;
                }
                span.length += gap.unsigned_abs();
            }
            _ => spans.push(Span {
                offset: gap,
                length: 0,
            }),
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        deltas.push(count - previous_count);
        previous_count = count;
        if let Some(span) = spans.last_mut() {
            span.length += 1;
        }
        next_key = key + 1;
    }
    (spans, deltas)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // sums and bounds compared are exact
mod tests {
    use super::*;

    /// A small deterministic generator, so that failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A value in [0, 1).
        #[allow(clippy::cast_precision_loss)]
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn histogram(config: NativeConfig, bounds: &[f64]) -> NativeHistogram {
        NativeHistogram::new(&config, bounds).unwrap()
    }

    /// The (bucket number, count) pairs of a reading with a count, both signs.
    fn populated(reading: &NativeReading) -> Vec<(bool, i32, u64)> {
        let mut out = Vec::new();
        for negative in [false, true] {
            out.extend(
                reading
                    .buckets(negative)
                    .filter(|(_, count)| *count > 0)
                    .map(|(key, count)| (negative, key, count)),
            );
        }
        out
    }

    /// What a histogram of `values` holds in `schema`, counted one by one.
    fn expected(values: &[f64], schema: i32, zero_threshold: f64) -> (u64, Vec<(bool, i32, u64)>) {
        let mut zero = 0;
        let mut buckets = BTreeMap::new();
        for value in values.iter().filter(|value| !value.is_nan()) {
            if value.abs() <= zero_threshold {
                zero += 1;
            } else {
                *buckets
                    .entry((*value < 0.0, bucket_key(value.abs(), schema)))
                    .or_insert(0) += 1;
            }
        }
        (
            zero,
            buckets
                .into_iter()
                .map(|((negative, key), count)| (negative, key, count))
                .collect(),
        )
    }

    #[test]
    fn schema_from_bucket_factor() {
        let schema = |factor| NativeConfig::new().bucket_factor(factor).schema();
        assert_eq!(schema(1.1), Ok(3));
        assert_eq!(schema(2.0), Ok(0));
        assert_eq!(schema(1.5), Ok(1));
        assert_eq!(schema(4.0), Ok(-1));
        assert_eq!(schema(65536.0), Ok(-4));
        assert_eq!(schema(1e300), Ok(-4));
        assert_eq!(schema(1.0001), Ok(8));
        assert_eq!(schema(2f64.powf(1.0 / 8.0)), Ok(3));
        assert_eq!(schema(1.0), Err(NativeConfigError::BucketFactor(1.0)));
        assert!(schema(f64::NAN).is_err());
        assert!(schema(-3.0).is_err());
    }

    #[test]
    fn configuration_errors_are_values() {
        let new = |config: NativeConfig, bounds: &[f64]| NativeHistogram::new(&config, bounds);
        let base = NativeConfig::new();
        assert_eq!(
            new(base.zero_threshold(-1.0), &[]).unwrap_err(),
            NativeConfigError::ZeroThreshold(-1.0)
        );
        assert!(new(base.zero_threshold(f64::INFINITY), &[]).is_err());
        assert_eq!(
            new(base.max_buckets(1001), &[]).unwrap_err(),
            NativeConfigError::MaxBuckets(1001)
        );
        assert_eq!(
            new(base, &[1.0, 1.0]).unwrap_err(),
            NativeConfigError::ClassicBounds
        );
        assert!(new(base, &[f64::NAN]).is_err());
        assert!(new(base, &[1.0, f64::INFINITY]).is_err());
        assert!(new(base.max_buckets(1000).zero_threshold(0.0), &[0.5]).is_ok());
        let message = new(base.bucket_factor(0.5), &[]).unwrap_err().to_string();
        assert!(message.starts_with("the bucket factor of a native histogram must be above 1"));
    }

    #[test]
    fn boundaries_are_powers_of_two_roots() {
        for schema in 1..=MAX_SCHEMA {
            let table = &TABLES[table_index(schema)];
            let per_octave = 1usize << schema;
            assert_eq!(table.thresholds.len(), per_octave + 1);
            assert!(table.thresholds.windows(2).all(|w| w[0] < w[1]));
            // The middle boundary is sqrt(2), which IEEE rounds correctly.
            assert_eq!(
                table.thresholds[per_octave / 2],
                std::f64::consts::SQRT_2.to_bits() & MANTISSA,
                "schema {schema}"
            );
            // A boundary of a schema is a boundary of the next.
            if schema < MAX_SCHEMA {
                let finer = &TABLES[table_index(schema + 1)];
                for (j, threshold) in table.thresholds[..per_octave].iter().enumerate() {
                    assert_eq!(*threshold, finer.thresholds[2 * j]);
                }
            }
            // One comparison after the cell lookup is enough: at most one boundary a cell.
            let cell_bits = MANTISSA_BITS - schema.unsigned_abs() - 1;
            for cell in 0..2 * per_octave as u64 {
                let inside = table.thresholds[..per_octave]
                    .iter()
                    .filter(|t| (**t >> cell_bits) == cell)
                    .count();
                assert!(inside <= 1, "schema {schema} cell {cell}");
            }
        }
    }

    #[test]
    fn bucket_keys_follow_the_schema() {
        // Powers of two are upper bounds, in every schema (upper bounds are inclusive).
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            assert_eq!(bucket_key(1.0, schema), 0, "schema {schema}");
            let per_octave = 2f64.powi(schema);
            for exponent in [-1074, -1072, -1022, -1008, -304, -1, 1, 7, 304, 1008, 1023] {
                let value = power_of_two(exponent);
                let key = bucket_key(value, schema);
                // ceil(exponent * 2^schema) for a power of two.
                let scaled = f64::from(exponent) * per_octave;
                #[allow(clippy::cast_possible_truncation)]
                let want = scaled.ceil() as i32;
                assert_eq!(key, want, "2^{exponent} in schema {schema}");
                let (lower, upper) = bucket_bounds(schema, key);
                // Bounds between subnormals round; above them, they are exact.
                assert!(lower <= value && value <= upper, "2^{exponent} in {schema}");
                assert!(
                    exponent < -1022 || lower < value,
                    "2^{exponent} in {schema}"
                );
                if scaled.fract() == 0.0 && exponent >= -1022 {
                    // A boundary: the top of its bucket, the next float up (not a subnormal's,
                    // whose next float can be two buckets up) in the next one.
                    assert_eq!(upper, value, "2^{exponent} in schema {schema}");
                    let next = f64::from_bits(value.to_bits() + 1);
                    assert_eq!(
                        bucket_key(next, schema),
                        key + 1,
                        "2^{exponent}+ in {schema}"
                    );
                }
            }
        }
        // Against the definition, log2 in floats, away from boundaries.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let exponent = (rng.unit() * 2000.0 - 1000.0).floor();
            let value = 2f64.powf(exponent + rng.unit());
            for schema in MIN_SCHEMA..=MAX_SCHEMA {
                let scaled = value.log2() * 2f64.powi(schema);
                if (scaled - scaled.round()).abs() < 1e-6 {
                    continue;
                }
                #[allow(clippy::cast_possible_truncation)]
                let want = scaled.ceil() as i32;
                assert_eq!(
                    bucket_key(value, schema),
                    want,
                    "{value} in schema {schema}"
                );
                let (lower, upper) = bucket_bounds(schema, want);
                assert!(
                    lower < value && value <= upper,
                    "{value} in {schema}: {lower} {upper}"
                );
            }
        }
    }

    #[test]
    fn extreme_magnitudes_have_buckets() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let largest = bucket_key(f64::MAX, schema);
            assert_eq!(bucket_key(f64::INFINITY, schema), largest + 1);
            assert_eq!(bucket_bounds(schema, largest).1, f64::MAX);
            assert_eq!(
                bucket_bounds(schema, largest + 1),
                (f64::MAX, f64::INFINITY)
            );
            // Subnormals: the smallest is 2^-1074, a bucket's upper bound.
            #[allow(clippy::cast_possible_truncation)]
            let smallest = (-1074.0 * 2f64.powi(schema)).ceil() as i32;
            assert_eq!(bucket_key(f64::from_bits(1), schema), smallest);
            assert!(bucket_key(f64::MIN_POSITIVE / 3.0, schema) < bucket_key(1e-300, schema));
        }
        // Every f64 of a sign fits in one window in schema -4.
        let span =
            bucket_key(f64::INFINITY, MIN_SCHEMA) - bucket_key(f64::from_bits(1), MIN_SCHEMA);
        assert!(span.unsigned_abs() < MIN_WINDOW_LIMIT);
    }

    #[test]
    fn coarser_buckets_hold_the_finer_ones() {
        for schema in (MIN_SCHEMA + 1)..=MAX_SCHEMA {
            for key in -300..300 {
                for reduction in 1..=(schema - MIN_SCHEMA) {
                    let (lower, upper) = bucket_bounds(schema, key);
                    let (coarse_lower, coarse_upper) =
                        bucket_bounds(schema - reduction, coarser(key, reduction));
                    assert!(coarse_lower <= lower && upper <= coarse_upper);
                }
            }
        }
    }

    #[test]
    fn a_reading_in_spans_and_deltas() {
        let h = histogram(NativeConfig::new(), &[]);
        // Schema 3: 1.0 is the top of bucket 0, 1.05 in bucket 1 (up to 2^(1/8) = 1.0905),
        // 1.5 in bucket 5, 3.0 in bucket 13, -2.0 is the top of negative bucket 8.
        for value in [1.0, 1.05, 1.5, 3.0, 0.0, -2.0, 1.0] {
            h.observe(value);
        }
        let reading = h.read();
        assert_eq!(reading.schema, 3);
        assert_eq!(reading.count, 7);
        assert_eq!(reading.zero_count, 1);
        assert_eq!(reading.zero_threshold, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(reading.sum, 1.0 + 1.05 + 1.5 + 3.0 + 0.0 - 2.0 + 1.0);
        assert_eq!(
            reading.positive_spans,
            [
                Span {
                    offset: 0,
                    length: 2
                },
                Span {
                    offset: 3,
                    length: 1
                },
                Span {
                    offset: 7,
                    length: 1
                }
            ]
        );
        assert_eq!(reading.positive_deltas, [2, -1, 0, 0]);
        assert_eq!(
            reading.negative_spans,
            [Span {
                offset: 8,
                length: 1
            }]
        );
        assert_eq!(reading.negative_deltas, [1]);
        assert!(reading.classic.is_empty());
    }

    #[test]
    fn small_gaps_stay_inside_a_span() {
        let buckets = vec![(-2, 3), (1, 5), (4, 1), (8, 2)];
        let (spans, deltas) = spans_and_deltas(buckets);
        // -2, then a gap of 2 (-1, 0) filled with zeros, 1, a gap of 2 (2, 3), 4, then a gap
        // of 3: a new span.
        assert_eq!(
            spans,
            [
                Span {
                    offset: -2,
                    length: 7
                },
                Span {
                    offset: 3,
                    length: 1
                }
            ]
        );
        assert_eq!(deltas, [3, -3, 0, 5, -5, 0, 1, 1]);
        assert_eq!(spans_and_deltas(Vec::new()), (Vec::new(), Vec::new()));
    }

    #[test]
    fn an_empty_histogram_with_zero_threshold_zero_has_a_no_op_span() {
        let h = histogram(NativeConfig::new().zero_threshold(0.0), &[]);
        let reading = h.read();
        assert_eq!(
            reading.positive_spans,
            [Span {
                offset: 0,
                length: 0
            }]
        );
        assert!(reading.positive_deltas.is_empty());
        assert_eq!(reading.count, 0);
        // With the default threshold the threshold says it is native.
        let reading = histogram(NativeConfig::new(), &[]).read();
        assert!(reading.positive_spans.is_empty());
    }

    #[test]
    fn zero_threshold_nan_and_infinities() {
        let h = histogram(NativeConfig::new().zero_threshold(0.5), &[1.0]);
        for value in [
            0.5,
            -0.5,
            -0.0,
            0.25,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.75,
        ] {
            h.observe(value);
        }
        let reading = h.read();
        // NaN ignored: in no count, no bucket, not in the sum.
        assert_eq!(reading.count, 7);
        assert_eq!(reading.zero_count, 4);
        assert!(reading.sum.is_nan(), "+Inf and -Inf");
        // +Inf in the classic `+Inf` bucket.
        assert_eq!(reading.classic, [6, 7]);
        let native = populated(&reading);
        let infinite = bucket_key(f64::INFINITY, 3);
        assert_eq!(
            native,
            [
                (false, bucket_key(0.75, 3), 1),
                (false, infinite, 1),
                (true, infinite, 1)
            ]
        );
        let in_buckets: u64 = native.iter().map(|(_, _, count)| count).sum();
        assert_eq!(in_buckets + reading.zero_count, reading.count);
        // A NaN alone leaves the sum a number.
        let h = histogram(NativeConfig::new(), &[1.0]);
        h.observe(0.5);
        h.observe(f64::NAN);
        let reading = h.read();
        assert_eq!((reading.count, reading.sum), (1, 0.5));
        assert_eq!(reading.classic, [1, 1]);
    }

    #[test]
    fn classic_buckets_are_cumulative() {
        let h = histogram(NativeConfig::new(), &[0.1, 1.0, 10.0]);
        for value in [0.05, 0.1, 0.5, 5.0, 50.0, -1.0] {
            h.observe(value);
        }
        let reading = h.read();
        assert_eq!(reading.classic, [3, 4, 5, 6]);
        assert_eq!(reading.count, 6);
        // A second reading gives the same, and more after more observations.
        assert_eq!(h.read().classic, [3, 4, 5, 6]);
        h.observe(0.5);
        assert_eq!(h.read().classic, [3, 5, 6, 7]);
    }

    #[test]
    fn readings_are_cumulative_across_halves() {
        let h = histogram(NativeConfig::new(), &[]);
        let mut values = Vec::new();
        for round in 0..10u32 {
            for i in 0..=round {
                let value = f64::from(i + 1) * 0.37;
                values.push(value);
                h.observe(value);
            }
            let reading = h.read();
            let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
            assert_eq!(reading.zero_count, zero);
            assert_eq!(populated(&reading), buckets, "round {round}");
            assert_eq!(reading.count, values.len() as u64);
        }
    }

    #[test]
    fn windows_follow_the_observations() {
        // Values spread over many powers of two and both signs, in a histogram whose limit is
        // high enough that the schema stays: every count in its own bucket.
        let h = histogram(NativeConfig::new().max_buckets(1000), &[]);
        let mut rng = Rng(7);
        let values: Vec<f64> = (0..5000)
            .map(|_| {
                let magnitude = 2f64.powf(rng.unit() * 40.0 - 20.0);
                if rng.next().is_multiple_of(5) {
                    -magnitude
                } else {
                    magnitude
                }
            })
            .collect();
        for value in &values {
            h.observe(*value);
        }
        let reading = h.read();
        assert_eq!(reading.schema, 3, "about 640 buckets, under the limit");
        let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(zero, 0);
        assert_eq!(populated(&reading), buckets);
        assert!(buckets.len() <= 1000);
        // In a schema that holds them, nothing is reduced.
        let h = histogram(NativeConfig::new().max_buckets(1000), &[]);
        let mut values = Vec::new();
        for i in 0..3000 {
            let value = 2f64.powf(f64::from(i % 300) / 25.0 - 6.0);
            values.push(value);
            h.observe(value);
        }
        let reading = h.read();
        assert_eq!(reading.schema, 3);
        assert_eq!(
            populated(&reading),
            expected(&values, 3, DEFAULT_ZERO_THRESHOLD).1
        );
    }

    #[test]
    fn the_bucket_limit_reduces_resolution_and_keeps_every_count() {
        let h = histogram(NativeConfig::new().max_buckets(10), &[1.0]);
        let values: Vec<f64> = (0..64).map(|i| 1.1f64.powi(i) * 0.01).collect();
        for value in &values {
            h.observe(*value);
        }
        let reading = h.read();
        assert!(reading.schema < 3);
        let native = populated(&reading);
        assert!(native.len() <= 10, "{native:?}");
        assert_eq!(
            native,
            expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD).1
        );
        // The coarsest schema that holds them: one finer would be over the limit.
        let finer = expected(&values, reading.schema + 1, DEFAULT_ZERO_THRESHOLD).1;
        assert!(finer.len() > 10);
        assert_eq!(reading.count, 64);
        assert_eq!(
            reading.classic,
            [values.iter().filter(|v| **v <= 1.0).count() as u64, 64]
        );
        // No reset configured: the resolution stays reduced.
        let later = h.scrape_at(Instant::now() + Duration::from_secs(1_000_000));
        assert_eq!(later.schema, reading.schema);
        assert_eq!(later.count, 64);
    }

    #[test]
    fn outliers_cost_no_resolution() {
        let h = histogram(NativeConfig::new().max_buckets(40), &[]);
        let mut values = vec![1e-30, 1e30, f64::INFINITY, -1e300];
        // A bulk around 1, and outliers 2^100 away (1600 bucket numbers in schema 3), twice.
        values.extend((0..100).map(|i| 1.0 + f64::from(i) / 100.0));
        values.extend([1e-30, 1e30, f64::INFINITY, -1e300]);
        for value in &values {
            h.observe(*value);
        }
        let reading = h.read();
        assert_eq!(reading.schema, 3, "12 buckets are under the limit");
        assert_eq!(
            populated(&reading),
            expected(&values, 3, DEFAULT_ZERO_THRESHOLD).1
        );
        assert_eq!(reading.count, 108);
        // The windows hold the bulk; the outliers are counted beside them.
        assert!(h.positive.width[h.hot()].load(Ordering::Relaxed) <= 48);
        assert!(h.size() < 2000, "{} bytes", h.size());
    }

    #[test]
    fn a_reset_comes_after_a_reading_once_due() {
        let config = NativeConfig::new()
            .max_buckets(4)
            .min_reset_duration(Duration::from_secs(60));
        let h = histogram(config, &[10.0]);
        let start = lock(&h.control).last_reset;
        let at = |seconds| start + Duration::from_secs(seconds);
        let created = h.scrape_at(at(1)).created;
        // Over the limit: the resolution is reduced, a reset due 60 s after creation.
        for i in 0..8 {
            h.observe(2f64.powi(i));
        }
        let reduced = h.scrape_at(at(30));
        assert!(reduced.schema < 3);
        assert_eq!(reduced.count, 8);
        assert_eq!(reduced.created, created);
        assert_eq!(lock(&h.control).reset_due, Some(at(60)));
        // The first reading once due still has every observation; the reset follows it.
        h.observe(0.5);
        let last = h.scrape_at(at(61));
        assert_eq!(
            (last.schema, last.count, last.created),
            (reduced.schema, 9, created)
        );
        assert_eq!(last.classic, [5, 9]);
        let reset = h.scrape_at(at(62));
        assert_eq!((reset.schema, reset.count, reset.zero_count), (3, 0, 0));
        assert!(populated(&reset).is_empty());
        assert_eq!(reset.classic, [0, 0]);
        assert_eq!(reset.sum, 0.0);
        assert!(reset.created >= created);
        assert_eq!(lock(&h.control).reset_due, None);
        // It counts again from there, in the configured schema.
        h.observe(3.0);
        let again = h.scrape_at(at(63));
        assert_eq!((again.count, again.schema), (1, 3));
        assert_eq!(populated(&again), [(false, bucket_key(3.0, 3), 1)]);
        // Over the limit more than 60 s after that reset: due at once, so reset after the
        // next reading, which has every observation.
        for i in 0..5 {
            h.observe(2f64.powi(i));
        }
        let reading = h.scrape_at(at(200));
        assert_eq!(reading.count, 6);
        assert!(reading.schema < 3);
        assert_eq!(h.scrape_at(at(201)).count, 0);
        // Without a reset configured, a reduced histogram stays reduced (see
        // `the_bucket_limit_reduces_resolution_and_keeps_every_count`).
    }

    #[test]
    fn reads_outside_a_scrape_never_reset() {
        let config = NativeConfig::new()
            .max_buckets(4)
            .min_reset_duration(Duration::from_secs(60));
        let h = histogram(config, &[10.0]);
        let start = lock(&h.control).last_reset;
        let at = |seconds| start + Duration::from_secs(seconds);
        // Over the limit: a reset due 60 s after creation.
        for i in 0..100 {
            h.observe(2f64.powi(i % 20));
        }
        assert_eq!(h.scrape_at(at(30)).count, 100);
        for i in 0..50 {
            h.observe(2f64.powi(i % 20));
        }
        // User code reads once the reset is due (`get_sample_count`, a second exporter's
        // `read`): the reset waits for a scrape.
        assert_eq!(h.read_at(at(61), false).count, 150);
        assert_eq!(h.read().count, 150);
        assert!(lock(&h.control).reset_due.is_some());
        // The next scrape has everything observed since the last one, then takes the reset.
        assert_eq!(h.scrape_at(at(62)).count, 150);
        assert_eq!(h.scrape_at(at(63)).count, 0);
    }

    #[test]
    fn observations_during_a_reset_reading_go_to_the_new_period() {
        let config = NativeConfig::new()
            .max_buckets(2)
            .min_reset_duration(Duration::from_secs(1));
        let h = histogram(config, &[]);
        let start = lock(&h.control).last_reset;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let observed = AtomicU64::new(0);
        let mut readings = std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    h.observe(2f64.powi(i32::try_from(i % 20).unwrap()));
                    observed.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
            // A second between readings: each reduced histogram is reset after the next one.
            let mut seen = 0;
            let readings: Vec<NativeReading> = (0..200)
                .map(|second| {
                    // Observations between readings, whatever the scheduler does.
                    while observed.load(Ordering::Relaxed) < seen + 50 {
                        std::thread::yield_now();
                    }
                    seen = observed.load(Ordering::Relaxed);
                    h.scrape_at(start + Duration::from_secs(10 + second))
                })
                .collect();
            stop.store(true, Ordering::Relaxed);
            readings
        });
        readings.push(h.scrape_at(start));
        // Every observation is in the last reading of its period (readings are cumulative
        // within one): none lost to a reset, none in two periods.
        let mut exported = 0;
        let mut periods = 0;
        for (reading, next) in readings
            .iter()
            .zip(readings.iter().skip(1).map(Some).chain([None]))
        {
            if next.is_none_or(|next| next.created != reading.created) {
                exported += reading.count;
                periods += 1;
            }
        }
        assert_eq!(exported, observed.load(Ordering::Relaxed));
        assert!(periods > 1, "no reset happened");
    }

    #[test]
    fn concurrent_observations_lose_nothing_and_readings_add_up() {
        const THREADS: u64 = 4;
        const EACH: u64 = 40_000;
        // Dyadic values, so that the sum is exact in any order; spread wide enough that the
        // windows move and the resolution is reduced while the threads observe.
        let value_of = |thread: u64, i: u64| {
            let exponent = i32::try_from((i * 7 + thread * 3) % 25).unwrap() - 8;
            let step = f64::from(u32::try_from((i * 13 + thread) % 8).unwrap());
            let sign = if (i + thread).is_multiple_of(9) {
                -1.0
            } else {
                1.0
            };
            sign * 2f64.powi(exponent) * (1.0 + step / 8.0)
        };
        let h = histogram(NativeConfig::new().max_buckets(60), &[0.5, 8.0, 1000.0]);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let readings = AtomicU64::new(0);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut last_count = 0;
                while !stop.load(Ordering::Relaxed) {
                    let reading = h.read();
                    let native: u64 = populated(&reading).iter().map(|(_, _, c)| c).sum();
                    assert_eq!(native + reading.zero_count, reading.count);
                    assert_eq!(reading.classic.last(), Some(&reading.count));
                    assert!(reading.count >= last_count);
                    last_count = reading.count;
                    readings.fetch_add(1, Ordering::Relaxed);
                }
            });
            let writers: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let (h, readings) = (&h, &readings);
                    scope.spawn(move || {
                        for i in 0..EACH {
                            // Readings among the observations, whatever the scheduler does.
                            if i % 4000 == 0 {
                                while readings.load(Ordering::Relaxed) <= i / 4000 {
                                    std::thread::yield_now();
                                }
                            }
                            h.observe(value_of(thread, i));
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            reader.join().unwrap();
        });
        assert!(readings.load(Ordering::Relaxed) >= EACH / 4000);
        let values: Vec<f64> = (0..THREADS)
            .flat_map(|thread| (0..EACH).map(move |i| value_of(thread, i)))
            .collect();
        let reading = h.read();
        assert_eq!(reading.count, THREADS * EACH);
        assert_eq!(reading.sum, values.iter().sum::<f64>());
        let (zero, buckets) = expected(&values, reading.schema, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(reading.zero_count, zero);
        assert_eq!(populated(&reading), buckets);
        assert!(buckets.len() <= 60);
        let at_most = |bound: f64| values.iter().filter(|v| **v <= bound).count() as u64;
        assert_eq!(
            reading.classic,
            [at_most(0.5), at_most(8.0), at_most(1000.0), THREADS * EACH]
        );
    }

    #[test]
    fn memory_per_series() {
        let empty = histogram(NativeConfig::new(), &[]);
        let size = empty.size();
        assert!(size < 600, "an empty series takes {size} bytes");
        // A latency histogram from 0.5 ms to 4 s, with the default classic buckets.
        let h = histogram(NativeConfig::new(), crate::model::DEFAULT_BUCKETS);
        for i in 0..=1000 {
            h.observe(0.0005 * 8000f64.powf(f64::from(i) / 1000.0));
        }
        let _ = h.read();
        let size = h.size();
        eprintln!(
            "an empty native series: {} bytes, one from 0.5 ms to 4 s: {size} bytes",
            empty.size()
        );
        assert!(
            (1500..3000).contains(&size),
            "a typical series takes {size} bytes"
        );
    }
}
