//! The SMS and OAuth providers, simulated since no network is reachable: an HTTP server on
//! 127.0.0.1 that answers as the providers would (their latency, failures, rate limits), and
//! the client the service calls them with, whose calls `instrument_metric::http_client`
//! records by provider (`http_client_requests_total{peer="twilio",...}`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use instrument_metric::LabelValue;
use instrument_metric::http_client::{HttpClientMetrics, Peer};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::metrics::{OAuthProvider, SmsProvider};

/// The simulated providers' behaviour, adjustable while the service runs; clones share it.
#[derive(Clone, Debug)]
pub struct ProviderSimulation {
    knobs: Arc<Knobs>,
}

#[derive(Debug)]
struct Knobs {
    /// Probability that a message fails, in millionths.
    failure_ppm: AtomicU64,
    /// Milliseconds every SMS provider answer takes on top of its usual latency.
    slowdown_ms: AtomicU64,
}

impl Default for ProviderSimulation {
    fn default() -> Self {
        ProviderSimulation {
            knobs: Arc::new(Knobs {
                failure_ppm: AtomicU64::new(40_000),
                slowdown_ms: AtomicU64::new(0),
            }),
        }
    }
}

impl ProviderSimulation {
    /// Makes every SMS provider answer take `ms` milliseconds more (0: as usual).
    pub fn set_slowdown_ms(&self, ms: u64) {
        self.knobs.slowdown_ms.store(ms, Ordering::SeqCst);
    }

    /// The milliseconds every SMS provider answer takes on top of its usual latency.
    #[must_use]
    pub fn slowdown_ms(&self) -> u64 {
        self.knobs.slowdown_ms.load(Ordering::SeqCst)
    }

    /// Sets the probability that an SMS fails, 0 to 1.
    pub fn set_failure_rate(&self, rate: f64) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to 0..=1e6
        let ppm = (rate.clamp(0.0, 1.0) * 1e6) as u64;
        self.knobs.failure_ppm.store(ppm, Ordering::SeqCst);
    }

    /// The probability that an SMS fails, 0 to 1.
    #[must_use]
    pub fn failure_rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let rate = self.knobs.failure_ppm.load(Ordering::SeqCst) as f64 / 1e6;
        rate
    }
}

/// The providers' server and the client that calls them.
pub struct Providers {
    client: ClientWithMiddleware,
    /// `http://127.0.0.1:PORT`.
    base: String,
}

/// What an SMS provider answered.
#[derive(Debug, PartialEq, Eq)]
pub enum SmsAnswer {
    /// Sent; the provider took `latency_ms`.
    Sent {
        /// The provider's latency, in milliseconds.
        latency_ms: u64,
    },
    /// Refused for now (`429`).
    RateLimited,
    /// Failed: a `5xx`, or no answer.
    Failed,
}

/// What an OAuth provider answered.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenAnswer {
    /// A token.
    Token(String),
    /// Refused: `invalid_grant` or `expired_token` (`400`), `rate_limited` (`429`).
    Refused(&'static str),
    /// No answer, or a `5xx`.
    Unavailable,
}

#[derive(Serialize, Deserialize)]
struct SmsRequest {
    to: String,
    body: String,
}

#[derive(Serialize, Deserialize)]
struct TokenRequest {
    /// Whether the token to refresh is long expired (what a real provider would know).
    expired: bool,
}

/// How long a call may take: more than the slowest simulated answer (a slowdown of 60 s).
const TIMEOUT: Duration = Duration::from_secs(90);

