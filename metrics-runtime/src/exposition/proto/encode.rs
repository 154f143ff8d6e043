//! The hand encoding of the writer: label pairs, doubles, timestamps and varints as `prost`
//! writes them, and the checks on label names that come before.

use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;

use super::messages::{Bucket, Exemplar, Timestamp};

/// The labels of a series as the writer is given them.
#[derive(Clone, Copy)]
pub(super) enum SeriesLabels<'l> {
    /// Rendered label lists (what the public methods take), read back.
    Text(&'l [&'l str]),
    /// Label lists made with their pairs, as every family of a registry writes them.
    Made(&'l [&'l Labels]),
}

/// Appends each (name, value) of `pairs` to `out` as a `Metric.label` field, unless a name
/// comes twice: that name then.
pub(super) fn encode_labels<'p>(
    pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone,
    out: &mut Vec<u8>,
) -> Option<&'p str> {
    if let Some(name) = twice(&pairs.clone().map(|(name, _)| name)) {
        return Some(name);
    }
    for (name, value) in pairs {
        encode_pair(name, value, out);
    }
    None
}

/// Whether the names of `lists` and `extra` are surely distinct, from the bits of their names
/// alone (see [`Labels::name_bits`]); when they may not be, [`twice`] looks.
pub(super) fn distinct_names(lists: &[&Labels], extra: Option<&str>) -> bool {
    let mut bits = extra.map_or(0, Labels::name_bit);
    for list in lists {
        let Some(list_bits) = list.name_bits() else {
            return false;
        };
        if bits & list_bits != 0 {
            return false;
        }
        bits |= list_bits;
    }
    true
}

/// A name `names` has twice, if any.
pub(super) fn twice<'p>(names: &(impl Iterator<Item = &'p str> + Clone)) -> Option<&'p str> {
    // The names seen, compared without allocating (a series has a few labels).
    let mut seen = [""; 16];
    for (i, name) in names.clone().enumerate() {
        let twice = match seen.get_mut(i) {
            Some(slot) => {
                *slot = name;
                seen[..i].contains(&name)
            }
            None => names.clone().take(i).any(|earlier| earlier == name),
        };
        if twice {
            return Some(name);
        }
    }
    None
}

/// The pairs of `list` as `Metric.label` fields: encoded the first time it is written, and
/// kept (a label list does not change).
pub(super) fn encoded(list: &Labels) -> &[u8] {
    list.encoded(|pairs| {
        let mut out = Vec::new();
        for (name, value) in pairs {
            encode_pair(name, value, &mut out);
        }
        out.into()
    })
}

/// The bytes [`encode_pair`] writes.
pub(super) fn pair_length(name: &str, value: &str) -> usize {
    let field = |text: &str| 1 + prost::length_delimiter_len(text.len()) + text.len();
    let pair = field(name) + field(value);
    1 + prost::length_delimiter_len(pair) + pair
}

/// Appends `name` and `value` as a `Metric.label` field, as `prost` encodes a `LabelPair` whose
/// name and value are set.
pub(super) fn encode_pair(name: &str, value: &str, out: &mut Vec<u8>) {
    /// The key of `Metric.label` and of `LabelPair.name` (both field 1, length-delimited), and
    /// of `LabelPair.value` (field 2).
    const FIELD_1: u8 = 1 << 3 | 2;
    const FIELD_2: u8 = 2 << 3 | 2;
    let field = |text: &str| 1 + prost::length_delimiter_len(text.len()) + text.len();
    out.push(FIELD_1);
    put_varint(out, field(name) + field(value));
    for (key, text) in [(FIELD_1, name), (FIELD_2, value)] {
        out.push(key);
        put_varint(out, text.len());
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends a `double` field `field` (fixed 64 bits).
#[inline]
pub(super) fn put_double(out: &mut Vec<u8>, field: u8, value: f64) {
    out.push(field << 3 | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `Timestamp` field `field`, as `prost` writes it (proto3: a field at 0 is left
/// out).
#[inline]
pub(super) fn put_timestamp(out: &mut Vec<u8>, field: u8, time: Timestamp) {
    // `int64` and `int32` are varints of their 64-bit two's complement.
    #[allow(clippy::cast_sign_loss)]
    let (seconds, nanos) = (time.seconds as u64, i64::from(time.nanos) as u64);
    let length = |value: u64| {
        if value == 0 {
            0
        } else {
            // One byte for every seven bits.
            1 + (64 - value.leading_zeros() as usize).div_ceil(7)
        }
    };
    out.push(field << 3 | 2);
    #[allow(clippy::cast_possible_truncation)] // two varints: at most 22 bytes
    out.push((length(seconds) + length(nanos)) as u8);
    for (key, value) in [(1 << 3, seconds), (2 << 3, nanos)] {
        if value != 0 {
            out.push(key);
            put_varint_u64(out, value);
        }
    }
}

/// Appends `value` as a varint, as `prost::encode_length_delimiter` does (without its check
/// for room, which a `Vec` does not need).
#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, value: usize) {
    put_varint_u64(out, value as u64);
}

#[inline]
pub(super) fn put_varint_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)] // below 0x80
    out.push(value as u8);
}

/// Puts each classic bucket's exemplar on it; an exemplar of the `+Inf` bucket, which the
/// count otherwise stands for, on a `+Inf` bucket of its own.
pub(super) fn with_exemplars(
    buckets: &mut Vec<Bucket>,
    cumulative: &[u64],
    exemplars: &[Option<Sample>],
) {
    for (bucket, exemplar) in buckets.iter_mut().zip(exemplars) {
        bucket.exemplar = exemplar.as_ref().map(Exemplar::from);
    }
    if let Some(Some(last)) = exemplars.get(buckets.len()) {
        buckets.push(Bucket {
            cumulative_count: cumulative.last().copied(),
            upper_bound: Some(f64::INFINITY),
            exemplar: Some(last.into()),
            ..Bucket::default()
        });
    }
}
