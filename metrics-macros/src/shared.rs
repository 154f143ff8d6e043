//! Pieces every macro shares: where `instrument-metric` is (`crate = path`), the help text
//! from doc comments, bucket lists, series caps, and spans for generated checks.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, ExprUnary, Lit, UnOp};

use crate::ctxt::Errors;

/// The path of the runtime in generated code: `crate = path` when given (the dependency is
/// renamed), `::instrument_metric` otherwise.
pub(crate) fn crate_path(path: Option<&syn::Path>) -> TokenStream {
    path.map_or_else(
        || quote::quote!(::instrument_metric),
        ToTokens::to_token_stream,
    )
}

/// The first non-empty line of the doc comments, as a help text.
pub(crate) fn doc_help(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| {
        let syn::Meta::NameValue(value) = &attr.meta else {
            return None;
        };
        if !value.path.is_ident("doc") {
            return None;
        }
        let Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &value.value
        else {
            return None;
        };
        let text = text.value();
        let line = text.trim();
        (!line.is_empty()).then(|| line.to_owned())
    })
}

/// A `buckets = [...]` list: each bound with its expression (`-1.0` is two tokens).
pub(crate) struct Buckets {
    pub(crate) span: Span,
    pub(crate) bounds: Vec<(f64, Expr)>,
}

impl Buckets {
    /// An error on bound `index`, or on the whole list for `None`.
    pub(crate) fn error(
        &self,
        index: Option<usize>,
        message: impl std::fmt::Display,
    ) -> syn::Error {
        match index {
            Some(i) => syn::Error::new_spanned(&self.bounds[i].1, message),
            None => syn::Error::new(self.span, message),
        }
    }
}

/// Parses `[0.1, 1, 2.5]` bucket bounds, reporting each element that is not a number literal.
pub(crate) fn buckets_from(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Buckets> {
    let array: ExprArray = input.parse()?;
    Ok(parse_buckets(&array, errors))
}

fn parse_buckets(array: &ExprArray, errors: &mut Errors) -> Buckets {
    let mut bounds = Vec::new();
    for element in &array.elems {
        match bucket_bound(element) {
            Some(bound) => bounds.push((bound, element.clone())),
            None => errors.at(
                element.span(),
                "bucket bounds must be number literals, such as `0.25` or `10`",
            ),
        }
    }
    Buckets {
        span: array.bracket_token.span.join(),
        bounds,
    }
}

/// The value of a number literal, negated or not.
pub(crate) fn bucket_bound(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => lit.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_digits().parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => bucket_bound(expr).map(|v| -v),
        Expr::Group(group) => bucket_bound(&group.expr),
        _ => None,
    }
}

/// A `max_series = N` cap, with the span of its literal.
pub(crate) struct MaxSeries {
    pub(crate) value: usize,
    pub(crate) span: Span,
}

impl MaxSeries {
    /// Parses the literal after `max_series =`; a value that is not a positive integer is
    /// reported and gives `None`.
    pub(crate) fn parse(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<Self>> {
        let lit: syn::LitInt = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "`max_series` takes an integer literal, such as `max_series = 50_000`",
            )
        })?;
        match lit.base10_parse::<usize>() {
            Ok(value) if value > 0 => Ok(Some(MaxSeries {
                value,
                span: lit.span(),
            })),
            _ => {
                errors.at(
                    lit.span(),
                    "`max_series` is the most series the labels may create: a positive integer, such as `max_series = 50_000`",
                );
                Ok(None)
            }
        }
    }
}

/// The span of the first and of the last token of `tokens` (of a type, say): code spanned from
/// one to the other is reported on all of `tokens`.
pub(crate) fn span_range(tokens: &impl quote::ToTokens) -> (Span, Span) {
    let mut all = tokens.to_token_stream().into_iter();
    let first = all
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    let last = all.last().map_or(first, |token| token.span());
    (first, last)
}

/// A call of `macro_path!(arguments)` reported on the range from `first` to `last`: a failed
/// const evaluation (`panic!`) is reported at the span of the whole macro call, so every token
/// of it is placed in the range.
pub(crate) fn call_at(
    macro_path: TokenStream,
    arguments: TokenStream,
    (first, last): (Span, Span),
) -> TokenStream {
    let mut call = respan(macro_path, first);
    call.extend(respan(quote::quote!(!), first));
    let mut group = proc_macro2::Group::new(
        proc_macro2::Delimiter::Parenthesis,
        respan(arguments, first),
    );
    group.set_span(last);
    call.extend([proc_macro2::TokenTree::Group(group)]);
    call
}

/// `tokens` with every token, inside groups too, placed at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
