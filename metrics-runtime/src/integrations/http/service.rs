//! The tower side: [`HttpMetricsLayer`] as a `Layer`, the [`HttpMetricsService`] it makes, and
//! the [`ResponseFuture`] that records a request when its response is ready, or when it is
//! dropped first (the client went away, or the handler panicked).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use ::axum::body::{Body, Bytes, HttpBody};
use ::axum::extract::MatchedPath;
use ::axum::http::{Request, Response};

use crate::instrument::{CAPTURES, CapturedRequest, captured_request};
use crate::integrations::http::body::Counted;
use crate::integrations::http::builder::HttpMetricsLayer;
use crate::integrations::http::routes::{Cached, Layer, METHODS, Route, method_index};
use crate::integrations::http::{CLIENT_CLOSED, SERVER_ERROR, UNMATCHED_ENDPOINT};
use crate::model::Outcome;
use crate::storage::exemplar::current_trace;

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            layer: self.layer,
            native: self.native,
        }
    }
}

/// The service made by [`HttpMetricsLayer`].
#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    layer: &'static Layer,
    native: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for HttpMetricsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetricsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for HttpMetricsService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<R>>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<::axum::BoxError>,
    R: HttpBody<Data = Bytes> + Send + 'static,
    R::Error: Into<::axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let record = if crate::recording() {
            let endpoint = request
                .extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED_ENDPOINT, MatchedPath::as_str);
            match self
                .layer
                .route(endpoint, method_index(request.method()), self.native)
            {
                Cached::Excluded => None,
                Cached::Recorded(route) => Some(Record::start(self.layer, route)),
            }
        } else {
            None
        };
        // `Body::new` of a `Body` is the body itself: no allocation without body sizes.
        let request = match record
            .as_ref()
            .and_then(|record| record.route.request_sizes.as_ref())
        {
            Some(sizes) => request.map(|body| Body::new(Counted::new(body, sizes))),
            None => request.map(Body::new),
        };
        ResponseFuture {
            inner: self.inner.call(request),
            record,
        }
    }
}

/// One request being recorded; records a client-closed request if dropped before the
/// response, a panicked one if dropped while the thread unwinds.
struct Record {
    layer: &'static Layer,
    route: &'static Route,
    started: u64,
}

impl Record {
    fn start(layer: &'static Layer, route: &'static Route) -> Record {
        route.in_flight.enter(route.in_flight.stripe());
        Record {
            layer,
            route,
            started: route.in_flight.clock.raw(),
        }
    }

    fn finish(self, status: u16) {
        let record = std::mem::ManuallyDrop::new(self);
        record.observe(status);
    }

    fn observe(&self, status: u16) {
        let clock = self.route.in_flight.clock;
        let ended = clock.raw();
        let nanos = clock.delta_as_nanos(self.started, ended);
        // The stripe of the CPU the request ends on: the count is the sum of the stripes.
        self.route.in_flight.leave(self.route.in_flight.stripe());
        let cells = self
            .route
            .status(self.layer.status_slot(status), self.layer.bounds);
        cells.record(cells.stripe(), Outcome::Ok, nanos);
        if let Some(native) = &self.route.native {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 ns (104 days)
            native.observe(nanos as f64 / 1e9);
        }
        if let Some(trace) = current_trace() {
            cells.exemplar(trace, Outcome::Ok, nanos, ended);
        }
        // One relaxed load when no test captures anything.
        if CAPTURES.load(Ordering::Relaxed) != 0 {
            captured_request(CapturedRequest {
                endpoint: &self.route.endpoint,
                method: METHODS[self.route.method],
                status: usize::from(status),
                nanos,
            });
        }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // A runtime drops the future of a task that panicked while the panic unwinds (tokio
        // does): the server failed, the client did not go away.
        if std::thread::panicking() {
            self.observe(SERVER_ERROR);
        } else {
            self.observe(CLIENT_CLOSED);
        }
    }
}

