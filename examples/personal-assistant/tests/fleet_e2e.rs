//! A fleet with real servers on 127.0.0.1: three processes of the service (each its own port,
//! SQLite file and traffic generator, labelled `env` and `replica` with `--constant-label`),
//! found through file-based discovery by one Prometheus running deploy/prometheus-fleet.yml
//! (scrape and evaluation every second, `for: 2s` in the test's copy of the rules), which
//! remote-writes to a second Prometheus started with `--web.enable-remote-write-receiver`,
//! standing in for Thanos Receive or Mimir, and sends its alerts to Alertmanager.
//!
//! Once the traffic stops and remote write has caught up, the global view counts for each
//! instance exactly the registrations that instance's own generator reports; an instance that
//! dies is `up == 0`, fires `ServiceDown` and pages.
//!
//! The same with a Prometheus 3 agent (`--agent`, the pinned Prometheus 3 whatever
//! `TEST_PROMETHEUS` says) scraping the fleet and remote-writing to a Prometheus 3 receiver: an
//! agent refuses `rule_files` and `alerting`, so those sections of prometheus-fleet.yml move to
//! the receiver, which evaluates the rules on what the agent sends and alerts.

mod support;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use personal_assistant::simulate::ReportSnapshot;
use serde_json::{Value, json};
use support::{
    Inbox, Process, PromApi, Scratch, Timing, alertmanager_config, copy_rules, deploy_file,
    eventually, put, ready, replace_each, start_alertmanager, start_prometheus, start_prometheus3,
    take_sections,
};

const REPLICAS: [&str; 3] = ["a", "b", "c"];

/// One fleet at a time: each has three services, two Prometheus and an Alertmanager.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the Prometheus that scrapes the fleet runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// prometheus-fleet.yml as it is, on the server `TEST_PROMETHEUS` picks: it scrapes,
    /// evaluates the rules, alerts and remote-writes to a receiver of the same version.
    Server,
    /// A Prometheus 3 agent running prometheus-fleet.yml without `rule_files` and `alerting`,
    /// which go to its Prometheus 3 receiver.
    Agent,
}

/// Starts the service's binary with its traffic generator; it listens on a port of its choosing,
/// which it prints first.
fn start_instance(scratch: &Scratch, replica: &str) -> Process {
    let database = scratch.path().join(format!("assistant-{replica}.db"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_personal-assistant"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--simulate",
            "--simulate-rate",
            "20",
        ])
        .arg(format!(
            "--database-url=sqlite://{}?mode=rwc",
            database.display()
        ))
        .args(["--constant-label", "env=test"])
        .arg(format!("--constant-label=replica={replica}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read every line, so that the process never blocks on a full pipe; pass on the first.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (first_line, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = stdout.lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = first_line.send(line);
        }
        lines.for_each(drop);
    });
    let line = tokio::task::block_in_place(|| receive.recv_timeout(Duration::from_secs(60)))
        .unwrap_or_else(|_| panic!("replica {replica} did not start"));
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("replica {replica} printed `{line}`, not its address"));
    Process::new(child, addr)
}

