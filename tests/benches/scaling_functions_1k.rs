//! The instrumented functions of the `scaling` benchmark at 1,000 series: five functions
//! labelled by `region` (10 values): 50 label combinations of 20 series.
//! The global registry holds every function a binary links, hence a binary per size;
//! `scaling` runs this one as its child.
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

mod common;
#[macro_use]
#[path = "common/scaling.rs"]
mod kit;

#[allow(unused_imports)] // the labels of this size only
use kit::{Region, Shard, Tenant};

#[global_allocator]
static ALLOCATOR: kit::Counting = kit::Counting;

functions!(
    combo: Region,
    pattern: region,
    args(region: Region),
    max_series = 10_000
);
