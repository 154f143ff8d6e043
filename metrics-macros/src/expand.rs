//! Code generation for `#[instrument_metric]`.
//!
//! The body is wrapped, never rewritten: a guard from the runtime is taken first and records on
//! drop, so early returns, `?`, panics and dropped futures are all counted. The user's block is
//! emitted with its own spans, so type errors inside it point at the user's code.
//!
//! Bodies are never parsed either: the wrapper needs only the signature, and parsing every
//! statement (in a proc macro that users build without optimisation) was most of the
//! attribute's cost to their build. A body stays one opaque brace group from input to output.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, TokenStreamExt, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Expr, ImplItem, ItemImpl, Meta, ReturnType, Signature, Token, Type, Visibility,
};

use crate::attr::{Args, Errors, LabelSource, Number, ObjectiveArg, call_at, doc_help};
use crate::validate::{self, Kind};

/// Labels that every instrumented function carries, set by the macro.
const MACRO_LABELS: &[&str] = &["function", "module", "result"];

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

/// A function, method or trait method with its body kept as tokens.
struct FnItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    /// `default` of a specialising impl's method.
    defaultness: Option<Token![default]>,
    sig: Signature,
    /// The brace group of the body; `None` for a trait method declared without one.
    body: Option<Group>,
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let defaultness = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
            None
        } else {
            let body: Group = input.parse()?;
            if body.delimiter() != Delimiter::Brace {
                return Err(syn::Error::new(body.span(), "expected a function body"));
            }
            Some(body)
        };
        Ok(FnItem {
            attrs,
            vis,
            defaultness,
            sig,
            body,
        })
    }
}

impl ToTokens for FnItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.defaultness.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        match &self.body {
            Some(body) => body.to_tokens(tokens),
            None => <Token![;]>::default().to_tokens(tokens),
        }
    }
}

/// An `impl` block: its header as written, and its items with method bodies kept as tokens.
struct ImplBlock {
    /// Everything before the brace group, emitted unchanged.
    header_tokens: TokenStream,
    /// The header parsed (with an empty body), for the type name and the doc comments.
    header: ItemImpl,
    brace_span: proc_macro2::extra::DelimSpan,
    inner_attrs: Vec<Attribute>,
    items: Vec<ImplMember>,
}

/// One item of an `impl` block.
enum ImplMember {
    Fn(Box<FnItem>),
    /// A constant, type or macro item, emitted as it was.
    Other(TokenStream),
}

impl ImplBlock {
    fn parse(item: TokenStream) -> syn::Result<ImplBlock> {
        let mut tokens: Vec<TokenTree> = item.into_iter().collect();
        let Some(TokenTree::Group(body)) = tokens.pop() else {
            return Err(syn::Error::new(Span::call_site(), "expected an impl block"));
        };
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected an impl block"));
        }
        let header_tokens: TokenStream = tokens.into_iter().collect();
        let empty = Group::new(Delimiter::Brace, TokenStream::new());
        let header: ItemImpl = syn::parse2(quote!(#header_tokens #empty))?;
        let (inner_attrs, items) = (|input: ParseStream<'_>| {
            let inner_attrs = input.call(Attribute::parse_inner)?;
            let mut items = Vec::new();
            while !input.is_empty() {
                let fork = input.fork();
                if let Ok(function) = fork.parse::<FnItem>() {
                    if function.body.is_some() {
                        syn::parse::discouraged::Speculative::advance_to(input, &fork);
                        items.push(ImplMember::Fn(Box::new(function)));
                        continue;
                    }
                }
                let other: ImplItem = input.parse()?;
                items.push(ImplMember::Other(other.into_token_stream()));
            }
            Ok((inner_attrs, items))
        })
        .parse2(body.stream())?;
        Ok(ImplBlock {
            header_tokens,
            header,
            brace_span: body.delim_span(),
            inner_attrs,
            items,
        })
    }
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

/// Names and help texts of the families a function records into, when it has its own.
struct OwnFamilies {
    counter: String,
    counter_help: String,
    histogram: String,
    histogram_help: String,
    in_flight: String,
    in_flight_help: String,
    errors: String,
    errors_help: String,
    /// `help = "..."` was given (not a doc comment or the made-up help).
    help_given: bool,
}

/// A validated `objective(...)`.
struct PlanObjective {
    /// Empty for the default name.
    name: String,
    success: Option<f64>,
    latency: Option<(Number, f64)>,
}

/// Everything the expansion of one function needs, validated.
struct Plan {
    krate: TokenStream,
    /// `function = "..."`; the function's path, read at run time, without it.
    function: Option<String>,
    own: Option<OwnFamilies>,
    in_flight: bool,
    labels: Vec<(String, String)>,
    dynamic: Vec<DynamicLabel>,
    buckets: Vec<f64>,
    /// `native_histogram`: the duration histogram is native too.
    native_histogram: bool,
    /// The most series the dynamic labels may create, and how the user raises it.
    max_series: usize,
    /// The span of `labels(...)`, where a series cap error points.
    labels_span: Span,
    /// `ok_if` (`true`) or `error_if` (`false`), with the predicate.
    predicate: Option<(Expr, bool)>,
    /// `error_kinds = Type`, without named lifetimes.
    error_kinds: Option<Type>,
    objective: Option<PlanObjective>,
}

/// A label whose value comes from an argument of a `LabelValue` type.
struct DynamicLabel {
    key: String,
    argument: syn::Ident,
    /// The argument's type without references, to name its `LabelValue` values in a static.
    ty: Type,
    /// How many references were taken off the argument's type.
    derefs: usize,
}

/// Reports errors for one function and remembers whether any was reported.
struct Check<'a> {
    errors: &'a mut Errors,
    failed: bool,
}

