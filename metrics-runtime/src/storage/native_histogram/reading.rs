//! What a scrape reads from a native histogram: counts, sum, zero bucket and the buckets as
//! spans and deltas, the form the protobuf exposition carries.

use std::time::SystemTime;

use super::window::Window;

/// A run of consecutive native buckets: `offset` is the gap from the end of the previous span
/// (for the first span, the number of its first bucket), `length` the buckets in it.
///
/// ```
/// use instrument_metric::__private::native_histogram::Span;
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
/// use instrument_metric::__private::native_histogram::{NativeHistogram, Span};
/// use instrument_metric::native_histogram::NativeConfig;
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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

/// Where a census puts the windows.
pub(super) struct Plan {
    pub(super) schema: i32,
    /// Buckets with observations in that schema.
    pub(super) populated: u32,
    pub(super) positive: Window,
    pub(super) negative: Window,
}

/// Spans and deltas of the buckets `(number, count)` (counts above 0): a gap of up to two
/// empty buckets stays inside a span, written as zeros, which is shorter than a new span.
pub(super) fn spans_and_deltas(mut buckets: Vec<(i32, u64)>) -> (Vec<Span>, Vec<i64>) {
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
