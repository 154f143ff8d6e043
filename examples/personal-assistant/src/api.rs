//! The HTTP API. Every handler is timed as `Api::<handler>` in `api_response_time_seconds`;
//! bad requests get 4xx JSON errors, never a panic. Limits: request bodies
//! [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES), user names [`MAX_NAME_CHARS`] characters
//! without control characters, SMS bodies [`MAX_SMS_BYTES`] bytes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use instrument_metric::instrument_metric;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::{DbError, User, now};
use crate::metrics::{OAuthProvider, TaskKind, UserMetrics, VerificationResult};
use crate::oauth::{OAuth, OAuthError};
use crate::sms::OutgoingSms;
use crate::{AppState, new_id};

/// An error answer: a status and a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

/// A handler's error is counted by its status: a 4xx is the caller's mistake (`result="ok"`
/// in `api_requests_total`), a 5xx the service's (`result="error"`).
impl instrument_metric::ResponseStatus for ApiError {
    fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request bodies are limited to {} KiB",
                    crate::MAX_BODY_BYTES / 1024
                ),
            );
        }
        ApiError::new(rejection.status(), rejection.body_text())
    }
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        match error {
            OAuthError::NotConnected => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
            OAuthError::Provider(_) => ApiError::new(StatusCode::BAD_GATEWAY, error.to_string()),
            OAuthError::Database(db) => db.into(),
        }
    }
}

type Answer = Result<(StatusCode, Json<Value>), ApiError>;
pub(crate) type Body<T> = Result<Json<T>, JsonRejection>;

/// The longest user name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest SMS body, in bytes.
pub const MAX_SMS_BYTES: usize = 1600;

/// `POST /api/v1/users`.
#[derive(Deserialize)]
pub struct Registration {
    name: String,
    phone: String,
}

/// `POST /api/v1/users/{id}/phone/verify`.
#[derive(Deserialize)]
pub struct Verification {
    code: String,
}

/// `POST /api/v1/sms`.
#[derive(Deserialize)]
pub struct SmsRequest {
    user_id: String,
    body: String,
}

/// Bodies naming a user.
#[derive(Deserialize)]
pub struct UserRef {
    user_id: String,
}

/// `POST /api/v1/tasks`.
#[derive(Deserialize)]
pub struct TaskRequest {
    kind: TaskKind,
}

fn valid_phone(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

fn provider(name: &str) -> Result<OAuthProvider, ApiError> {
    OAuthProvider::from_path(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown OAuth provider `{name}`"),
        )
    })
}

