//! Support for the workspace-level tests: a strict parser of the Prometheus text exposition
//! format, so that tests assert on parsed numbers instead of matching substrings, and helpers
//! to reach real Prometheus tooling.
#![warn(missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One sample line: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample name (`x_total`, `x_bucket`, ...).
    pub name: String,
    /// Label names to values, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

/// A parsed exposition.
#[derive(Clone, Debug, Default)]
pub struct Exposition {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE` of each family.
    pub types: HashMap<String, String>,
    /// `# HELP` of each family, unescaped.
    pub help: HashMap<String, String>,
}

/// A line the parser refused, with its number (from 1).
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Exposition {
    /// Parses the text format 0.0.4, refusing anything it does not understand.
    ///
    /// # Errors
    ///
    /// The first line that is not a valid comment, `# HELP`, `# TYPE` or sample line.
    pub fn parse(text: &str) -> Result<Exposition, ParseError> {
        let mut exposition = Exposition::default();
        for (index, line) in text.lines().enumerate() {
            let error = |message: &str| ParseError {
                line: index + 1,
                message: format!("{message}: {line:?}"),
            };
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                exposition.help.insert(
                    name.to_owned(),
                    unescape(help, false).ok_or_else(|| error("bad escape in help"))?,
                );
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| error("TYPE without a type"))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(error("unknown type"));
                }
                exposition.types.insert(name.to_owned(), kind.to_owned());
            } else if line.starts_with('#') {
                // A comment.
            } else {
                exposition
                    .samples
                    .push(parse_sample(line).ok_or_else(|| error("bad sample line"))?);
            }
        }
        exposition
            .check_invariants()
            .map_err(|message| ParseError {
                line: 0,
                message: format!("{message}\n{text}"),
            })?;
        Ok(exposition)
    }

    /// Checks what must hold of every exposition, whatever was declared or recorded:
    ///
    /// - no series appears twice;
    /// - each histogram's buckets are cumulative and its `+Inf` bucket equals its `_count` (a
    ///   series has both `_sum` and `_count`, or, in OpenMetrics, neither);
    /// - for every instrumented function (from [`instrument_metric::catalog`]) and for the HTTP
    ///   layer, the counter rows of one series (by `result`, by `status`) add up to its
    ///   histogram's `_count`, so no outcome is missing and both were read together.
    ///
    /// [`Exposition::parse`] runs it on every text it parses, so every test that reads an
    /// exposition checks these too.
    ///
    /// # Errors
    ///
    /// The first invariant that does not hold, in words.
    #[allow(clippy::float_cmp)] // counts are whole numbers below 2^53: compared exactly
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for sample in &self.samples {
            if !seen.insert((&sample.name, &sample.labels)) {
                return Err(format!(
                    "the series {}{:?} appears twice",
                    sample.name, sample.labels
                ));
            }
        }
        for (family, kind) in &self.types {
            if kind == "histogram" {
                self.check_histogram(family)?;
            }
        }
        let catalog = instrument_metric::catalog();
        let mut pairs: Vec<(&str, &str, &str)> = catalog
            .functions
            .iter()
            .map(|function| (function.counter, function.histogram, "result"))
            .collect();
        pairs.push((
            "http_requests_total",
            "http_request_duration_seconds",
            "status",
        ));
        pairs.sort_unstable();
        pairs.dedup();
        for (counter, histogram, by) in pairs {
            for count in self.series(&format!("{histogram}_count")) {
                let rows: Vec<&Sample> = self
                    .series(counter)
                    .filter(|row| {
                        row.labels.len() == count.labels.len() + 1
                            && row.labels.contains_key(by)
                            && count
                                .labels
                                .iter()
                                .all(|(k, v)| row.labels.get(k) == Some(v))
                    })
                    .collect();
                let sum: f64 = rows.iter().map(|row| row.value).sum();
                if !rows.is_empty() && sum != count.value {
                    return Err(format!(
                        "the {counter} rows of {:?} add up to {sum}, but {histogram}_count is {}",
                        count.labels, count.value
                    ));
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::float_cmp)] // counts are whole numbers below 2^53: compared exactly
    fn check_histogram(&self, family: &str) -> Result<(), String> {
        let mut buckets: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for sample in self.series(&format!("{family}_bucket")) {
            let mut labels = sample.labels.clone();
            let le = labels
                .remove("le")
                .ok_or_else(|| format!("a bucket of {family} has no `le`"))?;
            let bound = match le.as_str() {
                "+Inf" => f64::INFINITY,
                other => other
                    .parse()
                    .map_err(|_| format!("{family} has the bucket bound {other:?}"))?,
            };
            buckets
                .entry(labels)
                .or_default()
                .push((bound, sample.value));
        }
        for (labels, mut series) in buckets {
            series.sort_by(|a, b| a.0.total_cmp(&b.0));
            if series.windows(2).any(|pair| pair[1].1 < pair[0].1) {
                return Err(format!(
                    "the buckets of {family}{labels:?} are not cumulative"
                ));
            }
            let infinite = series.last().filter(|last| last.0.is_infinite());
            let count = self
                .samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels);
            let sum = self
                .samples
                .iter()
                .any(|s| s.name == format!("{family}_sum") && s.labels == labels);
            match (infinite, count) {
                (Some(inf), Some(count)) if inf.1 == count.value => {}
                // OpenMetrics: a series whose sum would be negative or NaN has neither.
                (Some(_), None) if !sum => {}
                _ => {
                    return Err(format!(
                        "{family}{labels:?} has no `+Inf` bucket equal to its `_count`"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The one sample named `name` whose labels are exactly `labels`.
    ///
    /// # Panics
    ///
    /// If there is no such sample: tests want to know.
    #[must_use]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == wanted)
            .unwrap_or_else(|| panic!("no sample {name}{wanted:?} in the exposition"))
            .value
    }

    /// The value of [`Exposition::value`] as a count: a non-negative integer.
    ///
    /// # Panics
    ///
    /// If there is no such sample or its value is not a whole number.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let value = self.value(name, labels);
        assert!(
            value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53),
            "{name}{labels:?} = {value} is not a count"
        );
        value as u64
    }

    /// The sample named `name` with exactly `labels`, if there is one.
    #[must_use]
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Every sample named `name`.
    pub fn series<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |sample| sample.name == name)
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inner.find('=')?;
            let key = &inner[..eq];
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            let quoted = inner[eq + 1..].strip_prefix('"')?;
            let end = closing_quote(quoted)?;
            if labels
                .insert(key.to_owned(), unescape(&quoted[..end], true)?)
                .is_some()
            {
                return None;
            }
            inner = &quoted[end + 1..];
            inner = inner.strip_prefix(',').unwrap_or(inner);
        }
    }
    let mut fields = rest.split_whitespace();
    let value = match fields.next()? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number.parse().ok()?,
    };
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The index of the first unescaped `"` in `text`.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape(text: &str, quotes: bool) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                '"' if quotes => out.push('"'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Where the selected server's `promtool` is ([`prometheus::SELECT`]), or a panic that says how
/// to install it.
///
/// # Panics
///
/// When `promtool` is not installed.
#[must_use]
pub fn promtool() -> std::path::PathBuf {
    prometheus::Server::selected().promtool.clone()
}

/// A response read by [`http`].
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
}

