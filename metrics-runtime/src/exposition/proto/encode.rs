//! The hand encoding of the writer: label pairs, doubles, timestamps and varints as `prost`
//! writes them, and the checks on label names that come before.

use crate::model::labels::Labels;
use crate::storage::exemplar::Exemplar as Sample;
use crate::storage::native_histogram::Span;

#[cfg(doc)]
use super::messages::Exemplar;
use super::messages::Timestamp;

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
    put_pair(1, name.as_bytes(), value.as_bytes(), out);
}

/// Appends a `LabelPair` as field `field` (length-delimited) of its message.
fn put_pair(field: u8, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    /// The keys of `LabelPair.name` (field 1, length-delimited) and `LabelPair.value` (2).
    const NAME: u8 = 1 << 3 | 2;
    const VALUE: u8 = 2 << 3 | 2;
    let length = |text: &[u8]| 1 + prost::length_delimiter_len(text.len()) + text.len();
    out.push(field << 3 | 2);
    put_varint(out, length(name) + length(value));
    for (key, text) in [(NAME, name), (VALUE, value)] {
        out.push(key);
        put_varint(out, text.len());
        out.extend_from_slice(text);
    }
}

/// Appends the fields of an `Exemplar` (its trace and span ids as labels, value, timestamp),
/// as `prost` writes those of [`Exemplar::from`] the sample: the ids in lowercase hex,
/// written in place rather than formatted into strings.
pub(super) fn put_exemplar(out: &mut Vec<u8>, sample: &Sample) {
    let mut trace = [0; 32];
    let mut span = [0; 16];
    hex(sample.trace.trace_id, &mut trace);
    hex(u128::from(sample.trace.span_id), &mut span);
    put_pair(1, b"trace_id", &trace, out);
    put_pair(1, b"span_id", &span, out);
    put_double(out, 2, sample.value);
    put_timestamp(out, 3, sample.time.into());
}

/// Writes the low `4 * out.len()` bits of `value` into `out` as lowercase hex digits, the
/// most significant first (`{:0width$x}`).
fn hex(mut value: u128, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for digit in out.iter_mut().rev() {
        *digit = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// Appends `value` as a `sint32`/`sint64` varint (zigzag: small magnitudes, few bytes).
#[inline]
pub(super) fn put_sint(out: &mut Vec<u8>, value: i64) {
    #[allow(clippy::cast_sign_loss)] // the zigzag's bits
    put_varint_u64(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Appends the `BucketSpan`s of one sign as field `field` of `Histogram`, then their deltas
/// as the next field (`sint64`, unpacked), as `prost` writes them.
pub(super) fn put_spans(out: &mut Vec<u8>, field: u8, spans: &[Span], deltas: &[i64]) {
    for span in spans {
        #[allow(clippy::cast_sign_loss)] // the zigzag's bits
        let offset = ((span.offset << 1) ^ (span.offset >> 31)) as u32;
        out.push(field << 3 | 2);
        let length = 2 + varint_length(offset.into()) + varint_length(span.length.into());
        put_varint(out, length);
        out.push(1 << 3);
        put_varint_u64(out, offset.into());
        out.push(2 << 3);
        put_varint_u64(out, span.length.into());
    }
    for delta in deltas {
        out.push((field + 1) << 3);
        put_sint(out, *delta);
    }
}

/// The bytes of `value` as a varint.
#[inline]
pub(super) fn varint_length(value: u64) -> usize {
    1 + (63 - (value | 1).leading_zeros() as usize) / 7
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
