//! The database health check writes and looks at the file: a SQLite file deleted under the
//! running service (after which writes fail) is reported (`database_health_status` 0,
//! `/health/database` 503), restored from a connection that still has it open (nothing
//! written before is lost), and reported at every check while it cannot be restored.
//! `sqlite::memory:` works.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::Exposition;
use personal_assistant::Config;
use personal_assistant::db::{self, Database, User};
use serde_json::{Value, json};

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("pa-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.file().display())
    }

    fn file(&self) -> PathBuf {
        self.0.join("assistant.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn user(name: &str) -> User {
    User {
        id: personal_assistant::new_id(),
        name: name.to_owned(),
        phone: "+15550100".to_owned(),
        phone_verified: false,
    }
}

/// Deletes the file and the journal SQLite may keep beside it.
fn delete(file: &Path) {
    std::fs::remove_file(file).unwrap();
    let _ = std::fs::remove_file(file.with_extension("db-journal"));
}

/// One test, its scenarios one after the other: they count failed checks in the same
/// process-wide `database_pings_total`, and the service registers its health check once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_faults() {
    the_service_reports_a_deleted_database_and_comes_back().await;
    the_check_that_finds_the_file_deleted_fails_and_restores_it().await;
    without_its_directory_the_file_cannot_be_restored_and_every_check_fails().await;
    an_in_memory_database_is_one_database().await;
}

async fn the_check_that_finds_the_file_deleted_fails_and_restores_it() {
    let scratch = Scratch::new("db-restore");
    let database = Database::connect(&scratch.url()).await.unwrap();
    let kept = user("kept");
    database.insert_user(&kept).await.unwrap();
    db::ping(&database).await.unwrap();

    delete(&scratch.file());
    // Writes now fail (`attempt to write a readonly database`, or `unable to open database
    // file` on a new connection), except a connection's first one, which SQLite lets through
    // into the deleted file: what succeeds must survive.
    let mut stored = vec![kept.id.clone()];
    for name in ["gap 1", "gap 2", "gap 3"] {
        let gap = user(name);
        if database.insert_user(&gap).await.is_ok() {
            stored.push(gap.id);
        }
    }
    let failures = checks_until_healthy(&database).await;
    assert!(
        failures.iter().any(|failure| failure.contains("restored")),
        "the check that finds the file gone fails and restores it: {failures:?}"
    );
    assert!(scratch.file().exists(), "the file is back");
    for id in &stored {
        assert!(database.user(id).await.unwrap().is_some(), "nothing lost");
    }
    let after = user("after");
    database.insert_user(&after).await.unwrap();
    stored.push(after.id);
    // The restored file holds what is written now: a fresh connection reads it.
    let reopened = Database::connect(&scratch.url()).await.unwrap();
    assert_eq!(
        reopened.adoption().await.unwrap().2,
        i64::try_from(stored.len()).unwrap(),
        "every user stored before, during and after"
    );
}

async fn without_its_directory_the_file_cannot_be_restored_and_every_check_fails() {
    let scratch = Scratch::new("db-gone");
    let database = Database::connect(&scratch.url()).await.unwrap();
    database.insert_user(&user("kept")).await.unwrap();
    std::fs::remove_dir_all(&scratch.0).unwrap();
    for _ in 0..3 {
        let failed = db::ping(&database).await.unwrap_err().to_string();
        assert!(failed.contains("deleted or moved"), "{failed}");
    }
    // The directory comes back: a check restores the file from an open connection.
    std::fs::create_dir_all(&scratch.0).unwrap();
    let failures = checks_until_healthy(&database).await;
    assert!(
        failures
            .iter()
            .any(|failure| failure.contains("restored from")),
        "{failures:?}"
    );
    assert_eq!(database.adoption().await.unwrap().2, 1, "nothing lost");
}

/// Runs the health check until it passes; the errors it gave meanwhile. Bounded: the first
/// checks that get a connection restore the file.
async fn checks_until_healthy(database: &Database) -> Vec<String> {
    let mut failures = Vec::new();
    while let Err(failure) = db::ping(database).await {
        failures.push(failure.to_string());
        assert!(failures.len() < 1_000, "never healthy again: {failures:?}");
        tokio::task::yield_now().await;
    }
    failures
}

