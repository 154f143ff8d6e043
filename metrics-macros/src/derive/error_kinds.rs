//! `#[derive(ErrorKinds)]`: an enum of errors whose variants are its kinds, data or not.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ctxt::{Errors, List, skip_value};
use crate::shared::{call_at, crate_path};
use crate::validate;

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    super::run_derive(input, expand)
}

/// `#[error_kind(...)]` on a variant, or `#[error_kind(crate = path)]` on the enum.
#[derive(Default)]
struct KindAttr {
    rename: Option<LitStr>,
    transparent: Option<Span>,
    /// `ok`: the kind is of class `ok`, not a failure of the service.
    ok: Option<Span>,
    krate: Option<syn::Path>,
}

fn kind_attr(attrs: &[syn::Attribute], on_enum: bool, errors: &mut Errors) -> KindAttr {
    let mut parsed = KindAttr::default();
    let valid = if on_enum {
        "`crate = path`"
    } else {
        "`rename = \"...\"`, `transparent` and `ok`"
    };
    errors.nested(attrs, "error_kind", |errors, meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = meta.path.span();
        match (key.as_str(), on_enum) {
            ("crate", true) => {
                let path = meta.value()?.call(syn::Path::parse_mod_style)?;
                errors.set(&mut parsed.krate, path, span, &key);
            }
            ("rename", false) => {
                let lit: LitStr = meta.value()?.parse()?;
                errors.set(&mut parsed.rename, lit, span, &key);
            }
            ("transparent", false) => errors.set(&mut parsed.transparent, span, span, &key),
            ("ok", false) => errors.set(&mut parsed.ok, span, span, &key),
            _ => {
                errors.unknown(span, meta.path.to_token_stream(), List::Here, valid);
                skip_value(&meta)?;
            }
        }
        Ok(())
    });
    parsed
}

/// One variant: its own kind, or the kinds of its one field's type.
enum VariantKind {
    /// Its name, and whether it is of class `ok`.
    Own(String, bool),
    Transparent(Box<syn::Type>),
}

fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let ident = &input.ident;
    let Data::Enum(data) = &input.data else {
        errors.at(
            ident.span(),
            "`ErrorKinds` derives on an enum of errors whose variants are the kinds, e.g. `enum SmsError { Failed, RateLimited }`",
        );
        return TokenStream::new();
    };
    if !input.generics.params.is_empty() {
        errors.at(
            input.generics.span(),
            "an `ErrorKinds` enum cannot be generic: its kinds are listed once for the whole program",
        );
    }
    if data.variants.is_empty() {
        errors.at(
            ident.span(),
            "an enum without variants has no kinds of error; list the kinds as variants",
        );
    }
    let attr = kind_attr(&input.attrs, true, errors);
    let krate = crate_path(attr.krate.as_ref());
    let kinds = variant_kinds(data, errors);
    generate(ident, &kinds, &quote!(#krate::__private))
}

/// Each variant with its kind, checked.
fn variant_kinds<'a>(
    data: &'a syn::DataEnum,
    errors: &mut Errors,
) -> Vec<(&'a syn::Variant, VariantKind)> {
    let mut kinds = Vec::new();
    for variant in &data.variants {
        let variant_attr = kind_attr(&variant.attrs, false, errors);
        if let (Some(_), Some(ok)) = (variant_attr.transparent, variant_attr.ok) {
            errors.at(
                ok,
                "a `transparent` variant takes the kinds of its field, with their classes; mark the field type's variants `ok` instead",
            );
        }
        let ok = variant_attr.ok.is_some();
        let kind = match (variant_attr.transparent, &variant_attr.rename) {
            (Some(span), Some(_)) => {
                errors.at(
                    span,
                    "a `transparent` variant takes the kinds of its field; it cannot be renamed too",
                );
                continue;
            }
            (Some(span), None) => {
                let mut fields = variant.fields.iter();
                if let (Some(field), None) = (fields.next(), fields.next()) {
                    VariantKind::Transparent(Box::new(field.ty.clone()))
                } else {
                    errors.at(
                        span,
                        format!(
                            "a `transparent` variant has exactly one field, whose type lists its kinds; `{}` has {}",
                            variant.ident,
                            variant.fields.len()
                        ),
                    );
                    continue;
                }
            }
            (None, Some(lit)) => {
                if let Err(message) = validate::label_value(&lit.value()) {
                    errors.at(lit.span(), message);
                }
                VariantKind::Own(lit.value(), ok)
            }
            (None, None) => {
                use syn::ext::IdentExt;
                VariantKind::Own(validate::snake_case(&variant.ident.unraw().to_string()), ok)
            }
        };
        kinds.push((variant, kind));
    }
    kinds
}

