//! What `instrument_metric::export` writes stays valid YAML, PromQL and alert templates whatever
//! text reaches it: objectives named with `#`, `: `, quotes, backslashes, line breaks, `{{ }}`
//! template actions and non-ASCII characters (names the declarations now refuse, but a catalog's
//! fields are public), a regenerating command with line breaks, and a rules file whose name has
//! `#`, `: ` and `{{`. The rules pass `promtool check rules` with every rule there, and the
//! generated unit tests pass `promtool test rules`: each alert fires with the objective's name
//! as its label and in its summary exactly as written, so nothing in it was cut, folded or run
//! as a template.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use instrument_metric::axum::HttpMetricsLayer;
use instrument_metric::export::Export;
use instrument_metric::{Catalog, Objective, instrument_metric};
use proptest::prelude::*;

/// Places an order.
#[instrument_metric(name = "orders_place", objective(success = 99.9, latency = (0.25, 99.0)))]
fn place() {}

/// Ships an order: its objective covers one function of two, selected by a `function` label
/// given in code with characters that mean something to YAML, PromQL, regular expressions and
/// templates.
#[instrument_metric(
    name = "orders_ship",
    help = "Ships orders.",
    function = "ship #1: {{ x }} \"q\" \\ (a|b)* é\n",
    objective(name = "orders_ship_fast", success = 99.0, latency = (0.25, 99.0))
)]
fn ship() {}

/// Ships an order slowly.
#[instrument_metric(name = "orders_ship", help = "Ships orders.")]
fn ship_slowly() {}

/// The catalog of this binary: two functions' objectives and an HTTP layer's, each with a
/// success and a latency indicator.
fn base() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        place();
        ship();
        ship_slowly();
        HttpMetricsLayer::builder()
            .prefix("web")
            .status_classes()
            .objective(Objective::new("web").success(99.5).latency(0.5, 99.0))
            .build()
            .unwrap();
        instrument_metric::check().unwrap();
        let catalog = instrument_metric::catalog();
        assert_eq!(catalog.objectives.len(), 3);
        assert!(
            catalog.objectives[1].selector.contains("function=~"),
            "{:?}",
            catalog.objectives[1]
        );
        catalog
    })
}

/// Characters that mean something to YAML, PromQL, Go templates or a line reader.
const HOSTILE: &[char] = &[
    'a', 'Z', '0', '_', ' ', '#', ':', '-', '{', '}', '$', '.', '"', '\'', '\\', '\n', '\r', '\t',
    '|', '>', '&', '*', '!', '%', '@', '`', '[', ']', ',', '?', '=', '~', 'é', '\u{0}', '\u{7f}',
    '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}', '😀',
];
// Not U+FFFD: Prometheus evaluates a rule by printing its expression and parsing it again,
// and prints U+FFFD in a matcher as it is, which its lexer then takes for an invalid byte
// (`parse error: invalid UTF-8 rune`) however the rules file escapes it.

/// Names that broke the files before they were quoted and escaped, several traps in each.
const KNOWN: &[&str] = &[
    "checkout #1",
    "region: eu",
    "{{ .Labels.job }} {{ $value }}",
    "'single' \"double\" back\\slash",
    "line\nbreak\ttab\r",
    "- *alias &anchor }} {{ 50% é\u{2028}",
];

fn promtool(arguments: &[&str], dir: &Path) -> String {
    let output = Command::new(integration_tests::promtool())
        .args(arguments)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {arguments:?}:\n{text}");
    text
}

/// Writes the rules and rule tests of each objective named in `names` (a copy of one of the
/// catalog's three objectives, in turn) into files of its own, so that each test evaluates only its
/// objective's rules, and runs promtool once over all of them.
fn check(case: &str, names: &BTreeSet<String>, command: &str) {
    let base = base();
    let dir = std::env::temp_dir().join(format!("export-hostile-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rule_files = Vec::new();
    let mut test_files = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let mut objective = base.objectives[index % base.objectives.len()].clone();
        name.clone_into(&mut objective.name);
        let mut catalog = base.clone();
        catalog.objectives = vec![objective];
        let export = Export::new(&catalog, command);
        let rules = format!("objectives #{index}: {{{{ x }}}} 'é'.yml");
        let tests = format!("tests-{index}.yml");
        if index == 0 {
            std::fs::write(dir.join("functions.yml"), export.function_rules()).unwrap();
            rule_files.push("functions.yml".to_owned());
        }
        std::fs::write(dir.join(&rules), export.objective_rules()).unwrap();
        std::fs::write(dir.join(&tests), export.objective_rule_tests(&rules)).unwrap();
        rule_files.push(rules);
        test_files.push(tests);
    }
    let checked = promtool(
        &[
            &["check", "rules"][..],
            &rule_files.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
        &dir,
    );
    // Two indicators each: 6 ratios, a budget and 3 alerts.
    assert_eq!(
        checked.matches("SUCCESS: 20 rules found").count(),
        names.len(),
        "{checked}"
    );
    let tested = promtool(
        &[
            &["test", "rules"][..],
            &test_files.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
        &dir,
    );
    assert_eq!(tested.matches("SUCCESS").count(), names.len(), "{tested}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn known_hostile_names_pass_promtool() {
    let names = KNOWN.iter().map(|name| (*name).to_owned()).collect();
    check("known", &names, "catalog\nobjectives: [x] # {{ y }}");
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HOSTILE), 1..12)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    // Each name costs `promtool test rules` about a second: few cases, few names each.
    #![proptest_config(ProptestConfig {
        cases: 2,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_names_pass_promtool(
        names in prop::collection::btree_set(hostile_text(), 3),
        command in hostile_text(),
    ) {
        let case = format!("random-{}", names.len() ^ command.len());
        check(&case, &names, &command);
    }
}
