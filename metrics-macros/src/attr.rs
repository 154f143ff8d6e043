//! `#[instrument_metric(...)]` arguments -> a typed model, with every problem collected.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

/// The arguments the attribute accepts, as listed in error messages.
const VALID_ARGUMENTS: &str = "`name = \"...\"`, `counter = \"..._total\"`, \
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

/// Collects errors so that one invocation reports all of them.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Stores `value` in `slot`, or reports that the argument was already given.
fn set_once<T>(slot: &mut Option<T>, value: T, key: &Ident, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(
            key.span(),
            format!("`{key}` is given more than once; keep one"),
        );
    } else {
        *slot = Some(value);
    }
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
                set_once(slot, value, key, errors);
            }
            "labels" => {
                let content;
                let paren = syn::parenthesized!(content in input);
                let labels = parse_labels(&content, errors)?;
                set_once(&mut self.labels, (paren.span.join(), labels), key, errors);
            }
            "buckets" => {
                input.parse::<Token![=]>()?;
                let buckets = buckets_from(input, errors)?;
                set_once(&mut self.buckets, buckets, key, errors);
            }
            "in_flight" => {
                let name = if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    Some(input.parse::<LitStr>()?)
                } else {
                    None
                };
                set_once(&mut self.in_flight, InFlight { name }, key, errors);
            }
            "long_running" => set_once(&mut self.long_running, key.clone(), key, errors),
            "native_histogram" => set_once(&mut self.native_histogram, key.clone(), key, errors),
            "max_series" => {
                input.parse::<Token![=]>()?;
                if let Some(cap) = MaxSeries::parse(input, errors)? {
                    set_once(&mut self.max_series, cap, key, errors);
                }
            }
            "crate" => {
                input.parse::<Token![=]>()?;
                let path = input.call(syn::Path::parse_mod_style)?;
                set_once(&mut self.krate, path, key, errors);
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
                set_once(&mut self.error_kinds, ty, key, errors);
            }
            "objective" => {
                let content;
                let paren = syn::parenthesized!(content in input);
                let objective = parse_objective(&content, paren.span.join(), errors)?;
                set_once(&mut self.objective, objective, key, errors);
            }
            _ => {
                errors.at(
                    key.span(),
                    format!("unknown argument `{key}`; the valid arguments are {VALID_ARGUMENTS}"),
                );
                skip_value(input)?;
            }
        }
        Ok(())
    }
}

/// Parses the inside of `objective(...)`.
fn parse_objective(
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
                set_once(&mut objective.name, value, &key, errors);
            }
            "success" => {
                let value = number(input, "success = 99.9")?;
                set_once(&mut objective.success, value, &key, errors);
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
                set_once(&mut objective.latency, (threshold, percent), &key, errors);
            }
            _ => {
                errors.at(
                    key.span(),
                    format!("unknown argument `{key}` of `objective`; the valid ones are `name = \"...\"`, `success = 99.9` and `latency = (0.25, 99.0)`"),
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
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
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

fn parse_labels(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Vec<LabelArg>> {
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

fn bucket_bound(expr: &Expr) -> Option<f64> {
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

/// Parses `[0.1, 1, 2.5]` bucket bounds, reporting each element that is not a number literal.
pub(crate) fn buckets_from(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Buckets> {
    let array: ExprArray = input.parse()?;
    Ok(parse_buckets(&array, errors))
}

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