/// The `ErrorKinds` impl, with the `const` check that no kind is given twice.
fn generate(
    ident: &syn::Ident,
    kinds: &[(&syn::Variant, VariantKind)],
    private: &TokenStream,
) -> TokenStream {
    // Each variant's first kind, as a const expression: transparent variants take as many
    // places as their field's type has kinds.
    let mut offset = quote!(0usize);
    let mut arms = Vec::new();
    let mut fill = Vec::new();
    for (variant, kind) in kinds {
        let variant_ident = &variant.ident;
        let pattern = match &variant.fields {
            Fields::Unit => quote!(Self::#variant_ident),
            Fields::Unnamed(_) => quote!(Self::#variant_ident(..)),
            Fields::Named(_) => quote!(Self::#variant_ident { .. }),
        };
        match kind {
            VariantKind::Own(value, ok) => {
                arms.push(quote!(#pattern => #offset));
                fill.push(quote! {
                    kinds[at] = #value;
                    oks[at] = #ok;
                    at += 1;
                });
                offset = quote!(#offset + 1);
            }
            VariantKind::Transparent(ty) => {
                let inner = quote_spanned!(ty.span()=> <#ty as #private::ErrorKinds>);
                let binding = if let Fields::Named(fields) = &variant.fields {
                    let name = fields.named.first().and_then(|field| field.ident.as_ref());
                    quote!(Self::#variant_ident { #name: inner })
                } else {
                    quote!(Self::#variant_ident(inner))
                };
                arms.push(quote!(#binding => #offset + #inner::kind_index(inner)));
                fill.push(quote! {
                    let mut i = 0;
                    while i < #inner::KINDS.len() {
                        kinds[at] = #inner::KINDS[i];
                        oks[at] = i < #inner::OK.len() && #inner::OK[i];
                        at += 1;
                        i += 1;
                    }
                });
                offset = quote!(#offset + #inner::KINDS.len());
            }
        }
    }
    let duplicate = format!(
        "two variants of `{ident}` have the same kind (a renamed variant, or a `transparent` variant's field with that kind); give each kind one variant with `#[error_kind(rename = \"...\")]`"
    );
    let duplicate = call_at(
        quote!(#private::panic),
        quote!("{}", #duplicate),
        (ident.span(), ident.span()),
    );
    quote! {
        const _: () = {
            const COUNT: usize = #offset;
            const TABLE: ([&str; COUNT], [bool; COUNT]) = {
                let mut kinds = [""; COUNT];
                let mut oks = [false; COUNT];
                let mut at = 0;
                #(#fill)*
                let _ = at;
                (kinds, oks)
            };
            const KINDS: [&str; COUNT] = TABLE.0;
            const OK: [bool; COUNT] = TABLE.1;
            const _: () = {
                if !#private::distinct_names(&KINDS) {
                    #duplicate
                }
            };

            #[automatically_derived]
            impl #private::ErrorKinds for #ident {
                const KINDS: &'static [&'static str] = &KINDS;
                const OK: &'static [bool] = &OK;

                #[inline]
                fn kind_index(&self) -> usize {
                    match self {
                        #(#arms,)*
                    }
                }
            }
        };
    }
}
