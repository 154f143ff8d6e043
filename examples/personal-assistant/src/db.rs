//! The database: SQLite by default, any sqlx URL otherwise. Every query is timed into
//! `database_query_duration_seconds`; health checks into `database_response_time_seconds`.
//!
//! The health check writes (a ping alone passes on a database that refuses every write, as
//! SQLite does once its file is deleted under the service) and, for a SQLite file, checks that
//! the file at its path is still the one the pool has open. The check that finds the file
//! deleted or moved fails, copies the database back to its path from a connection that still
//! has it open (`VACUUM INTO`, so nothing written before is lost), and has the pool reopen
//! its connections on the restored file: the component is unhealthy for that one check. While
//! the copy cannot be made (the directory is gone, the disk is full), every check fails and
//! `DatabaseDown` fires. The pool never creates the file after start-up, so a deleted file is
//! never silently replaced by an empty database.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use instrument_metric::instrument_metric;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions as _, Connection as _, Executor as _, Row};

/// Why a query failed.
#[derive(Debug)]
pub enum DbError {
    /// The database cannot be reached (or the simulation took it away).
    Unavailable(String),
    /// The query failed.
    Query(sqlx::Error),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable(why) => write!(f, "the database is unavailable: {why}"),
            DbError::Query(error) => write!(f, "query failed: {error}"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                DbError::Unavailable(error.to_string())
            }
            other => DbError::Query(other),
        }
    }
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A user row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct User {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Phone number, E.164.
    pub phone: String,
    /// Whether the phone number was verified.
    pub phone_verified: bool,
}

/// OAuth adoption: active integrations per provider, users with any, users in all.
pub type Adoption = (Vec<(String, i64)>, i64, i64);

/// One provider's SMS performance, from the stored messages.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProviderPerformance {
    /// Provider label value.
    pub provider: String,
    /// Messages attempted.
    pub messages: i64,
    /// Messages sent.
    pub sent: i64,
    /// Share of messages sent, 0 to 1.
    pub success_rate: f64,
    /// Mean provider latency, in milliseconds.
    pub average_latency_ms: f64,
    /// Cost, in US dollars.
    pub cost_dollars: f64,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL, \
     phone_verified BIGINT NOT NULL DEFAULT 0, verification_code TEXT, code_expires_at BIGINT NOT NULL DEFAULT 0, \
     created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sms_messages (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL, \
     status TEXT NOT NULL, cost_microdollars BIGINT NOT NULL, latency_ms BIGINT NOT NULL, created_at BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sms_messages_created ON sms_messages (created_at)",
    "CREATE TABLE IF NOT EXISTS oauth_integrations (user_id TEXT NOT NULL, provider TEXT NOT NULL, \
     access_token TEXT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (user_id, provider))",
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at BIGINT NOT NULL)",
    // The row the health check writes.
    "CREATE TABLE IF NOT EXISTS health_probe (id BIGINT PRIMARY KEY, checked_at BIGINT NOT NULL)",
    "INSERT INTO health_probe (id, checked_at) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM health_probe WHERE id = 1)",
];

/// What kind of database a URL names.
enum Kind {
    /// A SQLite file, at this path.
    SqliteFile(PathBuf),
    /// A SQLite database in memory: it lives as long as its one connection.
    SqliteMemory,
    /// Anything else (Postgres).
    Other,
}

impl Kind {
    fn of(url: &str) -> Result<Kind, sqlx::Error> {
        if !url.starts_with("sqlite:") {
            return Ok(Kind::Other);
        }
        let options = SqliteConnectOptions::from_str(url)?;
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        Ok(if memory {
            Kind::SqliteMemory
        } else {
            Kind::SqliteFile(options.get_filename().to_owned())
        })
    }
}

/// The connection pool, and whether the simulation has taken the database away.
pub struct Database {
    pool: AnyPool,
    /// The SQLite file, for restoring it when it is deleted under the service.
    file: Option<SqliteFile>,
    /// Connections opened before this many nanoseconds after `epoch` see a file that was
    /// replaced since: the pool closes them instead of handing them out.
    stale_before: Arc<AtomicU64>,
    epoch: Instant,
    available: AtomicBool,
}

