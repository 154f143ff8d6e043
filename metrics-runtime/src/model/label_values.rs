//! Label values known at run time, bounded at start-up: a [`LabelValues`] set read from
//! configuration (warehouses, tenants, regions), checked like the values of a `LabelValue` type,
//! and the types that say which labels of a family take their value from such a set
//! ([`Runtime`]) and which from a `LabelValue` type.
//!
//! A family's labels still make a fixed, finite set of series, created when it is registered:
//! a value outside the set never creates a series. Looking a value up is one hash of it
//! (`foldhash`, as the HTTP layer's routes) and a comparison in a table built with the set.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use foldhash::fast::FixedState;

use instrument_metric_rules as rules;

use super::label_name_problem;
use super::labels::LabelValue;

/// The values a label may take, fixed when the set is built at start-up (from configuration,
/// a file, the command line), and optionally one `other` value that records with a value
/// outside the set land in.
///
/// The label name follows the rules of every label name (ASCII letters, digits and `_`, not
/// starting with `_` or a digit, not `le` nor `quantile`, not camelCase); each value is a
/// non-empty string, given once. A set is cheap to clone: clones share their values.
///
/// Register a family labelled by it with [`Registry::int_counter_family`](crate::Registry::int_counter_family)
/// and its siblings, or with [`Registry::family`](crate::Registry::family) for several labels.
///
/// ```
/// use instrument_metric::LabelValues;
///
/// # fn main() -> Result<(), instrument_metric::LabelValuesError> {
/// let configured = vec!["eu-west".to_owned(), "us-east".to_owned()];
/// let regions = LabelValues::new("region", &configured)?.with_other("other")?;
/// assert_eq!(regions.name(), "region");
/// assert_eq!(regions.values().collect::<Vec<_>>(), ["eu-west", "us-east", "other"]);
/// assert_eq!(regions.other(), Some("other"));
/// assert_eq!(regions.index_of("us-east"), Some(1));
/// assert_eq!(regions.index_of("mars"), None);
///
/// let error = LabelValues::new("region", ["eu-west", "eu-west"]).unwrap_err();
/// assert_eq!(error.to_string(), "the label `region` is given the value \"eu-west\" twice: list each value once");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LabelValues {
    inner: Arc<Inner>,
}

#[derive(PartialEq, Eq)]
struct Inner {
    name: Box<str>,
    /// Every value in index order, `other` last when there is one.
    values: Box<[Box<str>]>,
    /// Whether the last value is `other`.
    other: bool,
    /// The index of each value: the lookup. The table never grows after the set is built, so
    /// a fixed hasher costs a caller who picks colliding values nothing but that call's probe.
    lookup: HashMap<Box<str>, usize, FixedState>,
}

