//! Serving `/metrics` from an [`axum`](::axum) application.

use ::axum::Router;
use ::axum::http::header::CONTENT_TYPE;
use ::axum::response::IntoResponse;
use ::axum::routing::get;

use crate::encode::{TEXT_CONTENT_TYPE, render};

/// A router serving `GET /metrics` in the Prometheus text format; merge it into your app.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .merge(metrics_runtime::axum::router());
/// ```
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/metrics", get(metrics))
}

/// The `GET /metrics` handler, for mounting at another path.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new().route("/internal/metrics", get(metrics_runtime::axum::metrics));
/// ```
pub async fn metrics() -> impl IntoResponse {
    ([(CONTENT_TYPE, TEXT_CONTENT_TYPE)], render())
}
