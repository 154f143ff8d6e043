//! `#[instrument_metric]`: the attribute on a function, a method or an `impl` block.
//!
//! The arguments are parsed into a typed model (`args`), the item into a signature and a body
//! kept as tokens (`item`), every argument is checked against the signature into a `Plan`
//! (`plan`, with the types of arguments and returned futures read by `signature`), and the
//! body is wrapped (`expand`).

mod args;
mod expand;
mod item;
mod plan;
mod signature;

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Meta};

use crate::ctxt::Errors;
use args::Args;
use expand::wrap_body;
use item::{FnItem, ImplBlock, ImplMember};
use plan::Plan;

/// Entry point of the attribute: a function, a method, or an `impl` block.
///
/// On errors the item is emitted unchanged beside them, so that its callers do not fail too.
pub(crate) fn instrument_metric(attr: TokenStream, item: TokenStream) -> TokenStream {
    match instrument(attr, item.clone()) {
        Ok(output) => output,
        Err(error) => {
            let mut output = error.into_compile_error();
            output.extend(item);
            output
        }
    }
}

fn instrument(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let args = Args::parse(attr, &mut errors);

    let output = if let Ok(mut function) = syn::parse2::<FnItem>(item.clone()) {
        match &function.body {
            Some(body) => {
                refuse_track_caller(&function.attrs, &mut errors);
                if let Some(plan) = Plan::new(&args, &function.sig, &function.attrs, &mut errors)
                {
                    function.body = Some(wrap_body(&plan, &function.sig, body));
                }
            }
            None => errors.at(
                function.sig.ident.span(),
                "`#[instrument_metric]` needs a function body to wrap; put it on the implementations of this trait method",
            ),
        }
        function.into_token_stream()
    } else if let Ok(block) = ImplBlock::parse(item.clone()) {
        instrument_impl(&args, block, &mut errors)
    } else {
        errors.at(
            Span::call_site(),
            "`#[instrument_metric]` goes on a function, a method or an `impl` block",
        );
        item
    };
    errors.finish()?;
    Ok(output)
}

/// Instruments every method of an `impl` block.
fn instrument_impl(args: &Args, block: ImplBlock, errors: &mut Errors) -> TokenStream {
    let impl_doc = doc_attributes(&block.header.attrs);
    let mut inner: TokenStream = TokenStream::new();
    inner.append_all(block.inner_attrs.iter());
    for item in block.items {
        let mut method = match item {
            ImplMember::Fn(method) => *method,
            ImplMember::Other(other) => {
                inner.extend(other);
                continue;
            }
        };
        let own = take_own_attribute(&mut method.attrs, errors);
        // A `const fn` cannot be instrumented; the block-level attribute leaves it alone.
        let skip = own.is_none() && method.sig.constness.is_some();
        if let (false, Some(body)) = (skip, &method.body) {
            let own_args = own.map(|tokens| Args::parse(tokens, errors));
            let (method_args, doc_attrs) = match &own_args {
                Some(own) => (own, method.attrs.as_slice()),
                None => (args, impl_doc.as_slice()),
            };
            refuse_track_caller(&method.attrs, errors);
            let plan = Plan::new(method_args, &method.sig, doc_attrs, errors);
            if let Some(plan) = plan {
                method.body = Some(wrap_body(&plan, &method.sig, body));
            }
        }
        method.to_tokens(&mut inner);
    }
    let mut body = Group::new(Delimiter::Brace, inner);
    body.set_span(block.brace_span.join());
    let header = block.header_tokens;
    quote!(#header #body)
}

/// Removes a method's own `#[instrument_metric(...)]` inside an instrumented `impl` block.
fn take_own_attribute(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Option<TokenStream> {
    let position = attrs.iter().position(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "instrument_metric")
    })?;
    let attr = attrs.remove(position);
    match attr.meta {
        Meta::Path(_) => Some(TokenStream::new()),
        Meta::List(list) => Some(list.tokens),
        Meta::NameValue(value) => {
            errors.at(
                value.span(),
                "write `#[instrument_metric(...)]`, not `#[instrument_metric = ...]`",
            );
            None
        }
    }
}

/// Refuses `#[track_caller]`: a body that can leave early runs in a closure or an `async`
/// block, where `Location::caller()` would report the function's own line, not its caller's
/// (refused for every body, so that adding a `?` does not change what it reports).
fn refuse_track_caller(attrs: &[Attribute], errors: &mut Errors) {
    if let Some(attr) = attrs
        .iter()
        .find(|attr| attr.path().is_ident("track_caller"))
    {
        errors.at(
            attr.span(),
            "`#[track_caller]` cannot be combined with `#[instrument_metric]`: an instrumented body that can return early runs inside a closure, where `Location::caller()` would report this function's own line instead of its caller's; remove one of the two attributes",
        );
    }
}

/// The doc comments among `attrs`.
fn doc_attributes(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .cloned()
        .collect()
}
