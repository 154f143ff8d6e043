//! `#[derive(LabelSet)]`: a struct whose fields name the labels of a family and whose field
//! types (`LabelValue` types) give their values.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use super::label_value::label_attr;
use crate::ctxt::Errors;
use crate::shared::crate_path;
use crate::validate;

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    super::run_derive(input, expand)
}

fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        errors.at(ident.span(), "`LabelSet` derives on a struct with named fields, one per label; for an enum of values derive `LabelValue`");
        return TokenStream::new();
    };
    let Fields::Named(fields) = &data.fields else {
        errors.at(ident.span(), "`LabelSet` derives on a struct with named fields, one per label, e.g. `struct SmsLabels { provider: Provider, status: Status }`");
        return TokenStream::new();
    };
    let fields = &fields.named;
    if fields.is_empty() {
        errors.at(
            ident.span(),
            "a `LabelSet` struct needs at least one field, one per label",
        );
    }
    if !input.generics.params.is_empty() {
        errors.at(input.generics.span(), "a `LabelSet` struct cannot be generic: its labels are listed once for the whole program");
    }
    let attr = label_attr(&input.attrs, &["crate"], errors);
    let krate = crate_path(attr.krate.as_ref());
    let private = quote!(#krate::__private);

    let mut names: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let mut index = quote!(0);
    for field in fields {
        let Some(field_ident) = &field.ident else {
            continue;
        };
        let field_attr = label_attr(&field.attrs, &["name"], errors);
        let (name, span) = if let Some(lit) = &field_attr.name {
            (lit.value(), lit.span())
        } else {
            use syn::ext::IdentExt;
            (field_ident.unraw().to_string(), field_ident.span())
        };
        if let Err(message) = validate::label_name(&name, &[]) {
            errors.at(span, message);
        } else if names.contains(&name) {
            errors.at(span, format!("the label `{name}` is given twice; rename one field with `#[label(name = \"...\")]`"));
        }
        names.push(name);
        // Every use of the field's type is spanned on it and written alike, so that a type that
        // is not a `LabelValue` gets one error, on the type.
        let ty = &field.ty;
        let value_list = quote_spanned!(ty.span()=> <#ty as #private::LabelValue>::VALUES);
        let position =
            quote_spanned!(ty.span()=> <#ty as #private::LabelValue>::index(&self.#field_ident));
        // The runtime's one mixed-radix index, a label at a time.
        index = if values.is_empty() {
            position
        } else {
            quote!(#private::next_index(#index, #value_list.len(), #position))
        };
        values.push(value_list);
    }

    quote! {
        #[automatically_derived]
        impl #private::LabelSet for #ident {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            const VALUE_SETS: &'static [&'static [&'static str]] = &[#(#values),*];
            const CARDINALITY: usize = #private::series_count(&[#(#values),*]);

            #[inline]
            fn series_index(&self) -> usize {
                #index
            }
        }
    }
}