impl LabelValues {
    /// The label `name` with `values`, in the order given (the order of its series).
    ///
    /// # Errors
    ///
    /// A [`LabelValuesError`] naming the label and the offending value: a name that breaks a
    /// label name rule, no value at all, an empty value, a value given twice.
    ///
    /// ```
    /// use instrument_metric::LabelValues;
    ///
    /// let tenants = LabelValues::new("tenant", ["acme", "globex"]).unwrap();
    /// assert_eq!(tenants.len(), 2);
    /// assert!(LabelValues::new("le", ["a"]).is_err());
    /// assert!(LabelValues::new("tenant", ["acme", ""]).is_err());
    /// ```
    pub fn new<I>(name: &str, values: I) -> Result<LabelValues, LabelValuesError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        if let Some(problem) = label_name_problem(name) {
            return Err(LabelValuesError::Name {
                name: name.to_owned(),
                problem,
            });
        }
        let values: Vec<Box<str>> = values.into_iter().map(|v| v.as_ref().into()).collect();
        if values.is_empty() {
            return Err(LabelValuesError::NoValues {
                label: name.to_owned(),
            });
        }
        LabelValues::build(name, values, false)
    }

    /// The set with one more value, `other`, last: [`RuntimeFamily::with`](crate::RuntimeFamily::with)
    /// records a value outside the set there (and counts it in
    /// `metrics_label_values_unknown_total`), rather than dropping it.
    ///
    /// # Errors
    ///
    /// When `other` is empty, already a value of the set, or the set has an `other` value
    /// already.
    ///
    /// ```
    /// use instrument_metric::LabelValues;
    ///
    /// let regions = LabelValues::new("region", ["eu-west"]).unwrap();
    /// assert_eq!(regions.clone().with_other("other").unwrap().len(), 2);
    /// assert!(regions.with_other("eu-west").is_err());
    /// ```
    pub fn with_other(self, other: &str) -> Result<LabelValues, LabelValuesError> {
        if let Some(first) = self.other() {
            return Err(LabelValuesError::TwoOthers {
                label: self.name().to_owned(),
                first: first.to_owned(),
                second: other.to_owned(),
            });
        }
        let mut values = self.inner.values.to_vec();
        values.push(other.into());
        LabelValues::build(&self.inner.name, values, true)
    }

    fn build(
        name: &str,
        values: Vec<Box<str>>,
        other: bool,
    ) -> Result<LabelValues, LabelValuesError> {
        if let Some(position) = values.iter().position(|v| rules::label_value(v).is_err()) {
            return Err(LabelValuesError::EmptyValue {
                label: name.to_owned(),
                position,
            });
        }
        let mut lookup = HashMap::with_capacity_and_hasher(values.len(), FixedState::default());
        for (index, value) in values.iter().enumerate() {
            if lookup.insert(value.clone(), index).is_some() {
                return Err(LabelValuesError::Duplicate {
                    label: name.to_owned(),
                    value: value.to_string(),
                });
            }
        }
        Ok(LabelValues {
            inner: Arc::new(Inner {
                name: name.into(),
                values: values.into_boxed_slice(),
                other,
                lookup,
            }),
        })
    }

    /// The label name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Every value in index order (the order given), the `other` value last.
    #[must_use]
    pub fn values(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.inner.values.iter().map(|value| &**value)
    }

    /// The value that records with a value outside the set land in, if the set has one.
    #[must_use]
    pub fn other(&self) -> Option<&str> {
        self.inner
            .other
            .then(|| &*self.inner.values[self.inner.values.len() - 1])
    }

    /// The number of values, `other` included: the series this label makes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.values.len()
    }

    /// Always `false`: a set has at least one value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.values.is_empty()
    }

    /// The index of `value` (one hash of it and a comparison), `None` when it is not in the
    /// set. The `other` value is in the set.
    #[must_use]
    #[inline]
    pub fn index_of(&self, value: &str) -> Option<usize> {
        self.inner.lookup.get(value).copied()
    }

    /// The index of the `other` value, if the set has one.
    pub(crate) fn other_index(&self) -> Option<usize> {
        self.inner.other.then(|| self.inner.values.len() - 1)
    }
}

impl fmt::Debug for LabelValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelValues")
            .field("name", &self.name())
            .field("values", &self.inner.values)
            .field("other", &self.other())
            .finish()
    }
}

/// Why a [`LabelValues`] set cannot be built: each variant names the label and, where there is
/// one, the offending value.
///
/// ```
/// use instrument_metric::{LabelValues, LabelValuesError};
///
/// let error = LabelValues::new("region", ["eu-west", ""]).unwrap_err();
/// assert_eq!(error, LabelValuesError::EmptyValue { label: "region".into(), position: 1 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelValuesError {
    /// The label name breaks a rule of label names.
    Name {
        /// The name given.
        name: String,
        /// The rule it breaks.
        problem: &'static str,
    },
    /// No value was given.
    NoValues {
        /// The label.
        label: String,
    },
    /// A value is empty.
    EmptyValue {
        /// The label.
        label: String,
        /// The position of the empty value among those given, from 0.
        position: usize,
    },
    /// A value is given twice (the `other` value among them).
    Duplicate {
        /// The label.
        label: String,
        /// The value given twice.
        value: String,
    },
    /// `with_other` was called on a set that has an `other` value already.
    TwoOthers {
        /// The label.
        label: String,
        /// The `other` value it has.
        first: String,
        /// The one given again.
        second: String,
    },
}

impl fmt::Display for LabelValuesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelValuesError::Name { name, problem } => {
                write!(f, "`{name}` cannot be a label name: {problem}")
            }
            LabelValuesError::NoValues { label } => write!(
                f,
                "the label `{label}` is given no value: a family labelled by it would have no series; list at least one"
            ),
            LabelValuesError::EmptyValue { label, position } => write!(
                f,
                "the label `{label}` is given an empty value (number {position}, from 0): Prometheus reads an empty value as a missing label; remove it or name it"
            ),
            LabelValuesError::Duplicate { label, value } => write!(
                f,
                "the label `{label}` is given the value {value:?} twice: list each value once"
            ),
            LabelValuesError::TwoOthers {
                label,
                first,
                second,
            } => write!(
                f,
                "the label `{label}` has the `other` value {first:?} already and is given {second:?} as another: a set has one"
            ),
        }
    }
}

