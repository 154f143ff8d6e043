//! The cells a call of an instrumented function records into: counters per outcome, a
//! duration histogram and an in-flight gauge, striped so that threads calling one function do
//! not share cache lines. A scrape sums the stripes, so totals are exact at every scrape.
//!
//! Durations are integer nanoseconds from a TSC clock (`quanta`), so a histogram's sum is an
//! exact integer sum of what was observed and needs no compare-and-swap loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::Outcome;
use crate::storage::clock::{self, CLOCK};
use crate::storage::exemplar::{Exemplar, Exemplars, Trace};
use crate::storage::native_histogram::{NativeConfig, NativeHistogram, NativeReading};
use crate::storage::stripes;

/// Slots of one stripe: the in-flight count, the sum, then one row of buckets per outcome,
/// so that a call costs two increments: its outcome's bucket and the sum.
const IN_FLIGHT: usize = 0;
const SUM_NANOS: usize = 1;
const BUCKETS: usize = 2;

/// Slots of 8 bytes per line of 128 (two cache lines: adjacent-line prefetching pairs them).
const LINE_SLOTS: usize = 16;

/// Slots whose first starts a 128-byte line when the cells are striped, so that a stripe of a
/// multiple of [`LINE_SLOTS`] slots has its lines to itself: nothing else, not the cells' own
/// fields every call reads nor a neighbouring allocation, shares a line with a stripe. The
/// allocator only promises 16 bytes, so up to 15 slots more are allocated and skipped.
#[derive(Debug)]
struct Lines {
    all: Box<[AtomicU64]>,
    /// The first slot used: where a line starts.
    first: usize,
}

impl Lines {
    /// `len` slots at 0, on whole lines if `striped`.
    fn new(len: usize, striped: bool) -> Lines {
        // A native histogram family keeps no slots: nothing to align.
        let striped = striped && len > 0;
        let spare = if striped { LINE_SLOTS - 1 } else { 0 };
        let all: Box<[AtomicU64]> = (0..len + spare).map(|_| AtomicU64::new(0)).collect();
        let address = all.as_ptr() as usize;
        let first = if striped {
            (LINE_SLOTS * 8 - address % (LINE_SLOTS * 8)) % (LINE_SLOTS * 8) / 8
        } else {
            0
        };
        Lines { all, first }
    }

    /// Bytes allocated.
    fn bytes(&self) -> usize {
        self.all.len() * 8
    }
}

impl std::ops::Deref for Lines {
    type Target = [AtomicU64];

    #[inline]
    fn deref(&self) -> &[AtomicU64] {
        &self.all[self.first..]
    }
}

/// The cells of one series combination of one instrumented function.
#[derive(Debug)]
pub(crate) struct CallCells {
    /// `stripes * stride` slots; each stripe starts on its own 128-byte boundary.
    slots: Lines,
    stride: usize,
    /// `stripes - 1`, the stripes being a power of two.
    mask: usize,
    /// Bucket upper bounds, in nanoseconds (the `+Inf` bucket follows them), shared by the
    /// combinations of a call site.
    bounds: Arc<[u64]>,
    /// Kinds of error counted, in slots after the rows of buckets.
    kinds: usize,
    /// The clock, resolved once rather than on every call.
    pub(crate) clock: &'static quanta::Clock,
    /// When the cells were created: every count starts from 0 there.
    pub(crate) created: SystemTime,
    /// The same durations in a native histogram (with the same classic buckets), when the
    /// histogram is native.
    native: Option<Box<NativeHistogram>>,
    /// The exemplar of each bucket (`+Inf` last), then of each outcome's count.
    exemplars: Exemplars,
}

impl CallCells {
    /// Cells for a histogram with `bounds` (in seconds), a counter per kind of error, native
    /// too with `native`: one call site without labels.
    #[cfg(any(test, feature = "axum", feature = "grpc"))]
    pub(crate) fn new(
        bounds_seconds: &[f64],
        kinds: usize,
        native: Option<&NativeConfig>,
    ) -> CallCells {
        CallCells::of_site(bounds_seconds, kinds, native, 1)
            .pop()
            .unwrap_or_else(|| unreachable!("a site has a combination"))
    }

