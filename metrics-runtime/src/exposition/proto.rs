//! The Prometheus protobuf exposition's messages: `io.prometheus.client.MetricFamily` and
//! what it holds, as `prometheus/client_model`'s `io/prometheus/client/metrics.proto` declares
//! them (proto2), with `prost`'s derive, field numbers and types as there (no `protoc` runs at
//! build time); `Timestamp` is `google.protobuf.Timestamp`. A registry's protobuf render
//! ([`Registry::encode_protobuf_within`](crate::Registry::encode_protobuf_within)) is these messages, each
//! preceded by its length as a varint ([`PROTOBUF_CONTENT_TYPE`]), the format that carries
//! native histograms and created timestamps; [`MetricFamily`] reads it back.

mod encode;
mod error;
pub(crate) mod label_list;
mod messages;
#[cfg(test)]
#[allow(clippy::float_cmp)] // values written are read back bit for bit
mod tests;
pub(crate) mod writer;

pub use error::ProtoError;
pub use messages::{
    Bucket, BucketSpan, Counter, Exemplar, Gauge, Histogram, LabelPair, Metric, MetricFamily,
    MetricType, PROTOBUF_CONTENT_TYPE, Quantile, Summary, Timestamp, Untyped,
};
pub(crate) use writer::ProtoWriter;
