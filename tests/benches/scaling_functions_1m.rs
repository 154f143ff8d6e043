//! The instrumented functions of the `scaling` benchmark at 1,000,000 series: five functions
//! labelled by `(shard, tenant)` (10,000 combinations each): 50,000 label combinations of
//! 20 series; 30,000 counter series each, over the default cap of 10,000.
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
    combo: (Shard, Tenant),
    pattern: (shard, tenant),
    args(shard: Shard, tenant: Tenant),
    max_series = 30_000
);
