//! The service binary: a bad `--addr`, a port in use or a bad `--database-url` stops it at
//! start-up with a one-line error that names the input and the fix (a password in the URL is
//! not repeated); `--database-url sqlite::memory:` runs.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_personal-assistant");

/// Runs the binary with `args` to its end, in a scratch directory (so that nothing is created
/// beside the sources); its exit code and standard error.
fn run(args: &[&str]) -> (Option<i32>, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch = std::env::temp_dir().join(format!("pa-startup-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let output = Command::new(BINARY)
        .args(args)
        .current_dir(&scratch)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_mentions(stderr: &str, parts: &[&str]) {
    for part in parts {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Caused by"),
        "one plain error line: {stderr}"
    );
}

#[test]
fn a_bad_address_is_named_with_the_form_to_use() {
    let (code, stderr) = run(&["--addr", "3000", "--database-url", "sqlite::memory:"]);
    assert_eq!(code, Some(2));
    assert_mentions(
        &stderr,
        &["--addr", "`3000`", "HOST:PORT", "127.0.0.1:3000"],
    );
}

#[test]
fn a_port_in_use_is_named_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stderr) = run(&["--addr", &addr, "--database-url", "sqlite::memory:"]);
    assert_eq!(code, Some(1));
    assert_mentions(
        &stderr,
        &[&format!("--addr {addr}"), "in use", "choose another port"],
    );
}

#[test]
fn a_bad_database_url_is_named_with_the_forms_to_use() {
    let (code, stderr) = run(&["--addr", "127.0.0.1:0", "--database-url", "nosuch://x"]);
    assert_eq!(code, Some(1));
    assert_mentions(
        &stderr,
        &[
            "--database-url `nosuch://x`",
            "sqlite://FILE?mode=rwc",
            "sqlite::memory:",
        ],
    );

    let (code, stderr) = run(&["--addr", "127.0.0.1:0", "--database-url", "assistant.db"]);
    assert_eq!(code, Some(1));
    assert_mentions(&stderr, &["--database-url `assistant.db`", "sqlite://FILE"]);

    let missing = "sqlite:///no/such/directory/assistant.db?mode=rwc";
    let (code, stderr) = run(&["--addr", "127.0.0.1:0", "--database-url", missing]);
    assert_eq!(code, Some(1));
    assert_mentions(
        &stderr,
        &[&format!("--database-url `{missing}`"), "directory exists"],
    );

    let (code, stderr) = run(&[
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        "sqlite://not-created.db",
    ]);
    assert_eq!(code, Some(1));
    assert_mentions(&stderr, &["`?mode=rwc`"]);
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let url = "postgres://assistant:hunter2@127.0.0.1:1/assistant";
    let (code, stderr) = run(&["--addr", "127.0.0.1:0", "--database-url", url]);
    assert_eq!(code, Some(1));
    assert_mentions(
        &stderr,
        &[
            "--database-url `postgres://assistant:***@127.0.0.1:1/assistant`",
            "reachable",
        ],
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// Kills the service when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_serves_concurrent_requests() {
    let mut child = Command::new(BINARY)
        .args(["--addr", "127.0.0.1:0", "--database-url", "sqlite::memory:"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (lines, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let line = listening
        .recv_timeout(Duration::from_secs(30))
        .expect("the service says where it listens");
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));

    // Concurrent requests: several pool connections would each see a database of their own.
    let http = reqwest::Client::new();
    let registrations: Vec<_> = (0..16)
        .map(|i| {
            let http = http.clone();
            tokio::spawn(async move {
                let response = http
                    .post(format!("http://{addr}/api/v1/users"))
                    .json(&json!({ "name": format!("user {i}"), "phone": "+15550100" }))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    for registration in registrations {
        let (status, user) = registration.await.unwrap();
        assert_eq!(status, 201, "{user}");
        let verification = http
            .post(format!(
                "http://{addr}/api/v1/users/{}/phone/verification",
                user["id"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(verification.status(), 202, "the user is found again");
    }
    let health = reqwest::get(format!("http://{addr}/health/database"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(running);
}
