//! SQLite backend: one writer connection (SQLite has one writer at a time anyway) and a small
//! pool of reader connections; WAL journal, foreign keys on, durable commits.

use std::sync::{Arc, Condvar, Mutex};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::grouped::Completion;
use crate::sqlite_nonces::Nonces;
use crate::{Backend, Db, GroupJob, Result, Row, StoreError, Tx, TxAbort, Value};

/// A queued grouped write and where to tell its owner how the commit went.
struct Queued {
    job: GroupJob,
    done: Arc<Completion>,
}

/// Tells a grouped write's owner how its commit went.
fn tell(done: &Completion, outcome: std::result::Result<(), String>) {
    done.complete(outcome.map_err(StoreError::Db));
}

/// The most jobs one group commit takes; the rest wait for the next one.
const MAX_GROUP: usize = 512;

pub(crate) struct SqliteDb {
    path: String,
    writer: Arc<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
    max_readers: usize,
    /// Secondary indexes dropped for a bulk load, re-created when it ends.
    saved_indexes: Mutex<Vec<String>>,
    /// Grouped writes waiting for the group committer (see [`Db::run_grouped`]).
    group: Arc<GroupQueue>,
    /// The group committer thread, started by the first grouped write.
    committer: std::sync::OnceLock<()>,
    /// The used nonces of signed requests, kept with the writer (see [`crate::sqlite_nonces`]).
    nonces: Arc<Mutex<Nonces>>,
}

/// Runs `f` on the writer's nonces (a panic elsewhere does not make them unusable: every
/// change to them is one call here).
fn nonces_do<R>(nonces: &Mutex<Nonces>, f: impl FnOnce(&mut Nonces) -> R) -> R {
    let mut n = nonces
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut n)
}

/// After a writer transaction's COMMIT (`committed`) or failure: its nonce claims count, or
/// never happened. A transaction still open after a failure (a failed ROLLBACK) is left to the
/// next transaction's [`Nonces::begin`], which then reads the table again.
fn nonces_end(nonces: &Mutex<Nonces>, conn: &Connection, committed: bool) {
    match (committed, conn.is_autocommit()) {
        (true, _) => nonces_do(nonces, Nonces::commit),
        (false, true) => nonces_do(nonces, Nonces::rollback),
        (false, false) => {}
    }
}

/// The queue between callers and the group committer thread.
#[derive(Default)]
struct GroupQueue {
    jobs: Mutex<Vec<Queued>>,
    wake: Condvar,
    closed: std::sync::atomic::AtomicBool,
    /// Set by the checkpointer: the committer should checkpoint before its next group.
    restart_wal: std::sync::atomic::AtomicBool,
    /// How many groups had to run their jobs a second time, each in a savepoint (see
    /// [`run_group`]).
    guarded_reruns: std::sync::atomic::AtomicU64,
    /// Counts and microseconds for [`crate::WritePathStats`].
    timing: WriteTiming,
}

/// The counters behind [`crate::WritePathStats`].
#[derive(Default)]
struct WriteTiming {
    groups: Tally,
    wal_syncs: Tally,
    wal_restarts: Tally,
}

/// How many times something took how long in all.
#[derive(Default)]
struct Tally {
    count: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl Tally {
    fn add(&self, since: std::time::Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Relaxed);
        self.micros.fetch_add(micros, Relaxed);
    }

    fn get(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.count.load(Relaxed), self.micros.load(Relaxed))
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        self.group
            .closed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.group.wake.notify_all();
    }
}

/// The group committer: waits for queued jobs, runs all of them in one transaction with one
/// synced commit, answers each caller, and starts over. Callers that queue while a commit is
/// being synced form the next group. Ends when its database is dropped.
fn committer(
    writer: std::sync::Weak<Mutex<Connection>>,
    group: Arc<GroupQueue>,
    nonces: Arc<Mutex<Nonces>>,
) {
    use std::sync::atomic::Ordering;
    let syncer = writer
        .upgrade()
        .and_then(|w| w.lock().ok().and_then(|c| c.path().map(str::to_string)))
        .filter(|p| !p.is_empty())
        .and_then(|db| WalSyncer::start(format!("{db}-wal"), group.clone()));
    loop {
        let batch: Vec<Queued> = {
            let Ok(mut jobs) = group.jobs.lock() else {
                return;
            };
            while jobs.is_empty() {
                if group.closed.load(Ordering::SeqCst) {
                    return;
                }
                jobs = match group
                    .wake
                    .wait_timeout(jobs, std::time::Duration::from_millis(500))
                {
                    Ok((j, _)) => j,
                    Err(_) => return,
                };
            }
            let n = jobs.len().min(MAX_GROUP);
            jobs.drain(..n).collect()
        };
        let Some(writer) = writer.upgrade() else {
            for q in batch {
                tell(&q.done, Err("the database was closed".into()));
            }
            return;
        };
        match writer.lock() {
            Ok(conn) => {
                if group.restart_wal.swap(false, Ordering::SeqCst) {
                    let began = std::time::Instant::now();
                    wal_checkpoint(&conn);
                    group.timing.wal_restarts.add(began);
                }
                let began = std::time::Instant::now();
                run_group(
                    &conn,
                    batch,
                    syncer.as_ref(),
                    &group.guarded_reruns,
                    &nonces,
                );
                group.timing.groups.add(began);
            }
            Err(_) => {
                for q in batch {
                    tell(&q.done, Err("connection lock poisoned".into()));
                }
            }
        }
    }
}

