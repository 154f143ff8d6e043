//! Bucket keys and bounds of each schema: which bucket an observation falls in, read from the
//! bits of its `f64` and a table of the bounds inside one power of two.

use std::sync::LazyLock;

use super::config::{MAX_SCHEMA, MIN_SCHEMA};

pub(super) const MANTISSA_BITS: u32 = 52;

pub(super) const MANTISSA: u64 = (1 << MANTISSA_BITS) - 1;

/// The lower and upper bound of native bucket `key` in `schema`: it holds the magnitudes
/// above the first and at most the second.
///
/// ```
/// use instrument_metric::__private::native_histogram::bucket_bounds;
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
pub(super) fn upper_bound(schema: i32, key: i32) -> f64 {
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
pub(super) fn power_of_two(exponent: i32) -> f64 {
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
pub(super) struct SchemaTable {
    /// `2^s + 1` mantissa bits: of `2^(j / 2^s)` for `j` in `0..2^s`, then `u64::MAX`.
    pub(super) thresholds: Box<[u64]>,
    /// For each of the `2^(s+1)` cells the top `s + 1` mantissa bits make, the thresholds
    /// below the cell's start. A cell is narrower than the narrowest gap between thresholds,
    /// so it holds at most one: one comparison finishes the lookup.
    pub(super) cells: Box<[u16]>,
}

pub(super) static TABLES: LazyLock<Vec<SchemaTable>> = LazyLock::new(|| {
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
pub(super) fn table_index(schema: i32) -> usize {
    usize::try_from(schema - 1).unwrap_or(0)
}

/// The native bucket that a finite or infinite magnitude above 0 falls in, in `schema`.
#[inline]
pub(super) fn bucket_key(magnitude: f64, schema: i32) -> i32 {
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
pub(super) fn coarser(key: i32, reduction: i32) -> i32 {
    -((-key) >> reduction)
}

/// The classic bucket of `value`: the first bound at or above it, else `+Inf` (NaN too).
#[inline]
pub(super) fn classic_bucket(bounds: &[f64], value: f64) -> usize {
    bounds
        .iter()
        .position(|bound| value <= *bound)
        .unwrap_or(bounds.len())
}
