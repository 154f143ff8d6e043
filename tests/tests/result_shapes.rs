//! The `result` and `kind` of every shape of returned value, checked against the table of
//! `metrics-runtime/docs/outcomes.md` row by row: the documentation cannot list a row this
//! test does not make, nor this test make a row the documentation does not list, nor the two
//! disagree.

use std::collections::BTreeMap;
use std::future::Future;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use instrument_metric::{ErrorKinds, Outcome, instrument_metric, testing};
use serde_json::{Value, json};

#[derive(Debug, ErrorKinds)]
enum AppError {
    #[error_kind(ok)]
    NotFound,
    #[allow(dead_code)]
    Database(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND.into_response(),
            AppError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

fn response(code: u16) -> Response {
    (status(code), "body").into_response()
}

/// An instrumented function that returns its argument, of type `$ty`.
macro_rules! returns {
    ($($name:ident: $ty:ty;)+) => {$(
        #[allow(clippy::result_large_err)] // axum's `Response` as an `Err`, as handlers do
        #[instrument_metric(name = "shapes")]
        fn $name(value: $ty) -> $ty {
            value
        }
    )+};
}

returns! {
    unit: ();
    number: u32;
    option: Option<u32>;
    result_string: Result<u32, String>;
    status_code: StatusCode;
    plain_response: Response;
    pair: (StatusCode, String);
    triple: (StatusCode, HeaderMap, String);
    html: Html<String>;
    string_or_status: Result<String, StatusCode>;
    html_or_pair: Result<Html<String>, (StatusCode, String)>;
    json_or_pair: Result<Json<Value>, (StatusCode, String)>;
    json_or_response: Result<Json<Value>, Response>;
    json_or_status: Result<Json<Value>, StatusCode>;
    response_or_response: Result<Response, Response>;
    pair_or_pair: Result<(StatusCode, String), (StatusCode, String)>;
}

#[instrument_metric(name = "shapes_kinds", error_kinds = AppError)]
fn app_result(value: Result<u32, AppError>) -> Result<u32, AppError> {
    value
}

#[instrument_metric(name = "shapes_kinds", error_kinds = AppError)]
fn app_json(value: Result<Json<Value>, AppError>) -> Result<Json<Value>, AppError> {
    value
}

#[instrument_metric(name = "shapes_kinds", error_kinds = AppError, error_if = Result::is_ok)]
fn inverted(value: Result<u32, AppError>) -> Result<u32, AppError> {
    value
}

#[instrument_metric(name = "shapes", ok_if = |_| -> bool { panic!("a predicate that panics") })]
fn predicate_panics(value: u32) -> u32 {
    value
}

#[instrument_metric(name = "shapes")]
fn into_response() -> impl IntoResponse {
    (StatusCode::INTERNAL_SERVER_ERROR, "")
}

#[instrument_metric(name = "shapes")]
fn later(code: u16) -> impl Future<Output = Result<Json<Value>, StatusCode>> {
    async move { Err(status(code)) }
}

/// The `result` and `kind` the single call `call` makes records for `function`.
fn recorded(function: &str, call: impl FnOnce()) -> (String, String) {
    let ((), captured) = testing::capture(call);
    assert_eq!(captured.calls(function), 1, "{function}");
    let outcome = Outcome::ALL
        .into_iter()
        .find(|outcome| captured.outcomes(function, *outcome) == 1)
        .expect("one outcome");
    let kinds = captured.kinds(function);
    let kind = match kinds.as_slice() {
        [] => "—".to_owned(),
        [(kind, 1)] => format!("`{kind}`"),
        more => panic!("{function}: kinds {more:?}"),
    };
    (format!("`{}`", outcome.as_str()), kind)
}

/// What this test makes of each row: `(type, value)` to `(result, kind)`, as the table writes
/// them.
#[allow(clippy::too_many_lines)] // one row of the table a few lines each
fn observed() -> BTreeMap<(String, String), (String, String)> {
    let mut rows = BTreeMap::new();
    let mut row = |ty: &str, value: &str, function: &str, call: &mut dyn FnMut()| {
        let key = (format!("`{ty}`"), format!("`{value}`"));
        let seen = recorded(function, call);
        assert!(rows.insert(key.clone(), seen).is_none(), "{key:?} twice");
    };
    let database = || AppError::Database("gone".into());
    row("()", "()", "unit", &mut || unit(()));
    row("u32", "7", "number", &mut || {
        number(7);
    });
    row("Option<u32>", "None", "option", &mut || {
        option(None);
    });
    row("Result<u32, String>", "Ok(7)", "result_string", &mut || {
        let _ = result_string(Ok(7));
    });
    row(
        "Result<u32, String>",
        "Err(_)",
        "result_string",
        &mut || {
            let _ = result_string(Err("no".into()));
        },
    );
    row("Result<u32, AppError>", "Ok(7)", "app_result", &mut || {
        let _ = app_result(Ok(7));
    });
    row(
        "Result<u32, AppError>",
        "Err(AppError::NotFound)",
        "app_result",
        &mut || {
            let _ = app_result(Err(AppError::NotFound));
        },
    );
    row(
        "Result<u32, AppError>",
        "Err(AppError::Database)",
        "app_result",
        &mut || {
            let _ = app_result(Err(database()));
        },
    );
    row(
        "Result<Json<_>, AppError>",
        "Err(AppError::NotFound)",
        "app_json",
        &mut || {
            let _ = app_json(Err(AppError::NotFound));
        },
    );
    row(
        "Result<Json<_>, AppError>",
        "Err(AppError::Database)",
        "app_json",
        &mut || {
            let _ = app_json(Err(database()));
        },
    );
    for code in [200, 404, 500] {
        row("StatusCode", &code.to_string(), "status_code", &mut || {
            status_code(status(code));
        });
    }
    for code in [404, 503] {
        row("Response", &code.to_string(), "plain_response", &mut || {
            plain_response(response(code));
        });
    }
    for code in [409, 500] {
        row(
            "(StatusCode, String)",
            &format!("({code}, _)"),
            "pair",
            &mut || {
                pair((status(code), String::new()));
            },
        );
    }
    row(
        "(StatusCode, HeaderMap, String)",
        "(500, _, _)",
        "triple",
        &mut || {
            triple((status(500), HeaderMap::new(), String::new()));
        },
    );
    row("Html<String>", "Html(_)", "html", &mut || {
        let _ = html(Html(String::new()));
    });
    row(
        "Result<String, StatusCode>",
        "Ok(_)",
        "string_or_status",
        &mut || {
            let _ = string_or_status(Ok(String::new()));
        },
    );
    for code in [404, 500] {
        row(
            "Result<String, StatusCode>",
            &format!("Err({code})"),
            "string_or_status",
            &mut || {
                let _ = string_or_status(Err(status(code)));
            },
        );
    }
    for code in [404, 502] {
        row(
            "Result<Html<String>, (StatusCode, String)>",
            &format!("Err(({code}, _))"),
            "html_or_pair",
            &mut || {
                let _ = html_or_pair(Err((status(code), String::new())));
            },
        );
    }
    row(
        "Result<Json<_>, (StatusCode, String)>",
        "Ok(Json(_))",
        "json_or_pair",
        &mut || {
            let _ = json_or_pair(Ok(Json(json!({}))));
        },
    );
    for code in [404, 500] {
        row(
            "Result<Json<_>, (StatusCode, String)>",
            &format!("Err(({code}, _))"),
            "json_or_pair",
            &mut || {
                let _ = json_or_pair(Err((status(code), String::new())));
            },
        );
        row(
            "Result<Json<_>, Response>",
            &format!("Err({code})"),
            "json_or_response",
            &mut || {
                let _ = json_or_response(Err(response(code)));
            },
        );
        row(
            "Result<Json<_>, StatusCode>",
            &format!("Err({code})"),
            "json_or_status",
            &mut || {
                let _ = json_or_status(Err(status(code)));
            },
        );
    }
    for code in [200, 500] {
        row(
            "Result<Response, Response>",
            &format!("Ok({code})"),
            "response_or_response",
            &mut || {
                let _ = response_or_response(Ok(response(code)));
            },
        );
    }
    for code in [404, 500] {
        row(
            "Result<Response, Response>",
            &format!("Err({code})"),
            "response_or_response",
            &mut || {
                let _ = response_or_response(Err(response(code)));
            },
        );
    }
    let pairs = "Result<(StatusCode, String), (StatusCode, String)>";
    for code in [201, 500] {
        row(
            pairs,
            &format!("Ok(({code}, _))"),
            "pair_or_pair",
            &mut || {
                let _ = pair_or_pair(Ok((status(code), String::new())));
            },
        );
    }
    for code in [409, 500] {
        row(
            pairs,
            &format!("Err(({code}, _))"),
            "pair_or_pair",
            &mut || {
                let _ = pair_or_pair(Err((status(code), String::new())));
            },
        );
    }
    row(
        "impl IntoResponse",
        "(StatusCode::INTERNAL_SERVER_ERROR, \"\")",
        "into_response",
        &mut || {
            let _ = into_response();
        },
    );
    row(
        "impl Future<Output = Result<Json<_>, StatusCode>>",
        "Err(404)",
        "later",
        &mut || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let _ = runtime.block_on(later(404));
        },
    );
    let inverted_type = "Result<u32, AppError>` with `error_if = Result::is_ok";
    row(
        inverted_type,
        "Err(AppError::Database)",
        "inverted",
        &mut || {
            let _ = inverted(Err(database()));
        },
    );
    row(inverted_type, "Ok(7)", "inverted", &mut || {
        let _ = inverted(Ok(7));
    });
    row(
        "u32` with a panicking `ok_if",
        "7",
        "predicate_panics",
        &mut || {
            assert_eq!(predicate_panics(7), 7, "the value reaches the caller");
        },
    );
    rows
}

/// The table of the documentation: `(type, value)` to `(result, kind)`, cells as written.
fn documented() -> BTreeMap<(String, String), (String, String)> {
    let text = include_str!("../../metrics-runtime/docs/outcomes.md");
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `")) {
        // Cells are split on `|` that is not escaped as `\|`.
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut chars = line.trim().trim_matches('|').chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    cell.push_str("\\|");
                    chars.next();
                }
                '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
                _ => cell.push(c),
            }
        }
        cells.push(cell.trim().to_owned());
        let [ty, value, result, kind] = <[String; 4]>::try_from(cells)
            .unwrap_or_else(|cells| panic!("a row of four cells: {cells:?}"));
        assert!(
            rows.insert((ty, value), (result, kind)).is_none(),
            "{line}: twice"
        );
    }
    rows
}

#[test]
fn the_documented_table_is_what_calls_record() {
    let documented = documented();
    let observed = observed();
    let only_documented: Vec<_> = documented
        .keys()
        .filter(|key| !observed.contains_key(*key))
        .collect();
    let only_observed: Vec<_> = observed
        .keys()
        .filter(|key| !documented.contains_key(*key))
        .collect();
    assert!(
        only_documented.is_empty() && only_observed.is_empty(),
        "rows only in the docs: {only_documented:?}; rows only in the test: {only_observed:?}"
    );
    for (key, seen) in &observed {
        assert_eq!(
            &documented[key], seen,
            "{key:?}: the docs say, the call records"
        );
    }
}
