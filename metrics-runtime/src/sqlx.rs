//! A collector for a `sqlx` connection pool, read on scrape.

use sqlx_core::database::Database;
use sqlx_core::pool::Pool;

use crate::collect::{CollectorError, gauge};

/// Registers the gauges of `pool`, read on every scrape:
///
/// | metric | meaning |
/// |---|---|
/// | `database_connections_active` | connections in use |
/// | `database_connections_idle` | open connections waiting for work |
/// | `database_connections_max` | the pool's maximum |
/// | `database_connection_pool_utilization` | in use / maximum, 0 to 1 |
///
/// Register one pool per process; a second registration is refused.
///
/// # Errors
///
/// When the gauges are already registered.
///
/// ```
/// # use sqlx_core as sqlx;
/// // `sqlx::Pool<DB>`: a `SqlitePool`, a `PgPool`, ... once, at start-up.
/// fn start_up<DB: sqlx::database::Database>(
///     pool: &sqlx::pool::Pool<DB>,
/// ) -> Result<(), metrics_runtime::collect::CollectorError> {
///     metrics_runtime::sqlx::register_pool(pool)
/// }
/// ```
pub fn register_pool<DB: Database>(pool: &Pool<DB>) -> Result<(), CollectorError> {
    let in_use = |pool: &Pool<DB>| {
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        pool.size().saturating_sub(idle)
    };
    let active = pool.clone();
    gauge(
        "database_connections_active",
        "Connections of the database pool in use.",
        move || in_use(&active),
    )?;
    let idle = pool.clone();
    gauge(
        "database_connections_idle",
        "Open connections of the database pool waiting for work.",
        move || idle.num_idle(),
    )?;
    let max = pool.clone();
    gauge(
        "database_connections_max",
        "The database pool's maximum number of connections.",
        move || max.options().get_max_connections(),
    )?;
    let utilization = pool.clone();
    gauge(
        "database_connection_pool_utilization",
        "Share of the database pool's maximum connections in use, from 0 to 1.",
        move || {
            let max = utilization.options().get_max_connections();
            (max > 0).then(|| f64::from(in_use(&utilization)) / f64::from(max))
        },
    )
}
