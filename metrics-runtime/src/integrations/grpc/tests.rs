//! The codes and the end of a call: the status parsing and mapping, and each way a response
//! can end (trailers, headers, no status, an error, a drop, a panic) through the layer with a
//! fake body, read back from the method's cells.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use tower::{Layer as _, ServiceExt as _};

use super::*;
use crate::model::Outcome;
use crate::storage::cells::Readings;

/// A part of a fake response body.
#[derive(Clone, Copy)]
enum Part {
    Data,
    /// Trailers with this `grpc-status`, or none.
    Trailers(Option<&'static str>),
    Fail,
    Panic,
}

/// A body of the given parts, in order; at its end when they are all read.
struct Parts(VecDeque<Part>);

impl Body for Parts {
    type Data = &'static [u8];
    type Error = &'static str;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<&'static [u8]>, &'static str>>> {
        Poll::Ready(self.0.pop_front().map(|part| match part {
            Part::Data => Ok(Frame::data(&b"message"[..])),
            Part::Trailers(status) => {
                let mut trailers = HeaderMap::new();
                if let Some(status) = status {
                    trailers.insert("grpc-status", HeaderValue::from_static(status));
                }
                Ok(Frame::trailers(trailers))
            }
            Part::Fail => Err("reset"),
            Part::Panic => panic!("the body's stream panicked"),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

const PATH: &str = "/unit.Body/Get";

/// A layer of its own (by `prefix`) serving `unit.Body/Get`.
fn layer(prefix: &str) -> GrpcMetricsLayer {
    GrpcMetricsLayer::builder()
        .service("unit.Body", &["Get"])
        .prefix(prefix)
        .build()
        .unwrap()
}

/// The body of a response of `layer` with `headers` (`grpc-status`, or none), HTTP `status`
/// and body `parts`.
async fn respond(
    layer: GrpcMetricsLayer,
    header: Option<&'static str>,
    status: u16,
    parts: &[Part],
) -> ResponseBody<Parts> {
    let parts: VecDeque<Part> = parts.iter().copied().collect();
    let service = layer.layer(tower::service_fn(move |_: Request<()>| {
        let parts = parts.clone();
        async move {
            let mut response = Response::builder().status(status);
            if let Some(code) = header {
                response = response.header("grpc-status", code);
            }
            Ok::<_, Infallible>(response.body(Parts(parts)).unwrap())
        }
    }));
    let request = Request::builder().uri(PATH).body(()).unwrap();
    service.oneshot(request).await.unwrap().into_body()
}

/// The calls of `unit.Body/Get` by code (those exported), and its in-flight count.
fn calls(layer: GrpcMetricsLayer) -> (Vec<(&'static str, u64)>, i64) {
    let method = layer.layer.method(PATH);
    let mut readings = Readings::default();
    let codes: Vec<usize> = method
        .by_code()
        .map(|(code, cells)| {
            readings.push(cells);
            code
        })
        .collect();
    let counts = codes
        .iter()
        .enumerate()
        .map(|(at, code)| (CODES[*code], readings.get(at).calls(Outcome::Ok)))
        .collect();
    (counts, method.in_flight.in_flight())
}

#[tokio::test]
async fn the_code_of_the_trailers_is_recorded_when_they_are_read() {
    let layer = layer("unit_grpc_trailers");
    let mut body = respond(layer, None, 200, &[Part::Data, Part::Trailers(Some("5"))]).await;
    body.frame().await.unwrap().unwrap();
    assert_eq!(calls(layer), (vec![("OK", 0)], 1), "not before its end");
    body.frame().await.unwrap().unwrap();
    assert_eq!(calls(layer), (vec![("OK", 0), ("NOT_FOUND", 1)], 0));
    drop(body);
    assert_eq!(calls(layer), (vec![("OK", 0), ("NOT_FOUND", 1)], 0), "once");
}

#[tokio::test]
async fn a_response_without_a_status_is_unknown() {
    let layer = layer("unit_grpc_no_status");
    // Data to the end of the stream, no trailers.
    respond(layer, None, 200, &[Part::Data])
        .await
        .collect()
        .await
        .unwrap();
    // Trailers without `grpc-status`.
    let parts = [Part::Data, Part::Trailers(None)];
    respond(layer, None, 200, &parts)
        .await
        .collect()
        .await
        .unwrap();
    // An empty body, done before any poll: the server never polls it.
    drop(respond(layer, None, 200, &[]).await);
    assert_eq!(calls(layer), (vec![("OK", 0), ("UNKNOWN", 3)], 0));
}

#[tokio::test]
async fn a_status_in_the_headers_is_the_code_even_when_the_body_is_never_polled() {
    let layer = layer("unit_grpc_headers");
    drop(respond(layer, Some("7"), 200, &[]).await);
    respond(layer, Some("0"), 200, &[])
        .await
        .collect()
        .await
        .unwrap();
    // No `grpc-status`: the HTTP status, as gRPC maps it.
    drop(respond(layer, None, 503, &[]).await);
    let codes = vec![("OK", 1), ("PERMISSION_DENIED", 1), ("UNAVAILABLE", 1)];
    assert_eq!(calls(layer), (codes, 0));
}

#[tokio::test]
async fn a_failed_body_is_internal_and_an_abandoned_one_cancelled() {
    let layer = layer("unit_grpc_abandoned");
    let mut body = respond(layer, None, 200, &[Part::Data, Part::Fail]).await;
    body.frame().await.unwrap().unwrap();
    assert_eq!(body.frame().await.unwrap().unwrap_err(), "reset");
    drop(body);
    let parts = [Part::Data, Part::Data, Part::Trailers(Some("0"))];
    let mut body = respond(layer, None, 200, &parts).await;
    body.frame().await.unwrap().unwrap();
    drop(body);
    let codes = vec![("OK", 0), ("CANCELLED", 1), ("INTERNAL", 1)];
    assert_eq!(calls(layer), (codes, 0));
}

#[test]
fn a_call_dropped_before_its_response_is_cancelled() {
    let layer = layer("unit_grpc_dropped");
    let service = layer.layer(tower::service_fn(|_: Request<()>| {
        std::future::pending::<Result<Response<Parts>, Infallible>>()
    }));
    let request = Request::builder().uri(PATH).body(()).unwrap();
    {
        let mut response = pin!(service.oneshot(request));
        let mut context = Context::from_waker(Waker::noop());
        assert!(response.as_mut().poll(&mut context).is_pending());
        assert_eq!(calls(layer), (vec![("OK", 0)], 1));
    }
    assert_eq!(calls(layer), (vec![("OK", 0), ("CANCELLED", 1)], 0));
}

#[test]
fn a_panic_in_the_handler_or_the_body_is_internal() {
    let layer = layer("unit_grpc_panics");
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        panic!("the handler panicked");
        #[allow(unreachable_code)]
        Ok::<Response<Parts>, Infallible>(Response::new(Parts(VecDeque::new())))
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let request = || Request::builder().uri(PATH).body(()).unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(service.oneshot(request()))
    }));
    assert!(unwound.is_err());
    assert_eq!(calls(layer), (vec![("OK", 0), ("INTERNAL", 1)], 0));
    let mut body = runtime.block_on(respond(layer, None, 200, &[Part::Data, Part::Panic]));
    runtime.block_on(body.frame()).unwrap().unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(body.frame())
    }));
    assert!(unwound.is_err());
    assert_eq!(calls(layer), (vec![("OK", 0), ("INTERNAL", 2)], 0));
}

#[test]
fn a_status_is_its_number_and_anything_else_is_unknown() {
    for (number, name) in CODES.iter().enumerate() {
        let code = parse_status(number.to_string().as_bytes());
        assert_eq!(CODES[usize::from(code)], *name);
    }
    for other in ["17", "99", "256", "1000", "", "-1", " 0", "0x1", "OK"] {
        assert_eq!(parse_status(other.as_bytes()), UNKNOWN, "{other:?}");
    }
}

#[test]
fn an_http_status_maps_as_grpc_says() {
    let name = |status| http_status_code(status).map(|code| CODES[usize::from(code)]);
    assert_eq!(name(200), None);
    assert_eq!(name(400), Some("INTERNAL"));
    assert_eq!(name(401), Some("UNAUTHENTICATED"));
    assert_eq!(name(403), Some("PERMISSION_DENIED"));
    assert_eq!(name(404), Some("UNIMPLEMENTED"));
    for unavailable in [429, 502, 503, 504] {
        assert_eq!(name(unavailable), Some("UNAVAILABLE"));
    }
    for unknown in [201, 301, 415, 500] {
        assert_eq!(name(unknown), Some("UNKNOWN"));
    }
}
