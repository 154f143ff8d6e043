//! Bounded label values: the types a label may take its value from.
//!
//! A label value type lists every value it can have, so the set of series of a metric is
//! finite, known at compile time and created at start-up; recording picks a series by index,
//! never by hashing a string.

use std::sync::OnceLock;

/// A type whose values are a fixed, small set of label values: derive it on a fieldless enum.
///
/// The label name is the enum's name in `snake_case` (checked like any label name; a raw
/// identifier `r#Match` gives `match`), or `#[label(name = "...")]`; each value is the
/// variant's name in `snake_case`, or `#[label(rename = "...")]`. `bool` is a label value too,
/// and so are references to one and `Option`s of one ([`OptionLabelValue`]: `None` is `none`).
///
/// ```
/// use instrument_metric::LabelValue;
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider {
///     Twilio,
///     #[label(rename = "vonage_sms")]
///     Vonage,
/// }
///
/// assert_eq!(Provider::LABEL_NAME, "provider");
/// assert_eq!(Provider::VALUES, ["twilio", "vonage_sms"]);
/// assert_eq!(Provider::Vonage.index(), 1);
/// assert_eq!(Provider::Vonage.as_label(), "vonage_sms");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label value: it does not list its values (`LabelValue`)",
    label = "not a `LabelValue` type",
    note = "label values come from types with a fixed list of values: an enum deriving `LabelValue`, `bool`, an `Option` or a reference of one",
    note = "every distinct label value creates a new time series, so a type with unbounded values (strings, numbers) could create any number of them and exhaust Prometheus",
    note = "list the possible values in an enum and derive it: `#[derive(Clone, Copy, LabelValue)] enum Provider {{ Twilio, Vonage }}`"
)]
pub trait LabelValue {
    /// The label name used when this type alone labels a family: the type name in
    /// `snake_case` unless `#[label(name = "...")]` says otherwise.
    const LABEL_NAME: &'static str;
    /// Every value, in index order.
    const VALUES: &'static [&'static str];

    /// The position of this value in [`LabelValue::VALUES`].
    fn index(&self) -> usize;

    /// The label value.
    fn as_label(&self) -> &'static str {
        Self::VALUES[self.index()]
    }
}

#[diagnostic::do_not_recommend]
impl<T: LabelValue + ?Sized> LabelValue for &T {
    const LABEL_NAME: &'static str = T::LABEL_NAME;
    const VALUES: &'static [&'static str] = T::VALUES;

    #[inline]
    fn index(&self) -> usize {
        (**self).index()
    }
}

#[diagnostic::do_not_recommend]
impl<T: LabelValue + ?Sized> LabelValue for &mut T {
    const LABEL_NAME: &'static str = T::LABEL_NAME;
    const VALUES: &'static [&'static str] = T::VALUES;

    #[inline]
    fn index(&self) -> usize {
        (**self).index()
    }
}

/// A [`LabelValue`] type whose `Option` is a label value too: `None` is the value `none`,
/// after every value of the type.
///
/// `#[derive(LabelValue)]` implements it unless a variant already has the value `none`
/// (`Option` could not tell `None` from it then); `bool` implements it.
///
/// ```
/// use instrument_metric::{LabelSet, LabelValue};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// assert_eq!(<Option<Provider>>::VALUES, ["twilio", "vonage", "none"]);
/// assert_eq!(None::<Provider>.as_label(), "none");
/// assert_eq!(Some(Provider::Vonage).as_label(), "vonage");
/// assert_eq!(<Option<Provider>>::LABEL_NAME, "provider");
/// assert_eq!(<Option<bool>>::CARDINALITY, 3);
/// ```
#[diagnostic::on_unimplemented(
    message = "`Option<{Self}>` cannot be a label value: `{Self}` has no label value for `None`",
    label = "`Option` of this type is not a label value",
    note = "`Option<T>` is a label value when `T` is `bool` or an enum deriving `LabelValue`: `None` is the value `none`",
    note = "if `{Self}` derives `LabelValue`, one of its variants already has the value `none`; rename it with `#[label(rename = \"...\")]`"
)]
pub trait OptionLabelValue: LabelValue {
    /// Every value of the type, in index order, then `none`.
    const VALUES_WITH_NONE: &'static [&'static str];
}

