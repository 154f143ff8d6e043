//! `#[derive(Metrics)]`: a struct whose fields are metric families, registered at start-up
//! with one process-wide instance.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Field, Fields, LitStr, Type};

use crate::attr::{Buckets, Errors, buckets_from, doc_help};
use crate::validate::{self, Kind};

const VALID_FIELD_ARGUMENTS: &str = "`name = \"...\"`, `help = \"...\"` and `buckets = [...]`";
const VALID_STRUCT_ARGUMENTS: &str = "`prefix = \"...\"` and `crate = path`";

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    // The code is emitted beside the errors, so that a bad name does not also break every
    // use of `Type::global()`.
    let mut output = expand(&input, &mut errors);
    if let Err(error) = errors.finish() {
        output.extend(error.into_compile_error());
    }
    output
}

/// `#[metrics(...)]` on the struct.
#[derive(Default)]
struct StructArgs {
    prefix: Option<LitStr>,
    krate: Option<syn::Path>,
}

/// `#[metric(...)]` on a field.
#[derive(Default)]
struct FieldArgs {
    name: Option<LitStr>,
    help: Option<LitStr>,
    buckets: Option<Buckets>,
}

fn duplicate(span: Span, key: &str, errors: &mut Errors) {
    errors.at(span, format!("`{key}` is given more than once; keep one"));
}

fn struct_args(input: &DeriveInput, errors: &mut Errors) -> StructArgs {
    let mut args = StructArgs::default();
    for attr in input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("metrics"))
    {
        let result = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("prefix") {
                let value: LitStr = meta.value()?.parse()?;
                if args.prefix.replace(value).is_some() {
                    duplicate(span, "prefix", errors);
                }
            } else if meta.path.is_ident("crate") {
                let path = meta.value()?.call(syn::Path::parse_mod_style)?;
                if args.krate.replace(path).is_some() {
                    duplicate(span, "crate", errors);
                }
            } else {
                errors.at(span, format!("unknown argument `{}`; the valid arguments of `#[metrics(...)]` are {VALID_STRUCT_ARGUMENTS}", meta.path.to_token_stream()));
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    args
}

fn field_args(field: &Field, errors: &mut Errors) -> FieldArgs {
    let mut args = FieldArgs::default();
    for attr in field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("metric"))
    {
        let result = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("name") {
                if args.name.replace(meta.value()?.parse()?).is_some() {
                    duplicate(span, "name", errors);
                }
            } else if meta.path.is_ident("help") {
                if args.help.replace(meta.value()?.parse()?).is_some() {
                    duplicate(span, "help", errors);
                }
            } else if meta.path.is_ident("buckets") {
                let buckets = buckets_from(meta.value()?, errors)?;
                if args.buckets.replace(buckets).is_some() {
                    duplicate(span, "buckets", errors);
                }
            } else {
                errors.at(span, format!("unknown argument `{}`; the valid arguments of `#[metric(...)]` are {VALID_FIELD_ARGUMENTS}", meta.path.to_token_stream()));
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    args
}

/// The metric kind a field's type declares, from the last segment of its path.
fn field_kind(ty: &Type) -> Option<Kind> {
    let Type::Path(path) = ty else { return None };
    let name = path.path.segments.last()?.ident.to_string();
    match name.as_str() {
        "Counter" | "IntCounter" | "CounterFamily" | "IntCounterFamily" => Some(Kind::Counter),
        "Gauge" | "IntGauge" | "GaugeFamily" | "IntGaugeFamily" => Some(Kind::Gauge),
        "Histogram" | "HistogramFamily" => Some(Kind::Histogram),
        _ => None,
    }
}

/// One validated field.
struct Declared<'a> {
    field: &'a Field,
    ident: &'a syn::Ident,
    name: String,
    help: String,
    buckets: Vec<f64>,
}

fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        errors.at(
            ident.span(),
            "`Metrics` derives on a struct whose named fields are metrics",
        );
        return TokenStream::new();
    };
    let Fields::Named(fields) = &data.fields else {
        errors.at(ident.span(), "`Metrics` derives on a struct with named fields: each field name is part of a metric name");
        return TokenStream::new();
    };
    if !input.generics.params.is_empty() {
        errors.at(
            input.generics.span(),
            "a `Metrics` struct cannot be generic: it has one process-wide instance",
        );
    }
    let args = struct_args(input, errors);
    if let Some(prefix) = &args.prefix
        && let Err(message) = validate::prefix(&prefix.value())
    {
        errors.at(prefix.span(), message);
    }
    let mut declared: Vec<Declared<'_>> = Vec::new();
    for field in &fields.named {
        if let Some(field) = declare(field, args.prefix.as_ref(), &declared, errors) {
            declared.push(field);
        }
    }
    if !input.generics.params.is_empty() || declared.len() != fields.named.len() {
        // Generated code for a struct the derive cannot take would only add errors.
        return TokenStream::new();
    }
    let krate = args
        .krate
        .map_or_else(|| quote!(::metrics_runtime), |path| path.to_token_stream());
    generate(input, &declared, &krate)
}