impl Database {
    /// Connects to `url` and creates the schema.
    ///
    /// A SQLite file is created (with `?mode=rwc`) and migrated once; the pool then opens it
    /// without creating it, so that a file deleted under the service is never silently
    /// replaced by an empty one. `sqlite::memory:` gets one connection that is never closed:
    /// an in-memory database lives as long as its connection, and each connection has its own.
    ///
    /// # Errors
    ///
    /// When the URL is invalid, the database cannot be reached, or the schema cannot be
    /// created.
    pub async fn connect(url: &str) -> Result<Database, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let epoch = Instant::now();
        let stale_before = Arc::new(AtomicU64::new(0));
        let options = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(2));
        let (pool, file) = match Kind::of(url)? {
            Kind::SqliteMemory => {
                let pool = options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect(url)
                    .await?;
                migrate(&pool).await?;
                (pool, None)
            }
            Kind::SqliteFile(path) => {
                let mut first = AnyConnection::connect(url).await?;
                for statement in SCHEMA {
                    first.execute(*statement).await?;
                }
                first.close().await?;
                let existing = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(false)
                    .to_url_lossy();
                let stale = Arc::clone(&stale_before);
                let pool = options
                    .before_acquire(move |_connection, metadata| {
                        let opened = epoch.elapsed().saturating_sub(metadata.age);
                        let fresh = nanos(opened) >= stale.load(Ordering::SeqCst);
                        Box::pin(async move { Ok(fresh) })
                    })
                    .connect_with(AnyConnectOptions::from_str(existing.as_str())?)
                    .await?;
                let identity = AtomicU64::new(identity(&path).unwrap_or(0));
                (pool, Some(SqliteFile { path, identity }))
            }
            Kind::Other => {
                let pool = options.connect(url).await?;
                migrate(&pool).await?;
                (pool, None)
            }
        };
        Ok(Database {
            pool,
            file,
            stale_before,
            epoch,
            available: AtomicBool::new(true),
        })
    }

    /// The pool, for its collector.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Takes the database away (`false`) or gives it back, as a network partition would.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    fn pool_if_available(&self) -> Result<&AnyPool, DbError> {
        if self.available.load(Ordering::SeqCst) {
            Ok(&self.pool)
        } else {
            Err(DbError::Unavailable(
                "connection refused (simulated outage)".to_owned(),
            ))
        }
    }

    /// Whether the SQLite file at its path is the one the pool's connections have open; if
    /// not, makes it so: copies the database back from `connection` (which still has the
    /// deleted or moved file open) when nothing is at the path, or keeps a file someone put
    /// there; then retires every connection opened before, so that the pool reopens them on
    /// the file at the path. `Ok(None)` when the file is as it was.
    async fn repair_file(&self, connection: &mut AnyConnection) -> Result<Option<String>, String> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let path = &file.path;
        let opened = file.identity.load(Ordering::SeqCst);
        let what = match identity(path) {
            Some(now) if now == opened => return Ok(None),
            Some(now) => {
                file.identity.store(now, Ordering::SeqCst);
                format!(
                    "the file {} was replaced; connections reopen on the new one",
                    path.display()
                )
            }
            None => {
                restore(connection, path).await.map_err(|cannot| {
                    format!(
                        "the file {} was deleted or moved and cannot be restored: {cannot}",
                        path.display()
                    )
                })?;
                file.identity
                    .store(identity(path).unwrap_or(0), Ordering::SeqCst);
                format!(
                    "the file {} was deleted or moved, and is restored from an open connection",
                    path.display()
                )
            }
        };
        self.stale_before
            .store(nanos(self.epoch.elapsed()) + 1, Ordering::SeqCst);
        Ok(Some(what))
    }
}

/// A SQLite database file, and the identity (inode) of the file the pool's connections have
/// open.
struct SqliteFile {
    path: PathBuf,
    identity: AtomicU64,
}

/// The identity of the non-empty file at `path` (its inode on Unix), if there is one. (An
/// empty file is what opening a missing path creates: it holds no database yet.)
fn identity(path: &Path) -> Option<u64> {
    let metadata = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file() && m.len() > 0)?;
    #[cfg(unix)]
    let identity = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let identity = 1;
    Some(identity)
}

/// Writes the database of `connection` to `path`, through a copy beside it moved into place.
async fn restore(connection: &mut AnyConnection, path: &Path) -> Result<(), String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let copy = path.with_file_name(format!(".{name}.restoring"));
    // VACUUM INTO writes only to a missing (or empty) file.
    let _ = std::fs::remove_file(&copy);
    sqlx::query("VACUUM INTO $1")
        .bind(copy.to_string_lossy().into_owned())
        .execute(&mut *connection)
        .await
        .map_err(|error| format!("cannot copy it to {}: {error}", copy.display()))?;
    std::fs::rename(&copy, path).map_err(|error| {
        let _ = std::fs::remove_file(&copy);
        format!("cannot move the copy to {}: {error}", path.display())
    })
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

async fn migrate(pool: &AnyPool) -> Result<(), sqlx::Error> {
    for statement in SCHEMA {
        sqlx::query(*statement).execute(pool).await?;
    }
    Ok(())
}

