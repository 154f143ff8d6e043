//! `#[derive(Metrics)]`: a struct whose fields are metric families, registered at start-up
//! with one process-wide instance.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Field, Fields, LitStr};

use crate::ctxt::{Errors, List, skip_value};
use crate::shared::{Buckets, MaxSeries, buckets_from, call_at, crate_path, doc_help, span_range};
use crate::validate::{self, Kind};

const VALID_FIELD_ARGUMENTS: &str = "`name = \"...\"`, `help = \"...\"`, `buckets = [...]`, \
     `long_running`, `unitless`, `native_histogram` and `max_series = N`";
const VALID_STRUCT_ARGUMENTS: &str = "`prefix = \"...\"`, `scoped` and `crate = path`";

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
    /// `scoped`: kept out of the global registry, without `global()`.
    scoped: Option<Span>,
}

/// `#[metric(...)]` on a field.
#[derive(Default)]
struct FieldArgs {
    name: Option<LitStr>,
    help: Option<LitStr>,
    buckets: Option<Buckets>,
    /// A histogram of seconds whose buckets go to hours on purpose.
    long_running: Option<Span>,
    /// A histogram of counts of things, whose name carries no unit.
    unitless: Option<Span>,
    /// A histogram that is native too.
    native_histogram: Option<Span>,
    max_series: Option<MaxSeries>,
}

fn struct_args(input: &DeriveInput, errors: &mut Errors) -> StructArgs {
    let mut args = StructArgs::default();
    errors.nested(&input.attrs, "metrics", |errors, meta| {
        let span = meta.path.span();
        if meta.path.is_ident("prefix") {
            let value: LitStr = meta.value()?.parse()?;
            errors.set(&mut args.prefix, value, span, "prefix");
        } else if meta.path.is_ident("crate") {
            let path = meta.value()?.call(syn::Path::parse_mod_style)?;
            errors.set(&mut args.krate, path, span, "crate");
        } else if meta.path.is_ident("scoped") {
            errors.set(&mut args.scoped, span, span, "scoped");
        } else {
            let path = meta.path.to_token_stream();
            let list = List::Of("#[metrics(...)]");
            errors.unknown(span, path, list, VALID_STRUCT_ARGUMENTS);
            skip_value(&meta)?;
        }
        Ok(())
    });
    args
}

fn field_args(field: &Field, errors: &mut Errors) -> FieldArgs {
    let mut args = FieldArgs::default();
    errors.nested(&field.attrs, "metric", |errors, meta| {
        let span = meta.path.span();
        if meta.path.is_ident("name") {
            errors.set(&mut args.name, meta.value()?.parse()?, span, "name");
        } else if meta.path.is_ident("help") {
            errors.set(&mut args.help, meta.value()?.parse()?, span, "help");
        } else if meta.path.is_ident("buckets") {
            let buckets = buckets_from(meta.value()?, errors)?;
            errors.set(&mut args.buckets, buckets, span, "buckets");
        } else if meta.path.is_ident("long_running") {
            errors.set(&mut args.long_running, span, span, "long_running");
        } else if meta.path.is_ident("unitless") {
            errors.set(&mut args.unitless, span, span, "unitless");
        } else if meta.path.is_ident("native_histogram") {
            errors.set(&mut args.native_histogram, span, span, "native_histogram");
        } else if meta.path.is_ident("max_series") {
            if let Some(cap) = MaxSeries::parse(meta.value()?, errors)? {
                errors.set(&mut args.max_series, cap, span, "max_series");
            }
        } else {
            let path = meta.path.to_token_stream();
            let list = List::Of("#[metric(...)]");
            errors.unknown(span, path, list, VALID_FIELD_ARGUMENTS);
            skip_value(&meta)?;
        }
        Ok(())
    });
    args
}

/// A rule that holds for some metric kinds only: the problem (`""` for none) for a counter, a
/// gauge and a histogram field, and the token it is reported on. The type alone knows the kind
/// (`type Sends = IntCounterFamily<Channel>` or a renamed import), so generated code picks the
/// problem through `<T as MetricField>::SHAPE` and fails the build with it.
struct KindRule {
    span: Span,
    by_kind: [String; 3],
}

