#![deny(unused_must_use)]

use instrument_metric::instrument_metric;

/// # Safety
/// `pointer` must be valid.
#[instrument_metric]
unsafe fn read(pointer: *const u8) -> u8 {
    unsafe { *pointer }
}

/// Kept: docs, `#[must_use]`, `#[inline]`, `#[cfg_attr]`.
#[must_use = "the answer matters"]
#[inline]
#[cfg_attr(test, allow(dead_code))]
#[instrument_metric]
fn answer() -> u32 {
    42
}

#[instrument_metric]
fn diverges() -> ! {
    panic!("never returns")
}

fn main() {
    let byte = 7u8;
    assert_eq!(unsafe { read(&byte) }, 7);
    assert_eq!(answer(), 42);
    if std::env::args().count() > 100 {
        diverges();
    }
}
