//! The smallest service instrumented with `instrument-metric`.
//!
//! Run it with `cargo run -p quickstart` (optionally pass a listen address, default
//! `127.0.0.1:9000`), then open the printed `/metrics` address or call `/hello/{name}`.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use instrument_metric::instrument_metric;

/// Greets someone by name; a greeting for nobody is a client error.
#[instrument_metric(name = "greetings", in_flight)]
async fn hello(Path(name): Path<String>) -> Result<String, StatusCode> {
    if name.trim().is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok(format!("hello, {name}\n"))
}

/// One unit of background work, recorded in the shared `function_calls_*` families.
#[instrument_metric]
async fn tick(round: u64) -> Result<(), &'static str> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if round.is_multiple_of(7) {
        Err("every seventh round fails")
    } else {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    // Fail at start-up, not in a dashboard, if two declarations disagree.
    instrument_metric::check()?;

    tokio::spawn(async {
        let mut round = 0_u64;
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            round += 1;
            let _ = tick(round).await;
        }
    });

    let app = Router::new()
        .route("/hello/{name}", get(hello))
        .merge(instrument_metric::axum::router());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("serving metrics on http://{local}/metrics (try http://{local}/hello/world)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