async fn an_in_memory_database_is_one_database() {
    let database = Arc::new(Database::connect("sqlite::memory:").await.unwrap());
    // Concurrent writes and reads: with a pool of several in-memory connections, each would
    // be a database of its own, most without the schema.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let database = Arc::clone(&database);
            tokio::spawn(async move {
                let new = user(&format!("user {i}"));
                database.insert_user(&new).await.unwrap();
                database.user(&new.id).await.unwrap().unwrap().name
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), format!("user {i}"));
    }
    assert_eq!(database.adoption().await.unwrap().2, 16);
    db::ping(&database).await.unwrap();
}

/// The service as it runs: its health route, gauge and alerting series follow the file.
async fn the_service_reports_a_deleted_database_and_comes_back() {
    let scratch = Scratch::new("db-service");
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: scratch.url(),
        simulate: false,
        simulate_rate: 0,
    };
    let state = personal_assistant::start(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        axum::serve(listener, personal_assistant::router(Arc::clone(&state))).into_future(),
    );
    let http = reqwest::Client::new();
    let register = |name: &str| {
        http.post(format!("http://{addr}/api/v1/users"))
            .json(&json!({ "name": name, "phone": "+15550100" }))
            .send()
    };
    let response = register("kept").await.unwrap();
    assert_eq!(response.status(), 201);
    let kept: Value = response.json().await.unwrap();
    assert_eq!(status(addr, "/health/database").await, 200);
    let failed_pings = || {
        Exposition::parse(&instrument_metric::render())
            .unwrap()
            .series("database_pings_total")
            .filter(|s| s.labels["result"] == "error")
            .map(|s| s.value)
            .sum::<f64>()
    };
    let failed_before = failed_pings();

    // Deleted while it runs: the health check finds out, fails, and restores the file from
    // an open connection; the next one passes.
    delete(&scratch.file());
    let statuses = until_healthy(addr).await;
    let failed_checks = failed_pings() - failed_before;
    println!(
        "file deleted under the service: {failed_checks} failed check(s) (database_health_status 0), \
         /health/database answered {statuses:?} until restored"
    );
    assert!(
        failed_checks >= 1.0,
        "a failed check made database_health_status 0 (checks answered {statuses:?})"
    );
    let verification = http
        .post(format!(
            "http://{addr}/api/v1/users/{}/phone/verification",
            kept["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        verification.status(),
        202,
        "the user from before is still there"
    );
    assert_eq!(register("after").await.unwrap().status(), 201);

    // The directory goes too: nothing can restore the file, every check fails.
    std::fs::remove_dir_all(&scratch.0).unwrap();
    for _ in 0..3 {
        assert_eq!(status(addr, "/health/database").await, 503);
    }
    // Writes fail too (SQLite lets at most one through per connection, into the lost file).
    for _ in 0..8 {
        let _ = register("let through or refused").await.unwrap();
    }
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(
        exposition.count("database_health_status", &[]),
        0,
        "DatabaseDown fires on this after a minute"
    );
    let refused = register("refused").await.unwrap();
    assert_eq!(refused.status(), 503);
    let error: Value = refused.json().await.unwrap();
    assert!(error["error"].is_string(), "{error}");
    assert_eq!(status(addr, "/metrics").await, 200);
    assert_eq!(status(addr, "/health/overall").await, 503);

    // The directory comes back: restored, healthy again.
    std::fs::create_dir_all(&scratch.0).unwrap();
    let statuses = until_healthy(addr).await;
    println!("directory back: /health/database answered {statuses:?}");
    assert_eq!(register("last").await.unwrap().status(), 201);
}

async fn status(addr: SocketAddr, path: &str) -> u16 {
    reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Requests `/health/database` until it answers 200 (each request runs the check or joins the
/// run in flight); the statuses seen. Bounded: a few checks suffice.
async fn until_healthy(addr: SocketAddr) -> Vec<u16> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let answer = status(addr, "/health/database").await;
        seen.push(answer);
        if answer == 200 {
            return seen;
        }
        assert!(Instant::now() < deadline, "never healthy again: {seen:?}");
    }
}
