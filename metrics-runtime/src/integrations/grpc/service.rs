//! The tower side: [`GrpcMetricsLayer`] as a `Layer`, the [`GrpcMetricsService`] it makes, the
//! [`ResponseFuture`] that hands the call to the response body when the response is ready, and
//! the record of one call, finished once with its code.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;

use crate::integrations::grpc::body::ResponseBody;
use crate::integrations::grpc::builder::GrpcMetricsLayer;
use crate::integrations::grpc::methods::{Layer, Method};
use crate::integrations::grpc::{CANCELLED, Code, INTERNAL, http_status_code, parse_status};
use crate::model::Outcome;
use crate::storage::exemplar::current_trace;

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            layer: self.layer,
        }
    }
}

/// The service made by [`GrpcMetricsLayer`]: the service it wraps, with each call recorded.
///
/// ```
/// use instrument_metric::grpc::{GrpcMetricsLayer, GrpcMetricsService};
/// use tower::Layer as _;
///
/// let layer = GrpcMetricsLayer::builder().service("echo.Echo", &["Say"]).build()?;
/// let service: GrpcMetricsService<_> = layer.layer(tower::service_fn(
///     |_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) },
/// ));
/// # drop(service);
/// # Ok::<(), instrument_metric::grpc::GrpcLayerError>(())
/// ```
#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    layer: &'static Layer,
}

impl<S: std::fmt::Debug> std::fmt::Debug for GrpcMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetricsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for GrpcMetricsService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    R: Body,
{
    type Response = Response<ResponseBody<R>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let record = crate::recording()
            .then(|| Record::start(self.layer, self.layer.method(request.uri().path())));
        ResponseFuture {
            inner: self.inner.call(request),
            record,
        }
    }
}

/// One call being recorded, from the request's arrival; finished once with its code, or
/// when dropped unfinished: `CANCELLED` (the client went away, the stream was reset), or
/// `INTERNAL` while a panic unwinds.
pub(super) struct Record {
    layer: &'static Layer,
    method: &'static Method,
    started: u64,
}

impl Record {
    fn start(layer: &'static Layer, method: &'static Method) -> Record {
        method.in_flight.enter(method.in_flight.stripe());
        Record {
            layer,
            method,
            started: method.in_flight.clock.raw(),
        }
    }

    pub(super) fn finish(self, code: Code) {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(code);
    }

    fn observe(&self, code: Code) {
        let clock = self.method.in_flight.clock;
        let ended = clock.raw();
        let nanos = clock.delta_as_nanos(self.started, ended);
        // The stripe of the CPU the call ends on: the count is the sum of the stripes.
        self.method.in_flight.leave(self.method.in_flight.stripe());
        let cells = self.method.code(code, self.layer.bounds);
        cells.record(cells.stripe(), Outcome::Ok, nanos);
        if let Some(native) = &self.method.native {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 ns (104 days)
            native.observe(nanos as f64 / 1e9);
        }
        if let Some(trace) = current_trace() {
            cells.exemplar(trace, Outcome::Ok, nanos, ended);
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // A runtime drops the future of a task that panicked while the panic unwinds (tokio
        // does): the server failed, the client did not go away.
        if std::thread::panicking() {
            self.observe(INTERNAL);
        } else {
            self.observe(CANCELLED);
        }
    }
}

/// Finishes the call as `INTERNAL` if a panic unwinds through a poll: the future or body
/// itself may be dropped only later, outside the unwinding.
pub(super) struct Unwinding<'a>(pub(super) &'a mut Option<Record>);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(record) = self.0.take()
        {
            record.finish(INTERNAL);
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`GrpcMetricsService`]: its response's body is a
    /// [`ResponseBody`], which finishes the call when it ends.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: Body,
{
    type Output = Result<Response<ResponseBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let unwinding = Unwinding(this.record);
        let output = std::task::ready!(this.inner.poll(cx));
        let record = unwinding.0.take();
        Poll::Ready(match output {
            Ok(response) => {
                // A trailers-only response carries its status in its headers; one without
                // `grpc-status` is read by its HTTP status, as a client reads it.
                let code = match response.headers().get("grpc-status") {
                    Some(status) => Some(parse_status(status.as_bytes())),
                    None => http_status_code(response.status().as_u16()),
                };
                Ok(response.map(|body| ResponseBody::new(body, record, code)))
            }
            Err(error) => {
                // No response at all: the client sees the stream reset.
                if let Some(record) = record {
                    record.finish(INTERNAL);
                }
                Err(error)
            }
        })
    }
}
