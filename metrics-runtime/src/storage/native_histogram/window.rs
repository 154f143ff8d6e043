//! Where a native histogram's bucket counts live: for each sign, a window of consecutive bucket
//! numbers per half (observations go to the hot half while a reading drains the other), in
//! blocks allocated as a window grows; the ticket word that says which half is hot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Instant, SystemTime};

/// Bucket numbers in the first block of a window; block `k` holds `FIRST_BLOCK << k`.
pub(super) const FIRST_BLOCK: u32 = 16;

/// Blocks of a window.
pub(super) const BLOCKS: usize = 8;

/// The widest window: every block.
pub(super) const WINDOW_CAPACITY: u32 = FIRST_BLOCK * ((1 << BLOCKS) - 1);

/// The narrowest limit on a window's width: every `f64` fits in 133 buckets in schema -4.
pub(super) const MIN_WINDOW_LIMIT: u32 = 160;

/// The hot half's index in the ticket word.
pub(super) const HOT_BIT: u64 = 1 << 63;

/// The observations started, in the ticket word.
pub(super) const STARTED: u64 = HOT_BIT - 1;

#[inline]
pub(super) fn add_f64(slot: &AtomicU64, value: f64) {
    let mut current = slot.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + value).to_bits();
        match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds whole data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The buckets of one sign: a window of consecutive bucket numbers per half, in blocks
/// allocated as the window grows and shared by the halves (slot `2 * n + half` of a block).
#[derive(Debug, Default)]
pub(super) struct Side {
    /// The first bucket number of each half's window.
    pub(super) low: [AtomicI32; 2],
    /// The width of each half's window.
    pub(super) width: [AtomicU32; 2],
    pub(super) blocks: [OnceLock<Box<[AtomicU64]>>; BLOCKS],
}

impl Side {
    /// Block and place in it of the `offset`-th bucket of a window.
    #[inline]
    pub(super) fn place(offset: u32) -> (usize, usize) {
        let shifted = offset + FIRST_BLOCK;
        let block = shifted.ilog2() - FIRST_BLOCK.ilog2();
        let place = shifted - (FIRST_BLOCK << block);
        (block as usize, place as usize)
    }

    #[inline]
    pub(super) fn slot(&self, offset: u32, half: usize) -> Option<&AtomicU64> {
        let (block, place) = Self::place(offset);
        self.blocks.get(block)?.get()?.get(2 * place + half)
    }

    /// Allocates the blocks a window of `width` needs.
    pub(super) fn reserve(&self, width: u32) {
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

    pub(super) fn set_window(&self, half: usize, window: Window) {
        self.reserve(window.width);
        self.low[half].store(window.low, Ordering::Relaxed);
        self.width[half].store(window.width, Ordering::Relaxed);
    }

    /// Calls `each(bucket number, slot)` for every slot of `half`'s window.
    pub(super) fn for_each(&self, half: usize, mut each: impl FnMut(i32, &AtomicU64)) {
        self.for_each_pair(half, |key, pair| each(key, &pair[half]));
    }

    /// Calls `each(bucket number, [slot of half 0, slot of half 1])` for every bucket number
    /// of `half`'s window, block by block.
    pub(super) fn for_each_pair(&self, half: usize, mut each: impl FnMut(i32, &[AtomicU64])) {
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

    pub(super) fn bytes(&self) -> usize {
        self.blocks
            .iter()
            .filter_map(OnceLock::get)
            .map(|block| block.len() * 8)
            .sum()
    }
}

/// A window: the bucket numbers `low..low + width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct Window {
    pub(super) low: i32,
    pub(super) width: u32,
}

impl Window {
    pub(super) fn holds(self, key: i32) -> bool {
        u32::try_from(key - self.low).is_ok_and(|offset| offset < self.width)
    }
}

/// What one half holds besides the window slots and classic counts.
#[derive(Debug, Default)]
pub(super) struct Half {
    pub(super) schema: AtomicI32,
    /// The sum's bits.
    pub(super) sum: AtomicU64,
    pub(super) zero: AtomicU64,
    /// Buckets outside this half's windows: (negative, bucket number) to count.
    pub(super) outside: Mutex<BTreeMap<(bool, i32), u64>>,
}

/// What only a reading, a window move or a reset changes, under one lock.
#[derive(Debug)]
pub(super) struct Control {
    pub(super) created: SystemTime,
    pub(super) last_reset: Instant,
    /// When a histogram whose resolution was reduced is reset.
    pub(super) reset_due: Option<Instant>,
}

/// How a native bucket was counted.
pub(super) enum Counted {
    /// In a bucket that had observations.
    Known,
    /// In a bucket of the window that had none.
    NewBucket,
    /// Outside the windows, in a bucket that had none: the windows may have to move.
    NewOutside,
}
