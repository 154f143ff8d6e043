//! The OTLP exposition: a registry's families as OpenTelemetry metrics
//! (`opentelemetry.proto.metrics.v1`), the body of an OTLP/HTTP export request.
//!
//! One writer ([`OtlpWriter`]) implements [`Exposition`](crate::exposition::Exposition), so
//! every family writes itself to OTLP as it does to `/metrics`, from the same reading:
//!
//! | Prometheus                    | OTLP                                                        |
//! |-------------------------------|-------------------------------------------------------------|
//! | counter                       | `Sum`, cumulative, monotonic, with the series' start time   |
//! | gauge, untyped                | `Gauge`                                                     |
//! | classic histogram             | `Histogram` (explicit bounds without `+Inf`, count per bucket) |
//! | native histogram              | `ExponentialHistogram` (scale = schema, zero bucket, offset and counts) |
//! | summary                       | `Summary`                                                   |
//! | labels, constant labels       | point attributes                                            |
//! | exemplar                      | `Exemplar` with its trace id, span id, value and time       |
//!
//! The messages are declared in `otlp/messages.rs` (why there rather than taken from the
//! `opentelemetry-proto` crate: see its module doc); the push loop is
//! `integrations/otlp.rs`.

pub mod messages;
#[cfg(test)]
#[allow(clippy::float_cmp)] // values written are read back bit for bit
mod tests;
mod writer;

pub(crate) use writer::OtlpWriter;
