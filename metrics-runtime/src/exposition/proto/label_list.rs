//! Rendered label lists read back into pairs, for the writer's public methods, which take
//! lists rendered by hand.

use std::fmt;

use super::messages::LabelPair;

/// A rendered label list that does not read back: a bug in the code that rendered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelListError {
    /// The list.
    pub list: String,
    /// The byte where reading stopped.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl fmt::Display for LabelListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a rendered label list must be `name=\"value\"` pairs joined by commas, with `\\`, \
             `\"` and line feeds escaped in values; expected {} at byte {} of `{}`",
            self.expected, self.at, self.list
        )
    }
}

impl std::error::Error for LabelListError {}

/// Reads a rendered label list (`a="x",b="y\"z"`, as the text writer's callers render them)
/// back into label pairs, appended to `out`, values unescaped. An empty list has no pair.
///
/// # Errors
///
/// A list that is not `name="value"` pairs joined by commas: a name that is not
/// `[a-zA-Z_][a-zA-Z0-9_]*`, a missing `=` or quote, an escape other than `\\`, `\"`, `\n`, an
/// unescaped line feed, a comma at the end.
///
/// ```
/// use instrument_metric::__private::proto::parse_label_list;
///
/// let mut pairs = Vec::new();
/// parse_label_list(r#"path="/a,b",quote="\"x\"\\""#, &mut pairs).unwrap();
/// assert_eq!((pairs[0].name(), pairs[0].value()), ("path", "/a,b"));
/// assert_eq!((pairs[1].name(), pairs[1].value()), ("quote", "\"x\"\\"));
/// assert!(parse_label_list("a=x", &mut pairs).is_err());
/// ```
pub fn parse_label_list(list: &str, out: &mut Vec<LabelPair>) -> Result<(), LabelListError> {
    let error = |at: usize, expected: &'static str| LabelListError {
        list: list.to_owned(),
        at,
        expected,
    };
    if list.is_empty() {
        return Ok(());
    }
    let mut chars = list.char_indices().peekable();
    loop {
        let start = chars.peek().map_or(list.len(), |(at, _)| *at);
        let mut end = start;
        while let Some(&(at, c)) = chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            end = at + 1;
            chars.next();
        }
        let name = &list[start..end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(error(start, "a label name"));
        }
        for expected in ['=', '"'] {
            match chars.next() {
                Some((_, c)) if c == expected => {}
                other => {
                    let at = other.map_or(list.len(), |(at, _)| at);
                    return Err(error(at, if expected == '=' { "`=`" } else { "`\"`" }));
                }
            }
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                Some((_, '"')) => break,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => {
                        let at = other.map_or(list.len(), |(at, _)| at);
                        return Err(error(at, "`\\\\`, `\\\"` or `\\n` after `\\`"));
                    }
                },
                Some((at, '\n')) => return Err(error(at, "an escaped line feed")),
                Some((_, c)) => value.push(c),
                None => return Err(error(list.len(), "a closing `\"`")),
            }
        }
        out.push(LabelPair {
            name: Some(name.to_owned()),
            value: Some(value),
        });
        match chars.next() {
            None => return Ok(()),
            Some((_, ',')) if chars.peek().is_some() => {}
            Some((at, _)) => return Err(error(at, "`,` and another label, or the end")),
        }
    }
}
