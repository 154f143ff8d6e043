//! The `reqwest-middleware` side: [`HttpClientMetrics`] as a `Middleware`, the kind of a
//! reqwest error, and the response body that counts an error while it is read.

use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::axum::body::Bytes;
use ::axum::http::Extensions;
use http_body::{Body as HttpBody, Frame, SizeHint};
use reqwest::{Request, Response, ResponseBuilderExt as _};
use reqwest_middleware::{Middleware, Next};

use crate::integrations::http_client::ErrorKind;
use crate::integrations::http_client::builder::{HttpClientMetrics, Peer};
use crate::integrations::http_client::client::PeerCells;

#[async_trait::async_trait]
impl Middleware for HttpClientMetrics {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !crate::recording() {
            return next.run(request, extensions).await;
        }
        let name = extensions.get::<Peer>().map(Peer::name);
        let peer = self.client.peer_of(name, self.peer);
        let record = self.client.start(peer, request.method());
        match next.run(request, extensions).await {
            Ok(response) => {
                let peer = record.responded(response.status().as_u16());
                Ok(counting_body_errors(response, peer))
            }
            Err(error) => {
                record.failed(kind_of(&error));
                Err(error)
            }
        }
    }
}

/// The kind of an error of the chain below the middleware: reqwest's predicates in the order
/// [`ERROR_KINDS`](super::ERROR_KINDS) documents.
fn kind_of(error: &reqwest_middleware::Error) -> ErrorKind {
    match error {
        reqwest_middleware::Error::Reqwest(error) => reqwest_kind(error),
        reqwest_middleware::Error::Middleware(_) => ErrorKind::Other,
    }
}

fn reqwest_kind(error: &reqwest::Error) -> ErrorKind {
    if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_connect() {
        ErrorKind::Connect
    } else if error.is_redirect() {
        ErrorKind::Redirect
    } else if error.is_body() || error.is_decode() {
        ErrorKind::Body
    } else if error.is_request() || error.is_builder() {
        ErrorKind::Request
    } else {
        ErrorKind::Other
    }
}

/// The kind of an error while the response body is read: `timeout` when reqwest's timeout
/// ended it, `body` otherwise.
fn body_kind(error: &(dyn StdError + 'static)) -> ErrorKind {
    let mut source = Some(error);
    while let Some(error) = source {
        let timed_out = error
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|error| error.kind() == std::io::ErrorKind::TimedOut);
        if timed_out {
            return ErrorKind::Timeout;
        }
        source = error.source();
    }
    ErrorKind::Body
}

/// `response` with its body wrapped to count an error while it is read, its URL and
/// extensions kept.
fn counting_body_errors(response: Response, peer: &'static PeerCells) -> Response {
    let url = response.url().clone();
    let response: ::axum::http::Response<reqwest::Body> = response.into();
    let (mut parts, body) = response.into_parts();
    // `Response::url` is kept in an extension only reqwest can name: carried over through
    // the builder that sets it.
    if let Ok(with_url) = ::axum::http::Response::builder().url(url).body(()) {
        parts.extensions.extend(with_url.into_parts().0.extensions);
    }
    let body = reqwest::Body::wrap(CountingBody { inner: body, peer });
    Response::from(::axum::http::Response::from_parts(parts, body))
}

pin_project_lite::pin_project! {
    /// A response body that counts an error of its peer when reading it fails.
    struct CountingBody {
        #[pin]
        inner: reqwest::Body,
        peer: &'static PeerCells,
    }
}

impl HttpBody for CountingBody {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Err(error))) = &polled
            && crate::recording()
        {
            this.peer.count_error(body_kind(error));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose source is `inner`.
    #[derive(Debug)]
    struct Wrapping(std::io::Error);

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapping")
        }
    }

    impl StdError for Wrapping {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_timeout_found_anywhere_in_a_body_error_is_a_timeout() {
        let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert_eq!(body_kind(&timed_out()), ErrorKind::Timeout);
        assert_eq!(body_kind(&Wrapping(timed_out())), ErrorKind::Timeout);
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(body_kind(&Wrapping(reset)), ErrorKind::Body);
    }
}
