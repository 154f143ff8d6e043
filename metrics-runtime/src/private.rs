//! What generated code names, by absolute path. Not a public API: it changes with the macros.

pub use core::{file, module_path};

pub use inventory;

pub use crate::catalog::Declaration;
pub use crate::instrument::{
    AnyOutcome, CallGuard, CallSite, Families, FunctionDescriptor, Outcome, OutcomeProbe,
    ResultOutcome, call,
};
