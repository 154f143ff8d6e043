//! What the benchmarks share: a thread's CPU time as a clock, the means criterion saved, and
//! the resident memory of the process.
//!
//! The machine is shared: while other processes keep both cores busy, a benchmark's thread
//! waits for a core and wall time counts the wait. A thread's CPU time does not; it still
//! counts what the code itself costs, cache misses and contended cache lines included.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Which clock a benchmark reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Elapsed time.
    Wall,
    /// The CPU time of the measuring thread (`CLOCK_THREAD_CPUTIME_ID`).
    Cpu,
}

impl Clock {
    /// `BENCH_CLOCK=cpu` for CPU time; wall time otherwise.
    pub fn from_env() -> Clock {
        match std::env::var("BENCH_CLOCK").as_deref() {
            Ok("cpu") => Clock::Cpu,
            _ => Clock::Wall,
        }
    }

    /// A reading of this clock, in the current thread.
    pub fn now(self) -> Duration {
        match self {
            Clock::Wall => {
                // The monotonic clock, as `Instant` reads it.
                let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
                timespec(now)
            }
            Clock::Cpu => thread_cpu_time(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Clock::Wall => "wall time",
            Clock::Cpu => "CPU time of the measuring thread",
        }
    }
}

fn timespec(now: rustix::time::Timespec) -> Duration {
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// The CPU time the current thread has used.
pub fn thread_cpu_time() -> Duration {
    timespec(rustix::time::clock_gettime(
        rustix::time::ClockId::ThreadCPUTime,
    ))
}

/// Criterion's measurement of a thread's CPU time: `Criterion::default().with_measurement(ThreadCpu)`.
pub struct ThreadCpu;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_time()
    }

    fn end(&self, started: Duration) -> Duration {
        thread_cpu_time().saturating_sub(started)
    }

    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, as wall time is shown.
        WALL.formatter()
    }
}

/// The mean of one benchmark, in nanoseconds, from criterion's saved estimates.
pub fn mean_ns(id: &str) -> f64 {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let read = || -> Option<f64> {
        let json =
            std::fs::read_to_string(format!("{dir}/criterion/{id}/new/estimates.json")).ok()?;
        let mean = &json[json.find("\"mean\"")?..];
        let key = "\"point_estimate\":";
        let value = &mean[mean.find(key)? + key.len()..];
        value[..value.find([',', '}'])?].trim().parse().ok()
    };
    read().unwrap_or(f64::NAN)
}

/// Resident memory, in bytes, from `/proc/self/statm`.
pub fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

/// Bytes allocated and not yet freed, counted by [`Counting`] when a benchmark installs it.
pub static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting what is live in [`LIVE`]: a benchmark that measures memory
/// installs it with `#[global_allocator] static ALLOCATOR: common::Counting = common::Counting;`.
pub struct Counting;

// SAFETY: forwards to the system allocator and only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    // Forwarded rather than left to the default (allocate, copy, free), so that a growing
    // buffer costs what it costs without the counting.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
