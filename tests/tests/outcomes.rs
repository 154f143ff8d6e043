//! What `result` a call gets when the function does not return a plain `Result`: a predicate
//! (`ok_if`, `error_if`), an HTTP response's status, a `(StatusCode, _)` pair, a `Result` of
//! either; exact counts parsed from the exposition.

use std::future::Future;

use axum::http::{Response, StatusCode};
use instrument_metric::instrument_metric;
use integration_tests::Exposition;

fn calls(family: &str, function: &str, result: &str) -> u64 {
    Exposition::parse(&instrument_metric::render())
        .unwrap()
        .count(
            family,
            &[
                ("function", function),
                ("module", "outcomes"),
                ("result", result),
            ],
        )
}

/// `Some` is a hit; `None` is a miss, which is an error for this cache.
#[instrument_metric(name = "cache_lookups", ok_if = Option::is_some)]
fn lookup(key: u32) -> Option<u32> {
    key.is_multiple_of(2).then_some(key)
}

#[allow(clippy::trivially_copy_pass_by_ref)] // a predicate takes the value by reference
fn is_negative(value: &i64) -> bool {
    *value < 0
}

/// A C-style status code: negative is an error.
#[instrument_metric(name = "legacy_calls", error_if = is_negative)]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn legacy(code: i64) -> i64 {
    code
}

/// A predicate on a future's output, given as a closure.
#[instrument_metric(name = "future_predicates", ok_if = |n| *n > 2)]
fn count_later(n: usize) -> impl Future<Output = usize> {
    async move { n }
}

/// A predicate overrides the `Result`'s own variant.
#[instrument_metric(name = "tolerant_calls", ok_if = |_: &Result<(), String>| true)]
fn tolerant(fail: bool) -> Result<(), String> {
    if fail {
        Err("tolerated".to_owned())
    } else {
        Ok(())
    }
}

#[instrument_metric(name = "handler_responses")]
fn respond(status: u16) -> Response<String> {
    Response::builder()
        .status(status)
        .body(String::new())
        .unwrap()
}

#[instrument_metric(name = "handler_pairs")]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn pair(status: StatusCode) -> (StatusCode, &'static str) {
    (status, "body")
}

#[instrument_metric(name = "handler_results")]
fn result_of_pair(status: Option<StatusCode>) -> Result<(StatusCode, String), String> {
    status.map(|status| (status, String::new())).ok_or_default()
}

#[instrument_metric(name = "handler_result_responses")]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn result_of_response(status: Option<u16>) -> Result<Response<String>, String> {
    match status {
        Some(status) => Ok(respond(status)),
        None => Err("no".to_owned()),
    }
}

trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, String>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, String> {
        self.ok_or_else(|| "none".to_owned())
    }
}

#[test]
fn every_family_is_at_zero_before_the_first_call() {
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    for (family, function) in [
        ("cache_lookups_total", "lookup"),
        ("legacy_calls_total", "legacy"),
        ("handler_responses_total", "respond"),
    ] {
        let labels = [
            ("function", function),
            ("module", "outcomes"),
            ("result", "error"),
        ];
        assert!(
            exposition.get(family, &labels).is_some(),
            "{family} {function}"
        );
    }
}

#[test]
fn ok_if_and_error_if_decide_the_result() {
    for key in 0..5 {
        let _ = lookup(key);
    }
    assert_eq!(calls("cache_lookups_total", "lookup", "ok"), 3);
    assert_eq!(calls("cache_lookups_total", "lookup", "error"), 2);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for code in [0, -1, 5, -7, -8] {
            legacy(code).await;
        }
        for n in [1, 2, 3, 4] {
            count_later(n).await;
        }
    });
    assert_eq!(calls("legacy_calls_total", "legacy", "ok"), 2);
    assert_eq!(calls("legacy_calls_total", "legacy", "error"), 3);
    assert_eq!(calls("future_predicates_total", "count_later", "ok"), 2);
    assert_eq!(calls("future_predicates_total", "count_later", "error"), 2);

    tolerant(true).unwrap_err();
    tolerant(false).unwrap();
    assert_eq!(calls("tolerant_calls_total", "tolerant", "ok"), 2);
    assert_eq!(calls("tolerant_calls_total", "tolerant", "error"), 0);
}

#[test]
fn responses_count_server_errors_as_errors() {
    for status in [200, 201, 404, 429, 500, 503, 302] {
        respond(status);
    }
    // 4xx are the client's mistakes, answered as they should be: `ok`.
    assert_eq!(calls("handler_responses_total", "respond", "ok"), 5);
    assert_eq!(calls("handler_responses_total", "respond", "error"), 2);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for status in [
            StatusCode::OK,
            StatusCode::BAD_GATEWAY,
            StatusCode::NOT_FOUND,
        ] {
            pair(status).await;
        }
        for status in [Some(200), Some(500), Some(504), None, None, None] {
            let _ = result_of_response(status).await;
        }
    });
    assert_eq!(calls("handler_pairs_total", "pair", "ok"), 2);
    assert_eq!(calls("handler_pairs_total", "pair", "error"), 1);
    assert_eq!(
        calls("handler_result_responses_total", "result_of_response", "ok"),
        1
    );
    assert_eq!(
        calls(
            "handler_result_responses_total",
            "result_of_response",
            "error"
        ),
        5
    );

    for status in [
        Some(StatusCode::CREATED),
        Some(StatusCode::INTERNAL_SERVER_ERROR),
        Some(StatusCode::UNPROCESSABLE_ENTITY),
        None,
    ] {
        let _ = result_of_pair(status);
    }
    assert_eq!(calls("handler_results_total", "result_of_pair", "ok"), 2);
    assert_eq!(calls("handler_results_total", "result_of_pair", "error"), 2);
}