impl Response {
    /// The first value of header `name` (lowercase).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole response: enough
/// of a client for tests against a server on loopback, with no dependency.
///
/// # Errors
///
/// Connection or I/O errors, or a response that is not HTTP.
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.extend([*name, ": ", *value, "\r\n"]);
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        dechunk(body).ok_or_else(bad)?
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut raw: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, rest) = raw.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(rest.get(..size)?);
        raw = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// Runs `command` with `input` on its standard input; its output.
///
/// # Panics
///
/// When the command cannot be run (the tool is missing: scripts/test installs it).
fn run_with_input(command: &mut std::process::Command, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?} runs (scripts/test installs it): {error}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("the command reads its input");
    child.wait_with_output().expect("the command finishes")
}

/// Runs `promtool check metrics` on `text` and returns what it reported, or `Ok(())` when
/// it found no problem.
///
/// # Errors
///
/// promtool's output when it exits unsuccessfully or prints anything.
///
/// # Panics
///
/// When promtool is not installed or cannot be run.
pub fn promtool_check_metrics(text: &str) -> Result<(), String> {
    use std::process::Command;
    let output = run_with_input(Command::new(promtool()).args(["check", "metrics"]), text);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && report.trim().is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

/// A sample as a reference parser returns it: name, labels, value.
pub type ReferenceSample = (String, BTreeMap<String, String>, f64);

/// Parses an exposition with Python's `prometheus_client` (the reference client library's
/// parsers: `openmetrics.parser` when `openmetrics`, else `parser`) and returns its samples as
/// `(name, labels, value)`, sorted.
///
/// # Errors
///
/// What the Python parser reported when it refused the text.
///
/// # Panics
///
/// When python3 or `prometheus_client` is missing (scripts/test installs it).
pub fn python_parse(text: &str, openmetrics: bool) -> Result<Vec<ReferenceSample>, String> {
    use std::process::Command;
    const SCRIPT: &str = r#"
import json, math, sys
if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        value = s.value if math.isfinite(s.value) else repr(s.value)
        samples.append([s.name, s.labels, value])
print(json.dumps(samples))
"#;
    let mode = if openmetrics { "openmetrics" } else { "text" };
    let output = run_with_input(Command::new("python3").args(["-c", SCRIPT, mode]), text);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("No module named"), "{stderr}");
        return Err(stderr.into_owned());
    }
    let parsed: Vec<(String, BTreeMap<String, String>, serde_json::Value)> =
        serde_json::from_slice(&output.stdout).map_err(|error| error.to_string())?;
    let mut samples: Vec<_> = parsed
        .into_iter()
        .map(|(name, labels, value)| {
            let value = value.as_f64().unwrap_or_else(|| match value.as_str() {
                Some("inf") => f64::INFINITY,
                Some("-inf") => f64::NEG_INFINITY,
                _ => f64::NAN,
            });
            (name, labels, value)
        })
        .collect();
    samples.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(samples)
}