/// The health check's round trip: a write of the probe row, so that a database that answers
/// reads but refuses writes is unhealthy, and for a SQLite file, a look at the file: one
/// deleted, moved or replaced under the service fails the check that finds out, which also
/// restores it (see the module documentation).
#[instrument_metric(
    counter = "database_pings_total",
    histogram = "database_response_time_seconds",
    native_histogram,
    help = "Database health pings.",
    buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
)]
pub async fn ping(db: &Database) -> Result<(), DbError> {
    let mut connection = match db.pool_if_available()?.acquire().await {
        Ok(connection) => connection,
        Err(error) => {
            return Err(match &db.file {
                // The pool opens no new connection on a missing file; the next check may get
                // back one that still has it open, and restore it.
                Some(file) if identity(&file.path).is_none() => DbError::Unavailable(format!(
                    "the file {} was deleted or moved, and no connection that has it open is free to restore it: {error}",
                    file.path.display()
                )),
                _ => error.into(),
            });
        }
    };
    let written = sqlx::query("UPDATE health_probe SET checked_at = $1 WHERE id = 1")
        .bind(now())
        .execute(&mut *connection)
        .await;
    // Looked at after the write: SQLite lets a connection's first write after its file was
    // deleted succeed, into the deleted file.
    let repaired = db.repair_file(&mut connection).await;
    let written = match written {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err("the health probe row is missing: the database was replaced".to_owned()),
        Err(error) => Err(format!("writes fail: {error}")),
    };
    match (written, repaired) {
        (Ok(()), Ok(None)) => Ok(()),
        (Ok(()), Ok(Some(why)) | Err(why)) | (Err(why), Ok(None)) => Err(DbError::Unavailable(why)),
        (Err(write), Ok(Some(file)) | Err(file)) => {
            Err(DbError::Unavailable(format!("{write}; {file}")))
        }
    }
}

