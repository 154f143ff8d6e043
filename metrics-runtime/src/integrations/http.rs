//! A tower layer recording every HTTP request an axum application serves.
//!
//! `endpoint` is axum's matched route template (`/users/{id}`), never the raw path; a request
//! that matches no route is labelled `unmatched`, and a method outside the standard set is
//! `other`. The label values are therefore bounded by the application's own routes: no
//! client, however hostile, can create series.
//!
//! Each `(endpoint, method)` is resolved once into striped call cells, like the functions of
//! `#[instrument_metric]`, found afterwards through a per-thread cache: a request costs two
//! clock reads and a few uncontended atomic increments, and the families are rendered
//! straight from the cells. A layer registers its families in the global registry when it is
//! built; layers built alike share them.
//!
//! A request whose response is never produced is recorded all the same: [`CLIENT_CLOSED_STATUS`]
//! when the client went away first (the response future was dropped), `500` (what
//! axum's `CatchPanic` answers) when the handler panicked (the panic unwound through the
//! layer's poll, or the future was dropped while a panic unwound). Objectives leave the first
//! out and count the second as an error.
//!
//! `builder.rs` checks the options and builds a layer, `routes.rs` keeps each layer's routes
//! and their cells, `families.rs` declares and writes the families, `service.rs` records each
//! request (the tower `Layer`, `Service` and response future), `body.rs` counts body bytes.

mod body;
mod builder;
mod families;
mod routes;
mod service;

pub use builder::{HttpLayerError, HttpMetricsBuilder, HttpMetricsLayer};
pub use service::{HttpMetricsService, ResponseFuture};
// The method folding and bucket checks the outbound-call metrics share.
#[cfg(feature = "reqwest")]
pub(super) use builder::bounds_problem;
#[cfg(feature = "reqwest")]
pub(super) use routes::{METHODS, method_index};

/// `endpoint` of a request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

/// `status` of a request whose response was never produced because the client went away
/// first. A request whose handler panicked is recorded as `500` instead (what axum's
/// `CatchPanic` answers): a server error, which objectives count.
pub const CLIENT_CLOSED_STATUS: &str = "499";

/// [`CLIENT_CLOSED_STATUS`] as a code.
const CLIENT_CLOSED: u16 = status_code(CLIENT_CLOSED_STATUS);

/// The status of a request whose handler panicked (what axum's `CatchPanic` answers), or whose
/// service failed without a response: a server error, which objectives count.
const SERVER_ERROR: u16 = 500;

/// The code a status label of three digits spells.
const fn status_code(status: &str) -> u16 {
    let digits = status.as_bytes();
    assert!(digits.len() == 3, "a status is three digits");
    let mut code = 0;
    let mut i = 0;
    while i < digits.len() {
        assert!(digits[i].is_ascii_digit(), "a status is three digits");
        code = code * 10 + (digits[i] - b'0') as u16;
        i += 1;
    }
    code
}

/// The default bucket bounds of the body size histograms, in bytes: 64 B to 16 MiB.
pub const BODY_SIZE_BUCKETS: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
];
