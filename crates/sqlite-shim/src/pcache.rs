//! SQLite's own page cache, without the scan of the whole cache at most commits of a database
//! smaller than 1 GiB.
//!
//! At the end of every transaction SQLite asks its page cache to drop the pages past the end
//! of the database (`xTruncate`). The default cache (pcache1) remembers the largest page number
//! it has held since the last truncation and does nothing if that is within the database. But
//! when a B-tree page splits and the new pages must be swapped into ascending order, SQLite
//! renumbers one of them for a moment to the number of the lock-byte page (262 145 for 4 KiB
//! pages: the page holding the byte at 1 GiB). In a database smaller than 1 GiB that number is
//! past the end, so pcache1 then walks its whole hash table and every cached page at the
//! commit: with a 64 MiB cache some 13 000 pages, about a millisecond. On the settlement
//! benchmark (a 430 MB database) that was 12-14 % of the committer's time. Databases over
//! 1 GiB never see it.
//!
//! This wraps pcache1 and keeps an upper bound of the page numbers each cache holds, counting
//! the lock-byte renumbering separately (it is always undone within the same split). When the
//! bound shows that no page lies past the truncation point, the truncation is skipped;
//! otherwise (a rolled-back transaction that grew the file, say) pcache1 truncates as always.
//! The bound only ever over-estimates (pages pcache1 evicts on its own stay counted), so a
//! needed truncation is never skipped.

use std::ffi::{c_int, c_uint};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::ffi;

/// SQLite's default page cache, as it was before this one was installed.
struct Default(ffi::sqlite3_pcache_methods2);
// SAFETY: the methods are plain functions and `pArg` is SQLite's own global; SQLite calls them
// from any thread.
unsafe impl Send for Default {}
unsafe impl Sync for Default {}

static DEFAULT: OnceLock<Default> = OnceLock::new();

/// Truncations skipped and made, process-wide (a diagnostic: see [`truncations`]).
static SKIPPED: AtomicU64 = AtomicU64::new(0);
static MADE: AtomicU64 = AtomicU64::new(0);

/// How many page-cache truncations were skipped and how many were passed on to SQLite's
/// cache, process-wide.
pub fn truncations() -> (u64, u64) {
    (
        SKIPPED.load(Ordering::Relaxed),
        MADE.load(Ordering::Relaxed),
    )
}

/// The lock-byte page's offset (SQLite's PENDING_BYTE).
const PENDING_BYTE: u32 = 0x4000_0000;

/// One page cache: pcache1's, and what is known of the page numbers in it.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// No page in the cache has a larger number (except the lock-byte number, below).
    max_key: c_uint,
    /// The lock-byte page number, which SQLite uses as a temporary number while it swaps two
    /// pages.
    swap_key: c_uint,
    /// Pages renumbered to `swap_key` and not yet renumbered away from it.
    swapping: u32,
}

/// Installs the cache. Must run before SQLite is initialised (before the process's first
/// connection); otherwise SQLite refuses and keeps its own cache (`Err` says so).
pub(crate) fn install() -> Result<(), String> {
    let mut default = ffi::sqlite3_pcache_methods2 {
        iVersion: 0,
        pArg: std::ptr::null_mut(),
        xInit: None,
        xShutdown: None,
        xCreate: None,
        xCachesize: None,
        xPagecount: None,
        xFetch: None,
        xUnpin: None,
        xRekey: None,
        xTruncate: None,
        xDestroy: None,
        xShrink: None,
    };
    // SAFETY: GETPCACHE2 fills in the struct passed (SQLite's default cache when none was
    // configured).
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_GETPCACHE2,
            &mut default as *mut ffi::sqlite3_pcache_methods2,
        )
    };
    if rc != ffi::SQLITE_OK {
        return Err(format!("reading SQLite's page cache: error {rc}"));
    }
    if default.xCreate.is_none() || default.xFetch.is_none() || default.xTruncate.is_none() {
        return Err("SQLite's page cache lacks a method".into());
    }
    let wrapped = ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        pArg: default.pArg,
        xInit: default.xInit,
        xShutdown: default.xShutdown,
        xCreate: Some(create),
        xCachesize: Some(cachesize),
        xPagecount: Some(pagecount),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    };
    if DEFAULT.set(Default(default)).is_err() {
        return Err("the page cache is already installed".into());
    }
    // SAFETY: SQLite copies the struct; it refuses (SQLITE_MISUSE) once initialised.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_PCACHE2,
            &wrapped as *const ffi::sqlite3_pcache_methods2,
        )
    };
    match rc {
        ffi::SQLITE_OK => Ok(()),
        rc => Err(format!(
            "SQLite refused the page cache (error {rc}): already initialised"
        )),
    }
}

