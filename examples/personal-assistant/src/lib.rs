//! A personal-assistant service (HTTP API, SMS, OAuth integrations, a database, background
//! tasks) instrumented with `instrument-metric`: the toolkit's showcase and end-to-end test
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
pub mod providers;
pub mod rollup;
pub mod simulate;
pub mod sms;
pub mod tasks;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, ApiError, Body};
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
    /// The SMS and OAuth providers (simulated on 127.0.0.1) and the client that calls them.
    pub providers: providers::Providers,
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
    /// The HTTP metrics layer, with the API's objective.
    pub http_layer: instrument_metric::axum::HttpMetricsLayer,
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

/// The largest request body, in bytes; a larger one gets `413` with a JSON error.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A random identifier.
#[must_use]
pub fn new_id() -> String {
    format!("{:016x}{:08x}", fastrand::u64(..), fastrand::u32(..))
}

/// Opens the database, starts the workers and builds the state.
///
/// # Errors
///
/// When the database cannot be opened (the message names `--database-url` and how to fix
/// it) or the collectors are already registered.
pub async fn start(config: &Config) -> anyhow::Result<Arc<AppState>> {
    instrument_metric::check()?;
    instrument_metric::build_info!()?;
    let http_layer = http_layer()?;
    let db = Database::connect(&config.database_url)
        .await
        .map_err(|error| anyhow::anyhow!(database_error(&config.database_url, &error)))?;
    let (sms, sms_receiver) = SmsQueue::new(10_000);
    let (tasks, task_receiver) = TaskQueue::new(10_000);
    let sms_simulation = ProviderSimulation::default();
    let providers = providers::Providers::start(sms_simulation.clone()).await?;
    let state = Arc::new(AppState {
        db,
        sms,
        tasks,
        sms_simulation,
        providers,
        simulate: config.simulate,
        active_sessions: AtomicI64::new(0),
        sms_queue_length: AtomicI64::new(0),
        task_queue_length: AtomicI64::new(0),
        storage_errors: AtomicU64::new(0),
        report: simulate::Report::default(),
        http_layer,
    });
    metrics::register_collectors(&state)?;
    sms::register_destinations()?;
    let health_state = Arc::clone(&state);
    instrument_metric::health::register("database", Duration::from_secs(2), move || {
        let state = Arc::clone(&health_state);
        async move { db::ping(&state.db).await }
    })?;
    let _periodic = instrument_metric::health::spawn_periodic(Duration::from_secs(2));
    let _sender = SmsQueue::start(&state, sms_receiver, 16);
    tasks::start(&state, task_receiver, 4);
    Ok(state)
}

/// Registers every family the service exports, as [`start`] does (on an in-memory database,
/// with no traffic), so that the catalog lists them all: what the dashboard and the rules are
/// generated from.
///
/// # Errors
///
/// When a registration is refused (a conflict).
pub async fn declare_metrics() -> anyhow::Result<()> {
    start(&Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: "sqlite::memory:".to_owned(),
        simulate: false,
        simulate_rate: 0,
    })
    .await
    .map(drop)
}

/// The service's routes, instrumented, behind the HTTP metrics layer (whose duration histogram
/// is native too, in the protobuf exposition): the service as it runs, but for the request spans
/// of [`trace::traced`].
pub fn router(state: Arc<AppState>) -> Router {
    let layer = state.http_layer;
    routes(state).layer(layer)
}

/// The HTTP metrics layer, the families of `HttpMetricsLayer::default()` (the duration
/// histogram native too, in the protobuf exposition) with the API's
/// objective: 99.9% of requests are not answered with a 5xx status (the layer classifies each
/// handler's answer by its status), and 99% are answered within 250 ms, over 30 days; and
/// `POST /api/v1/sms` its own: it only queues the text, so 99.5% are answered within 100 ms.
///
/// # Errors
///
/// When the objective's name or the layer's families are declared elsewhere.
pub fn http_layer() -> anyhow::Result<instrument_metric::axum::HttpMetricsLayer> {
    use instrument_metric::Objective;
    Ok(instrument_metric::axum::HttpMetricsLayer::builder()
        .native_histograms()
        .objective(Objective::new("api").success(99.9).latency(0.25, 99.0))
        .route_objective(
            &["POST"],
            "/api/v1/sms",
            Objective::new("api_sms").latency(0.1, 99.5),
        )
        .build()?)
}