/// Metrics declared in this crate, so that tests can declare the same family differently in
/// another crate.
#[derive(instrument_metric::Metrics)]
pub struct SupportMetrics {
    /// Declared as an integer gauge in the support crate.
    #[metric(name = "group_clash")]
    pub clash: instrument_metric::IntGauge,
}

/// A function declared in this crate, so that tests can declare the same family in another
/// crate and see the conflict reported across crates.
#[instrument_metric::instrument_metric(
    name = "cross_crate",
    help = "Declared in two crates.",
    buckets = [0.1, 1.0]
)]
pub fn declared_in_support_crate() {}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact binary fractions
mod tests {
    use super::*;

    #[test]
    fn parses_labels_with_escapes() {
        let text = "# HELP a_total Some \\\\ help\\nmore\n# TYPE a_total counter\na_total{x=\"q\\\"uo,te\",y=\"b\\\\s\\n\"} 3\nb 1.5 123\n";
        let exposition = Exposition::parse(text).unwrap();
        assert_eq!(
            exposition.value("a_total", &[("x", "q\"uo,te"), ("y", "b\\s\n")]),
            3.0
        );
        assert_eq!(exposition.value("b", &[]), 1.5);
        assert_eq!(exposition.help["a_total"], "Some \\ help\nmore");
        assert_eq!(exposition.types["a_total"], "counter");
    }

    #[test]
    fn refuses_garbage() {
        assert!(Exposition::parse("a_total{x=\"1} 3\n").is_err());
        assert!(Exposition::parse("a_total 3 4 5\n").is_err());
        assert!(Exposition::parse("# TYPE a nonsense\n").is_err());
        assert!(Exposition::parse("a-b 1\n").is_err());
    }
}

pub mod load;
pub mod prometheus;

/// Label values for benchmarks: 50 shards x 50 tenants = 2,500 combinations, which with the
/// four outcomes of an async function make 10,000 counter series.
pub mod bench_labels {
    use instrument_metric::LabelValue;

