//! Async instrumented functions: ok, error, `?`, panic inside a task, and a future dropped
//! before it completes, each counted exactly; the in-flight gauge always comes back.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use instrument_metric::instrument_metric;
use integration_tests::Exposition;
use tokio::sync::oneshot;

/// Declared first in `function_calls_total`: a sync function, which cannot be cancelled.
#[instrument_metric]
fn sync_first() -> u32 {
    1
}

#[derive(Debug)]
struct Refused;

async fn step(fail: bool) -> Result<(), Refused> {
    tokio::task::yield_now().await;
    if fail { Err(Refused) } else { Ok(()) }
}

/// Sends one message, waiting for a gate when given one.
#[instrument_metric(name = "send_calls", in_flight)]
async fn send(fail: bool, gate: Option<oneshot::Receiver<()>>) -> Result<u32, Refused> {
    if let Some(gate) = gate {
        let _ = gate.await;
    }
    step(fail).await?;
    Ok(1)
}

#[instrument_metric]
async fn ping() -> u32 {
    tokio::task::yield_now().await;
    1
}

#[instrument_metric(name = "crash_calls")]
async fn crash() -> u32 {
    tokio::task::yield_now().await;
    panic!("crash");
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).expect("the exposition parses")
}

const LABELS: [(&str, &str); 2] = [("function", "send"), ("module", "async_outcomes")];

fn send_calls(exposition: &Exposition, result: &str) -> u64 {
    exposition.count(
        "send_calls_total",
        &[
            ("function", "send"),
            ("module", "async_outcomes"),
            ("result", result),
        ],
    )
}

#[tokio::test]
async fn every_exit_is_counted_exactly() {
    const N: usize = 20;
    let before = scrape();
    for result in ["ok", "error", "panic", "cancelled"] {
        assert_eq!(send_calls(&before, result), 0, "{result} exists at zero");
    }

    for _ in 0..N {
        assert_eq!(send(false, None).await.unwrap(), 1);
        send(true, None).await.unwrap_err();
    }

    // Cancelled: poll once so the call starts, check it is in flight, then drop it.
    for _ in 0..N {
        let (_keep_open, gate) = oneshot::channel::<()>();
        {
            let mut future = pin!(send(false, Some(gate)));
            let poll = future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            assert!(matches!(poll, Poll::Pending));
            assert_eq!(scrape().count("send_calls_in_flight", &LABELS), 1);
        }
        assert_eq!(scrape().count("send_calls_in_flight", &LABELS), 0);
    }

    // Panic inside a spawned task: the task fails, the call is counted as a panic.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for _ in 0..N {
        let joined = tokio::spawn(crash()).await;
        assert!(joined.unwrap_err().is_panic());
    }
    std::panic::set_hook(report);

    let after = scrape();
    assert_eq!(send_calls(&after, "ok"), N as u64);
    assert_eq!(send_calls(&after, "error"), N as u64);
    assert_eq!(send_calls(&after, "cancelled"), N as u64);
    assert_eq!(send_calls(&after, "panic"), 0);
    assert_eq!(
        after.count("send_calls_duration_seconds_count", &LABELS),
        (3 * N) as u64
    );
    assert_eq!(after.count("send_calls_in_flight", &LABELS), 0);
    assert_eq!(
        after.count(
            "crash_calls_total",
            &[
                ("function", "crash"),
                ("module", "async_outcomes"),
                ("result", "panic")
            ]
        ),
        N as u64
    );
}

#[tokio::test]
async fn handlers_stay_send() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    assert_eq!(assert_send(ping()).await, 1);
}

#[tokio::test]
async fn a_shared_family_keeps_each_functions_outcomes() {
    // `function_calls_total` is declared first by a sync function; the async `ping` still has
    // its `cancelled` row, so its rows add up to its histogram's count (which the parser
    // checks for every function).
    assert_eq!(sync_first(), 1);
    {
        let mut call = pin!(ping());
        assert!(
            call.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
    }
    let exposition = scrape();
    let row = |function: &str, result: &str| {
        exposition.get(
            "function_calls_total",
            &[
                ("function", function),
                ("module", "async_outcomes"),
                ("result", result),
            ],
        )
    };
    assert!(row("ping", "cancelled").is_some_and(|calls| calls >= 1.0));
    assert_eq!(
        row("sync_first", "cancelled"),
        None,
        "a sync call cannot be cancelled"
    );
    assert_eq!(row("sync_first", "ok"), Some(1.0));
}
