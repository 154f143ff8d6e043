//! Health checks: async checks with a timeout, their gauges, and `GET /health/...` routes.
//!
//! Each registered component gets `<component>_health_status` (1 healthy, 0 not) and a
//! series of `health_check_duration_seconds{component}`. Checks run when a `/health` route is
//! requested and, with [`spawn_periodic`], on an interval, so the gauges stay current for
//! Prometheus. A check that fails, times out or panics makes its component unhealthy and
//! nothing else.
//!
//! A check that hangs costs nothing that grows: at most one run per component is in flight,
//! every request that arrives meanwhile (a `/health` route, [`check`], a period of
//! [`spawn_periodic`]) waits for that run's result, which comes at the latest when its
//! timeout expires, and a run cut short is aborted. A check that blocks its thread cannot be
//! aborted: until it returns, requests get its last result (unhealthy, timed out) at once
//! and no other run starts.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::{Duration, Instant};

use ::axum::Router;
use ::axum::extract::Path;
use ::axum::http::StatusCode;
use ::axum::http::header::CONTENT_TYPE;
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::get;
use tokio::sync::watch;

use crate::IntGauge;
use crate::catalog::Conflict;
use crate::model::Shape;
use crate::registry::runner::Samples;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

struct Component {
    name: String,
    timeout: Duration,
    check: Check,
    status: IntGauge,
    /// The last check's duration, in seconds (as `f64` bits).
    duration: std::sync::atomic::AtomicU64,
    /// The run in flight, if any, and its result once it is known.
    run: Mutex<Option<RunResult>>,
}

static COMPONENTS: RwLock<Vec<Arc<Component>>> = RwLock::new(Vec::new());

/// `health_check_duration_seconds{component}`, read from the components at each scrape.
static DURATION: LazyLock<Result<(), Conflict>> = LazyLock::new(|| {
    crate::registry().add_source(
        "health",
        vec![(
            "health_check_duration_seconds".to_owned(),
            "Duration of the last health check of each component, in seconds.".to_owned(),
            Shape::Gauge,
            vec!["component"],
        )],
        Box::new(|| {
            let series = components()
                .iter()
                .map(|component| {
                    let seconds = f64::from_bits(
                        component
                            .duration
                            .load(std::sync::atomic::Ordering::Relaxed),
                    );
                    (
                        vec![std::borrow::Cow::Owned(component.name.clone())],
                        seconds,
                    )
                })
                .collect();
            Ok(vec![Samples { series }])
        }),
    )
});

/// Why a health check could not be registered.
#[derive(Debug)]
pub enum HealthError {
    /// The component name cannot form `<component>_health_status`.
    InvalidName(String),
    /// A component of that name is already registered.
    Duplicate(String),
    /// The registry refused the gauge: a family of that name, or one whose series it would
    /// repeat, exists.
    Registry(Conflict),
}

impl fmt::Display for HealthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HealthError::InvalidName(name) => write!(
                f,
                "health component `{name}` must be lowercase letters, digits and `_`, starting with a letter"
            ),
            HealthError::Duplicate(name) => {
                write!(f, "health component `{name}` is registered twice")
            }
            HealthError::Registry(error) => write!(f, "cannot register the health gauge: {error}"),
        }
    }
}

impl std::error::Error for HealthError {}

