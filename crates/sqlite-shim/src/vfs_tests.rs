use rusqlite::{Connection, OpenFlags};

fn open_wal(path: &std::path::Path) -> Connection {
    let name = crate::install().unwrap().vfs;
    let c = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), name).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    c.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;")
        .unwrap();
    c
}

/// A row's payload: a few hundred bytes that differ per row, so each transaction dirties
/// several pages.
fn payload(i: i64) -> Vec<u8> {
    (0..300).map(|k| ((i * 31 + k) % 251) as u8).collect()
}

fn totals(c: &Connection) -> (i64, i64) {
    c.query_row("SELECT count(*), COALESCE(sum(n), 0) FROM t", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

/// Copies the database and its WAL as a crash would leave them (the OS has every write the
/// process made) and opens the copy with SQLite's own VFS.
fn as_after_a_crash(dir: &std::path::Path, n: usize) -> Connection {
    let to = dir.join(format!("copy{n}.db"));
    std::fs::copy(dir.join("a.db"), &to).unwrap();
    std::fs::copy(dir.join("a.db-wal"), dir.join(format!("copy{n}.db-wal"))).unwrap();
    Connection::open(&to).unwrap()
}

#[test]
fn every_commit_is_in_the_file_when_another_connection_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_wal(&dir.path().join("a.db"));
    a.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB NOT NULL);
         CREATE INDEX t_n ON t(n);",
    )
    .unwrap();
    // The reader uses SQLite's own VFS: it reads the WAL file as SQLite writes it.
    let b = Connection::open(dir.path().join("a.db")).unwrap();
    let (mut rows, mut sum) = (0, 0);
    for tx in 0..300_i64 {
        a.execute_batch("BEGIN IMMEDIATE").unwrap();
        for k in 0..(1 + tx % 9) {
            let n = tx * 100 + k;
            a.execute(
                "INSERT INTO t (n, b) VALUES (?1, ?2)",
                rusqlite::params![n, payload(n)],
            )
            .unwrap();
            rows += 1;
            sum += n;
        }
        if tx % 7 == 3 {
            // Rewrites rows written earlier: pages dirtied again in later transactions.
            a.execute(
                "UPDATE t SET n = n + 1 WHERE id % 5 = 0 AND id > ?1",
                [rows - 40],
            )
            .unwrap();
            let changed: i64 = a.query_row("SELECT changes()", [], |r| r.get(0)).unwrap();
            sum += changed;
        }
        a.execute_batch("COMMIT").unwrap();
        assert_eq!(totals(&b), (rows, sum), "after transaction {tx}");
        if tx % 50 == 49 {
            let copy = as_after_a_crash(dir.path(), tx as usize);
            assert_eq!(totals(&copy), (rows, sum), "crash copy after {tx}");
            let ok: String = copy
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok");
        }
    }
}

#[test]
fn a_transaction_larger_than_the_cache_spills_reads_back_and_commits_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_wal(&dir.path().join("a.db"));
    // A tiny cache: dirty pages are written to the WAL before the commit (non-commit frames),
    // read back, and overwritten in place when dirtied again.
    a.execute_batch(
        "PRAGMA cache_size=8;
         CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB NOT NULL);",
    )
    .unwrap();
    let b = Connection::open(dir.path().join("a.db")).unwrap();
    a.execute_batch("BEGIN IMMEDIATE").unwrap();
    for n in 0..3_000_i64 {
        a.execute(
            "INSERT INTO t (n, b) VALUES (?1, ?2)",
            rusqlite::params![n, payload(n)],
        )
        .unwrap();
    }
    a.execute("UPDATE t SET n = n * 2", []).unwrap();
    a.execute("UPDATE t SET n = n + 1 WHERE id % 3 = 0", [])
        .unwrap();
    // Not committed yet: nobody else sees any of it.
    assert_eq!(totals(&b), (0, 0));
    a.execute_batch("COMMIT").unwrap();
    let want: i64 = (0..3_000_i64).map(|n| n * 2).sum::<i64>()
        + (1..=3_000).filter(|i| i % 3 == 0).count() as i64;
    assert_eq!(totals(&b), (3_000, want));
    let copy = as_after_a_crash(dir.path(), 0);
    assert_eq!(totals(&copy), (3_000, want));
    let ok: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_rolled_back_transaction_leaves_nothing_and_the_next_commits() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_wal(&dir.path().join("a.db"));
    a.execute_batch(
        "PRAGMA cache_size=8;
         CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB NOT NULL);",
    )
    .unwrap();
    let b = Connection::open(dir.path().join("a.db")).unwrap();
    a.execute_batch("BEGIN IMMEDIATE").unwrap();
    for n in 0..2_000_i64 {
        a.execute(
            "INSERT INTO t (n, b) VALUES (?1, ?2)",
            rusqlite::params![n, payload(n)],
        )
        .unwrap();
    }
    a.execute_batch("ROLLBACK").unwrap();
    assert_eq!(totals(&a), (0, 0));
    a.execute("INSERT INTO t (n, b) VALUES (7, x'00')", [])
        .unwrap();
    assert_eq!(totals(&b), (1, 7));
    let copy = as_after_a_crash(dir.path(), 0);
    assert_eq!(totals(&copy), (1, 7));
}

#[test]
fn the_wal_starts_over_after_a_full_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_wal(&dir.path().join("a.db"));
    a.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB NOT NULL);",
    )
    .unwrap();
    let b = Connection::open(dir.path().join("a.db")).unwrap();
    let mut sum = 0;
    for round in 0..4_i64 {
        for n in 0..50_i64 {
            let n = round * 1_000 + n;
            a.execute(
                "INSERT INTO t (n, b) VALUES (?1, ?2)",
                rusqlite::params![n, payload(n)],
            )
            .unwrap();
            sum += n;
        }
        // Everything into the database; the next write starts the WAL again at its top,
        // over the old frames.
        let busy: i64 = a
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(busy, 0);
        assert_eq!(totals(&b), ((round + 1) * 50, sum));
    }
    a.execute("INSERT INTO t (n, b) VALUES (1, x'01')", [])
        .unwrap();
    sum += 1;
    let copy = as_after_a_crash(dir.path(), 0);
    assert_eq!(totals(&copy), (201, sum));
}

#[test]
fn other_files_are_the_default_vfs_own() {
    let dir = tempfile::tempdir().unwrap();
    let name = crate::install().unwrap().vfs;
    // Rollback journal mode: no WAL file at all, journals through the default VFS.
    let c =
        Connection::open_with_flags_and_vfs(dir.path().join("j.db"), OpenFlags::default(), name)
            .unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=DELETE; CREATE TABLE t (n INTEGER);
         BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); COMMIT;
         CREATE TEMP TABLE x AS SELECT n FROM t;",
    )
    .unwrap();
    let n: i64 = c
        .query_row("SELECT sum(n) FROM t JOIN x USING (n)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}
