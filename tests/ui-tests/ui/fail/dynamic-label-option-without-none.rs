use instrument_metric::{LabelValue, instrument_metric};

#[derive(Clone, Copy, LabelValue)]
enum Auth {
    None,
    Basic,
    Token,
}

#[instrument_metric(name = "login", labels(auth = auth))]
fn login(auth: Option<Auth>) -> bool {
    auth.is_some()
}

#[instrument_metric(name = "lookup", labels(shard = shard))]
fn lookup(shard: Option<u8>) -> bool {
    shard.is_some()
}

fn main() {
    login(None);
    lookup(Some(1));
}
