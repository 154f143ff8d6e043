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
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, ReturnType, Signature, Type};

use super::plan::{DynamicLabel, OwnFamilies, Plan};
use super::signature::{EraseImplTrait, FutureReturn, future_return};
use crate::shared::call_at;
use crate::validate;

impl Plan {
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

/// The new body of an instrumented function.
pub(super) fn wrap_body(plan: &Plan, sig: &Signature, body: &Group) -> Group {
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
