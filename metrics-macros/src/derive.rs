//! The derives, one module each, and what they share.

pub(crate) mod error_kinds;
pub(crate) mod label_set;
pub(crate) mod label_value;
pub(crate) mod metrics;

use proc_macro2::TokenStream;

use crate::ctxt::Errors;

/// Parses a derive's input and runs `expand`; on errors only the errors are emitted.
pub(crate) fn run_derive(
    input: TokenStream,
    expand: fn(&syn::DeriveInput, &mut Errors) -> TokenStream,
) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let output = expand(&input, &mut errors);
    match errors.finish() {
        Ok(()) => output,
        Err(error) => error.into_compile_error(),
    }
}
