//! What a service plugs in: the HTTP layer and the `/metrics` endpoint, health checks, the
//! Pushgateway, process and system metrics, sqlx pools, and the generated rules and dashboards.

#[cfg(feature = "axum")]
pub mod axum;
pub(crate) mod build_info;
#[cfg(feature = "export")]
pub mod export;
#[cfg(feature = "metrics-facade")]
pub mod facade;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "axum")]
pub(crate) mod http;
#[cfg(feature = "reqwest")]
pub mod http_client;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "push")]
pub mod push;
#[cfg(any(feature = "push", feature = "otlp"))]
mod sending;
#[cfg(feature = "sqlx")]
pub mod sqlx;
pub mod system;
#[cfg(all(feature = "axum", feature = "exemplars"))]
pub(crate) mod trace_context;
