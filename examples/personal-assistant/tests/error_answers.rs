//! Every error answer of the service is a JSON object `{"error": "..."}`: the API's own
//! refusals, the simulation endpoints, and what axum answers by itself (a body that is not
//! JSON, a wrong content type, a method or a route that does not exist, a body too large, a
//! path that does not decode). User names and request bodies have documented size limits.

use std::net::SocketAddr;
use std::sync::Arc;

use personal_assistant::Config;
use reqwest::Method;
use serde_json::{Value, json};

struct Service {
    addr: SocketAddr,
    http: reqwest::Client,
    scratch: std::path::PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

async fn start() -> Service {
    let scratch = std::env::temp_dir().join(format!("pa-errors-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            scratch.join("assistant.db").display()
        ),
        simulate: false,
        simulate_rate: 0,
    };
    let state = personal_assistant::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        axum::serve(listener, personal_assistant::router(Arc::clone(&state))).into_future(),
    );
    Service {
        addr,
        http: reqwest::Client::new(),
        scratch,
    }
}

/// A raw request: method, path, content type and body as given.
struct Call {
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

fn call(method: Method, path: &str) -> Call {
    Call {
        method,
        path: path.to_owned(),
        content_type: None,
        body: Vec::new(),
    }
}

fn json_call(method: Method, path: &str, body: &Value) -> Call {
    Call {
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        ..call(method, path)
    }
}

impl Service {
    async fn send(&self, call: Call) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self
            .http
            .request(call.method, format!("http://{}{}", self.addr, call.path))
            .body(call.body);
        if let Some(content_type) = call.content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// Sends `call`, checks that the answer is `status` with a JSON error, and returns the
    /// error message.
    async fn refused(&self, call: Call, status: u16) -> String {
        let what = format!("{} {}", call.method, call.path);
        let (got, headers, body) = self.send(call).await;
        // Short enough to read in a failure message.
        let body: String = body.chars().take(300).collect();
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(
            headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{what}: {body}"
        );
        let value: Value = serde_json::from_str(&body)
            .unwrap_or_else(|error| panic!("{what}: not JSON ({error}): {body:?}"));
        let message = value["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no error message: {body}"));
        assert!(!message.is_empty(), "{what}");
        message.to_owned()
    }
}

/// One service per process (it registers its health check and collectors once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_are_json_and_sizes_are_limited() {
    let service = start().await;
    every_error_answer_is_json(&service).await;
    names_and_bodies_have_size_limits(&service).await;
}

async fn every_error_answer_is_json(service: &Service) {
    // The simulation endpoints.
    for path in ["/api/v1/simulation/sms", "/api/v1/simulation/database"] {
        let mut not_json = call(Method::PUT, path);
        not_json.content_type = Some("application/json");
        not_json.body = b"{not json".to_vec();
        service.refused(not_json, 400).await;
        let mut no_type = call(Method::PUT, path);
        no_type.body = b"{}".to_vec();
        service.refused(no_type, 415).await;
        service
            .refused(json_call(Method::PUT, path, &json!({ "wrong": 1 })), 422)
            .await;
        service.refused(call(Method::GET, path), 405).await;
    }
    let message = service
        .refused(
            json_call(
                Method::PUT,
                "/api/v1/simulation/sms",
                &json!({ "failure_rate": 5.0 }),
            ),
            422,
        )
        .await;
    assert!(message.contains("between 0 and 1"), "{message}");
    service
        .refused(
            json_call(
                Method::PUT,
                "/api/v1/simulation/database",
                &json!({ "available": "yes" }),
            ),
            422,
        )
        .await;
    service
        .refused(call(Method::POST, "/api/v1/simulation/report"), 405)
        .await;

    // The API: bad bodies, wrong methods, paths that do not decode, unknown routes.
    let mut not_json = call(Method::POST, "/api/v1/users");
    not_json.content_type = Some("application/json");
    not_json.body = b"{\"name\": \"x\"".to_vec();
    service.refused(not_json, 400).await;
    let mut form = call(Method::POST, "/api/v1/sms");
    form.content_type = Some("application/x-www-form-urlencoded");
    form.body = b"user_id=x&body=hi".to_vec();
    service.refused(form, 415).await;
    service
        .refused(call(Method::POST, "/api/v1/tasks"), 415)
        .await;
    let (status, headers, _) = service.send(call(Method::DELETE, "/api/v1/users")).await;
    assert_eq!(status, 405);
    assert!(
        headers.contains_key(reqwest::header::ALLOW),
        "405 keeps Allow"
    );
    service
        .refused(call(Method::DELETE, "/api/v1/users"), 405)
        .await;
    service
        .refused(call(Method::PATCH, "/api/v1/sms"), 405)
        .await;
    service
        .refused(call(Method::DELETE, "/api/v1/sessions/%FF%FE"), 400)
        .await;
    service
        .refused(call(Method::GET, "/api/v1/no-such-route"), 404)
        .await;
    service
        .refused(call(Method::GET, "/health/no_such_component"), 404)
        .await;
    service
        .refused(call(Method::POST, "/health/overall"), 405)
        .await;
    service.refused(call(Method::POST, "/metrics"), 405).await;
}

async fn names_and_bodies_have_size_limits(service: &Service) {
    let register = |name: String| {
        json_call(
            Method::POST,
            "/api/v1/users",
            &json!({ "name": name, "phone": "+15550100" }),
        )
    };

    // A 1 MB name: the body is over the 64 KiB limit, refused before it is parsed.
    let message = service.refused(register("n".repeat(1 << 20)), 413).await;
    assert!(message.contains("64 KiB"), "{message}");
    // Within the body limit, over the name limit.
    let message = service.refused(register("n".repeat(101)), 422).await;
    assert!(message.contains("100 characters"), "{message}");
    service
        .refused(register("line\nbreak".to_owned()), 422)
        .await;
    service.refused(register(String::new()), 422).await;
    // At the limit, in characters rather than bytes: accepted.
    let (status, _, body) = service.send(register("é".repeat(100))).await;
    assert_eq!(status, 201, "{body}");

    let message = service
        .refused(
            json_call(
                Method::POST,
                "/api/v1/sms",
                &json!({ "user_id": "x", "body": "b".repeat(1601) }),
            ),
            422,
        )
        .await;
    assert!(message.contains("1600"), "{message}");
}
