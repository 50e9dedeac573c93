//! SQLite's default VFS, with each transaction's WAL frames handed to the kernel in one
//! `pwrite` instead of two per frame.
//!
//! SQLite writes a WAL frame as two calls: its 24-byte header, then the page. A group commit of
//! a few dozen settlements writes a few hundred frames, and on the settlement benchmark these
//! system calls (and the file system's work per call) were a quarter of the committer
//! thread's time. This VFS wraps the default one; for WAL files only, it collects the frames a
//! transaction appends and writes them with one call when the transaction's commit frame is
//! complete. Sub-journals (a savepoint's copies of pages, which the shim lets grow to 1 MiB in
//! memory) have their writes split below the 128 KiB the default VFS can write at once. Every
//! other file (the database, rollback journals, temporary files) is the default VFS's own file
//! object, untouched.
//!
//! Why this is safe: SQLite makes a commit visible to other connections only after writing its
//! commit frame (it then publishes the new end of the WAL in the shared-memory index), and this
//! VFS writes everything buffered before it returns from the write of that frame's page, with
//! that call's result. Anything else on the WAL file (a read, a sync, a size, a truncation, a
//! rewrite elsewhere in the file, closing it) writes out what is buffered first. Durability
//! does not change: data reaches the disk when the WAL is synced, as before, and a crash before
//! that loses nothing that was acknowledged (SQLite ignores an incomplete transaction's frames
//! on recovery).
//!

use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use rusqlite::ffi;

/// The name to open connections with (`Connection::open_with_flags_and_vfs`).
pub const VFS_NAME: &str = "sscard-wal";
const VFS_CNAME: &CStr = c"sscard-wal";

/// The size of a WAL frame header.
const FRAME_HEADER: usize = 24;
/// The most bytes written with one call (the default VFS takes at most 128 KiB - 1).
const MAX_WRITE: usize = 124 * 1024;
/// Above this, buffered frames are written out before the next frame is taken (a transaction
/// larger than this is written in several calls).
const MAX_BUFFER: usize = 8 << 20;

/// Write calls made on WAL files, by every connection of the process (see [`wal_write_calls`]).
static WRITE_CALLS: AtomicU64 = AtomicU64::new(0);

/// How many write calls this VFS has made on WAL files so far, process-wide: a diagnostic
/// (the tests check that a transaction's frames take one call).
pub fn wal_write_calls() -> u64 {
    WRITE_CALLS.load(Ordering::Relaxed)
}

/// The VFS this one wraps (the default VFS when [`register`] ran).
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// Registers the VFS (once per process; not as the default). Returns its name.
///
/// Errors: SQLite has no default VFS, or refused the registration.
pub(crate) fn register() -> Result<&'static str, String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find initialises SQLite and returns a VFS that lives as long as
        // the process; the copy made of it is leaked, so it too lives as long as the process.
        unsafe { register_once() }
    })
    .clone()
    .map(|()| VFS_NAME)
}

unsafe fn register_once() -> Result<(), String> {
    // SAFETY: a null name asks for the default VFS.
    let base = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
    if base.is_null() {
        return Err("SQLite has no default VFS".into());
    }
    // SAFETY: `base` is a valid VFS; its fields are copied as they are (the default VFS's
    // functions other than xOpen use only fields that are copied along).
    let mut vfs: ffi::sqlite3_vfs = unsafe { ptr::read(base) };
    vfs.szOsFile = (HEADER + unsafe { (*base).szOsFile } as usize) as c_int;
    vfs.pNext = ptr::null_mut();
    vfs.zName = VFS_CNAME.as_ptr();
    vfs.xOpen = Some(open);
    BASE.store(base, Ordering::Release);
    let vfs = Box::leak(Box::new(vfs));
    // SAFETY: `vfs` lives forever and is fully initialised.
    match unsafe { ffi::sqlite3_vfs_register(vfs, 0) } {
        ffi::SQLITE_OK => Ok(()),
        rc => Err(format!("registering the {VFS_NAME} VFS: SQLite error {rc}")),
    }
}

