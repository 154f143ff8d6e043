//! Objectives per route on the HTTP layer: the series each one selects (by the `endpoint` and
//! `method` labels the layer writes), and an error value for each rule `build()` checks, with
//! conflicts naming both places.

use instrument_metric::axum::{HttpLayerError, HttpMetricsLayer};
use instrument_metric::{DeclaredObjective, Location, Objective, instrument_metric};

/// Places an order: its objective takes the name `orders_place`.
#[instrument_metric(name = "orders_place", objective(success = 99.0))]
fn place() {}

fn objective(name: &str) -> DeclaredObjective {
    instrument_metric::catalog()
        .objectives
        .into_iter()
        .find(|objective| objective.name == name)
        .unwrap_or_else(|| panic!("no objective {name}"))
}

fn message(builder: instrument_metric::axum::HttpMetricsBuilder) -> String {
    match builder.build() {
        Err(HttpLayerError::Objective(message)) => message,
        other => panic!("not an objective error: {other:?}"),
    }
}

/// This file, at `line` and `column`, as a conflict names it.
fn here(line: u32, column: u32) -> Location {
    Location {
        file: file!(),
        line,
        column,
    }
}

#[test]
fn a_route_objective_selects_its_route_and_methods() {
    HttpMetricsLayer::builder()
        .prefix("selecting")
        .status_classes()
        .buckets(&[0.1, 0.5, 2.0])
        .objective(Objective::new("selecting_all").success(99.9))
        .route_objective(
            &["POST"],
            "/api/v1/sms",
            Objective::new("selecting_sms").latency(2.0, 99.0),
        )
        .route_objective(
            &["PUT", "PATCH"],
            "/users/{id}",
            Objective::new("selecting_users").success(99.0),
        )
        .route_objective(
            &[],
            "/files/{*path}",
            Objective::new("selecting_files").success(95.0),
        )
        .build()
        .unwrap();
    let layer_wide = objective("selecting_all");
    assert_eq!(layer_wide.selector, r#"endpoint!="unmatched""#);
    assert_eq!(layer_wide.scope, "");
    let sms = objective("selecting_sms");
    assert_eq!(sms.selector, r#"endpoint="/api/v1/sms",method="POST""#);
    assert_eq!(
        sms.example,
        [
            ("endpoint", "/api/v1/sms".to_owned()),
            ("method", "POST".to_owned())
        ]
    );
    assert_eq!(sms.scope, "POST /api/v1/sms");
    // The layer's names and status classes, as for the layer-wide objective.
    assert_eq!(
        (sms.requests, sms.histogram, sms.bad, sms.ignored),
        (
            "selecting_http_requests_total",
            "selecting_http_request_duration_seconds",
            "5xx",
            ""
        )
    );
    assert_eq!(sms.bounds, [0.1, 0.5, 2.0]);
    assert_eq!(sms.latency, Some((2.0, 99.0)));
    assert_eq!(sms.success, None);
    let users = objective("selecting_users");
    assert_eq!(
        users.selector,
        r#"endpoint="/users/{id}",method=~"PUT|PATCH""#
    );
    assert_eq!(users.scope, "PUT|PATCH /users/{id}");
    let files = objective("selecting_files");
    assert_eq!(files.selector, r#"endpoint="/files/{*path}""#);
    assert_eq!(files.scope, "/files/{*path}");
    assert_eq!(
        files.example,
        [
            ("endpoint", "/files/{*path}".to_owned()),
            ("method", "GET".to_owned())
        ]
    );
}

#[test]
fn a_route_is_quoted_as_a_promql_string() {
    let route = "/q/\"a\\b\"/{{x}}";
    HttpMetricsLayer::builder()
        .prefix("quoting")
        .route_objective(&["GET"], route, Objective::new("quoting").success(99.0))
        .build()
        .unwrap();
    assert_eq!(
        objective("quoting").selector,
        r#"endpoint="/q/\"a\\b\"/{{x}}",method="GET""#
    );
}

#[test]
fn a_threshold_must_be_a_bound_of_the_layers_buckets() {
    assert_eq!(
        message(
            HttpMetricsLayer::builder()
                .buckets(&[0.1, 0.5])
                .route_objective(&["POST"], "/sms", Objective::new("sms").latency(1.0, 99.0))
        ),
        "the objective `sms` has the latency threshold 1 s, which is not a bound of the histogram ([0.1, 0.5]): only a bound tells which calls were faster; use one of them, or add it to the buckets"
    );
}

#[test]
fn a_route_must_be_a_route_template() {
    assert_eq!(
        message(HttpMetricsLayer::builder().route_objective(
            &[],
            "api/v1/sms",
            Objective::new("sms").success(99.0)
        )),
        "the objective `sms` covers `api/v1/sms`, which is not a route template: a route objective names a template of the router, like `/api/v1/sms` or `/users/{id}`"
    );
    for route in ["/api/*", "/api/*/sms"] {
        assert_eq!(
            message(HttpMetricsLayer::builder().route_objective(
                &[],
                route,
                Objective::new("sms").success(99.0)
            )),
            format!(
                "the objective `sms` covers `{route}`, which is not one route template: a `*` matches no route here (`{{*rest}}` is axum's wildcard segment); declare an objective per route, or one over every route with `.objective`"
            )
        );
    }
}

#[test]
fn an_excluded_route_has_no_objective() {
    for (exclusion, route) in [
        ("/health/*", "/health/{component}"),
        ("/metrics", "/metrics"),
    ] {
        assert_eq!(
            message(
                HttpMetricsLayer::builder()
                    .exclude(exclusion)
                    .route_objective(&["GET"], route, Objective::new("excluded").success(99.0))
            ),
            format!(
                "the objective `excluded` covers `{route}`, which the layer excludes (`.exclude(\"{exclusion}\")`): its requests are not recorded; drop the objective or the exclusion"
            )
        );
    }
}

#[test]
fn a_method_must_be_one_the_layer_labels() {
    assert_eq!(
        message(HttpMetricsLayer::builder().route_objective(
            &["post"],
            "/sms",
            Objective::new("sms").success(99.0)
        )),
        "the objective `sms` names the method `post`, which the layer does not label: try `POST`"
    );
    // `other` is where the layer folds the methods it does not name: no route objective for it.
    for method in ["PURGE", "other"] {
        assert_eq!(
            message(HttpMetricsLayer::builder().route_objective(
                &[method],
                "/sms",
                Objective::new("sms").success(99.0)
            )),
            format!(
                "the objective `sms` names the method `{method}`, which the layer does not label: the layer labels `GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH` by name and every other method `other`"
            )
        );
    }
    assert_eq!(
        message(HttpMetricsLayer::builder().route_objective(
            &["POST", "PUT", "POST"],
            "/sms",
            Objective::new("sms").success(99.0)
        )),
        "the objective `sms` names the method `POST` twice: name it once"
    );
}

#[test]
fn a_name_must_be_a_stem() {
    assert_eq!(
        message(HttpMetricsLayer::builder().route_objective(
            &["POST"],
            "/sms",
            Objective::new("sms send").success(99.0)
        )),
        "the objective name \"sms send\" is not written like a family stem: ASCII letters, digits and `_`, not starting with a digit (it becomes a label value in rules and text in alerts)"
    );
    assert_eq!(
        message(HttpMetricsLayer::builder().route_objective(
            &["POST"],
            "/sms",
            Objective::new("").success(99.0)
        )),
        "an objective of the HTTP layer needs a name: `Objective::new(\"api\")`"
    );
}

#[test]
fn a_name_is_declared_once_on_a_layer() {
    let (first, second) = (line!() + 3, line!() + 4);
    let built = HttpMetricsLayer::builder()
        .prefix("twice")
        .objective(Objective::new("api").success(99.0))
        .route_objective(&["POST"], "/sms", Objective::new("api").success(95.0));
    assert_eq!(
        message(built),
        format!(
            "the objective `api` is declared twice on this layer, for every route ({}) and for `POST /sms` ({}): an objective's name labels its rules; rename one",
            here(first, 10),
            here(second, 10)
        )
    );
    let built = HttpMetricsLayer::builder()
        .route_objective(&[], "/a", Objective::new("route").success(99.0))
        .route_objective(
            &["GET", "HEAD"],
            "/b",
            Objective::new("route").success(99.0),
        );
    let text = message(built);
    assert!(
        text.starts_with("the objective `route` is declared twice on this layer, for `/a` ("),
        "{text}"
    );
    assert!(text.contains(") and for `GET|HEAD /b` ("), "{text}");
}

#[test]
fn a_name_a_function_objective_has_is_a_conflict_naming_both() {
    let _ = place;
    let function = objective("orders_place").location;
    let line = line!() + 3;
    let error = HttpMetricsLayer::builder()
        .prefix("conflicting")
        .route_objective(
            &["POST"],
            "/orders",
            Objective::new("orders_place").success(99.0),
        )
        .build()
        .unwrap_err();
    let HttpLayerError::Conflict(conflict) = &error else {
        panic!("not a conflict: {error}");
    };
    assert_eq!(conflict.locations, [function, here(line, 10)]);
    assert_eq!(conflict.family, "conflicting_http_requests_total");
    assert_eq!(
        conflict.problem,
        "declared with the objective `orders_place`, a name another objective has: only the first is kept; rename one"
    );
}

#[test]
fn a_name_another_layer_has_is_a_conflict_naming_both() {
    let first = line!() + 3;
    HttpMetricsLayer::builder()
        .prefix("first_layer")
        .route_objective(&["GET"], "/a", Objective::new("shared_name").success(99.0))
        .build()
        .unwrap();
    let second = line!() + 3;
    let error = HttpMetricsLayer::builder()
        .prefix("second_layer")
        .objective(Objective::new("shared_name").success(99.0))
        .build()
        .unwrap_err();
    let HttpLayerError::Conflict(conflict) = &error else {
        panic!("not a conflict: {error}");
    };
    assert_eq!(conflict.locations, [here(first, 10), here(second, 10)]);
    assert_eq!(conflict.family, "second_layer_http_requests_total");
    // The first is kept.
    assert_eq!(
        objective("shared_name").selector,
        r#"endpoint="/a",method="GET""#
    );
}
