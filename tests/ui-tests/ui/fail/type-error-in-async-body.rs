use instrument_metric::instrument_metric;

#[instrument_metric]
async fn free() -> Result<u32, String> {
    tokio_free_yield().await;
    Ok("seven")
}

struct Store;

impl Store {
    #[instrument_metric]
    async fn method(&self) -> u32 {
        "not a number"
    }
}

struct Cache;

#[instrument_metric]
impl Cache {
    async fn under_impl(&self, key: &str) -> usize {
        key
    }
}

async fn tokio_free_yield() {}

fn main() {
    let _ = free();
    let _ = Store.method();
    let _ = Cache.under_impl("k");
}