/// Registers a health check for `component`; it is unhealthy when `check` returns `Err`,
/// panics, or takes longer than `timeout`.
///
/// # Errors
///
/// When the name is not `[a-z][a-z0-9_]*` or is already registered.
///
/// ```
/// use std::time::Duration;
///
/// instrument_metric::health::register("cache", Duration::from_secs(1), || async {
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub fn register<F, Fut, E>(component: &str, timeout: Duration, check: F) -> Result<(), HealthError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display,
{
    let valid = component
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        && component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(HealthError::InvalidName(component.to_owned()));
    }
    let mut components = COMPONENTS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if components.iter().any(|existing| existing.name == component) {
        return Err(HealthError::Duplicate(component.to_owned()));
    }
    if let Err(conflict) = &*DURATION {
        return Err(HealthError::Registry(conflict.clone()));
    }
    let status = crate::registry()
        .int_gauge(
            &format!("{component}_health_status"),
            &format!("Whether {component} passed its last health check (1) or not (0)."),
        )
        .map_err(HealthError::Registry)?;
    let check: Check = Arc::new(move || {
        let future = check();
        Box::pin(async move { future.await.map_err(|error| error.to_string()) })
    });
    components.push(Arc::new(Component {
        name: component.to_owned(),
        timeout,
        check,
        status,
        duration: std::sync::atomic::AtomicU64::new(0),
        run: Mutex::new(None),
    }));
    Ok(())
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentHealth {
    /// The component name.
    pub component: String,
    /// Whether the check passed in time.
    pub healthy: bool,
    /// How long the check took, in seconds.
    pub duration_seconds: f64,
    /// Why it failed.
    pub error: Option<String>,
}

impl ComponentHealth {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "component": self.component,
            "status": if self.healthy { "healthy" } else { "unhealthy" },
            "duration_seconds": self.duration_seconds,
            "error": self.error,
        })
    }
}

/// Runs `component`'s check, or joins the run in flight, and waits for its result.
///
/// At most one run per component is in flight: requests that arrive meanwhile wait for the
/// same result, which comes at the latest when the run's timeout expires. A run that ends is
/// no longer joined: the next request runs the check again. A run cut short by its timeout
/// is aborted; one that cannot be aborted (a check that blocks its thread) is left to finish,
/// and until it has, requests get its result (unhealthy, timed out) at once and no other run
/// starts, so that runs that block cannot pile up.
async fn run_one(component: Arc<Component>) -> ComponentHealth {
    let mut result = {
        let mut run = component.lock_run();
        run.get_or_insert_with(|| start_run(&component)).clone()
    };
    let outcome = result
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|health| health.clone());
    // No result only when the run's task was dropped: its runtime is shutting down.
    outcome.unwrap_or_else(|| ComponentHealth {
        component: component.name.clone(),
        healthy: false,
        duration_seconds: 0.0,
        error: Some("the health check was cancelled".to_owned()),
    })
}

type RunResult = watch::Receiver<Option<ComponentHealth>>;

