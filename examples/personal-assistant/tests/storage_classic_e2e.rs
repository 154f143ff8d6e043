//! The deploy rules and the dashboard against a Prometheus that stores classic histograms
//! (Debian's 2.42 as it is): see `support::storage`.

mod support;

use support::storage::{Storage, every_rule_and_panel_answers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_and_panel_answers_with_classic_histograms() {
    every_rule_and_panel_answers(Storage::Classic).await;
}
