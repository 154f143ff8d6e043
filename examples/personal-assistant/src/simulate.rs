//! The traffic generator: drives the service's own endpoints over HTTP with a realistic mix
//! (registrations, verifications with some wrong codes, SMS, OAuth, sessions, tasks, analytics,
//! bad requests, unknown routes), so that every metric moves within seconds. It keeps a report
//! of what it did, served at `GET /api/v1/simulation/report`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::metrics::OAuthProvider;

/// What the generator did, counted from the answers it got.
#[derive(Default)]
pub struct Report {
    stopped: std::sync::atomic::AtomicBool,
    in_flight: AtomicU64,
    requests: AtomicU64,
    registrations: AtomicU64,
    verified: AtomicU64,
    wrong_codes: AtomicU64,
    sms_queued: AtomicU64,
    oauth_connected: AtomicU64,
    sessions_opened: AtomicU64,
    tasks_queued: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

/// A snapshot of [`Report`].
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct ReportSnapshot {
    /// Requests sent.
    pub requests: u64,
    /// Users registered (201 answers).
    pub registrations: u64,
    /// Phones verified.
    pub verified: u64,
    /// Verifications refused for a wrong code.
    pub wrong_codes: u64,
    /// SMS messages queued.
    pub sms_queued: u64,
    /// OAuth connections made.
    pub oauth_connected: u64,
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Tasks queued.
    pub tasks_queued: u64,
    /// 4xx answers.
    pub client_errors: u64,
    /// 5xx answers.
    pub server_errors: u64,
}

impl Report {
    /// Stops the generator: no request starts after this.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Actions started and not finished yet.
    #[must_use]
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The counts now.
    #[must_use]
    pub fn snapshot(&self) -> ReportSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        ReportSnapshot {
            requests: get(&self.requests),
            registrations: get(&self.registrations),
            verified: get(&self.verified),
            wrong_codes: get(&self.wrong_codes),
            sms_queued: get(&self.sms_queued),
            oauth_connected: get(&self.oauth_connected),
            sessions_opened: get(&self.sessions_opened),
            tasks_queued: get(&self.tasks_queued),
            client_errors: get(&self.client_errors),
            server_errors: get(&self.server_errors),
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    state: Arc<AppState>,
    users: Mutex<Vec<String>>,
}

impl Client {
    /// Sends one request; the status and the JSON body (if any).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<(u16, Value)> {
        let report = &self.state.report;
        report.requests.fetch_add(1, Ordering::SeqCst);
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        if (400..500).contains(&status) {
            report.client_errors.fetch_add(1, Ordering::SeqCst);
        } else if status >= 500 {
            report.server_errors.fetch_add(1, Ordering::SeqCst);
        }
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    fn some_user(&self) -> Option<String> {
        let users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (!users.is_empty()).then(|| users[fastrand::usize(0..users.len())].clone())
    }

    async fn register(&self) {
        // Mostly the configured destinations (`sms::DESTINATIONS`), some of another country.
        let country = ["+1555", "+1555", "+44", "+49", "+81"][fastrand::usize(0..5)];
        let phone = format!("{country}{:07}", fastrand::u32(0..10_000_000));
        let body = json!({ "name": format!("user-{}", fastrand::u32(0..100_000)), "phone": phone });
        if let Some((201, user)) = self
            .call(reqwest::Method::POST, "/api/v1/users", Some(body))
            .await
            && let Some(id) = user["id"].as_str()
        {
            self.state
                .report
                .registrations
                .fetch_add(1, Ordering::SeqCst);
            self.users
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(id.to_owned());
        }
    }

