use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", labels(provider = provider))]
fn send(provider: &str) -> usize {
    provider.len()
}

fn main() {
    send("twilio");
}
