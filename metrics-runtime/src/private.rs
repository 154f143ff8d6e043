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

/// Bytes held by the call cells of instrumented functions and the number of series they
/// export, for the memory benchmark.
#[must_use]
pub fn native_memory() -> (usize, usize) {
    crate::registry::native_memory()
}