async fn report(http: &reqwest::Client, instance: SocketAddr) -> ReportSnapshot {
    http.get(format!("http://{instance}/api/v1/simulation/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The servers of the test, stopped when dropped.
struct Fleet {
    http: reqwest::Client,
    inbox: Inbox,
    alertmanager: Process,
    instances: Vec<Process>,
    /// The Prometheus that scrapes the fleet; none for an agent, which answers no query.
    local: Option<PromApi>,
    /// The one it remote-writes to.
    global: PromApi,
    /// The one that evaluates the rules and alerts: `local`, or `global` under an agent.
    rules: PromApi,
    _servers: Vec<Process>,
    _scratch: Scratch,
}

impl Fleet {
    async fn start(mode: Mode) -> Fleet {
        let scratch = Scratch::new(match mode {
            Mode::Server => "fleet",
            Mode::Agent => "fleet-agent",
        });
        let inbox = Inbox::start().await;
        let alertmanager_dir = scratch.dir("alertmanager");
        let alertmanager = start_alertmanager(
            &alertmanager_dir,
            &alertmanager_config(&alertmanager_dir, inbox.addr),
        );
        let instances: Vec<Process> = REPLICAS
            .iter()
            .map(|replica| start_instance(&scratch, replica))
            .collect();

        // deploy/prometheus-fleet.yml reads targets/*.json and rules/*.yml beside itself.
        let timing = Timing {
            hold: "2s",
            interval: Some("1s"),
            window: None,
        };
        let dir = scratch.dir("fleet");
        let targets: Vec<String> = instances.iter().map(|i| i.addr.to_string()).collect();
        std::fs::create_dir_all(dir.join("targets")).unwrap();
        std::fs::write(
            dir.join("targets/test.json"),
            json!([{ "targets": targets, "labels": { "zone": "loopback" } }]).to_string(),
        )
        .unwrap();
        let config = replace_each(
            "deploy/prometheus-fleet.yml",
            &deploy_file("prometheus-fleet.yml"),
            &[
                ("scrape_interval: 15s", "scrape_interval: 1s"),
                ("evaluation_interval: 15s", "evaluation_interval: 1s"),
                ("batch_send_deadline: 5s", "batch_send_deadline: 1s"),
                (
                    "- alertmanager-1.internal:9093\n            - alertmanager-2.internal:9093",
                    &format!("- {}", alertmanager.addr),
                ),
            ],
        );
        let receiver = ["--web.enable-remote-write-receiver"];
        let global_dir = scratch.dir("global");
        let (global, config) = match mode {
            Mode::Server => {
                copy_rules(&dir, &timing);
                let global =
                    start_prometheus(&global_dir, "global:\n  scrape_interval: 1m\n", &receiver);
                (global, config)
            }
            Mode::Agent => {
                copy_rules(&global_dir, &timing);
                let (agent, moved) = take_sections(&config, &["rule_files", "alerting"]);
                let global_config =
                    format!("global:\n  scrape_interval: 1m\n  evaluation_interval: 1s\n{moved}");
                (
                    start_prometheus3(&global_dir, &global_config, &receiver),
                    agent,
                )
            }
        };
        let config = replace_each(
            "deploy/prometheus-fleet.yml",
            &config,
            &[(
                "http://mimir.internal:9009/api/v1/push",
                &format!("http://{}/api/v1/write", global.addr),
            )],
        );
        let local = match mode {
            Mode::Server => start_prometheus(&dir, &config, &[]),
            Mode::Agent => start_prometheus3(&dir, &config, &["--agent"]),
        };
        let fleet = Fleet {
            http: reqwest::Client::new(),
            inbox,
            instances,
            local: (mode == Mode::Server).then(|| PromApi::new(local.addr)),
            global: PromApi::new(global.addr),
            rules: PromApi::new(match mode {
                Mode::Server => local.addr,
                Mode::Agent => global.addr,
            }),
            alertmanager,
            _servers: vec![local, global],
            _scratch: scratch,
        };
        ready(
            &fleet.http,
            "Alertmanager to be ready",
            fleet.alertmanager.addr,
        )
        .await;
        fleet
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_view_matches_every_instance_and_a_dead_one_pages() {
    run(Mode::Server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_prometheus_3_agent_the_receiver_matches_every_instance_and_a_dead_one_pages() {
    run(Mode::Agent).await;
}

async fn run(mode: Mode) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let mut fleet = Fleet::start(mode).await;
    every_instance_is_seen_with_its_labels(&fleet).await;
    let up_after = started.elapsed();
    let reports = stop_the_traffic(&fleet).await;
    let stopped = Instant::now();
    the_global_view_matches_each_report(&fleet, &reports).await;
    let flushed_after = stopped.elapsed();
    let [down_after, fired_after, paged_after] = a_dead_instance_pages(&mut fleet).await;

    let registrations: Vec<u64> = reports.iter().map(|r| r.registrations).collect();
    println!(
        "fleet ({mode:?}): 3 instances up in the global view {:.1} s after start; registrations \
         {registrations:?} equal in the global view {:.1} s after the traffic stopped; a killed \
         instance was down in every view after {:.1} s, ServiceDown fired after {:.1} s and \
         paged after {:.1} s",
        up_after.as_secs_f64(),
        flushed_after.as_secs_f64(),
        down_after.as_secs_f64(),
        fired_after.as_secs_f64(),
        paged_after.as_secs_f64(),
    );
}

/// Every instance is discovered, scraped and seen in the global view, with its own labels, the
/// scrape's and the fleet Prometheus' external ones; those stay off the local TSDB.
async fn every_instance_is_seen_with_its_labels(fleet: &Fleet) {
    eventually(
        "the three instances up in the global view",
        Duration::from_secs(60),
        || async {
            let up = fleet
                .global
                .query("up{job=\"personal-assistant\"} == 1")
                .await;
            up.len() == REPLICAS.len()
        },
    )
    .await;
    for (instance, replica) in fleet.instances.iter().zip(REPLICAS) {
        let promql = format!("user_registrations_total{{instance=\"{}\"}}", instance.addr);
        let series = fleet.global.query(&promql).await;
        let [series] = series.as_slice() else {
            panic!("one series per instance in the global view: {series:#?}");
        };
        let expected = json!({
            "__name__": "user_registrations_total",
            "cluster": "eu-west-1",
            "prometheus_replica": "prometheus-a",
            "env": "test",
            "replica": replica,
            "instance": instance.addr.to_string(),
            "job": "personal-assistant",
            "sd_file": "test.json",
            "zone": "loopback",
        });
        assert_eq!(series["metric"], expected, "the global view's labels");
        let Some(local) = &fleet.local else { continue };
        let local = local.query(&promql).await;
        assert!(
            local
                .iter()
                .all(|series| series["metric"].get("cluster").is_none()),
            "external labels stay off the local TSDB: {local:#?}"
        );
    }
}

/// Lets every instance register users, then stops every generator and waits for it to be idle;
/// their final reports.
async fn stop_the_traffic(fleet: &Fleet) -> Vec<ReportSnapshot> {
    for instance in &fleet.instances {
        eventually(
            "registrations on every instance",
            Duration::from_secs(60),
            || async { report(&fleet.http, instance.addr).await.registrations >= 5 },
        )
        .await;
    }
    let mut reports = Vec::new();
    for instance in &fleet.instances {
        eventually(
            "the traffic generator to stop",
            Duration::from_secs(30),
            || async {
                let answer = put(
                    &fleet.http,
                    instance.addr,
                    "/api/v1/simulation/traffic",
                    json!({ "running": false }),
                )
                .await;
                answer["in_flight"] == 0
            },
        )
        .await;
        reports.push(report(&fleet.http, instance.addr).await);
    }
    reports
}

/// Once remote write has flushed, the global view counts for each instance exactly what its
/// generator reports.
async fn the_global_view_matches_each_report(fleet: &Fleet, reports: &[ReportSnapshot]) {
    for (instance, report) in fleet.instances.iter().zip(reports) {
        let checks = [
            ("user_registrations_total", "", report.registrations),
            (
                "phone_verifications_total",
                "result=\"verified\",",
                report.verified,
            ),
        ];
        for (metric, matchers, expected) in checks {
            let promql = format!("sum({metric}{{{matchers}instance=\"{}\"}})", instance.addr);
            #[allow(clippy::cast_precision_loss)]
            let expected = expected as f64;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let seen = fleet.global.value(&promql).await;
                if seen == Some(expected) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{promql}: the global view has {seen:?}, the instance reports {expected}"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// One instance dies: it is down in every view, `ServiceDown` fires for it and pages, with the
/// fleet's `cluster` and without the label that tells the two members of a Prometheus pair
/// apart (or the pair would page twice). How long each step took after the kill.
async fn a_dead_instance_pages(fleet: &mut Fleet) -> [Duration; 3] {
    let dead = fleet.instances.pop().unwrap();
    let dead_addr = dead.addr;
    drop(dead);
    let died = Instant::now();
    let matcher = format!("instance=\"{dead_addr}\"");
    eventually(
        "the dead instance to be down",
        Duration::from_secs(30),
        || async {
            let up = format!("up{{{matcher}}}");
            let local_down = match &fleet.local {
                Some(local) => local.value(&up).await == Some(0.0),
                None => true,
            };
            local_down && fleet.global.value(&up).await == Some(0.0)
        },
    )
    .await;
    let down_after = died.elapsed();
    eventually("ServiceDown to fire", Duration::from_secs(30), || async {
        fleet.rules.firing("ServiceDown", &matcher).await
    })
    .await;
    let fired_after = died.elapsed();
    eventually("the ServiceDown page", Duration::from_secs(30), || async {
        !fleet.inbox.pages("ServiceDown").is_empty()
    })
    .await;
    let paged_after = died.elapsed();
    for instance in &fleet.instances {
        let up = format!("up{{instance=\"{}\"}}", instance.addr);
        assert_eq!(
            fleet.rules.value(&up).await,
            Some(1.0),
            "the others stay up"
        );
    }
    let alerts: Vec<Value> = fleet
        .http
        .get(format!("http://{}/api/v2/alerts", fleet.alertmanager.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let service_down: Vec<&Value> = alerts
        .iter()
        .filter(|alert| alert["labels"]["alertname"] == "ServiceDown")
        .collect();
    let [alert] = service_down.as_slice() else {
        panic!("one ServiceDown alert: {service_down:#?}");
    };
    assert_eq!(alert["labels"]["instance"], dead_addr.to_string());
    assert_eq!(alert["labels"]["cluster"], "eu-west-1");
    assert!(
        alert["labels"].get("prometheus_replica").is_none(),
        "{alert:#}"
    );
    [down_after, fired_after, paged_after]
}