/// Who is waiting for a group commit to be durable.
type Owners = Vec<Arc<Completion>>;

/// Makes group commits durable off the committer's path. The committer commits a group without
/// syncing (`synchronous=NORMAL`: the frames are in the WAL file, not yet on disk) and goes on
/// with the next group while this thread syncs the WAL file and only then answers the group's
/// callers. One sync covers every group committed before it started, so a settlement is still
/// acknowledged only once it is on disk, and never before anything it was built on. (Readers
/// may see a group a fraction of a millisecond before it is on disk; nobody is told it is done
/// before it is.)
struct WalSyncer {
    queue: std::sync::mpsc::Sender<(Owners, std::result::Result<(), String>)>,
}

impl WalSyncer {
    /// Starts the syncer of the WAL file `wal`; `None` (commits then sync themselves) when the
    /// file cannot be opened.
    fn start(wal: String, group: Arc<GroupQueue>) -> Option<WalSyncer> {
        let file = std::fs::OpenOptions::new().write(true).open(&wal).ok()?;
        let (queue, groups) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-wal-sync".into())
            .spawn(move || wal_sync_loop(&wal, file, &groups, &group.timing.wal_syncs))
            .ok()?;
        Some(WalSyncer { queue })
    }
}

fn wal_sync_loop(
    wal: &str,
    mut file: std::fs::File,
    groups: &std::sync::mpsc::Receiver<(Owners, std::result::Result<(), String>)>,
    syncs: &Tally,
) {
    use std::os::unix::fs::MetadataExt;
    while let Ok(first) = groups.recv() {
        let mut pending = vec![first];
        pending.extend(groups.try_iter());
        // The WAL is only ever rewritten in place while the database is open; should it have
        // been replaced all the same, sync the file that is there now.
        if let (Ok(now), Ok(mine)) = (std::fs::metadata(wal), file.metadata())
            && now.ino() != mine.ino()
            && let Ok(f) = std::fs::OpenOptions::new().write(true).open(wal)
        {
            file = f;
        }
        let began = std::time::Instant::now();
        let synced = file.sync_data().map_err(|e| format!("syncing {wal}: {e}"));
        syncs.add(began);
        for (owners, committed) in pending {
            let res = committed.and_then(|()| synced.clone());
            for d in owners {
                tell(&d, res.clone());
            }
        }
    }
}

/// WAL size above which the WAL is started over: at full load once every few seconds; each
/// time costs a pause of a few milliseconds. In bytes, turned into frames by the database's
/// page size, so that a database with 2 KiB pages restarts as seldom as one with 4 KiB pages
/// (at a quarter of this, the restarts' pauses doubled the p99 of settlements; at twice this,
/// no change).
const WAL_RESTART_BYTES: i64 = 512 << 20;

/// The checkpointer's nice value. Measured on the settlement benchmark (12 s runs alternated,
/// BENCHMARKS.md): a lower p99 in 10 of 11 pairs (for example 11.3–12.4 ms against 12.9–15.4),
/// throughput the same. At 10 the kernel still gives it about a tenth of a busy core, more than
/// its passes need, so the WAL keeps being copied.
const CHECKPOINTER_NICE: i32 = 10;

/// How often the checkpointer copies the WAL into the database. Measured on the settlement
/// benchmark with the checkpointer at [`CHECKPOINTER_NICE`] (12 s runs alternated,
/// BENCHMARKS.md): every second gave a lower p99 than every 200 ms in 8 of 11 pairs (7 of 9 in
/// an earlier session), throughput the same: fewer, larger passes copy a page written many
/// times once. The WAL may then pass [`WAL_RESTART_BYTES`] by up to a second of frames before
/// it starts over.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(1000);

