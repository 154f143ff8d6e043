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
    metrics_runtime::sqlx::register_pool(&pool).unwrap();
    assert!(
        metrics_runtime::sqlx::register_pool(&pool).is_err(),
        "one pool per process"
    );

    let mut held = pool.acquire().await.unwrap();
    let exposition = Exposition::parse(&metrics_runtime::render()).unwrap();
    assert_eq!(exposition.count("database_connections_active", &[]), 1);
    assert_eq!(exposition.count("database_connections_max", &[]), 4);
    let utilization = exposition.value("database_connection_pool_utilization", &[]);
    assert!((utilization - 0.25).abs() < 1e-9, "{utilization}");
    // Dropping hands the connection back in a background task; await the hand-back instead.
    held.return_to_pool().await;
    drop(held);

    let exposition = Exposition::parse(&metrics_runtime::render()).unwrap();
    assert_eq!(exposition.count("database_connections_active", &[]), 0);
    assert_eq!(
        exposition.value("database_connection_pool_utilization", &[]),
        0.0
    );
}