/// One validated field.
struct Declared<'a> {
    field: &'a Field,
    ident: &'a syn::Ident,
    name: String,
    help: String,
    buckets: Vec<f64>,
    native_histogram: bool,
    kind_rules: Vec<KindRule>,
    max_series: usize,
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
    let krate = crate_path(args.krate.as_ref());
    generate(input, &declared, &krate, args.scoped)
}

/// Validates one field: its name (prefix and field name, or `name`), help and buckets; the
/// rules that depend on the field's kind become [`KindRule`]s.
fn declare<'a>(
    field: &'a Field,
    prefix: Option<&LitStr>,
    earlier: &[Declared<'_>],
    errors: &mut Errors,
) -> Option<Declared<'a>> {
    let field_ident = field.ident.as_ref()?;
    let args = field_args(field, errors);
    let (name, span) = if let Some(lit) = &args.name {
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
    let via = if args.name.is_none() {
        format!(" (the name of field `{field_ident}` is `{name}`)")
    } else {
        String::new()
    };
    let mut kind_rules = Vec::new();
    if let Err(message) = validate::common(&name) {
        errors.at(span, format!("{message}{via}"));
    } else {
        let histogram = if args.unitless.is_some() {
            Kind::UnitlessHistogram
        } else {
            Kind::Histogram
        };
        let by_kind = [Kind::Counter, Kind::Gauge, histogram].map(|kind| {
            validate::kind_rules(&name, kind)
                .err()
                .map_or_else(String::new, |message| format!("{message}{via}"))
        });
        kind_rules.push(KindRule { span, by_kind });
    }
    if earlier.iter().any(|other| other.name == name) {
        errors.at(span, format!("the metric `{name}` is declared twice in this struct; give one field `#[metric(name = \"...\")]`"));
    }
    let help = if let Some(lit) = &args.help {
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
    let buckets = histogram_arguments(&args, &name, &mut kind_rules, errors);
    Some(Declared {
        field,
        ident: field_ident,
        name,
        help,
        buckets,
        native_histogram: args.native_histogram.is_some(),
        kind_rules,
        max_series: args
            .max_series
            .as_ref()
            .map_or(validate::DEFAULT_MAX_SERIES, |cap| cap.value),
    })
}

/// Checks the arguments that only a histogram takes (`buckets`, `long_running`, `unitless`,
/// `native_histogram`):
/// their values here, their kind through `kind_rules`. Returns the bucket bounds.
fn histogram_arguments(
    args: &FieldArgs,
    name: &str,
    kind_rules: &mut Vec<KindRule>,
    errors: &mut Errors,
) -> Vec<f64> {
    let mut only_histograms = |span: Span, what: &str| {
        let message = format!("{what} only apply to a histogram field");
        kind_rules.push(KindRule {
            span,
            by_kind: [message.clone(), message, String::new()],
        });
    };
    if let Some(span) = args.unitless {
        only_histograms(span, "`unitless` and the units it waives");
    }
    if let Some(span) = args.native_histogram {
        only_histograms(span, "`native_histogram` and the native buckets it adds");
    }
    if let Some(span) = args.long_running {
        if args.buckets.is_none() {
            errors.at(
                span,
                "`long_running` allows `buckets` of hours, but this field has no `buckets`; remove it, or list the bounds in seconds",
            );
        }
        only_histograms(span, "`long_running` and the buckets it allows");
    }
    let Some(list) = &args.buckets else {
        return Vec::new();
    };
    only_histograms(list.span, "`buckets`");
    let bounds: Vec<f64> = list.bounds.iter().map(|(bound, _)| *bound).collect();
    let seconds = name.ends_with("_seconds");
    for (index, message) in validate::buckets(&bounds, seconds, args.long_running.is_some()) {
        errors.push(list.error(index, message));
    }
    bounds
}

/// The `const` item that fails the build for a field whose type breaks a rule: a rule of
/// another kind than the type's, two labels of one name, or more series than `max_series`.
/// One item per field (each is a body to check and evaluate); its first failure is reported.
fn field_checks(field: &Declared<'_>, private: &TokenStream) -> TokenStream {
    let ty = &field.field.ty;
    let as_field = quote_spanned!(ty.span()=> <#ty as #private::MetricField>);
    let mut checks = TokenStream::new();
    for (index, rule) in field.kind_rules.iter().enumerate() {
        if rule.by_kind.iter().all(String::is_empty) {
            continue;
        }
        let [counter, gauge, histogram] = &rule.by_kind;
        // The binding's name is one no user `const` has (it would turn it into a pattern).
        let problem = syn::Ident::new(&format!("__metrics_problem_{index}"), Span::call_site());
        let fail = call_at(
            quote!(#private::panic),
            quote!("{}", #problem),
            (rule.span, rule.span),
        );
        checks.extend(quote! {
            let #problem = #private::for_kind(#as_field::SHAPE, #counter, #gauge, #histogram);
            if !#problem.is_empty() {
                #fail
            }
        });
    }
    let duplicate = "two labels of this family have the same name (a tuple of one `LabelValue` type twice, or two types with the same `#[label(name = \"...\")]`); label the family with a struct deriving `LabelSet`, whose field names are the label names";
    let at_type = span_range(ty);
    let duplicate = call_at(quote!(#private::panic), quote!("{}", #duplicate), at_type);
    let cap = field.max_series;
    let too_many = validate::too_many_series(
        cap,
        "the label types of this family (the product of the number of values of each)",
        "#[metric(max_series = N)]",
    );
    let too_many = call_at(quote!(#private::panic), quote!("{}", #too_many), at_type);
    quote! {
        const _: () = {
            #checks
            if !#private::distinct_names(#as_field::LABEL_NAMES) {
                #duplicate
            }
            if #private::series_count(#as_field::LABEL_VALUES) > #cap {
                #too_many
            }
        };
    }
}

fn generate(
    input: &DeriveInput,
    declared: &[Declared<'_>],
    krate: &TokenStream,
    scoped: Option<Span>,
) -> TokenStream {
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
            native_histogram,
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
                native_histogram: #native_histogram,
                file: #private::file!(),
                line: #line,
                column: #column,
            }
        }
    });
    // The struct with each field's handles, from `make(type, index)`.
    let fields = |make: &dyn Fn(&syn::Type, usize) -> TokenStream| {
        let inits = declared.iter().enumerate().map(|(index, field)| {
            let field_ident = field.ident;
            let value = make(&field.field.ty, index);
            quote!(#field_ident: #value)
        });
        quote!(#ident { #(#inits),* })
    };
    let checks = declared.iter().map(|field| field_checks(field, &private));
    let in_registry = fields(
        &|ty, index| quote_spanned!(ty.span()=> <#ty as #private::MetricField>::register_in(registry, &FIELDS[#index])),
    );
    let global = scoped.is_none().then(|| {
        let in_global = fields(&|ty, index| {
            quote_spanned!(ty.span()=> <#ty as #private::MetricField>::global(&FIELDS[#index]))
        });
        let doc = "The process-wide instance of these metrics, in `instrument_metric::registry()`, with every series at zero from start-up.";
        quote! {
            #private::inventory::submit! { #private::Declaration::Group(&GROUP) }

            #[automatically_derived]
            impl #ident {
                #[doc = #doc]
                #[must_use]
                #vis fn global() -> &'static Self {
                    static INSTANCE: #private::OnceLock<#ident> = #private::OnceLock::new();
                    INSTANCE.get_or_init(|| #in_global)
                }
            }
        }
    });
    quote! {
        #(#checks)*

        const _: () = {
            static FIELDS: [#private::FieldDescriptor; #count] = [#(#descriptors),*];
            static GROUP: #private::GroupDescriptor = #private::GroupDescriptor {
                type_name: #type_name,
                module: #private::module_path!(),
                fields: &FIELDS,
            };
            #global

            #[automatically_derived]
            impl #private::Metrics for #ident {
                fn register_in(registry: &#private::Registry) -> Self {
                    #in_registry
                }
            }
        };
    }
}
