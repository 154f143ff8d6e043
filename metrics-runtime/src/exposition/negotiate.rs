//! Content negotiation for `/metrics`: the exposition format from the scraper's `Accept`
//! header and the compression from its `Accept-Encoding` (RFC 9110, section 12.5, and the
//! scrape protocols Prometheus offers).
//!
//! The rules are those of [`Format::from_accept`]'s documentation.
//!
//! With the `protobuf` feature, the protobuf exposition is one more entry of [`OFFERS`]: a
//! scraper gets it by naming it (Prometheus does when native histograms are on).

use crate::exposition::text::Format;

/// What `/metrics` answers with: a text format, or the protobuf exposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Text(Format),
    #[cfg(feature = "protobuf")]
    Protobuf,
}

impl Answer {
    /// Its `Content-Type`.
    #[cfg(feature = "axum")]
    pub(crate) const fn content_type(self) -> &'static str {
        match self {
            Answer::Text(format) => format.content_type(),
            #[cfg(feature = "protobuf")]
            Answer::Protobuf => crate::exposition::proto::PROTOBUF_CONTENT_TYPE,
        }
    }
}

/// A format `/metrics` can answer with, and the requests it answers.
struct Offer {
    format: Answer,
    /// `type/subtype`, lowercase.
    media_type: &'static str,
    /// Parameters a request may name, each with the only value this format answers to.
    params: &'static [(&'static str, &'static str)],
    /// Whether `*/*` and `type/*` match it; true for the default format only.
    wildcard: bool,
}

/// The formats `/metrics` serves; the first is the default.
const OFFERS: &[Offer] = &[
    Offer {
        format: Answer::Text(Format::Text),
        media_type: "text/plain",
        params: &[("version", "0.0.4"), ("charset", "utf-8")],
        wildcard: true,
    },
    Offer {
        format: Answer::Text(Format::OpenMetrics),
        media_type: "application/openmetrics-text",
        params: &[("version", "1.0.0"), ("charset", "utf-8")],
        wildcard: false,
    },
    #[cfg(feature = "protobuf")]
    Offer {
        format: Answer::Protobuf,
        media_type: "application/vnd.google.protobuf",
        params: &[
            ("proto", "io.prometheus.client.MetricFamily"),
            ("encoding", "delimited"),
        ],
        wildcard: false,
    },
];

/// The UTF-8 name escaping schemes Prometheus knows.
const ESCAPING_SCHEMES: &[&str] = &["allow-utf-8", "underscores", "dots", "values"];

/// What a scrape gets: a format, and the escaping scheme its `Content-Type` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) format: Answer,
    /// Named when the matching `Accept` element named one.
    pub(crate) escaping: Option<&'static str>,
}

#[cfg(feature = "axum")]
impl Negotiated {
    /// The answer's `Content-Type`.
    pub(crate) fn content_type(self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        match self.escaping {
            None => Cow::Borrowed(self.format.content_type()),
            Some(scheme) => {
                Cow::Owned(format!("{}; escaping={scheme}", self.format.content_type()))
            }
        }
    }
}

impl Format {
    /// The format an `Accept` header asks for, by the rules of RFC 9110 (section 12.5) and
    /// Prometheus: OpenMetrics 1.0 when it outweighs the text format, the text format 0.0.4
    /// otherwise, including when nothing listed is acceptable.
    ///
    /// The rules, in order:
    ///
    /// 1. Each element of `Accept` is a media range with parameters and a weight `q` (`q` or
    ///    `Q`, 0 to 1 with at most three decimals, 1 when absent; `q=0` means "not acceptable").
    ///    An element that cannot be parsed (no `type/subtype`, a malformed weight) is ignored.
    /// 2. An element matches a format when its media type is the format's and every parameter
    ///    the format knows (`version`, `charset`) has the format's value: the text format answers
    ///    `text/plain` with no version or `version=0.0.4`, OpenMetrics answers
    ///    `application/openmetrics-text` with no version or `version=1.0.0` (not 0.0.1, not
    ///    2.0.0). Wildcards (`*/*`, `text/*`) match the text format only: a scraper gets another
    ///    format only by naming it.
    /// 3. A format's weight is that of the most specific element that matches it (a media type
    ///    with parameters, then without, then `type/*`, then `*/*`), so `text/plain;q=0, */*`
    ///    refuses the text format.
    /// 4. The format with the highest weight wins. At equal weight, the one matched by the more
    ///    specific element wins (a named format beats one matched only through a wildcard), then
    ///    the one whose element comes first in the header.
    /// 5. When nothing is acceptable, the answer is the text format 0.0.4 anyway, never
    ///    `406 Not Acceptable`, as Prometheus' own client libraries answer.
    ///
    /// With the `protobuf` feature, `/metrics` also serves the protobuf exposition to a scraper
    /// that names it (`application/vnd.google.protobuf` with
    /// `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`, or no parameter),
    /// by the same rules; this function names the text format such a scraper would get
    /// otherwise.
    ///
    /// Every metric and label name this crate exposes is a legacy Prometheus name, the same under
    /// every UTF-8 escaping scheme; when the matching element names one (`escaping=allow-utf-8`,
    /// as Prometheus 3 asks), the answer's `Content-Type` repeats it, and names `underscores` for
    /// a scheme it does not know.
    ///
    /// `Accept-Encoding` follows the same weights: gzip (or `x-gzip`) when it, or `*` when it is
    /// not named, has a non-zero weight that no explicit `identity` element outweighs; so
    /// `gzip;q=0, *` gets no gzip.
    ///
    /// ```
    /// use instrument_metric::Format;
    ///
    /// // Prometheus 2.42 and Prometheus 3.
    /// let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    /// assert_eq!(Format::from_accept(prometheus_2), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept(prometheus_3), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept("*/*"), Format::Text);
    /// assert_eq!(Format::from_accept("application/openmetrics-text;Q=0"), Format::Text);
    /// assert_eq!(Format::from_accept("application/openmetrics-text;version=2.0.0"), Format::Text);
    /// ```
    #[must_use]
    pub fn from_accept(accept: &str) -> Format {
        match negotiate_among(&[accept], true).format {
            Answer::Text(format) => format,
            #[cfg(feature = "protobuf")]
            Answer::Protobuf => Format::Text,
        }
    }
}

