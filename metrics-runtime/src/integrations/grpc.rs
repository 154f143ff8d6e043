//! A tower layer recording every call a gRPC server (tonic) serves:
//!
//! | family | labels | what |
//! | --- | --- | --- |
//! | `grpc_server_handled_total` | `grpc_service`, `grpc_method`, `grpc_code` | calls completed, by gRPC status code |
//! | `grpc_server_handling_seconds` | `grpc_service`, `grpc_method` | from the request's arrival to the end of the response (of the stream) |
//! | `grpc_server_calls_in_flight` | `grpc_service`, `grpc_method` | calls being served |
//!
//! ```no_run
//! use instrument_metric::grpc::GrpcMetricsLayer;
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! // Any tonic service; its methods come from its descriptors, as tonic-reflection reads them
//! // (your own: `tonic::include_file_descriptor_set!("...")` after `file_descriptor_set_path`
//! // in the build script).
//! let (_health, service) = tonic_health::server::health_reporter();
//! let layer = GrpcMetricsLayer::builder()
//!     .file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
//!     .build()?;
//! tonic::transport::Server::builder()
//!     .layer(layer)
//!     .add_service(service)
//!     .serve("127.0.0.1:50051".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! **Bounded labels.** A call is labelled by the service and method of its path
//! (`/pkg.Service/Method`) only when the layer was told the method is served: from the service
//! descriptors (an encoded `FileDescriptorSet`) or from a list
//! ([`GrpcMetricsBuilder::service`]), checked when the layer is built. Any other path is the
//! one [`UNMATCHED`] series (`grpc_service="unmatched",grpc_method="unmatched"`), so no client,
//! however hostile, can create series. The labels are spelled `grpc_*` (as go-grpc-prometheus
//! spells them) so that a `service` constant label, which many deployments set, never clashes.
//!
//! **Codes.** `grpc_code` is the gRPC status the client receives (`"OK"`, `"NOT_FOUND"`: the
//! names of [`CODES`]), never the HTTP `200` that carries it: the `grpc-status` of a
//! trailers-only response's headers, else of the trailers that end the response body (a
//! response without `grpc-status` and with another HTTP status is read as gRPC's HTTP mapping
//! says: `404` is `UNIMPLEMENTED`, `503` `UNAVAILABLE`, ...). A call without a status is
//! recorded as:
//!
//! | what happened | `grpc_code` |
//! | --- | --- |
//! | the client went away or reset the stream before the end (the response future or body dropped) | `CANCELLED` |
//! | the response body ended without trailers or `grpc-status` | `UNKNOWN` |
//! | the response body failed, the service returned an error, or the handler panicked (the stream is reset) | `INTERNAL` |
//!
//! **Durations and streams.** A call is recorded once, when its response body ends: a
//! streaming call counts once (not once per message), and its duration runs from the request's
//! arrival to the end of its stream, so a duration never stops before the work does. Give
//! [`buckets`](GrpcMetricsBuilder::buckets) as long as your streams last. Message counts per
//! stream are not recorded.
//!
//! **Series at 0.** From the moment the layer is built, every served method has its
//! `grpc_code="OK"` counter, its histogram and its in-flight gauge at 0, and the `unmatched`
//! series has `grpc_code="UNIMPLEMENTED"` (what a server answers a path it does not serve).
//! Other codes appear when first seen: exporting all 17 codes of every method would multiply
//! the series by 17 for values that are almost all 0. A ratio of errors therefore reads missing
//! codes as none: `sum(rate(grpc_server_handled_total{grpc_code!="OK"}[5m])) or vector(0)`.
//!
//! **Cost.** Each method's cells are made when the layer is built; a call costs a lookup of
//! its path in a map that never changes after, two clock reads and a few uncontended atomic
//! increments (PERFORMANCE.md has the figures). The layer needs only `http`, `http-body`,
//! tower's traits and prost's decoder (for the descriptors), not tonic itself.
//!
//! Exemplars (feature `exemplars`) are taken from the OpenTelemetry context current when the
//! call ends: put the layer inside a tracing layer whose span is entered as the response body
//! is polled (tower-http's `TraceLayer` enters it) for the call's trace id.
//!
//! `builder.rs` checks the options and the served methods, `descriptors.rs` reads service
//! descriptors, `methods.rs` keeps each layer's methods and their cells, `families.rs` declares
//! and writes the families, `service.rs` is the tower `Layer`, `Service` and response future,
//! `body.rs` the response body that finds the status and records the call.

mod body;
mod builder;
mod descriptors;
mod families;
mod methods;
mod service;

pub use body::ResponseBody;
pub use builder::{GrpcLayerError, GrpcMetricsBuilder, GrpcMetricsLayer};
pub use service::{GrpcMetricsService, ResponseFuture};

/// `grpc_service` and `grpc_method` of a call to a path that is not a served method.
///
/// ```
/// assert_eq!(instrument_metric::grpc::UNMATCHED, "unmatched");
/// ```
pub const UNMATCHED: &str = "unmatched";

/// The `grpc_code` label values: the gRPC status codes' names, indexed by their number
/// (`CODES[5]` is `NOT_FOUND`). A `grpc-status` outside them is `UNKNOWN`, as gRPC clients
/// read it.
///
/// ```
/// use instrument_metric::grpc::CODES;
///
/// assert_eq!(CODES[0], "OK");
/// assert_eq!(CODES[5], "NOT_FOUND");
/// assert_eq!(CODES.len(), 17);
/// ```
pub const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// A status code: its index in [`CODES`].
type Code = u8;

const OK: Code = 0;
const CANCELLED: Code = 1;
const UNKNOWN: Code = 2;
const UNIMPLEMENTED: Code = 12;
const INTERNAL: Code = 13;

/// The code of a `grpc-status` value: its number when it is one of [`CODES`], else `UNKNOWN`
/// (as a client reads a status it does not know, or cannot parse).
fn parse_status(value: &[u8]) -> Code {
    let mut number: u32 = 0;
    if value.is_empty() || value.len() > 3 {
        return UNKNOWN;
    }
    for digit in value {
        if !digit.is_ascii_digit() {
            return UNKNOWN;
        }
        number = number * 10 + u32::from(digit - b'0');
    }
    match Code::try_from(number) {
        Ok(code) if usize::from(code) < CODES.len() => code,
        _ => UNKNOWN,
    }
}

/// The code a client reads from a response without `grpc-status` in its headers, by its HTTP
/// status: `None` for `200` (the status comes in the trailers), else the mapping of gRPC's
/// `http-grpc-status-mapping.md` (a `404` is `UNIMPLEMENTED`, a `503` `UNAVAILABLE`, ...).
fn http_status_code(status: u16) -> Option<Code> {
    Some(match status {
        200 => return None,
        400 => INTERNAL,
        401 => 16,
        403 => 7,
        404 => UNIMPLEMENTED,
        429 | 502..=504 => 14,
        _ => UNKNOWN,
    })
}

#[cfg(test)]
mod tests;