/// A WAL file or a sub-journal: the default VFS's file object sits `HEADER` bytes into the
/// allocation.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    appends: *mut Appends,
}

/// Room for [`WalFile`], rounded up so that the inner file object is well aligned.
const HEADER: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

/// Frames appended and not yet written.
struct Appends {
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    start: i64,
    /// The offset just past the last write (buffered or not); -1 before the first.
    next: i64,
    /// The last write buffered was a frame header: `Some(commit)`, its page comes next.
    header: Option<bool>,
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = BASE.load(Ordering::Acquire);
    // SAFETY: `base` was set before the VFS was registered, and lives forever.
    let Some(base_open) = (unsafe { (*base).xOpen }) else {
        return ffi::SQLITE_ERROR;
    };
    let is_wal = flags & ffi::SQLITE_OPEN_WAL != 0;
    if !is_wal && flags & ffi::SQLITE_OPEN_SUBJOURNAL == 0 {
        // SAFETY: the allocation is at least the default VFS's szOsFile: its own file object.
        return unsafe { base_open(base, name, file, flags, out_flags) };
    }
    let wal = file.cast::<WalFile>();
    // SAFETY: SQLite allocated szOsFile = HEADER + the default VFS's szOsFile bytes at `file`,
    // aligned for any file object; the inner object starts HEADER bytes in.
    let inner = unsafe { file.cast::<u8>().add(HEADER) }.cast::<ffi::sqlite3_file>();
    unsafe {
        (*wal).base.pMethods = ptr::null();
        (*inner).pMethods = ptr::null();
    }
    // SAFETY: as above.
    let rc = unsafe { base_open(base, name, inner, flags, out_flags) };
    if rc != ffi::SQLITE_OK {
        // SQLite will not close what it sees as unopened: close the inner file if it says it
        // is open.
        // SAFETY: a non-null pMethods is the inner file's own.
        unsafe {
            let m = (*inner).pMethods;
            if let Some(close) = m.as_ref().and_then(|m| m.xClose) {
                close(inner);
            }
        }
        return rc;
    }
    // A sub-journal only has its large writes split (see `write_in_pieces`); a WAL file also
    // collects its appends.
    let appends = match is_wal {
        true => Box::into_raw(Box::new(Appends {
            buf: Vec::new(),
            start: 0,
            next: -1,
            header: None,
        })),
        false => ptr::null_mut(),
    };
    // SAFETY: `wal` points at the start of SQLite's allocation, big enough for a WalFile.
    unsafe {
        (*wal).inner = inner;
        (*wal).appends = appends;
        (*wal).base.pMethods = &WAL_METHODS;
    }
    ffi::SQLITE_OK
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(wal_close),
    xRead: Some(wal_read),
    xWrite: Some(wal_write),
    xTruncate: Some(wal_truncate),
    xSync: Some(wal_sync),
    xFileSize: Some(wal_file_size),
    xLock: Some(wal_lock),
    xUnlock: Some(wal_unlock),
    xCheckReservedLock: Some(wal_check_reserved_lock),
    xFileControl: Some(wal_file_control),
    xSectorSize: Some(wal_sector_size),
    xDeviceCharacteristics: Some(wal_device_characteristics),
    xShmMap: Some(wal_shm_map),
    xShmLock: Some(wal_shm_lock),
    xShmBarrier: Some(wal_shm_barrier),
    xShmUnmap: Some(wal_shm_unmap),
    xFetch: Some(wal_fetch),
    xUnfetch: Some(wal_unfetch),
};

/// The inner file and its methods.
///
/// # Safety
/// `file` must be a [`WalFile`] opened by [`open`] and not yet closed.
unsafe fn inner(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    // SAFETY: per the contract, the inner file is open and its methods live forever.
    unsafe {
        let inner = (*file.cast::<WalFile>()).inner;
        (inner, &*(*inner).pMethods)
    }
}

