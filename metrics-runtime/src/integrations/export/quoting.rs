//! How values are written into the generated files: numbers, YAML strings, alert templates
//! and comments.

use std::fmt::Write as _;

/// A number as rules show it: the shortest text that reads back as the same `f64`.
pub(super) fn number(value: f64) -> String {
    let mut text = ryu::Buffer::new().format(value).to_owned();
    if let Some(whole) = text.strip_suffix(".0") {
        text = whole.to_owned();
    }
    text
}

/// `text` as a double-quoted YAML string, in ASCII: `"` and `\` escaped, and every character
/// outside printable ASCII as `\n`, `\t`, `\uXXXX` or `\UXXXXXXXX`, so that none is
/// read as a line break (YAML parsers also break lines at U+0085, U+2028 and U+2029), folded
/// or refused (a byte-order mark, U+FFFE).
pub(super) fn yaml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            ' '..='~' => quoted.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(quoted, "\\U{:08X}", u32::from(c));
            }
        }
    }
    quoted.push('"');
    quoted
}

/// `text` as alert template text that prints it as it is: unchanged when it has no `{` or
/// `}`, otherwise as a template action printing it as a Go string constant (`{{ "a{{b" }}`),
/// since Prometheus expands alert labels and annotations with Go's `text/template`.
pub(super) fn template_text(text: &str) -> String {
    if !text.contains(['{', '}']) {
        return text.to_owned();
    }
    let mut constant = String::with_capacity(text.len() + 10);
    constant.push_str("{{ \"");
    for c in text.chars() {
        match c {
            '"' => constant.push_str("\\\""),
            '\\' => constant.push_str("\\\\"),
            '\n' => constant.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(constant, "\\u{:04X}", u32::from(c));
            }
            c => constant.push(c),
        }
    }
    constant.push_str("\" }}");
    constant
}

/// `text` on one line of a YAML comment: control characters (line breaks included) as spaces.
pub(super) fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || ['\u{2028}', '\u{2029}'].contains(&c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_strings_are_double_quoted_ascii() {
        assert_eq!(yaml_string("api"), "\"api\"");
        assert_eq!(
            yaml_string("a #1: \"b\" \\ {{ x }}"),
            "\"a #1: \\\"b\\\" \\\\ {{ x }}\""
        );
        assert_eq!(yaml_string("a\nb\tc\r"), "\"a\\nb\\tc\\u000D\"");
        assert_eq!(
            yaml_string("é\u{2028}\u{1F600}"),
            "\"\\u00E9\\u2028\\U0001F600\""
        );
    }

    #[test]
    fn template_text_prints_braces_as_they_are() {
        assert_eq!(template_text("checkout"), "checkout");
        assert_eq!(
            template_text("{{ .Labels.job }}"),
            "{{ \"{{ .Labels.job }}\" }}"
        );
        assert_eq!(template_text("a}\"\\\n"), "{{ \"a}\\\"\\\\\\n\" }}");
    }

    #[test]
    fn comments_stay_on_their_line() {
        assert_eq!(comment_text("run\nx: y\r\u{2028}z"), "run x: y  z");
    }
}
