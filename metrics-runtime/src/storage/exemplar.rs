//! Exemplars: the trace of one observation, kept beside a histogram bucket or a counter so
//! that a graph can lead to a trace.
//!
//! With the `exemplars` feature, an observation made while an OpenTelemetry span is current
//! (a `tracing` span entered under `tracing-opentelemetry`, which activates the span's
//! OpenTelemetry context, or a context attached by hand) stores its trace id, span id, value
//! and time in the slot of its bucket (or counter): one exemplar per slot, the latest wins.
//! The time is the caller's, from the calibrated clock (`storage::clock`): the reading a call
//! already made, or one time-stamp read, not a read of the system clock per exemplar.
//! Outside any span an observation only looks at the current context (a thread-local read);
//! without the feature, [`current_trace`] is `None` and compiles to nothing.
//!
//! A slot is a sequence lock over six atomic words: a writer that finds another writing
//! drops its exemplar (the other is as recent), so no observation ever waits; a scrape reads
//! the words again when a writer got in between.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The trace an observation was made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trace {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
}

/// One exemplar, as a scrape reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace: Trace,
    /// The observed value (a counter's: the increment).
    pub(crate) value: f64,
    pub(crate) time: SystemTime,
}

impl Exemplar {
    /// The exemplar's labels, as OpenMetrics writes them: `trace_id="<32 hex>",span_id="<16 hex>"`,
    /// 63 characters of names and values, within OpenMetrics' limit of 128.
    pub(crate) fn labels(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(
            out,
            "trace_id=\"{:032x}\",span_id=\"{:016x}\"",
            self.trace.trace_id, self.trace.span_id
        );
    }

    /// The trace id, 32 lowercase hex digits.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    pub(crate) fn trace_id(&self) -> String {
        format!("{:032x}", self.trace.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    pub(crate) fn span_id(&self) -> String {
        format!("{:016x}", self.trace.span_id)
    }
}

/// The trace of the current OpenTelemetry span, if one is current and valid.
#[cfg(feature = "exemplars")]
#[inline]
pub(crate) fn current_trace() -> Option<Trace> {
    use opentelemetry::trace::TraceContextExt as _;
    opentelemetry::Context::map_current(|cx| {
        if !cx.has_active_span() {
            return None;
        }
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| Trace {
            trace_id: u128::from_be_bytes(context.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(context.span_id().to_bytes()),
        })
    })
}

/// Without the `exemplars` feature no observation has a trace.
#[cfg(not(feature = "exemplars"))]
#[inline(always)]
#[allow(clippy::inline_always)] // nothing to call: the branches on it disappear
pub(crate) fn current_trace() -> Option<Trace> {
    None
}

/// One exemplar's slot.
#[derive(Debug, Default)]
struct Slot {
    /// Even: stable (0: never written); odd: being written.
    sequence: AtomicU64,
    trace_high: AtomicU64,
    trace_low: AtomicU64,
    span: AtomicU64,
    value: AtomicU64,
    /// Nanoseconds since the Unix epoch.
    time: AtomicU64,
}

/// A scrape reads a slot at most this many times while writers keep getting in between.
const READ_ATTEMPTS: usize = 8;

impl Slot {
    fn store(&self, trace: Trace, value: f64, nanos: u64) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        if sequence & 1 == 1
            || self
                .sequence
                .compare_exchange(sequence, sequence + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            // Another observation is storing its exemplar right now: it is as recent.
            return;
        }
        fence(Ordering::Release);
        #[allow(clippy::cast_possible_truncation)] // the two halves of the id
        {
            self.trace_high
                .store((trace.trace_id >> 64) as u64, Ordering::Relaxed);
            self.trace_low
                .store(trace.trace_id as u64, Ordering::Relaxed);
        }
        self.span.store(trace.span_id, Ordering::Relaxed);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.time.store(nanos, Ordering::Relaxed);
        self.sequence.store(sequence + 2, Ordering::Release);
    }

    fn load(&self) -> Option<Exemplar> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.sequence.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let trace_id = u128::from(self.trace_high.load(Ordering::Relaxed)) << 64
                | u128::from(self.trace_low.load(Ordering::Relaxed));
            let span_id = self.span.load(Ordering::Relaxed);
            let value = f64::from_bits(self.value.load(Ordering::Relaxed));
            let nanos = self.time.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                return Some(Exemplar {
                    trace: Trace { trace_id, span_id },
                    value,
                    time: UNIX_EPOCH + Duration::from_nanos(nanos),
                });
            }
        }
        None
    }
}