/// What a start-up failure to open `url` means, and how to fix it.
fn database_error(url: &str, error: &sqlx::Error) -> String {
    let url = redacted(url);
    let forms = "`sqlite://FILE?mode=rwc` (a file, created if missing), `sqlite::memory:` \
                 or `postgres://USER:PASSWORD@HOST/DATABASE`";
    match error {
        sqlx::Error::Configuration(_) => {
            format!("invalid --database-url `{url}`: {error}; use {forms}")
        }
        sqlx::Error::Database(_) if url.starts_with("sqlite:") => format!(
            "cannot open the SQLite database of --database-url `{url}`: {error}; check that its \
             directory exists and is writable, and add `?mode=rwc` to create the file if missing"
        ),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => format!(
            "cannot connect to the database of --database-url `{url}`: {error}; check that the \
             server is running and reachable at that address"
        ),
        _ => format!("cannot use the database of --database-url `{url}`: {error}; use {forms}"),
    }
}

/// `url` with its password, if any, replaced by `***`, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Turns every error answer that is not JSON yet (what axum answers by itself: a method the
/// route does not have, a path that does not decode, ...) into `{"error": "..."}`, keeping
/// its status and headers.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let message = match parts.headers.get(ALLOW).and_then(|v| v.to_str().ok()) {
        Some(allowed) if status == StatusCode::METHOD_NOT_ALLOWED => {
            format!("{reason}; this route accepts {allowed}")
        }
        _ if text.is_empty() => reason,
        _ => text,
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(
        parts,
        axum::body::Body::from(json!({ "error": message }).to_string()),
    )
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
        .merge(instrument_metric::health::router())
        .merge(instrument_metric::axum::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_errors))
}

async fn report(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(state.report.snapshot())
}

/// What `PUT /api/v1/simulation/sms` changes: each field given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsSimulation {
    /// The share of messages that fail, 0 to 1.
    failure_rate: Option<f64>,
    /// Milliseconds every provider answer takes on top of its usual 20 to 180.
    slowdown_ms: Option<u64>,
}

async fn set_sms_failure_rate(
    State(state): State<Arc<AppState>>,
    body: Body<SmsSimulation>,
) -> Result<impl IntoResponse, ApiError> {
    let axum::Json(body) = body?;
    if body.failure_rate.is_none() && body.slowdown_ms.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "give failure_rate (0 to 1), slowdown_ms (milliseconds) or both",
        ));
    }
    if let Some(rate) = body.failure_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "failure_rate must be between 0 and 1",
            ));
        }
        state.sms_simulation.set_failure_rate(rate);
    }
    if let Some(ms) = body.slowdown_ms {
        if ms > 60_000 {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "slowdown_ms must be at most 60000",
            ));
        }
        state.sms_simulation.set_slowdown_ms(ms);
    }
    Ok(axum::Json(json!({
        "failure_rate": state.sms_simulation.failure_rate(),
        "slowdown_ms": state.sms_simulation.slowdown_ms(),
    })))
}

#[derive(Deserialize)]
struct DatabaseSimulation {
    available: bool,
}

async fn set_database_available(
    State(state): State<Arc<AppState>>,
    body: Body<DatabaseSimulation>,
) -> Result<impl IntoResponse, ApiError> {
    let axum::Json(body) = body?;
    state.db.set_available(body.available);
    Ok(axum::Json(json!({ "available": body.available })))
}

/// Binds `addr`, or says why not and what to do.
async fn listen(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        let fix = match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "the port is in use (another personal-assistant?); stop that process or choose \
                 another port, like --addr {}:{}",
                addr.ip(),
                addr.port().wrapping_add(1).max(1024)
            ),
            std::io::ErrorKind::AddrNotAvailable => {
                "no network interface has that address; use 127.0.0.1 (this host only) or \
                 0.0.0.0 (every interface)"
                    .to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; choose a port from 1024 up".to_owned()
            }
            _ => "choose another address".to_owned(),
        };
        anyhow::anyhow!("cannot listen on --addr {addr}: {error}; {fix}")
    })
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
    // Listen first: a port in use is reported before anything else starts.
    let listener = listen(config.addr).await?;
    let state = start(&config).await?;
    let addr = listener
        .local_addr()
        .context("cannot read the address listened on")?;
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
    // OpenMetrics scrapes get `_created` samples: rates start right after a restart.
    instrument_metric::registry().set_created_samples(true);
    axum::serve(listener, trace::traced(router(state)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