#[diagnostic::do_not_recommend]
impl<T: OptionLabelValue + ?Sized> OptionLabelValue for &T {
    const VALUES_WITH_NONE: &'static [&'static str] = T::VALUES_WITH_NONE;
}

#[diagnostic::do_not_recommend]
impl<T: OptionLabelValue + ?Sized> OptionLabelValue for &mut T {
    const VALUES_WITH_NONE: &'static [&'static str] = T::VALUES_WITH_NONE;
}

/// `Some(value)` is the value's label, `None` is `none`: see [`OptionLabelValue`].
impl<T: OptionLabelValue> LabelValue for Option<T> {
    const LABEL_NAME: &'static str = T::LABEL_NAME;
    const VALUES: &'static [&'static str] = T::VALUES_WITH_NONE;

    #[inline]
    fn index(&self) -> usize {
        match self {
            Some(value) => value.index(),
            None => T::VALUES.len(),
        }
    }
}

/// `false` and `true`.
///
/// ```
/// use instrument_metric::LabelValue;
///
/// assert_eq!(true.as_label(), "true");
/// assert_eq!(bool::VALUES, ["false", "true"]);
/// ```
impl LabelValue for bool {
    const LABEL_NAME: &'static str = "value";
    const VALUES: &'static [&'static str] = &["false", "true"];

    #[inline]
    fn index(&self) -> usize {
        usize::from(*self)
    }
}

impl OptionLabelValue for bool {
    const VALUES_WITH_NONE: &'static [&'static str] = &["false", "true", "none"];
}

/// The labels of a family: one [`LabelValue`] type, a tuple of them, or a struct deriving
/// `LabelSet` whose fields name the labels.
///
/// A combination of values maps to one index in `0..CARDINALITY` ([`LabelSet::series_index`]) (the last label varies
/// fastest), so a family is a plain array of series.
///
/// ```
/// use instrument_metric::{LabelSet, LabelValue};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Status { Sent, Failed }
///
/// #[derive(LabelSet)]
/// struct SmsLabels {
///     provider: Provider,
///     status: Status,
/// }
///
/// assert_eq!(SmsLabels::NAMES, ["provider", "status"]);
/// assert_eq!(SmsLabels::CARDINALITY, 4);
/// let labels = SmsLabels { provider: Provider::Vonage, status: Status::Sent };
/// assert_eq!(labels.series_index(), 2);
/// assert_eq!(<(Provider, Status)>::NAMES, ["provider", "status"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot label a metric family",
    label = "not a set of bounded labels",
    note = "a family is labelled by a type deriving `LabelValue`, a tuple of them, or a struct deriving `LabelSet` whose fields are `LabelValue` types",
    note = "strings and numbers are refused because every distinct value creates a new time series"
)]
pub trait LabelSet {
    /// The label names.
    const NAMES: &'static [&'static str];
    /// The values of each label, in the order of [`LabelSet::NAMES`].
    const VALUE_SETS: &'static [&'static [&'static str]];
    /// The number of combinations.
    const CARDINALITY: usize;

    /// The index of this combination in `0..CARDINALITY`: the position of its series.
    fn series_index(&self) -> usize;
}

impl LabelSet for bool {
    const NAMES: &'static [&'static str] = &[<bool as LabelValue>::LABEL_NAME];
    const VALUE_SETS: &'static [&'static [&'static str]] = &[<bool as LabelValue>::VALUES];
    const CARDINALITY: usize = 2;

    #[inline]
    fn series_index(&self) -> usize {
        LabelValue::index(self)
    }
}

impl<T: OptionLabelValue> LabelSet for Option<T> {
    const NAMES: &'static [&'static str] = &[T::LABEL_NAME];
    const VALUE_SETS: &'static [&'static [&'static str]] = &[T::VALUES_WITH_NONE];
    const CARDINALITY: usize = T::VALUES_WITH_NONE.len();

    #[inline]
    fn series_index(&self) -> usize {
        LabelValue::index(self)
    }
}

macro_rules! tuple_label_sets {
    ($(($($name:ident $index:tt),+))+) => {$(
        impl<$($name: LabelValue),+> LabelSet for ($($name,)+) {
            const NAMES: &'static [&'static str] = &[$($name::LABEL_NAME),+];
            const VALUE_SETS: &'static [&'static [&'static str]] = &[$($name::VALUES),+];
            const CARDINALITY: usize = series_count(&[$($name::VALUES),+]);

            #[inline]
            fn series_index(&self) -> usize {
                let mut index = 0;
                $(index = next_index(index, $name::VALUES.len(), self.$index.index());)+
                index
            }
        }
    )+};
}

