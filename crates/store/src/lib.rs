//! # sscard-store
//!
//! Persistence behind one interface. Two backends: SQLite (embedded default, a file in WAL mode
//! with foreign keys on) and PostgreSQL (server option, `postgres://` URL). Each backend has its
//! own migration set under `migrations/<backend>/`, applied when the store opens.
//!
//! All SQL in [`repo`] is written once: both backends accept `$1`-style placeholders, and the
//! schema uses types both understand (TEXT instants in RFC 3339 UTC, integer fen). Work happens
//! in transactions: [`Store::read`] and [`Store::write`] hand a [`Tx`] to a closure and commit
//! when it returns `Ok`, roll back otherwise.

mod grouped;
mod migrate;
mod postgres_db;
pub mod repo;
mod sqlite_db;
mod sqlite_nonces;
mod value;

use std::sync::Arc;

pub use grouped::{Completion, GroupedWrite};
pub use migrate::{Migration, MigrationStatus};
pub use value::{Row, ToValue, Value};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL cannot be understood.
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A unique or check constraint refused the change.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// A row that must exist does not.
    #[error("not found: {0}")]
    NotFound(String),
    /// A migration failed.
    #[error("migration {version} failed: {message}")]
    Migration { version: u32, message: String },
    /// A stored value has an unexpected type or content.
    #[error("unexpected stored data: {0}")]
    Data(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(String),
}

impl StoreError {
    /// True when the error is a unique/check/foreign-key refusal.
    pub fn is_constraint(&self) -> bool {
        matches!(self, StoreError::Constraint(_))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One open transaction. Implemented by each backend.
pub trait Tx {
    fn backend(&self) -> Backend;
    /// Runs a statement, returning the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs a query, returning all rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    /// Inserts many rows into one table fast (prepared statement on SQLite, COPY on PostgreSQL).
    fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &mut dyn Iterator<Item = Vec<Value>>,
    ) -> Result<u64>;
    /// After rows were inserted with explicit ids, moves id generators past them.
    fn resync_ids(&mut self, tables: &[&str]) -> Result<()>;
    /// Runs an `INSERT` of one row (no `ON CONFLICT` clause) into a table whose key is `id`
    /// and returns the new row's id: `RETURNING id` on PostgreSQL; on SQLite the connection's
    /// last row id, because SQLite runs `RETURNING` as a trigger, and a statement with a
    /// trigger keeps a copy of every page it changes in case it has to undo itself.
    fn insert_id(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query(&format!("{sql} RETURNING id"), params)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound("inserted row".into()))?
            .i64(0)
    }
    /// `Some(n)` while a grouped write runs in a group commit's first pass, where jobs share
    /// the transaction without savepoints: `n` counts the rows changed on the connection so
    /// far, so that a job can tell whether it has written anything. A job that must undo what
    /// it wrote then returns `false`, and the whole group runs again with a savepoint around
    /// each job, where this is `None`. Also `None` outside group commits and on PostgreSQL:
    /// use a savepoint.
    fn unguarded_changes(&self) -> Option<u64> {
        None
    }
    /// Records `nonce` of signing key `key_id`, seen at `at`, in this transaction; `false`
    /// (nothing written) when the key used it before and it has not been forgotten. Every
    /// nonce goes through here: on SQLite the used ones are also kept in memory (see
    /// `sqlite_nonces`), so no statement may write the table directly.
    fn claim_nonce(&mut self, key_id: &str, nonce: &str, at: &str) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO api_nonces (key_id, nonce, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (key_id, nonce) DO NOTHING",
            &[
                Value::Text(key_id.into()),
                Value::Text(nonce.into()),
                Value::Text(at.into()),
            ],
        )?;
        Ok(n == 1)
    }
    /// Forgets the nonces seen before `before`, whichever key used them; how many.
    fn forget_nonces(&mut self, before: &str) -> Result<u64> {
        self.execute(
            "DELETE FROM api_nonces WHERE seen_at < $1",
            &[Value::Text(before.into())],
        )
    }
}

