//! The `function` label of an instrumented function, from the path the compiler prints for an
//! item declared in its body (`std::any::type_name`).
//!
//! The normal form leaves out module paths, closures and unnamed generic parameters:
//!
//! | declared as | `function` |
//! |---|---|
//! | `fn send_sms()` in any module | `send_sms` |
//! | `impl UserRepo { fn get() }` | `UserRepo::get` |
//! | `impl<T> OrderRepo<T> { fn get() }` | `OrderRepo::get` |
//! | `impl OrderRepo<u32> { fn special() }` | `OrderRepo<u32>::special` |
//! | `impl From<A> for B { fn from() }` | `<B as From<A>>::from` |
//! | `impl<T: Display> Describe for T { fn describe() }` | `<_ as Describe>::describe` |
//! | a trait's default method | `Named::name` |
//!
//! `async fn`s and `#[async_trait]` methods print as the function itself. Two functions whose
//! normal forms would be equal keep their whole paths instead (the registry decides), so every
//! function has a series of its own. The compiler's printing is not a stable format: the test
//! `tests/tests/function_names.rs` pins every shape above.

/// Tokens of a printed path.
#[derive(Clone, Debug, PartialEq)]
enum Token<'a> {
    /// An identifier, a lifetime or `_`.
    Word(&'a str),
    /// `::`
    Separator,
    Open(char),
    Close(char),
    /// Any other character run (spaces, `&`, `*`, `,`, ` as `).
    Other(&'a str),
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '#' || c == '\'';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if rest.starts_with("::") {
            out.push(Token::Separator);
            2
        } else if word(c) {
            let len = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
            out.push(Token::Word(&rest[..len]));
            len
        } else if matches!(c, '<' | '(' | '[') {
            out.push(Token::Open(c));
            1
        } else if matches!(c, '>' | ')' | ']') {
            out.push(Token::Close(c));
            1
        } else {
            let len = c.len_utf8();
            out.push(Token::Other(&rest[..len]));
            len
        };
        rest = &rest[len..];
    }
    out
}

/// The path without its last segment (the marker item) and without closures: the whole
/// path of the function. A method of an `impl` block written in another module than its type
/// prints as `module::<impl path::Type>::method`: it becomes `path::Type::method`.
pub(crate) fn full(printed: &str) -> String {
    let path = printed.rsplit_once("::").map_or(printed, |(path, _)| path);
    let mut path = path.replace("::{{closure}}", "");
    while let Some(open) = path.find("<impl ") {
        let Some(close) = matching_close(&path[open..]).map(|end| open + end) else {
            break;
        };
        let start = path[..open]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let self_type = path[open + "<impl ".len()..close].to_owned();
        path.replace_range(start..=close, &self_type);
    }
    path
}

