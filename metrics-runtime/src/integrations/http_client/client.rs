//! Each configuration built and its cells, all made when it is built: per peer an in-flight
//! count and a counter per kind of error, per peer and method a duration histogram and a
//! request counter per status. Recording a call is a [`Record`], started when the call is sent
//! and finished by its response head or its error (or by being dropped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::catalog::Conflict;
use crate::integrations::http::{METHODS, method_index};
use crate::integrations::http_client::builder::{Config, Names};
use crate::integrations::http_client::families::declare;
use crate::integrations::http_client::{ERROR_KINDS, ErrorKind, UNKNOWN_PEER};
use crate::model::labels::Labels;
use crate::model::{Location, Outcome};
use crate::storage::cells::CallCells;
use crate::storage::exemplar::current_trace;
use crate::storage::native_histogram::NativeHistogram;

/// Status codes 0 to 999 each have a slot; HTTP only uses 100 to 599.
const STATUSES: usize = 1000;
/// Status classes `0xx` to `9xx` each have a slot.
const CLASSES: usize = 10;

/// One built configuration and its cells. Kept for the process: metrics are built by the
/// application's code, a bounded number of times.
pub(in crate::integrations::http_client) struct Client {
    pub(super) config: Config,
    pub(super) names: Names,
    pub(super) bounds: &'static [f64],
    /// Where the metrics were first built, which a conflict names.
    pub(super) built_at: Location,
    /// The declared peers, then [`UNKNOWN_PEER`].
    pub(super) peers: Box<[PeerCells]>,
    /// The slot in [`PeerCells::methods`] of each of [`METHODS`].
    method_slots: [usize; METHODS.len()],
    /// Why its families were refused, if they were: building the same options again gives
    /// the same error, never metrics that silently export nothing.
    refused: Mutex<Option<Conflict>>,
    /// Whether a call naming no declared peer was logged.
    warned: AtomicBool,
}

/// Every configuration built, each once.
static CLIENTS: Mutex<Vec<&'static Client>> = Mutex::new(Vec::new());

/// The cells of one peer.
pub(super) struct PeerCells {
    pub(super) name: Box<str>,
    /// `peer` and the constant labels, made at the first scrape (when the constant labels
    /// are frozen).
    pub(super) labels: OnceLock<Labels>,
    /// Its in-flight count and its errors by kind (no buckets).
    pub(super) calls: CallCells,
    /// One per method recorded by name, `other` last.
    pub(super) methods: Box<[MethodCells]>,
}

/// The cells of one method of one peer.
pub(super) struct MethodCells {
    /// Its index in [`METHODS`].
    pub(super) method: usize,
    /// `peer`, `method` and the constant labels, made at the first scrape.
    pub(super) labels: OnceLock<Labels>,
    /// Calls and durations by status (or status class), the last slot for calls that got no
    /// response head. Those exported from the start are made with the metrics, a status code
    /// at its first response.
    pub(super) statuses: Box<[OnceLock<CallCells>]>,
    /// The durations of every status in a native histogram, with `native_histograms` (or
    /// every histogram native), made at the first call or scrape.
    native: OnceLock<Option<NativeHistogram>>,
}

impl MethodCells {
    pub(super) fn status(&self, slot: usize, bounds: &[f64]) -> &CallCells {
        self.statuses[slot].get_or_init(|| CallCells::new(bounds, 0, None))
    }

    /// Each status (or class) made, with its cells; the error slot is `usize::MAX`.
    pub(super) fn by_status(&self) -> impl Iterator<Item = (usize, &CallCells)> {
        let error = self.statuses.len() - 1;
        self.statuses
            .iter()
            .enumerate()
            .filter_map(move |(slot, cells)| {
                cells
                    .get()
                    .map(|cells| (if slot == error { usize::MAX } else { slot }, cells))
            })
    }

    pub(super) fn native(&self, wanted: bool, bounds: &[f64]) -> Option<&NativeHistogram> {
        self.native
            .get_or_init(|| {
                // A configuration is checked when it is set, the bounds when the metrics are built.
                crate::settings::native_config(wanted)
                    .and_then(|config| NativeHistogram::new(&config, bounds).ok())
            })
            .as_ref()
    }
}

impl Client {
    /// The index of the declared peer `name`.
    pub(super) fn declared(&self, name: &str) -> Option<usize> {
        self.config.peers.iter().position(|peer| peer == name)
    }