/// The format (and escaping) for the values of the `Accept` headers, in header order: the
/// protobuf exposition (with the `protobuf` feature) by the same rules as the text formats.
#[cfg(feature = "axum")]
pub(crate) fn negotiate(accept: &[&str]) -> Negotiated {
    negotiate_among(accept, false)
}

/// The format (and escaping) for `accept`, among the text formats only with `text_only`.
fn negotiate_among(accept: &[&str], text_only: bool) -> Negotiated {
    // (weight, specificity, -position): higher is better.
    let mut best: Option<((u16, u8, isize), Negotiated)> = None;
    for offer in OFFERS {
        if text_only && !matches!(offer.format, Answer::Text(_)) {
            continue;
        }
        let Some(found) = best_match(offer, accept) else {
            continue;
        };
        if found.weight == 0 {
            continue;
        }
        let rank = (
            found.weight,
            found.specificity,
            -isize::try_from(found.position).unwrap_or(isize::MAX),
        );
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
            let escaping = found.escaping.map(|scheme| {
                ESCAPING_SCHEMES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(scheme))
                    .copied()
                    .unwrap_or("underscores")
            });
            best = Some((
                rank,
                Negotiated {
                    format: offer.format,
                    escaping,
                },
            ));
        }
    }
    best.map_or(
        Negotiated {
            format: OFFERS[0].format,
            escaping: None,
        },
        |(_, negotiated)| negotiated,
    )
}

/// The element of `accept` that decides `offer`'s weight.
struct Match<'a> {
    weight: u16,
    specificity: u8,
    position: usize,
    escaping: Option<&'a str>,
}

/// The most specific element of `accept` matching `offer` (the first of equally specific ones).
fn best_match<'a>(offer: &Offer, accept: &[&'a str]) -> Option<Match<'a>> {
    let mut best: Option<Match<'a>> = None;
    let elements = accept.iter().flat_map(|value| elements(value));
    for (position, element) in elements.enumerate() {
        let Some(weight) = element.weight else {
            continue;
        };
        let Some((kind, subtype)) = element.name.split_once('/') else {
            continue;
        };
        let (offer_kind, offer_subtype) = offer.media_type.split_once('/').unwrap_or_default();
        let specificity = if kind == "*" && subtype == "*" {
            0
        } else if subtype == "*" {
            1
        } else if element.params().next().is_none() {
            2
        } else {
            3
        };
        let matches = match specificity {
            0 => offer.wildcard,
            1 => offer.wildcard && kind.eq_ignore_ascii_case(offer_kind),
            _ => {
                kind.eq_ignore_ascii_case(offer_kind)
                    && subtype.eq_ignore_ascii_case(offer_subtype)
                    && element.params().all(|(name, value)| {
                        offer
                            .params
                            .iter()
                            .find(|(known, _)| known.eq_ignore_ascii_case(name))
                            .is_none_or(|(_, wanted)| wanted.eq_ignore_ascii_case(value))
                    })
            }
        };
        if matches && best.as_ref().is_none_or(|b| specificity > b.specificity) {
            let escaping = element
                .params()
                .find(|(name, _)| name.eq_ignore_ascii_case("escaping"))
                .map(|(_, value)| value);
            best = Some(Match {
                weight,
                specificity,
                position,
                escaping,
            });
        }
    }
    best
}

