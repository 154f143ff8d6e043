//! Which stripe of a set of cells a write goes to: the stripe of the CPU the thread runs on,
//! so that two threads write to one stripe only when they take turns on one CPU, never while
//! they run at the same time on two (up to [`MAX_STRIPES`] CPUs; past that, CPUs share).
//!
//! Where the CPU number comes from:
//! - Linux with glibc 2.35 or later (x86-64, AArch64): glibc registers a restartable sequence
//!   area (`rseq`) for every thread, in which the kernel keeps the number of the CPU the
//!   thread runs on. Reading it is one load from the thread's own memory (~0.4 ns here).
//! - Other Linux (musl, an older glibc, another architecture, `rseq` refused by a seccomp
//!   profile or turned off with `GLIBC_TUNABLES=glibc.pthread.rseq=0`): `sched_getcpu`, which
//!   the vDSO answers without entering the kernel (~2 ns here).
//! - Elsewhere: a number per thread, given at its first write; threads spread evenly over the
//!   stripes, but two that run at once may share one (what every write did before).
//!
//! The CPU can change between reading its number and writing: the write is still atomic, so
//! it only shares a line for that once. A scrape sums every stripe, so totals are exact
//! whichever stripe a write went to.

use std::cell::Cell;
use std::sync::LazyLock;
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use std::sync::atomic::AtomicIsize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most stripes a set of cells has: beyond 16 CPUs, CPUs share stripes (CPU `i` of the
/// process' CPUs writes to stripe `i % 16`) so that memory per series stays bounded.
pub(crate) const MAX_STRIPES: usize = 16;

/// Where a thread's CPU number is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// glibc's `rseq` area, at this offset from the thread pointer.
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    Rseq(isize),
    /// `sched_getcpu`.
    #[cfg(target_os = "linux")]
    GetCpu,
    /// No CPU number: a number per thread.
    Threads,
}

/// The stripes of this process: how many, and which one each CPU writes to.
#[derive(Debug)]
pub(crate) struct Stripes {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) source: Source,
    /// A power of two, at most [`MAX_STRIPES`].
    pub(crate) count: usize,
    /// The stripe of each CPU number; CPUs past its end use the per-thread number.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    table: Box<[u8]>,
    /// Whether the stripe of CPU `i` is `i % count` (the CPUs are numbered from 0 without
    /// gaps, as on most machines): no table to read.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    direct: bool,
}

static STRIPES: LazyLock<Stripes> = LazyLock::new(Stripes::detect);

/// The stripes of this process.
#[cfg(test)]
pub(crate) fn stripes() -> &'static Stripes {
    &STRIPES
}

/// The number of stripes: a power of two, at least the CPUs the process may run on (at most
/// [`MAX_STRIPES`]).
pub(crate) fn count() -> usize {
    STRIPES.count
}

/// The offset from the thread pointer of the CPU number in glibc's `rseq` area, once the
/// stripes are known and are that number masked (`rseq` registered, the CPUs numbered from 0
/// without gaps); [`GENERAL`] otherwise. The one word the hot path reads.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
static DIRECT: AtomicIsize = AtomicIsize::new(GENERAL);
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
const GENERAL: isize = isize::MIN;

/// The stripe the current thread writes to now, to be masked by the caller with its own
/// stripe count less one (a power of two, at most [`count`]): the bits above [`count`]'s
/// are not cleared here, the caller's mask clears them. Cells with fewer stripes than
/// [`count`] keep CPUs on distinct stripes as far as their count allows.
#[inline]
pub(crate) fn current() -> usize {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        let offset = DIRECT.load(Ordering::Acquire);
        if offset != GENERAL {
            return rseq::cpu(offset);
        }
    }
    general()
}

/// [`current`] by the source found when the stripes were first used.
#[cfg(target_os = "linux")]
#[inline(never)]
fn general() -> usize {
    let stripes = &*STRIPES;
    let cpu = match stripes.source {
        #[cfg(all(
            target_env = "gnu",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        Source::Rseq(offset) => rseq::cpu(offset),
        Source::GetCpu => linux::getcpu(),
        Source::Threads => return thread_number() & (stripes.count - 1),
    };
    if stripes.direct {
        return cpu & (stripes.count - 1);
    }
    match stripes.table.get(cpu) {
        Some(stripe) => usize::from(*stripe),
        None => thread_number() & (stripes.count - 1),
    }
}

