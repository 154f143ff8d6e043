//! Objectives' names.

/// What is wrong with an objective's name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ObjectiveNameProblem {
    Empty,
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*`, the characters of a family stem.
    NotAStem,
}

/// Why `name` cannot name an objective, if it cannot: it becomes the `objective` label of
/// generated rules and text in alerts, so it is written like a family stem, ASCII letters,
/// digits and `_`, not starting with a digit, and reads the same in PromQL, YAML and alert
/// templates. The macros check `objective(name = "...")` with it, the runtime the objectives
/// given to the HTTP layer.
#[must_use]
pub fn objective_name_problem(name: &str) -> Option<ObjectiveNameProblem> {
    let Some(first) = name.chars().next() else {
        return Some(ObjectiveNameProblem::Empty);
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if (first.is_ascii_alphabetic() || first == '_') && name.chars().all(valid) {
        return None;
    }
    Some(ObjectiveNameProblem::NotAStem)
}

/// Checks an objective's name (`objective(name = "...")`) with [`objective_name_problem`],
/// with the macros' messages, which suggest a name.
pub fn objective_name(name: &str) -> Result<(), String> {
    match objective_name_problem(name) {
        None => Ok(()),
        Some(ObjectiveNameProblem::Empty) => Err(
            "an objective's name must not be empty; leave `name` out to use the family's"
                .to_owned(),
        ),
        Some(ObjectiveNameProblem::NotAStem) => {
            let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let words: Vec<&str> = name
                .split(|c: char| !valid(c))
                .filter(|word| !word.is_empty())
                .collect();
            let mut fixed = words.join("_");
            if fixed.is_empty() {
                "checkout".clone_into(&mut fixed);
            } else if !fixed.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                fixed.insert(0, '_');
            }
            Err(format!(
                "an objective's name is written like a family stem, in ASCII letters, digits and `_`, not starting with a digit (it becomes a label value in rules and text in alerts); try `{fixed}`"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_names() {
        assert!(objective_name("checkout").is_ok());
        assert!(objective_name("_api2").is_ok());
        assert!(
            objective_name("")
                .unwrap_err()
                .contains("must not be empty")
        );
        assert!(
            objective_name("checkout #1")
                .unwrap_err()
                .contains("try `checkout_1`")
        );
        assert!(objective_name("1st").unwrap_err().contains("try `_1st`"));
        assert!(objective_name("{{ .Labels.job }}").is_err());
        assert!(objective_name("region: eu").is_err());
        assert!(objective_name("a:b").is_err());
        assert!(objective_name("café").is_err());
    }

    #[test]
    fn objective_name_problems() {
        for (name, expected) in [
            ("checkout", None),
            ("_api2", None),
            ("", Some(ObjectiveNameProblem::Empty)),
            ("1st", Some(ObjectiveNameProblem::NotAStem)),
            ("checkout #1", Some(ObjectiveNameProblem::NotAStem)),
            ("a:b", Some(ObjectiveNameProblem::NotAStem)),
            ("café", Some(ObjectiveNameProblem::NotAStem)),
        ] {
            assert_eq!(objective_name_problem(name), expected, "{name:?}");
            assert_eq!(objective_name(name).is_ok(), expected.is_none(), "{name:?}");
        }
    }
}