/// Checkpoints the WAL until the database is dropped: every [`CHECKPOINT_EVERY`] the frames
/// written so far are copied into the database beside the commits (PASSIVE: blocks neither
/// writers nor readers; SQLite syncs the database file only when a pass completes the WAL).
///
/// Under continuous load that never catches up completely, so the WAL would grow without bound,
/// and every commit would append to new file blocks, which the kernel zeroes first (a quarter
/// of the server's time went there). So once the WAL holds more than [`WAL_RESTART_BYTES`] of
/// frames, this copies once more (leaving only the frames of the last few milliseconds) and
/// asks the committer to checkpoint between two groups: the WAL is then wholly in the database
/// and the next commit starts it again from the top, reusing the same file blocks. That pause
/// comes once per [`WAL_RESTART_BYTES`] and lasts 35–55 ms on the benchmark machine: completing
/// the WAL syncs the database file, which then writes out every page copied since the last
/// restart. (Having this thread sync the file first shortened the pause but slowed the WAL's
/// own syncs meanwhile, for no better p99.)
///
/// The thread runs at a lower CPU priority ([`CHECKPOINTER_NICE`]): its copying is background
/// work, and on a busy machine it should wait for the committer and the request handlers
/// rather than the other way round.
fn checkpointer(path: &str, group: &GroupQueue) {
    use std::sync::atomic::Ordering;
    if let Err(e) = sscard_sqlite_shim::os::lower_thread_priority(CHECKPOINTER_NICE) {
        tracing::debug!("SQLite checkpointer keeps its priority: {e}");
    }
    let Ok(conn) = open_conn(path, false) else {
        return;
    };
    let restart_frames = wal_restart_frames(&conn);
    // Sleeps in short steps, so that the thread (and its connection) goes soon after the
    // database is dropped.
    const STEP: std::time::Duration = std::time::Duration::from_millis(50);
    let mut slept = std::time::Duration::ZERO;
    while !group.closed.load(Ordering::SeqCst) {
        std::thread::sleep(STEP);
        slept += STEP;
        if slept < CHECKPOINT_EVERY {
            continue;
        }
        slept = std::time::Duration::ZERO;
        if wal_checkpoint(&conn) >= restart_frames {
            wal_checkpoint(&conn);
            group.restart_wal.store(true, Ordering::SeqCst);
        }
    }
}

/// The page size of databases sscard creates (see [`open_conn`]).
const PAGE_SIZE: i64 = 2048;

/// The page size of the database open on `conn`.
fn page_size(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(map_err)
}

/// [`WAL_RESTART_BYTES`] in WAL frames of the database's page size.
fn wal_restart_frames(conn: &Connection) -> i64 {
    WAL_RESTART_BYTES / page_size(conn).unwrap_or(PAGE_SIZE).max(512)
}

/// A PASSIVE checkpoint; the number of frames in the WAL.
fn wal_checkpoint(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap_or(0)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Constraint(e.to_string())
        }
        _ => StoreError::Db(e.to_string()),
    }
}

fn open_conn(path: &str, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    // The bundled SQLite with two adjustments (crates/sqlite-shim, both measured on the
    // settlement benchmark): a transaction's WAL frames are written with a few large calls
    // instead of two per frame, and the page cache does not scan itself at commits.
    let conn = match sscard_sqlite_shim::install() {
        Ok(shim) => {
            if let Some(why) = &shim.pcache_refused {
                tracing::debug!("SQLite page cache: {why}; using SQLite's own");
            }
            Connection::open_with_flags_and_vfs(path, flags, shim.vfs)
        }
        Err(e) => {
            tracing::warn!(
                "SQLite VFS {}: {e}; using the default",
                sscard_sqlite_shim::VFS_NAME
            );
            Connection::open_with_flags(path, flags)
        }
    }
    .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(map_err)?;
    // A settlement alone runs some 25 distinct statements: keep them all prepared.
    conn.set_prepared_statement_cache_capacity(256);
    // A new database gets 2 KiB pages (SQLite's default is 4 KiB; an existing database keeps
    // the size it was created with). A settlement changes a few rows at random places (its
    // holder's account and index entries), each a whole page in the WAL: smaller pages halve
    // the bytes checksummed, copied and written per commit. Measured (BENCHMARKS.md): +12 %
    // settlements/s at 100 000 persons, +19 % at 1 000 000, against 4 KiB (1 KiB pages make
    // the B-trees deeper and lose it again).
    // Must come before WAL mode is set, which creates the file.
    conn.execute_batch(&format!("PRAGMA page_size={PAGE_SIZE}"))
        .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| StoreError::Connect(format!("{path}: {e}")))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Connect(format!(
            "{path}: cannot enable WAL (got {mode})"
        )));
    }
    conn.execute_batch(
        "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; \
         PRAGMA temp_store=MEMORY;",
    )
    .map_err(map_err)?;
    Ok(conn)
}