    /// A shard.
    #[derive(Clone, Copy, Debug, LabelValue)]
    pub enum Shard {
        /// Shard 00.
        A00,
        /// Shard 01.
        A01,
        /// Shard 02.
        A02,
        /// Shard 03.
        A03,
        /// Shard 04.
        A04,
        /// Shard 05.
        A05,
        /// Shard 06.
        A06,
        /// Shard 07.
        A07,
        /// Shard 08.
        A08,
        /// Shard 09.
        A09,
        /// Shard 10.
        A10,
        /// Shard 11.
        A11,
        /// Shard 12.
        A12,
        /// Shard 13.
        A13,
        /// Shard 14.
        A14,
        /// Shard 15.
        A15,
        /// Shard 16.
        A16,
        /// Shard 17.
        A17,
        /// Shard 18.
        A18,
        /// Shard 19.
        A19,
        /// Shard 20.
        A20,
        /// Shard 21.
        A21,
        /// Shard 22.
        A22,
        /// Shard 23.
        A23,
        /// Shard 24.
        A24,
        /// Shard 25.
        A25,
        /// Shard 26.
        A26,
        /// Shard 27.
        A27,
        /// Shard 28.
        A28,
        /// Shard 29.
        A29,
        /// Shard 30.
        A30,
        /// Shard 31.
        A31,
        /// Shard 32.
        A32,
        /// Shard 33.
        A33,
        /// Shard 34.
        A34,
        /// Shard 35.
        A35,
        /// Shard 36.
        A36,
        /// Shard 37.
        A37,
        /// Shard 38.
        A38,
        /// Shard 39.
        A39,
        /// Shard 40.
        A40,
        /// Shard 41.
        A41,
        /// Shard 42.
        A42,
        /// Shard 43.
        A43,
        /// Shard 44.
        A44,
        /// Shard 45.
        A45,
        /// Shard 46.
        A46,
        /// Shard 47.
        A47,
        /// Shard 48.
        A48,
        /// Shard 49.
        A49,
    }

    /// A tenant.
    #[derive(Clone, Copy, Debug, LabelValue)]
    pub enum Tenant {
        /// Tenant 00.
        B00,
        /// Tenant 01.
        B01,
        /// Tenant 02.
        B02,
        /// Tenant 03.
        B03,
        /// Tenant 04.
        B04,
        /// Tenant 05.
        B05,
        /// Tenant 06.
        B06,
        /// Tenant 07.
        B07,
        /// Tenant 08.
        B08,
        /// Tenant 09.
        B09,
        /// Tenant 10.
        B10,
        /// Tenant 11.
        B11,
        /// Tenant 12.
        B12,
        /// Tenant 13.
        B13,
        /// Tenant 14.
        B14,
        /// Tenant 15.
        B15,
        /// Tenant 16.
        B16,
        /// Tenant 17.
        B17,
        /// Tenant 18.
        B18,
        /// Tenant 19.
        B19,
        /// Tenant 20.
        B20,
        /// Tenant 21.
        B21,
        /// Tenant 22.
        B22,
        /// Tenant 23.
        B23,
        /// Tenant 24.
        B24,
        /// Tenant 25.
        B25,
        /// Tenant 26.
        B26,
        /// Tenant 27.
        B27,
        /// Tenant 28.
        B28,
        /// Tenant 29.
        B29,
        /// Tenant 30.
        B30,
        /// Tenant 31.
        B31,
        /// Tenant 32.
        B32,
        /// Tenant 33.
        B33,
        /// Tenant 34.
        B34,
        /// Tenant 35.
        B35,
        /// Tenant 36.
        B36,
        /// Tenant 37.
        B37,
        /// Tenant 38.
        B38,
        /// Tenant 39.
        B39,
        /// Tenant 40.
        B40,
        /// Tenant 41.
        B41,
        /// Tenant 42.
        B42,
        /// Tenant 43.
        B43,
        /// Tenant 44.
        B44,
        /// Tenant 45.
        B45,
        /// Tenant 46.
        B46,
        /// Tenant 47.
        B47,
        /// Tenant 48.
        B48,
        /// Tenant 49.
        B49,
    }