impl Providers {
    /// Serves the simulated providers on 127.0.0.1 and builds the client that calls them,
    /// recorded by `instrument_metric::http_client` with a peer per provider.
    ///
    /// # Errors
    ///
    /// When no port can be bound on 127.0.0.1, or the client metrics are refused.
    pub async fn start(simulation: ProviderSimulation) -> anyhow::Result<Providers> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1 for the simulated providers")?;
        let addr = listener
            .local_addr()
            .context("cannot read the simulated providers' address")?;
        let app = Router::new()
            .route("/sms/{provider}/messages", post(send_message))
            .route("/oauth/{provider}/token", post(issue_token))
            .with_state(simulation);
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("the simulated providers stopped: {error}");
            }
        });
        let peers: Vec<&str> = SmsProvider::ALL
            .iter()
            .map(LabelValue::as_label)
            .chain(OAuthProvider::ALL.iter().map(LabelValue::as_label))
            .collect();
        let metrics = HttpClientMetrics::builder()
            .peers(&peers)
            .methods(&[reqwest::Method::POST])
            .native_histograms()
            .build()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .context("cannot build the providers' HTTP client")?;
        Ok(Providers {
            client: ClientBuilder::new(http).with(metrics).build(),
            base: format!("http://{addr}"),
        })
    }

    /// Sends one SMS through `provider`.
    pub async fn send_sms(&self, provider: SmsProvider, to: &str, body: &str) -> SmsAnswer {
        let request = SmsRequest {
            to: to.to_owned(),
            body: body.to_owned(),
        };
        let sent = self
            .client
            .post(format!(
                "{}/sms/{}/messages",
                self.base,
                provider.as_label()
            ))
            .with_extension(Peer::new(provider.as_label()))
            .json(&request)
            .send()
            .await;
        let Ok(response) = sent else {
            return SmsAnswer::Failed;
        };
        match response.status() {
            StatusCode::OK => match response.json::<serde_json::Value>().await {
                Ok(answer) => SmsAnswer::Sent {
                    latency_ms: answer["latency_ms"].as_u64().unwrap_or_default(),
                },
                Err(_) => SmsAnswer::Failed,
            },
            StatusCode::TOO_MANY_REQUESTS => SmsAnswer::RateLimited,
            _ => SmsAnswer::Failed,
        }
    }

    /// Asks `provider` for a token (a code exchange or a refresh, `expired` when the token
    /// to refresh is long expired).
    pub async fn token(&self, provider: OAuthProvider, expired: bool) -> TokenAnswer {
        let sent = self
            .client
            .post(format!("{}/oauth/{}/token", self.base, provider.as_label()))
            .with_extension(Peer::new(provider.as_label()))
            .json(&TokenRequest { expired })
            .send()
            .await;
        let Ok(response) = sent else {
            return TokenAnswer::Unavailable;
        };
        let status = response.status();
        let Ok(answer) = response.json::<serde_json::Value>().await else {
            return TokenAnswer::Unavailable;
        };
        match (status, answer["error"].as_str()) {
            (StatusCode::OK, _) => match answer["access_token"].as_str() {
                Some(token) => TokenAnswer::Token(token.to_owned()),
                None => TokenAnswer::Unavailable,
            },
            (StatusCode::BAD_REQUEST, Some("expired_token")) => {
                TokenAnswer::Refused("expired_token")
            }
            (StatusCode::BAD_REQUEST, _) => TokenAnswer::Refused("invalid_grant"),
            (StatusCode::TOO_MANY_REQUESTS, _) => TokenAnswer::Refused("rate_limited"),
            _ => TokenAnswer::Unavailable,
        }
    }
}

/// An SMS provider: 20 to 150 ms (30 more past 160 characters, plus the slowdown); fails at
/// the simulation's rate (`500`) and rate limits 2% of messages (`429`).
async fn send_message(
    State(simulation): State<ProviderSimulation>,
    Path(provider): Path<String>,
    axum::Json(sms): axum::Json<SmsRequest>,
) -> Response {
    let latency_ms = 20
        + fastrand::u64(0..130)
        + if sms.body.len() > 160 { 30 } else { 0 }
        + simulation.slowdown_ms();
    tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    if fastrand::f64() < simulation.failure_rate() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "failed");
    }
    if fastrand::u32(0..100) < 2 {
        return error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    let id = format!("{provider}-{}", crate::new_id());
    axum::Json(json!({ "id": id, "to": sms.to, "latency_ms": latency_ms })).into_response()
}

/// An OAuth provider's token endpoint: 30 to 250 ms; an expired token is refused, Slack rate
/// limits 4% of calls, every provider is unavailable 1.5% of the time and refuses 1% of grants.
async fn issue_token(
    Path(provider): Path<String>,
    axum::Json(request): axum::Json<TokenRequest>,
) -> Response {
    tokio::time::sleep(Duration::from_millis(30 + fastrand::u64(0..220))).await;
    if request.expired {
        return error(StatusCode::BAD_REQUEST, "expired_token");
    }
    let roll = fastrand::u32(0..1000);
    match provider.as_str() {
        "slack" if roll < 40 => error(StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        _ if roll < 15 => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        _ if roll < 25 => error(StatusCode::BAD_REQUEST, "invalid_grant"),
        _ => axum::Json(json!({ "access_token": format!("{provider}-{}", crate::new_id()) }))
            .into_response(),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}