impl dyn Tx + '_ {
    /// First row of a query, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// Exactly one row, or `NotFound` naming `what`.
    pub fn query_one(&mut self, sql: &str, params: &[Value], what: &str) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::NotFound(what.to_string()))
    }
    /// A single integer (e.g. `count(*)`).
    pub fn query_i64(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        let row = self.query_one(sql, params, "scalar")?;
        row.i64(0)
    }
}

/// The backend's connection handling.
pub(crate) trait Db: Send + Sync {
    fn backend(&self) -> Backend;
    /// Bulk-load mode: on SQLite, commits are not synced while it is on (a crash may lose the
    /// load, never corrupt the file). No effect on PostgreSQL.
    fn set_bulk_load(&self, on: bool, keep_indexes: &[&str]) -> Result<()>;
    /// Refreshes planner statistics after large changes.
    fn optimize(&self) -> Result<()>;
    /// Writes a consistent copy of the whole database to `path` while it keeps serving
    /// (SQLite only; PostgreSQL is backed up with its own tools).
    fn backup_to(&self, _path: &std::path::Path) -> Result<()> {
        Err(StoreError::Db(
            "online backup to a file is for SQLite databases; back PostgreSQL up with pg_dump"
                .into(),
        ))
    }
    fn run(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    ) -> Result<()>;
    /// Runs `f` without an explicit transaction: on PostgreSQL each statement commits on its
    /// own (one round trip each, no BEGIN/COMMIT); the default runs `f` in a write transaction.
    fn run_autocommit(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    ) -> Result<()> {
        self.run(true, f)
    }
    /// Hands one caller's job to a write transaction that the backend may share with other
    /// callers' jobs (group commit); `done` learns the outcome once the job's effects are
    /// durable, or the error that prevented the commit. By default each job has its own
    /// transaction, run at once on the calling thread.
    fn submit_grouped(&self, mut job: GroupJob, done: Arc<grouped::Completion>) {
        done.complete(self.run(true, &mut |tx| {
            if job(tx) { Ok(()) } else { Err(TxAbort) }
        }));
    }
    /// Whether [`Db::submit_grouped`] returns before the job ran (a committer thread runs it),
    /// so that an async caller may await it without blocking a thread.
    fn grouped_in_background(&self) -> bool {
        false
    }
    /// Reads into memory what the first requests would otherwise wait for (SQLite: the used
    /// nonces). Called once the schema is current.
    fn warm_up(&self) -> Result<()> {
        Ok(())
    }
    /// How many group commits had to run their jobs a second time, each inside a savepoint,
    /// because one of them wanted its changes undone (see [`Tx::unguarded_changes`]).
    fn grouped_reruns(&self) -> u64 {
        0
    }
    /// Where the embedded database's writes spent their time (`None` on PostgreSQL).
    fn write_path_stats(&self) -> Option<WritePathStats> {
        None
    }
}

/// Where an SQLite store's grouped writes have spent their time since it opened, for
/// monitoring (`/metrics`): the committer's groups (running the jobs and committing), the WAL
/// syncs that make them durable, and the pauses in which the WAL is started over. Each a count
/// and a total in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WritePathStats {
    pub groups: u64,
    pub group_micros: u64,
    pub wal_syncs: u64,
    pub wal_sync_micros: u64,
    pub wal_restarts: u64,
    pub wal_restart_micros: u64,
}

/// One caller's share of a grouped write: runs inside the shared transaction and says whether
/// to keep its changes (`false`: they are rolled back, the other jobs' are not). It may run
/// twice (the first run rolled back, see [`Tx::unguarded_changes`]); only the last run counts.
pub(crate) type GroupJob = Box<dyn FnMut(&mut dyn Tx) -> bool + Send>;

/// Marker: the transaction closure failed (its error is kept by the caller); roll back.
pub(crate) struct TxAbort;

/// The store: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    db: Arc<dyn Db>,
    url_redacted: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url_redacted)
            .finish()
    }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Reader connections (SQLite) or pool size (PostgreSQL).
    pub pool_size: u32,
    /// Apply pending migrations when opening.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            pool_size: 8,
            migrate: true,
        }
    }
}