    /// Every shard.
    pub const SHARDS: [Shard; 50] = [
        Shard::A00,
        Shard::A01,
        Shard::A02,
        Shard::A03,
        Shard::A04,
        Shard::A05,
        Shard::A06,
        Shard::A07,
        Shard::A08,
        Shard::A09,
        Shard::A10,
        Shard::A11,
        Shard::A12,
        Shard::A13,
        Shard::A14,
        Shard::A15,
        Shard::A16,
        Shard::A17,
        Shard::A18,
        Shard::A19,
        Shard::A20,
        Shard::A21,
        Shard::A22,
        Shard::A23,
        Shard::A24,
        Shard::A25,
        Shard::A26,
        Shard::A27,
        Shard::A28,
        Shard::A29,
        Shard::A30,
        Shard::A31,
        Shard::A32,
        Shard::A33,
        Shard::A34,
        Shard::A35,
        Shard::A36,
        Shard::A37,
        Shard::A38,
        Shard::A39,
        Shard::A40,
        Shard::A41,
        Shard::A42,
        Shard::A43,
        Shard::A44,
        Shard::A45,
        Shard::A46,
        Shard::A47,
        Shard::A48,
        Shard::A49,
    ];
    /// Every tenant.
    pub const TENANTS: [Tenant; 50] = [
        Tenant::B00,
        Tenant::B01,
        Tenant::B02,
        Tenant::B03,
        Tenant::B04,
        Tenant::B05,
        Tenant::B06,
        Tenant::B07,
        Tenant::B08,
        Tenant::B09,
        Tenant::B10,
        Tenant::B11,
        Tenant::B12,
        Tenant::B13,
        Tenant::B14,
        Tenant::B15,
        Tenant::B16,
        Tenant::B17,
        Tenant::B18,
        Tenant::B19,
        Tenant::B20,
        Tenant::B21,
        Tenant::B22,
        Tenant::B23,
        Tenant::B24,
        Tenant::B25,
        Tenant::B26,
        Tenant::B27,
        Tenant::B28,
        Tenant::B29,
        Tenant::B30,
        Tenant::B31,
        Tenant::B32,
        Tenant::B33,
        Tenant::B34,
        Tenant::B35,
        Tenant::B36,
        Tenant::B37,
        Tenant::B38,
        Tenant::B39,
        Tenant::B40,
        Tenant::B41,
        Tenant::B42,
        Tenant::B43,
        Tenant::B44,
        Tenant::B45,
        Tenant::B46,
        Tenant::B47,
        Tenant::B48,
        Tenant::B49,
    ];

    /// A zone: with the 50 shards, 550 combinations, whose counters (four outcomes) and
    /// histograms (14 lines) make 9,900 series.
    #[derive(Clone, Copy, Debug, LabelValue)]
    pub enum Zone {
        /// Zone 0.
        Z0,
        /// Zone 1.
        Z1,
        /// Zone 2.
        Z2,
        /// Zone 3.
        Z3,
        /// Zone 4.
        Z4,
        /// Zone 5.
        Z5,
        /// Zone 6.
        Z6,
        /// Zone 7.
        Z7,
        /// Zone 8.
        Z8,
        /// Zone 9.
        Z9,
        /// Zone 10.
        Z10,
    }

    /// Every zone.
    pub const ZONES: [Zone; 11] = [
        Zone::Z0,
        Zone::Z1,
        Zone::Z2,
        Zone::Z3,
        Zone::Z4,
        Zone::Z5,
        Zone::Z6,
        Zone::Z7,
        Zone::Z8,
        Zone::Z9,
        Zone::Z10,
    ];
}

/// A small deterministic generator, so that failures reproduce.
#[derive(Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    ///
    /// # Panics
    ///
    /// When `n` is zero.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(0)
    }
}

/// A sample with its exemplar, as Python's OpenMetrics parser reads them: name, labels, value,
/// and the exemplar's labels and value, if the sample has one.
pub type ExemplarSample = (
    String,
    BTreeMap<String, String>,
    f64,
    Option<(BTreeMap<String, String>, f64)>,
);

/// Parses OpenMetrics text with Python's `prometheus_client` OpenMetrics parser (the reference
/// parser, which checks exemplars: their place, label set size, value) and returns every sample
/// with its exemplar.
///
/// # Errors
///
/// What the parser reported when it refused the text.
///
/// # Panics
///
/// When python3 or `prometheus_client` is missing (scripts/test installs it).
pub fn python_parse_exemplars(text: &str) -> Result<Vec<ExemplarSample>, String> {
    use std::process::Command;
    const SCRIPT: &str = r"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        exemplar = [s.exemplar.labels, s.exemplar.value] if s.exemplar else None
        samples.append([s.name, s.labels, s.value, exemplar])
print(json.dumps(samples))
";
    let output = run_with_input(Command::new("python3").args(["-c", SCRIPT]), text);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("No module named"), "{stderr}");
        return Err(stderr.into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|error| error.to_string())
}