/// The appends of a WAL file (`None` for a sub-journal).
///
/// # Safety
/// As [`inner`]; the caller must not hold another reference to the appends.
unsafe fn appends<'a>(file: *mut ffi::sqlite3_file) -> Option<&'a mut Appends> {
    // SAFETY: per the contract; a file object is used by one thread at a time.
    unsafe { (*file.cast::<WalFile>()).appends.as_mut() }
}

/// Writes `len` bytes at `off` through the inner file, at most [`MAX_WRITE`] a call: the
/// default VFS masks a write's length with 0x1ffff, so a write of 128 KiB or more would be
/// cut short (SQLite's own memory journals write their whole chunk at once when they spill to
/// a file, and the shim makes those chunks larger than that).
///
/// # Safety
/// As [`inner`]; `data` must hold `len` readable bytes.
unsafe fn write_in_pieces(
    file: *mut ffi::sqlite3_file,
    data: *const u8,
    len: usize,
    off: i64,
) -> c_int {
    // SAFETY: per the contract.
    let (inner, m) = unsafe { inner(file) };
    let Some(write) = m.xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let mut at = 0;
    while at < len {
        let piece = (len - at).min(MAX_WRITE);
        WRITE_CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `piece` bytes from `at` are within `data`; MAX_WRITE fits a c_int.
        let rc = unsafe { write(inner, data.add(at).cast(), piece as c_int, off + at as i64) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        at += piece;
    }
    ffi::SQLITE_OK
}

/// Writes out what is buffered (nothing for a sub-journal).
///
/// # Safety
/// As [`inner`].
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: per the contract.
    let Some(a) = (unsafe { appends(file) }) else {
        return ffi::SQLITE_OK;
    };
    a.header = None;
    if a.buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    // SAFETY: the buffer holds its length in bytes.
    let rc = unsafe { write_in_pieces(file, a.buf.as_ptr(), a.buf.len(), a.start) };
    a.buf.clear();
    if rc != ffi::SQLITE_OK {
        // Whatever follows is written where SQLite says, unbuffered, until the next append.
        a.next = -1;
    }
    rc
}

