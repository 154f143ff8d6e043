//! The alerting half of the loop with real servers on 127.0.0.1: Alertmanager (Debian's
//! package) runs deploy/alertmanager.yml with its pager (`PagerDuty`) and chat (Slack) endpoints pointed at a
//! receiver in this test, and group wait and interval cut to a second.
//!
//! - An SMS outage, injected through the service's fault endpoint, reaches the pager through
//!   Prometheus (deploy/prometheus.yml and the deploy rules, evaluated every second, with 10 s
//!   windows and `for: 2s` in the test's copy) and Alertmanager; the page resolves once the fault
//!   is removed.
//! - Alerts posted straight to Alertmanager show its routing by severity, its grouping by alert
//!   name, and an instance's symptoms held back while `ServiceDown` fires for it.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    Inbox, Process, PromApi, Scratch, Timing, alertmanager_config, copy_rules, deploy_file,
    eventually, put, ready, replace_each, start_alertmanager, start_prometheus, start_service,
};

/// The service with its traffic generator, scraped by Prometheus, which sends to Alertmanager.
struct Loop {
    http: reqwest::Client,
    inbox: Inbox,
    service: SocketAddr,
    prometheus: PromApi,
    _servers: [Process; 2],
    _scratch: Scratch,
}

async fn start_the_loop() -> Loop {
    let scratch = Scratch::new("alerting");
    let http = reqwest::Client::new();
    let inbox = Inbox::start().await;
    let alertmanager_dir = scratch.dir("alertmanager");
    let alertmanager = start_alertmanager(
        &alertmanager_dir,
        &alertmanager_config(&alertmanager_dir, inbox.addr),
    );
    let (state, service) = start_service(scratch.path(), 60).await;
    // The simulated providers fail 4% of the messages by default: at start-up, when a 10 s
    // window holds a few dozen messages, that crosses 20% often enough to page now and then.
    // Rate limits (2% of the attempts) remain, so the ratio is not empty.
    state.sms_simulation.set_failure_rate(0.0);

    let prometheus_dir = scratch.dir("prometheus");
    copy_rules(
        &prometheus_dir,
        &Timing {
            hold: "2s",
            interval: Some("1s"),
            window: Some("10s"),
        },
    );
    let config = replace_each(
        "deploy/prometheus.yml",
        &deploy_file("prometheus.yml"),
        &[
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
            ("\"127.0.0.1:3000\"", &format!("\"{service}\"")),
            ("\"127.0.0.1:9093\"", &format!("\"{}\"", alertmanager.addr)),
        ],
    );
    let prometheus = start_prometheus(&prometheus_dir, &config, &[]);
    let prom = PromApi::new(prometheus.addr);
    ready(&http, "Alertmanager to be ready", alertmanager.addr).await;
    eventually(
        "the service to be scraped",
        Duration::from_secs(60),
        || async { prom.value("up{job=\"personal-assistant\"}").await == Some(1.0) },
    )
    .await;
    Loop {
        http,
        inbox,
        service,
        prometheus: prom,
        _servers: [prometheus, alertmanager],
        _scratch: scratch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_outage_pages_and_the_page_resolves_when_it_ends() {
    let started = start_the_loop().await;
    let (http, inbox, service, prom) = (
        &started.http,
        &started.inbox,
        started.service,
        &started.prometheus,
    );
    eventually(
        "traffic in the SMS failure ratio",
        Duration::from_secs(60),
        || async {
            prom.value("sms_failure_ratio")
                .await
                .is_some_and(|ratio| ratio < 0.2)
        },
    )
    .await;
    assert!(
        inbox.pages("SmsFailureRatioHigh").is_empty(),
        "paged before the fault"
    );

    let fault = Instant::now();
    put(
        http,
        service,
        "/api/v1/simulation/sms",
        json!({ "failure_rate": 1.0 }),
    )
    .await;
    eventually(
        "the SmsFailureRatioHigh page",
        Duration::from_secs(60),
        || async { !inbox.pages("SmsFailureRatioHigh").is_empty() },
    )
    .await;
    let paged_after = fault.elapsed();
    let page = inbox.pages("SmsFailureRatioHigh").remove(0);
    assert_eq!(page["event_action"], "trigger", "{page:#}");
    assert_eq!(page["routing_key"], support::ROUTING_KEY, "{page:#}");
    assert_eq!(page["payload"]["severity"], "critical", "{page:#}");
    let details = page["payload"]["custom_details"]["firing"]
        .as_str()
        .unwrap_or_default();
    assert!(
        details.contains("More than 20% of SMS messages are not sent"),
        "the page carries the alert's summary: {page:#}"
    );
    let incident = page["dedup_key"].clone();
    assert!(incident.is_string(), "{page:#}");

    let resolved = |event: &Value| event["event_action"] == "resolve";
    assert!(
        !inbox.pages("SmsFailureRatioHigh").iter().any(resolved),
        "resolved while the outage goes on"
    );
    let repaired = Instant::now();
    put(
        http,
        service,
        "/api/v1/simulation/sms",
        json!({ "failure_rate": 0.0 }),
    )
    .await;
    eventually(
        "the SmsFailureRatioHigh page to resolve",
        Duration::from_secs(60),
        || async { inbox.pages("SmsFailureRatioHigh").iter().any(resolved) },
    )
    .await;
    let resolved_after = repaired.elapsed();
    let pages = inbox.pages("SmsFailureRatioHigh");
    let resolution = pages.iter().find(|event| resolved(event)).unwrap();
    assert_eq!(
        resolution["dedup_key"], incident,
        "the resolution closes the incident the page opened: {pages:#?}"
    );
    assert!(
        pages.iter().all(|event| event["dedup_key"] == incident),
        "one incident for one outage: {pages:#?}"
    );
    println!(
        "SMS outage: paged {:.1} s after the fault, resolved {:.1} s after the repair ({} PagerDuty events)",
        paged_after.as_secs_f64(),
        resolved_after.as_secs_f64(),
        pages.len()
    );
}

/// An alert as Prometheus would post it for an instance of the fleet.
fn alert(name: &str, severity: &str, instance: &str) -> Value {
    json!({
        "labels": {
            "alertname": name,
            "severity": severity,
            "job": "personal-assistant",
            "instance": instance,
        },
        "annotations": { "summary": format!("{name} on {instance}") },
    })
}

const DOWN: &str = "10.0.1.11:3000";
const UP: &str = "10.0.2.12:3000";
const ALSO_UP: &str = "10.0.3.13:3000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_routes_by_severity_groups_and_holds_back_symptoms() {
    let scratch = Scratch::new("routing");
    let http = reqwest::Client::new();
    let inbox = Inbox::start().await;
    let dir = scratch.dir("alertmanager");
    let alertmanager = start_alertmanager(&dir, &alertmanager_config(&dir, inbox.addr));
    ready(&http, "Alertmanager to be ready", alertmanager.addr).await;
    let api = format!("http://{}/api/v2/alerts", alertmanager.addr);
    let post = |alerts: Value| {
        let request = http.post(&api).json(&alerts);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
        }
    };

    // The cause first, then its symptoms and the same alerts of healthy instances.
    post(json!([alert("ServiceDown", "critical", DOWN)])).await;
    eventually("the ServiceDown page", Duration::from_secs(30), || async {
        !inbox.pages("ServiceDown").is_empty()
    })
    .await;
    post(json!([
        alert("DatabaseDown", "critical", DOWN),
        alert("DatabaseDown", "critical", UP),
        alert("DatabaseDown", "critical", ALSO_UP),
        alert("SmsQueueBacklog", "warning", DOWN),
        alert("SmsQueueBacklog", "warning", UP),
    ]))
    .await;

    // Critical pages: one page for the DatabaseDown group, naming both healthy instances and
    // not the one that is down.
    eventually("the DatabaseDown page", Duration::from_secs(30), || async {
        !inbox.pages("DatabaseDown").is_empty()
    })
    .await;
    let pages = inbox.pages("DatabaseDown");
    assert_eq!(pages.len(), 1, "one page for the group: {pages:#?}");
    let details = &pages[0]["payload"]["custom_details"];
    assert_eq!(details["num_firing"], "2", "{pages:#?}");
    let firing = details["firing"].as_str().unwrap_or_default();
    assert!(
        firing.contains(UP) && firing.contains(ALSO_UP) && !firing.contains(DOWN),
        "the page lists the healthy instances only: {firing}"
    );

    // Warnings go to the chat channel, never to the pager, with the same inhibition.
    eventually(
        "the SmsQueueBacklog chat message",
        Duration::from_secs(30),
        || async { !inbox.at("/slack").is_empty() },
    )
    .await;
    assert!(inbox.pages("SmsQueueBacklog").is_empty(), "a warning paged");
    let messages = inbox.at("/slack");
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["channel"], "#personal-assistant-alerts");
    let attachment = &messages[0]["attachments"][0];
    assert_eq!(
        attachment["title"], "[FIRING] SmsQueueBacklog",
        "{messages:#?}"
    );
    assert_eq!(
        attachment["text"],
        format!("SmsQueueBacklog on {UP}\n"),
        "{messages:#?}"
    );

    // Alertmanager's own view: the down instance's symptoms are suppressed by ServiceDown.
    let alerts: Vec<Value> = http.get(&api).send().await.unwrap().json().await.unwrap();
    let cause = alerts
        .iter()
        .find(|alert| alert["labels"]["alertname"] == "ServiceDown")
        .unwrap();
    for alert in &alerts {
        let labels = &alert["labels"];
        let inhibited_by = &alert["status"]["inhibitedBy"];
        if labels["alertname"] != "ServiceDown" && labels["instance"] == DOWN {
            assert_eq!(alert["status"]["state"], "suppressed", "{alert:#}");
            assert_eq!(*inhibited_by, json!([cause["fingerprint"]]), "{alert:#}");
        } else {
            assert_eq!(alert["status"]["state"], "active", "{alert:#}");
        }
    }
    assert_eq!(alerts.len(), 6);
}
