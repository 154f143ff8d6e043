//! `<package>_build_info`: the build of the program as a series, to join to any other.

use crate::catalog::Conflict;
use crate::registry::registry;

/// Exports `<package>_build_info{version, revision, rustc} 1`, the build of the program, in the
/// global registry: `version` is the calling crate's `CARGO_PKG_VERSION`, `revision` the
/// `GIT_REVISION` environment variable at build time (`unknown` when it is not set, so that the
/// label set does not depend on the build; set it in CI,
/// `GIT_REVISION=$(git rev-parse --short HEAD) cargo build`, and Cargo rebuilds when it changes),
/// `rustc` the compiler's version. `build_info!("prefix")` names the family
/// `prefix_build_info` instead of after the package (its `-` as `_`).
///
/// Join it to any series to label it with the version: `up * on (job, instance)
/// group_left (version) personal_assistant_build_info`.
///
/// ```
/// instrument_metric::build_info!("shop").unwrap();
/// let text = instrument_metric::render();
/// let line = text.lines().find(|line| line.starts_with("shop_build_info{")).unwrap();
/// assert!(line.contains(r#"version="0.1.0""#) && line.ends_with("} 1"));
/// ```
///
/// # Errors
///
/// A [`Conflict`] when the name is taken, or is not a metric name.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::register_build_info(
            &::core::env!("CARGO_PKG_NAME").replace('-', "_"),
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("GIT_REVISION"),
        )
    };
    ($prefix:expr) => {
        $crate::register_build_info(
            $prefix,
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("GIT_REVISION"),
        )
    };
}

/// What [`build_info!`] calls: `<prefix>_build_info{version, revision, rustc} 1` in the global
/// registry, `revision` `unknown` when it is `None`.
///
/// # Errors
///
/// A [`Conflict`] when the name is taken, or is not a metric name.
///
/// ```
/// instrument_metric::register_build_info("billing", "2.3.1", Some("4f2a9c1")).unwrap();
/// assert!(instrument_metric::render().contains(r#"billing_build_info{revision="4f2a9c1",rustc="#));
/// ```
#[track_caller]
pub fn register_build_info(
    prefix: &str,
    version: &str,
    revision: Option<&str>,
) -> Result<(), Conflict> {
    let labels = [
        ("revision", revision.unwrap_or("unknown")),
        ("rustc", env!("INSTRUMENT_METRIC_RUSTC_VERSION")),
        ("version", version),
    ];
    registry().info(
        &format!("{prefix}_build_info"),
        "The program's build: its version, source revision and compiler; always 1.",
        &labels,
    )
}