impl std::error::Error for LabelValuesError {}

/// In the label types of a [`RuntimeFamily`](crate::RuntimeFamily), a label whose values come
/// from a [`LabelValues`] set given when the family is registered; its value is a `&str` when
/// recording. Beside it, a label may be a [`LabelValue`] type, whose value is checked by the
/// compiler: `RuntimeFamily<IntCounter, (Provider, Runtime)>` is recorded with
/// `with((Provider::Twilio, "eu-west"))`.
///
/// ```
/// use instrument_metric::{IntCounter, LabelValue, LabelValues, Registry, Runtime, RuntimeFamily};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// let registry = Registry::new();
/// let regions = LabelValues::new("region", ["eu-west", "us-east"]).unwrap();
/// let sent: RuntimeFamily<IntCounter, (Provider, Runtime)> = registry
///     .family("sms_sent_total", "SMS sent, by provider and region.")
///     .label(&regions)
///     .register()
///     .unwrap();
/// sent.with((Provider::Vonage, "us-east")).inc();
/// assert_eq!(sent.with((Provider::Vonage, "us-east")).get(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Runtime;

/// One label's value when recording: the index of a [`LabelValue`] type's value (and the
/// number of its values), or the text of a run-time label, looked up in its set.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Position<'k> {
    /// Value number `.0` of `.1` values.
    Index(usize, usize),
    /// A run-time label's value.
    Text(&'k str),
}

