//! [`check_crate`]: the check for CI that cannot pass without seeing a crate's declarations.

use std::fmt;

use crate::catalog::{CatalogError, Declaration};

/// Why [`check_crate`] failed.
#[derive(Debug)]
pub enum CrateCheckError {
    /// No declaration of the crate reached this binary: the check saw nothing to check.
    NothingDeclared {
        /// The crate named.
        krate: String,
        /// The crates whose declarations did reach it.
        seen: Vec<String>,
    },
    /// The declarations disagree ([`check`](crate::check)).
    Conflicts(CatalogError),
}

impl fmt::Display for CrateCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrateCheckError::NothingDeclared { krate, seen } => {
                write!(
                    f,
                    "no metric declaration of crate `{krate}` reached this binary, so nothing of it was checked: \
                     a test in `tests/` links only what it uses of the crate; check from a `#[cfg(test)]` unit \
                     test inside the crate, which sees every declaration"
                )?;
                if seen.is_empty() {
                    write!(f, " (no crate's declaration reached it)")
                } else {
                    write!(f, " (declarations seen from: {})", seen.join(", "))
                }
            }
            CrateCheckError::Conflicts(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for CrateCheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrateCheckError::NothingDeclared { .. } => None,
            CrateCheckError::Conflicts(error) => Some(error),
        }
    }
}

/// The crate a `module_path!()` belongs to.
fn crate_of(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// [`check`](crate::check) that cannot pass vacuously: it fails unless at least one
/// declaration of crate `krate` (an instrumented function or a `Metrics` struct; the name as
/// code spells it, `-` read as `_`) reached this binary, and returns how many did.
///
/// `check()` checks what the binary links. A test in a crate's `tests/` folder is a binary of
/// its own that links only what it uses of the crate, so a test that only calls `check()`
/// passes whatever the crate declares. Run this one in a `#[cfg(test)]` unit test inside the
/// crate, which links every declaration, or name the crate from a `tests/` file to be told when
/// it saw nothing:
///
/// ```
/// use instrument_metric::instrument_metric;
///
/// /// Reserves stock.
/// #[instrument_metric(name = "stock_reserve")]
/// fn reserve() {}
///
/// # fn main() {
/// // In the crate's own `#[cfg(test)] mod tests` (a doctest is a crate named after its file).
/// let krate = module_path!().split("::").next().unwrap();
/// let declared = instrument_metric::check_crate(krate).expect("metric declarations agree");
/// assert!(declared >= 1);
/// // A crate none of whose declarations reached this binary fails, whatever `check()` says.
/// assert!(instrument_metric::check().is_ok());
/// let error = instrument_metric::check_crate("inventory_service").unwrap_err();
/// assert!(error.to_string().starts_with("no metric declaration of crate `inventory_service`"));
/// # }
/// ```
///
/// # Errors
///
/// [`CrateCheckError::NothingDeclared`] when no declaration of `krate` reached the binary;
/// [`CrateCheckError::Conflicts`] when declarations disagree.
pub fn check_crate(krate: &str) -> Result<usize, CrateCheckError> {
    let krate = krate.replace('-', "_");
    let mut declared = 0;
    let mut seen: Vec<String> = Vec::new();
    for declaration in inventory::iter::<Declaration> {
        let module = match declaration {
            Declaration::Function(site) => site.descriptor().module,
            Declaration::Group(group) => group.module,
        };
        let of = crate_of(module);
        if of == krate {
            declared += 1;
        } else if !seen.iter().any(|known| known == of) {
            seen.push(of.to_owned());
        }
    }
    if declared == 0 {
        seen.sort();
        return Err(CrateCheckError::NothingDeclared { krate, seen });
    }
    crate::check().map_err(CrateCheckError::Conflicts)?;
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn a_module_path_names_its_crate() {
        assert_eq!(crate_of("inventory::api::handlers"), "inventory");
        assert_eq!(crate_of("inventory"), "inventory");
    }
}
