//! The response body: passed through untouched, it finishes the call when the response ends,
//! with the code the client reads, so that a streaming call's duration covers its stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::integrations::grpc::service::{Record, Unwinding};
use crate::integrations::grpc::{CANCELLED, Code, INTERNAL, UNKNOWN, parse_status};

pin_project_lite::pin_project! {
    /// The body of a response of [`GrpcMetricsService`](super::GrpcMetricsService): the
    /// inner body's frames, untouched. The call is recorded when the body ends: with the
    /// `grpc-status` of the response's headers (a trailers-only response) or of its trailers;
    /// `UNKNOWN` when it ends with neither, `INTERNAL` when it fails (the client sees the
    /// stream reset), `CANCELLED` when it is dropped before its end (the client went away or
    /// reset the stream).
    ///
    /// ```
    /// use http_body_util::BodyExt as _;
    /// use instrument_metric::grpc::{GrpcMetricsLayer, ResponseBody};
    /// use tower::{Layer as _, ServiceExt as _};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let layer = GrpcMetricsLayer::builder().service("doc.Body", &["Get"]).build().unwrap();
    /// let service = layer.layer(tower::service_fn(|_: http::Request<String>| async {
    ///     // A trailers-only answer: the status in the headers.
    ///     let response = http::Response::builder().header("grpc-status", "5").body(String::new());
    ///     Ok::<_, std::convert::Infallible>(response.unwrap())
    /// }));
    /// let request = http::Request::builder().uri("/doc.Body/Get").body(String::new()).unwrap();
    /// let body: ResponseBody<String> = service.oneshot(request).await.unwrap().into_body();
    /// body.collect().await.unwrap(); // the call is recorded here, as NOT_FOUND
    /// let text = instrument_metric::render();
    /// assert!(text.contains(r#"grpc_method="Get",grpc_service="doc.Body",grpc_code="NOT_FOUND"} 1"#));
    /// # });
    /// ```
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        record: Option<Record>,
        // The code of the response's headers, if they have one.
        code: Option<Code>,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(record) = this.record.take() {
                let code = if std::thread::panicking() {
                    INTERNAL
                } else {
                    // A status in the headers went with them: the response was complete.
                    this.code.unwrap_or(CANCELLED)
                };
                record.finish(code);
            }
        }
    }
}

impl<B: Body> ResponseBody<B> {
    /// The body `inner` of a response whose headers carry the status `code`, if they do.
    pub(super) fn new(inner: B, record: Option<Record>, code: Option<Code>) -> Self {
        // A body done before its first poll is not polled at all (the server sends the end
        // of the stream with the headers): without a status, it ends without one.
        let code = code.or_else(|| inner.is_end_stream().then_some(UNKNOWN));
        ResponseBody {
            inner,
            record,
            code,
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        let unwinding = Unwinding(this.record);
        let frame = std::task::ready!(this.inner.as_mut().poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => match frame.trailers_ref() {
                Some(trailers) => Some(this.code.unwrap_or_else(|| {
                    trailers
                        .get("grpc-status")
                        .map_or(UNKNOWN, |status| parse_status(status.as_bytes()))
                })),
                // The last data, if the body says so: no trailers follow.
                None if this.inner.is_end_stream() => Some(this.code.unwrap_or(UNKNOWN)),
                None => None,
            },
            Some(Err(_)) => Some(INTERNAL),
            None => Some(this.code.unwrap_or(UNKNOWN)),
        };
        if let Some(code) = code
            && let Some(record) = unwinding.0.take()
        {
            record.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
