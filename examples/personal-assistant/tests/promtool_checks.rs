//! The deploy files as the picked server's promtool reads them (Debian's 2.42 or the pinned
//! 3.x, as `TEST_PROMETHEUS` says): both Prometheus configurations (with every rule file they
//! load), prometheus-fleet.yml as an agent's configuration once its rules and alerting go to the
//! receiver, the rule files and the rules' unit tests. deploy/check.sh runs the same checks, and
//! Alertmanager's and Grafana's, with the promtool on `PATH`.

mod support;

use std::process::Command;

use support::{Scratch, deploy_dir, deploy_file, prometheus_server, take_sections};

/// Runs the picked promtool in the deploy directory (the relative paths of the files assume
/// it); its output, which must report success.
fn promtool(arguments: &[&str]) -> String {
    let (passed, text) = promtool_in(&deploy_dir(), arguments);
    assert!(
        passed,
        "promtool {} {arguments:?}:\n{text}",
        prometheus_server().version
    );
    text
}

/// Runs the picked promtool in `dir`: whether it reports success, and its output.
fn promtool_in(dir: &std::path::Path, arguments: &[&str]) -> (bool, String) {
    let server = prometheus_server();
    let output = Command::new(&server.promtool)
        .args(arguments)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", server.promtool.display()));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
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

/// An agent refuses prometheus-fleet.yml's `rule_files` and `alerting`; without them (they go to
/// the receiver, as in `fleet_e2e`) it is an agent's configuration.
#[test]
fn the_fleet_configuration_without_rules_and_alerting_is_an_agents() {
    let scratch = Scratch::new("promtool-agent");
    let fleet = deploy_file("prometheus-fleet.yml");
    std::fs::write(scratch.path().join("fleet.yml"), &fleet).unwrap();
    let (passed, text) = promtool_in(scratch.path(), &["check", "config", "--agent", "fleet.yml"]);
    assert!(
        !passed && text.contains("not allowed in agent mode"),
        "an agent takes rule_files and alerting:\n{text}"
    );
    let (agent, _) = take_sections(&fleet, &["rule_files", "alerting"]);
    std::fs::write(scratch.path().join("agent.yml"), agent).unwrap();
    let (passed, text) = promtool_in(scratch.path(), &["check", "config", "--agent", "agent.yml"]);
    assert!(passed, "promtool check config --agent:\n{text}");
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
