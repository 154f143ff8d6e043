//! Functions that return a future without being `async fn` (`impl Future`, `impl IntoFuture`,
//! `Pin<Box<dyn Future>>`, `BoxFuture`, `LocalBoxFuture`, and `#[async_trait]` methods, whose
//! attribute sees them rewritten so): each call is timed like an `async fn`, from its first
//! poll to its completion, its `result` comes from the output, a future dropped after its
//! first poll is `cancelled`, and a panic while polling is `panic`.

use std::future::{Future, IntoFuture};
use std::pin::{Pin, pin};
use std::task::{Context, Waker};
use std::time::Duration;

use futures_util::future::{BoxFuture, LocalBoxFuture};
use instrument_metric::instrument_metric;
use integration_tests::Exposition;

#[derive(Debug)]
struct Refused;

/// How long every call below waits before it completes.
const WORK: Duration = Duration::from_millis(30);

/// Waits for the work, then fails or not.
async fn work(fail: bool) -> Result<u32, Refused> {
    tokio::time::sleep(WORK).await;
    if fail { Err(Refused) } else { Ok(1) }
}

/// An `impl Future`.
#[instrument_metric(name = "impl_future_calls")]
fn impl_future(fail: bool) -> impl Future<Output = Result<u32, Refused>> + Send {
    work(fail)
}

/// An `impl Future` with an in-flight gauge.
#[instrument_metric(name = "tracked_future_calls", in_flight)]
fn tracked_future() -> impl Future<Output = Result<u32, Refused>> + Send {
    work(false)
}

/// A boxed future.
#[instrument_metric(name = "boxed_calls")]
fn boxed(fail: bool) -> Pin<Box<dyn Future<Output = Result<u32, Refused>> + Send>> {
    Box::pin(work(fail))
}

/// A `futures` box.
#[instrument_metric(name = "box_future_calls")]
fn box_future(fail: bool) -> BoxFuture<'static, Result<u32, Refused>> {
    Box::pin(work(fail))
}

/// A `futures` box that is not `Send`.
#[instrument_metric(name = "local_box_future_calls")]
fn local_box_future(fail: bool) -> LocalBoxFuture<'static, Result<u32, Refused>> {
    let not_send = std::rc::Rc::new(fail);
    Box::pin(async move { work(*not_send).await })
}

/// Something that becomes a future when awaited.
struct Job(bool);

impl IntoFuture for Job {
    type Output = Result<u32, Refused>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<u32, Refused>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(work(self.0))
    }
}

/// An `impl IntoFuture`.
#[instrument_metric(name = "into_future_calls")]
fn into_future(fail: bool) -> impl IntoFuture<Output = Result<u32, Refused>> {
    Job(fail)
}

/// A future that panics when polled.
#[instrument_metric(name = "panicking_future_calls")]
fn panicking() -> impl Future<Output = u32> + Send {
    async {
        tokio::task::yield_now().await;
        panic!("the future panics");
    }
}

#[async_trait::async_trait]
trait Sender {
    async fn send(&self, fail: bool) -> Result<u32, Refused>;
}

struct Sms;

// `#[async_trait]` rewrites the method into one returning `Pin<Box<dyn Future>>` before the
// method's attribute sees it.
#[async_trait::async_trait]
impl Sender for Sms {
    #[instrument_metric(name = "async_trait_calls")]
    async fn send(&self, fail: bool) -> Result<u32, Refused> {
        work(fail).await
    }
}

struct Email;

// The attribute on the block, after `#[async_trait]`.
#[async_trait::async_trait]
#[instrument_metric(name = "async_trait_block_calls")]
impl Sender for Email {
    async fn send(&self, fail: bool) -> Result<u32, Refused> {
        work(fail).await
    }
}

fn scrape() -> Exposition {
    Exposition::parse(&instrument_metric::render()).expect("the exposition parses")
}

