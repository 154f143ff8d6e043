//! Encoding the registry in the Prometheus text exposition format.

use crate::registry::registry;

/// The content type of [`render`]'s output: the Prometheus text format 0.0.4.
///
/// ```
/// assert!(metrics_runtime::TEXT_CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric of [`registry`] in the Prometheus text exposition format 0.0.4.
///
/// A family that cannot be encoded (which only a hand-registered, broken collector can
/// produce) is left out; the rest is still rendered.
///
/// ```
/// let text = metrics_runtime::render();
/// assert!(text.is_empty() || text.starts_with("# HELP"));
/// ```
#[must_use]
pub fn render() -> String {
    let families = registry().gather();
    let encoder = prometheus::TextEncoder::new();
    let mut text = String::with_capacity(families.len() * 256);
    for family in &families {
        // The encoder checks a family before writing any of it, so a refused one leaves no
        // partial lines behind.
        let _ = encoder.encode_utf8(std::slice::from_ref(family), &mut text);
    }
    text
}