/// Queries, each timed as `Database::<method>` in `database_query_duration_seconds`.
#[instrument_metric(
    counter = "database_queries_total",
    histogram = "database_query_duration_seconds",
    native_histogram,
    help = "Database queries.",
    buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
)]
impl Database {
    /// Inserts a user.
    pub async fn insert_user(&self, user: &User) -> Result<(), DbError> {
        sqlx::query("INSERT INTO users (id, name, phone, phone_verified, created_at) VALUES ($1, $2, $3, 0, $4)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(&user.phone)
            .bind(now())
            .execute(self.pool_if_available()?)
            .await?;
        Ok(())
    }

    /// The user `id`.
    pub async fn user(&self, id: &str) -> Result<Option<User>, DbError> {
        let row = sqlx::query("SELECT id, name, phone, phone_verified FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool_if_available()?)
            .await?;
        Ok(row.map(|row: AnyRow| User {
            id: row.get(0),
            name: row.get(1),
            phone: row.get(2),
            phone_verified: row.get::<i64, _>(3) != 0,
        }))
    }

    /// Stores a verification code valid until `expires_at`.
    pub async fn set_verification_code(
        &self,
        user_id: &str,
        code: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET verification_code = $1, code_expires_at = $2 WHERE id = $3")
            .bind(code)
            .bind(expires_at)
            .bind(user_id)
            .execute(self.pool_if_available()?)
            .await?;
        Ok(())
    }

    /// The pending verification code of a user and when it expires.
    pub async fn verification_code(&self, user_id: &str) -> Result<Option<(String, i64)>, DbError> {
        let row = sqlx::query("SELECT verification_code, code_expires_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool_if_available()?)
            .await?;
        Ok(row.and_then(|row: AnyRow| Some((row.get::<Option<String>, _>(0)?, row.get(1)))))
    }

    /// Marks a phone verified.
    pub async fn mark_verified(&self, user_id: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET phone_verified = 1, verification_code = NULL WHERE id = $1")
            .bind(user_id)
            .execute(self.pool_if_available()?)
            .await?;
        Ok(())
    }

    /// A verified user, picked at random.
    pub async fn random_verified_user(&self) -> Result<Option<User>, DbError> {
        let row = sqlx::query(
            "SELECT id, name, phone FROM users WHERE phone_verified = 1 ORDER BY RANDOM() LIMIT 1",
        )
        .fetch_optional(self.pool_if_available()?)
        .await?;
        Ok(row.map(|row: AnyRow| User {
            id: row.get(0),
            name: row.get(1),
            phone: row.get(2),
            phone_verified: true,
        }))
    }

    /// Records one SMS attempt.
    pub async fn insert_sms(
        &self,
        user_id: &str,
        provider: &str,
        status: &str,
        cost_microdollars: i64,
        latency_ms: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO sms_messages (id, user_id, provider, status, cost_microdollars, latency_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(crate::new_id())
        .bind(user_id)
        .bind(provider)
        .bind(status)
        .bind(cost_microdollars)
        .bind(latency_ms)
        .bind(now())
        .execute(self.pool_if_available()?)
        .await?;
        Ok(())
    }

    /// SMS performance by provider, from every stored message.
    pub async fn sms_performance(&self) -> Result<Vec<ProviderPerformance>, DbError> {
        let rows = sqlx::query(
            "SELECT provider, COUNT(*), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), \
             SUM(latency_ms), SUM(cost_microdollars) FROM sms_messages GROUP BY provider ORDER BY provider",
        )
        .fetch_all(self.pool_if_available()?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row: AnyRow| {
                let messages: i64 = row.get(1);
                let sent: i64 = row.get(2);
                let latency: i64 = row.get(3);
                let cost: i64 = row.get(4);
                #[allow(clippy::cast_precision_loss)] // counts far below 2^53
                ProviderPerformance {
                    provider: row.get(0),
                    messages,
                    sent,
                    success_rate: if messages > 0 {
                        sent as f64 / messages as f64
                    } else {
                        0.0
                    },
                    average_latency_ms: if messages > 0 {
                        latency as f64 / messages as f64
                    } else {
                        0.0
                    },
                    cost_dollars: cost as f64 / 1e6,
                }
            })
            .collect())
    }

    /// Messages per user since `since`.
    pub async fn sms_counts_since(&self, since: i64) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query(
            "SELECT COUNT(*) FROM sms_messages WHERE created_at >= $1 GROUP BY user_id",
        )
        .bind(since)
        .fetch_all(self.pool_if_available()?)
        .await?;
        Ok(rows.into_iter().map(|row: AnyRow| row.get(0)).collect())
    }

    /// Connects or reconnects an integration.
    pub async fn upsert_integration(
        &self,
        user_id: &str,
        provider: &str,
        token: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let pool = self.pool_if_available()?;
        sqlx::query("DELETE FROM oauth_integrations WHERE user_id = $1 AND provider = $2")
            .bind(user_id)
            .bind(provider)
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO oauth_integrations (user_id, provider, access_token, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(provider)
            .bind(token)
            .bind(expires_at)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// When the user's integration with `provider` expires, if it exists.
    pub async fn integration_expiry(
        &self,
        user_id: &str,
        provider: &str,
    ) -> Result<Option<i64>, DbError> {
        let row = sqlx::query(
            "SELECT expires_at FROM oauth_integrations WHERE user_id = $1 AND provider = $2",
        )
        .bind(user_id)
        .bind(provider)
        .fetch_optional(self.pool_if_available()?)
        .await?;
        Ok(row.map(|row: AnyRow| row.get(0)))
    }

    /// Removes an integration; whether there was one.
    pub async fn delete_integration(&self, user_id: &str, provider: &str) -> Result<bool, DbError> {
        let done =
            sqlx::query("DELETE FROM oauth_integrations WHERE user_id = $1 AND provider = $2")
                .bind(user_id)
                .bind(provider)
                .execute(self.pool_if_available()?)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Integrations that expire before `before`: user and provider.
    pub async fn expiring_integrations(
        &self,
        before: i64,
    ) -> Result<Vec<(String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT user_id, provider FROM oauth_integrations WHERE expires_at < $1 LIMIT 50",
        )
        .bind(before)
        .fetch_all(self.pool_if_available()?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row: AnyRow| (row.get(0), row.get(1)))
            .collect())
    }

    /// Active integrations per provider, users with any, and users in all.
    pub async fn adoption(&self) -> Result<Adoption, DbError> {
        let pool = self.pool_if_available()?;
        let per_provider =
            sqlx::query("SELECT provider, COUNT(*) FROM oauth_integrations GROUP BY provider")
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row: AnyRow| (row.get(0), row.get(1)))
                .collect();
        let connected: i64 = sqlx::query("SELECT COUNT(DISTINCT user_id) FROM oauth_integrations")
            .fetch_one(pool)
            .await?
            .get(0);
        let users: i64 = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await?
            .get(0);
        Ok((per_provider, connected, users))
    }

    /// Opens a session.
    pub async fn insert_session(
        &self,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(user_id)
            .bind(expires_at)
            .execute(self.pool_if_available()?)
            .await?;
        Ok(())
    }

    /// Closes a session; whether it was open.
    pub async fn delete_session(&self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(self.pool_if_available()?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes expired sessions; how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool_if_available()?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Open sessions.
    pub async fn count_sessions(&self, now: i64) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT COUNT(*) FROM sessions WHERE expires_at >= $1")
            .bind(now)
            .fetch_one(self.pool_if_available()?)
            .await?;
        Ok(row.get(0))
    }
}