async fn user(state: &AppState, id: &str) -> Result<User, ApiError> {
    state
        .db
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// The API handlers.
pub struct Api;

#[instrument_metric(
    counter = "api_requests_total",
    histogram = "api_response_time_seconds",
    native_histogram,
    help = "API requests handled, by handler.",
    buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
)]
impl Api {
    /// Registers a user.
    pub async fn register_user(
        State(state): State<Arc<AppState>>,
        body: Body<Registration>,
    ) -> Answer {
        let Json(registration) = body?;
        let name = &registration.name;
        if name.trim().is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "name must be 1 to {MAX_NAME_CHARS} characters, without control characters"
                ),
            ));
        }
        if !valid_phone(&registration.phone) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "phone must be E.164, like +15550100",
            ));
        }
        let user = User {
            id: new_id(),
            name: registration.name,
            phone: registration.phone,
            phone_verified: false,
        };
        state.db.insert_user(&user).await?;
        UserMetrics::global().user_registrations_total.inc();
        Ok((StatusCode::CREATED, Json(json!(user))))
    }

    /// Texts a verification code to the user's phone.
    pub async fn start_verification(
        State(state): State<Arc<AppState>>,
        Path(id): Path<String>,
    ) -> Answer {
        let user = user(&state, &id).await?;
        let code = format!("{:06}", fastrand::u32(0..1_000_000));
        state
            .db
            .set_verification_code(&user.id, &code, now() + 300)
            .await?;
        let sms = OutgoingSms {
            user_id: user.id,
            to: user.phone,
            body: format!("Your code is {code}"),
        };
        if !state.sms.enqueue(&state, sms) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the SMS queue is full",
            ));
        }
        // The simulation reads the code back, as a user reads their phone.
        let body = if state.simulate {
            json!({ "status": "sent", "debug_code": code })
        } else {
            json!({ "status": "sent" })
        };
        Ok((StatusCode::ACCEPTED, Json(body)))
    }

    /// Checks a verification code.
    pub async fn verify_phone(
        State(state): State<Arc<AppState>>,
        Path(id): Path<String>,
        body: Body<Verification>,
    ) -> Answer {
        let Json(verification) = body?;
        let Some((code, expires_at)) = state.db.verification_code(&id).await? else {
            return Err(ApiError::not_found("pending verification"));
        };
        let verifications = &UserMetrics::global().phone_verifications_total;
        if expires_at < now() {
            verifications.with(VerificationResult::Expired).inc();
            return Err(ApiError::new(StatusCode::GONE, "the code expired"));
        }
        if code != verification.code {
            verifications.with(VerificationResult::WrongCode).inc();
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong code",
            ));
        }
        state.db.mark_verified(&id).await?;
        verifications.with(VerificationResult::Verified).inc();
        Ok((StatusCode::OK, Json(json!({ "status": "verified" }))))
    }

    /// Queues an SMS to a user.
    pub async fn send_sms(State(state): State<Arc<AppState>>, body: Body<SmsRequest>) -> Answer {
        let Json(request) = body?;
        if request.body.is_empty() || request.body.len() > MAX_SMS_BYTES {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("body must be 1 to {MAX_SMS_BYTES} bytes"),
            ));
        }
        let user = user(&state, &request.user_id).await?;
        let sms = OutgoingSms {
            user_id: user.id,
            to: user.phone,
            body: request.body,
        };
        if !state.sms.enqueue(&state, sms) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the SMS queue is full",
            ));
        }
        Ok((StatusCode::ACCEPTED, Json(json!({ "status": "queued" }))))
    }

    /// Connects an OAuth provider.
    pub async fn oauth_connect(
        State(state): State<Arc<AppState>>,
        Path(name): Path<String>,
        body: Body<UserRef>,
    ) -> Answer {
        let provider = provider(&name)?;
        let Json(request) = body?;
        user(&state, &request.user_id).await?;
        OAuth::connect(&state.providers, &state.db, &request.user_id, provider).await?;
        Ok((StatusCode::OK, Json(json!({ "status": "connected" }))))
    }

    /// Refreshes an OAuth token.
    pub async fn oauth_refresh(
        State(state): State<Arc<AppState>>,
        Path(name): Path<String>,
        body: Body<UserRef>,
    ) -> Answer {
        let provider = provider(&name)?;
        let Json(request) = body?;
        OAuth::refresh(&state.providers, &state.db, &request.user_id, provider).await?;
        Ok((StatusCode::OK, Json(json!({ "status": "refreshed" }))))
    }

    /// Disconnects an OAuth provider.
    pub async fn oauth_disconnect(
        State(state): State<Arc<AppState>>,
        Path(name): Path<String>,
        body: Body<UserRef>,
    ) -> Answer {
        let provider = provider(&name)?;
        let Json(request) = body?;
        OAuth::disconnect(&state.db, &request.user_id, provider).await?;
        Ok((StatusCode::OK, Json(json!({ "status": "disconnected" }))))
    }

    /// Opens a session.
    pub async fn open_session(State(state): State<Arc<AppState>>, body: Body<UserRef>) -> Answer {
        let Json(request) = body?;
        user(&state, &request.user_id).await?;
        let id = new_id();
        state
            .db
            .insert_session(&id, &request.user_id, now() + 120)
            .await?;
        state.active_sessions.fetch_add(1, Ordering::Relaxed);
        Ok((StatusCode::CREATED, Json(json!({ "session_id": id }))))
    }

    /// Closes a session.
    pub async fn close_session(
        State(state): State<Arc<AppState>>,
        Path(id): Path<String>,
    ) -> Answer {
        if !state.db.delete_session(&id).await? {
            return Err(ApiError::not_found("session"));
        }
        state.active_sessions.fetch_sub(1, Ordering::Relaxed);
        Ok((StatusCode::OK, Json(json!({ "status": "closed" }))))
    }

    /// Queues a background task.
    pub async fn enqueue_task(
        State(state): State<Arc<AppState>>,
        body: Body<TaskRequest>,
    ) -> Answer {
        let Json(request) = body?;
        if !state.tasks.enqueue(&state, request.kind) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the task queue is full",
            ));
        }
        Ok((StatusCode::ACCEPTED, Json(json!({ "status": "queued" }))))
    }

    /// SMS performance by provider, from the database.
    pub async fn sms_performance(State(state): State<Arc<AppState>>) -> Answer {
        let providers = state.db.sms_performance().await?;
        Ok((StatusCode::OK, Json(json!({ "providers": providers }))))
    }
}