/// Records the request as panicked if a panic unwinds through the poll of its response
/// future: the future itself may be dropped only later, outside the unwinding (under a
/// `CatchPanic` layer wrapping this one, or any `catch_unwind` around the poll).
struct Unwinding<'a>(&'a mut Option<Record>);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(record) = self.0.take()
        {
            record.finish(SERVER_ERROR);
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HttpMetricsService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    R: HttpBody<Data = Bytes> + Send + 'static,
    R::Error: Into<::axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let unwinding = Unwinding(this.record);
        let output = std::task::ready!(this.inner.poll(cx));
        let record = unwinding.0.take();
        let sizes = record
            .as_ref()
            .and_then(|record| record.route.response_sizes.as_ref());
        if let Some(record) = record {
            match &output {
                Ok(response) => record.finish(response.status().as_u16()),
                // axum's services are infallible; another stack's error has no status.
                Err(_) => record.finish(SERVER_ERROR),
            }
        }
        Poll::Ready(output.map(|response| match sizes {
            Some(sizes) => response.map(|body| Body::new(Counted::new(body, sizes))),
            None => response.map(Body::new),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::Waker;

    use ::axum::Router;
    use ::axum::http::StatusCode;
    use ::axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;
    use crate::MetricKind;
    use crate::integrations::http::CLIENT_CLOSED_STATUS;
    use crate::testing::capture;

    fn get_request(path: &str) -> Request<Body> {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    /// The status slots `(endpoint, GET)` of `layer` has seen, with their number of requests.
    fn statuses(layer: HttpMetricsLayer, endpoint: &str) -> Vec<(usize, u64)> {
        let routes = layer.layer.routes.read().unwrap();
        let route = routes[&(endpoint.to_owned(), 0)];
        let mut readings = crate::storage::cells::Readings::default();
        let slots: Vec<usize> = route
            .by_status()
            .map(|(slot, cells)| {
                readings.push(cells);
                slot
            })
            .collect();
        slots
            .iter()
            .enumerate()
            .map(|(at, slot)| (*slot, readings.get(at).calls(Outcome::Ok)))
            .collect()
    }

    fn app(layer: HttpMetricsLayer) -> Router {
        Router::new()
            .route("/created", get(|| async { StatusCode::CREATED }))
            .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .route("/never", get(std::future::pending::<&str>))
            .layer(layer)
    }

    #[tokio::test]
    async fn a_status_is_recorded_by_its_code_or_by_its_class() {
        let codes = HttpMetricsLayer::builder()
            .prefix("unit_codes")
            .build()
            .unwrap();
        let classes = HttpMetricsLayer::builder()
            .prefix("unit_classes")
            .status_classes()
            .build()
            .unwrap();
        for layer in [codes, classes] {
            for path in ["/created", "/empty", "/empty", "/missing"] {
                app(layer).oneshot(get_request(path)).await.unwrap();
            }
        }
        assert_eq!(statuses(codes, "/created"), [(201, 1)]);
        assert_eq!(statuses(codes, "/empty"), [(204, 2)]);
        assert_eq!(statuses(codes, "/missing"), [(404, 1)]);
        assert_eq!(statuses(classes, "/created"), [(2, 1)]);
        assert_eq!(statuses(classes, "/empty"), [(2, 2)]);
        assert_eq!(statuses(classes, "/missing"), [(4, 1)]);
    }

    #[test]
    fn a_request_dropped_before_its_response_is_client_closed_and_leaves_no_one_in_flight() {
        let layer = HttpMetricsLayer::builder()
            .prefix("unit_dropped")
            .build()
            .unwrap();
        let in_flight = || {
            let routes = layer.layer.routes.read().unwrap();
            routes[&("/never".to_owned(), 0)].in_flight.in_flight()
        };
        let ((), captured) = capture(|| {
            let mut response = pin!(app(layer).oneshot(get_request("/never")));
            let mut context = Context::from_waker(Waker::noop());
            assert!(response.as_mut().poll(&mut context).is_pending());
            assert_eq!(in_flight(), 1);
        });
        assert_eq!(in_flight(), 0);
        let closed: u16 = CLIENT_CLOSED_STATUS.parse().unwrap();
        let requests = captured.requests("/never");
        assert_eq!(requests.len(), 1);
        assert_eq!((requests[0].0, requests[0].1), ("GET", closed));
        assert_eq!(statuses(layer, "/never"), [(usize::from(closed), 1)]);
    }

    #[test]
    fn the_families_are_declared_when_the_layer_is_built_before_any_request() {
        let layer = HttpMetricsLayer::builder()
            .prefix("unit_declared")
            .body_sizes(&[64.0, 1024.0])
            .build()
            .unwrap();
        assert!(layer.layer.routes.read().unwrap().is_empty());
        // Declared, but written from the first request on: no line names them until then.
        let text = crate::render();
        let named = |line: &str| {
            line.split(['{', ' '])
                .any(|word| word.starts_with("unit_declared_"))
        };
        assert!(!text.lines().any(named), "{text}");
        let catalog = crate::registry().catalog();
        let declared: Vec<(&str, MetricKind, Vec<&str>)> = catalog
            .families
            .iter()
            .filter(|family| family.name.starts_with("unit_declared_"))
            .map(|family| (family.name, family.kind, family.labels.clone()))
            .collect();
        let route = vec!["endpoint", "method"];
        assert_eq!(
            declared,
            [
                (
                    "unit_declared_http_request_duration_seconds",
                    MetricKind::Histogram,
                    route.clone()
                ),
                (
                    "unit_declared_http_request_size_bytes",
                    MetricKind::Histogram,
                    route.clone()
                ),
                (
                    "unit_declared_http_requests_in_flight",
                    MetricKind::Gauge,
                    route.clone()
                ),
                (
                    "unit_declared_http_requests_total",
                    MetricKind::Counter,
                    vec!["endpoint", "method", "status"]
                ),
                (
                    "unit_declared_http_response_size_bytes",
                    MetricKind::Histogram,
                    route
                ),
            ]
        );
    }
}
