//! The online SQLite backup: taken while a writer keeps committing, it is one consistent
//! snapshot (every transaction wholly in or wholly out), restores into a database whose every
//! table equals the source's at that snapshot, and refuses what it must.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sscard_store::repo::admin::table_digests;
use sscard_store::repo::{ivr, regions};
use sscard_store::{Store, Value, restore_sqlite};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

#[test]
fn a_backup_taken_under_writes_is_a_consistent_snapshot_and_restores_equal() {
    let dir = tempfile::tempdir().unwrap();
    let src_path = dir.path().join("live.db");
    let src = Store::open(&src_path.display().to_string()).unwrap();
    // Enough data that the copy takes a while: 120 000 call rows (about 10 MB).
    src.write(|tx| {
        regions::upsert_region(tx, "511000", "内江市", now())?;
        let mut rows = (0..120_000).map(|i| {
            vec![
                Value::Text(format!("2026-01-01T00:00:00.{:03}Z", i % 1000)),
                Value::Text(format!("seed-caller-{i:06}-{}", "x".repeat(40))),
            ]
        });
        tx.bulk_insert("ivr_calls", &["started_at", "caller_hash"], &mut rows)
    })
    .unwrap();
    let seeded = src
        .read(|tx| tx.query_i64("SELECT count(*) FROM ivr_calls", &[]))
        .unwrap();

    // The writer: each transaction inserts a pair of rows; a consistent snapshot never holds
    // half a pair.
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicI64::new(0));
    let writer = {
        let (src, stop, committed) = (src.clone(), stop.clone(), committed.clone());
        std::thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::SeqCst) {
                src.write(|tx| {
                    ivr::insert_call(tx, "2026-11-21T08:00:00.000Z", &format!("a{i}"))?;
                    ivr::insert_call(tx, "2026-11-21T08:00:00.000Z", &format!("b{i}"))
                })
                .unwrap();
                i += 1;
                committed.store(i, Ordering::SeqCst);
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = committed.load(Ordering::SeqCst);
    let backup = dir.path().join("backup.db");
    src.backup_to(&backup).unwrap();
    let after = committed.load(Ordering::SeqCst);
    // Keep writing a little after the backup, then stop.
    while committed.load(Ordering::SeqCst) < after + 20 {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(
        !dir.path().join("backup.db-wal").exists(),
        "the backup is one self-contained file"
    );
    // A backup never overwrites.
    assert!(src.backup_to(&backup).is_err());

    // Restore into a fresh database and compare.
    let restored_path = dir.path().join("restored.db");
    let restored_url = restored_path.display().to_string();
    restore_sqlite(&backup, &restored_url).unwrap();
    let restored = Store::open(&restored_url).unwrap();
    let n = restored
        .read(|tx| tx.query_i64("SELECT count(*) FROM ivr_calls", &[]))
        .unwrap();
    let pairs = (n - seeded) / 2;
    assert_eq!((n - seeded) % 2, 0, "no half transaction in the snapshot");
    assert!(
        pairs >= before && pairs <= after,
        "snapshot of {pairs} pairs taken between {before} and {after}"
    );
    let total = src
        .read(|tx| tx.query_i64("SELECT count(*) FROM ivr_calls", &[]))
        .unwrap();
    assert!(total > n, "the writer kept writing after the snapshot");

    // Every table equals the source's; the calls equal the source's first n rows.
    let a = src.read(|tx| table_digests(tx)).unwrap();
    let b = restored.read(|tx| table_digests(tx)).unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.table, y.table);
        if x.table == "ivr_calls" {
            assert_eq!(y.rows, n);
        } else {
            assert_eq!(x, y, "table {} differs", x.table);
        }
    }
    let rows_upto = |s: &Store| {
        s.read(|tx| {
            tx.query(
                "SELECT id, started_at, caller_hash FROM ivr_calls WHERE id <= $1 ORDER BY id",
                &[Value::Int(n)],
            )
        })
        .unwrap()
        .iter()
        .map(|r| (r.i64(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap()))
        .collect::<Vec<_>>()
    };
    let (x, y) = (rows_upto(&src), rows_upto(&restored));
    assert_eq!(x.len() as i64, n);
    assert!(x == y, "restored calls equal the source's first {n}");

    // Restore refuses a file that is not an sscard backup.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just text").unwrap();
    assert!(restore_sqlite(&junk, &dir.path().join("x.db").display().to_string()).is_err());
    assert!(
        restore_sqlite(&dir.path().join("missing.db"), &restored_url).is_err(),
        "a missing backup file"
    );
    assert!(restore_sqlite(&backup, "postgres://u@127.0.0.1/db").is_err());
}