/// Validates one field: its name (prefix and field name, or `name`), help and buckets.
fn declare<'a>(
    field: &'a Field,
    prefix: Option<&LitStr>,
    earlier: &[Declared<'_>],
    errors: &mut Errors,
) -> Option<Declared<'a>> {
    let field_ident = field.ident.as_ref()?;
    let field_args = field_args(field, errors);
    let Some(kind) = field_kind(&field.ty) else {
        errors.at(
            field.ty.span(),
            "a metrics field is one of `Counter`, `IntCounter`, `Gauge`, `IntGauge`, `Histogram`, `CounterFamily<L>`, `IntCounterFamily<L>`, `GaugeFamily<L>`, `IntGaugeFamily<L>` or `HistogramFamily<L>`",
        );
        return None;
    };
    let (name, span) = if let Some(lit) = &field_args.name {
        (lit.value(), lit.span())
    } else {
        use syn::ext::IdentExt;
        let field_name = field_ident.unraw().to_string();
        let name = prefix.map_or_else(
            || field_name.clone(),
            |prefix| format!("{}_{field_name}", prefix.value()),
        );
        (name, field_ident.span())
    };
    if let Err(message) = validate::metric_name(&name, kind) {
        let via = if field_args.name.is_none() {
            format!(" (the name of field `{field_ident}` is `{name}`)")
        } else {
            String::new()
        };
        errors.at(span, format!("{message}{via}"));
    }
    if earlier.iter().any(|other| other.name == name) {
        errors.at(span, format!("the metric `{name}` is declared twice in this struct; give one field `#[metric(name = \"...\")]`"));
    }
    let help = if let Some(lit) = &field_args.help {
        if let Err(message) = validate::help(&lit.value()) {
            errors.at(lit.span(), message);
        }
        lit.value()
    } else {
        doc_help(&field.attrs).unwrap_or_else(|| {
            errors.at(
                field_ident.span(),
                format!("metric `{name}` needs a help text: add a doc comment (`/// What it counts.`) or `#[metric(help = \"...\")]`"),
            );
            String::new()
        })
    };
    let mut buckets = Vec::new();
    if let Some(list) = &field_args.buckets {
        if kind == Kind::Histogram {
            let bounds: Vec<f64> = list.bounds.iter().map(|(bound, _)| *bound).collect();
            for (index, message) in validate::buckets(&bounds) {
                errors.at(index.map_or(list.span, |i| list.bounds[i].1), message);
            }
            buckets = bounds;
        } else {
            errors.at(list.span, "`buckets` only apply to a histogram field");
        }
    }
    Some(Declared {
        field,
        ident: field_ident,
        name,
        help,
        buckets,
    })
}

fn generate(input: &DeriveInput, declared: &[Declared<'_>], krate: &TokenStream) -> TokenStream {
    let private = quote!(#krate::__private);
    let ident = &input.ident;
    let vis = &input.vis;
    let type_name = ident.to_string();
    let count = declared.len();
    let descriptors = declared.iter().map(|field| {
        let Declared {
            name,
            help,
            buckets,
            ..
        } = field;
        let ty = &field.field.ty;
        let start = field.ident.span().start();
        let line = u32::try_from(start.line).unwrap_or(u32::MAX);
        let column = u32::try_from(start.column + 1).unwrap_or(u32::MAX);
        let as_field = quote_spanned!(ty.span()=> <#ty as #private::MetricField>);
        quote! {
            #private::FieldDescriptor {
                name: #name,
                help: #help,
                shape: #as_field::SHAPE,
                label_names: #as_field::LABEL_NAMES,
                label_values: #as_field::LABEL_VALUES,
                buckets: &[#(#buckets),*],
                file: #private::file!(),
                line: #line,
                column: #column,
            }
        }
    });
    let inits = declared.iter().enumerate().map(|(index, field)| {
        let field_ident = field.ident;
        let ty = &field.field.ty;
        quote!(#field_ident: <#ty as #private::MetricField>::resolve(&FIELDS[#index]))
    });
    let doc = "The process-wide instance of these metrics, registered in `metrics_runtime::registry()` with every series at zero from the start.";
    quote! {
        const _: () = {
            static FIELDS: [#private::FieldDescriptor; #count] = [#(#descriptors),*];
            static GROUP: #private::GroupDescriptor = #private::GroupDescriptor {
                type_name: #type_name,
                fields: &FIELDS,
            };
            #private::inventory::submit! { #private::Declaration::Group(&GROUP) }

            #[automatically_derived]
            impl #private::Metrics for #ident {
                fn global() -> &'static Self {
                    static INSTANCE: #private::OnceLock<#ident> = #private::OnceLock::new();
                    INSTANCE.get_or_init(|| #ident { #(#inits),* })
                }
            }

            #[automatically_derived]
            impl #ident {
                #[doc = #doc]
                #[must_use]
                #vis fn global() -> &'static Self {
                    <Self as #private::Metrics>::global()
                }
            }
        };
    }
}