tuple_label_sets! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
}

/// An error type whose values say which kind of error they are: `#[instrument_metric(...,
/// error_kinds = Type)]` counts a function's errors by kind, in its family `<stem>_errors_total`
/// (labelled `kind`, beside the function's own labels), every kind at 0 from start-up.
///
/// Derive it on an enum, with or without data in its variants: each variant is a kind, named
/// in `snake_case` (or `#[error_kind(rename = "...")]`); a variant with one field whose type
/// derives it too can take that field's kinds instead with `#[error_kind(transparent)]`. Two
/// variants with one kind are a compile error.
///
/// A kind is of class `error` unless it is marked `#[error_kind(ok)]`: the caller's mistake or
/// an answer the service is meant to give (not found, invalid input, out of stock), which
/// must not burn an objective's error budget. The class decides the `result` of a call that
/// returns such an `Err`, with or without `error_kinds = Type` on the function, so an axum
/// handler returning `Result<Json<T>, AppError>` counts its 4xx answers as `ok` once
/// `AppError` says which kinds they are. Every `Err` is counted by kind whatever its class.
///
/// ```
/// use instrument_metric::{ErrorKinds, Outcome, instrument_metric, testing};
///
/// #[derive(Debug, ErrorKinds)]
/// enum AppError {
///     #[error_kind(ok)]
///     NotFound,
///     #[error_kind(ok)]
///     InsufficientStock { wanted: u32 },
///     Database(String),
/// }
///
/// #[instrument_metric(name = "stock_reserve", error_kinds = AppError)]
/// fn reserve(wanted: u32) -> Result<u32, AppError> {
///     match wanted {
///         0 => Err(AppError::NotFound),
///         1..=9 => Ok(wanted),
///         10..=99 => Err(AppError::InsufficientStock { wanted }),
///         _ => Err(AppError::Database("connection reset".into())),
///     }
/// }
///
/// fn main() {
///     let ((), captured) = testing::capture(|| {
///         let _ = reserve(0);
///         let _ = reserve(5);
///         let _ = reserve(50);
///         let _ = reserve(500);
///     });
///     assert_eq!(captured.outcomes("reserve", Outcome::Ok), 3);
///     assert_eq!(captured.outcomes("reserve", Outcome::Error), 1);
///     assert_eq!(captured.kinds("reserve"), [("not_found", 1), ("insufficient_stock", 1), ("database", 1)]);
///     assert_eq!(AppError::OK, [true, true, false]);
/// }
/// ```
///
/// ```
/// use instrument_metric::ErrorKinds;
///
/// #[derive(Debug, ErrorKinds)]
/// enum ProviderError { RateLimited, Unavailable }
///
/// #[derive(Debug, ErrorKinds)]
/// enum SyncError {
///     /// The network failed.
///     Network(std::io::Error),
///     #[error_kind(rename = "bad_answer")]
///     Parse { line: usize },
///     #[error_kind(transparent)]
///     Provider(ProviderError),
/// }
///
/// assert_eq!(SyncError::KINDS, ["network", "bad_answer", "rate_limited", "unavailable"]);
/// assert_eq!(SyncError::Parse { line: 3 }.kind(), "bad_answer");
/// assert_eq!(SyncError::Provider(ProviderError::Unavailable).kind(), "unavailable");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not list its kinds of error (`ErrorKinds`)",
    label = "not an `ErrorKinds` type",
    note = "`error_kinds = Type` counts errors by kind: derive `ErrorKinds` on the error enum, `#[derive(ErrorKinds)] enum SmsError {{ Failed, RateLimited }}`"
)]
pub trait ErrorKinds {
    /// Every kind, in index order: the values of the `kind` label.
    const KINDS: &'static [&'static str];

    /// The class of each kind, in index order: `true` for a kind marked `#[error_kind(ok)]`
    /// (the caller's mistake or an expected answer, not a failure of the service), whose calls
    /// count as `result="ok"`; a kind without an entry is an `error`.
    const OK: &'static [bool] = &[];

    /// The position of this error's kind in [`ErrorKinds::KINDS`].
    fn kind_index(&self) -> usize;

    /// This error's kind.
    fn kind(&self) -> &'static str {
        Self::KINDS[self.kind_index()]
    }

    /// Whether this error's kind is of class `ok` ([`ErrorKinds::OK`]).
    fn is_ok_kind(&self) -> bool {
        Self::OK.get(self.kind_index()).copied().unwrap_or(false)
    }
}

