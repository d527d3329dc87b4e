//! Which database the test servers keep their data in: SQLite always, PostgreSQL when
//! `VAULTQL_TEST_DATABASE_URL` names a server (`.ci/with-postgres` starts a throwaway one and
//! sets it; `.ci/run` runs the whole suite both ways). On PostgreSQL every database a test asks
//! for is a schema of its own in that server's database, so tests stay as independent as they
//! are with SQLite's in-memory databases and files.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqliteRow};
use sqlx::{Connection, FromRow, PgConnection};
use vaultql::vault::store::{Database, PoolSettings, PostgresStore, SqliteStore};

/// The PostgreSQL database the suite runs on, if it does.
pub fn postgres() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("VAULTQL_TEST_DATABASE_URL")
            .ok()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
    })
    .as_deref()
}

/// The database URL for a fresh server of its own: `sqlite::memory:`, or a new schema.
pub fn private_url() -> String {
    match postgres() {
        None => "sqlite::memory:".to_owned(),
        Some(_) => schema_url(&format!("t_{}", random_name())),
    }
}

/// The database URL for the servers and stores that share `data_dir`: none on SQLite (the
/// vault keeps `vault.db` in the data dir), a schema named after the directory on PostgreSQL.
pub fn data_dir_url(data_dir: &Path) -> Option<String> {
    postgres()?;
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Some(schema_url(&format!("d_{name}")))
}

/// Both stores of the database of `data_dir` (see [`data_dir_url`]), opened directly: what a
/// second vault process on the same database has.
pub async fn open(data_dir: &Path) -> Arc<dyn Database> {
    match data_dir_url(data_dir) {
        Some(url) => Arc::new(
            PostgresStore::open(&url, PoolSettings::default())
                .await
                .expect("the PostgreSQL schema opens"),
        ),
        None => Arc::new(
            SqliteStore::open_file(&data_dir.join("vault.db"))
                .await
                .expect("the database file opens"),
        ),
    }
}

/// Both stores of a fresh database of their own (see [`private_url`]).
pub async fn open_private() -> Arc<dyn Database> {
    let url = private_url();
    if postgres().is_some() {
        Arc::new(
            PostgresStore::open(&url, PoolSettings::default())
                .await
                .expect("the PostgreSQL schema opens"),
        )
    } else {
        Arc::new(
            SqliteStore::open_url(&url)
                .await
                .expect("an in-memory database"),
        )
    }
}

/// A pool for reading tables straight, on either backend.
pub enum RawPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl RawPool {
    /// The database of `data_dir` (see [`data_dir_url`]).
    pub async fn of(data_dir: &Path) -> RawPool {
        match data_dir_url(data_dir) {
            Some(url) => RawPool::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&url)
                    .await
                    .expect("the schema opens"),
            ),
            None => RawPool::Sqlite(
                SqlitePool::connect_with(
                    SqliteConnectOptions::new().filename(data_dir.join("vault.db")),
                )
                .await
                .expect("the database file opens"),
            ),
        }
    }

    /// The rows of `sql` (written so that both backends read it alike).
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        let rows = match self {
            RawPool::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
            RawPool::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        };
        rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs a statement (written for the backend at hand).
    pub async fn execute(&self, sql: &str) {
        let done = match self {
            RawPool::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            RawPool::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn close(self) {
        match self {
            RawPool::Sqlite(pool) => pool.close().await,
            RawPool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL of `schema` in the suite's PostgreSQL database, the schema made if missing.
fn schema_url(schema: &str) -> String {
    let base = postgres().expect("only called on PostgreSQL").to_owned();
    let statement = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    // Test servers are configured by synchronous code, some of it on a runtime already: the
    // schema is made on a thread of its own.
    let made = std::thread::spawn({
        let base = base.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&base).await?;
                sqlx::query(&statement).execute(&mut conn).await?;
                conn.close().await
            })
        }
    })
    .join()
    .expect("the schema thread");
    made.unwrap_or_else(|e| panic!("could not make schema {schema} on {base}: {e}"));
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options[search_path]={schema}")
}

/// A name no other schema of this run or an earlier one has: the process, a counter, the time.
fn random_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
