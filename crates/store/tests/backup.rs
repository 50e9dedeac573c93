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