impl SqliteDb {
    pub(crate) fn open(path: &str, pool_size: u32) -> Result<SqliteDb> {
        let writer = open_conn(path, true)?;
        Ok(SqliteDb {
            path: path.to_string(),
            writer: Arc::new(Mutex::new(writer)),
            readers: Mutex::new(Vec::new()),
            max_readers: pool_size.max(1) as usize,
            saved_indexes: Mutex::new(Vec::new()),
            group: Arc::default(),
            committer: std::sync::OnceLock::new(),
            nonces: Arc::default(),
        })
    }

    fn take_reader(&self) -> Result<Connection> {
        if let Some(c) = self.readers.lock().map_err(|_| poisoned())?.pop() {
            return Ok(c);
        }
        open_conn(&self.path, false)
    }

    fn give_back(&self, c: Connection) {
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < self.max_readers
        {
            pool.push(c);
        }
    }
}

fn poisoned() -> StoreError {
    StoreError::Db("connection lock poisoned".into())
}

/// Runs `f` in a transaction on `conn`; `nonces` for the writer, `None` for a reader.
fn run_in(
    conn: &Connection,
    begin: &str,
    f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    nonces: Option<&Mutex<Nonces>>,
) -> Result<()> {
    exec_cached(conn, begin).map_err(map_err)?;
    if let Some(n) = nonces {
        nonces_do(n, Nonces::begin);
    }
    let mut tx = SqliteTx {
        conn,
        unguarded: false,
        nonces,
    };
    let res = match f(&mut tx) {
        Ok(()) => match exec_cached(conn, "COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(map_err(e))
            }
        },
        Err(TxAbort) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(StoreError::Db("rolled back".into()))
        }
    };
    if let Some(n) = nonces {
        nonces_end(n, conn, res.is_ok());
    }
    res
}

/// Whether the `$n` placeholders of `sql` first appear in the order 1, 2, 3…: SQLite numbers
/// `$`-named parameters by first appearance, and values are bound by position, so a statement
/// that used `$2` before `$1` would bind them swapped (PostgreSQL reads the numbers).
fn placeholders_ascend(sql: &str) -> bool {
    let mut next = 1u32;
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 {
                let n: u32 = sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                if n == next {
                    next += 1;
                } else if n > next {
                    return false;
                }
                i += digits;
            }
        }
        i += 1;
    }
    true
}

/// Runs a parameterless statement through the statement cache (no re-parsing per use).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// `PRAGMA temp_store=DEFAULT` until dropped, then `MEMORY` again (it can only change
/// outside a transaction).
struct TempStoreDefault<'a>(&'a Connection);

impl<'a> TempStoreDefault<'a> {
    fn set(conn: &'a Connection) -> Self {
        let _ = exec_cached(conn, "PRAGMA temp_store=DEFAULT");
        TempStoreDefault(conn)
    }
}

impl Drop for TempStoreDefault<'_> {
    fn drop(&mut self) {
        let _ = exec_cached(self.0, "PRAGMA temp_store=MEMORY");
    }
}

/// Runs a batch of grouped jobs in one transaction, commits once, and tells every owner the
/// outcome.
///
/// The jobs first run one after the other without savepoints: a savepoint copies every page a
/// job changes, and nearly every job keeps its changes. Only when one of them wants its changes
/// undone (it returns `false` or panics) is that pass rolled back and the whole batch run again,
/// each job inside its own savepoint, so that the others keep theirs. A job therefore runs once
/// or twice, and only the last run counts; [`Tx::unguarded_changes`] tells it which pass it is
/// in.
fn run_group(
    conn: &Connection,
    mut batch: Vec<Queued>,
    syncer: Option<&WalSyncer>,
    reruns: &std::sync::atomic::AtomicU64,
    nonces: &Mutex<Nonces>,
) {
    let fail_all = |batch: Vec<Queued>, msg: String| {
        // Whatever the group claimed was rolled back (or never began).
        nonces_do(nonces, Nonces::rollback);
        for q in batch {
            tell(&q.done, Err(msg.clone()));
        }
    };
    // Each call's savepoint keeps a copy of every page the call changes (SQLite's
    // sub-journal). With temp_store=MEMORY SQLite keeps it in 1 KiB pieces, four allocations
    // and copies a page; with the default temp store, and the shim's threshold, in one piece
    // of up to 1 MiB (a larger one goes to a temporary file; SQLite's own threshold, 64 KiB,
    // is smaller than a settlement's). The connection's temporary tables stay in memory
    // outside the groups.
    let _temp = sscard_sqlite_shim::install()
        .is_ok_and(|i| i.stmt_journal_in_memory)
        .then(|| TempStoreDefault::set(conn));
    // With a syncer the commit leaves the sync to it; the connection's other transactions
    // keep syncing their own commits.
    let deferred = syncer.is_some() && exec_cached(conn, "PRAGMA synchronous=NORMAL").is_ok();
    let restore_sync = || {
        if deferred {
            let _ = exec_cached(conn, "PRAGMA synchronous=FULL");
        }
    };
    if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
        restore_sync();
        return fail_all(batch, e.to_string());
    }
    nonces_do(nonces, Nonces::begin);
    let owners = match run_unguarded(conn, &mut batch, nonces) {
        Pass::Kept => batch.into_iter().map(|q| q.done).collect(),
        Pass::Lost => {
            restore_sync();
            return fail_all(batch, TX_LOST.into());
        }
        Pass::Undo => {
            reruns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let again = conn.execute_batch("ROLLBACK");
            nonces_do(nonces, Nonces::rollback);
            let again = again.and_then(|()| exec_cached(conn, "BEGIN IMMEDIATE"));
            if let Err(e) = again {
                let _ = conn.execute_batch("ROLLBACK");
                restore_sync();
                return fail_all(batch, e.to_string());
            }
            match run_guarded(conn, batch, nonces) {
                Ok(owners) => owners,
                Err(()) => {
                    nonces_do(nonces, Nonces::rollback);
                    return restore_sync();
                }
            }
        }
    };
    let res = exec_cached(conn, "COMMIT").map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    });
    nonces_end(nonces, conn, res.is_ok());
    restore_sync();
    match syncer {
        Some(s) if deferred => {
            if let Err(std::sync::mpsc::SendError((owners, res))) = s.queue.send((owners, res)) {
                for d in owners {
                    tell(&d, res.clone().and(Err("the WAL syncer stopped".into())));
                }
            }
        }
        _ => {
            for d in owners {
                tell(&d, res.clone());
            }
        }
    }
}