/// Whether an `Accept-Encoding` header (its values, in order) lets the answer be gzipped.
#[cfg(feature = "axum")]
pub(crate) fn accepts_gzip<'a>(accept_encoding: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut gzip, mut any, mut identity) = (None, None, None);
    for element in accept_encoding.into_iter().flat_map(elements) {
        let Some(weight) = element.weight else {
            continue;
        };
        let slot = if element.name.eq_ignore_ascii_case("gzip")
            || element.name.eq_ignore_ascii_case("x-gzip")
        {
            &mut gzip
        } else if element.name == "*" {
            &mut any
        } else if element.name.eq_ignore_ascii_case("identity") {
            &mut identity
        } else {
            continue;
        };
        // The first of repeated elements counts.
        slot.get_or_insert(weight);
    }
    let gzip = gzip.or(any).unwrap_or(0);
    gzip > 0 && identity.is_none_or(|identity| gzip >= identity)
}

/// One element of a comma-separated header: a name (`type/subtype` or a coding), its
/// parameters before the weight, and the weight in thousandths (`None` when malformed).
struct Element<'a> {
    name: &'a str,
    params: &'a str,
    weight: Option<u16>,
}

impl<'a> Element<'a> {
    /// The parameters other than the weight, unquoted; malformed ones are skipped.
    fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        split_outside_quotes(self.params, b';').filter_map(|param| {
            let (name, value) = param.split_once('=')?;
            let (name, value) = (name.trim(), value.trim());
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (!name.is_empty() && !name.eq_ignore_ascii_case("q")).then_some((name, value))
        })
    }
}

/// The elements of one header value; empty ones (`a,,b`) are skipped.
fn elements(header: &str) -> impl Iterator<Item = Element<'_>> {
    split_outside_quotes(header, b',').filter_map(|element| {
        let element = element.trim();
        let (name, rest) = element.split_once(';').unwrap_or((element, ""));
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| is_token(b) || b == b'/') {
            return None;
        }
        if name.split('/').count() > 2 || name.starts_with('/') || name.ends_with('/') {
            return None;
        }
        let mut weight = Some(1000);
        // Parameters stop at the weight (what follows it was an "accept-ext" in RFC 7231).
        let mut params_end = rest.len();
        let mut offset = 0;
        for param in split_outside_quotes(rest, b';') {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            if key.trim().eq_ignore_ascii_case("q") {
                weight = parse_weight(value.trim());
                params_end = offset;
                break;
            }
            offset += param.len() + 1;
        }
        Some(Element {
            name,
            params: &rest[..params_end.min(rest.len())],
            weight,
        })
    })
}

