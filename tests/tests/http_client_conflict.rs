//! Outbound-call metrics built twice: the same options give the same metrics; other options
//! under the same names are a conflict naming the family, reported by `check` too.

use instrument_metric::http_client::{HttpClientError, HttpClientMetrics};

#[test]
fn the_same_options_give_the_same_metrics_and_others_with_the_same_names_a_conflict() {
    let build = |peers: &[&str]| {
        HttpClientMetrics::builder()
            .prefix("twice")
            .peers(peers)
            .build()
    };
    let first = build(&["a"]).unwrap();
    let again = build(&["a"]).unwrap();
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
    let error = build(&["a", "b"]).unwrap_err();
    assert!(matches!(error, HttpClientError::Conflict(_)), "{error}");
    assert!(
        error.to_string().contains("twice_http_client_requests_total"),
        "{error}"
    );
    // The conflict is reported by `check` too.
    assert!(instrument_metric::check().is_err());
}