#[diagnostic::do_not_recommend]
impl<T: ErrorKinds + ?Sized> ErrorKinds for &T {
    const KINDS: &'static [&'static str] = T::KINDS;
    const OK: &'static [bool] = T::OK;

    #[inline]
    fn kind_index(&self) -> usize {
        (**self).kind_index()
    }
}

#[diagnostic::do_not_recommend]
impl<T: ErrorKinds + ?Sized> ErrorKinds for Box<T> {
    const KINDS: &'static [&'static str] = T::KINDS;
    const OK: &'static [bool] = T::OK;

    #[inline]
    fn kind_index(&self) -> usize {
        (**self).kind_index()
    }
}

/// The number of combinations of `values` (one list per label), saturating at `usize::MAX`:
/// the series of a family, for the compile-time cap generated code checks.
///
/// ```
/// use instrument_metric::__private::series_count;
///
/// assert_eq!(series_count(&[&["a", "b"], &["x", "y", "z"]]), 6);
/// assert_eq!(series_count(&[]), 1);
/// ```
#[must_use]
pub const fn series_count(values: &[&[&str]]) -> usize {
    let mut count: usize = 1;
    let mut label = 0;
    while label < values.len() {
        count = count.saturating_mul(values[label].len());
        label += 1;
    }
    count
}

/// Whether no two of `names` are equal: generated code refuses a label set that names one
/// label twice (a tuple of one `LabelValue` type twice) at compile time with it.
///
/// ```
/// use instrument_metric::__private::distinct_names;
///
/// assert!(distinct_names(&["provider", "status"]));
/// assert!(!distinct_names(&["provider", "status", "provider"]));
/// ```
#[must_use]
pub const fn distinct_names(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if same_str(names[i], names[j]) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The series index of a label set, one more label at a time: `index` so far, then a label of
/// `count` values whose value is number `value`. This is the crate's one mixed-radix index
/// (the last label varies fastest): [`LabelSet::series_index`], the index generated code folds
/// over a function's label arguments, and the decoders `digits` and `combination` all follow it.
#[inline]
#[must_use]
pub const fn next_index(index: usize, count: usize, value: usize) -> usize {
    index * count + value
}

/// The value number of each label of series `index`, for labels of `counts` values each:
/// the inverse of [`next_index`], the LAST label first.
pub(crate) fn digits(
    mut index: usize,
    counts: impl DoubleEndedIterator<Item = usize>,
) -> impl Iterator<Item = usize> {
    counts.rev().map(move |count| {
        let value = index % count;
        index /= count;
        value
    })
}

/// Steps `values` (the value number of each label, of labels of `counts` values each) to the
/// next series index: [`next_index`] plus one, without a division. Returns the first label
/// whose value changed (the labels after it changed too).
pub(crate) fn step(
    values: &mut [usize],
    counts: impl DoubleEndedIterator<Item = usize> + ExactSizeIterator,
) -> usize {
    for (label, (value, count)) in values.iter_mut().zip(counts).enumerate().rev() {
        *value += 1;
        if *value < count {
            return label;
        }
        *value = 0;
    }
    0
}

/// The label values of series `index` of labels whose values are `values` (one list per
/// label), in label order.
pub(crate) fn combination(index: usize, values: &[&'static [&'static str]]) -> Vec<&'static str> {
    let mut combination: Vec<&'static str> = digits(index, values.iter().map(|v| v.len()))
        .zip(values.iter().rev())
        .map(|(value, values)| values[value])
        .collect();
    combination.reverse();
    combination
}

/// Every combination of `values` (one list per label), in index order.
pub(crate) fn combinations(values: &[&'static [&'static str]]) -> Vec<Vec<&'static str>> {
    (0..series_count(values))
        .map(|index| combination(index, values))
        .collect()
}

/// Escapes a label value: `\`, `"` and line feeds, as both formats require.
pub(crate) fn escape_label_value(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `name="value",...` with values escaped, for labels in the order given.
pub(crate) fn render_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (name, value)) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        label_pair(name, value, &mut out);
    }
    out
}