/// A weight in thousandths: `0`, `0.5`, `0.125`, `1`, `1.000`; `None` for anything else.
fn parse_weight(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Splits at `separator` outside double-quoted strings (with `\` escapes inside them).
fn split_outside_quotes(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, byte) in current.bytes().enumerate() {
            match byte {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ if byte == separator && !quoted => {
                    rest = Some(&current[i + 1..]);
                    return Some(&current[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(accept: &str) -> Format {
        Format::from_accept(accept)
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("0"), Some(0));
        assert_eq!(parse_weight("0.5"), Some(500));
        assert_eq!(parse_weight("0.125"), Some(125));
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("0."), Some(0));
        for bad in [
            "", "2", "-1", "0.1234", "1.5", "abc", ".5", "1e0", "0.-1", " 1",
        ] {
            assert_eq!(parse_weight(bad), None, "{bad}");
        }
    }

    #[test]
    fn highest_weight_wins() {
        assert_eq!(
            format("text/plain;q=0.9, application/openmetrics-text;q=0.8"),
            Format::Text
        );
        assert_eq!(
            format("text/plain;q=0.8, application/openmetrics-text;q=0.9"),
            Format::OpenMetrics
        );
        // A wildcard counts for the text format, with its weight.
        assert_eq!(
            format("application/openmetrics-text;q=0.5, */*;q=0.9"),
            Format::Text
        );
    }

    #[test]
    fn ties() {
        // The named format beats a wildcard match; between named ones, header order.
        assert_eq!(
            format("*/*, application/openmetrics-text"),
            Format::OpenMetrics
        );
        assert_eq!(
            format("text/plain, application/openmetrics-text"),
            Format::Text
        );
        assert_eq!(
            format("application/openmetrics-text, text/plain"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn wildcards_never_pick_openmetrics() {
        for accept in [
            "*/*",
            "application/*",
            "*/*;q=1, text/plain;q=0",
            "application/*;q=1",
        ] {
            assert_eq!(format(accept), Format::Text, "{accept}");
        }
    }

    #[test]
    fn the_most_specific_element_decides() {
        assert_eq!(
            format("text/plain;q=0, */*, application/openmetrics-text;q=0.1"),
            Format::OpenMetrics
        );
        assert_eq!(
            format("text/plain;version=0.0.4;q=0, text/plain, application/openmetrics-text;q=0.1"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn versions_and_charsets_must_match() {
        assert_eq!(
            format("application/openmetrics-text;version=2.0.0"),
            Format::Text
        );
        assert_eq!(
            format("application/openmetrics-text;version=0.0.1"),
            Format::Text
        );
        assert_eq!(
            format("application/openmetrics-text;version=\"1.0.0\""),
            Format::OpenMetrics
        );
        assert_eq!(
            format("application/openmetrics-text;charset=latin1"),
            Format::Text
        );
        assert_eq!(
            format("APPLICATION/OpenMetrics-Text;Version=1.0.0;Charset=UTF-8"),
            Format::OpenMetrics
        );
        // Text 1.0.0 is not 0.0.4: OpenMetrics, at a lower weight, is the only match.
        assert_eq!(
            format("text/plain;version=1.0.0, application/openmetrics-text;q=0.1"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn q_is_case_insensitive_and_zero_refuses() {
        assert_eq!(format("application/openmetrics-text;Q=0"), Format::Text);
        assert_eq!(format("application/openmetrics-text; q=0"), Format::Text);
        assert_eq!(
            format("application/openmetrics-text;Q=0.5, text/plain;q=0.4"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn malformed_elements_are_ignored() {
        for accept in [
            "application/openmetrics-text;q=abc",
            "application/openmetrics-text;q=2",
            "application/openmetrics-text;q=",
            "application/openmetrics-text/x",
            "/openmetrics-text",
            "*/*;;;,,",
            "\u{1}\u{2}garbage",
            "",
            ",,,",
            "application/openmetrics-text;version=\"1.0.0",
        ] {
            assert_eq!(format(accept), Format::Text, "{accept:?}");
        }
        assert_eq!(
            format(",, ;, application/openmetrics-text ;; ,"),
            Format::OpenMetrics
        );
    }

    #[test]
    #[cfg(all(feature = "axum", feature = "protobuf"))]
    fn protobuf_when_named() {
        // Prometheus 2.42 with native histograms on; Prometheus 3 with a protobuf scrape
        // protocol first.
        let prometheus_2 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        let prometheus_3 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        for accept in [prometheus_2, prometheus_3] {
            assert_eq!(negotiate(&[accept]).format, Answer::Protobuf, "{accept}");
        }
        // `Format::from_accept` names the text format it would take.
        assert_eq!(Format::from_accept(prometheus_2), Format::Text);
        assert_eq!(Format::from_accept(prometheus_3), Format::OpenMetrics);
        assert_eq!(
            negotiate(&[prometheus_2]).content_type(),
            crate::exposition::proto::PROTOBUF_CONTENT_TYPE
        );
        // Another encoding or message, or a wildcard: not protobuf.
        for not in [
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=other.Message;encoding=delimited",
            "application/*",
            "*/*",
        ] {
            assert_eq!(
                negotiate(&[not]).format,
                Answer::Text(Format::Text),
                "{not}"
            );
        }
        assert_eq!(
            negotiate(&["application/vnd.google.protobuf"]).format,
            Answer::Protobuf
        );
    }

    #[test]
    #[cfg(feature = "axum")]
    fn escaping_is_named_when_asked() {
        let asked = negotiate(&["application/openmetrics-text;version=1.0.0;escaping=allow-utf-8"]);
        assert_eq!(
            asked.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        let unknown = negotiate(&["application/openmetrics-text;escaping=klingon"]);
        assert_eq!(unknown.escaping, Some("underscores"));
        let none = negotiate(&["application/openmetrics-text"]);
        assert_eq!(
            none.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }

    #[test]
    fn quoted_commas_and_semicolons_stay_in_their_element() {
        assert_eq!(
            format("text/plain;x=\"a,b;q=1\";q=0.1, application/openmetrics-text;q=0.2"),
            Format::OpenMetrics
        );
    }

    #[test]
    #[cfg(feature = "axum")]
    fn gzip() {
        for yes in [
            "gzip",
            "GZIP",
            "x-gzip",
            "*",
            "gzip;q=0.5",
            "deflate, gzip;q=0.1",
            "identity;q=0.5, gzip",
        ] {
            assert!(accepts_gzip([yes]), "{yes}");
        }
        for no in [
            "gzip;q=0",
            "gzip;q=0, *",
            "gzip;Q=0, *",
            "*;q=0",
            "identity",
            "",
            "deflate, br",
            "gzip;q=0.5, identity",
            "gzip;q=abc",
        ] {
            assert!(!accepts_gzip([no]), "{no}");
        }
        assert!(accepts_gzip(["identity;q=0.1", "gzip"]), "two header lines");
    }
}