fn default() -> &'static ffi::sqlite3_pcache_methods2 {
    // Set before the methods that call this were handed to SQLite.
    &DEFAULT.get().expect("installed before use").0
}

/// # Safety
/// `p` must come from [`create`] and not be destroyed.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: per the contract; SQLite uses a cache from one thread at a time (under its
    // connection's mutex or the pcache group's).
    unsafe { &mut *p.cast::<Cache>() }
}

unsafe extern "C" fn create(
    page_size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let Some(create) = default().xCreate else {
        return std::ptr::null_mut();
    };
    // SAFETY: pcache1's own constructor with SQLite's arguments.
    let inner = unsafe { create(page_size, extra, purgeable) };
    if inner.is_null() {
        return inner;
    }
    let swap_key = match page_size {
        n if n > 0 => PENDING_BYTE / n as u32 + 1,
        _ => c_uint::MAX,
    };
    let c = Box::new(Cache {
        inner,
        max_key: 0,
        swap_key,
        swapping: 0,
    });
    Box::into_raw(c).cast()
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    // SAFETY: SQLite passes a cache of ours.
    let c = unsafe { cache(p) };
    if let Some(f) = default().xCachesize {
        unsafe { f(c.inner, n) }
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    let c = unsafe { cache(p) };
    match default().xPagecount {
        Some(f) => unsafe { f(c.inner) },
        None => 0,
    }
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let c = unsafe { cache(p) };
    let Some(f) = default().xFetch else {
        return std::ptr::null_mut();
    };
    let page = unsafe { f(c.inner, key, create) };
    if create != 0 && !page.is_null() && key > c.max_key {
        c.max_key = key;
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    let c = unsafe { cache(p) };
    if let Some(f) = default().xUnpin {
        unsafe { f(c.inner, page, discard) }
    }
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = unsafe { cache(p) };
    if old == c.swap_key {
        c.swapping = c.swapping.saturating_sub(1);
    }
    if new == c.swap_key {
        c.swapping += 1;
    } else if new > c.max_key {
        c.max_key = new;
    }
    if let Some(f) = default().xRekey {
        unsafe { f(c.inner, page, old, new) }
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = unsafe { cache(p) };
    let beyond = c.max_key >= limit || (c.swapping > 0 && c.swap_key >= limit);
    if !beyond {
        // No page numbered `limit` or more is in the cache: nothing to drop.
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    MADE.fetch_add(1, Ordering::Relaxed);
    if let Some(f) = default().xTruncate {
        unsafe { f(c.inner, limit) }
    }
    // Every page numbered `limit` or more is gone.
    c.max_key = c.max_key.min(limit.saturating_sub(1));
    if c.swap_key >= limit {
        c.swapping = 0;
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: SQLite destroys each cache of ours once.
    let c = unsafe { Box::from_raw(p.cast::<Cache>()) };
    if let Some(f) = default().xDestroy {
        unsafe { f(c.inner) }
    }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    let c = unsafe { cache(p) };
    if let Some(f) = default().xShrink {
        unsafe { f(c.inner) }
    }
}