/// How the first pass of a group went.
enum Pass {
    /// Every job kept its changes: commit.
    Kept,
    /// A job wants its changes undone: roll back and run the group again, a savepoint per job.
    Undo,
    /// SQLite rolled the whole transaction back itself (disk full, I/O error, out of memory):
    /// nothing of the group is written.
    Lost,
}

/// What a group's callers are told when SQLite rolled their transaction back itself.
const TX_LOST: &str =
    "the transaction was rolled back by SQLite (disk full, I/O error or out of memory)";

/// Runs one grouped job; whether it keeps its changes (a panic counts as no).
fn run_job(conn: &Connection, q: &mut Queued, unguarded: bool, nonces: &Mutex<Nonces>) -> bool {
    let mut tx = SqliteTx {
        conn,
        unguarded,
        nonces: Some(nonces),
    };
    let job = &mut q.job;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx))).unwrap_or(false)
}

/// The first pass of [`run_group`]: every job in turn, no savepoints.
fn run_unguarded(conn: &Connection, batch: &mut [Queued], nonces: &Mutex<Nonces>) -> Pass {
    for q in batch.iter_mut() {
        let keep = run_job(conn, q, true, nonces);
        // A job may have turned an error into an answer it keeps (a refusal that wrote
        // nothing); if that error ended the transaction, so does the group.
        if conn.is_autocommit() {
            return Pass::Lost;
        }
        if !keep {
            return Pass::Undo;
        }
    }
    Pass::Kept
}

/// The second pass of [`run_group`]: every job inside its own savepoint, undone alone when it
/// asks for that. The owners to tell the commit's outcome; `Err` when the transaction was given
/// up (everyone has been told).
fn run_guarded(
    conn: &Connection,
    batch: Vec<Queued>,
    nonces: &Mutex<Nonces>,
) -> std::result::Result<Vec<Arc<Completion>>, ()> {
    let mut owners = Vec::with_capacity(batch.len());
    for mut q in batch {
        if let Err(e) = exec_cached(conn, "SAVEPOINT grouped") {
            tell(&q.done, Err(e.to_string()));
            continue;
        }
        let mark = nonces_do(nonces, |n| n.mark());
        let keep = run_job(conn, &mut q, false, nonces);
        let end = if keep {
            exec_cached(conn, "RELEASE grouped")
        } else {
            nonces_do(nonces, |n| n.rollback_to(mark));
            exec_cached(conn, "ROLLBACK TO grouped")
                .and_then(|()| exec_cached(conn, "RELEASE grouped"))
        };
        match end {
            Ok(()) => owners.push(q.done),
            Err(e) => {
                // The transaction is in an unknown state: give up the whole group.
                let _ = conn.execute_batch("ROLLBACK");
                tell(&q.done, Err(e.to_string()));
                for d in owners {
                    tell(&d, Err(e.to_string()));
                }
                return Err(());
            }
        }
    }
    Ok(owners)
}