/// [`current`] where no CPU number is known: the thread's number.
#[cfg(not(target_os = "linux"))]
#[inline]
fn general() -> usize {
    thread_number() & (STRIPES.count - 1)
}

impl Stripes {
    fn detect() -> Stripes {
        let cpus = allowed_cpus();
        let count = cpus.len().next_power_of_two().clamp(1, MAX_STRIPES);
        let source = Source::detect();
        // The CPUs the process may run on, in order, take the stripes in turn, so that any
        // `count` of them have a stripe each; the others (the process may be moved to them)
        // wrap by number.
        let len = cpus
            .iter()
            .max()
            .map_or(0, |cpu| cpu + 1)
            .max(possible_cpus());
        #[allow(clippy::cast_possible_truncation)] // below MAX_STRIPES
        let mut table: Box<[u8]> = (0..len).map(|cpu| (cpu % count) as u8).collect();
        for (turn, cpu) in cpus.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation)] // below MAX_STRIPES
            {
                table[*cpu] = (turn % count) as u8;
            }
        }
        if source == Source::Threads {
            table = Box::new([]);
        }
        let direct = table
            .iter()
            .enumerate()
            .all(|(cpu, stripe)| usize::from(*stripe) == cpu % count);
        #[cfg(all(
            target_os = "linux",
            target_env = "gnu",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        if let (Source::Rseq(offset), true) = (source, direct) {
            DIRECT.store(offset, Ordering::Release);
        }
        Stripes {
            source,
            count,
            table,
            direct,
        }
    }

    /// The stripe of CPU number `cpu`, if the CPU is known.
    #[cfg(test)]
    pub(crate) fn of_cpu(&self, cpu: usize) -> Option<usize> {
        self.table.get(cpu).map(|stripe| usize::from(*stripe))
    }
}

impl Source {
    #[cfg(all(
        target_os = "linux",
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    fn detect() -> Source {
        match rseq::offset() {
            Some(offset) => Source::Rseq(offset),
            None => Source::GetCpu,
        }
    }

    #[cfg(all(
        target_os = "linux",
        not(all(
            target_env = "gnu",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))
    ))]
    fn detect() -> Source {
        Source::GetCpu
    }

    #[cfg(not(target_os = "linux"))]
    fn detect() -> Source {
        Source::Threads
    }
}

/// The next thread number to give.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's number, given on first use.
    static THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The current thread's number (the fallback where no CPU number is known).
#[inline]
fn thread_number() -> usize {
    THREAD.with(|number| {
        let known = number.get();
        if known != usize::MAX {
            return known;
        }
        let given = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        number.set(given);
        given
    })
}

/// The numbers of the CPUs the process may run on, ascending.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    linux::affinity().unwrap_or_else(|| (0..possible_cpus()).collect())
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    (0..possible_cpus()).collect()
}

/// The CPUs of the machine as far as the standard library knows.
fn possible_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The calls into the C library: the CPU of the thread and the CPUs of the process.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod linux {
    /// The CPU the thread runs on (`usize::MAX` if the call fails).
    #[inline]
    pub(super) fn getcpu() -> usize {
        // SAFETY: `sched_getcpu` takes no arguments and only reads the calling thread's CPU.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).unwrap_or(usize::MAX)
    }

    /// The CPUs in the process' affinity mask.
    pub(super) fn affinity() -> Option<Vec<usize>> {
        // SAFETY: a zeroed `cpu_set_t` is a valid empty set; `sched_getaffinity` writes at
        // most `size_of::<cpu_set_t>()` bytes into it.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw mut set) != 0
            {
                return None;
            }
            set
        };
        let bits = std::mem::size_of::<libc::cpu_set_t>() * 8;
        // SAFETY: `CPU_ISSET` reads bit `cpu` of a set it is given by reference, within its size.
        let cpus: Vec<usize> = (0..bits)
            .filter(|cpu| unsafe { libc::CPU_ISSET(*cpu, &set) })
            .collect();
        (!cpus.is_empty()).then_some(cpus)
    }
}

/// glibc's `rseq` area: found once by name, then read with one load per write.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[allow(unsafe_code)]
mod rseq {
    /// Where the kernel keeps the thread's CPU in the area (`struct rseq`: `cpu_id_start`,
    /// then `cpu_id`, both `u32`).
    const CPU_ID: isize = 4;