/// Hides the password of a database URL for printing.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.rsplit_once('@')
    {
        let user = creds.split(':').next().unwrap_or("");
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

impl Store {
    /// Opens a store. `url` is `postgres://…` / `postgresql://…` for PostgreSQL, and anything
    /// else (`sqlite://path`, `sqlite:path` or a plain path) for an SQLite file.
    pub fn open(url: &str) -> Result<Store> {
        Self::open_with(url, &OpenOptions::default())
    }

    pub fn open_with(url: &str, opts: &OpenOptions) -> Result<Store> {
        let db: Arc<dyn Db> = if url.starts_with("postgres://") || url.starts_with("postgresql://")
        {
            Arc::new(postgres_db::PgDb::open(url, opts.pool_size)?)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() {
                return Err(StoreError::BadUrl("empty SQLite path".into()));
            }
            if path.contains("://") {
                return Err(StoreError::BadUrl(format!(
                    "unsupported scheme in {path:?}; use postgres://… or an SQLite file path"
                )));
            }
            Arc::new(sqlite_db::SqliteDb::open(path, opts.pool_size)?)
        };
        let store = Store {
            db,
            url_redacted: redact_url(url),
        };
        if opts.migrate {
            store.migrate()?;
            store.db.warm_up()?;
        }
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The URL with any password hidden.
    pub fn url_redacted(&self) -> &str {
        &self.url_redacted
    }

    /// Runs `f` in a read-only transaction.
    pub fn read<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.run(false, f)
    }

    /// Runs `f` in a write transaction: committed when `f` returns `Ok`, rolled back otherwise.
    pub fn write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.run(true, f)
    }

    fn run<R, E: From<StoreError>>(
        &self,
        write: bool,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let mut f = Some(f);
        let mut out: Option<std::result::Result<R, E>> = None;
        let res = self.db.run(write, &mut |tx| {
            let f = f.take().ok_or(TxAbort)?;
            match f(tx) {
                Ok(v) => {
                    out = Some(Ok(v));
                    Ok(())
                }
                Err(e) => {
                    out = Some(Err(e));
                    Err(TxAbort)
                }
            }
        });
        match (res, out) {
            (Ok(()), Some(r)) => r,
            (Err(_), Some(Err(e))) => Err(e),
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Db(
                "transaction closure did not run".into(),
            ))),
        }
    }

    /// Runs `f`'s statements each as its own transaction where the backend allows it
    /// (PostgreSQL: no BEGIN/COMMIT round trips; a failed statement changes nothing and the
    /// earlier ones stay committed). On SQLite `f` runs in one write transaction. For work
    /// that is correct statement by statement: reads whose results a later statement checks
    /// again, or a single statement that does everything.
    pub fn autocommit<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let mut f = Some(f);
        let mut out: Option<std::result::Result<R, E>> = None;
        let res = self.db.run_autocommit(&mut |tx| {
            let f = f.take().ok_or(TxAbort)?;
            let r = f(tx);
            let ok = r.is_ok();
            out = Some(r);
            if ok { Ok(()) } else { Err(TxAbort) }
        });
        match (res, out) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(r)) => r,
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Db(
                "autocommit closure did not run".into(),
            ))),
        }
    }

    /// Runs `f` in a write transaction that may be shared with other concurrent callers: on
    /// SQLite, a committer thread runs every queued job and commits them with one synced
    /// commit (group commit); on PostgreSQL each job has its own transaction (the server
    /// groups commits itself). `f`'s changes are kept when it returns `Ok` and rolled back
    /// when it returns `Err`, without affecting the other jobs. `f` may be called twice, the
    /// first call's changes rolled back (see [`Tx::unguarded_changes`]): only the last call's
    /// changes and result count, so it must not leave anything outside the transaction that a
    /// second call could not stand. Returns only after the commit is durable; if the commit
    /// fails, an `Ok` from `f` turns into the commit's error (nothing of it was applied).
    pub fn write_grouped<R, E>(
        &self,
        f: impl FnMut(&mut dyn Tx) -> std::result::Result<R, E> + Send + 'static,
    ) -> std::result::Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.submit_grouped(f).wait()
    }

    /// [`Store::write_grouped`] without waiting: the returned write is waited for
    /// ([`GroupedWrite::wait`]) or awaited. When [`Store::grouped_in_background`] is false the
    /// job has already run (on this thread) when this returns.
    pub fn submit_grouped<R, E>(
        &self,
        mut f: impl FnMut(&mut dyn Tx) -> std::result::Result<R, E> + Send + 'static,
    ) -> GroupedWrite<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let slot: grouped::Slot<R, E> = Arc::new(std::sync::Mutex::new(None));
        let mine = slot.clone();
        let job: GroupJob = Box::new(move |tx| {
            let r = f(tx);
            let ok = r.is_ok();
            if let Ok(mut s) = mine.lock() {
                *s = Some(r);
            }
            ok
        });
        let done = Arc::new(grouped::Completion::default());
        self.db.submit_grouped(job, done.clone());
        GroupedWrite { done, slot }
    }

    /// Whether grouped writes run on a committer thread of their own (SQLite), so that an async
    /// caller can submit one from a task and await it without blocking; otherwise (PostgreSQL)
    /// [`Store::submit_grouped`] runs the job on the calling thread.
    pub fn grouped_in_background(&self) -> bool {
        self.db.grouped_in_background()
    }

    /// How many group commits so far ran their jobs a second time, each inside a savepoint,
    /// because one job wanted its changes undone (always 0 on PostgreSQL, which has no group
    /// commit of its own). For tests and diagnostics.
    pub fn grouped_reruns(&self) -> u64 {
        self.db.grouped_reruns()
    }

    /// Where grouped writes have spent their time (SQLite; `None` on PostgreSQL).
    pub fn write_path_stats(&self) -> Option<WritePathStats> {
        self.db.write_path_stats()
    }

    /// Turns bulk-load mode on or off. On SQLite, secondary indexes are dropped while it is on
    /// and rebuilt when it ends, except `keep_indexes`: indexes whose keys the loader writes in
    /// ascending order stay, as appending to them costs less than rebuilding them.
    pub fn set_bulk_load(&self, on: bool, keep_indexes: &[&str]) -> Result<()> {
        self.db.set_bulk_load(on, keep_indexes)
    }

    /// Refreshes planner statistics (after a bulk load).
    pub fn optimize(&self) -> Result<()> {
        self.db.optimize()
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<()> {
        self.read(|tx| tx.query_i64("SELECT 1", &[]).map(|_| ()))
    }

    /// Applies pending migrations.
    pub fn migrate(&self) -> Result<Vec<u32>> {
        migrate::apply(self)
    }

    /// Lists every known migration and whether it is applied.
    pub fn migration_status(&self) -> Result<Vec<MigrationStatus>> {
        migrate::status(self)
    }

    /// Writes a consistent snapshot of the whole database to the file `path` (which must not
    /// exist) while the store keeps serving: SQLite's online backup API, copying from a read
    /// transaction, so writers go on meanwhile. PostgreSQL: an error pointing at `pg_dump`.
    pub fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        if path.exists() {
            return Err(StoreError::Db(format!(
                "{} already exists; a backup never overwrites a file",
                path.display()
            )));
        }
        self.db.backup_to(path)
    }
}

/// Restores the SQLite backup file `backup` into the SQLite database `target_url` (a path or
/// `sqlite:` URL), replacing its whole content. The backup is checked first (integrity and
/// a schema written by sscard). Run it with the server stopped.
pub fn restore_sqlite(backup: &std::path::Path, target_url: &str) -> Result<()> {
    if target_url.starts_with("postgres://") || target_url.starts_with("postgresql://") {
        return Err(StoreError::BadUrl(
            "restore from a file is for SQLite databases; restore PostgreSQL with pg_restore/psql"
                .into(),
        ));
    }
    let path = target_url
        .strip_prefix("sqlite://")
        .or_else(|| target_url.strip_prefix("sqlite:"))
        .unwrap_or(target_url);
    sqlite_db::restore(backup, path)
}