    /// The index of the peer of a call naming `name` (`None`: naming none) with `default`
    /// the middleware's own: [`UNKNOWN_PEER`] when it is neither declared nor given.
    pub(super) fn peer_of(&self, name: Option<&str>, default: Option<usize>) -> usize {
        let found = match name {
            Some(name) => self.declared(name),
            None => default,
        };
        found.unwrap_or_else(|| {
            if !self.warned.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "an HTTP call named the peer {:?}, which {}: it counts under peer=\"{UNKNOWN_PEER}\" in {} (logged once)",
                    name.unwrap_or_default(),
                    if name.is_some() {
                        "was not declared to the metrics"
                    } else {
                        "is none, and its middleware has no peer of its own (`for_peer`)"
                    },
                    self.names.requests,
                );
            }
            self.peers.len() - 1
        })
    }

    /// Starts recording a call to the peer at `peer` with `method`.
    pub(super) fn start(&'static self, peer: usize, method: &::axum::http::Method) -> Record {
        let peer = &self.peers[peer];
        let method = &peer.methods[self.method_slots[method_index(method)]];
        peer.calls.enter(peer.calls.stripe());
        Record {
            client: self,
            peer,
            method,
            started: peer.calls.clock.raw(),
        }
    }

    /// The slot of `status` in a method's table.
    fn status_slot(&self, status: u16) -> usize {
        if self.config.status_classes {
            usize::from(status / 100).min(CLASSES - 1)
        } else {
            usize::from(status).min(STATUSES - 1)
        }
    }
}

impl PeerCells {
    /// Counts one error of `kind`.
    pub(super) fn count_error(&self, kind: ErrorKind) {
        self.calls.count_kind(self.calls.stripe(), kind as usize);
    }
}

/// One call being recorded; counts a `cancelled` error if dropped before its head came.
pub(super) struct Record {
    client: &'static Client,
    peer: &'static PeerCells,
    method: &'static MethodCells,
    started: u64,
}

impl Record {
    /// The call's response head came with `status`; its peer, to count a body error.
    pub(super) fn responded(self, status: u16) -> &'static PeerCells {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(record.client.status_slot(status));
        record.peer
    }

    /// The call failed before its response head, with an error of `kind`.
    pub(super) fn failed(self, kind: ErrorKind) {
        let record = std::mem::ManuallyDrop::new(self);
        record.fail(kind);
    }

    fn fail(&self, kind: ErrorKind) {
        self.observe(self.method.statuses.len() - 1);
        self.peer.count_error(kind);
    }

    fn observe(&self, slot: usize) {
        let peer = &self.peer.calls;
        let ended = peer.clock.raw();
        let nanos = peer.clock.delta_as_nanos(self.started, ended);
        peer.leave(peer.stripe());
        let client = self.client;
        let cells = self.method.status(slot, client.bounds);
        cells.record(cells.stripe(), Outcome::Ok, nanos);
        if let Some(native) = self.method.native(client.config.native, client.bounds) {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 ns (104 days)
            native.observe(nanos as f64 / 1e9);
        }
        if let Some(trace) = current_trace() {
            cells.exemplar(trace, Outcome::Ok, nanos, ended);
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // Dropped before its head came: the caller gave up (its own timeout, a `select!`), or
        // a panic unwinds through the call, an error of this program rather than the peer's.
        let kind = if std::thread::panicking() {
            ErrorKind::Other
        } else {
            ErrorKind::Cancelled
        };
        self.fail(kind);
    }
}

/// The metrics of `config`: those built before with it, or new ones whose families are
/// registered in the global registry (with the conflict, if they are refused).
pub(super) fn register(config: Config, built_at: Location) -> (&'static Client, Option<Conflict>) {
    let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(client) = clients.iter().find(|client| client.config == config) {
        let refused = client
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        return (client, refused);
    }
    let names = config.names();
    let bounds: &'static [f64] = Box::leak(config.buckets.clone().into_boxed_slice());
    let mut method_slots = [config.methods.len() - 1; METHODS.len()];
    for (slot, method) in config.methods.iter().enumerate() {
        method_slots[*method] = slot;
    }
    let (slots, exported) = if config.status_classes {
        (CLASSES, 1..6)
    } else {
        (STATUSES, 0..0)
    };
    let method_cells = |method: usize| {
        let statuses: Box<[OnceLock<CallCells>]> = (0..=slots).map(|_| OnceLock::new()).collect();
        let cells = MethodCells {
            method,
            labels: OnceLock::new(),
            statuses,
            native: OnceLock::new(),
        };
        // Exported from the start: the calls that got no head, and the classes 1xx to 5xx.
        for slot in exported.clone().chain([slots]) {
            cells.status(slot, bounds);
        }
        cells
    };
    let peers = config
        .peers
        .iter()
        .map(String::as_str)
        .chain([UNKNOWN_PEER])
        .map(|name| PeerCells {
            name: name.into(),
            labels: OnceLock::new(),
            calls: CallCells::new(&[], ERROR_KINDS.len(), None),
            methods: config.methods.iter().map(|m| method_cells(*m)).collect(),
        })
        .collect();
    let client: &'static Client = Box::leak(Box::new(Client {
        config,
        names,
        bounds,
        built_at,
        peers,
        method_slots,
        refused: Mutex::new(None),
        warned: AtomicBool::new(false),
    }));
    clients.push(client);
    // Registered under the lock: a second build of this configuration waits for the verdict.
    let refused = declare(client);
    client
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone_from(&refused);
    drop(clients);
    (client, refused)
}