    /// The cells of the `combinations` label combinations of one call site, which share
    /// their bounds and, past a budget, get fewer stripes.
    pub(crate) fn of_site(
        bounds_seconds: &[f64],
        kinds: usize,
        native: Option<&NativeConfig>,
        combinations: usize,
    ) -> Vec<CallCells> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // validated positive seconds
        let bounds: Arc<[u64]> = bounds_seconds
            .iter()
            .map(|b| (b * 1e9).round().max(0.0) as u64)
            .collect();
        let width = BUCKETS + Outcome::ALL.len() * (bounds.len() + 1) + kinds;
        let count = stripes_within(width * combinations, CALL_SITE_STRIPES_BUDGET);
        let stride = if count > 1 {
            width.next_multiple_of(LINE_SLOTS)
        } else {
            width
        };
        let created = SystemTime::now();
        (0..combinations)
            .map(|_| CallCells {
                slots: Lines::new(stride * count, count > 1),
                stride,
                mask: count - 1,
                exemplars: Exemplars::new(bounds.len() + 1 + Outcome::ALL.len()),
                bounds: Arc::clone(&bounds),
                kinds,
                clock: &CLOCK,
                created,
                // A configuration is checked when it is set, the bounds by the macro.
                native: native.and_then(|config| {
                    NativeHistogram::new(config, bounds_seconds)
                        .ok()
                        .map(Box::new)
                }),
            })
            .collect()
    }

    /// The first slot of the stripe of the CPU the thread runs on.
    #[inline]
    pub(crate) fn stripe(&self) -> usize {
        (stripes::current() & self.mask) * self.stride
    }

    #[inline]
    pub(crate) fn enter(&self, stripe: usize) {
        self.slots[stripe + IN_FLIGHT].fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn leave(&self, stripe: usize) {
        // Wrapping: a call may leave on another stripe than it entered; the sum is right.
        self.slots[stripe + IN_FLIGHT].fetch_sub(1, Ordering::Relaxed);
    }

    /// Records one call that took `nanos` and ended with `outcome`.
    #[inline]
    pub(crate) fn record(&self, stripe: usize, outcome: Outcome, nanos: u64) {
        // A linear scan: most calls land in the first buckets, found in a comparison or two.
        let bucket = self
            .bounds
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(self.bounds.len());
        let row = outcome.index() * (self.bounds.len() + 1);
        self.slots[stripe + BUCKETS + row + bucket].fetch_add(1, Ordering::Relaxed);
        self.slots[stripe + SUM_NANOS].fetch_add(nanos, Ordering::Relaxed);
        if let Some(native) = &self.native {
            native.observe(seconds(nanos));
        }
    }

    /// Keeps the exemplar of a call made in `trace` that took `nanos` and ended at the
    /// reading `ended` of [`CLOCK`]: on its duration's bucket, and on its outcome's count.
    #[cold]
    #[inline(never)]
    pub(crate) fn exemplar(&self, trace: Trace, outcome: Outcome, nanos: u64, ended: u64) {
        let bucket = self
            .bounds
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(self.bounds.len());
        let time = clock::wall_nanos(ended);
        self.exemplars.store(bucket, trace, seconds(nanos), time);
        let outcomes = self.bounds.len() + 1;
        self.exemplars
            .store(outcomes + outcome.index(), trace, 1.0, time);
    }

    /// The exemplars of the buckets, `+Inf` last (none when none was kept).
    pub(crate) fn bucket_exemplars(&self, out: &mut Vec<Option<Exemplar>>) {
        self.exemplars.read(0..self.bounds.len() + 1, out);
    }

    /// The exemplar of the count of `outcome`.
    pub(crate) fn outcome_exemplar(&self, outcome: Outcome) -> Option<Exemplar> {
        self.exemplars.get(self.bounds.len() + 1 + outcome.index())
    }

    /// A scrape's reading of the native histogram (which takes a due reset), if the histogram
    /// is native.
    pub(crate) fn native(&self) -> Option<NativeReading> {
        self.native.as_deref().map(NativeHistogram::scrape)
    }

    /// Counts one error of kind `kind` (an index below the kinds the cells were made with).
    #[inline]
    pub(crate) fn count_kind(&self, stripe: usize, kind: usize) {
        if kind < self.kinds {
            let slot = BUCKETS + Outcome::ALL.len() * (self.bounds.len() + 1) + kind;
            self.slots[stripe + slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn total(&self, slot: usize) -> u64 {
        (0..=self.mask).fold(0u64, |sum, stripe| {
            sum.wrapping_add(self.slots[stripe * self.stride + slot].load(Ordering::Relaxed))
        })
    }

    /// Appends one reading of every slot, each read once, to `out`: the calls of each
    /// outcome, the cumulative bucket counts (the last is `+Inf`, the count), the sum in
    /// nanoseconds and the in-flight count. The calls of the outcomes add up to the count by
    /// construction, whatever is recorded meanwhile: both come from the same reads.
    pub(crate) fn read_into(&self, out: &mut Vec<u64>) {
        let buckets = self.bounds.len() + 1;
        let start = out.len();
        out.resize(start + Outcome::ALL.len() + buckets, 0);
        let (calls, cumulative) = out[start..].split_at_mut(Outcome::ALL.len());
        for stripe in 0..=self.mask {
            let row = &self.slots[stripe * self.stride + BUCKETS..];
            for (outcome, calls) in calls.iter_mut().enumerate() {
                let row = &row[outcome * buckets..(outcome + 1) * buckets];
                for (count, slot) in cumulative.iter_mut().zip(row) {
                    let value = slot.load(Ordering::Relaxed);
                    *calls += value;
                    *count += value;
                }
            }
        }
        let mut running = 0;
        for count in cumulative.iter_mut() {
            running += *count;
            *count = running;
        }
        out.push(self.total(SUM_NANOS));
        out.push(self.total(IN_FLIGHT));
        let kinds = BUCKETS + Outcome::ALL.len() * buckets;
        out.extend((0..self.kinds).map(|kind| self.total(kinds + kind)));
    }

    /// The number of values [`CallCells::read_into`] appends.
    pub(crate) fn reading_len(&self) -> usize {
        Outcome::ALL.len() + self.bounds.len() + 1 + 2 + self.kinds
    }

    /// Calls in flight now.
    #[cfg(any(test, feature = "axum", feature = "grpc"))]
    pub(crate) fn in_flight(&self) -> i64 {
        // The stripes hold wrapping increments and decrements; their sum is the count.
        i64::from_ne_bytes(self.total(IN_FLIGHT).to_ne_bytes())
    }

    /// Bytes these cells take.
    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slots.bytes()
            + self.bounds.len() * 8 / Arc::strong_count(&self.bounds)
            + self.native.as_ref().map_or(0, |native| native.size())
            + self.exemplars.size()
            - std::mem::size_of::<Exemplars>()
    }
}

/// Nanoseconds as seconds.
#[allow(clippy::cast_precision_loss)] // exact below 2^53 ns (104 days)
fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// The time `nanos` after the Unix epoch; `None` for 0 (unknown).
fn time_of(nanos: u64) -> Option<SystemTime> {
    (nanos != 0).then(|| UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// The slots a family of counters or histograms may spend on its stripes (32 KiB).
const FAMILY_STRIPES_BUDGET: usize = 4096;

/// The slots the label combinations of one call site may spend on their stripes (512 KiB):
/// a site with more combinations gets fewer stripes (its calls spread over the combinations);
/// with one stripe a combination with the default buckets takes 400 bytes.
const CALL_SITE_STRIPES_BUDGET: usize = 65_536;

/// How many stripes a storage of `slots` slots per stripe gets: striped where it pays (a few
/// hot series), not on every series of a large family, whose stripes would multiply its
/// memory for series that are rarely contended.
fn stripes_for(slots: usize) -> usize {
    stripes_within(slots, FAMILY_STRIPES_BUDGET)
}

/// The stripes of [`stripes::count`] that `slots` slots per stripe can have within `budget`
/// slots (at least one).
fn stripes_within(slots: usize, budget: usize) -> usize {
    let budget = (budget / slots.max(1)).max(1);
    let mut count = stripes::count();
    while count > budget {
        count /= 2;
    }
    count
}

/// The values of the series of one counter or gauge family: one slot per series and stripe.
///
/// Counters are striped when the family is small: a thread adds to its own stripe and a read
/// sums them, so two threads counting into one series do not share a cache line. Gauges are
/// never striped: `set` must replace the value, not a stripe of it.
#[derive(Debug)]
pub(crate) struct ValueCells {
    slots: Lines,
    /// Slots of one stripe: the series, rounded up to whole 128-byte lines.
    stride: usize,
    /// `stripes - 1`.
    mask: usize,
    series: usize,
    /// Counters: when each series started from 0 (nanoseconds since the Unix epoch); gauges:
    /// none.
    created: Box<[AtomicU64]>,
    /// Counters: the exemplar of each series' last increment made in a trace.
    exemplars: Exemplars,
}

impl ValueCells {
    /// Cells for `series` counters (`counters`: striped when few) or gauges (never striped).
    pub(crate) fn new(series: usize, counters: bool) -> ValueCells {
        let count = if counters { stripes_for(series) } else { 1 };
        let stride = if count > 1 {
            series.next_multiple_of(LINE_SLOTS)
        } else {
            series
        };
        let now = clock::system_nanos();
        ValueCells {
            slots: Lines::new(stride * count, count > 1),
            stride,
            mask: count - 1,
            series,
            created: (0..if counters { series } else { 0 })
                .map(|_| AtomicU64::new(now))
                .collect(),
            exemplars: Exemplars::new(if counters { series } else { 0 }),
        }
    }

    /// When counter `index` started from 0 (its creation or last reset); `None` for a gauge.
    pub(crate) fn created(&self, index: usize) -> Option<SystemTime> {
        time_of(self.created.get(index)?.load(Ordering::Relaxed))
    }

    /// Keeps the exemplar of an increment of counter `index` by `amount`, made in `trace`
    /// now.
    #[cold]
    #[inline(never)]
    pub(crate) fn exemplar(&self, index: usize, trace: Trace, amount: f64) {
        self.exemplars
            .store(index, trace, amount, clock::wall_now());
    }

    /// The exemplar of counter `index`'s last increment made in a trace.
    pub(crate) fn exemplar_of(&self, index: usize) -> Option<Exemplar> {
        self.exemplars.get(index)
    }

    /// The number of series.
    pub(crate) fn series(&self) -> usize {
        self.series
    }

    #[inline]
    fn own(&self, index: usize) -> &AtomicU64 {
        &self.slots[(stripes::current() & self.mask) * self.stride + index]
    }

    /// Adds `n` to an integer counter.
    #[inline]
    pub(crate) fn add_u64(&self, index: usize, n: u64) {
        self.own(index).fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `x` to a float counter or gauge (a compare-and-swap loop on the bits).
    #[inline]
    pub(crate) fn add_f64(&self, index: usize, x: f64) {
        let slot = self.own(index);
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + x).to_bits();
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Adds `n` to an integer gauge (two's complement: a gauge's one stripe holds its value).
    #[inline]
    pub(crate) fn add_i64(&self, index: usize, n: i64) {
        self.own(index)
            .fetch_add(u64::from_ne_bytes(n.to_ne_bytes()), Ordering::Relaxed);
    }

    /// Sets a gauge (its bits: `f64::to_bits` or an `i64`'s).
    #[inline]
    pub(crate) fn set_bits(&self, index: usize, bits: u64) {
        self.slots[index].store(bits, Ordering::Relaxed);
    }

    /// Sets every stripe of a counter back to zero (increments made meanwhile on another
    /// stripe may survive it: a reset is not one atomic step).
    pub(crate) fn reset(&self, index: usize) {
        for stripe in 0..=self.mask {
            self.slots[stripe * self.stride + index].store(0, Ordering::Relaxed);
        }
        if let Some(created) = self.created.get(index) {
            created.store(clock::system_nanos(), Ordering::Relaxed);
        }
    }

    /// The sum of an integer counter's stripes.
    pub(crate) fn get_u64(&self, index: usize) -> u64 {
        (0..=self.mask).fold(0u64, |sum, stripe| {
            sum.wrapping_add(self.slots[stripe * self.stride + index].load(Ordering::Relaxed))
        })
    }

    /// The sum of a float counter's stripes, or a float gauge.
    pub(crate) fn get_f64(&self, index: usize) -> f64 {
        (0..=self.mask)
            .map(|stripe| {
                f64::from_bits(self.slots[stripe * self.stride + index].load(Ordering::Relaxed))
            })
            .sum()
    }

    /// An integer gauge.
    pub(crate) fn get_i64(&self, index: usize) -> i64 {
        i64::from_ne_bytes(self.get_u64(index).to_ne_bytes())
    }

    /// Bytes these cells take.
    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slots.bytes()
            + self.created.len() * 8
            + self.exemplars.size()
            - std::mem::size_of::<Exemplars>()
    }
}

/// The histograms of one histogram family: for each series, a count per bucket and the sum
/// of the observations, striped when the family is small; or, for a native histogram family,
/// a native histogram per series (which has the classic buckets too).
#[derive(Debug)]
pub(crate) struct HistogramCells {
    slots: Lines,
    /// Upper bounds; the `+Inf` bucket follows them.
    bounds: Box<[f64]>,
    /// Slots of one series: a count per bucket (`+Inf` included), then the sum's bits.
    width: usize,
    stride: usize,
    mask: usize,
    series: usize,
    /// Native histograms, one per series, instead of the slots.
    native: Option<Box<[NativeHistogram]>>,
    pub(crate) created: SystemTime,
    /// The exemplar of each bucket of each series.
    exemplars: Exemplars,
}

impl HistogramCells {
    /// Cells for `series` histograms with `bounds`, native with `native`.
    pub(crate) fn new(
        series: usize,
        bounds: &[f64],
        native: Option<&NativeConfig>,
    ) -> HistogramCells {
        let width = bounds.len() + 2;
        // A configuration is checked when it is set, the bounds when they are declared.
        let native: Option<Box<[NativeHistogram]>> = native.and_then(|config| {
            (0..series)
                .map(|_| NativeHistogram::new(config, bounds).ok())
                .collect()
        });
        let striped = if native.is_some() { 0 } else { series };
        let count = stripes_for(striped * width);
        let stride = if count > 1 {
            (striped * width).next_multiple_of(LINE_SLOTS)
        } else {
            striped * width
        };
        HistogramCells {
            slots: Lines::new(stride * count, count > 1),
            bounds: bounds.into(),
            width,
            stride,
            mask: count - 1,
            series,
            native,
            created: SystemTime::now(),
            exemplars: Exemplars::new(series * (bounds.len() + 1)),
        }
    }

    /// The number of series.
    pub(crate) fn series(&self) -> usize {
        self.series
    }

    /// The bucket upper bounds.
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Records one observation of `value` in series `index`. A NaN is ignored, classic or
    /// native: Prometheus' own clients count it, which makes the sum NaN for good (and
    /// OpenMetrics then has no `_sum` nor `_count`).
    #[inline]
    pub(crate) fn observe(&self, index: usize, value: f64) {
        if value.is_nan() {
            return;
        }
        if let Some(native) = &self.native {
            native[index].observe(value);
        } else {
            self.observe_classic(index, value);
        }
        if let Some(trace) = crate::storage::exemplar::current_trace() {
            self.exemplar(index, trace, value);
        }
    }

    #[inline]
    fn observe_classic(&self, index: usize, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        let start = (stripes::current() & self.mask) * self.stride + index * self.width;
        self.slots[start + bucket].fetch_add(1, Ordering::Relaxed);
        let sum = &self.slots[start + self.width - 1];
        let mut current = sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match sum.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn exemplar(&self, index: usize, trace: Trace, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.exemplars.store(
            index * (self.bounds.len() + 1) + bucket,
            trace,
            value,
            clock::wall_now(),
        );
    }

    /// The exemplars of the buckets of series `index`, `+Inf` last (none when none was kept).
    pub(crate) fn exemplars(&self, index: usize, out: &mut Vec<Option<Exemplar>>) {
        let buckets = self.bounds.len() + 1;
        self.exemplars
            .read(index * buckets..(index + 1) * buckets, out);
    }

    /// A scrape's reading of series `index`'s native histogram (which takes a due reset), if
    /// the family is native.
    pub(crate) fn read_native(&self, index: usize) -> Option<NativeReading> {
        Some(self.native.as_ref()?[index].scrape())
    }

    /// Reads series `index` once: fills `cumulative` with its cumulative bucket counts (the
    /// last is the count) and returns its sum. Never resets a native histogram: it serves the
    /// getters of user code.
    pub(crate) fn read(&self, index: usize, cumulative: &mut Vec<u64>) -> f64 {
        if let Some(native) = &self.native {
            let reading = native[index].read();
            cumulative.clear();
            cumulative.extend_from_slice(&reading.classic);
            return reading.sum;
        }
        cumulative.clear();
        cumulative.resize(self.bounds.len() + 1, 0);
        let mut sum = 0.0;
        for stripe in 0..=self.mask {
            let start = stripe * self.stride + index * self.width;
            let row = &self.slots[start..start + self.width];
            for (count, slot) in cumulative.iter_mut().zip(row) {
                *count += slot.load(Ordering::Relaxed);
            }
            sum += f64::from_bits(row[self.width - 1].load(Ordering::Relaxed));
        }
        let mut running = 0;
        for count in cumulative.iter_mut() {
            running += *count;
            *count = running;
        }
        sum
    }

    /// Bytes these cells take.
    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slots.bytes()
            + self.bounds.len() * 8
            + self
                .native
                .iter()
                .flat_map(|native| native.iter())
                .map(NativeHistogram::size)
                .sum::<usize>()
            + self.exemplars.size()
            - std::mem::size_of::<Exemplars>()
    }
}

/// One reading of many cells, taken by a scrape before it writes anything, so that every
/// family showing a series (a function's counter and its histogram) shows the same reading.
#[derive(Default)]
pub(crate) struct Readings {
    values: Vec<u64>,
    /// Where each cell's reading starts in `values`, its number of buckets and of kinds.
    offsets: Vec<(usize, usize, usize)>,
}

impl Readings {
    /// Reads every cell of `cells` once.
    pub(crate) fn take<'a>(cells: impl IntoIterator<Item = &'a CallCells>) -> Readings {
        let mut readings = Readings::default();
        for cells in cells {
            readings.push(cells);
        }
        readings
    }

    /// Reads `cells`; its reading is the next index.
    pub(crate) fn push(&mut self, cells: &CallCells) {
        self.offsets
            .push((self.values.len(), cells.bounds.len() + 1, cells.kinds));
        self.values.reserve(cells.reading_len());
        cells.read_into(&mut self.values);
    }

    /// The durations of the readings at `indexes` (cells with `buckets` bounds) merged into one
    /// classic histogram: the cumulative counts written into `total` (the last, `+Inf`, the
    /// count) and the sum returned in seconds. The HTTP, gRPC and client layers write a
    /// route's or a method's durations this way, over its cells of every status.
    #[cfg(any(feature = "axum", feature = "grpc"))]
    pub(crate) fn merged_durations(
        &self,
        indexes: impl IntoIterator<Item = usize>,
        buckets: usize,
        total: &mut Vec<u64>,
    ) -> f64 {
        total.clear();
        total.resize(buckets + 1, 0);
        let mut sum_nanos = 0_u64;
        for index in indexes {
            let reading = self.get(index);
            sum_nanos += reading.sum_nanos();
            for (sum, count) in total.iter_mut().zip(reading.buckets()) {
                *sum += count;
            }
        }
        #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact past a year
        let seconds = sum_nanos as f64 / 1e9;
        seconds
    }

    /// The reading of the `index`-th cell read.
    pub(crate) fn get(&self, index: usize) -> Reading<'_> {
        let (start, buckets, kinds) = self.offsets[index];
        let len = Outcome::ALL.len() + buckets + 2 + kinds;
        Reading {
            values: &self.values[start..start + len],
            buckets,
        }
    }
}

/// One cell's reading: see [`CallCells::read_into`].
#[derive(Clone, Copy)]
pub(crate) struct Reading<'a> {
    values: &'a [u64],
    buckets: usize,
}

impl Reading<'_> {
    /// Calls that ended with `outcome`.
    pub(crate) fn calls(&self, outcome: Outcome) -> u64 {
        self.values[outcome.index()]
    }

    /// Cumulative bucket counts; the last is `+Inf`, the count.
    pub(crate) fn buckets(&self) -> &[u64] {
        &self.values[Outcome::ALL.len()..Outcome::ALL.len() + self.buckets]
    }

    /// The sum of the durations, in nanoseconds.
    pub(crate) fn sum_nanos(&self) -> u64 {
        self.values[Outcome::ALL.len() + self.buckets]
    }

    /// Calls in flight.
    pub(crate) fn in_flight(&self) -> i64 {
        // The stripes hold wrapping increments and decrements; their sum is the count.
        i64::from_ne_bytes(self.values[Outcome::ALL.len() + self.buckets + 1].to_ne_bytes())
    }

    /// Errors of kind `kind`.
    pub(crate) fn kind(&self, kind: usize) -> u64 {
        self.values[Outcome::ALL.len() + self.buckets + 2 + kind]
    }
}

#[cfg(test)]
mod tests;
