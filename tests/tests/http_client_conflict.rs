//! Outbound-call metrics built twice: the same options give the same metrics; other options
//! under the same names are a conflict naming where each was built, reported by `check` too.

use instrument_metric::http_client::{HttpClientError, HttpClientMetrics};

#[test]
fn the_same_options_give_the_same_metrics_and_others_with_the_same_names_a_conflict() {
    let first = HttpClientMetrics::builder()
        .prefix("twice")
        .peers(&["a"])
        .build()
        .unwrap();
    let first_line = line!() - 2; // `.build()`
    let again = HttpClientMetrics::builder()
        .prefix("twice")
        .peers(&["a"])
        .build()
        .unwrap();
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
    let error = HttpClientMetrics::builder()
        .prefix("twice")
        .peers(&["a", "b"])
        .build()
        .unwrap_err();
    let second_line = line!() - 2;
    assert!(matches!(error, HttpClientError::Conflict(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("twice_http_client_requests_total"),
        "{message}"
    );
    for line in [first_line, second_line] {
        assert!(
            message.contains(&format!("tests/tests/http_client_conflict.rs:{line}:")),
            "{message}"
        );
    }
    // The conflict is reported by `check` too.
    assert!(instrument_metric::check().is_err());
}