impl Db for SqliteDb {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn submit_grouped(&self, job: GroupJob, done: Arc<Completion>) {
        self.committer.get_or_init(|| {
            let (writer, group) = (Arc::downgrade(&self.writer), self.group.clone());
            let nonces = self.nonces.clone();
            std::thread::Builder::new()
                .name("sqlite-group-commit".into())
                .spawn(move || committer(writer, group, nonces))
                .expect("start the group committer thread");
            // Under grouped load, checkpoint the WAL beside the commits instead of inside
            // one of them (an automatic checkpoint would stall that whole group).
            if let Ok(conn) = self.writer.lock() {
                let _ = conn.execute_batch("PRAGMA wal_autocheckpoint=0");
            }
            let (path, group) = (self.path.clone(), self.group.clone());
            let _ = std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || checkpointer(&path, &group));
        });
        match self.group.jobs.lock() {
            Ok(mut jobs) => jobs.push(Queued { job, done }),
            Err(_) => return done.complete(Err(poisoned())),
        }
        self.group.wake.notify_one();
    }

    fn warm_up(&self) -> Result<()> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        let t0 = std::time::Instant::now();
        let n = nonces_do(&self.nonces, |n| n.load_now(&conn))?;
        if n > 0 {
            tracing::info!(
                nonces = n,
                elapsed_ms = t0.elapsed().as_millis() as u64,
                "used nonces of signed requests read"
            );
        }
        Ok(())
    }

    fn grouped_in_background(&self) -> bool {
        true
    }

    fn grouped_reruns(&self) -> u64 {
        self.group
            .guarded_reruns
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn write_path_stats(&self) -> Option<crate::WritePathStats> {
        let t = &self.group.timing;
        let ((groups, group_micros), (wal_syncs, wal_sync_micros)) =
            (t.groups.get(), t.wal_syncs.get());
        let (wal_restarts, wal_restart_micros) = t.wal_restarts.get();
        Some(crate::WritePathStats {
            groups,
            group_micros,
            wal_syncs,
            wal_sync_micros,
            wal_restarts,
            wal_restart_micros,
        })
    }

    fn set_bulk_load(&self, on: bool, keep_indexes: &[&str]) -> Result<()> {
        // During a bulk load commits are not synced, foreign keys are not checked row by row
        // (the loader writes parents first) and secondary indexes are dropped, to be rebuilt
        // in one sorted pass at the end. Rebuilding a UNIQUE index re-checks uniqueness, so
        // duplicates in the loaded data still fail the load.
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        let mut saved = self.saved_indexes.lock().map_err(|_| poisoned())?;
        if on {
            // Leaving WAL needs the only open connection: close the idle readers first.
            self.readers.lock().map_err(|_| poisoned())?.clear();
            conn.execute_batch(
                "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF; \
                 PRAGMA cache_size=-1048576; PRAGMA threads=4;",
            )
            .map_err(map_err)?;
            let mut stmt = conn
                .prepare(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                     AND tbl_name NOT IN ('schema_migrations', 'audit_log', 'audit_head')",
                )
                .map_err(map_err)?;
            let indexes: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(map_err)?
                .collect::<std::result::Result<_, _>>()
                .map_err(map_err)?;
            for (name, sql) in indexes {
                if keep_indexes.contains(&name.as_str()) {
                    continue;
                }
                conn.execute_batch(&format!("DROP INDEX \"{name}\""))
                    .map_err(map_err)?;
                saved.push(sql);
            }
        } else {
            let indexes = std::mem::take(&mut *saved);
            conn.execute_batch("BEGIN").map_err(map_err)?;
            for sql in &indexes {
                if let Err(e) = conn.execute_batch(sql) {
                    let _ = conn.execute_batch("ROLLBACK");
                    *saved = indexes;
                    return Err(map_err(e));
                }
            }
            conn.execute_batch("COMMIT").map_err(map_err)?;
            // The load was written without syncs: put it on disk before it counts as done.
            // (Otherwise it sits in the page cache, and the server's first checkpoint pays for
            // it: a stall of most of a second on a 100 000-person database.)
            if let Some(p) = conn.path().filter(|p| !p.is_empty()) {
                std::fs::File::open(p)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| StoreError::Db(format!("{p}: sync after the bulk load: {e}")))?;
            }
            conn.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; \
                 PRAGMA cache_size=-65536; PRAGMA threads=0;",
            )
            .map_err(map_err)?;
        }
        Ok(())
    }

    fn optimize(&self) -> Result<()> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        conn.execute_batch("PRAGMA analysis_limit=1000; ANALYZE; PRAGMA optimize;")
            .map_err(map_err)
    }

    fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        // From a reader connection: the copy is one read transaction (a consistent snapshot)
        // and, in WAL mode, writers go on meanwhile.
        let src = self.take_reader()?;
        let res = copy_database(&src, path, false);
        self.give_back(src);
        if res.is_err() {
            let _ = std::fs::remove_file(path);
        }
        res
    }

    fn run(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    ) -> Result<()> {
        if write {
            let conn = self.writer.lock().map_err(|_| poisoned())?;
            run_in(&conn, "BEGIN IMMEDIATE", f, Some(&self.nonces))
        } else {
            let conn = self.take_reader()?;
            let res = run_in(&conn, "BEGIN", f, None);
            self.give_back(conn);
            res
        }
    }
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    /// Running in a group commit's first pass, without a savepoint (see [`run_group`]).
    unguarded: bool,
    /// The writer's used nonces; `None` on a reader.
    nonces: Option<&'a Mutex<Nonces>>,
}

