//! What the expansion reads from a function's signature: the types of its arguments and
//! bindings, and the future a non-`async` function returns.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ReturnType, Signature, Type};

use crate::ctxt::Check;

/// The type of argument `name` without references, and how many references were taken off;
/// reports a missing argument or a type the call site's `static` cannot name.
pub(super) fn argument_type(
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
pub(super) fn concrete_type(
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
        if let proc_macro2::TokenTree::Ident(ident) = token
            && (ident == "Self" || ident == "impl" || generics.iter().any(|g| ident == g))
        {
            problem = Some(ident);
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

/// Replaces named lifetimes with `'_`: the call site's `static` cannot name the function's.
struct EraseLifetimes;

impl VisitMut for EraseLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        if lifetime.ident != "static" {
            *lifetime = syn::Lifetime::new("'_", lifetime.span());
        }
    }
}

/// Replaces `impl Trait` with `_`, so that the declared return type can annotate a binding.
pub(super) struct EraseImplTrait;

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

/// How a function that is not an `async fn` returns a future, when its return type says so.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FutureReturn {
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
pub(super) fn future_return(sig: &Signature) -> Option<(FutureReturn, Option<Type>)> {
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
