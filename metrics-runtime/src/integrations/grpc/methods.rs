//! Each layer built and its served methods: every `(service, method)` and the `unmatched` one
//! get their cells when the layer is built (so every series exists at 0 from then on), and a
//! request's path finds its method in a map that never changes afterwards.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::catalog::Conflict;
use crate::integrations::grpc::builder::{Config, Names};
use crate::integrations::grpc::families::declare;
use crate::integrations::grpc::{CODES, Code, UNMATCHED};
use crate::model::Location;
use crate::model::labels::Labels;
use crate::storage::cells::CallCells;
use crate::storage::native_histogram::NativeHistogram;

/// The hasher of a layer's paths. The map holds the application's own methods and is never
/// written after the layer is built: a client's path is only looked up, so it can make no
/// lookup slower than the longest probe among the application's own keys.
type PathHasher = foldhash::fast::FixedState;

/// One built configuration: its families and the cells of its methods. Kept for the process:
/// layers are built by the application's code, a bounded number of times.
pub(super) struct Layer {
    pub(super) config: Config,
    pub(super) names: Names,
    pub(super) bounds: &'static [f64],
    /// The served methods, by service then method, and `unmatched` last.
    pub(super) methods: Box<[Method]>,
    /// The index in `methods` of each served path, `/service/method`.
    paths: HashMap<Box<str>, usize, PathHasher>,
    /// Why its families were refused, if they were: building the same layer again gives the
    /// same error, never a layer that silently exports nothing.
    refused: Mutex<Option<Conflict>>,
}

/// The cells of one method of one layer.
pub(super) struct Method {
    /// `grpc_method` and `grpc_service` and the constant labels, sorted by name.
    pub(super) labels: Labels,
    /// Its in-flight count (only the in-flight slots are used).
    pub(super) in_flight: CallCells,
    /// Calls and durations by code: `OK` from the start (and the unmatched method's
    /// `UNIMPLEMENTED`), the others when first seen.
    pub(super) codes: [OnceLock<CallCells>; CODES.len()],
    /// The durations of every code in a native histogram, when the layer asks for one (or
    /// every histogram is native).
    pub(super) native: Option<NativeHistogram>,
}

impl Method {
    /// The cells of `code`, made when first needed.
    pub(super) fn code(&self, code: Code, bounds: &[f64]) -> &CallCells {
        let slot = usize::from(code).min(CODES.len() - 1);
        self.codes[slot].get_or_init(|| CallCells::new(bounds, 0, None))
    }

    /// Each code seen (or exported from the start), with its cells.
    pub(super) fn by_code(&self) -> impl Iterator<Item = (usize, &CallCells)> {
        self.codes
            .iter()
            .enumerate()
            .filter_map(|(code, cells)| cells.get().map(|cells| (code, cells)))
    }
}

impl Layer {
    /// The method a request to `path` calls: a served one, or `unmatched`.
    #[inline]
    pub(super) fn method(&self, path: &str) -> &Method {
        let index = self
            .paths
            .get(path)
            .copied()
            .unwrap_or(self.methods.len() - 1);
        &self.methods[index]
    }

    /// The position of the `unmatched` method.
    #[cfg(test)]
    pub(super) fn unmatched(&self) -> &Method {
        &self.methods[self.methods.len() - 1]
    }
}

/// Every layer built, each configuration once.
static LAYERS: Mutex<Vec<&'static Layer>> = Mutex::new(Vec::new());

/// The layer of `config`: the one built before with it, or a new one whose families are
/// registered in the global registry, declared at `location` (with the conflict, if they are
/// refused).
pub(super) fn register(config: Config, location: Location) -> (&'static Layer, Option<Conflict>) {
    let mut layers = LAYERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(layer) = layers.iter().find(|layer| layer.config == config) {
        let refused = layer
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        return (layer, refused);
    }
    let names = config.names();
    let bounds: &'static [f64] = Box::leak(config.buckets.clone().into_boxed_slice());
    // The layer records into the global registry: its constant labels.
    let constant = crate::settings::freeze();
    // A configuration is checked when it is set, the bounds when the layer is built.
    let native = || {
        crate::settings::native_config(config.native)
            .and_then(|native| NativeHistogram::new(&native, bounds).ok())
    };
    let method = |service: &str, method: &str, first: Code| {
        let cells = Method {
            labels: constant.join(&[("grpc_service", service), ("grpc_method", method)], true),
            in_flight: CallCells::new(&[], 0, None),
            codes: std::array::from_fn(|_| OnceLock::new()),
            native: native(),
        };
        cells.code(first, bounds);
        cells
    };
    let mut methods = Vec::with_capacity(config.methods.len() + 1);
    let mut paths = HashMap::with_capacity_and_hasher(config.methods.len(), PathHasher::default());
    for (service, name) in &config.methods {
        paths.insert(format!("/{service}/{name}").into_boxed_str(), methods.len());
        methods.push(method(service, name, super::OK));
    }
    // What a server answers a path it does not serve (tonic does).
    methods.push(method(UNMATCHED, UNMATCHED, super::UNIMPLEMENTED));
    let layer: &'static Layer = Box::leak(Box::new(Layer {
        config,
        names,
        bounds,
        methods: methods.into_boxed_slice(),
        paths,
        refused: Mutex::new(None),
    }));
    layers.push(layer);
    // Registered under the lock: a second build of this configuration waits for the verdict.
    let refused = declare(layer, location);
    layer
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone_from(&refused);
    drop(layers);
    (layer, refused)
}