#[test]
fn postgres_points_at_pg_dump() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    let s = Store::open(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = s.backup_to(&dir.path().join("b.db")).unwrap_err();
    assert!(e.to_string().contains("pg_dump"), "{e}");
}

/// The page size of the SQLite database at `path`.
fn page_size(path: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
}

/// A copy of the (rollback-journal) database file `from` at `to`, rewritten with `size`-byte
/// pages.
fn resized_copy(from: &std::path::Path, to: &std::path::Path, size: i64) {
    std::fs::copy(from, to).unwrap();
    let c = rusqlite::Connection::open(to).unwrap();
    c.execute_batch(&format!(
        "PRAGMA journal_mode=DELETE; PRAGMA page_size={size}; VACUUM;"
    ))
    .unwrap();
    drop(c);
    assert_eq!(page_size(to), size);
}

#[test]
fn new_databases_have_2_kib_pages_and_restore_across_page_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let live_path = dir.path().join("live.db");
    let live_url = live_path.display().to_string();
    let live = Store::open(&live_url).unwrap();
    live.write(|tx| {
        regions::upsert_region(tx, "511000", "内江市", now())?;
        for i in 0..2_000 {
            ivr::insert_call(tx, "2026-11-21T08:00:00.000Z", &format!("caller-{i}"))?;
        }
        Ok::<(), sscard_store::StoreError>(())
    })
    .unwrap();
    assert_eq!(
        live.read(|tx| tx.query_i64("PRAGMA page_size", &[]))
            .unwrap(),
        2048,
        "a new database gets 2 KiB pages"
    );
    let digests = live.read(|tx| table_digests(tx)).unwrap();
    let backup = dir.path().join("backup.db");
    live.backup_to(&backup).unwrap();
    drop(live);
    assert_eq!(page_size(&backup), 2048, "a backup keeps the page size");

    // A backup with 4 KiB pages (as databases created before 2 KiB pages have) restores into
    // a live database with 2 KiB pages: SQLite refuses to copy into a WAL database of another
    // page size unless the restore goes through the rollback journal.
    let old = dir.path().join("old-4k.db");
    resized_copy(&backup, &old, 4096);
    restore_sqlite(&old, &live_url).unwrap();
    assert_eq!(
        page_size(&live_path),
        4096,
        "the restored database is the backup's copy"
    );
    let restored = Store::open(&live_url).unwrap();
    assert_eq!(
        restored
            .read(|tx| tx.query_one("PRAGMA journal_mode", &[], "mode")?.text(0))
            .unwrap(),
        "wal"
    );
    assert_eq!(restored.read(|tx| table_digests(tx)).unwrap(), digests);
    restored
        .write(|tx| ivr::insert_call(tx, "2026-11-21T09:00:00.000Z", "after-restore"))
        .unwrap();
    drop(restored);

    // And the other way: the 2 KiB backup into that live database, now of 4 KiB pages.
    restore_sqlite(&backup, &live_url).unwrap();
    assert_eq!(page_size(&live_path), 2048);
    let restored = Store::open(&live_url).unwrap();
    assert_eq!(restored.read(|tx| table_digests(tx)).unwrap(), digests);
}
