//! The batch-job part of the loop with real servers on 127.0.0.1: the nightly SMS usage rollup
//! (`personal-assistant rollup`, the built binary) reads a database of known content and pushes
//! to a Pushgateway (Debian's `prometheus-pushgateway`), which Prometheus scrapes through
//! deploy/prometheus.yml (`honor_labels: true`) and the deploy rules, evaluated every second
//! with `for: 2s` and the threshold of `SmsUsageRollupNotSucceeded` cut from 26 hours to 15 s in
//! the test's copy. Alerts go to Alertmanager running deploy/alertmanager.yml, whose chat
//! endpoint is a receiver in this test.
//!
//! - The gateway holds exactly the job's own families (none of the service's: no
//!   `function_calls_*`, `http_*`, `process_*`), with the rollup's exact values.
//! - Prometheus stores them under the job's `job` and `instance`, not the scrape's.
//! - A failed run exits 1 with the reason, pushes its failure and leaves the last success and
//!   its rollup on the gateway.
//! - Once the last success is older than the threshold, `SmsUsageRollupNotSucceeded` fires and
//!   reaches the chat channel; after a fresh success it resolves.
//! - A push that fails exits 1 and says why, and what the rollup did.

#![allow(clippy::float_cmp)] // both sides of each comparison are computed the same way

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::Exposition;
use serde_json::{Value, json};
use support::{
    Inbox, PromApi, Scratch, Timing, alertmanager_config, copy_rules, deploy_file, eventually,
    free_addr, ready, replace_each, start_alertmanager, start_prometheus, start_pushgateway,
};

/// The job name and the grouping key's `instance` the test pushes under.
const JOB: &str = "sms_usage_rollup";
const INSTANCE: &str = "test-db";
/// The threshold of `SmsUsageRollupNotSucceeded` in the test's copy of the rules, in seconds.
const THRESHOLD_SECONDS: f64 = 15.0;
/// A day: the rollup's default window.
const DAY: i64 = 86_400;

/// The database's SMS messages: user, provider, status, cost in microdollars, age in seconds.
const MESSAGES: [(&str, &str, &str, i64, i64); 7] = [
    ("u1", "twilio", "sent", 7900, 60),
    ("u1", "twilio", "sent", 7900, 3600),
    ("u1", "vonage", "failed", 0, 120),
    ("u2", "vonage", "sent", 6500, 7200),
    ("u2", "messagebird", "rate_limited", 0, 30),
    // Older than a day: outside the window (u3 would make the users 3).
    ("u3", "messagebird", "sent", 7000, 2 * DAY),
    ("u1", "twilio", "sent", 7900, DAY + 3600),
];
const PROVIDERS: [&str; 3] = ["twilio", "vonage", "messagebird"];
const STATUSES: [&str; 3] = ["sent", "failed", "rate_limited"];

/// What a successful run pushes, and the two families the gateway adds to each group.
const AFTER_SUCCESS: [&str; 7] = [
    "push_failure_time_seconds",
    "push_time_seconds",
    "sms_usage_rollup_cost_dollars",
    "sms_usage_rollup_duration_seconds",
    "sms_usage_rollup_last_success_timestamp_seconds",
    "sms_usage_rollup_messages",
    "sms_usage_rollup_users",
];
/// What a failed run adds.
const FAILURE: &str = "sms_usage_rollup_last_failure_timestamp_seconds";

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Writes the service's database with [`MESSAGES`] into `dir`; its URL (without `mode=rwc`:
/// the job opens only a file that exists).
async fn known_database(dir: &Path) -> String {
    let path = dir.join("assistant.db");
    let db =
        personal_assistant::db::Database::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    let now = personal_assistant::db::now();
    for (index, (user, provider, status, cost, age)) in MESSAGES.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO sms_messages (id, user_id, provider, status, cost_microdollars, latency_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, 100, $6)",
        )
        .bind(format!("message-{index}"))
        .bind(user)
        .bind(provider)
        .bind(status)
        .bind(cost)
        .bind(now - age)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.pool().close().await;
    format!("sqlite://{}", path.display())
}