/// The exemplar slots of one set of buckets or counters, allocated at the first exemplar: a
/// program that never records in a span spends a pointer on them.
#[derive(Debug)]
pub(crate) struct Exemplars {
    slots: std::sync::OnceLock<Box<[Slot]>>,
    len: usize,
}

impl Exemplars {
    /// Slots for `len` buckets or counters.
    pub(crate) const fn new(len: usize) -> Exemplars {
        Exemplars {
            slots: std::sync::OnceLock::new(),
            len,
        }
    }

    /// Stores the exemplar of an observation of `value` made at `nanos` (since the Unix
    /// epoch) in slot `index` (out of range: none).
    #[inline]
    pub(crate) fn store(&self, index: usize, trace: Trace, value: f64, nanos: u64) {
        let slots = self
            .slots
            .get_or_init(|| (0..self.len).map(|_| Slot::default()).collect());
        if let Some(slot) = slots.get(index) {
            slot.store(trace, value, nanos);
        }
    }

    /// The exemplar of slot `index`, if one was stored.
    pub(crate) fn get(&self, index: usize) -> Option<Exemplar> {
        self.slots.get()?.get(index)?.load()
    }

    /// The exemplars of slots `range`, in order (empty when none was ever stored).
    pub(crate) fn read(&self, range: std::ops::Range<usize>, out: &mut Vec<Option<Exemplar>>) {
        out.clear();
        if let Some(slots) = self.slots.get() {
            out.extend(slots[range].iter().map(Slot::load));
        }
    }

    /// Bytes the slots take.
    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .slots
                .get()
                .map_or(0, |slots| slots.len() * std::mem::size_of::<Slot>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: Trace = Trace {
        trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
        span_id: 0xb7ad_6b71_6920_3331,
    };

    #[test]
    fn the_latest_wins() {
        let exemplars = Exemplars::new(3);
        assert_eq!(exemplars.get(1), None);
        assert_eq!(exemplars.size(), std::mem::size_of::<Exemplars>());
        exemplars.store(1, TRACE, 0.25, 1_000);
        let second = Trace {
            trace_id: 7,
            span_id: 9,
        };
        exemplars.store(1, second, 0.5, 1_765_000_000_123_456_789);
        exemplars.store(5, TRACE, 1.0, 2_000);
        let read = exemplars.get(1).unwrap();
        assert_eq!((read.trace, read.value), (second, 0.5));
        assert_eq!(
            read.time,
            UNIX_EPOCH + Duration::from_nanos(1_765_000_000_123_456_789)
        );
        let mut out = Vec::new();
        exemplars.read(0..3, &mut out);
        assert_eq!(out.iter().filter(|e| e.is_some()).count(), 1);
    }

    #[test]
    fn labels_fit_the_openmetrics_limit() {
        let exemplar = Exemplar {
            trace: TRACE,
            value: 1.0,
            time: UNIX_EPOCH,
        };
        let mut labels = String::new();
        exemplar.labels(&mut labels);
        assert_eq!(
            labels,
            r#"trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331""#
        );
        // Names and values, without quotes, `=` and `,`: OpenMetrics allows 128 characters.
        let counted = labels.chars().filter(|c| !"\"=,".contains(*c)).count();
        assert_eq!(counted, 63);
        assert_eq!(exemplar.trace_id().len(), 32);
        assert_eq!(exemplar.span_id(), "b7ad6b7169203331");
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        let exemplars = Exemplars::new(1);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for writer in 1..=2u64 {
                let (exemplars, stop) = (&exemplars, &stop);
                scope.spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let id = writer << 32 | (i & 0xffff);
                        // Every word derives from `id`: a torn read would mix two.
                        #[allow(clippy::cast_precision_loss)]
                        let value = id as f64;
                        let trace = Trace {
                            trace_id: u128::from(id) << 64 | u128::from(id),
                            span_id: id,
                        };
                        exemplars.store(0, trace, value, id);
                    }
                });
            }
            let mut seen = 0;
            while seen < 20_000 {
                if let Some(read) = exemplars.get(0) {
                    let id = read.trace.span_id;
                    assert_eq!(read.trace.trace_id, u128::from(id) << 64 | u128::from(id));
                    #[allow(clippy::cast_precision_loss)]
                    let value = id as f64;
                    assert_eq!(read.value.to_bits(), value.to_bits());
                    assert_eq!(read.time, UNIX_EPOCH + Duration::from_nanos(id));
                    seen += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
}