impl SqliteTx<'_> {
    /// The writer's nonces, inside a transaction still open.
    fn writer_nonces(&self) -> Result<&Mutex<Nonces>> {
        self.still_open()?;
        self.nonces
            .ok_or_else(|| StoreError::Db("nonces are written in write transactions only".into()))
    }

    /// Every `SqliteTx` runs inside a transaction. After an I/O error, a full disk or running
    /// out of memory SQLite may roll the whole transaction back itself; a statement run after
    /// that would commit on its own, outside the caller's transaction. Refuse it instead.
    fn still_open(&self) -> Result<()> {
        if self.conn.is_autocommit() {
            return Err(StoreError::Db(TX_LOST.into()));
        }
        Ok(())
    }
}

struct P<'a>(&'a Value);

impl rusqlite::ToSql for P<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn read_value(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(_) => return Err(StoreError::Data("floating-point column".into())),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Data(e.to_string()))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

impl Tx for SqliteTx<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn unguarded_changes(&self) -> Option<u64> {
        self.unguarded.then(|| self.conn.total_changes())
    }

    fn claim_nonce(&mut self, key_id: &str, nonce: &str, at: &str) -> Result<bool> {
        let conn = self.conn;
        nonces_do(self.writer_nonces()?, |n| n.claim(conn, key_id, nonce, at))
    }

    fn forget_nonces(&mut self, before: &str) -> Result<u64> {
        let conn = self.conn;
        nonces_do(self.writer_nonces()?, |n| n.forget(conn, before))
    }

    fn insert_id(&mut self, sql: &str, params: &[Value]) -> Result<i64> {
        debug_assert!(
            !sql.to_ascii_uppercase().contains("ON CONFLICT"),
            "insert_id needs an insert that inserts: {sql}"
        );
        let n = self.execute(sql, params)?;
        if n != 1 {
            return Err(StoreError::Db(format!("{n} rows inserted, expected 1")));
        }
        Ok(self.conn.last_insert_rowid())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        debug_assert!(placeholders_ascend(sql), "placeholders out of order: {sql}");
        self.still_open()?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        if stmt.readonly() && stmt.column_count() > 0 {
            // A SELECT run for its side effects (pg-style helpers): step through it.
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter().map(P)))
                .map_err(map_err)?;
            while rows.next().map_err(map_err)?.is_some() {}
            return Ok(0);
        }
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(P)))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        debug_assert!(placeholders_ascend(sql), "placeholders out of order: {sql}");
        self.still_open()?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let ncol = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(P)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            let mut vals = Vec::with_capacity(ncol);
            for i in 0..ncol {
                vals.push(read_value(r.get_ref(i).map_err(map_err)?)?);
            }
            out.push(Row(vals));
        }
        Ok(out)
    }

    fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &mut dyn Iterator<Item = Vec<Value>>,
    ) -> Result<u64> {
        self.still_open()?;
        // Multi-row INSERTs: per-statement work (constant IN-lists of CHECK constraints and
        // partial indexes are materialised once per execution) is shared by many rows.
        let ncol = columns.len().max(1);
        let per_stmt = (30_000 / ncol).clamp(1, 256);
        let sql_for = |nrows: usize| {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut k = 1;
            for r in 0..nrows {
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 0..ncol {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("?{k}"));
                    k += 1;
                }
                sql.push(')');
            }
            sql
        };
        let full_sql = sql_for(per_stmt);
        let mut batch: Vec<Value> = Vec::with_capacity(per_stmt * ncol);
        let mut in_batch = 0usize;
        let mut n = 0u64;
        for row in rows {
            if row.len() != ncol {
                return Err(StoreError::Data(format!(
                    "bulk insert into {table}: row has {} values for {ncol} columns",
                    row.len()
                )));
            }
            batch.extend(row);
            in_batch += 1;
            n += 1;
            if in_batch == per_stmt {
                let mut stmt = self.conn.prepare_cached(&full_sql).map_err(map_err)?;
                stmt.execute(rusqlite::params_from_iter(batch.iter().map(P)))
                    .map_err(map_err)?;
                batch.clear();
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            let mut stmt = self.conn.prepare(&sql_for(in_batch)).map_err(map_err)?;
            stmt.execute(rusqlite::params_from_iter(batch.iter().map(P)))
                .map_err(map_err)?;
        }
        Ok(n)
    }

    fn resync_ids(&mut self, _tables: &[&str]) -> Result<()> {
        Ok(())
    }
}

