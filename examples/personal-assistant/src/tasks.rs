//! Background tasks: a queue drained by a pool of tokio workers, and a scheduler that queues
//! the periodic ones.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use instrument_metric::{LabelValue as _, instrument_metric};
use tokio::sync::mpsc;

use crate::AppState;
use crate::db::{DbError, now};
use crate::metrics::{OAuthProvider, SmsMetrics, TaskKind};
use crate::oauth::OAuth;
use crate::sms::OutgoingSms;

/// Seconds covered by one usage rollup.
const ROLLUP_WINDOW_SECONDS: i64 = 15;

/// Why a task failed.
#[derive(Debug)]
pub enum TaskError {
    /// The database failed.
    Database(DbError),
    /// A queue was full.
    QueueFull,
}

impl From<DbError> for TaskError {
    fn from(error: DbError) -> Self {
        TaskError::Database(error)
    }
}

/// The task queue.
#[derive(Clone)]
pub struct TaskQueue {
    sender: mpsc::Sender<TaskKind>,
}

impl TaskQueue {
    /// A queue and its receiving end.
    #[must_use]
    pub fn new(capacity: usize) -> (TaskQueue, mpsc::Receiver<TaskKind>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (TaskQueue { sender }, receiver)
    }

    /// Queues a task; `false` when the queue is full.
    pub fn enqueue(&self, state: &AppState, kind: TaskKind) -> bool {
        state.task_queue_length.fetch_add(1, Ordering::Relaxed);
        if self.sender.try_send(kind).is_ok() {
            true
        } else {
            state.task_queue_length.fetch_sub(1, Ordering::Relaxed);
            false
        }
    }
}

/// Starts `workers` workers draining `receiver`, and the scheduler of periodic tasks.
pub fn start(state: &Arc<AppState>, receiver: mpsc::Receiver<TaskKind>, workers: usize) {
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    for _ in 0..workers {
        let state = Arc::clone(state);
        let receiver = Arc::clone(&receiver);
        tokio::spawn(async move {
            loop {
                let Some(kind) = receiver.lock().await.recv().await else {
                    break;
                };
                state.task_queue_length.fetch_sub(1, Ordering::Relaxed);
                // A failed task is counted by `execute`; the worker goes on.
                let _ = execute(kind, &state).await;
            }
        });
    }
    let schedule = [
        (TaskKind::RefreshTokens, Duration::from_secs(10)),
        (
            TaskKind::UsageRollup,
            Duration::from_secs(u64::try_from(ROLLUP_WINDOW_SECONDS).unwrap_or(15)),
        ),
        (TaskKind::CleanupSessions, Duration::from_secs(20)),
    ];
    for (kind, period) in schedule {
        let state = Arc::clone(state);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            loop {
                interval.tick().await;
                state.tasks.enqueue(&state, kind);
            }
        });
    }
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            refresh_gauges(&state).await;
        }
    });
}

/// Runs one task.
#[instrument_metric(
    counter = "task_executions_total",
    histogram = "task_execution_duration_seconds",
    native_histogram,
    help = "Background task executions, by task.",
    labels(task = kind),
    buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]
)]
pub async fn execute(kind: TaskKind, state: &AppState) -> Result<u64, TaskError> {
    match kind {
        TaskKind::SendReminder => {
            let Some(user) = state.db.random_verified_user().await? else {
                return Ok(0);
            };
            let sms = OutgoingSms {
                user_id: user.id,
                to: user.phone,
                body: format!("Hi {}, a reminder from your assistant.", user.name),
            };
            if state.sms.enqueue(state, sms) {
                Ok(1)
            } else {
                Err(TaskError::QueueFull)
            }
        }
        TaskKind::RefreshTokens => {
            let expiring = state.db.expiring_integrations(now() + 20).await?;
            let mut refreshed = 0;
            for (user_id, provider) in expiring {
                if let Some(provider) = OAuthProvider::from_path(&provider)
                    && OAuth::refresh(&state.providers, &state.db, &user_id, provider)
                        .await
                        .is_ok()
                {
                    refreshed += 1;
                }
            }
            Ok(refreshed)
        }
        TaskKind::UsageRollup => {
            let counts = state
                .db
                .sms_counts_since(now() - ROLLUP_WINDOW_SECONDS)
                .await?;
            let histogram = &SmsMetrics::global().usage_per_user;
            for count in &counts {
                #[allow(clippy::cast_precision_loss)]
                histogram.observe(*count as f64);
            }
            Ok(u64::try_from(counts.len()).unwrap_or(0))
        }
        TaskKind::CleanupSessions => {
            let deleted = state.db.delete_expired_sessions(now()).await?;
            let open = state.db.count_sessions(now()).await?;
            state.active_sessions.store(open, Ordering::Relaxed);
            Ok(deleted)
        }
    }
}

/// Sets the gauges that come from the database: integrations, adoption, users.
async fn refresh_gauges(state: &AppState) {
    let Ok((per_provider, connected, users)) = state.db.adoption().await else {
        return;
    };
    let oauth = crate::metrics::OAuthMetrics::global();
    for provider in OAuthProvider::ALL {
        let active = per_provider
            .iter()
            .find(|(name, _)| name == provider.as_label())
            .map_or(0, |(_, n)| *n);
        #[allow(clippy::cast_precision_loss)]
        oauth.integrations_active.with(provider).set(active as f64);
    }
    oauth.users_connected.set(connected);
    crate::metrics::UserMetrics::global()
        .users_registered
        .set(users);
}
