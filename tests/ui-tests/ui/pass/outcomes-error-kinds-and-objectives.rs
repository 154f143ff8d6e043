//! Predicates, error kinds (with data, renamed, transparent) and objectives, on functions,
//! async functions, futures and impl blocks.

use std::future::Future;

use instrument_metric::{ErrorKinds, instrument_metric};

#[derive(Debug, ErrorKinds)]
enum ProviderError {
    RateLimited,
    Unavailable { retry_after: u64 },
}

#[derive(Debug, ErrorKinds)]
enum SyncError {
    Network(std::io::Error),
    #[error_kind(rename = "bad_answer")]
    Parse { line: usize },
    #[error_kind(transparent)]
    Provider(ProviderError),
}

#[derive(Debug, ErrorKinds)]
enum Wrapped {
    #[error_kind(transparent)]
    Boxed { inner: Box<ProviderError> },
}

#[instrument_metric(ok_if = Option::is_some)]
fn lookup(key: u32) -> Option<u32> {
    Some(key)
}

#[instrument_metric(name = "syncs", error_kinds = SyncError, objective(success = 99.0))]
async fn sync() -> Result<(), SyncError> {
    Ok(())
}

#[instrument_metric(
    name = "later",
    error_if = |value: &Result<u8, ProviderError>| value.is_err(),
    error_kinds = ProviderError,
    objective(name = "later_calls", latency = (0.25, 99.0))
)]
fn later() -> impl Future<Output = Result<u8, ProviderError>> {
    async { Ok(1) }
}

struct Api;

#[instrument_metric(
    name = "api_calls",
    buckets = [0.1, 0.5, 1.0],
    objective(success = 99.9, latency = (0.5, 95.0))
)]
impl Api {
    fn get(&self) -> Result<u8, ProviderError> {
        Ok(1)
    }

    async fn put(&self) {}
}

fn main() {
    let _ = lookup(1);
    let _ = sync();
    let _ = later();
    let _ = (Api.get(), Api.put());
    let _ = SyncError::Network(std::io::Error::other("x"));
    let _ = SyncError::Parse { line: 1 };
    let _ = SyncError::Provider(ProviderError::Unavailable { retry_after: 1 });
    let _ = Wrapped::Boxed { inner: Box::new(ProviderError::RateLimited) };
}
