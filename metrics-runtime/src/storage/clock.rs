//! The clock of every call, and the wall-clock time of its readings.
//!
//! A call reads a calibrated time-stamp counter (`quanta`: the TSC where the CPU has a stable
//! one, the monotonic clock elsewhere) when it starts and when it ends. An exemplar needs the
//! wall-clock time of its observation: rather than a second, slower read of the system clock,
//! the time of a reading is computed from an anchor, one reading of both clocks taken
//! together. The anchor is taken again on the first exemplar more than [`REANCHOR_NANOS`]
//! after it, so the two clocks drifting apart (NTP slews the system clock by at most 500 ppm)
//! or the system clock being set moves an exemplar's time for at most that long: drift alone
//! keeps it within 0.5 ms of the system clock.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{SystemTime, UNIX_EPOCH};

/// The clock of every call: a calibrated TSC read when the CPU has a stable one.
pub(crate) static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// How long an anchor serves: one read of the system clock per second at most, whatever the
/// number of exemplars.
pub(crate) const REANCHOR_NANOS: u64 = 1_000_000_000;

/// The wall-clock time of the readings of [`CLOCK`].
static WALL: LazyLock<Anchor> =
    LazyLock::new(|| Anchor::new(CLOCK.clone(), Box::new(system_nanos), REANCHOR_NANOS));

/// Nanoseconds since the Unix epoch of the reading `raw` of [`CLOCK`].
#[inline]
pub(crate) fn wall_nanos(raw: u64) -> u64 {
    WALL.nanos_at(raw)
}

/// Nanoseconds since the Unix epoch, now, from [`CLOCK`] (one time-stamp read).
#[inline]
pub(crate) fn wall_now() -> u64 {
    WALL.nanos_at(CLOCK.raw())
}

/// Nanoseconds since the Unix epoch, now, from the system clock.
pub(crate) fn system_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// One reading of a clock and of the wall clock taken together, and what to re-read them
/// with.
pub(crate) struct Anchor {
    clock: quanta::Clock,
    wall: Box<dyn Fn() -> u64 + Send + Sync>,
    every: u64,
    /// Even: stable; odd: being taken again.
    sequence: AtomicU64,
    raw: AtomicU64,
    nanos: AtomicU64,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor")
            .field("raw", &self.raw)
            .field("nanos", &self.nanos)
            .finish_non_exhaustive()
    }
}

impl Anchor {
    /// An anchor of `clock` to `wall` (nanoseconds since the Unix epoch), taken again on the
    /// first reading more than `every` nanoseconds after it.
    pub(crate) fn new(
        clock: quanta::Clock,
        wall: Box<dyn Fn() -> u64 + Send + Sync>,
        every: u64,
    ) -> Anchor {
        let (raw, nanos, _) = pair(&clock, &*wall);
        Anchor {
            clock,
            wall,
            every,
            sequence: AtomicU64::new(0),
            raw: AtomicU64::new(raw),
            nanos: AtomicU64::new(nanos),
        }
    }

    /// The wall-clock time of the reading `raw` of the clock.
    #[inline]
    pub(crate) fn nanos_at(&self, raw: u64) -> u64 {
        let Some((anchor_raw, anchor_nanos)) = self.read() else {
            // Another thread is taking the anchor again (and may be preempted doing so): no
            // waiting for it, both clocks are read here instead.
            return self.take(raw);
        };
        if raw < anchor_raw {
            // Read before another thread took the anchor again.
            return anchor_nanos.saturating_sub(self.clock.delta_as_nanos(raw, anchor_raw));
        }
        let since = self.clock.delta_as_nanos(anchor_raw, raw);
        if since > self.every {
            return self.take(raw);
        }
        anchor_nanos.saturating_add(since)
    }

    /// The anchor, both words of one taking; `None` while another thread is taking it again.
    #[inline]
    fn read(&self) -> Option<(u64, u64)> {
        let before = self.sequence.load(Ordering::Acquire);
        let raw = self.raw.load(Ordering::Relaxed);
        let nanos = self.nanos.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (before & 1 == 0 && self.sequence.load(Ordering::Relaxed) == before).then_some((raw, nanos))
    }

