//! sscard's two adjustments to the bundled SQLite, both measured on the settlement benchmark
//! (see BENCHMARKS.md) and both invisible to SQL:
//!
//! - [`vfs`]: the default VFS, except that a transaction's WAL frames reach the kernel in a few
//!   large writes instead of two per frame;
//! - [`pcache`]: the default page cache, except that it does not scan itself at the commits of
//!   a database smaller than 1 GiB.
//!
//! Call [`install`] before the process opens its first SQLite connection and open connections
//! with the VFS name it returns. This is the workspace's only crate with `unsafe` code.

pub mod pcache;
pub mod vfs;

pub use pcache::truncations;
pub use vfs::{VFS_NAME, wal_write_calls};

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The VFS to open connections with.
    pub vfs: &'static str,
    /// Why the page cache is SQLite's own, if it is (SQLite was already in use when
    /// [`install`] first ran).
    pub pcache_refused: Option<String>,
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
        let vfs = vfs::register()?;
        Ok(Installed {
            vfs,
            pcache_refused,
        })
    })
    .clone()
}
