//! sscard's two adjustments to the bundled SQLite, both measured on the settlement benchmark
//! (see BENCHMARKS.md) and both invisible to SQL:
//!
//! - [`vfs`]: the default VFS, except that a transaction's WAL frames reach the kernel in a few
//!   large writes instead of two per frame;
//! - [`pcache`]: the default page cache, except that it does not scan itself at the commits of
//!   a database smaller than 1 GiB;
//! - statement journals (a savepoint's copies of the pages it changes) kept in memory up to
//!   [`STMT_JOURNAL_IN_MEMORY`] bytes, in one piece, when the connection's temp store is the
//!   default (SQLite's own threshold is 64 KiB; with `temp_store=MEMORY` it keeps them in
//!   1 KiB pieces, four allocations and copies per page).
//!
//! Besides, [`os::lower_thread_priority`] for the store's background checkpointer.
//!
//! Call [`install`] before the process opens its first SQLite connection and open connections
//! with the VFS name it returns. This is the workspace's only crate with `unsafe` code.

pub mod os;
pub mod pcache;
pub mod vfs;

pub use pcache::truncations;
pub use vfs::{VFS_NAME, wal_write_calls};

/// The statement-journal size kept in memory (in one allocation) with the default temp store.
pub const STMT_JOURNAL_IN_MEMORY: i32 = 1 << 20;

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The VFS to open connections with.
    pub vfs: &'static str,
    /// Why the page cache is SQLite's own, if it is (SQLite was already in use when
    /// [`install`] first ran).
    pub pcache_refused: Option<String>,
    /// Whether statement journals stay in memory up to [`STMT_JOURNAL_IN_MEMORY`] (SQLite
    /// refuses the setting once it is in use).
    pub stmt_journal_in_memory: bool,
}

/// Installs both, once per process (later calls return the first call's outcome).
///
/// Errors: the VFS could not be registered (the caller then uses SQLite's default VFS).
pub fn install() -> Result<Installed, String> {
    static DONE: std::sync::OnceLock<Result<Installed, String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        // The page cache first: SQLite takes it only before it is initialised, and registering
        // the VFS initialises it.
        let pcache_refused = pcache::install().err();
        // SAFETY: STMTJRNL_SPILL takes one int; SQLite refuses it once initialised.
        let stmt_journal_in_memory = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_STMTJRNL_SPILL,
                STMT_JOURNAL_IN_MEMORY,
            )
        } == rusqlite::ffi::SQLITE_OK;
        let vfs = vfs::register()?;
        Ok(Installed {
            vfs,
            pcache_refused,
            stmt_journal_in_memory,
        })
    })
    .clone()
}
