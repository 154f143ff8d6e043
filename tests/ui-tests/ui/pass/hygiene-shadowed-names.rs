// Generated code must not depend on what the caller's crate calls `core`, `std`, `Result`,
// `Ok`, `Option` or `metrics_runtime`.
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

mod metrics_runtime {
    pub fn render() -> &'static str {
        "shadowed"
    }
}

#[::metrics_runtime::instrument_metric]
fn local() -> Result {
    1
}

#[::metrics_runtime::instrument_metric]
async fn local_async(metrics_guard: u8, metrics_value: u8) -> u8 {
    metrics_guard + metrics_value
}

#[::metrics_runtime::instrument_metric(name = "shadowed_calls", in_flight)]
fn returns_result() -> ::core::result::Result<u8, u8> {
    ::core::result::Result::Ok(1)
}

#[derive(Clone, Copy, ::metrics_runtime::LabelValue)]
enum Provider {
    Twilio,
    Vonage,
}

#[derive(::metrics_runtime::LabelSet)]
struct Labels {
    provider: Provider,
}

#[derive(::metrics_runtime::Metrics)]
#[metrics(prefix = "hygiene")]
struct HygieneMetrics {
    /// Counted.
    calls_total: ::metrics_runtime::IntCounterFamily<Labels>,
    /// Measured.
    sizes_bytes: ::metrics_runtime::HistogramFamily<(Provider, bool)>,
}

#[::metrics_runtime::instrument_metric(name = "hygiene_send", labels(provider = provider))]
fn send(provider: Provider) -> u8 {
    match provider {
        Provider::Twilio => 1,
        Provider::Vonage => 2,
    }
}

const NAME: &str = ::metrics_runtime::metric_name!("hygiene_calls_total");

fn main() {
    HygieneMetrics::global().calls_total.with(Labels { provider: Provider::Vonage }).inc();
    HygieneMetrics::global().sizes_bytes.with((Provider::Twilio, true)).observe(1.0);
    assert_eq!(send(Provider::Vonage), 2);
    assert!(::metrics_runtime::render().contains(NAME));
    assert_eq!(local(), 1);
    assert_eq!(returns_result(), ::core::result::Result::Ok(1));
    let _ = local_async(1, 2);
    assert_eq!(metrics_runtime::render(), "shadowed");
    assert!(::metrics_runtime::render().contains("shadowed_calls_total"));
}
