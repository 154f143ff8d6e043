//! A personal-assistant service (HTTP API, SMS, OAuth integrations, a database, background
//! tasks) instrumented with `metrics-runtime`: the toolkit's showcase and end-to-end test
//! subject. See the README beside this crate.
#![warn(missing_docs, unreachable_pub)]
// A service, not a library: its handlers' errors are HTTP answers and its queries' errors are
// sqlx's. (Clippy sees the instrumented functions as written since the attribute keeps their
// spans, as it would without the attribute.)
#![allow(clippy::missing_errors_doc)]

pub mod api;
pub mod dashboard;
pub mod db;
pub mod metrics;
pub mod oauth;
pub mod simulate;
pub mod sms;
pub mod tasks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::json;

use crate::api::Api;
use crate::db::Database;
use crate::sms::{ProviderSimulation, SmsQueue};
use crate::tasks::TaskQueue;

/// Everything the handlers and workers share.
pub struct AppState {
    /// The database.
    pub db: Database,
    /// The SMS queue.
    pub sms: SmsQueue,
    /// The task queue.
    pub tasks: TaskQueue,
    /// How the simulated SMS providers behave.
    pub sms_simulation: ProviderSimulation,
    /// Whether the traffic simulation runs (answers then carry debug data).
    pub simulate: bool,
    /// Sessions open now.
    pub active_sessions: AtomicI64,
    /// SMS messages waiting.
    pub sms_queue_length: AtomicI64,
    /// Tasks waiting.
    pub task_queue_length: AtomicI64,
    /// Writes that failed (the database was down).
    pub storage_errors: AtomicU64,
    /// What the traffic generator did.
    pub report: simulate::Report,
}

/// How to run the service.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Any sqlx URL; SQLite by default.
    pub database_url: String,
    /// Whether to run the traffic generator.
    pub simulate: bool,
    /// Requests per second the traffic generator aims at.
    pub simulate_rate: u32,
}

/// A random identifier.
#[must_use]
pub fn new_id() -> String {
    format!("{:016x}{:08x}", fastrand::u64(..), fastrand::u32(..))
}

/// Opens the database, starts the workers and builds the state.
///
/// # Errors
///
/// When the database cannot be opened or the collectors are already registered.
pub async fn start(config: &Config) -> anyhow::Result<Arc<AppState>> {
    metrics_runtime::check()?;
    let db = Database::connect(&config.database_url).await?;
    let (sms, sms_receiver) = SmsQueue::new(10_000);
    let (tasks, task_receiver) = TaskQueue::new(10_000);
    let state = Arc::new(AppState {
        db,
        sms,
        tasks,
        sms_simulation: ProviderSimulation::default(),
        simulate: config.simulate,
        active_sessions: AtomicI64::new(0),
        sms_queue_length: AtomicI64::new(0),
        task_queue_length: AtomicI64::new(0),
        storage_errors: AtomicU64::new(0),
        report: simulate::Report::default(),
    });
    metrics::register_collectors(&state)?;
    let health_state = Arc::clone(&state);
    metrics_runtime::health::register("database", Duration::from_secs(2), move || {
        let state = Arc::clone(&health_state);
        async move { db::ping(&state.db).await }
    })?;
    let _periodic = metrics_runtime::health::spawn_periodic(Duration::from_secs(2));
    let _sender = SmsQueue::start(&state, sms_receiver, 16);
    tasks::start(&state, task_receiver, 4);
    Ok(state)
}

/// The service's routes, instrumented, behind the HTTP metrics layer: the service as it runs.
pub fn router(state: Arc<AppState>) -> Router {
    routes(state).layer(metrics_runtime::axum::HttpMetricsLayer::default())
}

/// The service's routes, instrumented, without the HTTP metrics layer; for the
/// instruction-count benchmark.
pub fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/users", post(Api::register_user))
        .route(
            "/api/v1/users/{id}/phone/verification",
            post(Api::start_verification),
        )
        .route("/api/v1/users/{id}/phone/verify", post(Api::verify_phone))
        .route("/api/v1/sms", post(Api::send_sms))
        .route("/api/v1/oauth/{provider}/connect", post(Api::oauth_connect))
        .route("/api/v1/oauth/{provider}/refresh", post(Api::oauth_refresh))
        .route("/api/v1/oauth/{provider}", delete(Api::oauth_disconnect))
        .route("/api/v1/sessions", post(Api::open_session))
        .route("/api/v1/sessions/{id}", delete(Api::close_session))
        .route("/api/v1/tasks", post(Api::enqueue_task))
        .route(
            "/api/v1/analytics/sms-performance",
            get(Api::sms_performance),
        )
        .route("/api/v1/simulation/report", get(report))
        .route("/api/v1/simulation/sms", put(set_sms_failure_rate))
        .route("/api/v1/simulation/database", put(set_database_available))
        .route("/api/v1/simulation/traffic", put(set_traffic))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "no such route" })),
            )
        })
        .with_state(state)
        .merge(metrics_runtime::health::router())
        .merge(metrics_runtime::axum::router())
}

async fn report(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(state.report.snapshot())
}

#[derive(Deserialize)]
struct SmsSimulation {
    failure_rate: f64,
}

async fn set_sms_failure_rate(
    State(state): State<Arc<AppState>>,
    axum::Json(body): axum::Json<SmsSimulation>,
) -> impl IntoResponse {
    state.sms_simulation.set_failure_rate(body.failure_rate);
    axum::Json(json!({ "failure_rate": state.sms_simulation.failure_rate() }))
}

#[derive(Deserialize)]
struct DatabaseSimulation {
    available: bool,
}

async fn set_database_available(
    State(state): State<Arc<AppState>>,
    axum::Json(body): axum::Json<DatabaseSimulation>,
) -> impl IntoResponse {
    state.db.set_available(body.available);
    axum::Json(json!({ "available": body.available }))
}

#[derive(Deserialize)]
struct TrafficSimulation {
    running: bool,
}

/// Stops the traffic generator; `in_flight` in the answer reaches 0 once the last action it
/// started has finished, so a caller polls it before reading the final report.
async fn set_traffic(
    State(state): State<Arc<AppState>>,
    axum::Json(body): axum::Json<TrafficSimulation>,
) -> axum::response::Response {
    if body.running {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": "the traffic generator cannot be restarted; restart the service with --simulate"
            })),
        )
            .into_response();
    }
    state.report.stop();
    axum::Json(json!({ "running": false, "in_flight": state.report.in_flight() })).into_response()
}

/// Runs the service until Ctrl-C.
///
/// # Errors
///
/// When it cannot start or listen.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let state = start(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    println!(
        "personal-assistant listening on http://{addr} (metrics: http://{addr}/metrics, health: http://{addr}/health/overall)"
    );
    if config.simulate {
        println!(
            "simulating traffic at about {} requests per second",
            config.simulate_rate
        );
        simulate::spawn(addr, Arc::clone(&state), config.simulate_rate);
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