impl Check<'_> {
    fn fail(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.at(span, message);
        self.failed = true;
    }

    /// The value of a metric name literal, checked for `kind`.
    fn name(&mut self, lit: &syn::LitStr, kind: Kind) -> String {
        let value = lit.value();
        if let Err(message) = validate::metric_name(&value, kind) {
            self.fail(lit.span(), message);
        }
        value
    }
}

const SHARED_HINT: &str = "the shared `function_calls_*` families have one label set, help and bucket list for every function; give this function its own metrics with `name = \"...\"`";

impl Plan {
    /// Validates the arguments for one function; `None` when an error was reported.
    fn new(args: &Args, sig: &Signature, attrs: &[Attribute], errors: &mut Errors) -> Option<Plan> {
        let mut check = Check {
            errors,
            failed: false,
        };
        if let Some(constness) = &sig.constness {
            check.fail(
                constness.span(),
                "`#[instrument_metric]` cannot instrument a `const fn`: reading the clock and recording a call are not possible in const evaluation; remove `const` or the attribute",
            );
        }
        let (labels, dynamic) = labels(args, sig, &mut check);
        let diverges =
            matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
        if diverges {
            let value_arguments = args
                .predicate
                .as_ref()
                .map(|predicate| predicate.key.span())
                .into_iter()
                .chain(args.error_kinds.as_ref().map(Spanned::span));
            for span in value_arguments {
                check.fail(
                    span,
                    "this function never returns, so there is no value to classify: it can only panic, which counts as `panic`; remove the argument",
                );
            }
        }
        let buckets = bucket_list(args, &mut check);
        let objective = args
            .objective
            .as_ref()
            .and_then(|objective| plan_objective(objective, &buckets, &mut check));
        let error_kinds = args
            .error_kinds
            .as_ref()
            .and_then(|ty| concrete_type(ty, sig, "`error_kinds`", "ErrorKinds", &mut check));
        let plan = Plan {
            krate: args
                .krate
                .as_ref()
                .map_or_else(|| quote!(::instrument_metric), ToTokens::to_token_stream),
            function: function_label(args, &mut check),
            own: own_families(args, attrs, &mut check),
            in_flight: args.in_flight.is_some(),
            labels,
            dynamic,
            buckets,
            native_histogram: args.native_histogram.is_some(),
            max_series: args
                .max_series
                .as_ref()
                .map_or(validate::DEFAULT_MAX_SERIES, |cap| cap.value),
            labels_span: args
                .labels
                .as_ref()
                .map_or_else(Span::call_site, |(span, _)| *span),
            predicate: args
                .predicate
                .as_ref()
                .map(|predicate| (predicate.function.clone(), predicate.ok)),
            error_kinds,
            objective,
        };
        (!check.failed).then_some(plan)
    }

