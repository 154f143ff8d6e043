//! HTTP load: requests per second of an axum service with the HTTP metrics layer and an
//! instrumented handler, against the same service without either, alternated in one run; and
//! the latency of `GET /metrics` with 10,000 series while the service is under load, served by
//! the service's runtime and by a thread of its own, with and without gzip. The load generator
//! (`integration_tests::load`) runs in process, on keep-alive connections over loopback.
//!
//! Run: `cargo bench -p integration-tests --bench http_load`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use instrument_metric::instrument_metric;
use integration_tests::bench_labels::{SHARDS, Shard, ZONES, Zone};
use integration_tests::load::{measure, median, percentile, scraper, serve};

/// Declares 9,900 series (550 label combinations, each a counter with four outcomes and a
/// 14-line histogram) for /metrics to carry, with the layer's and the handler's.
#[instrument_metric(name = "load_bench_series", labels(shard = shard, zone = zone))]
#[expect(
    clippy::unused_async,
    reason = "an async call on purpose, without an await"
)]
async fn series(shard: Shard, zone: Zone) {
    black_box((shard, zone));
}

async fn plain_hello() -> &'static str {
    black_box("hello")
}

/// Says hello.
#[instrument_metric(name = "load_bench_hello")]
async fn instrumented_hello() -> &'static str {
    black_box("hello")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for shard in SHARDS {
            for zone in ZONES {
                series(shard, zone).await;
            }
        }
        let plain = serve(Router::new().route("/api/hello", get(plain_hello))).await;
        let instrumented = serve(
            Router::new()
                .route("/api/hello", get(instrumented_hello))
                .merge(instrument_metric::axum::router())
                .layer(instrument_metric::axum::HttpMetricsLayer::default()),
        )
        .await;
        let rounds = 9;
        let duration = Duration::from_secs(2);
        let connections = 16;
        // Warm up both.
        measure(plain, "/api/hello", connections, Duration::from_millis(500)).await;
        measure(instrumented, "/api/hello", connections, Duration::from_millis(500)).await;

        let (mut plain_rps, mut instrumented_rps) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate the order so that neither always runs first.
            if round % 2 == 0 {
                plain_rps.push(measure(plain, "/api/hello", connections, duration).await);
                instrumented_rps.push(measure(instrumented, "/api/hello", connections, duration).await);
            } else {
                instrumented_rps.push(measure(instrumented, "/api/hello", connections, duration).await);
                plain_rps.push(measure(plain, "/api/hello", connections, duration).await);
            }
        }

        // Then scrapes while the instrumented service is under the same load: from the
        // service's own runtime and from a listener on a thread of its own, each without and
        // with gzip (which Prometheus asks for).
        let dedicated = instrument_metric::axum::Endpoint::new()
            .spawn("127.0.0.1:0")
            .unwrap();
        let mut scrapes = Vec::new();
        for (target, served) in [
            (instrumented, "by the service's runtime"),
            (dedicated.local_addr(), "by Endpoint::spawn, a thread of its own"),
        ] {
            for gzip in [false, true] {
                let stop = Arc::new(AtomicBool::new(false));
                let scraping = tokio::spawn(scraper(target, gzip, Arc::clone(&stop)));
                measure(instrumented, "/api/hello", connections, Duration::from_secs(8)).await;
                stop.store(true, Ordering::Relaxed);
                scrapes.push((served, gzip, scraping.await.unwrap()));
            }
        }
        dedicated.shutdown().unwrap();

        // The median of the rounds: this machine is shared, and a round now and then loses
        // a core to someone else.
        let (plain_mean, instrumented_mean) = (median(&plain_rps), median(&instrumented_rps));
        // Each round's two runs are adjacent in time, so their ratio cancels the machine's drift.
        let ratios: Vec<f64> = plain_rps.iter().zip(&instrumented_rps).map(|(p, i)| i / p).collect();
        let paired = median(&ratios);
        let series = instrument_metric::render().lines().filter(|l| !l.starts_with('#')).count();
        println!("rounds (requests/s): plain {plain_rps:.0?}, instrumented {instrumented_rps:.0?}");
        println!(
            "target 5: HTTP layer + instrumented handler: {instrumented_mean:.0} req/s vs {plain_mean:.0} req/s without (medians of {rounds} alternated rounds); median paired ratio {paired:.3}, cost {:.2}% (target <= 2%)",
            (1.0 - paired) * 100.0
        );
        for (served, gzip, latencies) in &scrapes {
            println!(
                "target 6: GET /metrics with {series} series under that load, served {served}, {}: {} scrapes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 10 ms)",
                if *gzip { "gzip" } else { "uncompressed" },
                latencies.len(),
                percentile(latencies, 0.5).as_secs_f64() * 1e3,
                percentile(latencies, 0.99).as_secs_f64() * 1e3,
                latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            );
        }
    });
}
