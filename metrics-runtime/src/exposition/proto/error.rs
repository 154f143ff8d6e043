//! Why the protobuf writer leaves a series out.

use std::fmt;

use super::label_list::LabelListError;
use super::messages::MetricType;

/// Why the protobuf writer left a series out. Each is a bug in the code that calls it, reported
/// rather than written as a series Prometheus would misread or refuse.
#[derive(Clone, Debug, PartialEq)]
pub enum ProtoError {
    /// A label list did not read back.
    Labels(LabelListError),
    /// A series has two labels of one name.
    DuplicateLabel {
        /// The family.
        family: String,
        /// The label name.
        label: String,
    },
    /// A series came before any header.
    NoFamily {
        /// The series' name.
        series: String,
    },
    /// A series is named unlike the family it follows.
    OtherFamily {
        /// The family.
        family: String,
        /// The series' name.
        series: String,
    },
    /// A series of another type than its family's: Prometheus would read another field.
    WrongType {
        /// The family.
        family: String,
        /// The family's type.
        declared: MetricType,
        /// The series' type.
        written: MetricType,
    },
    /// A histogram series whose counts do not match its bounds (one per bound and `+Inf`).
    Buckets {
        /// The family.
        family: String,
        /// The bounds.
        bounds: usize,
        /// The cumulative counts given.
        counts: usize,
    },
    /// A family written a second time.
    DuplicateFamily {
        /// The family.
        family: String,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::Labels(error) => error.fmt(f),
            ProtoError::DuplicateLabel { family, label } => write!(
                f,
                "a series of `{family}` has the label `{label}` twice; a label name must appear \
                 once per series"
            ),
            ProtoError::NoFamily { series } => write!(
                f,
                "series `{series}` was written before any family header; write its header first"
            ),
            ProtoError::OtherFamily { family, series } => write!(
                f,
                "series `{series}` was written in family `{family}`; write the header of its own \
                 family first"
            ),
            ProtoError::WrongType {
                family,
                declared,
                written,
            } => write!(
                f,
                "family `{family}` is a {} but a {} series was written in it; a family's series \
                 must all be of its type",
                declared.as_str(),
                written.as_str()
            ),
            ProtoError::Buckets {
                family,
                bounds,
                counts,
            } => write!(
                f,
                "a histogram of `{family}` with {bounds} bounds needs {} cumulative counts \
                 (`+Inf` last), got {counts}",
                bounds + 1
            ),
            ProtoError::DuplicateFamily { family } => write!(
                f,
                "family `{family}` was written twice; write each family once, all its series \
                 together"
            ),
        }
    }
}

impl std::error::Error for ProtoError {}
