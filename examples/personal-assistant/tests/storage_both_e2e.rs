//! The deploy rules and the dashboard against a Prometheus 3 storing histograms as
//! `Storage::Both` says: see `support::storage`.

mod support;

use support::storage::{Storage, every_rule_and_panel_answers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_and_panel_answers_on_prometheus3() {
    every_rule_and_panel_answers(Storage::Both).await;
}