#[cfg(test)]
mod tests {
    use ::axum::http::Method;

    use super::*;
    use crate::integrations::http_client::HttpClientMetrics;
    use crate::storage::cells::Readings;

    /// The calls of `peer` and `method` by status slot (`usize::MAX`: no head).
    fn calls(client: &Client, peer: usize, method: usize) -> Vec<(usize, u64)> {
        let cells = &client.peers[peer].methods[method];
        let seen: Vec<(usize, &CallCells)> = cells.by_status().collect();
        let readings = Readings::take(seen.iter().map(|(_, cells)| *cells));
        seen.iter()
            .enumerate()
            .map(|(at, (slot, _))| (*slot, readings.get(at).calls(Outcome::Ok)))
            .collect()
    }

    fn errors(client: &Client, peer: usize) -> Vec<u64> {
        let readings = Readings::take([&client.peers[peer].calls]);
        (0..ERROR_KINDS.len())
            .map(|kind| readings.get(0).kind(kind))
            .collect()
    }

    #[test]
    fn a_call_counts_once_by_peer_method_and_status_or_as_an_error() {
        let metrics = HttpClientMetrics::builder()
            .prefix("unit_client_calls")
            .peers(&["a", "b"])
            .methods(&[Method::GET, Method::POST])
            .build()
            .unwrap();
        let client = metrics.client;
        // GET, POST, other; the error slot is made from the start.
        assert_eq!(calls(client, 0, 0), [(usize::MAX, 0)]);
        client.start(0, &Method::GET).responded(200);
        client.start(0, &Method::GET).responded(200);
        client.start(0, &Method::GET).responded(503);
        client.start(1, &Method::DELETE).failed(ErrorKind::Connect);
        drop(client.start(1, &Method::POST));
        assert_eq!(calls(client, 0, 0), [(200, 2), (503, 1), (usize::MAX, 0)]);
        assert_eq!(calls(client, 1, 2), [(usize::MAX, 1)], "DELETE is other");
        assert_eq!(calls(client, 1, 1), [(usize::MAX, 1)]);
        assert_eq!(errors(client, 1), [0, 1, 0, 0, 0, 1, 0]);
        assert_eq!(client.peers[1].calls.in_flight(), 0);
    }

    #[test]
    fn status_classes_are_made_from_the_start() {
        let metrics = HttpClientMetrics::builder()
            .prefix("unit_client_classes")
            .peers(&["a"])
            .methods(&[Method::GET])
            .status_classes()
            .build()
            .unwrap();
        let client = metrics.client;
        client.start(0, &Method::GET).responded(201);
        client.start(0, &Method::GET).responded(404);
        let slots = calls(client, 0, 0);
        assert_eq!(
            slots,
            [(1, 0), (2, 1), (3, 0), (4, 1), (5, 0), (usize::MAX, 0)]
        );
    }

    #[test]
    fn a_call_naming_no_declared_peer_counts_under_other() {
        let metrics = HttpClientMetrics::builder()
            .prefix("unit_client_unknown")
            .peers(&["a", "b"])
            .build()
            .unwrap();
        let client = metrics.client;
        assert_eq!(&*client.peers[2].name, UNKNOWN_PEER);
        assert_eq!(client.peer_of(Some("b"), None), 1);
        assert_eq!(
            client.peer_of(Some("b"), Some(0)),
            1,
            "the call's own first"
        );
        assert_eq!(client.peer_of(None, Some(0)), 0);
        assert_eq!(client.peer_of(Some("c"), Some(0)), 2);
        assert_eq!(client.peer_of(None, None), 2);
    }
}