unsafe extern "C" fn wal_write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amt: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls this on an open file of ours with `amt` readable bytes at `data`.
    let len = amt.max(0) as usize;
    let Some(a) = (unsafe { appends(file) }) else {
        // A sub-journal.
        return unsafe { write_in_pieces(file, data.cast(), len, off) };
    };
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    let follows = off == a.next;
    if follows && len == FRAME_HEADER {
        // A frame header: bytes 4..8 hold the database size after a commit, 0 otherwise.
        if a.buf.len() >= MAX_BUFFER {
            let rc = unsafe { flush(file) };
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if a.buf.is_empty() {
            a.start = off;
        }
        a.buf.extend_from_slice(bytes);
        a.next = off + i64::from(amt);
        a.header = Some(bytes[4..8] != [0, 0, 0, 0]);
        return ffi::SQLITE_OK;
    }
    if follows && let Some(commit) = a.header {
        // The page of the frame whose header was just buffered.
        a.buf.extend_from_slice(bytes);
        a.next = off + i64::from(amt);
        a.header = None;
        if commit {
            // The transaction's last frame: everything goes to the file before SQLite
            // publishes the commit.
            return unsafe { flush(file) };
        }
        return ffi::SQLITE_OK;
    }
    // Anything else (the WAL header, a frame rewritten in place, checksums rewritten): in
    // order, after what is buffered.
    let rc = unsafe { flush(file) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let rc = unsafe { write_in_pieces(file, data.cast(), len, off) };
    a.next = match rc {
        ffi::SQLITE_OK => off + i64::from(amt),
        _ => -1,
    };
    rc
}

unsafe extern "C" fn wal_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes an open WalFile once.
    unsafe {
        let flushed = flush(file);
        let (inner, m) = inner(file);
        let closed = m.xClose.map_or(ffi::SQLITE_OK, |close| close(inner));
        let wal = file.cast::<WalFile>();
        if !(*wal).appends.is_null() {
            drop(Box::from_raw((*wal).appends));
            (*wal).appends = ptr::null_mut();
        }
        (*wal).base.pMethods = ptr::null();
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

/// Calls the inner file's method after writing out what is buffered.
macro_rules! after_flush {
    ($file:ident, $method:ident, $missing:expr $(, $arg:ident)*) => {{
        // SAFETY: SQLite calls the methods of an open WalFile.
        unsafe {
            let rc = flush($file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let (inner, m) = inner($file);
            match m.$method {
                Some(f) => f(inner $(, $arg)*),
                None => $missing,
            }
        }
    }};
}

/// Calls the inner file's method as it is (nothing buffered matters to it).
macro_rules! pass {
    ($file:ident, $method:ident, $missing:expr $(, $arg:ident)*) => {{
        // SAFETY: SQLite calls the methods of an open WalFile.
        unsafe {
            let (inner, m) = inner($file);
            match m.$method {
                Some(f) => f(inner $(, $arg)*),
                None => $missing,
            }
        }
    }};
}

unsafe extern "C" fn wal_read(
    file: *mut ffi::sqlite3_file,
    data: *mut c_void,
    amt: c_int,
    off: ffi::sqlite3_int64,
) -> c_int {
    after_flush!(file, xRead, ffi::SQLITE_IOERR_READ, data, amt, off)
}

unsafe extern "C" fn wal_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    after_flush!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}

unsafe extern "C" fn wal_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    after_flush!(file, xSync, ffi::SQLITE_IOERR_FSYNC, flags)
}

unsafe extern "C" fn wal_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    after_flush!(file, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}

unsafe extern "C" fn wal_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    pass!(file, xLock, ffi::SQLITE_OK, level)
}

unsafe extern "C" fn wal_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    pass!(file, xUnlock, ffi::SQLITE_OK, level)
}

unsafe extern "C" fn wal_check_reserved_lock(
    file: *mut ffi::sqlite3_file,
    out: *mut c_int,
) -> c_int {
    pass!(file, xCheckReservedLock, ffi::SQLITE_OK, out)
}

unsafe extern "C" fn wal_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    after_flush!(file, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn wal_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    pass!(file, xSectorSize, 4096)
}

unsafe extern "C" fn wal_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    pass!(file, xDeviceCharacteristics, 0)
}

unsafe extern "C" fn wal_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    pass!(
        file,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        page,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn wal_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    pass!(file, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}

unsafe extern "C" fn wal_shm_barrier(file: *mut ffi::sqlite3_file) {
    pass!(file, xShmBarrier, ())
}

unsafe extern "C" fn wal_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    pass!(file, xShmUnmap, ffi::SQLITE_OK, delete)
}

unsafe extern "C" fn wal_fetch(
    file: *mut ffi::sqlite3_file,
    off: ffi::sqlite3_int64,
    amt: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // No memory-mapped page: SQLite then reads with xRead.
    let rc = unsafe { flush(file) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    // SAFETY: `out` is SQLite's pointer to fill in.
    unsafe {
        let (inner, m) = inner(file);
        match m.xFetch {
            Some(f) => f(inner, off, amt, out),
            None => {
                *out = ptr::null_mut();
                ffi::SQLITE_OK
            }
        }
    }
}

unsafe extern "C" fn wal_unfetch(
    file: *mut ffi::sqlite3_file,
    off: ffi::sqlite3_int64,
    page: *mut c_void,
) -> c_int {
    pass!(file, xUnfetch, ffi::SQLITE_OK, off, page)
}

#[cfg(test)]
#[path = "vfs_tests.rs"]
mod tests;
