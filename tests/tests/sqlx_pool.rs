//! The `sqlx` pool collector reports connections in use and the pool's utilization.

#![allow(clippy::float_cmp)] // the values compared are whole numbers, exact in f64

use integration_tests::Exposition;
use sqlx::sqlite::SqlitePoolOptions;

#[tokio::test]
async fn pool_gauges_follow_the_connections_in_use() {
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    instrument_metric::sqlx::register_pool(&pool).unwrap();
    assert!(
        instrument_metric::sqlx::register_pool(&pool).is_err(),
        "one pool per process"
    );

    let mut held = pool.acquire().await.unwrap();
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(exposition.count("database_connections_active", &[]), 1);
    assert_eq!(exposition.count("database_connections_max", &[]), 4);
    let utilization = exposition.value("database_connection_pool_utilization", &[]);
    assert!((utilization - 0.25).abs() < 1e-9, "{utilization}");
    // Dropping hands the connection back in a background task; await the hand-back instead.
    held.return_to_pool().await;
    drop(held);

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    assert_eq!(exposition.count("database_connections_active", &[]), 0);
    assert_eq!(
        exposition.value("database_connection_pool_utilization", &[]),
        0.0
    );
}

/// The sqlx release the docs name is the one the `sqlx` feature depends on (`sqlx-core`).
#[test]
fn the_docs_name_the_supported_sqlx_release() {
    let manifest = include_str!("../../metrics-runtime/Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.starts_with("sqlx-core = "))
        .expect("the sqlx feature depends on sqlx-core");
    let version = line
        .split("version = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("sqlx-core's version");
    let named = format!("sqlx {version}");
    let module = include_str!("../../metrics-runtime/src/integrations/sqlx.rs");
    assert!(
        module.contains(&format!("Supported version: {named}")),
        "instrument_metric::sqlx does not say it supports {named}"
    );
    let readme = include_str!("../../README.md");
    let row = readme
        .lines()
        .find(|line| line.starts_with("| `sqlx` |"))
        .expect("the README's features table has a `sqlx` row");
    assert!(row.contains(&format!("**{named}**")), "{row}");
}
