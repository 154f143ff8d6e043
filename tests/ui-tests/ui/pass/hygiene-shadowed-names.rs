// Generated code must not depend on what the caller's crate calls `core`, `std`, `Result`,
// `Ok`, `Option` or `instrument_metric`.
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
struct Ok;
struct Err;
enum Option {}
struct Some;
type Result = u8;
struct Box;
struct String;
struct inventory;
fn drop() {}

mod instrument_metric {
    pub fn render() -> &'static str {
        "shadowed"
    }
}

#[::instrument_metric::instrument_metric]
fn local() -> Result {
    1
}

#[::instrument_metric::instrument_metric]
async fn local_async(metrics_guard: u8, metrics_value: u8) -> u8 {
    metrics_guard + metrics_value
}

#[::instrument_metric::instrument_metric(name = "shadowed_calls", in_flight)]
fn returns_result() -> ::core::result::Result<u8, u8> {
    ::core::result::Result::Ok(1)
}

#[derive(Clone, Copy, ::instrument_metric::LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(::instrument_metric::LabelSet)]
struct Labels {
    provider: Provider,
}

#[derive(::instrument_metric::Metrics)]
#[metrics(prefix = "hygiene")]
struct HygieneMetrics {
    /// Counted.
    calls_total: ::instrument_metric::IntCounterFamily<Labels>,
    /// Measured.
    sizes_bytes: ::instrument_metric::HistogramFamily<(Provider, bool)>,
}

#[::instrument_metric::instrument_metric(name = "hygiene_send", labels(provider = provider))]
fn send(provider: Provider) -> u8 {
    match provider {
        Provider::Twilio => 1,
        Provider::Vonage => 2,
    }
}

const NAME: &str = ::instrument_metric::metric_name!("hygiene_calls_total");

fn main() {
    HygieneMetrics::global().calls_total.with(Labels { provider: Provider::Vonage }).inc();
    HygieneMetrics::global().sizes_bytes.with((Provider::Twilio, true)).observe(1.0);
    assert_eq!(send(Provider::Vonage), 2);
    assert!(::instrument_metric::render().contains(NAME));
    assert_eq!(local(), 1);
    assert_eq!(returns_result(), ::core::result::Result::Ok(1));
    let _ = local_async(1, 2);
    assert_eq!(instrument_metric::render(), "shadowed");
    assert!(::instrument_metric::render().contains("shadowed_calls_total"));
}