    /// Takes the anchor again and returns the time of `raw` by both clocks read now; another
    /// thread taking it at the same time leaves it to that thread.
    #[cold]
    #[inline(never)]
    fn take(&self, raw: u64) -> u64 {
        let (now_raw, now_nanos, tight) = pair(&self.clock, &*self.wall);
        let sequence = self.sequence.load(Ordering::Relaxed);
        if tight
            && sequence & 1 == 0
            && self
                .sequence
                .compare_exchange(sequence, sequence + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            fence(Ordering::Release);
            self.raw.store(now_raw, Ordering::Relaxed);
            self.nanos.store(now_nanos, Ordering::Relaxed);
            self.sequence.store(sequence + 2, Ordering::Release);
        }
        if raw > now_raw {
            return now_nanos.saturating_add(self.clock.delta_as_nanos(now_raw, raw));
        }
        now_nanos.saturating_sub(self.clock.delta_as_nanos(raw, now_raw))
    }
}

/// How far apart the two reads of the clock around a read of the wall clock may be for the
/// three to make an anchor: a thread preempted between them would otherwise pair a reading
/// with a wall time read milliseconds later, and every exemplar of the next second would
/// carry the gap.
const PAIR_NANOS: u64 = 50_000;

/// A reading of `clock` and the wall time at it: the clock read before and after the wall
/// clock, the reading their midpoint; `true` if the two reads were within [`PAIR_NANOS`]
/// (tried a few times; the last try is returned otherwise).
fn pair(clock: &quanta::Clock, wall: &(dyn Fn() -> u64 + Send + Sync)) -> (u64, u64, bool) {
    let mut last = (0, 0, false);
    for _ in 0..4 {
        let before = clock.raw();
        let nanos = wall();
        let after = clock.raw();
        let midpoint = before + after.saturating_sub(before) / 2;
        last = (
            midpoint,
            nanos,
            clock.delta_as_nanos(before, after) <= PAIR_NANOS,
        );
        if last.2 {
            break;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    const MS: u64 = 1_000_000;

    /// A simulated system clock: the mock clock's time since the start, at `rate` parts per
    /// million fast, plus an offset a test sets (the clock being set); and how often it was
    /// read.
    struct Wall {
        mock: Arc<quanta::Mock>,
        start: u64,
        ppm: i64,
        offset: AtomicI64,
        reads: AtomicU64,
    }

    impl Wall {
        fn now(&self) -> u64 {
            let elapsed = i64::try_from(self.mock.value()).unwrap();
            let drift = elapsed / 1_000_000 * self.ppm;
            let nanos = i64::try_from(self.start).unwrap()
                + elapsed
                + drift
                + self.offset.load(Ordering::Relaxed);
            u64::try_from(nanos).unwrap()
        }
    }

    fn anchored(ppm: i64) -> (quanta::Clock, Arc<Wall>, Anchor) {
        let (clock, mock) = quanta::Clock::mock();
        let wall = Arc::new(Wall {
            mock,
            start: system_nanos(),
            ppm,
            offset: AtomicI64::new(0),
            reads: AtomicU64::new(0),
        });
        let read = Arc::clone(&wall);
        let anchor = Anchor::new(
            clock.clone(),
            Box::new(move || {
                read.reads.fetch_add(1, Ordering::Relaxed);
                read.now()
            }),
            REANCHOR_NANOS,
        );
        (clock, wall, anchor)
    }

    fn gap(a: u64, b: u64) -> u64 {
        a.abs_diff(b)
    }

    #[test]
    fn the_time_of_a_reading_is_the_wall_clock_without_reading_it() {
        let (clock, wall, anchor) = anchored(0);
        for _ in 0..1000 {
            wall.mock.increment(100_000); // 0.1 ms
            assert_eq!(anchor.nanos_at(clock.raw()), wall.now());
        }
        // 100 ms of readings: the anchor served them all.
        assert_eq!(wall.reads.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_clock_set_forward_or_back_is_followed_at_the_next_anchor() {
        for offset in [3_000_000_000, -3_000_000_000] {
            let (clock, wall, anchor) = anchored(0);
            wall.mock.increment(200 * MS);
            wall.offset.store(offset, Ordering::Relaxed);
            // Until the anchor is a second old, the time follows the counter...
            let before = anchor.nanos_at(clock.raw());
            assert_eq!(gap(before, wall.now()), 3_000 * MS);
            // ...then the first exemplar takes the anchor again, and from there on every
            // time is within a millisecond of the clock that was set.
            wall.mock.increment(REANCHOR_NANOS);
            for _ in 0..50 {
                assert!(gap(anchor.nanos_at(clock.raw()), wall.now()) < MS);
                wall.mock.increment(37 * MS);
            }
            assert_eq!(wall.reads.load(Ordering::Relaxed), 3);
        }
    }

    #[test]
    fn drift_is_corrected_before_it_reaches_a_millisecond() {
        // A system clock 500 ppm fast (the most NTP slews), over 60 s of exemplars.
        let (clock, wall, anchor) = anchored(500);
        let mut worst = 0;
        for _ in 0..6_000 {
            wall.mock.increment(10 * MS);
            worst = worst.max(gap(anchor.nanos_at(clock.raw()), wall.now()));
        }
        assert!(worst < MS, "{worst} ns");
        // Without taking it again, the gap would have reached 30 ms.
        assert!(wall.reads.load(Ordering::Relaxed) <= 61);
    }

    /// Threads reading while the anchor is taken again and again get times within a
    /// millisecond, without waiting for the thread taking it.
    #[test]
    fn times_stay_consistent_while_the_anchor_is_taken_again() {
        let (clock, wall, anchor) = anchored(0);
        let anchor = Anchor { every: 0, ..anchor };
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..20_000 {
                        let raw = clock.raw();
                        let time = anchor.nanos_at(raw);
                        // The mock clock's reading is its nanoseconds since the start.
                        let truth = wall.start + raw;
                        assert!(gap(time, truth) < MS, "{time} {truth}");
                    }
                });
            }
            for _ in 0..20_000 {
                wall.mock.increment(1_000);
                anchor.nanos_at(clock.raw());
            }
        });
    }

    /// A thread preempted between the reads of the two clocks (here: 5 ms pass inside the
    /// wall clock's read, once) makes no anchor of them: it reads them again.
    #[test]
    fn a_taking_interrupted_between_the_clocks_is_taken_again() {
        let (clock, mock) = quanta::Clock::mock();
        let mock = Arc::new(mock);
        let start = system_nanos();
        let reads = Arc::new(AtomicU64::new(0));
        let (read_mock, read_reads) = (Arc::clone(&mock), Arc::clone(&reads));
        let anchor = Anchor::new(
            clock.clone(),
            Box::new(move || {
                if read_reads.fetch_add(1, Ordering::Relaxed) == 1 {
                    read_mock.increment(5 * MS);
                }
                start + read_mock.value()
            }),
            REANCHOR_NANOS,
        );
        mock.increment(REANCHOR_NANOS + 1);
        for _ in 0..10 {
            // The mock clock's reading is its nanoseconds: the wall time of `raw` is known.
            let raw = clock.raw();
            let time = anchor.nanos_at(raw);
            assert!(gap(time, start + raw) < MS, "{}", gap(time, start + raw));
            mock.increment(MS);
        }
        assert_eq!(
            reads.load(Ordering::Relaxed),
            3,
            "the interrupted read was read again"
        );
    }

    #[test]
    fn a_reading_taken_before_the_anchor_is_before_it() {
        let (clock, wall, anchor) = anchored(0);
        let early = clock.raw();
        wall.mock.increment(1_500 * MS);
        let now = anchor.nanos_at(clock.raw());
        assert_eq!(anchor.nanos_at(early), now - 1_500 * MS);
    }

    #[test]
    fn the_process_clock_is_within_a_millisecond_of_the_system_clock() {
        for _ in 0..100 {
            let before = system_nanos();
            let time = wall_now();
            let after = system_nanos();
            assert!(
                time + MS >= before && time <= after + MS,
                "{before} {time} {after}"
            );
        }
    }
}
