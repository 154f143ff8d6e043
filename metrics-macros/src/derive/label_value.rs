//! `#[derive(LabelValue)]`: a fieldless enum whose variants are the label values.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ctxt::{Errors, List, skip_value};
use crate::shared::crate_path;
use crate::validate;

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    super::run_derive(input, expand)
}

/// `#[label(...)]` arguments on the enum or on a variant.
#[derive(Default)]
pub(crate) struct LabelAttr {
    pub(crate) name: Option<LitStr>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) krate: Option<syn::Path>,
}

/// Parses every `#[label(...)]` among `attrs`, accepting the keys in `allowed`.
pub(crate) fn label_attr(
    attrs: &[syn::Attribute],
    allowed: &[&str],
    errors: &mut Errors,
) -> LabelAttr {
    let mut parsed = LabelAttr::default();
    errors.nested(attrs, "label", |errors, meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            let valid: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
            let path = meta.path.to_token_stream();
            errors.unknown(meta.path.span(), path, List::Here, &valid.join(", "));
            return skip_value(&meta);
        }
        let span = meta.path.span();
        match key.as_str() {
            "crate" => {
                let path = meta.value()?.call(syn::Path::parse_mod_style)?;
                errors.set(&mut parsed.krate, path, span, "crate");
            }
            "name" => errors.set(&mut parsed.name, meta.value()?.parse()?, span, "name"),
            _ => errors.set(&mut parsed.rename, meta.value()?.parse()?, span, "rename"),
        }
        Ok(())
    });
    parsed
}

/// The label name: `#[label(name = "...")]`, or the enum's name in `snake_case`; checked either
/// way.
fn label_name(ident: &syn::Ident, name: Option<&LitStr>, errors: &mut Errors) -> String {
    use syn::ext::IdentExt;
    if let Some(lit) = name {
        if let Err(message) = validate::label_name(&lit.value(), &[]) {
            errors.at(lit.span(), message);
        }
        return lit.value();
    }
    let name = validate::snake_case(&ident.unraw().to_string());
    if let Err(message) = validate::label_name(&name, &[]) {
        errors.at(
            ident.span(),
            format!("{message} (the label name of `{ident}` is `{name}`); name the label with `#[label(name = \"...\")]`"),
        );
    }
    name
}

fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let ident = &input.ident;
    let Data::Enum(data) = &input.data else {
        errors.at(
            ident.span(),
            "`LabelValue` derives on a fieldless enum whose variants are the label values, e.g. `enum Provider { Twilio, Vonage }`",
        );
        return TokenStream::new();
    };
    if !input.generics.params.is_empty() {
        errors.at(input.generics.span(), "a `LabelValue` enum cannot be generic: its values are listed once for the whole program");
    }
    let attr = label_attr(&input.attrs, &["name", "crate"], errors);
    let label_name = label_name(ident, attr.name.as_ref(), errors);
    if data.variants.is_empty() {
        errors.at(
            ident.span(),
            "an enum without variants has no label values; list the values as variants",
        );
    }

    let mut values: Vec<(String, proc_macro2::Span)> = Vec::new();
    let mut arms = Vec::new();
    for (index, variant) in data.variants.iter().enumerate() {
        if !matches!(variant.fields, Fields::Unit) {
            errors.at(
                variant.fields.span(),
                format!("label values are fieldless variants, but `{}` carries data; move the data elsewhere", variant.ident),
            );
        }
        let variant_attr = label_attr(&variant.attrs, &["rename"], errors);
        let (value, span) = if let Some(lit) = &variant_attr.rename {
            (lit.value(), lit.span())
        } else {
            use syn::ext::IdentExt;
            (
                validate::snake_case(&variant.ident.unraw().to_string()),
                variant.ident.span(),
            )
        };
        if let Err(message) = validate::label_value(&value) {
            errors.at(span, message);
        }
        if values.iter().any(|(seen, _)| *seen == value) {
            errors.at(span, format!("the label value `{value}` is given twice; rename one of the variants with `#[label(rename = \"...\")]`"));
        }
        values.push((value, span));
        let variant_ident = &variant.ident;
        arms.push(quote!(Self::#variant_ident => #index));
    }

    let krate = crate_path(attr.krate.as_ref());
    let private = quote!(#krate::__private);
    let strings: Vec<&String> = values.iter().map(|(value, _)| value).collect();
    let count = values.len();
    // `Option<Self>` is a label value with `none` for `None`, unless a variant already is.
    let optional = (!values.iter().any(|(value, _)| value == "none")).then(|| {
        quote! {
            #[automatically_derived]
            impl #private::OptionLabelValue for #ident {
                const VALUES_WITH_NONE: &'static [&'static str] = &[#(#strings,)* "none"];
            }
        }
    });
    quote! {
        #optional

        #[automatically_derived]
        impl #private::LabelValue for #ident {
            const LABEL_NAME: &'static str = #label_name;
            const VALUES: &'static [&'static str] = &[#(#strings),*];

            #[inline]
            fn index(&self) -> usize {
                match self {
                    #(#arms,)*
                }
            }
        }

        #[automatically_derived]
        impl #private::LabelSet for #ident {
            const NAMES: &'static [&'static str] = &[#label_name];
            const VALUE_SETS: &'static [&'static [&'static str]] =
                &[<Self as #private::LabelValue>::VALUES];
            const CARDINALITY: usize = #count;

            #[inline]
            fn series_index(&self) -> usize {
                #private::LabelValue::index(self)
            }
        }
    }
}