/// Copies the whole database of `src` into the file `dst_path` with SQLite's online backup
/// API, in one step (one read transaction on the source, so the copy is a consistent
/// snapshot). `into_live`: the destination is an sscard database opened as usual (WAL);
/// otherwise it is a new self-contained file (rollback journal, no `-wal` beside it).
fn copy_database(src: &Connection, dst_path: &std::path::Path, into_live: bool) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let mut dst = if into_live {
        open_conn(&dst_path.display().to_string(), true)?
    } else {
        Connection::open(dst_path)
            .map_err(|e| StoreError::Connect(format!("{}: {e}", dst_path.display())))?
    };
    // SQLite cannot copy into a WAL database of another page size (a backup of a database
    // created with 4 KiB pages restored where sscard now creates 2 KiB ones, or the other
    // way): the copy goes through the rollback journal then, and takes the backup's size.
    let resize = into_live && page_size(src)? != page_size(&dst)?;
    if resize {
        let _: String = dst
            .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
            .map_err(map_err)?;
    }
    {
        let backup = Backup::new(src, &mut dst).map_err(map_err)?;
        let started = std::time::Instant::now();
        loop {
            match backup.step(-1).map_err(map_err)? {
                StepResult::Done => break,
                StepResult::More | StepResult::Busy | StepResult::Locked => {
                    if started.elapsed() > std::time::Duration::from_secs(600) {
                        return Err(StoreError::Db(
                            "backup: the database stayed locked for 10 minutes".into(),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    if !into_live {
        let _: String = dst
            .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
            .map_err(map_err)?;
    } else if resize {
        let mode: String = dst
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(map_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Db(format!(
                "{}: cannot enable WAL after the restore (got {mode})",
                dst_path.display()
            )));
        }
    }
    check_integrity(&dst, &dst_path.display().to_string())
}

fn check_integrity(conn: &Connection, what: &str) -> Result<()> {
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(map_err)?;
    if ok != "ok" {
        return Err(StoreError::Data(format!(
            "{what}: integrity check failed: {ok}"
        )));
    }
    Ok(())
}

/// Replaces the content of the SQLite database at `target` with the backup file `backup`
/// (checked first: integrity, and a schema written by sscard).
pub(crate) fn restore(backup: &std::path::Path, target: &str) -> Result<()> {
    if !backup.is_file() {
        return Err(StoreError::Connect(format!(
            "{}: no such backup file",
            backup.display()
        )));
    }
    let src = Connection::open_with_flags(
        backup,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Connect(format!("{}: {e}", backup.display())))?;
    let what = backup.display().to_string();
    check_integrity(&src, &what).map_err(|e| match e {
        StoreError::Db(m) => StoreError::Data(format!("{what} is not an SQLite database: {m}")),
        other => other,
    })?;
    let migrations: i64 = src
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if migrations == 0 {
        return Err(StoreError::Data(format!(
            "{what} is not an sscard database (no schema_migrations)"
        )));
    }
    copy_database(&src, std::path::Path::new(target), true)
}

#[cfg(test)]
mod placeholder_tests {
    use super::placeholders_ascend;

    #[test]
    fn placeholders_must_first_appear_in_order() {
        assert!(placeholders_ascend("SELECT 1"));
        assert!(placeholders_ascend("SELECT $1, $2, $1, $3"));
        assert!(!placeholders_ascend("SELECT $2, $1"));
        assert!(!placeholders_ascend("SELECT $1, $3, $2"));
        // Dollar-quoted text is not a placeholder.
        assert!(placeholders_ascend("SELECT '$' || $1"));
    }
}

#[cfg(test)]
mod wal_restart_tests {
    use super::{WAL_RESTART_BYTES, wal_restart_frames};

    #[test]
    fn the_wal_restarts_at_the_same_size_whatever_the_page_size() {
        for (page_size, frames) in [(2048, 262_144), (4096, 131_072), (1024, 524_288)] {
            let c = rusqlite::Connection::open_in_memory().unwrap();
            c.execute_batch(&format!(
                "PRAGMA page_size={page_size}; CREATE TABLE t (x);"
            ))
            .unwrap();
            assert_eq!(wal_restart_frames(&c), frames);
            assert_eq!(wal_restart_frames(&c) * page_size, WAL_RESTART_BYTES);
        }
    }
}
