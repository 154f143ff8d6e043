//! The deploy files as the picked server's promtool reads them (Debian's 2.42 or the pinned
//! 3.x, as `TEST_PROMETHEUS` says): both Prometheus configurations (with every rule file they
//! load), the rule files and the rules' unit tests. deploy/check.sh runs the same checks, and
//! Alertmanager's and Grafana's, with the promtool on `PATH`.

mod support;

use std::process::Command;

use support::{deploy_dir, prometheus_server};

/// Runs the picked promtool in the deploy directory (the relative paths of the files assume
/// it); its output, which must report success.
fn promtool(arguments: &[&str]) -> String {
    let server = prometheus_server();
    let output = Command::new(&server.promtool)
        .args(arguments)
        .current_dir(deploy_dir())
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", server.promtool.display()));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "promtool {} {arguments:?}:\n{text}",
        server.version
    );
    text
}

/// The deploy directory's files under `relative` ending in `.yml`, relative to it, sorted.
fn yml_files(relative: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(deploy_dir().join(relative))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .map(|path| format!("{relative}/{}", path.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

#[test]
fn both_configurations_and_their_rule_files_pass_promtool() {
    for config in ["prometheus.yml", "prometheus-fleet.yml"] {
        let text = promtool(&["check", "config", config]);
        assert!(text.contains("4 rule files found"), "{config}:\n{text}");
    }
}

#[test]
fn the_rule_files_pass_promtool() {
    let files = yml_files("rules");
    assert_eq!(files.len(), 4, "{files:?}");
    let mut arguments = vec!["check", "rules"];
    arguments.extend(files.iter().map(String::as_str));
    promtool(&arguments);
}

#[test]
fn the_rules_unit_tests_pass_promtool() {
    let files = yml_files("rules/tests");
    assert!(files.len() >= 4, "{files:?}");
    let mut arguments = vec!["test", "rules"];
    arguments.extend(files.iter().map(String::as_str));
    let text = promtool(&arguments);
    assert_eq!(
        text.matches("SUCCESS").count(),
        files.len(),
        "one success per test file:\n{text}"
    );
}
