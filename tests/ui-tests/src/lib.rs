//! trybuild UI tests of the macros; see `tests/ui.rs`.
