//! `#[instrument_metric(...)]` arguments -> a typed model, with every problem collected.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Token};

use crate::ctxt::{Errors, List};
use crate::shared::{Buckets, MaxSeries, bucket_bound, buckets_from};

/// The arguments the attribute accepts, as listed in error messages.
pub(super) const VALID_ARGUMENTS: &str = "`name = \"...\"`, `counter = \"..._total\"`, \
     `histogram = \"..._seconds\"`, `help = \"...\"`, `function = \"...\"`, \
     `labels(key = \"value\", key = argument, ...)`, `buckets = [...]`, `long_running`, \
     `max_series = N`, `in_flight` (or `in_flight = \"...\"`), `native_histogram`, `ok_if = predicate`, \
     `error_if = predicate`, `error_kinds = Type`, \
     `objective(name = \"...\", success = 99.9, latency = (0.25, 99.0))` and `crate = path`";

/// Where a label of `labels(...)` takes its value from.
pub(crate) enum LabelSource {
    /// `key = "value"`: the same value on every call.
    Literal(LitStr),
    /// `key = argument`: the value of an argument whose type implements `LabelValue`.
    Argument(Ident),
}

/// One `key = ...` pair of `labels(...)`.
pub(crate) struct LabelArg {
    pub(crate) key: Ident,
    pub(crate) value: LabelSource,
}

/// The `in_flight` flag, optionally with an explicit gauge name.
pub(crate) struct InFlight {
    pub(crate) name: Option<LitStr>,
}

/// `ok_if = predicate` or `error_if = predicate`: a function of the returned value.
pub(crate) struct Predicate {
    /// The key, for errors.
    pub(crate) key: Ident,
    /// A path or a closure, called with a reference to the returned value.
    pub(crate) function: Expr,
    /// `true` for `ok_if`.
    pub(crate) ok: bool,
}

/// A number literal of `objective(...)`, with its span.
#[derive(Clone, Copy)]
pub(crate) struct Number {
    pub(crate) value: f64,
    pub(crate) span: Span,
}

/// `objective(name = "...", success = 99.9, latency = (0.25, 99.0))`.
pub(crate) struct ObjectiveArg {
    /// The span of `objective(...)`.
    pub(crate) span: Span,
    pub(crate) name: Option<LitStr>,
    pub(crate) success: Option<Number>,
    /// The threshold in seconds and the percent of calls at most that long.
    pub(crate) latency: Option<(Number, Number)>,
}

/// The parsed attribute arguments. Nothing here is validated yet beyond its syntax.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) counter: Option<LitStr>,
    pub(crate) histogram: Option<LitStr>,
    pub(crate) help: Option<LitStr>,
    pub(crate) function: Option<LitStr>,
    pub(crate) labels: Option<(Span, Vec<LabelArg>)>,
    pub(crate) buckets: Option<Buckets>,
    pub(crate) in_flight: Option<InFlight>,
    /// `long_running`: the buckets are seconds even though they look like milliseconds.
    pub(crate) long_running: Option<Ident>,
    /// `max_series = N`: the cap on the series the function's labels create.
    pub(crate) max_series: Option<MaxSeries>,
    /// `ok_if` or `error_if`.
    pub(crate) predicate: Option<Predicate>,
    /// `error_kinds = Type`.
    pub(crate) error_kinds: Option<syn::Type>,
    pub(crate) objective: Option<ObjectiveArg>,
    /// `native_histogram`: the duration histogram is native too.
    pub(crate) native_histogram: Option<Ident>,
    pub(crate) krate: Option<syn::Path>,
}

impl Args {
    /// Parses the tokens inside `#[instrument_metric(...)]`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let parser = |input: ParseStream<'_>| args.parse_list(input, errors);
        if let Err(error) = parser.parse2(tokens) {
            errors.push(error);
        }
        args
    }

    fn parse_list(&mut self, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<()> {
        while !input.is_empty() {
            let key = input.call(Ident::parse_any_key)?;
            self.parse_one(&key, input, errors)?;
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    }

    fn parse_one(
        &mut self,
        key: &Ident,
        input: ParseStream<'_>,
        errors: &mut Errors,
    ) -> syn::Result<()> {
        let name = key.to_string();
        match name.as_str() {
            "name" | "counter" | "histogram" | "help" | "function" => {
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse().map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        format!("`{key}` takes a string literal, such as `{key} = \"sms_send\"`"),
                    )
                })?;
                let slot = match name.as_str() {
                    "name" => &mut self.name,
                    "counter" => &mut self.counter,
                    "histogram" => &mut self.histogram,
                    "help" => &mut self.help,
                    _ => &mut self.function,
                };
                errors.set(slot, value, key.span(), key);
            }
            "labels" => {
                let content;
                let paren = syn::parenthesized!(content in input);
                let labels = parse_labels(&content, errors)?;
                errors.set(
                    &mut self.labels,
                    (paren.span.join(), labels),
                    key.span(),
                    key,
                );
            }
            "buckets" => {
                input.parse::<Token![=]>()?;
                let buckets = buckets_from(input, errors)?;
                errors.set(&mut self.buckets, buckets, key.span(), key);
            }
            "in_flight" => {
                let name = if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    Some(input.parse::<LitStr>()?)
                } else {
                    None
                };
                errors.set(&mut self.in_flight, InFlight { name }, key.span(), key);
            }
            "long_running" => errors.set(&mut self.long_running, key.clone(), key.span(), key),
            "native_histogram" => {
                errors.set(&mut self.native_histogram, key.clone(), key.span(), key);
            }
            "max_series" => {
                input.parse::<Token![=]>()?;
                if let Some(cap) = MaxSeries::parse(input, errors)? {
                    errors.set(&mut self.max_series, cap, key.span(), key);
                }
            }
            "crate" => {
                input.parse::<Token![=]>()?;
                let path = input.call(syn::Path::parse_mod_style)?;
                errors.set(&mut self.krate, path, key.span(), key);
            }
            "ok_if" | "error_if" => {
                input.parse::<Token![=]>()?;
                let function: Expr = input.parse()?;
                let predicate = Predicate {
                    key: key.clone(),
                    function,
                    ok: name == "ok_if",
                };
                if let Some(first) = &self.predicate {
                    errors.at(
                        key.span(),
                        format!(
                            "`{key}` and `{}` both decide the result; keep one",
                            first.key
                        ),
                    );
                } else {
                    self.predicate = Some(predicate);
                }
            }
            "error_kinds" => {
                input.parse::<Token![=]>()?;
                let ty: syn::Type = input.parse()?;
                errors.set(&mut self.error_kinds, ty, key.span(), key);
            }
            "objective" => {
                let content;
                let paren = syn::parenthesized!(content in input);
                let objective = parse_objective(&content, paren.span.join(), errors)?;
                errors.set(&mut self.objective, objective, key.span(), key);
            }
            _ => {
                errors.unknown(key.span(), key, List::Attribute, VALID_ARGUMENTS);
                skip_value(input)?;
            }
        }
        Ok(())
    }
}

