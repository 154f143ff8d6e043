//! Health checks that never return cost nothing that grows: one run per component at a time,
//! a run cut short by its timeout is abandoned, and requests meanwhile get the run's result.
//! The scenarios run one after the other in one test, since `check_all` and the periodic task
//! run every component registered in the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use instrument_metric::health;
use tower::ServiceExt as _;

async fn get(app: &Router, path: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Resident memory of this process, in kilobytes (Linux).
fn resident_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Counts the runs of a check that are alive (started and not yet returned or dropped), and
/// the most that ever were at once.
#[derive(Default)]
struct Runs {
    started: AtomicUsize,
    alive: AtomicUsize,
    most_at_once: AtomicUsize,
}

impl Runs {
    fn enter(self: &Arc<Self>) -> RunGuard {
        self.started.fetch_add(1, Ordering::SeqCst);
        let alive = self.alive.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(alive, Ordering::SeqCst);
        RunGuard(Arc::clone(self))
    }
}

struct RunGuard(Arc<Runs>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A gate that blocks the threads that wait on it until it is opened.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Waits until `condition` holds, yielding to the runtime; panics after `limit`.
async fn until(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
    }
}

/// The alive-task count once it is at most `bound`, or after a second if it never gets there.
async fn settle(bound: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let alive = alive_tasks();
        if alive <= bound || Instant::now() > deadline {
            return alive;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn hanging_and_blocking_checks_cost_one_run_at_a_time() {
    let app: Router = health::router();
    ten_thousand_requests_against_a_hanging_check(&app).await;
    a_check_that_blocks_its_thread_is_not_started_again_until_it_returns(&app).await;
    the_periodic_task_does_not_pile_up_hanging_runs().await;
}

async fn ten_thousand_requests_against_a_hanging_check(app: &Router) {
    let runs = Arc::new(Runs::default());
    let counted = Arc::clone(&runs);
    health::register("hanging", Duration::from_millis(20), move || {
        let guard = counted.enter();
        async move {
            let _guard = guard;
            std::future::pending::<Result<(), String>>().await
        }
    })
    .unwrap();

    let before_tasks = alive_tasks();
    let before_kb = resident_kb();
    let started = Instant::now();
    let mut most_tasks_after_a_batch = 0;
    let mut after_first_batch_kb = None;
    for batch in 0..10 {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..1_000 {
            let app = app.clone();
            requests.spawn(async move { get(&app, "/health/hanging").await });
        }
        while let Some(answer) = requests.join_next().await {
            let (status, body) = answer.unwrap();
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                body["error"], "the health check took longer than 20ms",
                "every request gets the timed-out run's result"
            );
        }
        // Every request has its answer: what is left is at most the run that answered
        // them and its aborted check, finishing. (The count of a multi-threaded runtime
        // lags a little behind the tasks that ended: wait for it to settle, boundedly.)
        let settled = settle(before_tasks + 2).await;
        most_tasks_after_a_batch =
            most_tasks_after_a_batch.max(settled.saturating_sub(before_tasks));
        if batch == 0 {
            after_first_batch_kb = resident_kb();
        }
    }
    let elapsed = started.elapsed();
    assert!(
        most_tasks_after_a_batch <= 2,
        "{most_tasks_after_a_batch} tasks left behind by 1,000 answered requests"
    );
    until("the last run to end", Duration::from_secs(10), || {
        runs.alive.load(Ordering::SeqCst) == 0
    })
    .await;
    until(
        "the tasks of the last run to end",
        Duration::from_secs(10),
        || alive_tasks() <= before_tasks,
    )
    .await;
    let after_kb = resident_kb();

    let runs_started = runs.started.load(Ordering::SeqCst);
    println!(
        "10,000 requests against a check that never returns (timeout 20 ms) in {elapsed:.2?}: \
         {runs_started} runs, at most {} at once; alive tasks {before_tasks} before, at most \
         {before_tasks} + {most_tasks_after_a_batch} after each batch of 1,000, {} at the end; \
         resident memory {before_kb:?} kB before, {after_first_batch_kb:?} kB after the first \
         1,000, {after_kb:?} kB after 10,000",
        runs.most_at_once.load(Ordering::SeqCst),
        alive_tasks(),
    );
    assert_eq!(
        runs.most_at_once.load(Ordering::SeqCst),
        1,
        "one run at a time"
    );
    // Requests share runs: each run lasts the 20 ms timeout, so there can be no more runs
    // than 20 ms periods (plus the one that starts each batch).
    let periods = usize::try_from(elapsed.as_millis() / 20).unwrap();
    assert!(
        runs_started <= periods + 10,
        "{runs_started} runs in {periods} timeouts: requests did not share runs"
    );
}

async fn a_check_that_blocks_its_thread_is_not_started_again_until_it_returns(app: &Router) {
    let runs = Arc::new(Runs::default());
    let gate = Arc::new(Gate::default());
    let (counted, blocking) = (Arc::clone(&runs), Arc::clone(&gate));
    health::register("blocking", Duration::from_millis(20), move || {
        let guard = counted.enter();
        let gate = Arc::clone(&blocking);
        async move {
            let _guard = guard;
            // A bug: a blocking call in async code. Abort cannot stop it.
            gate.wait();
            Ok::<(), String>(())
        }
    })
    .unwrap();

    let (status, body) = get(app, "/health/blocking").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "the health check took longer than 20ms");
    for _ in 0..2 {
        let (status, body) = get(app, "/health/blocking").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body["error"], "the health check took longer than 20ms",
            "the last known status while the abandoned run still blocks"
        );
    }
    let (status, _) = get(app, "/health/overall").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let started = runs.started.load(Ordering::SeqCst);
    // Opened before asserting, so that a failure does not leave worker threads blocked.
    gate.open();
    assert_eq!(
        started, 1,
        "no run starts while the abandoned one holds its thread"
    );
    until("the blocked run to return", Duration::from_secs(10), || {
        runs.alive.load(Ordering::SeqCst) == 0
    })
    .await;
    // Once it has returned, the next request runs the check again, and it passes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(app, "/health/blocking").await;
        if status == StatusCode::OK {
            assert_eq!(body["status"], "healthy");
            break;
        }
        // The abandoned run's task may not have noticed the return yet.
        assert!(Instant::now() < deadline, "the check never ran again");
        tokio::task::yield_now().await;
    }
    assert_eq!(runs.most_at_once.load(Ordering::SeqCst), 1);
}

async fn the_periodic_task_does_not_pile_up_hanging_runs() {
    let runs = Arc::new(Runs::default());
    let counted = Arc::clone(&runs);
    health::register("stalled", Duration::from_millis(5), move || {
        let guard = counted.enter();
        async move {
            let _guard = guard;
            std::future::pending::<Result<(), String>>().await
        }
    })
    .unwrap();
    let before_tasks = alive_tasks();
    let periodic = health::spawn_periodic(Duration::from_millis(10));
    until("40 periodic runs", Duration::from_secs(30), || {
        runs.started.load(Ordering::SeqCst) >= 40
    })
    .await;
    let during = settle(before_tasks + 1 + 3 * 3)
        .await
        .saturating_sub(before_tasks);
    periodic.abort();
    println!(
        "periodic checks every 10 ms, one of three never returns: {} runs, {during} tasks alive \
         beside the test's",
        runs.started.load(Ordering::SeqCst)
    );
    assert_eq!(runs.most_at_once.load(Ordering::SeqCst), 1);
    // The periodic task, one task per component waiting in `check_all`, and each component's
    // run with its check: bounded by the components (three here), not by the periods.
    assert!(during <= 1 + 3 * 3, "{during} tasks alive after 40 periods");
}