/// Runs `personal-assistant rollup` with `args`.
async fn rollup(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|&arg| arg.to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_personal-assistant"))
            .arg("rollup")
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// What the gateway serves for the job's group: its samples, with `job` and `instance`
/// (checked) taken off. Every pushed sample belongs to that group.
async fn group(http: &reqwest::Client, gateway: SocketAddr) -> Exposition {
    let text = http
        .get(format!("http://{gateway}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut exposition = Exposition::parse(&text)
        .unwrap_or_else(|error| panic!("the gateway's exposition: {error}\n{text}"));
    // The gateway's own metrics have no `job`; everything pushed has one.
    exposition
        .samples
        .retain(|sample| sample.labels.contains_key("job"));
    for sample in &mut exposition.samples {
        assert_eq!(
            sample.labels.remove("job").as_deref(),
            Some(JOB),
            "{sample:?}"
        );
        assert_eq!(
            sample.labels.remove("instance").as_deref(),
            Some(INSTANCE),
            "{sample:?}"
        );
    }
    exposition
}

fn families(group: &Exposition) -> BTreeSet<&str> {
    group
        .samples
        .iter()
        .map(|sample| sample.name.as_str())
        .collect()
}

/// The rollup's values are those of [`MESSAGES`] younger than a day, exactly.
fn assert_rollup(group: &Exposition) {
    let recent = || MESSAGES.iter().filter(|message| message.4 < DAY);
    for provider in PROVIDERS {
        for status in STATUSES {
            let expected = recent()
                .filter(|m| m.1 == provider && m.2 == status)
                .count();
            assert_eq!(
                group.count(
                    "sms_usage_rollup_messages",
                    &[("provider", provider), ("status", status)]
                ),
                expected as u64,
                "{provider} {status}"
            );
        }
        let cost: i64 = recent().filter(|m| m.1 == provider).map(|m| m.3).sum();
        #[allow(clippy::cast_precision_loss)]
        let dollars = cost as f64 / 1e6;
        assert_eq!(
            group.value("sms_usage_rollup_cost_dollars", &[("provider", provider)]),
            dollars,
            "{provider}"
        );
    }
    assert_eq!(group.series("sms_usage_rollup_messages").count(), 9);
    assert_eq!(group.series("sms_usage_rollup_cost_dollars").count(), 3);
    let users: BTreeSet<&str> = recent().map(|m| m.0).collect();
    assert_eq!(
        group.count("sms_usage_rollup_users", &[]),
        users.len() as u64
    );
    for family in families(group) {
        if family.starts_with("sms_usage_rollup_") {
            assert_eq!(
                group.types.get(family).map(String::as_str),
                Some("gauge"),
                "{family}: each value describes one run"
            );
        }
    }
}

/// The servers and the database of one test.
struct Loop {
    http: reqwest::Client,
    inbox: Inbox,
    gateway: SocketAddr,
    prometheus: PromApi,
    database: String,
    _servers: [support::Process; 3],
    scratch: Scratch,
}

async fn start_the_loop() -> Loop {
    let scratch = Scratch::new("rollup");
    let http = reqwest::Client::new();
    let database = known_database(scratch.path()).await;
    let inbox = Inbox::start().await;
    let gateway = start_pushgateway();
    let alertmanager_dir = scratch.dir("alertmanager");
    let alertmanager = start_alertmanager(
        &alertmanager_dir,
        &alertmanager_config(&alertmanager_dir, inbox.addr),
    );
    let prometheus_dir = scratch.dir("prometheus");
    copy_rules(
        &prometheus_dir,
        &Timing {
            hold: "2s",
            interval: Some("1s"),
            window: None,
        },
    );
    let alerts = prometheus_dir.join("rules/alerts.yml");
    let shortened = replace_each(
        "deploy/rules/alerts.yml",
        &std::fs::read_to_string(&alerts).unwrap(),
        &[("> 26 * 3600", &format!("> {THRESHOLD_SECONDS}"))],
    );
    std::fs::write(&alerts, shortened).unwrap();
    let config = replace_each(
        "deploy/prometheus.yml",
        &deploy_file("prometheus.yml"),
        &[
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
            // No service in this test: only the Pushgateway is scraped.
            ("[\"127.0.0.1:3000\"]", "[]"),
            ("\"127.0.0.1:9091\"", &format!("\"{}\"", gateway.addr)),
            ("\"127.0.0.1:9093\"", &format!("\"{}\"", alertmanager.addr)),
        ],
    );
    let prometheus = start_prometheus(&prometheus_dir, &config, &[]);
    let prom = PromApi::new(prometheus.addr);
    ready(&http, "the Pushgateway to be ready", gateway.addr).await;
    ready(&http, "Alertmanager to be ready", alertmanager.addr).await;
    eventually(
        "Prometheus to scrape the Pushgateway",
        Duration::from_secs(30),
        || async { prom.value("up{job=\"pushgateway\"}").await == Some(1.0) },
    )
    .await;
    Loop {
        http,
        inbox,
        gateway: gateway.addr,
        prometheus: prom,
        database,
        _servers: [prometheus, alertmanager, gateway],
        scratch,
    }
}

/// Runs the rollup against `database`, pushing to the loop's gateway; checks that it succeeded
/// and what the gateway then holds. The time of success pushed.
async fn successful_run(started: &Loop) -> f64 {
    let gateway = format!("http://{}", started.gateway);
    let before = unix_now();
    let run = Instant::now();
    let output = rollup(&[
        "--database-url",
        &started.database,
        "--pushgateway",
        &gateway,
        "--instance",
        INSTANCE,
    ])
    .await;
    let took = run.elapsed();
    let after = unix_now();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}: {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("sms usage rollup: 5 messages of 2 users in the last 24 h, read in ")
            && stdout.ends_with(&format!(
                "; pushed to {gateway} as job {JOB}, instance {INSTANCE}\n"
            )),
        "{stdout}"
    );

    let pushed = group(&started.http, started.gateway).await;
    assert_rollup(&pushed);
    let success = pushed.value("sms_usage_rollup_last_success_timestamp_seconds", &[]);
    assert!(
        (before..=after).contains(&success),
        "last success {success} pushed during the run [{before}, {after}]"
    );
    let duration = pushed.value("sms_usage_rollup_duration_seconds", &[]);
    assert!(
        duration > 0.0 && duration < took.as_secs_f64(),
        "{duration} s, in a run of {took:?}"
    );
    success
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollup_pushes_its_own_metrics_and_alerts_when_it_stops_succeeding() {
    let test = Instant::now();
    let started = start_the_loop().await;
    let (first_success, pushed_series) = a_success_is_scraped_with_the_jobs_labels(&started).await;
    a_failed_run_keeps_the_last_success(&started, first_success, pushed_series).await;
    let [fired_after, chatted_after] = the_old_success_alerts(&started, first_success).await;
    let resolved_after = a_fresh_success_resolves_the_alert(&started, first_success).await;
    println!(
        "rollup: {pushed_series} series in {} families pushed (the gateway's push_time_seconds \
         and push_failure_time_seconds included), none of the service's; SmsUsageRollupNotSucceeded \
         (threshold {THRESHOLD_SECONDS} s, for: 2s) fired {fired_after:.1} s after the last \
         success and reached the chat channel after {chatted_after:.1} s; resolved {:.1} s after \
         a fresh success; test {:.1} s",
        AFTER_SUCCESS.len(),
        resolved_after.as_secs_f64(),
        test.elapsed().as_secs_f64(),
    );
}

/// A success: exactly the job's own families on the gateway, with the rollup's values; in
/// Prometheus under the job's labels (`honor_labels`), not the scrape's (`job="pushgateway"`).
/// The time of success and the number of series pushed.
async fn a_success_is_scraped_with_the_jobs_labels(started: &Loop) -> (f64, usize) {
    let prom = &started.prometheus;
    let first_success = successful_run(started).await;
    let pushed = group(&started.http, started.gateway).await;
    assert_eq!(
        families(&pushed),
        AFTER_SUCCESS.into_iter().collect(),
        "the job pushes its own families only"
    );
    eventually(
        "the rollup's series in Prometheus",
        Duration::from_secs(30),
        || async {
            prom.value("sms_usage_rollup_last_success_timestamp_seconds")
                .await
                == Some(first_success)
        },
    )
    .await;
    for name in [
        "sms_usage_rollup_users",
        "sms_usage_rollup_last_success_timestamp_seconds",
    ] {
        let series = prom.query(name).await;
        let [series] = series.as_slice() else {
            panic!("one series of {name}: {series:#?}");
        };
        assert_eq!(
            series["metric"],
            json!({ "__name__": name, "job": JOB, "instance": INSTANCE }),
            "the job's own `job` and `instance`, and no exported_job"
        );
    }
    assert_eq!(prom.value("sms_usage_rollup_users").await, Some(2.0));
    assert!(
        prom.query("{job=\"pushgateway\",__name__=~\"sms_usage_rollup_.+\"}")
            .await
            .is_empty(),
        "no rollup series under the scrape's job"
    );
    assert!(
        !prom.firing("SmsUsageRollupNotSucceeded", "").await,
        "fired right after a success"
    );
    (first_success, pushed.samples.len())
}

/// A failure: exit 1 with the reason; its time is pushed, the last success and its rollup stay.
async fn a_failed_run_keeps_the_last_success(
    started: &Loop,
    first_success: f64,
    pushed_series: usize,
) {
    let gateway = format!("http://{}", started.gateway);
    let missing = format!(
        "sqlite://{}",
        started.scratch.path().join("missing.db").display()
    );
    let before = unix_now();
    let output = rollup(&[
        "--database-url",
        &missing,
        "--pushgateway",
        &gateway,
        "--instance",
        INSTANCE,
    ])
    .await;
    let after = unix_now();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: the SMS usage rollup failed: cannot open the database of --database-url `{missing}`: "
        )) && stderr.contains("its failure is pushed"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    let pushed = group(&started.http, started.gateway).await;
    let mut expected: BTreeSet<&str> = AFTER_SUCCESS.into_iter().collect();
    expected.insert(FAILURE);
    assert_eq!(families(&pushed), expected);
    assert_eq!(pushed.samples.len(), pushed_series + 1);
    let failure = pushed.value(FAILURE, &[]);
    assert!((before..=after).contains(&failure), "{failure}");
    assert_eq!(
        pushed.value("sms_usage_rollup_last_success_timestamp_seconds", &[]),
        first_success,
        "a failed run leaves the last success"
    );
    assert_rollup(&pushed);
}

/// Whether the chat channel got a message titled `[state] SmsUsageRollupNotSucceeded`.
fn chatted(inbox: &Inbox, state: &str) -> bool {
    inbox.at("/slack").iter().any(|message| {
        message["attachments"][0]["title"] == format!("[{state}] SmsUsageRollupNotSucceeded")
    })
}

/// The last success grows old: the alert fires, and reaches the chat channel (a warning, not
/// a page). Seconds after the success that it fired and that the message arrived.
async fn the_old_success_alerts(started: &Loop, first_success: f64) -> [f64; 2] {
    let (prom, inbox) = (&started.prometheus, &started.inbox);
    eventually(
        "SmsUsageRollupNotSucceeded to fire",
        Duration::from_secs(60),
        || async {
            prom.firing(
                "SmsUsageRollupNotSucceeded",
                &format!("job=\"{JOB}\",instance=\"{INSTANCE}\""),
            )
            .await
        },
    )
    .await;
    let fired_after = unix_now() - first_success;
    assert!(
        fired_after > THRESHOLD_SECONDS,
        "fired {fired_after} s after the success, under the threshold"
    );
    eventually(
        "the SmsUsageRollupNotSucceeded chat message",
        Duration::from_secs(30),
        || async { chatted(inbox, "FIRING") },
    )
    .await;
    let chatted_after = unix_now() - first_success;
    assert!(
        inbox.pages("SmsUsageRollupNotSucceeded").is_empty(),
        "a warning paged"
    );
    let messages: Vec<Value> = inbox.at("/slack");
    assert_eq!(
        messages[0]["attachments"][0]["text"],
        format!(
            "The SMS usage rollup has not succeeded for more than 26 hours ({JOB} {INSTANCE})\n"
        ),
        "{messages:#?}"
    );
    [fired_after, chatted_after]
}

/// A fresh success: the alert resolves, and the chat channel hears it. How long that took.
async fn a_fresh_success_resolves_the_alert(started: &Loop, first_success: f64) -> Duration {
    let (prom, inbox) = (&started.prometheus, &started.inbox);
    let fresh = Instant::now();
    let second_success = successful_run(started).await;
    assert!(second_success > first_success);
    eventually(
        "SmsUsageRollupNotSucceeded to resolve",
        Duration::from_secs(30),
        || async {
            prom.value("sms_usage_rollup_last_success_timestamp_seconds")
                .await
                == Some(second_success)
                && prom
                    .query("ALERTS{alertname=\"SmsUsageRollupNotSucceeded\"}")
                    .await
                    .is_empty()
        },
    )
    .await;
    let resolved_after = fresh.elapsed();
    assert!(
        unix_now() - second_success < THRESHOLD_SECONDS,
        "resolved too late to tell from a new staleness"
    );
    eventually(
        "the resolved chat message",
        Duration::from_secs(30),
        || async { chatted(inbox, "RESOLVED") },
    )
    .await;
    resolved_after
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_fails_exits_1_and_says_why() {
    let scratch = Scratch::new("rollup-push");
    let database = known_database(scratch.path()).await;
    let nobody = format!("http://{}", free_addr());

    let output = rollup(&["--database-url", &database, "--pushgateway", &nobody]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot push the rollup's metrics to --pushgateway: the Pushgateway could not be reached: "
        ) && stderr.ends_with("(the rollup itself succeeded (5 messages of 2 users))\n"),
        "{stderr}"
    );

    let output = rollup(&[
        "--database-url",
        &database,
        "--pushgateway",
        "127.0.0.1:9091",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot push the rollup's metrics to --pushgateway: invalid Pushgateway URL: `127.0.0.1:9091` has no scheme; write `http://127.0.0.1:9091`"
        ),
        "{stderr}"
    );

    // A row the rollup cannot attribute fails the rollup, naming it.
    sqlx::any::install_default_drivers();
    let url = format!("{database}?mode=rw");
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO sms_messages (id, user_id, provider, status, cost_microdollars, latency_ms, created_at) \
         VALUES ('odd', 'u9', 'carrier_pigeon', 'sent', 1, 1, $1)",
    )
    .bind(personal_assistant::db::now() - 10)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let output = rollup(&["--database-url", &database, "--pushgateway", &nobody]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "(the rollup itself failed too: sms_messages has rows with provider `carrier_pigeon` and status `sent`, which the rollup does not know"
        ),
        "{stderr}"
    );
}