    async fn verify(&self) {
        let Some(user) = self.some_user() else { return };
        let started = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/users/{user}/phone/verification"),
                None,
            )
            .await;
        let Some((202, body)) = started else { return };
        let Some(code) = body["debug_code"].as_str() else {
            return;
        };
        let wrong = fastrand::u32(0..10) == 0;
        let guess = if wrong {
            "000000x".to_owned()
        } else {
            code.to_owned()
        };
        let path = format!("/api/v1/users/{user}/phone/verify");
        match self
            .call(reqwest::Method::POST, &path, Some(json!({ "code": guess })))
            .await
        {
            Some((200, _)) => {
                self.state.report.verified.fetch_add(1, Ordering::SeqCst);
            }
            // A wrong code on purpose, or a code another simulated client replaced meanwhile:
            // either way the service saw a wrong code.
            Some((422, _)) => {
                self.state.report.wrong_codes.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }

    async fn sms(&self) {
        let Some(user) = self.some_user() else { return };
        let long = fastrand::u32(0..5) == 0;
        let text = if long {
            "x".repeat(300)
        } else {
            "Your appointment is tomorrow at 10:00.".to_owned()
        };
        if let Some((202, _)) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/sms",
                Some(json!({ "user_id": user, "body": text })),
            )
            .await
        {
            self.state.report.sms_queued.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn oauth(&self) {
        let Some(user) = self.some_user() else { return };
        let provider = OAuthProvider::ALL[fastrand::usize(0..3)];
        let name = instrument_metric::LabelValue::as_label(&provider);
        let body = Some(json!({ "user_id": user }));
        match fastrand::u32(0..10) {
            0..=4 => {
                if let Some((200, _)) = self
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/oauth/{name}/connect"),
                        body,
                    )
                    .await
                {
                    self.state
                        .report
                        .oauth_connected
                        .fetch_add(1, Ordering::SeqCst);
                }
            }
            5..=7 => {
                self.call(
                    reqwest::Method::POST,
                    &format!("/api/v1/oauth/{name}/refresh"),
                    body,
                )
                .await;
            }
            _ => {
                self.call(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/oauth/{name}"),
                    body,
                )
                .await;
            }
        }
    }

    async fn session(&self) {
        let Some(user) = self.some_user() else { return };
        if let Some((201, body)) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/sessions",
                Some(json!({ "user_id": user })),
            )
            .await
        {
            self.state
                .report
                .sessions_opened
                .fetch_add(1, Ordering::SeqCst);
            if fastrand::bool()
                && let Some(id) = body["session_id"].as_str()
            {
                self.call(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/sessions/{id}"),
                    None,
                )
                .await;
            }
        }
    }

    async fn task(&self) {
        let kinds = [
            "send_reminder",
            "refresh_tokens",
            "usage_rollup",
            "cleanup_sessions",
        ];
        let body = json!({ "kind": kinds[fastrand::usize(0..kinds.len())] });
        if let Some((202, _)) = self
            .call(reqwest::Method::POST, "/api/v1/tasks", Some(body))
            .await
        {
            self.state
                .report
                .tasks_queued
                .fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn bad_request(&self) {
        match fastrand::u32(0..4) {
            0 => {
                self.call(
                    reqwest::Method::POST,
                    "/api/v1/users",
                    Some(json!({ "name": "x", "phone": "not a phone" })),
                )
                .await
            }
            1 => {
                self.call(
                    reqwest::Method::POST,
                    "/api/v1/sms",
                    Some(json!({ "user_id": "nobody", "body": "hi" })),
                )
                .await
            }
            2 => {
                self.call(
                    reqwest::Method::GET,
                    &format!("/api/v1/does-not-exist/{}", fastrand::u32(..)),
                    None,
                )
                .await
            }
            _ => {
                self.call(
                    reqwest::Method::POST,
                    "/api/v1/oauth/myspace/connect",
                    Some(json!({ "user_id": "x" })),
                )
                .await
            }
        };
    }

    async fn one_action(&self) {
        match fastrand::u32(0..100) {
            0..=11 => self.register().await,
            12..=23 => self.verify().await,
            24..=47 => self.sms().await,
            48..=63 => self.oauth().await,
            64..=75 => self.session().await,
            76..=83 => self.task().await,
            84..=91 => {
                self.call(
                    reqwest::Method::GET,
                    "/api/v1/analytics/sms-performance",
                    None,
                )
                .await;
            }
            _ => self.bad_request().await,
        }
    }
}

/// Concurrent simulated clients.
const WORKERS: u32 = 8;

/// Starts the generator against the service at `addr`, at about `rate` requests per second.
pub fn spawn(addr: SocketAddr, state: Arc<AppState>, rate: u32) {
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
        state,
        users: Mutex::new(Vec::new()),
    });
    let pause = Duration::from_secs_f64(f64::from(WORKERS) / f64::from(rate.max(1)));
    for _ in 0..WORKERS {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(pause);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let report = &client.state.report;
            let mut first = true;
            loop {
                interval.tick().await;
                // Announce the action before checking for a stop, so that `stop` followed by
                // waiting for `in_flight() == 0` sees every action that started, finished:
                // the first one too, which a stop before it must also prevent.
                report.in_flight.fetch_add(1, Ordering::SeqCst);
                if report.stopped.load(Ordering::SeqCst) {
                    report.in_flight.fetch_sub(1, Ordering::SeqCst);
                    break;
                }
                if std::mem::take(&mut first) {
                    // Start with a few users so that every action has someone to act for.
                    client.register().await;
                } else {
                    client.one_action().await;
                }
                report.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }
}
