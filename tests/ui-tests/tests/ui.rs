//! Compile-time behaviour of the macros: every supported shape compiles (and runs), every
//! misuse is refused with a spanned error whose text is pinned in `ui/fail/*.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
