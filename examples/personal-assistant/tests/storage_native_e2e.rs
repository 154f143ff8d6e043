//! The deploy rules and the dashboard against a Prometheus that stores native histograms
//! (Debian's 2.42 with `--enable-feature=native-histograms`, which keeps no classic series of a
//! native histogram): see `support::storage`.

mod support;

use support::storage::{Storage, every_rule_and_panel_answers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_and_panel_answers_with_native_histograms() {
    every_rule_and_panel_answers(Storage::Native).await;
}
