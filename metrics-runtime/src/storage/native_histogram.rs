//! The cells of one native histogram series: Prometheus' sparse, exponential buckets (a
//! schema, a zero bucket, positive and negative buckets), with the classic buckets of the same
//! series beside them, so that one reading gives both from the same observations. What they
//! are, how they are configured and what they cost is the public module's doc (`config.rs`,
//! `instrument_metric::native_histogram`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

pub mod config;
mod reading;
mod schema;
#[cfg(test)]
#[allow(clippy::float_cmp)] // sums and bounds compared are exact
mod tests;
mod window;

#[cfg(test)]
use config::{DEFAULT_ZERO_THRESHOLD, MAX_SCHEMA};
pub(crate) use config::{MIN_SCHEMA, NativeConfig, NativeConfigError};
pub use reading::{NativeReading, Span};
use reading::{Plan, spans_and_deltas};
pub use schema::bucket_bounds;
use schema::{bucket_key, classic_bucket, coarser};
use window::{
    Control, Counted, FIRST_BLOCK, HOT_BIT, Half, MIN_WINDOW_LIMIT, STARTED, Side, WINDOW_CAPACITY,
    Window, add_f64, lock,
};

/// The cells of one native histogram series, with its classic buckets. See the
/// [`native_histogram`](crate::native_histogram) module's documentation.
///
/// ```
/// use instrument_metric::__private::native_histogram::NativeHistogram;
/// use instrument_metric::native_histogram::NativeConfig;
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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
        // Room for every bucket with observations on either side at once: two allocations per
        // reading rather than one per doubling.
        let populated = self.populated.load(Ordering::Relaxed) as usize;
        let mut positive = Vec::with_capacity(populated);
        let mut negative = Vec::with_capacity(populated);
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
    /// use instrument_metric::__private::native_histogram::NativeHistogram;
    /// use instrument_metric::native_histogram::NativeConfig;
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