    /// The offset of the area from the thread pointer, if glibc registered one for every
    /// thread (glibc 2.35 or later, `__rseq_size` not 0) and the kernel keeps it up to date.
    pub(super) fn offset() -> Option<isize> {
        // SAFETY: `dlsym` with `RTLD_DEFAULT` looks a symbol up by a NUL-terminated name; a
        // found `__rseq_size` is glibc's `const unsigned int`, `__rseq_offset` its `const
        // ptrdiff_t`, both set before `main` and never written again.
        let (size, offset) = unsafe {
            let size = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr());
            let offset = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr());
            if size.is_null() || offset.is_null() {
                return None;
            }
            (size.cast::<u32>().read(), offset.cast::<isize>().read())
        };
        if size == 0 {
            return None;
        }
        // Registration can still have failed for this thread: the kernel then never wrote a
        // CPU number, and the field holds -1 or -2.
        (cpu(offset) < usize::try_from(u32::MAX >> 1).unwrap_or(usize::MAX)).then_some(offset)
    }

    /// The CPU the current thread runs on.
    #[inline]
    pub(super) fn cpu(offset: isize) -> usize {
        let cpu: u32;
        // SAFETY: glibc registered the area of every thread at `offset` from the thread
        // pointer (checked by `offset`) and it lives as long as the thread; the kernel writes
        // the CPU number only while the thread is not running, so one aligned 4-byte read
        // sees a whole value. On x86-64 the thread pointer is the `fs` base: one load
        // relative to it. On AArch64 it is `tpidr_el0`. No memory is written, no flag changed.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!(
                "mov {cpu:e}, dword ptr fs:[{at}]",
                cpu = out(reg) cpu,
                at = in(reg) offset + CPU_ID,
                options(nostack, readonly, preserves_flags)
            );
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!(
                "mrs {thread}, tpidr_el0",
                "ldr {cpu:w}, [{thread}, {at}]",
                thread = out(reg) _,
                cpu = out(reg) cpu,
                at = in(reg) offset + CPU_ID,
                options(nostack, readonly, preserves_flags)
            );
        }
        cpu as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stripe_for_each_cpu_up_to_sixteen() {
        let stripes = stripes();
        assert!(stripes.count.is_power_of_two() && stripes.count <= MAX_STRIPES);
        assert!(stripes.count >= allowed_cpus().len().min(MAX_STRIPES));
    }

    /// Each CPU the process may run on writes to its own stripe, as far as there are
    /// stripes; a thread moved to a CPU writes to that CPU's stripe.
    #[cfg(target_os = "linux")]
    #[test]
    #[allow(unsafe_code)]
    fn each_cpu_has_its_stripe() {
        let stripes = stripes();
        let cpus = allowed_cpus();
        let mut seen: Vec<usize> = cpus
            .iter()
            .take(stripes.count)
            .map(|cpu| stripes.of_cpu(*cpu).unwrap())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), cpus.len().min(stripes.count), "{stripes:?}");
        if stripes.source == Source::Threads {
            return;
        }
        for cpu in cpus {
            std::thread::spawn(move || {
                // SAFETY: a zeroed set is empty; the set is given by reference, in its size.
                let pinned = unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(cpu, &mut set);
                    libc::sched_setaffinity(
                        0,
                        std::mem::size_of::<libc::cpu_set_t>(),
                        &raw const set,
                    ) == 0
                };
                assert!(pinned, "could not move a thread to CPU {cpu}");
                assert_eq!(linux::getcpu(), cpu);
                assert_eq!(
                    Some(current() & (stripes.count - 1)),
                    stripes.of_cpu(cpu),
                    "{:?}",
                    stripes.source
                );
            })
            .join()
            .unwrap();
        }
    }

    /// Where glibc registers `rseq` (glibc 2.35 or later, as on Debian 12), its CPU number is
    /// the one `sched_getcpu` gives. Fails where it is not registered, unless turned off on
    /// purpose, so that a machine falling back to `sched_getcpu` is noticed.
    #[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
    #[test]
    fn rseq_reads_the_cpu_sched_getcpu_gives() {
        let Source::Rseq(offset) = stripes().source else {
            let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
            assert!(
                tunables.contains("rseq=0"),
                "glibc registered no rseq area: {:?}",
                stripes().source
            );
            return;
        };
        // The thread may move between the two reads; it cannot keep moving.
        let agreed = (0..1000).any(|_| rseq::cpu(offset) == linux::getcpu());
        assert!(agreed);
    }
}
