//! The point of the VFS: a transaction's WAL frames go in a few large write calls, not two per
//! frame.
//! (Alone in its test binary: the counter is process-wide.)

use rusqlite::{Connection, OpenFlags};

#[test]
fn a_transaction_of_many_pages_is_written_in_large_calls() {
    let dir = tempfile::tempdir().unwrap();
    let name = sscard_sqlite_shim::install().unwrap().vfs;
    let c =
        Connection::open_with_flags_and_vfs(dir.path().join("a.db"), OpenFlags::default(), name)
            .unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL);
         INSERT INTO t (b) VALUES (zeroblob(10));",
    )
    .unwrap();
    let before = sscard_sqlite_shim::wal_write_calls();
    // Frames are counted from the WAL's size (a checkpoint would start the WAL over).
    let wal = dir.path().join("a.db-wal");
    let frames_of = || (std::fs::metadata(&wal).unwrap().len() - 32) as i64 / (4096 + 24);
    let frames_before = frames_of();
    c.execute_batch(
        "BEGIN;
         WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 200)
         INSERT INTO t (b) SELECT randomblob(1000) FROM k;
         COMMIT;",
    )
    .unwrap();
    let calls = sscard_sqlite_shim::wal_write_calls() - before;
    let frames = frames_of();
    assert!(
        frames - frames_before >= 40,
        "{frames_before} -> {frames} frames"
    );
    // One call per 124 KiB (the most the default VFS writes at once): 30 frames each, instead
    // of two calls per frame.
    let bytes = (frames - frames_before) as u64 * (4096 + 24);
    assert_eq!(
        calls,
        bytes.div_ceil(124 * 1024),
        "{} frames written with {calls} calls",
        frames - frames_before
    );
}
