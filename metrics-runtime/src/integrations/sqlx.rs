//! A collector for a `sqlx` connection pool, read on scrape.
//!
//! **Supported version: sqlx 0.9** (the feature depends on `sqlx-core` 0.9, the crate whose
//! `Pool` the `sqlx` 0.9 facade re-exports), with any database it supports (`SqlitePool`,
//! `PgPool`, `MySqlPool`, `AnyPool`). A pool of another sqlx release (0.8, 0.7) is another type
//! and does not compile with [`register_pool`]; read its `size()` and `num_idle()` in
//! [`collect::gauge`](crate::collect::gauge)s of your own instead.
//!
//! ```
//! # use sqlx_core as sqlx;
//! // In a crate that depends on `sqlx = "0.9"`: `sqlx::SqlitePool` is a `sqlx::Pool<Sqlite>`.
//! fn start_up<DB: sqlx::database::Database>(pool: &sqlx::pool::Pool<DB>) {
//!     instrument_metric::sqlx::register_pool(pool).expect("registered once");
//! }
//! ```

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
/// ) -> Result<(), instrument_metric::collect::CollectorError> {
///     instrument_metric::sqlx::register_pool(pool)
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
