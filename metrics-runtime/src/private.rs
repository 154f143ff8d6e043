//! What generated code names, by absolute path. Not a public API: it changes with the macros.

pub use core::{file, module_path};

pub use inventory;

pub use std::sync::OnceLock;

pub use crate::Metrics;
pub use crate::catalog::{Declaration, FieldDescriptor, GroupDescriptor};
pub use crate::family::{MetricField, Shape};
pub use crate::instrument::{
    AnyOutcome, CallGuard, CallSite, Families, FunctionDescriptor, Outcome, OutcomeProbe,
    ResultOutcome, call, label_index,
};
pub use crate::labels::{LabelSet, LabelValue};
