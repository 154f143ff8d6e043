//! Errors counted by kind (`error_kinds = Type`, `#[derive(ErrorKinds)]`): every kind at 0 from
//! start-up, exact counts beside the `result` counts, enums with data and nested kinds.

use instrument_metric::{ErrorKinds, instrument_metric};
use integration_tests::Exposition;

#[derive(Debug, Clone, Copy, ErrorKinds)]
enum ProviderError {
    RateLimited,
    Unavailable,
}

#[derive(Debug, ErrorKinds)]
enum SyncError {
    /// Data of any kind is allowed in a variant.
    Network(#[allow(dead_code)] std::io::Error),
    #[error_kind(rename = "bad_answer")]
    Parse {
        #[allow(dead_code)]
        line: usize,
    },
    /// The kinds of the provider's error, not `provider`.
    #[error_kind(transparent)]
    Provider(ProviderError),
}

/// Synchronises with a provider.
#[instrument_metric(name = "sync_runs", error_kinds = SyncError)]
fn sync(how: u8) -> Result<(), SyncError> {
    match how {
        0 => Ok(()),
        1 => Err(SyncError::Network(std::io::Error::other("reset"))),
        2 => Err(SyncError::Parse { line: 3 }),
        3 => Err(SyncError::Provider(ProviderError::Unavailable)),
        _ => panic!("asked to panic"),
    }
}

/// The same, asynchronously and through a `Result` alias: the type check is on the real type.
#[instrument_metric(name = "async_sync_runs", error_kinds = ProviderError)]
#[expect(
    clippy::unused_async,
    reason = "async on purpose; the attribute does not hide the lint"
)]
async fn sync_later(fail: Option<ProviderError>) -> Answer {
    fail.map_or(Ok(1), Err)
}

type Answer = Result<u32, ProviderError>;

/// Functions without their own families share `function_calls_errors_total`.
#[instrument_metric(error_kinds = ProviderError)]
fn shared(fail: bool) -> Result<(), ProviderError> {
    if fail {
        Err(ProviderError::RateLimited)
    } else {
        Ok(())
    }
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).unwrap()
}

fn errors(exposition: &Exposition, family: &str, function: &str, kind: &str) -> u64 {
    exposition.count(
        family,
        &[
            ("function", function),
            ("module", "error_kinds"),
            ("kind", kind),
        ],
    )
}

#[test]
fn kinds_are_listed_in_order_with_nested_ones() {
    assert_eq!(
        SyncError::KINDS,
        ["network", "bad_answer", "rate_limited", "unavailable"]
    );
    assert_eq!(
        SyncError::Provider(ProviderError::RateLimited).kind_index(),
        2
    );
    assert_eq!(SyncError::Parse { line: 1 }.kind(), "bad_answer");
}

#[test]
fn errors_are_counted_by_kind_and_every_kind_starts_at_zero() {
    let before = scrape();
    for kind in SyncError::KINDS {
        assert_eq!(errors(&before, "sync_runs_errors_total", "sync", kind), 0);
    }
    let text = instrument_metric::render();
    assert!(text.contains(
        "# HELP sync_runs_errors_total Synchronises with a provider (errors by kind).\n# TYPE sync_runs_errors_total counter\n"
    ));

    for how in [0, 1, 1, 2, 3, 3, 3, 0] {
        let _ = sync(how);
    }
    let _ = std::panic::catch_unwind(|| sync(9));
    let after = scrape();
    let counted: Vec<u64> = SyncError::KINDS
        .iter()
        .map(|kind| errors(&after, "sync_runs_errors_total", "sync", kind))
        .collect();
    assert_eq!(counted, [2, 1, 0, 3]);
    let result = |result| {
        after.count(
            "sync_runs_total",
            &[
                ("function", "sync"),
                ("module", "error_kinds"),
                ("result", result),
            ],
        )
    };
    assert_eq!(result("error"), 6, "the kinds add up to the errors");
    assert_eq!(result("ok"), 2);
    assert_eq!(result("panic"), 1, "a panic is no error kind");
}

#[test]
fn async_functions_and_shared_families_count_kinds_too() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for fail in [
            None,
            Some(ProviderError::Unavailable),
            Some(ProviderError::Unavailable),
            Some(ProviderError::RateLimited),
        ] {
            let _ = sync_later(fail).await;
        }
    });
    for fail in [true, false, true] {
        let _ = shared(fail);
    }
    let exposition = scrape();
    let family = "async_sync_runs_errors_total";
    assert_eq!(errors(&exposition, family, "sync_later", "rate_limited"), 1);
    assert_eq!(errors(&exposition, family, "sync_later", "unavailable"), 2);
    let shared_family = "function_calls_errors_total";
    assert_eq!(
        errors(&exposition, shared_family, "shared", "rate_limited"),
        2
    );
    assert_eq!(
        errors(&exposition, shared_family, "shared", "unavailable"),
        0
    );
}
