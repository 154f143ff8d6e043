//! The instrumented item: a function, method or trait method, or an `impl` block, with
//! bodies kept as one opaque brace group (parsing every statement was most of the attribute's
//! cost to a user's build).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, TokenStreamExt, quote};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, ImplItem, ItemImpl, Signature, Token, Visibility};

/// A function, method or trait method with its body kept as tokens.
pub(super) struct FnItem {
    pub(super) attrs: Vec<Attribute>,
    pub(super) vis: Visibility,
    /// `default` of a specialising impl's method.
    pub(super) defaultness: Option<Token![default]>,
    pub(super) sig: Signature,
    /// The brace group of the body; `None` for a trait method declared without one.
    pub(super) body: Option<Group>,
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
pub(super) struct ImplBlock {
    /// Everything before the brace group, emitted unchanged.
    pub(super) header_tokens: TokenStream,
    /// The header parsed (with an empty body), for the type name and the doc comments.
    pub(super) header: ItemImpl,
    pub(super) brace_span: proc_macro2::extra::DelimSpan,
    pub(super) inner_attrs: Vec<Attribute>,
    pub(super) items: Vec<ImplMember>,
}

/// One item of an `impl` block.
pub(super) enum ImplMember {
    Fn(Box<FnItem>),
    /// A constant, type or macro item, emitted as it was.
    Other(TokenStream),
}

impl ImplBlock {
    pub(super) fn parse(item: TokenStream) -> syn::Result<ImplBlock> {
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
                if let Ok(function) = fork.parse::<FnItem>()
                    && function.body.is_some()
                {
                    syn::parse::discouraged::Speculative::advance_to(input, &fork);
                    items.push(ImplMember::Fn(Box::new(function)));
                    continue;
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
