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

fn main() {
    assert_eq!(local(), 1);
    assert_eq!(returns_result(), ::core::result::Result::Ok(1));
    let _ = local_async(1, 2);
    assert_eq!(metrics_runtime::render(), "shadowed");
    assert!(::metrics_runtime::render().contains("shadowed_calls_total"));
}