/// What one label of a run-time labelled family is, when it is registered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part {
    /// A `LabelValue` type: its label name and values.
    Static(&'static str, &'static [&'static str]),
    /// A [`Runtime`] label: its name and values come from the next `LabelValues` set.
    Runtime,
}

mod sealed {
    pub trait Sealed {}
    impl<L: super::LabelValue> Sealed for L {}
    impl Sealed for super::Runtime {}
    impl<A, B> Sealed for (A, B) {}
    impl<A, B, C> Sealed for (A, B, C) {}
    impl<A, B, C, D> Sealed for (A, B, C, D) {}
}

/// One label of a [`RuntimeFamily`](crate::RuntimeFamily)'s label types: [`Runtime`], or a
/// [`LabelValue`] type. Sealed.
///
/// ```
/// use instrument_metric::{LabelPart, Runtime};
///
/// fn label<P: LabelPart>() {}
/// label::<Runtime>();
/// label::<bool>();
/// ```
pub trait LabelPart: sealed::Sealed {
    /// Its value when recording: `&str` for [`Runtime`], the type itself otherwise.
    type Key<'a>;

    #[doc(hidden)]
    fn position(key: Self::Key<'_>) -> Position<'_>;

    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn part() -> Part;
}

impl<L: LabelValue> LabelPart for L {
    type Key<'a> = L;

    #[inline]
    fn position(key: Self::Key<'_>) -> Position<'_> {
        Position::Index(key.index(), L::VALUES.len())
    }

    #[allow(private_interfaces)]
    fn part() -> Part {
        Part::Static(L::LABEL_NAME, L::VALUES)
    }
}

impl LabelPart for Runtime {
    type Key<'a> = &'a str;

    #[inline]
    fn position(key: Self::Key<'_>) -> Position<'_> {
        Position::Text(key)
    }

    #[allow(private_interfaces)]
    fn part() -> Part {
        Part::Runtime
    }
}

/// The label types of a [`RuntimeFamily`](crate::RuntimeFamily): [`Runtime`] alone (one
/// label, its value a `&str`), or a tuple of two to four [`LabelPart`]s, at least one of them
/// [`Runtime`] (the key is then a tuple: `(Provider::Twilio, "eu-west")`). Sealed.
///
/// ```
/// use instrument_metric::{LabelValue, RuntimeLabels, Runtime};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// fn labels<S: RuntimeLabels>() {}
/// labels::<Runtime>();
/// labels::<(Provider, Runtime)>();
/// labels::<(Runtime, Runtime, bool)>();
/// ```
pub trait RuntimeLabels: sealed::Sealed + 'static {
    /// The value of every label when recording.
    type Key<'a>;

    /// Each label's value, in label order.
    #[doc(hidden)]
    fn positions(key: Self::Key<'_>) -> Positions<'_>;

    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn parts() -> Vec<Part>;
}

/// The value of each label of a key, in label order: up to four, in an array, so that
/// finding a series is a loop the compiler unrolls rather than calls through a closure.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Positions<'k> {
    parts: [Position<'k>; 4],
    len: usize,
}

impl<'k> Positions<'k> {
    #[inline]
    fn new() -> Positions<'k> {
        Positions {
            parts: [Position::Index(0, 1); 4],
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, position: Position<'k>) {
        self.parts[self.len] = position;
        self.len += 1;
    }

    /// The positions, in label order.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Position<'k>] {
        &self.parts[..self.len]
    }
}

impl RuntimeLabels for Runtime {
    type Key<'a> = &'a str;

    #[inline]
    fn positions(key: Self::Key<'_>) -> Positions<'_> {
        let mut positions = Positions::new();
        positions.push(Position::Text(key));
        positions
    }

    #[allow(private_interfaces)]
    fn parts() -> Vec<Part> {
        vec![Part::Runtime]
    }
}

macro_rules! tuple_runtime_labels {
    ($(($($name:ident $index:tt),+))+) => {$(
        impl<$($name: LabelPart + 'static),+> RuntimeLabels for ($($name,)+) {
            type Key<'a> = ($($name::Key<'a>,)+);

            #[inline]
            fn positions(key: Self::Key<'_>) -> Positions<'_> {
                let mut positions = Positions::new();
                $(positions.push($name::position(key.$index));)+
                positions
            }

            #[allow(private_interfaces)]
            fn parts() -> Vec<Part> {
                vec![$($name::part()),+]
            }
        }
    )+};
}

tuple_runtime_labels! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_keeps_the_order_given_and_finds_each_value() {
        let set = LabelValues::new("warehouse", ["north", "east", "south", "a", "zz"])
            .unwrap()
            .with_other("other")
            .unwrap();
        let values: Vec<&str> = set.values().collect();
        assert_eq!(values, ["north", "east", "south", "a", "zz", "other"]);
        for (index, value) in values.iter().enumerate() {
            assert_eq!(set.index_of(value), Some(index), "{value}");
        }
        assert_eq!(set.index_of("west"), None);
        assert_eq!(set.index_of(""), None);
        assert_eq!(set.index_of("nort"), None);
        assert_eq!(set.other_index(), Some(5));
        let closed = LabelValues::new("warehouse", ["north"]).unwrap();
        assert_eq!((closed.other(), closed.other_index()), (None, None));
    }

    #[test]
    fn bad_sets_name_the_label_and_the_value() {
        let error = |result: Result<LabelValues, LabelValuesError>| result.unwrap_err();
        assert_eq!(
            error(LabelValues::new("region", ["a", "b", "a"])),
            LabelValuesError::Duplicate {
                label: "region".into(),
                value: "a".into()
            }
        );
        assert_eq!(
            error(LabelValues::new("region", ["a", ""])),
            LabelValuesError::EmptyValue {
                label: "region".into(),
                position: 1
            }
        );
        assert_eq!(
            error(LabelValues::new("region", Vec::<String>::new())),
            LabelValuesError::NoValues {
                label: "region".into()
            }
        );
        for name in [
            "le", "quantile", "__name__", "_x", "9a", "a-b", "tenantId", "",
        ] {
            let found = error(LabelValues::new(name, ["a"]));
            assert!(
                matches!(&found, LabelValuesError::Name { name: given, .. } if given == name),
                "{name:?}: {found:?}"
            );
            // The one rule table decides.
            assert!(rules::label_name(name, &[]).is_err(), "{name:?}");
        }
        let set = LabelValues::new("region", ["a"]).unwrap();
        assert_eq!(
            error(set.clone().with_other("a")),
            LabelValuesError::Duplicate {
                label: "region".into(),
                value: "a".into()
            }
        );
        assert!(matches!(
            error(set.clone().with_other("")),
            LabelValuesError::EmptyValue { position: 1, .. }
        ));
        let twice = set.with_other("other").unwrap().with_other("rest");
        assert!(matches!(error(twice), LabelValuesError::TwoOthers { .. }));
    }

    #[test]
    fn label_types_list_their_parts_in_order() {
        let parts = <(bool, Runtime, Runtime)>::parts();
        assert!(matches!(parts[0], Part::Static("value", ["false", "true"])));
        assert!(matches!(parts[1..], [Part::Runtime, Part::Runtime]));
        let positions = <(bool, Runtime)>::positions((true, "x"));
        assert!(matches!(
            positions.as_slice(),
            [Position::Index(1, 2), Position::Text("x")]
        ));
    }
}
