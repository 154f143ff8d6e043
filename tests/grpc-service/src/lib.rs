//! A small tonic service for the gRPC layer's tests and benchmarks: `echo.v1.Echo`, compiled
//! from `proto/echo.proto` with protox, with a unary method whose request names its outcome,
//! a server stream, a client stream and a bidirectional stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// The generated messages, server and client.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod pb {
    tonic::include_proto!("echo.v1");
}

pub use pb::echo_client::EchoClient;
pub use pb::echo_server::EchoServer;
pub use pb::{CountRequest, Number, SayReply, SayRequest, Total};

/// The encoded `FileDescriptorSet` of `proto/echo.proto`, as protox compiled it (the bytes
/// tonic-reflection would serve).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));

/// The service's full name.
pub const SERVICE: &str = "echo.v1.Echo";

/// The service. `Say`'s text names its outcome: `missing` is `NOT_FOUND`, `invalid`
/// `INVALID_ARGUMENT`, `sleep:N` answers after N ms, `hang` never answers (and counts in
/// [`Echo::hanging`]); anything else is echoed.
#[derive(Clone, Default)]
pub struct Echo {
    /// Calls of `Say("hang")` that started.
    pub hanging: Arc<AtomicU64>,
    /// Streams of `Count` whose client went away (their sender found the stream closed).
    pub abandoned: Arc<AtomicU64>,
}

type NumberStream = Pin<Box<dyn Stream<Item = Result<Number, Status>> + Send>>;

#[tonic::async_trait]
impl pb::echo_server::Echo for Echo {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayReply>, Status> {
        let text = request.into_inner().text;
        match text.as_str() {
            "missing" => return Err(Status::not_found("no such text")),
            "invalid" => return Err(Status::invalid_argument("bad text")),
            "hang" => {
                self.hanging.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
            _ => {}
        }
        if let Some(millis) = text.strip_prefix("sleep:") {
            let millis = millis
                .parse()
                .map_err(|_| Status::invalid_argument("sleep:N"))?;
            tokio::time::sleep(Duration::from_millis(millis)).await;
        }
        Ok(Response::new(SayReply { text }))
    }

    type CountStream = NumberStream;

    async fn count(
        &self,
        request: Request<CountRequest>,
    ) -> Result<Response<Self::CountStream>, Status> {
        let CountRequest {
            count,
            interval_ms,
            fail_at,
        } = request.into_inner();
        let (sender, receiver) = mpsc::channel(1);
        let abandoned = Arc::clone(&self.abandoned);
        tokio::spawn(async move {
            for value in 0..count {
                tokio::time::sleep(Duration::from_millis(interval_ms.into())).await;
                let item = if fail_at != 0 && value == fail_at {
                    Err(Status::aborted("failed part way"))
                } else {
                    Ok(Number {
                        value: value.into(),
                    })
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() {
                    abandoned.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Total>, Status> {
        let mut numbers = request.into_inner();
        let mut total = Total::default();
        while let Some(number) = numbers.message().await? {
            total.sum += number.value;
            total.numbers += 1;
        }
        Ok(Response::new(total))
    }

    type DoubleStream = NumberStream;

    async fn double(
        &self,
        request: Request<Streaming<Number>>,
    ) -> Result<Response<Self::DoubleStream>, Status> {
        let mut numbers = request.into_inner();
        let (sender, receiver) = mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                let item = match numbers.message().await {
                    Ok(Some(number)) => Ok(Number {
                        value: number.value * 2,
                    }),
                    Ok(None) => return,
                    Err(status) => Err(status),
                };
                if sender.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
