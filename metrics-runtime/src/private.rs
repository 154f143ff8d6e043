//! What generated code names, by absolute path. Not a public API: it changes with the macros.

pub use core::any::type_name;
pub use core::future::IntoFuture;
pub use core::option::Option;
pub use core::{file, module_path, panic};
pub use std::boxed::Box;

pub use inventory;

pub use std::sync::OnceLock;

pub use crate::__outcome_of as outcome_of;
pub use crate::Metrics;
pub use crate::catalog::Declaration;
pub use crate::instrument::outcome::{
    ErrAny, ErrClass, ErrProbe, ErrStatus, OkAny, OkProbe, OkStatus, ResponseStatus, ReturnProbe,
    Returned, SplitAny, SplitResult, predicate,
};
pub use crate::instrument::{
    CallGuard, CallSite, Instrumented, call, error_kind_of, instrument_future, label_index,
};
pub use crate::model::labels::{
    ErrorKinds, LabelSet, LabelValue, OptionLabelValue, distinct_names, next_index, series_count,
};
pub use crate::model::{
    DEFAULT_BUCKETS, Ending, Families, FieldDescriptor, FunctionDescriptor, FunctionName,
    GroupDescriptor, Objective, Outcome, Shape, for_kind, is_bound, own_helps,
};
pub use crate::registry::MetricField;
pub use crate::registry::{Registry, registry};

/// The protobuf writer, for doc examples and the tests that write expositions by hand.
#[cfg(feature = "protobuf")]
pub mod proto {
    pub use crate::exposition::proto::label_list::{LabelListError, parse_label_list};
    pub use crate::exposition::proto::writer::ProtoWriter;
}

/// A native histogram series alone (no handle, no registry) and its reading, for tests and
/// benchmarks.
pub mod native_histogram {
    pub use crate::storage::native_histogram::{
        NativeHistogram, NativeReading, Span, bucket_bounds,
    };
}

/// Bytes held by the cells of the global registry and the number of series they export, for
/// the memory benchmark.
#[must_use]
pub fn memory() -> (usize, usize) {
    memory_of(crate::registry())
}

/// Bytes held by the cells of `registry`'s families, and the number of series they export
/// (each counter outcome, histogram bucket, sum and count, and gauge counts as one).
#[must_use]
pub fn memory_of(registry: &Registry) -> (usize, usize) {
    use crate::metrics::Storage;
    use crate::registry::FunctionKind;

    let mut bytes = 0;
    let mut series = 0;
    if let Some(global) = registry.global() {
        bytes += global.cells.iter().map(|cells| cells.size()).sum::<usize>();
        for family in &global.functions {
            for one in &family.series {
                bytes += one.labels.text().len();
                series += match family.kind {
                    FunctionKind::Calls => one.outcomes.len(),
                    FunctionKind::Duration => family.bounds.len() + 3,
                    FunctionKind::InFlight => 1,
                    FunctionKind::Errors => one.kinds.len(),
                };
            }
        }
    }
    for family in registry.snapshot().stored.iter() {
        bytes += family.storage.size();
        let count = match &family.storage {
            Storage::Values(cells) => cells.series(),
            Storage::Histograms(cells) => cells.series(),
        };
        series += match family.spec.shape {
            Shape::Histogram => count * (family.spec.buckets.len().max(DEFAULT_BUCKETS.len()) + 3),
            _ => count,
        };
    }
    (bytes, series)
}

/// Encodes `families` in `format` the way a registry writes gathered families, for the
/// property tests of the exposition.
#[cfg(feature = "prometheus")]
#[must_use]
pub fn encode_families(
    families: &[prometheus::proto::MetricFamily],
    format: crate::Format,
) -> String {
    crate::render::gathered::encode_gathered(families, format)
}

/// The label string of a series of an instrumented function, for the property tests.
#[must_use]
pub fn render_labels(labels: &[(&str, &str)]) -> String {
    crate::exposition::text::render_labels(labels.iter().copied())
}

/// The crate's classic histogram cells alone (no handle, no registry), for the native
/// histogram benchmark's comparison.
pub mod bench {
    /// One classic histogram series.
    #[derive(Debug)]
    pub struct ClassicHistogram(crate::storage::cells::HistogramCells);

    impl ClassicHistogram {
        /// A series with these bucket bounds.
        #[must_use]
        pub fn new(bounds: &[f64]) -> Self {
            ClassicHistogram(crate::storage::cells::HistogramCells::new(1, bounds, None))
        }

        /// Records one observation.
        #[inline]
        pub fn observe(&self, value: f64) {
            self.0.observe(0, value);
        }

        /// The cumulative bucket counts (`+Inf` last) and the sum.
        #[must_use]
        pub fn read(&self) -> (Vec<u64>, f64) {
            let mut cumulative = Vec::new();
            let sum = self.0.read(0, &mut cumulative);
            (cumulative, sum)
        }

        /// Bytes these cells take.
        #[must_use]
        pub fn size(&self) -> usize {
            self.0.size()
        }
    }
}
