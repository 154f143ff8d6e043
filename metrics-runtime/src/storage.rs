//! Storage: the cells calls and handles write (striped by CPU), the clock, native histograms
//! and exemplars. Knows no exposition format and no registry.

pub(crate) mod cells;
pub(crate) mod clock;
pub(crate) mod exemplar;
pub(crate) mod native_histogram;
pub(crate) mod stripes;