/// The index of the `>` closing the `<` that `text` starts with.
fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0_usize;
    for (i, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The normal form of the function's path; `module` is the module it is declared in.
pub(crate) fn short(printed: &str, module: &str) -> String {
    let path = full(printed);
    let path = path
        .strip_prefix(module)
        .and_then(|p| p.strip_prefix("::"))
        .unwrap_or(&path);
    let tokens = tokens(path);
    let mut out = String::with_capacity(path.len());
    let mut depth = 0_usize;
    let mut i = 0;
    // Outside brackets, leading lowercase segments are the module path of the impl's type
    // (`models::User::get`), as far as two segments are left (`outer::inner`, a function
    // declared in another function's body, stays).
    let mut top_modules = true;
    while i < tokens.len() {
        let next_is_segment = matches!(tokens.get(i + 1), Some(Token::Separator))
            && matches!(tokens.get(i + 2), Some(Token::Word(_)));
        match &tokens[i] {
            Token::Word(_) if next_is_segment && depth > 0 => i += 2,
            Token::Word(word)
                if next_is_segment
                    && top_modules
                    && word.starts_with(|c: char| c.is_lowercase())
                    && segments_after(&tokens[i + 2..]) >= 2 =>
            {
                i += 2;
            }
            Token::Word(word) => {
                top_modules &= depth > 0;
                out.push_str(word);
                i += 1;
                if matches!(tokens.get(i), Some(Token::Open('<')))
                    && let Some(end) = placeholders_only(&tokens[i..])
                {
                    i += end;
                }
            }
            Token::Separator => {
                out.push_str("::");
                i += 1;
            }
            Token::Open(c) => {
                top_modules &= depth > 0;
                depth += 1;
                out.push(*c);
                i += 1;
            }
            Token::Close(c) => {
                depth = depth.saturating_sub(1);
                out.push(*c);
                i += 1;
            }
            Token::Other(text) => {
                out.push_str(text);
                i += 1;
            }
        }
    }
    out
}

/// The number of top-level segments in `tokens` (which start a path's next segment).
fn segments_after(tokens: &[Token<'_>]) -> usize {
    let mut depth = 0_usize;
    let mut segments = 1;
    for token in tokens {
        match token {
            Token::Open(_) => depth += 1,
            Token::Close(_) => depth = depth.saturating_sub(1),
            Token::Separator if depth == 0 => segments += 1,
            _ => {}
        }
    }
    segments
}

/// If `tokens` start with `<_>` or `<_, _>`, the number of tokens it takes.
fn placeholders_only(tokens: &[Token<'_>]) -> Option<usize> {
    for (i, token) in tokens.iter().enumerate().skip(1) {
        match token {
            Token::Word("_") | Token::Other("," | " ") => {}
            Token::Close('>') => return Some(i + 1),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        let cases = [
            ("app::send_sms::metrics_path", "app", "send_sms"),
            (
                "app::repo::UserRepo::get::metrics_path",
                "app::repo",
                "UserRepo::get",
            ),
            (
                "app::repo::OrderRepo<_>::get::metrics_path",
                "app::repo",
                "OrderRepo::get",
            ),
            (
                "app::repo::Pair<_, _>::get::metrics_path",
                "app::repo",
                "Pair::get",
            ),
            (
                "app::repo::OrderRepo<u32>::special::metrics_path",
                "app::repo",
                "OrderRepo<u32>::special",
            ),
            (
                "<app::B as core::convert::From<app::A>>::from::metrics_path",
                "app",
                "<B as From<A>>::from",
            ),
            (
                "<_ as app::Describe>::describe::metrics_path",
                "app",
                "<_ as Describe>::describe",
            ),
            ("app::Named::name::metrics_path", "app", "Named::name"),
            (
                "app::models::User::get::metrics_path",
                "app::api",
                "User::get",
            ),
            (
                "<app::Api as app::Handler>::call::{{closure}}::metrics_path",
                "app",
                "<Api as Handler>::call",
            ),
            ("app::outer::inner::metrics_path", "app", "outer::inner"),
            (
                "app::<impl app::models::User>::get::metrics_path",
                "app",
                "User::get",
            ),
            (
                "app::api::models::User::get::metrics_path",
                "app::api",
                "User::get",
            ),
            (
                "<dyn app::Describe>::on_dyn::metrics_path",
                "app",
                "<dyn Describe>::on_dyn",
            ),
            (
                "<alloc::vec::Vec<app::A> as app::Named>::name::metrics_path",
                "app",
                "<Vec<A> as Named>::name",
            ),
            (
                "<(app::A, &str) as app::Named>::name::metrics_path",
                "app",
                "<(A, &str) as Named>::name",
            ),
        ];
        for (printed, module, expected) in cases {
            assert_eq!(short(printed, module), expected, "{printed}");
        }
    }

    #[test]
    fn full_paths_keep_modules_but_not_closures() {
        assert_eq!(
            full("<app::Api as app::Handler>::call::{{closure}}::metrics_path"),
            "<app::Api as app::Handler>::call"
        );
        assert_eq!(full("app::repo::get::metrics_path"), "app::repo::get");
        assert_eq!(
            full("app::<impl app::a::Item>::len::metrics_path"),
            "app::a::Item::len"
        );
        assert_eq!(
            full("app::<impl app::a::Pair<app::B, app::C>>::len::metrics_path"),
            "app::a::Pair<app::B, app::C>::len"
        );
    }
}