/// The `result` rows of `stem_total`, and the count and sum of `stem_duration_seconds`.
fn recorded(exposition: &Exposition, stem: &str) -> ([u64; 4], u64, f64) {
    let count_name = format!("{stem}_duration_seconds_count");
    let series = exposition
        .series(&count_name)
        .next()
        .unwrap_or_else(|| panic!("{stem} has a histogram"));
    let labels: Vec<(&str, &str)> = series
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut with_result = labels.clone();
    with_result.push(("result", ""));
    let rows = ["ok", "error", "panic", "cancelled"].map(|result| {
        with_result.last_mut().unwrap().1 = result;
        exposition.count(&format!("{stem}_total"), &with_result)
    });
    let count = exposition.count(&format!("{stem}_duration_seconds_count"), &labels);
    let sum = exposition.value(&format!("{stem}_duration_seconds_sum"), &labels);
    (rows, count, sum)
}

/// Polls `future` once, so that its call starts, then drops it.
fn start_and_drop<F: Future>(future: F) {
    let mut future = pin!(future);
    let poll = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(poll.is_pending(), "the work takes longer than one poll");
}

#[tokio::test]
async fn each_future_is_timed_to_completion_with_its_outcome() {
    assert_eq!(impl_future(false).await.unwrap(), 1);
    impl_future(true).await.unwrap_err();
    assert_eq!(boxed(false).await.unwrap(), 1);
    boxed(true).await.unwrap_err();
    assert_eq!(box_future(false).await.unwrap(), 1);
    box_future(true).await.unwrap_err();
    assert_eq!(local_box_future(false).await.unwrap(), 1);
    local_box_future(true).await.unwrap_err();
    assert_eq!(into_future(false).await.unwrap(), 1);
    into_future(true).await.unwrap_err();
    assert_eq!(Sms.send(false).await.unwrap(), 1);
    Sms.send(true).await.unwrap_err();
    assert_eq!(Email.send(false).await.unwrap(), 1);
    Email.send(true).await.unwrap_err();

    start_and_drop(impl_future(false));
    start_and_drop(boxed(false));
    start_and_drop(box_future(false));
    start_and_drop(local_box_future(false));
    start_and_drop(into_future(false).into_future());
    start_and_drop(Sms.send(false));
    start_and_drop(Email.send(false));
    // A future never polled is a call that never started: it is not counted.
    drop(impl_future(false));

    let exposition = scrape();
    for stem in [
        "impl_future_calls",
        "boxed_calls",
        "box_future_calls",
        "local_box_future_calls",
        "into_future_calls",
        "async_trait_calls",
        "async_trait_block_calls",
    ] {
        let (rows, count, sum) = recorded(&exposition, stem);
        assert_eq!(rows, [1, 1, 0, 1], "{stem}: ok, error, panic, cancelled");
        assert_eq!(count, 3, "{stem}");
        // Timed until the work is done (30 ms each), not until the future was returned.
        assert!(
            sum >= 2.0 * WORK.as_secs_f64(),
            "{stem}: {sum} s for two completed calls of {WORK:?}"
        );
    }
}

#[tokio::test]
async fn a_started_future_is_in_flight_until_it_ends() {
    let labels = [("function", "tracked_future"), ("module", "futures")];
    let mut call = pin!(tracked_future());
    assert!(
        call.as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
    assert_eq!(scrape().count("tracked_future_calls_in_flight", &labels), 1);
    assert_eq!(call.await.unwrap(), 1);
    assert_eq!(scrape().count("tracked_future_calls_in_flight", &labels), 0);
}

#[tokio::test]
async fn a_panic_while_polling_is_counted_as_a_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // The executor catches the panic and drops the future later, when the thread is no
    // longer panicking: the outcome is still `panic`.
    let joined = tokio::spawn(panicking()).await;
    std::panic::set_hook(report);
    assert!(joined.unwrap_err().is_panic());
    let labels = [
        ("function", "panicking"),
        ("module", "futures"),
        ("result", "panic"),
    ];
    assert_eq!(scrape().count("panicking_future_calls_total", &labels), 1);
}