/// Parses the inside of `objective(...)`.
pub(super) fn parse_objective(
    input: ParseStream<'_>,
    span: Span,
    errors: &mut Errors,
) -> syn::Result<ObjectiveArg> {
    let mut objective = ObjectiveArg {
        span,
        name: None,
        success: None,
        latency: None,
    };
    let number = |input: ParseStream<'_>, example: &str| -> syn::Result<Number> {
        let expr: Expr = input.parse()?;
        match bucket_bound(&expr) {
            Some(value) => Ok(Number {
                value,
                span: expr.span(),
            }),
            None => Err(syn::Error::new(
                expr.span(),
                format!("expected a number literal, such as `{example}`"),
            )),
        }
    };
    while !input.is_empty() {
        let key = input.call(Ident::parse_any_key)?;
        input.parse::<Token![=]>()?;
        match key.to_string().as_str() {
            "name" => {
                let value: LitStr = input.parse()?;
                errors.set(&mut objective.name, value, key.span(), &key);
            }
            "success" => {
                let value = number(input, "success = 99.9")?;
                errors.set(&mut objective.success, value, key.span(), &key);
            }
            "latency" => {
                let content;
                syn::parenthesized!(content in input);
                let threshold = number(&content, "latency = (0.25, 99.0)")?;
                content.parse::<Token![,]>()?;
                let percent = number(&content, "latency = (0.25, 99.0)")?;
                if !content.is_empty() {
                    return Err(content.error(
                        "`latency` is a threshold in seconds and a percent of calls at most that long, such as `latency = (0.25, 99.0)`",
                    ));
                }
                errors.set(
                    &mut objective.latency,
                    (threshold, percent),
                    key.span(),
                    &key,
                );
            }
            _ => {
                errors.unknown(
                    key.span(),
                    &key,
                    List::Inner("objective"),
                    "`name = \"...\"`, `success = 99.9` and `latency = (0.25, 99.0)`",
                );
                input.parse::<Expr>()?;
            }
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(objective)
}

/// Skips the value of an unknown argument so that parsing can go on to the next one.
pub(super) fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
    } else if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

pub(super) fn parse_labels(
    input: ParseStream<'_>,
    errors: &mut Errors,
) -> syn::Result<Vec<LabelArg>> {
    use syn::ext::IdentExt as _;
    let mut labels: Vec<LabelArg> = Vec::new();
    while !input.is_empty() {
        let key = if input.peek(LitStr) {
            // `"name" = ...`: report it and read on as if the name were an identifier.
            let quoted: LitStr = input.parse()?;
            let name: String = quoted
                .value()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let name = if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                name
            } else {
                format!("label{name}")
            };
            errors.at(
                quoted.span(),
                format!(
                    "label names are identifiers, not strings; write `labels({name} = ...)` without the quotes"
                ),
            );
            Ident::new(&name, quoted.span())
        } else if input.peek(Ident::peek_any) {
            input.call(Ident::parse_any_key)?
        } else {
            return Err(input.error(
                "expected a label name: `labels(key = \"value\", key = argument)`, with each key an identifier such as `provider`",
            ));
        };
        input.parse::<Token![=]>()?;
        let value = if input.peek(LitStr) {
            Some(LabelSource::Literal(input.parse()?))
        } else if input.peek(Ident) && (input.peek2(Token![,]) || input.peek2(syn::parse::End)) {
            Some(LabelSource::Argument(input.parse()?))
        } else {
            let value: Expr = input.parse()?;
            errors.at(
                value.span(),
                format!(
                    "the value of label `{key}` must be a string literal (`{key} = \"primary\"`) or the name of an argument whose type implements `LabelValue` (`{key} = {key}`)"
                ),
            );
            None
        };
        if let Some(value) = value {
            if labels.iter().any(|label| label.key == key) {
                errors.at(
                    key.span(),
                    format!("the label `{key}` is given twice; keep one"),
                );
            } else {
                labels.push(LabelArg { key, value });
            }
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(labels)
}

/// Parses an argument key, keywords (`crate`, `type`) included.
pub(crate) trait ParseAnyKey {
    fn parse_any_key(input: ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAnyKey for Ident {
    fn parse_any_key(input: ParseStream<'_>) -> syn::Result<Ident> {
        use syn::ext::IdentExt;
        Ident::parse_any(input).map(|ident| ident.unraw())
    }
}
