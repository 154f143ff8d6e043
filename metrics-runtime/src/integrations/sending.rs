//! What the two clients that send the registry somewhere (the Pushgateway's and the OTLP
//! exporter's) share: the check of the URL they are given and the readable excerpt of a refusal.

/// How much of a refusal's body an error keeps: enough for the receiver's message, not a whole
/// page a proxy might answer with.
pub(crate) const REFUSAL_BODY_BYTES: usize = 512;

/// What is wrong with `url`, which must be `http://` or `https://` followed by a host; `https`
/// only when `tls` (the feature `tls_feature` compiled in).
pub(crate) fn url_problem(url: &str, tls: bool, tls_feature: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some(format!("`{url}` has no scheme; write `http://{url}`"));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" => {}
        "https" if tls => {}
        "https" => {
            return Some(format!(
                "`{url}` needs TLS; enable the `{tls_feature}` feature of instrument-metric"
            ));
        }
        _ => return Some(format!("`{url}` is not an http:// URL")),
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    host.is_empty().then(|| format!("`{url}` names no host"))
}

/// At most [`REFUSAL_BODY_BYTES`] of `body` as text, trimmed, with `...` when cut.
pub(crate) fn readable(body: &[u8]) -> String {
    let cut = body.len() > REFUSAL_BODY_BYTES;
    let text = String::from_utf8_lossy(&body[..body.len().min(REFUSAL_BODY_BYTES)]);
    // A cut may split a character: the replacement character it leaves at the end goes.
    let text = text.trim_end_matches('\u{fffd}').trim();
    if cut {
        format!("{text}...")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for good in [
            "http://127.0.0.1:9091",
            "HTTP://gateway",
            "http://gw/prefix",
        ] {
            assert_eq!(url_problem(good, false, "x-tls"), None, "{good}");
        }
        for bad in [
            "127.0.0.1:9091",
            "gateway",
            "ftp://gw",
            "http://",
            "http:///x",
            "",
        ] {
            assert!(url_problem(bad, true, "x-tls").is_some(), "{bad}");
        }
        assert_eq!(url_problem("https://gw", true, "x-tls"), None);
        assert_eq!(
            url_problem("https://gw", false, "x-tls").as_deref(),
            Some("`https://gw` needs TLS; enable the `x-tls` feature of instrument-metric")
        );
    }

    #[test]
    fn refusals_are_cut_to_a_readable_length() {
        assert_eq!(readable(b" bad metric \n"), "bad metric");
        let long = "é".repeat(400);
        let cut = readable(long.as_bytes());
        assert!(cut.ends_with("..."));
        assert!(cut.len() <= REFUSAL_BODY_BYTES + 3);
        assert!(!cut.contains('\u{fffd}'));
    }
}