    /// The call site's `static` value, as a const expression; `path` names the item whose
    /// path gives the function's name.
    fn site(&self, sig: &Signature, path: &syn::Ident, future: bool) -> TokenStream {
        let krate = &self.krate;
        let private = quote!(#krate::__private);
        let asynchronous = sig.asyncness.is_some() || future;
        // The position of the function name, so that conflict reports point at it (and
        // methods of one instrumented `impl` block at their own lines).
        let start = sig.ident.span().start();
        let line = u32::try_from(start.line).unwrap_or(u32::MAX);
        let column = u32::try_from(start.column + 1).unwrap_or(u32::MAX);
        if self.is_default() {
            // The common case in a few tokens: every token here is paid by every function.
            return quote! {
                #private::CallSite::with_defaults(
                    #private::type_name::<#path>,
                    #private::module_path!(),
                    #private::file!(),
                    #line,
                    #column,
                    #asynchronous,
                )
            };
        }
        let descriptor = self.descriptor(&private, path, asynchronous, (line, column));
        quote!(#private::CallSite::new(#descriptor))
    }

    /// The whole `FunctionDescriptor` literal, for an attribute with arguments.
    fn descriptor(
        &self,
        private: &TokenStream,
        path: &syn::Ident,
        asynchronous: bool,
        (line, column): (u32, u32),
    ) -> TokenStream {
        let function = if let Some(name) = &self.function {
            quote!(#private::FunctionName::Given(#name))
        } else {
            quote!(#private::FunctionName::Path(#private::type_name::<#path>))
        };
        let families = match &self.own {
            None => quote!(#private::Families::Shared),
            Some(own) => {
                let OwnFamilies {
                    counter,
                    counter_help,
                    histogram,
                    histogram_help,
                    in_flight,
                    in_flight_help,
                    errors,
                    errors_help,
                    help_given,
                } = own;
                quote!(#private::Families::Own {
                    counter: #counter,
                    counter_help: #counter_help,
                    histogram: #histogram,
                    histogram_help: #histogram_help,
                    in_flight: #in_flight,
                    in_flight_help: #in_flight_help,
                    errors: #errors,
                    errors_help: #errors_help,
                    help_given: #help_given,
                })
            }
        };
        let in_flight = self.in_flight;
        let keys = self.labels.iter().map(|(key, _)| key);
        let values = self.labels.iter().map(|(_, value)| value);
        let dynamic = self.dynamic.iter().map(|label| {
            let key = &label.key;
            let values = label.values(private);
            quote!((#key, #values))
        });
        let buckets = &self.buckets;
        let error_kinds = self.error_kinds.as_ref().map_or_else(
            || quote!(&[]),
            |ty| quote_spanned!(ty.span()=> <#ty as #private::ErrorKinds>::KINDS),
        );
        let objective = match &self.objective {
            None => quote!(#private::Option::None),
            Some(objective) => {
                let name = &objective.name;
                let success = objective.success.map_or_else(
                    || quote!(#private::Option::None),
                    |percent| quote!(#private::Option::Some(#percent)),
                );
                let latency = objective.latency.as_ref().map_or_else(
                    || quote!(#private::Option::None),
                    |(threshold, percent)| {
                        let threshold = threshold.value;
                        quote!(#private::Option::Some((#threshold, #percent)))
                    },
                );
                quote!(#private::Option::Some(#private::Objective {
                    name: #name,
                    success: #success,
                    latency: #latency,
                }))
            }
        };
        let native_histogram = self.native_histogram;
        quote! {
            #private::FunctionDescriptor {
                function: #function,
                module: #private::module_path!(),
                families: #families,
                in_flight: #in_flight,
                labels: &[#((#keys, #values)),*],
                dynamic_labels: &[#(#dynamic),*],
                buckets: &[#(#buckets),*],
                error_kinds: #error_kinds,
                objective: #objective,
                native_histogram: #native_histogram,
                asynchronous: #asynchronous,
                file: #private::file!(),
                line: #line,
                column: #column,
            }
        }
    }

    /// Whether the attribute has no argument that changes the descriptor.
    fn is_default(&self) -> bool {
        self.function.is_none()
            && self.own.is_none()
            && !self.in_flight
            && self.labels.is_empty()
            && self.dynamic.is_empty()
            && self.buckets.is_empty()
            && self.error_kinds.is_none()
            && self.objective.is_none()
            && !self.native_histogram
    }
}

impl DynamicLabel {
    /// `<T as LabelValue>::VALUES`. Every use of the argument's type is spanned on it and
    /// written alike, so that a type that is not a `LabelValue` gets one error, on the type.
    fn values(&self, private: &TokenStream) -> TokenStream {
        let ty = &self.ty;
        quote_spanned!(ty.span()=> <#ty as #private::LabelValue>::VALUES)
    }
}

impl Plan {
    /// The index of a call's series among the combinations of its dynamic labels (the last
    /// label varies fastest), as an expression over the arguments.
    fn series_index(&self) -> TokenStream {
        let krate = &self.krate;
        let private = quote!(#krate::__private);
        let mut index = quote!(0);
        for (position_in_labels, label) in self.dynamic.iter().enumerate() {
            let ty = &label.ty;
            let argument = &label.argument;
            let derefs = (0..label.derefs).map(|_| quote!(*));
            let values = label.values(&private);
            let position = quote_spanned!(ty.span()=>
                <#ty as #private::LabelValue>::index(&#(#derefs)* #argument));
            index = match position_in_labels {
                0 => position,
                1 => quote!(#index * #values.len() + #position),
                _ => quote!((#index) * #values.len() + #position),
            };
        }
        index
    }

    /// A `const` that fails the build when the objective's latency threshold is not a bound of
    /// the default buckets (explicit buckets are checked by the macro itself); nothing
    /// otherwise.
    fn objective_check(&self) -> TokenStream {
        let Some((threshold, _)) = self
            .objective
            .as_ref()
            .and_then(|objective| objective.latency.as_ref())
        else {
            return TokenStream::new();
        };
        if !self.buckets.is_empty() {
            return TokenStream::new();
        }
        let krate = &self.krate;
        let private = quote!(#krate::__private);
        let value = threshold.value;
        let message = format!(
            "the latency threshold of an objective must be a bound of the histogram, which alone tells which calls were faster; `{value}` is not a bound of the default buckets (`instrument_metric::DEFAULT_BUCKETS`): use one of them, or give `buckets = [...]` that include it"
        );
        let fail = call_at(
            quote!(#private::panic),
            quote!("{}", #message),
            (threshold.span, threshold.span),
        );
        quote! {
            const _: () = {
                if !#private::is_bound(#private::DEFAULT_BUCKETS, #value) {
                    #fail
                }
            };
        }
    }

    /// The outcome of the returned value `value` (a reference to it when `by_reference`): the
    /// predicate's answer, `ok` for a `unit` value (nothing to probe), or the probe's (a
    /// `Result`'s variant, a response's status), with the kind of its error when the function
    /// counts kinds.
    fn ending(&self, value: &syn::Ident, by_reference: bool, unit: bool) -> (TokenStream, bool) {
        let krate = &self.krate;
        let private = quote!(#krate::__private);
        // The value and its reference are spanned at the argument that uses them, so that a type
        // error (a predicate of another type, a function that does not return
        // `Result<_, Type>`) is reported on that argument.
        let at = |span: Span| {
            let value = syn::Ident::new(&value.to_string(), Span::mixed_site().located_at(span));
            let reference = (!by_reference).then(|| quote_spanned!(span=> &));
            quote!(#reference #value)
        };
        let reference = (!by_reference).then(|| quote!(&));
        let outcome = if let Some((function, ok)) = &self.predicate {
            let argument = at(function.span());
            quote_spanned!(function.span()=> #private::predicate(#function, #argument, #ok))
        } else if unit {
            quote!(#private::Outcome::Ok)
        } else {
            quote!(#private::outcome_of!(#reference #value))
        };
        if let Some(ty) = &self.error_kinds {
            let argument = at(ty.span());
            let kind = quote_spanned!(ty.span()=>
                #private::error_kind_of::<#ty, _>(#argument));
            (quote!(#private::Ending::with_kind(#outcome, #kind)), true)
        } else {
            (outcome, false)
        }
    }

    /// A `const` that fails the build when the dynamic labels (times the outcomes) make
    /// more series than `max_series` allows; nothing without dynamic labels.
    fn series_limit(&self, asynchronous: bool) -> TokenStream {
        if self.dynamic.is_empty() {
            return TokenStream::new();
        }
        let krate = &self.krate;
        let private = quote!(#krate::__private);
        let values = self.dynamic.iter().map(|label| label.values(&private));
        let outcomes: usize = if asynchronous { 4 } else { 3 };
        let cap = self.max_series;
        let message = validate::too_many_series(
            cap,
            &format!(
                "the dynamic labels of this function (the product of the number of values of their types, times {outcomes} outcomes)"
            ),
            "#[instrument_metric(max_series = N, ...)]",
        );
        let fail = call_at(
            quote!(#private::panic),
            quote!("{}", #message),
            (self.labels_span, self.labels_span),
        );
        quote! {
            const _: () = {
                if #private::series_count(&[#(#values),*]).saturating_mul(#outcomes) > #cap {
                    #fail
                }
            };
        }
    }
}

/// The `function` label when given; without it the function's path decides (at run time).
fn function_label(args: &Args, check: &mut Check<'_>) -> Option<String> {
    let lit = args.function.as_ref()?;
    if lit.value().trim().is_empty() {
        check.fail(
            lit.span(),
            "`function` must not be empty; leave it out to use the function's path",
        );
    }
    Some(lit.value())
}

/// The function's own families, if `name`, `counter` or `histogram` ask for them; refuses the
/// arguments that only make sense for own families when there are none.
fn own_families(args: &Args, attrs: &[Attribute], check: &mut Check<'_>) -> Option<OwnFamilies> {
    let stem = args.name.as_ref().map(|lit| {
        let value = lit.value();
        if let Err(message) = validate::stem(&value) {
            check.fail(lit.span(), message);
        }
        value
    });
    let counter = args
        .counter
        .as_ref()
        .map(|lit| check.name(lit, Kind::Counter));
    let histogram = args
        .histogram
        .as_ref()
        .map(|lit| check.name(lit, Kind::DurationHistogram));
    let in_flight = args
        .in_flight
        .as_ref()
        .and_then(|flag| flag.name.as_ref())
        .map(|lit| check.name(lit, Kind::Gauge));
    let help = match &args.help {
        Some(lit) => {
            if let Err(message) = validate::help(&lit.value()) {
                check.fail(lit.span(), message);
            }
            Some(lit.value())
        }
        None => doc_help(attrs),
    };

    let (counter, histogram, stem) = match (stem, counter, histogram) {
        (Some(stem), counter, histogram) => (
            counter.unwrap_or_else(|| format!("{stem}_total")),
            histogram.unwrap_or_else(|| format!("{stem}_duration_seconds")),
            stem,
        ),
        (None, Some(counter), Some(histogram)) => {
            let stem = counter
                .strip_suffix("_total")
                .unwrap_or(&counter)
                .to_owned();
            (counter, histogram, stem)
        }
        (None, counter, histogram) => {
            refuse_shared(args, counter.is_some(), histogram.is_some(), check);
            return None;
        }
    };
    let help = help.unwrap_or_else(|| format!("Calls of the functions instrumented as `{stem}`."));
    let short = help.trim_end_matches('.');
    let errors = format!("{stem}_errors_total");
    if let Some(ty) = &args.error_kinds {
        if let Err(message) = validate::metric_name(&errors, Kind::Counter) {
            check.fail(
                ty.span(),
                format!("the errors family of this function would be `{errors}`: {message}"),
            );
        }
    }
    Some(OwnFamilies {
        help_given: args.help.is_some(),
        errors,
        errors_help: format!("{short} (errors by kind)."),
        in_flight: in_flight.unwrap_or_else(|| format!("{stem}_in_flight")),
        counter,
        histogram,
        histogram_help: format!("{short} (duration in seconds)."),
        in_flight_help: format!("{short} (calls in flight)."),
        counter_help: help,
    })
}

/// Reports the arguments that need the function's own families when it records into the
/// shared ones.
fn refuse_shared(args: &Args, has_counter: bool, has_histogram: bool, check: &mut Check<'_>) {
    if let (true, false, Some(lit)) = (has_counter, has_histogram, &args.counter) {
        check.fail(
            lit.span(),
            "a function with its own counter needs its own histogram too: add `histogram = \"..._seconds\"`, or use `name = \"...\"` for both",
        );
    }
    if let (false, true, Some(lit)) = (has_counter, has_histogram, &args.histogram) {
        check.fail(
            lit.span(),
            "a function with its own histogram needs its own counter too: add `counter = \"..._total\"`, or use `name = \"...\"` for both",
        );
    }
    if let Some(help) = &args.help {
        check.fail(
            help.span(),
            format!("`help` describes a function's own metrics, but {SHARED_HINT}"),
        );
    }
    if let Some((span, _)) = &args.labels {
        check.fail(
            *span,
            format!("`labels` change the label set, but {SHARED_HINT}"),
        );
    }
    if let Some(buckets) = &args.buckets {
        check.fail(
            buckets.span,
            format!("`buckets` change the bucket list, but {SHARED_HINT}"),
        );
    }
    if let Some(flag) = &args.native_histogram {
        check.fail(
            flag.span(),
            format!("`native_histogram` makes a function's own histogram native (for every histogram: `instrument_metric::set_native_histograms`), but {SHARED_HINT}"),
        );
    }
    if let Some(name) = args.in_flight.as_ref().and_then(|flag| flag.name.as_ref()) {
        check.fail(
            name.span(),
            format!(
                "a named in-flight gauge belongs to a function's own metrics, but {SHARED_HINT}"
            ),
        );
    }
    if let Some(cap) = &args.max_series {
        check.fail(
            cap.span,
            format!("`max_series` caps the series of a function's labels, but {SHARED_HINT}"),
        );
    }
}

/// The `labels(...)` pairs, each name checked: static values, and arguments whose values
/// are a `LabelValue` type.
fn labels(
    args: &Args,
    sig: &Signature,
    check: &mut Check<'_>,
) -> (Vec<(String, String)>, Vec<DynamicLabel>) {
    let (mut fixed, mut dynamic) = (Vec::new(), Vec::new());
    let Some((_, labels)) = &args.labels else {
        return (fixed, dynamic);
    };
    for label in labels {
        let key = label.key.to_string();
        if let Err(message) = validate::label_name(&key, MACRO_LABELS) {
            check.fail(label.key.span(), message);
        }
        match &label.value {
            LabelSource::Literal(value) => {
                if let Err(message) = validate::label_value(&value.value()) {
                    check.fail(value.span(), message);
                }
                fixed.push((key, value.value()));
            }
            LabelSource::Argument(argument) => {
                if let Some((ty, derefs)) = argument_type(sig, argument, check) {
                    dynamic.push(DynamicLabel {
                        key,
                        argument: argument.clone(),
                        ty,
                        derefs,
                    });
                }
            }
        }
    }
    (fixed, dynamic)
}

/// The type of argument `name` without references, and how many references were taken off;
/// reports a missing argument or a type the call site's `static` cannot name.
fn argument_type(
    sig: &Signature,
    name: &syn::Ident,
    check: &mut Check<'_>,
) -> Option<(Type, usize)> {
    let typed = sig.inputs.iter().filter_map(|input| match input {
        syn::FnArg::Typed(typed) => Some(typed),
        syn::FnArg::Receiver(_) => None,
    });
    let mut derefs = 0;
    let mut found = None;
    for typed in typed {
        if let Some((ty, by_ref)) = binding_type(&typed.pat, &typed.ty, name) {
            derefs = usize::from(by_ref);
            found = Some(ty);
            break;
        }
        if binds(&typed.pat, name) {
            check.fail(
                name.span(),
                format!(
                    "`{name}` is bound inside a pattern whose parts' types the macro cannot see (a struct, tuple struct, slice or `@` pattern); a label argument is a plain `name: Type` argument or a part of a tuple pattern of a tuple type (`(p, _n): (Provider, u8)`): take `{name}` as an argument of its own, or destructure the argument in the body"
                ),
            );
            return None;
        }
    }
    let Some(mut ty) = found else {
        check.fail(
            name.span(),
            format!("`{name}` is not an argument of this function; a label value is a string literal or an argument whose type implements `LabelValue`"),
        );
        return None;
    };
    while let Type::Reference(reference) = ty {
        ty = &reference.elem;
        derefs += 1;
    }
    let what = format!("the type of label argument `{name}`");
    concrete_type(ty, sig, &what, "LabelValue", check).map(|ty| (ty, derefs))
}

/// `ty` without named lifetimes, if it names no generic parameter, `Self` or `impl`: the call
/// site's `static` lists the values of the type, so it cannot name them; `what` is reported.
fn concrete_type(
    ty: &Type,
    sig: &Signature,
    what: &str,
    trait_name: &str,
    check: &mut Check<'_>,
) -> Option<Type> {
    let generics: Vec<String> = sig
        .generics
        .type_params()
        .map(|param| param.ident.to_string())
        .collect();
    let mut problem = None;
    for token in ty.to_token_stream() {
        if let proc_macro2::TokenTree::Ident(ident) = token {
            if ident == "Self" || ident == "impl" || generics.iter().any(|g| ident == g) {
                problem = Some(ident);
            }
        }
    }
    if let Some(ident) = problem {
        check.fail(
            ty.span(),
            format!("{what} must be a concrete `{trait_name}` type, not `{ident}`: all its values are listed at start-up"),
        );
        return None;
    }
    let mut ty = ty.clone();
    EraseLifetimes.visit_type_mut(&mut ty);
    Some(ty)
}

/// The type of the binding `name` in the argument pattern `pat` of type `ty`, and whether it
/// binds by reference (`ref name`): the argument itself, or a part of a tuple pattern (nested,
/// or behind a `&` pattern of a reference type).
fn binding_type<'t>(pat: &syn::Pat, ty: &'t Type, name: &syn::Ident) -> Option<(&'t Type, bool)> {
    let ty = match ty {
        Type::Paren(inner) => inner.elem.as_ref(),
        Type::Group(inner) => inner.elem.as_ref(),
        ty => ty,
    };
    match (pat, ty) {
        (syn::Pat::Ident(pat), ty) if pat.ident == *name && pat.subpat.is_none() => {
            Some((ty, pat.by_ref.is_some()))
        }
        (syn::Pat::Paren(pat), ty) => binding_type(&pat.pat, ty, name),
        (syn::Pat::Reference(pat), Type::Reference(ty)) => binding_type(&pat.pat, &ty.elem, name),
        (syn::Pat::Tuple(pat), Type::Tuple(ty))
            if pat.elems.len() == ty.elems.len()
                && !pat.elems.iter().any(|p| matches!(p, syn::Pat::Rest(_))) =>
        {
            pat.elems
                .iter()
                .zip(&ty.elems)
                .find_map(|(pat, ty)| binding_type(pat, ty, name))
        }
        _ => None,
    }
}

/// Whether the argument pattern `pat` binds `name` anywhere.
fn binds(pat: &syn::Pat, name: &syn::Ident) -> bool {
    match pat {
        syn::Pat::Ident(pat) => {
            pat.ident == *name || pat.subpat.as_ref().is_some_and(|(_, sub)| binds(sub, name))
        }
        syn::Pat::Paren(pat) => binds(&pat.pat, name),
        syn::Pat::Reference(pat) => binds(&pat.pat, name),
        syn::Pat::Tuple(pat) => pat.elems.iter().any(|pat| binds(pat, name)),
        syn::Pat::TupleStruct(pat) => pat.elems.iter().any(|pat| binds(pat, name)),
        syn::Pat::Slice(pat) => pat.elems.iter().any(|pat| binds(pat, name)),
        syn::Pat::Struct(pat) => pat.fields.iter().any(|field| binds(&field.pat, name)),
        syn::Pat::Or(pat) => pat.cases.iter().any(|pat| binds(pat, name)),
        _ => false,
    }
}

/// The checked `objective(...)`: targets that are percents strictly between 0 and 100, a
/// positive threshold, a bound of the buckets when they are given (the default buckets are
/// checked by a generated `const`, against the runtime's table).
fn plan_objective(
    objective: &ObjectiveArg,
    buckets: &[f64],
    check: &mut Check<'_>,
) -> Option<PlanObjective> {
    let mut valid = true;
    let mut percent = |number: Number, what: &str| {
        if !(number.value > 0.0 && number.value < 100.0) {
            check.fail(
                number.span,
                format!(
                    "the {what} target of an objective is a percent of calls, between 0 and 100 (both excluded), such as 99.9; `{}` is not",
                    number.value
                ),
            );
            valid = false;
        }
        number.value
    };
    let success = objective.success.map(|number| percent(number, "success"));
    let latency = objective
        .latency
        .map(|(threshold, target)| (threshold, percent(target, "latency")));
    if objective.success.is_none() && objective.latency.is_none() {
        check.fail(
            objective.span,
            "an objective needs a target: `success = 99.9` (percent of calls that succeed), `latency = (0.25, 99.0)` (percent of calls at most 0.25 s long), or both",
        );
        valid = false;
    }
    if let Some((threshold, _)) = &latency {
        if !buckets.is_empty() && !buckets.contains(&threshold.value) {
            let bounds: Vec<String> = buckets.iter().map(ToString::to_string).collect();
            check.fail(
                threshold.span,
                format!(
                    "the latency threshold of an objective must be a bound of the histogram, which alone tells which calls were faster; `{}` is not one of this function's `buckets` [{}]: use one of them, or add it to `buckets`",
                    threshold.value,
                    bounds.join(", ")
                ),
            );
            valid = false;
        }
    }
    let name = match &objective.name {
        Some(lit) => {
            if let Err(message) = validate::objective_name(&lit.value()) {
                check.fail(lit.span(), message);
                valid = false;
            }
            lit.value()
        }
        None => String::new(),
    };
    valid.then_some(PlanObjective {
        name,
        success,
        latency,
    })
}

/// Replaces named lifetimes with `'_`: the call site's `static` cannot name the function's.
struct EraseLifetimes;

impl VisitMut for EraseLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        if lifetime.ident != "static" {
            *lifetime = syn::Lifetime::new("'_", lifetime.span());
        }
    }
}

/// The `buckets = [...]` bounds, checked.
fn bucket_list(args: &Args, check: &mut Check<'_>) -> Vec<f64> {
    let Some(list) = &args.buckets else {
        if let Some(flag) = &args.long_running {
            check.fail(
                flag.span(),
                "`long_running` allows `buckets` of hours, but this function has no `buckets`; remove it, or list the bounds in seconds",
            );
        }
        return Vec::new();
    };
    let bounds: Vec<f64> = list.bounds.iter().map(|(bound, _)| *bound).collect();
    // The histogram of a function measures seconds.
    for (index, message) in validate::buckets(&bounds, true, args.long_running.is_some()) {
        check.errors.push(list.error(index, message));
        check.failed = true;
    }
    for (index, message) in validate::nanosecond_buckets(&bounds) {
        check.errors.push(list.error(Some(index), message));
        check.failed = true;
    }
    bounds
}

/// Replaces `impl Trait` with `_`, so that the declared return type can annotate a binding.
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                attrs: Vec::new(),
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// Splits the leading inner attributes (`#![...]`) off a body, to put them at the start of the
/// wrapper's block rather than inside the closure.
fn split_inner_attributes(body: &Group) -> (Vec<Attribute>, TokenStream) {
    let split = |input: ParseStream<'_>| {
        let inner = input.call(Attribute::parse_inner)?;
        Ok((inner, input.parse::<TokenStream>()?))
    };
    // A `#!` that does not start an attribute is left to rustc, with the rest of the body.
    split
        .parse2(body.stream())
        .unwrap_or_else(|_: syn::Error| (Vec::new(), body.stream()))
}

/// How a function that is not an `async fn` returns a future, when its return type says so.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FutureReturn {
    /// `impl Future<Output = ...>`.
    Impl,
    /// `impl IntoFuture<Output = ...>`.
    IntoFuture,
    /// `Pin<Box<dyn Future<...>>>`, `BoxFuture<'_, ...>` or `LocalBoxFuture<'_, ...>`, the
    /// form `#[async_trait]` gives its methods: the wrapped future is boxed again.
    Boxed,
}

/// The future a non-`async` function returns, if its declared return type is one that can be
/// wrapped (the call is then timed until the future completes, not until it is returned), and
/// the future's output type when the return type names it.
fn future_return(sig: &Signature) -> Option<(FutureReturn, Option<Type>)> {
    if sig.asyncness.is_some() {
        return None;
    }
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let trait_bound = |bound: &syn::TypeParamBound| match bound {
        syn::TypeParamBound::Trait(bound) => bound.path.segments.last().cloned(),
        _ => None,
    };
    match ungroup(ty) {
        Type::ImplTrait(impl_trait) => impl_trait.bounds.iter().find_map(|bound| {
            let segment = trait_bound(bound)?;
            let kind = match segment.ident.to_string().as_str() {
                "Future" => FutureReturn::Impl,
                "IntoFuture" => FutureReturn::IntoFuture,
                _ => return None,
            };
            Some((kind, output_binding(&segment)))
        }),
        Type::Path(path) => {
            let segment = path.path.segments.last()?;
            match segment.ident.to_string().as_str() {
                "BoxFuture" | "LocalBoxFuture" => {
                    Some((FutureReturn::Boxed, first_type_argument(segment).cloned()))
                }
                "Pin" => {
                    let Type::Path(boxed) = ungroup(first_type_argument(segment)?) else {
                        return None;
                    };
                    let segment = boxed.path.segments.last()?;
                    if segment.ident != "Box" {
                        return None;
                    }
                    let Type::TraitObject(object) = ungroup(first_type_argument(segment)?) else {
                        return None;
                    };
                    let future = object
                        .bounds
                        .iter()
                        .filter_map(trait_bound)
                        .find(|segment| segment.ident == "Future")?;
                    Some((FutureReturn::Boxed, output_binding(&future)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `X` of `Future<Output = X>`.
fn output_binding(segment: &syn::PathSegment) -> Option<Type> {
    let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        syn::GenericArgument::AssocType(binding) if binding.ident == "Output" => {
            Some(binding.ty.clone())
        }
        _ => None,
    })
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungroup(&group.elem),
        Type::Paren(paren) => ungroup(&paren.elem),
        other => other,
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// The new body of an instrumented function.
fn wrap_body(plan: &Plan, sig: &Signature, body: &Group) -> Group {
    let (inner_attributes, statements) = split_inner_attributes(body);
    let mut block = Group::new(Delimiter::Brace, statements);
    block.set_span(body.span());
    let future = future_return(sig);
    let site = CallSiteTokens::new(plan, sig, future.is_some());
    let returned = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty.as_ref()),
    };
    let statements = if matches!(returned, Some(Type::Never(_))) {
        // A diverging function can only leave by panicking, which the guard sees on drop.
        let start = site.start(false);
        quote!(#start #block)
    } else {
        let mut return_type = returned.map_or_else(|| syn::parse_quote!(()), Clone::clone);
        EraseImplTrait.visit_type_mut(&mut return_type);
        match future {
            Some((kind, output)) => site.future_call(kind, output, &return_type, &block),
            None => site.call(sig, &return_type, &block),
        }
    };
    let mut group = Group::new(Delimiter::Brace, quote!(#(#inner_attributes)* #statements));
    group.set_span(body.span());
    group
}

/// Whether a body could leave its function before its end, other than by panicking: a
/// `return`, a `?`, or a macro call, which may expand to either. Anywhere in the body, nested
/// closures and items included: a closure costs a little build time, a missed early exit
/// would record a wrong outcome.
fn may_leave_early(tokens: TokenStream) -> bool {
    let mut after_bang = false;
    for tree in tokens {
        let leaves = match &tree {
            TokenTree::Ident(ident) => ident == "return",
            TokenTree::Punct(punct) => punct.as_char() == '?',
            TokenTree::Group(group) => after_bang || may_leave_early(group.stream()),
            TokenTree::Literal(_) => false,
        };
        if leaves {
            return true;
        }
        after_bang = matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == '!');
    }
    false
}

/// The pieces of generated code that declare and use one function's call site.
struct CallSiteTokens {
    private: TokenStream,
    /// The items declaring the call site.
    declare: TokenStream,
    /// The call site's `static`.
    site: syn::Ident,
    /// The series index of the call's dynamic labels.
    index: TokenStream,
    /// The binding of the body's value.
    value: syn::Ident,
    guard: syn::Ident,
    /// The parameter of the closure that classifies a future's output.
    output: syn::Ident,
    /// The statement that gives the guard the outcome of `value`.
    finish: TokenStream,
    /// The `Ending` of the future's output `output` (a reference).
    classify: TokenStream,
}

impl CallSiteTokens {
    fn new(plan: &Plan, sig: &Signature, future: bool) -> Self {
        let krate = &plan.krate;
        let private = quote!(#krate::__private);
        let path = syn::Ident::new("MetricsFunctionPath", Span::mixed_site());
        let site = syn::Ident::new("METRICS_CALL_SITE", Span::mixed_site());
        let site_value = plan.site(sig, &path, future);
        let index = plan.series_index();
        let series_limit = plan.series_limit(sig.asyncness.is_some() || future);
        let objective_check = plan.objective_check();
        // The function's path is that of a type declared here, in its body, which the
        // registry reads when it is built (a unit struct: no code of its own to build).
        let path_item = plan.function.is_none().then(|| quote!(struct #path;));
        let declare = quote! {
            #path_item
            static #site: #private::CallSite = #site_value;
            #private::inventory::submit! { #private::Declaration::Function(&#site) }
            #series_limit
            #objective_check
        };
        let value = syn::Ident::new("metrics_value", Span::mixed_site());
        let guard = syn::Ident::new("metrics_guard", Span::mixed_site());
        let output = syn::Ident::new("metrics_output", Span::mixed_site());
        let unit = match &sig.output {
            ReturnType::Default => true,
            ReturnType::Type(_, ty) => {
                matches!(ty.as_ref(), Type::Tuple(tuple) if tuple.elems.is_empty())
            }
        };
        let (ending, with_kind) = plan.ending(&value, false, unit);
        let finish = if with_kind {
            quote!(#guard.finish_ending(#ending);)
        } else {
            quote!(#guard.finish(#ending);)
        };
        let (ending, with_kind) = plan.ending(&output, true, false);
        let classify = if with_kind {
            ending
        } else {
            quote!(#private::Ending::from(#ending))
        };
        CallSiteTokens {
            private,
            declare,
            site,
            index,
            value,
            guard,
            output,
            finish,
            classify,
        }
    }

    /// `let guard = ...;`: declares the call site and starts the call; `mutable` when the
    /// guard is finished with an outcome.
    fn start(&self, mutable: bool) -> TokenStream {
        let CallSiteTokens {
            private,
            declare,
            site,
            index,
            guard,
            ..
        } = self;
        let mutability = mutable.then(|| quote!(mut));
        quote! {
            let #mutability #guard = {
                #declare
                #private::CallSite::start_at(&#site, #index)
            };
        }
    }

    /// A sync function's body in a closure, or an `async fn`'s in an `async` block, so that a
    /// `return` or `?` in it gives its value to the guard, which records the outcome of the
    /// value; a body that cannot leave early is bound as it is (a closure or an `async` block
    /// is one more function to build per instrumented function).
    fn call(&self, sig: &Signature, return_type: &Type, block: &Group) -> TokenStream {
        let CallSiteTokens {
            private,
            value,
            finish,
            ..
        } = self;
        let start = self.start(true);
        if !may_leave_early(block.stream()) {
            // A body that diverges (`std::process::exit(1)`) makes what follows it
            // unreachable, generated code which alone is allowed to be, and is then a
            // diverging sub-expression of the binding to clippy, which it is not in the
            // function as written.
            return quote! {
                #start
                #[allow(clippy::diverging_sub_expression)]
                let #value: #return_type = #block;
                #[allow(unreachable_code)]
                #finish
                #value
            };
        }
        let run = if sig.asyncness.is_some() {
            // The body's value is bound with the declared type inside the `async` block, so
            // that a type error is reported on the user's expression, not on the attribute.
            let body_value = syn::Ident::new("metrics_body_value", Span::mixed_site());
            // A body that only diverges makes the read of its value unreachable: that read is
            // generated, so it alone is allowed to be.
            quote! {
                let #value: #return_type = async move {
                    let #body_value: #return_type = #block;
                    #[allow(unreachable_code)]
                    return #body_value;
                }
                .await;
            }
        } else {
            quote!(let #value = #private::call::<#return_type, _>(move || #block);)
        };
        quote! {
            #start
            #run
            #finish
            #value
        }
    }

    /// A function returning a future: the future is wrapped, so that the call is timed from
    /// its first poll to its completion, like an `async fn`, and classified by its output.
    fn future_call(
        &self,
        kind: FutureReturn,
        output_type: Option<Type>,
        return_type: &Type,
        block: &Group,
    ) -> TokenStream {
        let CallSiteTokens {
            private,
            declare,
            site,
            index,
            value,
            ..
        } = self;
        let index_value = syn::Ident::new("metrics_index", Span::mixed_site());
        let output = &self.output;
        let inner = if kind == FutureReturn::IntoFuture {
            quote!(#private::IntoFuture::into_future(#value))
        } else {
            quote!(#value)
        };
        // The output type, when written, is known before the outcome probe is resolved (an
        // `async` block that only panics would otherwise be taken for a `Result`).
        let parameter = if let Some(mut ty) = output_type {
            EraseImplTrait.visit_type_mut(&mut ty);
            quote!(#output: &#ty)
        } else {
            quote!(#output)
        };
        let classify = &self.classify;
        let mut instrumented = quote! {
            #private::instrument_future(&#site, #index_value, #inner, |#parameter| #classify)
        };
        if kind == FutureReturn::Boxed {
            instrumented = quote!(#private::Box::pin(#instrumented));
        }
        quote! {
            let #index_value = #index;
            let #value = #private::call::<#return_type, _>(move || #block);
            {
                #declare
                #instrumented
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::may_leave_early;

    fn leaves(body: &str) -> bool {
        may_leave_early(body.parse().expect("the body lexes"))
    }

    #[test]
    fn early_exits_are_seen_at_any_depth() {
        for body in [
            "return 1",
            "if x { return Ok(1); } Ok(2)",
            "let v = f()?; Ok(v)",
            "match x { _ => { g(h()?) } }",
            "let c = || -> Option<u8> { Some(f()?) }; c()",
            "bail!(\"no\")",
            "ensure! { x > 1 }; Ok(())",
            "log::info!(\"{x}\"); 1",
            "vec![1, 2]",
            "!(a && b)",
        ] {
            assert!(leaves(body), "{body}");
        }
    }

    #[test]
    fn bodies_without_one_are_bound_as_they_are() {
        for body in [
            "1",
            "x != y",
            "!x",
            "a.b(|v| v + 1).c::<u8>()",
            "let r#return = 1; r#return",
            "if x { f() } else { loop {} }",
            "Ok(y.parse::<usize>().unwrap_or(0) + x as usize)",
        ] {
            assert!(!leaves(body), "{body}");
        }
    }
}
