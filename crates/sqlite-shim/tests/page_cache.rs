//! The page cache wrapper: truncations are skipped only when no page lies past the end, data
//! stays right through splits, rollbacks that shrink the file and regrowth. (Alone in its test
//! binary: the cache is installed process-wide, before SQLite's first use.)

use rusqlite::{Connection, OpenFlags};

fn totals(c: &Connection) -> (i64, i64) {
    c.query_row("SELECT count(*), COALESCE(sum(k), 0) FROM t", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[test]
fn truncations_are_skipped_only_when_nothing_lies_past_the_end() {
    let installed = sscard_sqlite_shim::install().unwrap();
    assert_eq!(
        installed.pcache_refused, None,
        "installed before SQLite's first use"
    );
    assert!(installed.stmt_journal_in_memory);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let a =
        Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), installed.vfs).unwrap();
    a.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, b BLOB NOT NULL);
         CREATE INDEX t_k ON t(k);",
    )
    .unwrap();
    let b = Connection::open(&path).unwrap();
    let (mut rows, mut sum) = (0_i64, 0_i64);
    let mut x: i64 = 12345;
    let mut next = || {
        x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
        x
    };
    let (skipped0, made0) = sscard_sqlite_shim::truncations();
    // Random keys: index pages split everywhere, and split pages are swapped into order
    // (through the lock-byte page number, past the end of this small database).
    for _ in 0..200 {
        a.execute_batch("BEGIN IMMEDIATE").unwrap();
        for _ in 0..20 {
            let k = next() % 1_000_000;
            a.execute("INSERT INTO t (k, b) VALUES (?1, randomblob(200))", [k])
                .unwrap();
            rows += 1;
            sum += k;
        }
        a.execute_batch("COMMIT").unwrap();
    }
    let (skipped1, made1) = sscard_sqlite_shim::truncations();
    assert!(
        skipped1 > skipped0,
        "commits without pages past the end skip the truncation"
    );
    assert_eq!(totals(&a), (rows, sum));
    assert_eq!(totals(&b), (rows, sum));

    // A transaction that grows the file, rolled back: its new pages are past the end again
    // and must leave the cache.
    let pages: i64 = a.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    a.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..2_000 {
        a.execute(
            "INSERT INTO t (k, b) VALUES (?1, randomblob(500))",
            [next() % 1_000_000],
        )
        .unwrap();
    }
    let grown: i64 = a.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    assert!(grown > pages + 100);
    a.execute_batch("ROLLBACK").unwrap();
    let (_, made2) = sscard_sqlite_shim::truncations();
    assert!(made2 > made1, "the rollback's truncation was passed on");
    assert_eq!(
        a.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        pages
    );
    assert_eq!(totals(&a), (rows, sum));

    // The file grows again over the same page numbers, with other content.
    a.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..2_000 {
        let k = next() % 1_000_000;
        a.execute("INSERT INTO t (k, b) VALUES (?1, zeroblob(300))", [k])
            .unwrap();
        rows += 1;
        sum += k;
    }
    a.execute_batch("COMMIT").unwrap();
    assert_eq!(totals(&a), (rows, sum));
    assert_eq!(totals(&b), (rows, sum));
    let zeroes: i64 = a
        .query_row("SELECT count(*) FROM t WHERE b = zeroblob(300)", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(zeroes, 2_000);
    for c in [&a, &b] {
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    let _ = made0;
}