impl Component {
    fn lock_run(&self) -> std::sync::MutexGuard<'_, Option<RunResult>> {
        self.run
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Forgets the run in flight if it is `own` (a later one may have replaced it).
fn forget(run: &mut Option<RunResult>, own: &RunResult) {
    if run.as_ref().is_some_and(|stored| stored.same_channel(own)) {
        *run = None;
    }
}

/// Starts a run of `component`'s check in a task of its own; the caller stores the receiver
/// as the run in flight (under the lock, so the run cannot end before it is stored).
fn start_run(component: &Arc<Component>) -> RunResult {
    let (sender, receiver) = watch::channel(None);
    let own = receiver.clone();
    let component = Arc::clone(component);
    tokio::spawn(async move {
        // Forgets the run if this task is dropped before it ends (its runtime shuts down).
        let _dropped = RunEnded(Arc::clone(&component), own.clone());
        let started = Instant::now();
        let check = Arc::clone(&component.check);
        // A task of its own, so that a panicking check is caught as a failed check.
        let mut task = tokio::spawn(async move { check().await });
        let (outcome, abandoned) = match tokio::time::timeout(component.timeout, &mut task).await {
            Ok(Ok(result)) => (result, None),
            Ok(Err(join)) if join.is_panic() => (Err("the health check panicked".to_owned()), None),
            Ok(Err(_)) => (Err("the health check was cancelled".to_owned()), None),
            Err(_) => {
                task.abort();
                let error = format!("the health check took longer than {:?}", component.timeout);
                (Err(error), Some(task))
            }
        };
        let duration_seconds = started.elapsed().as_secs_f64();
        component.status.set(i64::from(outcome.is_ok()));
        component.duration.store(
            duration_seconds.to_bits(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let health = ComponentHealth {
            component: component.name.clone(),
            healthy: outcome.is_ok(),
            duration_seconds,
            error: outcome.err(),
        };
        {
            // Under the lock: a request either joined this run and gets its result, or
            // comes after and starts a new one.
            let mut run = component.lock_run();
            if abandoned.is_none() {
                forget(&mut run, &own);
            }
            sender.send_replace(Some(health));
        }
        if let Some(task) = abandoned {
            // Ends at once for a check waiting on I/O or a timer (abort drops it at its next
            // `.await`); a check that blocks its thread ends when it returns. Until then,
            // requests get the result above.
            let _ = task.await;
            forget(&mut component.lock_run(), &own);
        }
    });
    receiver
}

/// Forgets a component's run in flight when dropped, if it is still that run.
struct RunEnded(Arc<Component>, RunResult);

impl Drop for RunEnded {
    fn drop(&mut self) {
        forget(&mut self.0.lock_run(), &self.1);
    }
}

fn components() -> Vec<Arc<Component>> {
    COMPONENTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Runs the check of `component`, if it is registered, and updates its gauges; joins the run
/// in flight instead if there is one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
///
/// instrument_metric::health::register("queue", Duration::from_secs(1), || async {
///     Err::<(), _>("the queue is full")
/// })
/// .unwrap();
/// let health = instrument_metric::health::check("queue").await.unwrap();
/// assert!(!health.healthy);
/// assert_eq!(health.error.as_deref(), Some("the queue is full"));
/// assert!(instrument_metric::health::check("nothing").await.is_none());
/// # }
/// ```
pub async fn check(component: &str) -> Option<ComponentHealth> {
    let found = components().into_iter().find(|c| c.name == component)?;
    Some(run_one(found).await)
}

/// Runs every check concurrently (or joins their runs in flight) and updates their gauges.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
///
/// instrument_metric::health::register("search", Duration::from_secs(1), || async {
///     Ok::<(), String>(())
/// })
/// .unwrap();
/// let all = instrument_metric::health::check_all().await;
/// assert!(all.iter().any(|health| health.component == "search" && health.healthy));
/// # }
/// ```
pub async fn check_all() -> Vec<ComponentHealth> {
    let tasks: Vec<_> = components()
        .into_iter()
        .map(|c| tokio::spawn(run_one(c)))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        // `run_one` catches the check's own panics; it does not panic itself.
        if let Ok(result) = task.await {
            results.push(result);
        }
    }
    results
}

/// Runs every check every `period` in a background task, so that the health gauges are
/// current when Prometheus scrapes. Needs a tokio runtime. A period whose checks are still
/// running (a check slower than `period`) joins their runs rather than starting new ones.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let periodic = instrument_metric::health::spawn_periodic(std::time::Duration::from_secs(5));
/// periodic.abort();
/// # }
/// ```
#[must_use = "dropping the handle does not stop the task; keep it to abort it"]
pub fn spawn_periodic(period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            check_all().await;
        }
    })
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /health/overall` (every check; 200 when all pass, 503 otherwise) and
/// `GET /health/{component}` (one check; 404 for an unknown component).
///
/// ```
/// use axum::Router;
///
/// let app: Router = Router::new().merge(instrument_metric::health::router());
/// ```
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/health/overall", get(overall))
        .route("/health/{component}", get(one))
}

async fn overall() -> Response {
    let results = check_all().await;
    let healthy = results.iter().all(|result| result.healthy);
    let body = serde_json::json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "components": results.iter().map(ComponentHealth::json).collect::<Vec<_>>(),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &body)
}

async fn one(Path(component): Path<String>) -> Response {
    match check(&component).await {
        Some(result) => {
            let status = if result.healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json_response(status, &result.json())
        }
        None => json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": "unknown component", "component": component }),
        ),
    }
}
