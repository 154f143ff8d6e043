//! What every macro reports through: one accumulator of errors, so that one invocation reports
//! all of its problems at once, with the two messages every argument list shares (a key given
//! twice, a key that is not one of the list's).

use std::fmt::Display;

use proc_macro2::Span;

/// Collects errors, combined into one `syn::Error` that emits them all.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }

    /// Parses the arguments of every `#[name(...)]` among `attrs` with `each`, reporting what
    /// does not parse and going on with the next attribute.
    pub(crate) fn nested(
        &mut self,
        attrs: &[syn::Attribute],
        name: &str,
        mut each: impl FnMut(&mut Errors, syn::meta::ParseNestedMeta<'_>) -> syn::Result<()>,
    ) {
        for attr in attrs.iter().filter(|attr| attr.path().is_ident(name)) {
            if let Err(error) = attr.parse_nested_meta(|meta| each(self, meta)) {
                self.push(error);
            }
        }
    }

    /// Stores the value of argument `key` (written at `span`) in `slot`, or reports that the
    /// argument was already given. The first value is kept.
    pub(crate) fn set<T>(&mut self, slot: &mut Option<T>, value: T, span: Span, key: impl Display) {
        if slot.is_some() {
            self.at(span, format!("`{key}` is given more than once; keep one"));
        } else {
            *slot = Some(value);
        }
    }

    /// Reports the unknown argument `key` (written at `span`) of a list whose valid arguments
    /// are `valid`.
    pub(crate) fn unknown(&mut self, span: Span, key: impl Display, list: List<'_>, valid: &str) {
        let message = match list {
            List::Attribute => {
                format!("unknown argument `{key}`; the valid arguments are {valid}")
            }
            List::Inner(name) => {
                format!("unknown argument `{key}` of `{name}`; the valid ones are {valid}")
            }
            List::Here => {
                format!("unknown argument `{key}`; the valid arguments here are {valid}")
            }
            List::Of(attribute) => {
                format!(
                    "unknown argument `{key}`; the valid arguments of `{attribute}` are {valid}"
                )
            }
        };
        self.at(span, message);
    }
}

/// Reports the errors of one item and remembers whether any was reported, so that nothing is
/// generated from an item that failed a check.
pub(crate) struct Check<'a> {
    errors: &'a mut Errors,
    failed: bool,
}

impl<'a> Check<'a> {
    pub(crate) fn new(errors: &'a mut Errors) -> Self {
        Check {
            errors,
            failed: false,
        }
    }

    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
        self.failed = true;
    }

    pub(crate) fn fail(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed
    }
}

/// The argument list an unknown argument was found in, as its message names it.
#[derive(Clone, Copy)]
pub(crate) enum List<'a> {
    /// `#[instrument_metric(...)]`.
    Attribute,
    /// A list inside it, such as `objective(...)`.
    Inner(&'a str),
    /// An attribute whose place (enum or variant, struct or field) decides the valid ones.
    Here,
    /// A derive's attribute, such as `#[metrics(...)]`.
    Of(&'a str),
}

/// Skips the value of an unknown argument of a derive's attribute, if it has one, so that
/// parsing goes on to the next argument.
pub(crate) fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    }
    Ok(())
}