/// A label list made once, when its family or series is created: the rendered text
/// (`a="x",b="y"`, values escaped) the text formats write, and the pairs (values as they are)
/// the protobuf writer writes, so that no writer reads back what another wrote.
///
/// A writer that encodes the pairs (protobuf) keeps its encoding here the first time it
/// writes them: a label set does not change, its values do.
#[derive(Clone, Debug)]
pub(crate) struct Labels {
    text: String,
    pairs: Vec<(Box<str>, Box<str>)>,
    /// A bit for each name ([`Labels::name_bit`]), if the names are distinct.
    name_bits: Option<u64>,
    encoded: OnceLock<Box<[u8]>>,
}

impl Labels {
    /// The labels `pairs`, in the order given.
    pub(crate) fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
        let pairs: Vec<(Box<str>, Box<str>)> = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        let text = render_labels(pairs.iter().map(|(name, value)| (&**name, &**value)));
        let mut name_bits = Some(0);
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                name_bits = None;
            }
            name_bits = name_bits.map(|bits| bits | Labels::name_bit(name));
        }
        Labels {
            text,
            pairs,
            name_bits,
            encoded: OnceLock::new(),
        }
    }

    /// One bit of 64 for a label name, from a hash of it: label lists whose names' bits do
    /// not meet have no name in common, which a writer checks without comparing names.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    pub(crate) fn name_bit(name: &str) -> u64 {
        let bytes = name.as_bytes();
        let (first, last) = (bytes.first(), bytes.last());
        let hash = bytes.len() * 31
            + usize::from(first.copied().unwrap_or(0))
            + usize::from(last.copied().unwrap_or(0)) * 7;
        1 << (hash % 64)
    }

    /// The bits of its names ([`Labels::name_bit`]), or `None` if a name comes twice.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    pub(crate) fn name_bits(&self) -> Option<u64> {
        self.name_bits
    }

    /// `name="value",...`, values escaped; empty when there is no label.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Each (name, value), the value unescaped.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.pairs.iter().map(|(name, value)| (&**name, &**value))
    }

    /// The pairs as `encode` encodes them, encoded the first time only.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    pub(crate) fn encoded<'a, F>(&'a self, encode: F) -> &'a [u8]
    where
        F: FnOnce(&mut dyn Iterator<Item = (&'a str, &'a str)>) -> Box<[u8]>,
    {
        self.encoded.get_or_init(|| encode(&mut self.pairs()))
    }
}

/// No label.
impl Default for Labels {
    fn default() -> Labels {
        Labels::new([])
    }
}

/// Label lists are equal when their pairs are (whether encoded yet or not).
impl PartialEq for Labels {
    fn eq(&self, other: &Labels) -> bool {
        self.pairs == other.pairs
    }
}

impl Eq for Labels {}

/// A label list equals its text.
impl PartialEq<str> for Labels {
    fn eq(&self, text: &str) -> bool {
        self.text == text
    }
}

/// `name="value"`, the value escaped.
pub(crate) fn label_pair(name: &str, value: &str, out: &mut String) {
    out.push_str(name);
    out.push_str("=\"");
    escape_label_value(value, out);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_follow_the_index_order() {
        let all = combinations(&[&["a", "b"], &["x", "y", "z"]]);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], ["a", "x"]);
        assert_eq!(all[4], ["b", "y"]);
        let flags = combinations(&[<bool as LabelValue>::VALUES; 2]);
        assert_eq!((true, false).series_index(), 2);
        assert_eq!(flags[(true, false).series_index()], ["true", "false"]);
    }

    #[test]
    fn digits_invert_the_index() {
        let counts = [2, 3, 4];
        for index in 0..24 {
            let mut values: Vec<usize> = digits(index, counts.into_iter()).collect();
            values.reverse();
            let again = values
                .iter()
                .zip(counts)
                .fold(0, |index, (value, count)| next_index(index, count, *value));
            assert_eq!(again, index);
        }
        assert_eq!(combination(4, &[&["a", "b"], &["x", "y", "z"]]), ["b", "y"]);
        let mut values = [0, 0, 0];
        for index in 0..24 {
            let mut expected: Vec<usize> = digits(index, counts.into_iter()).collect();
            expected.reverse();
            assert_eq!(values[..], expected[..]);
            step(&mut values, counts.into_iter());
        }
    }

    #[test]
    fn no_labels_is_one_series() {
        assert_eq!(combinations(&[]), vec![Vec::<&str>::new()]);
    }
}
