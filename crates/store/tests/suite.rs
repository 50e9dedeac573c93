//! The store's integration suite. Every test runs on SQLite and on PostgreSQL (a throw-away
//! server from the installed binaries, or `SSCARD_TEST_PG_URL`).

use chrono::{NaiveDate, TimeZone, Utc};
use sscard_domain::policy::RegionPolicy;
use sscard_store::repo::{self, audit, cards, ledger, org, persons, regions};
use sscard_store::{Backend, Store, StoreError, Value, params};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

/// Runs `f` on a fresh SQLite store, then on a fresh PostgreSQL store when available.
fn on_both(f: impl Fn(&Store)) {
    let (_dir, url) = sscard_testkit::sqlite_url();
    let s = Store::open(&url).expect("open sqlite");
    assert_eq!(s.backend(), Backend::Sqlite);
    f(&s);
    if let Some(url) = sscard_testkit::postgres_url() {
        let s = Store::open(&url).expect("open postgres");
        assert_eq!(s.backend(), Backend::Postgres);
        f(&s);
    }
}

fn seed_region(s: &Store) {
    s.write(|tx| regions::upsert_region(tx, "511000", "内江市", now()))
        .unwrap();
}

fn add_person(s: &Store, number: &str) -> i64 {
    s.write(|tx| {
        persons::insert_person(
            tx,
            &persons::NewPerson {
                doc_type: "citizen_id",
                doc_number: number,
                name: "张三",
                gender: "male",
                birth_date: "1949-12-31",
                ethnicity: "汉族",
                phone: "13800000000",
                address: "内江市市中区",
                region_code: "511000",
                query_password_hash: "x",
            },
            now(),
        )
    })
    .unwrap()
}

#[test]
fn migrations_apply_once_and_report_status() {
    on_both(|s| {
        assert!(
            s.migrate().unwrap().is_empty(),
            "second run applies nothing"
        );
        let st = s.migration_status().unwrap();
        assert!(!st.is_empty());
        assert!(st.iter().all(|m| m.applied_at.is_some()));
    });
}

#[test]
fn policy_history_picks_the_version_in_force() {
    on_both(|s| {
        seed_region(s);
        let mut p = RegionPolicy::default();
        let d1 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        s.write(|tx| regions::insert_policy(tx, "511000", d1, &p, now(), "admin"))
            .unwrap();
        p.oral_loss_valid_days = 10;
        s.write(|tx| regions::insert_policy(tx, "511000", d2, &p, now(), "admin"))
            .unwrap();
        let at = |d| {
            s.read(|tx| regions::policy_in_force(tx, "511000", d))
                .unwrap()
        };
        assert_eq!(at(NaiveDate::from_ymd_opt(2019, 6, 1).unwrap()), None);
        assert_eq!(
            at(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
                .unwrap()
                .oral_loss_valid_days,
            7
        );
        assert_eq!(
            at(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
                .unwrap()
                .oral_loss_valid_days,
            10
        );
    });
}

#[test]
fn a_person_is_unique_by_document() {
    on_both(|s| {
        seed_region(s);
        let id = add_person(s, "11010519491231002X");
        let p = s
            .read(|tx| persons::person_by_document(tx, "citizen_id", "11010519491231002X"))
            .unwrap()
            .unwrap();
        assert_eq!(p.id, id);
        assert_eq!(p.life_status, "normal");
        assert!(!p.query_password_changed);
        let dup = s.write(|tx| {
            persons::insert_person(
                tx,
                &persons::NewPerson {
                    doc_type: "citizen_id",
                    doc_number: "11010519491231002X",
                    name: "李四",
                    gender: "male",
                    birth_date: "1949-12-31",
                    ethnicity: "汉族",
                    phone: "",
                    address: "",
                    region_code: "511000",
                    query_password_hash: "x",
                },
                now(),
            )
        });
        assert!(matches!(dup, Err(StoreError::Constraint(_))), "{dup:?}");
        let found = s.read(|tx| persons::persons_by_name(tx, "张", 10)).unwrap();
        assert_eq!(found.len(), 1);
    });
}

fn insert_card(s: &Store, person: i64, status: &str, no: &str) -> Result<(), StoreError> {
    s.write(|tx| {
        tx.execute(
            "INSERT INTO cards (person_id, kind, status, card_no, region_code, applied_at,
                 status_changed_at, pin_mac)
             VALUES ($1, 'regular', $2, $3, '511000', $4, $4, 'mac')",
            params![person, status, no, repo::ts(now())],
        )
        .map(|_| ())
    })
}

#[test]
fn at_most_one_live_card_per_person() {
    on_both(|s| {
        seed_region(s);
        let p = add_person(s, "440524188001010014");
        insert_card(s, p, "active", "X00000019").unwrap();
        let second = insert_card(s, p, "applied", "X00000027");
        assert!(
            matches!(second, Err(StoreError::Constraint(_))),
            "{second:?}"
        );
        // A dead card does not count.
        insert_card(s, p, "cancelled", "X00000035").unwrap();
        let live = s.read(|tx| cards::live_card_of(tx, p)).unwrap().unwrap();
        assert_eq!(live.card_no.as_deref(), Some("X00000019"));
        assert_eq!(s.read(|tx| cards::cards_of(tx, p)).unwrap().len(), 2);
        let by_no = s
            .read(|tx| cards::card_by_no(tx, "X00000035"))
            .unwrap()
            .unwrap();
        assert_eq!(by_no.status.as_str(), "cancelled");
    });
}

#[test]
fn a_failing_closure_rolls_back() {
    on_both(|s| {
        seed_region(s);
        let r: Result<(), StoreError> = s.write(|tx| {
            regions::upsert_region(tx, "500000", "重庆市", now())?;
            Err(StoreError::NotFound("forced".into()))
        });
        assert!(r.is_err());
        let all = s.read(|tx| regions::list_regions(tx)).unwrap();
        assert_eq!(all.len(), 1, "the failed transaction left nothing behind");
    });
}

#[test]
fn audit_log_is_append_only() {
    on_both(|s| {
        let row = audit::AuditRow {
            seq: 1,
            at: repo::ts(now()),
            actor: "clerk1".into(),
            role: "clerk".into(),
            agency: "NJ01".into(),
            channel: "counter".into(),
            action: "test".into(),
            entity: "person".into(),
            entity_id: "1".into(),
            before_json: "{}".into(),
            after_json: "{}".into(),
            prev_hash: String::new(),
            hash: "h1".into(),
        };
        s.write(|tx| {
            let (seq, _) = audit::lock_head(tx)?;
            assert_eq!(seq, 0);
            audit::append(tx, &row)
        })
        .unwrap();
        assert_eq!(s.read(|tx| audit::head(tx)).unwrap(), (1, "h1".to_string()));
        let upd = s.write(|tx| {
            tx.execute(
                "UPDATE audit_log SET actor = 'x' WHERE seq = $1",
                params![1i64],
            )
        });
        assert!(upd.is_err(), "update must be refused");
        let del = s.write(|tx| tx.execute("DELETE FROM audit_log WHERE seq = $1", params![1i64]));
        assert!(del.is_err(), "delete must be refused");
        assert_eq!(
            s.read(|tx| audit::rows_after(tx, 0, 10)).unwrap(),
            vec![row]
        );
    });
}

#[test]
fn ledger_moves_balances_and_keeps_invariants() {
    on_both(|s| {
        seed_region(s);
        let p = add_person(s, "11010519491231002X");
        let ts = repo::ts(now());
        let (income, personal) = s
            .write(|tx| {
                let a = ledger::open_account(tx, "contribution_income", None, None, "511000", &ts)?;
                let b = ledger::open_account(tx, "medical_personal", Some(p), None, "511000", &ts)?;
                // Opening twice finds the same account.
                assert_eq!(
                    ledger::open_account(tx, "medical_personal", Some(p), None, "511000", &ts)?,
                    b
                );
                Ok::<_, StoreError>((a, b))
            })
            .unwrap();
        let t = |id: &'static str, d, c, amt| ledger::NewTransfer {
            client_id: id,
            debit_account: d,
            credit_account: c,
            amount_fen: amt,
            kind: "contribution",
            reason_code: "",
            memo: "",
            now: "2026-11-21T08:00:00.000Z",
        };
        s.write(|tx| ledger::post_transfer(tx, &t("c1", income, personal, 12_345)))
            .unwrap();
        // Overdraft of the personal account is refused and leaves nothing behind.
        let over = s.write(|tx| ledger::post_transfer(tx, &t("d1", personal, income, 12_346)));
        assert!(matches!(over, Err(StoreError::Constraint(_))), "{over:?}");
        // A reused client id is refused.
        let dup = s.write(|tx| ledger::post_transfer(tx, &t("c1", income, personal, 1)));
        assert!(matches!(dup, Err(StoreError::Constraint(_))), "{dup:?}");
        s.write(|tx| ledger::post_transfer(tx, &t("d2", personal, income, 345)))
            .unwrap();
        let bal = s
            .read(|tx| ledger::person_balance(tx, p, "medical_personal"))
            .unwrap();
        assert_eq!(bal, Some(12_000));
        let entries = s
            .read(|tx| ledger::person_entries(tx, p, "medical_personal", 10))
            .unwrap();
        assert_eq!(
            entries.iter().map(|e| e.amount_fen).collect::<Vec<_>>(),
            vec![-345, 12_345]
        );
        assert!(
            s.read(|tx| ledger::check_invariants(tx))
                .unwrap()
                .is_empty()
        );
        // Tamper with a balance: the check names the account.
        s.write(|tx| {
            tx.execute(
                "UPDATE accounts SET balance_fen = balance_fen + 1 WHERE id = $1",
                params![personal],
            )
        })
        .unwrap();
        let v = s.read(|tx| ledger::check_invariants(tx)).unwrap();
        assert!(v.contains(&ledger::LedgerViolation::BalanceMismatch {
            account_id: personal,
            stored: 12_001,
            from_entries: 12_000
        }));
    });
}

#[test]
fn bulk_insert_then_ordinary_inserts_continue() {
    on_both(|s| {
        seed_region(s);
        s.write(|tx| {
            let mut rows = (1..=3i64).map(|i| {
                vec![
                    Value::Int(i),
                    Value::Text(format!("A{i}")),
                    Value::Text("511000".into()),
                    Value::Text(format!("中心\t{i}")),
                    Value::Text("card_centre".into()),
                    Value::Text("0832-1".into()),
                    Value::Text("地址\\路".into()),
                ]
            });
            let n = tx.bulk_insert(
                "agencies",
                &[
                    "id",
                    "code",
                    "region_code",
                    "name",
                    "kind",
                    "phone",
                    "address",
                ],
                &mut rows,
            )?;
            assert_eq!(n, 3);
            tx.resync_ids(&["agencies"])
        })
        .unwrap();
        let id = s
            .write(|tx| {
                org::upsert_agency(
                    tx,
                    &org::NewAgency {
                        code: "B1",
                        region_code: "511000",
                        name: "n",
                        kind: "bureau",
                        phone: "p",
                        address: "a",
                    },
                )
            })
            .unwrap();
        assert_eq!(id, 4);
        let all = s.read(|tx| org::list_agencies(tx, Some("5110"))).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].name, "中心\t1");
        assert_eq!(all[0].address, "地址\\路");
    });
}

#[test]
fn bad_urls_are_clear_errors() {
    let e = Store::open("mysql://x").unwrap_err();
    assert!(matches!(e, StoreError::BadUrl(_)), "{e:?}");
    let e = Store::open("/nonexistent-dir/sub/x.db").unwrap_err();
    assert!(matches!(e, StoreError::Connect(_)), "{e:?}");
    let e = Store::open("postgres://nobody@127.0.0.1:1/none?connect_timeout=2").unwrap_err();
    assert!(
        matches!(e, StoreError::Connect(_) | StoreError::Db(_)),
        "{e:?}"
    );
    assert_eq!(
        sscard_store::redact_url("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
}

#[test]
fn grouped_writes_keep_each_callers_outcome() {
    on_both(|s| {
        s.write(|tx| {
            tx.execute(
                "CREATE TABLE grouped_probe (k TEXT PRIMARY KEY, v BIGINT NOT NULL)",
                &[],
            )
        })
        .unwrap();
        // 16 threads × 40 jobs; every third job fails after writing, one job per thread
        // collides with another thread's key. Each caller must see exactly its own outcome.
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..40 {
                        let key = if i == 38 {
                            "shared".to_string()
                        } else {
                            format!("{t}-{i}")
                        };
                        let fail = i % 3 == 0;
                        let k2 = key.clone();
                        let r: Result<i64, StoreError> = s.write_grouped(move |tx| {
                            tx.execute(
                                "INSERT INTO grouped_probe (k, v) VALUES ($1, $2)",
                                params![k2.as_str(), i as i64],
                            )?;
                            if fail {
                                return Err(StoreError::NotFound("forced".into()));
                            }
                            Ok(i as i64)
                        });
                        match r {
                            Ok(v) => {
                                assert_eq!(v, i as i64);
                                kept.push(key);
                            }
                            Err(StoreError::NotFound(_)) => assert!(fail),
                            Err(StoreError::Constraint(_)) => assert_eq!(key, "shared"),
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    kept
                })
            })
            .collect();
        let mut kept: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        kept.sort();
        let stored: Vec<String> = s
            .read(|tx| tx.query("SELECT k FROM grouped_probe ORDER BY k", &[]))
            .unwrap()
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect();
        assert_eq!(stored, kept, "exactly the acknowledged writes are stored");
        assert_eq!(kept.iter().filter(|k| *k == "shared").count(), 1);
        assert_eq!(kept.len(), 16 * 25 + 1);
    });
}

/// A grouped write that keeps the committer busy for 300 ms, returned once it has started: on
/// SQLite the writes submitted next all wait and form one group. (On PostgreSQL it has already
/// run.)
fn hold_committer(s: &Store) -> sscard_store::GroupedWrite<(), StoreError> {
    let (started, holding) = std::sync::mpsc::channel();
    let hold = s.submit_grouped(move |_tx| -> Result<(), StoreError> {
        let _ = started.send(());
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(())
    });
    holding.recv().unwrap();
    hold
}

/// When SQLite rolls a group's transaction back by itself (here the disk is "full") and a job
/// turns the error into an answer it keeps (as a refusal does), nothing of the group is written
/// and everyone is told so; no later statement commits on its own outside the transaction.
#[test]
fn a_group_whose_transaction_sqlite_rolled_back_writes_nothing() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    let s = Store::open(&url).unwrap();
    s.write(|tx| {
        tx.execute(
            "CREATE TABLE lost_probe (k TEXT PRIMARY KEY, pad BLOB)",
            &[],
        )
    })
    .unwrap();
    let hold = hold_committer(&s);
    let insert = |k: &'static str| {
        s.submit_grouped(move |tx| -> Result<(), StoreError> {
            tx.execute("INSERT INTO lost_probe (k) VALUES ($1)", params![k])?;
            Ok(())
        })
    };
    let a = insert("a");
    let b = s.submit_grouped(|tx| -> Result<String, StoreError> {
        let pages = tx.query("PRAGMA page_count", &[])?[0].i64(0)?;
        tx.query(&format!("PRAGMA max_page_count = {pages}"), &[])?;
        let full = tx.execute(
            "INSERT INTO lost_probe (k, pad) VALUES ('b', zeroblob(4000000))",
            &[],
        );
        assert!(full.is_err(), "the insert must fail: {full:?}");
        Ok("refused".into())
    });
    let c = insert("c");
    hold.wait().unwrap();
    let (a, b, c) = (a.wait(), b.wait(), c.wait());
    assert!(a.is_err() && b.is_err() && c.is_err(), "{a:?} {b:?} {c:?}");
    s.write(|tx| tx.query("PRAGMA max_page_count = 1073741823", &[]))
        .unwrap();
    let stored = s
        .read(|tx| tx.query_i64("SELECT count(*) FROM lost_probe", &[]))
        .unwrap();
    assert_eq!(stored, 0, "nothing of the group is written");
    // The store goes on.
    insert("d").wait().unwrap();
}

/// `insert_id` returns the id of the row it inserted (SQLite: the last row id, without
/// `RETURNING`), and a refused insert is the constraint's error, not someone else's id.
#[test]
fn insert_id_returns_the_new_rows_id() {
    on_both(|s| {
        let key = match s.backend() {
            Backend::Sqlite => "INTEGER PRIMARY KEY",
            Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        };
        s.write(|tx| {
            tx.execute(
                &format!("CREATE TABLE id_probe (id {key}, k TEXT NOT NULL UNIQUE)"),
                &[],
            )
        })
        .unwrap();
        let ids: Vec<i64> = s
            .write(|tx| {
                let mut ids = Vec::new();
                for k in ["a", "b", "c"] {
                    ids.push(tx.insert_id("INSERT INTO id_probe (k) VALUES ($1)", params![k])?);
                }
                Ok::<_, StoreError>(ids)
            })
            .unwrap();
        for (id, k) in ids.iter().zip(["a", "b", "c"]) {
            let stored = s
                .read(|tx| {
                    tx.query_one("SELECT k FROM id_probe WHERE id = $1", params![*id], "row")?
                        .text(0)
                })
                .unwrap();
            assert_eq!(stored, k);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let dup: Result<i64, StoreError> =
            s.write(|tx| tx.insert_id("INSERT INTO id_probe (k) VALUES ($1)", params!["b"]));
        assert!(matches!(dup, Err(StoreError::Constraint(_))), "{dup:?}");
    });
}

/// On SQLite a group commit runs its jobs without savepoints first and runs the whole group
/// again, a savepoint per job, only when one job wants its changes undone: then only the last
/// run of each job counts, and every kept change is there exactly once. On PostgreSQL every job
/// has its own transaction and runs once.
#[test]
fn grouped_jobs_run_again_only_when_one_must_be_undone() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    on_both(|s| {
        s.write(|tx| tx.execute("CREATE TABLE rerun_probe (k TEXT PRIMARY KEY)", &[]))
            .unwrap();
        let sqlite = s.backend() == Backend::Sqlite;
        const N: usize = 20;
        // Submits a job that holds the committer for a moment, then N jobs, which therefore
        // form one group on SQLite; job `fail` (if any) fails after writing.
        let round = |name: &str, fail: Option<usize>| {
            let runs = Arc::new(AtomicUsize::new(0));
            let guarded = Arc::new(AtomicUsize::new(0));
            let hold = hold_committer(s);
            let writes: Vec<_> = (0..N)
                .map(|i| {
                    let (runs, guarded) = (runs.clone(), guarded.clone());
                    let key = format!("{name}-{i}");
                    s.submit_grouped(move |tx| -> Result<usize, StoreError> {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if tx.unguarded_changes().is_none() {
                            guarded.fetch_add(1, Ordering::SeqCst);
                        }
                        tx.execute(
                            "INSERT INTO rerun_probe (k) VALUES ($1)",
                            params![key.as_str()],
                        )?;
                        if fail == Some(i) {
                            return Err(StoreError::NotFound("forced".into()));
                        }
                        Ok(i)
                    })
                })
                .collect();
            hold.wait().unwrap();
            for (i, w) in writes.into_iter().enumerate() {
                match w.wait() {
                    Ok(v) => assert_eq!(v, i),
                    Err(StoreError::NotFound(_)) => assert_eq!(fail, Some(i)),
                    Err(e) => panic!("job {i}: {e}"),
                }
            }
            let stored = s
                .read(|tx| {
                    tx.query_i64(
                        "SELECT count(*) FROM rerun_probe WHERE k LIKE $1",
                        params![format!("{name}-%")],
                    )
                })
                .unwrap();
            assert_eq!(stored as usize, N - usize::from(fail.is_some()), "{name}");
            (runs.load(Ordering::SeqCst), guarded.load(Ordering::SeqCst))
        };

        let reruns = s.grouped_reruns();
        let (runs, guarded) = round("all-kept", None);
        assert_eq!(runs, N, "every job ran once");
        assert_eq!(s.grouped_reruns(), reruns);
        assert_eq!(guarded, if sqlite { 0 } else { N });

        let (runs, guarded) = round("one-undone", Some(7));
        if sqlite {
            // Jobs 0..=7 ran unguarded, then all of them again, each in a savepoint.
            assert_eq!(runs, 8 + N);
            assert_eq!(guarded, N);
            assert_eq!(s.grouped_reruns(), reruns + 1);
        } else {
            assert_eq!((runs, guarded), (N, N));
            assert_eq!(s.grouped_reruns(), 0);
        }

        // Where the grouped writes spent their time (for /metrics): SQLite counts its groups
        // and, on a file, the WAL syncs that made them durable; PostgreSQL has no such path.
        match s.write_path_stats() {
            Some(t) => {
                assert!(sqlite);
                assert!(t.groups >= 2, "{t:?}");
                assert!(t.group_micros > 0, "{t:?}");
                if s.grouped_in_background() {
                    assert!(t.wal_syncs >= 1 && t.wal_sync_micros > 0, "{t:?}");
                }
                assert!(t.wal_restarts <= t.groups, "{t:?}");
            }
            None => assert!(!sqlite),
        }
    });
}

/// A grouped call that changes more pages than SQLite keeps in memory for its savepoint (the
/// journal then goes to a temporary file) still rolls back alone when it fails, and is kept
/// whole when it succeeds, beside small calls in the same groups.
#[test]
fn large_grouped_calls_roll_back_alone() {
    on_both(|s| {
        s.write(|tx| {
            tx.execute(
                "CREATE TABLE grouped_big (id BIGINT PRIMARY KEY, round BIGINT NOT NULL,
                                           pad TEXT NOT NULL)",
                &[],
            )?;
            tx.execute("CREATE TABLE grouped_small (k TEXT PRIMARY KEY)", &[])?;
            let mut rows = (0..3_000_i64)
                .map(|i| vec![Value::Int(i), Value::Int(0), Value::Text("x".repeat(1_000))]);
            tx.bulk_insert("grouped_big", &["id", "round", "pad"], &mut rows)
        })
        .unwrap();
        let mut handles = Vec::new();
        for round in 1..=4_i64 {
            // Rewrites every row (about 3 MB of pages); odd rounds then fail.
            let big = s.clone();
            handles.push(std::thread::spawn(move || {
                let r: Result<(), StoreError> = big.write_grouped(move |tx| {
                    tx.execute(
                        "UPDATE grouped_big SET round = $1, pad = $2",
                        params![round, "y".repeat(1_000 + round as usize)],
                    )?;
                    if round % 2 == 1 {
                        return Err(StoreError::NotFound("forced".into()));
                    }
                    Ok(())
                });
                if let Err(e) = &r
                    && round % 2 == 0
                {
                    eprintln!("round {round}: {e}");
                }
                (round, r.is_ok())
            }));
            for t in 0..8 {
                let small = s.clone();
                handles.push(std::thread::spawn(move || {
                    let r: Result<(), StoreError> = small.write_grouped(move |tx| {
                        tx.execute(
                            "INSERT INTO grouped_small (k) VALUES ($1)",
                            params![format!("{round}-{t}")],
                        )?;
                        Ok(())
                    });
                    (0, r.is_ok())
                }));
            }
        }
        let outcomes: Vec<(i64, bool)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (round, ok) in &outcomes {
            assert_eq!(*ok, *round == 0 || round % 2 == 0, "round {round}");
        }
        let smalls = s
            .read(|tx| tx.query_i64("SELECT count(*) FROM grouped_small", &[]))
            .unwrap();
        assert_eq!(smalls, 32);
        // Only even rounds were kept, each whole: every row carries one kept round's values.
        let rows = s
            .read(|tx| {
                tx.query(
                    "SELECT round, length(pad), count(*) FROM grouped_big GROUP BY round, length(pad)",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(rows.len(), 1, "one round's values in every row");
        let (round, len, n) = (
            rows[0].i64(0).unwrap(),
            rows[0].i64(1).unwrap(),
            rows[0].i64(2).unwrap(),
        );
        assert!(round == 2 || round == 4, "round {round}");
        assert_eq!((len, n), (1_000 + round, 3_000));
    });
}

/// Settlements prepared from a context read earlier are written (one statement for a whole
/// batch on PostgreSQL) only while that context still holds; otherwise nothing of them is.
#[test]
fn prepared_settlements_are_written_only_while_their_context_holds() {
    use repo::medical::{self as med, SettlementItem};
    on_both(|s| {
        seed_region(s);
        let p = add_person(s, "11010519491231002X");
        let q = add_person(s, "440524188001010014");
        insert_card(s, p, "active", "A00000001").unwrap();
        insert_card(s, q, "active", "A00000002").unwrap();
        let ts = repo::ts(now());
        let ids = s
            .write(|tx| {
                tx.execute(
                    "INSERT INTO institutions (code, name, kind, level, region_code, address,
                         phone, key_id, api_secret)
                     VALUES ('H001', '内江市第一人民医院', 'hospital', 3, '511000', '内江',
                         '0832', 'k-h001', 's')",
                    &[],
                )?;
                let inst = tx.query_i64("SELECT id FROM institutions WHERE code = 'H001'", &[])?;
                let card_p =
                    tx.query_i64("SELECT id FROM cards WHERE person_id = $1", params![p])?;
                let card_q =
                    tx.query_i64("SELECT id FROM cards WHERE person_id = $1", params![q])?;
                let income =
                    ledger::open_account(tx, "contribution_income", None, None, "511000", &ts)?;
                let mut accounts = Vec::new();
                for (n, person) in [p, q].into_iter().enumerate() {
                    let a = ledger::open_account(
                        tx,
                        "medical_personal",
                        Some(person),
                        None,
                        "511000",
                        &ts,
                    )?;
                    let id = format!("c{n}");
                    ledger::post_transfer(
                        tx,
                        &ledger::NewTransfer {
                            client_id: &id,
                            debit_account: income,
                            credit_account: a,
                            amount_fen: 10_000,
                            kind: "contribution",
                            reason_code: "",
                            memo: "",
                            now: &ts,
                        },
                    )?;
                    accounts.push(a);
                }
                let clearing =
                    ledger::lane_account(tx, "institution_clearing", Some(inst), "511000", 3, &ts)?;
                let fund = ledger::lane_account(tx, "pooling_fund", None, "511000", 3, &ts)?;
                Ok::<_, StoreError>((inst, card_p, card_q, accounts, clearing, fund))
            })
            .unwrap();
        let (inst, card_p, card_q, accounts, clearing, fund) = ids;
        let (acc_p, acc_q) = (accounts[0], accounts[1]);
        let figures = |person: i64| {
            s.read(|tx| med::holder_figures(tx, person, "2026-01-01"))
                .unwrap()
        };
        let item = |msg: &str, nonce: &str, person: i64, card: i64| {
            let f = figures(person);
            let (account, balance, reserved) = f.account.unwrap();
            SettlementItem {
                key_id: "k-h001".into(),
                nonce: nonce.into(),
                at: "2026-11-21T08:00:00.000Z".into(),
                card_id: Some(card),
                card_status: Some("active".into()),
                person_id: person,
                year_start: "2026-01-01".into(),
                account: Some(account),
                balance: Some(balance),
                reserved: Some(reserved),
                deductible_used: f.deductible_used_fen,
                pooling_paid: f.pooling_paid_fen,
                msg_id: msg.into(),
                institution_id: inst,
                region_code: "511000".into(),
                sign_no: "S1".into(),
                operator: "op".into(),
                request_hash: "h".into(),
                via: "card".into(),
                total: 5_000,
                self_pay: 0,
                deductible: 1_000,
                pooling: 3_000,
                personal: 1_000,
                cash: 0,
                items_json: "[]".into(),
                settle_day: "2026-11-21".into(),
                clearing,
                fund: Some(fund),
            }
        };
        let commit =
            |items: &[SettlementItem]| s.autocommit(|tx| med::commit_settlements(tx, items));
        let count = |sql: &str| s.read(|tx| tx.query_i64(sql, &[])).unwrap();
        let bal = |a: i64| {
            s.read(|tx| tx.query_i64("SELECT balance_fen FROM accounts WHERE id = $1", params![a]))
                .unwrap()
        };
        let settled = || count("SELECT count(*) FROM med_settlements");

        // One item: written with its transfers, balances and nonce.
        let first = item("m1", "n1", p, card_p);
        let got = commit(std::slice::from_ref(&first)).unwrap();
        let id = got[0].expect("written");
        let row = s
            .write(|tx| med::settlement_by_msg(tx, inst, "m1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.id, row.personal_fen, row.pooling_fen),
            (id, 1_000, 3_000)
        );
        assert_eq!(
            (bal(acc_p), bal(clearing), bal(fund)),
            (9_000, 4_000, -3_000)
        );
        assert_eq!(
            count("SELECT count(*) FROM transfers WHERE client_id LIKE 'med-%'"),
            2
        );

        // The same figures again are stale now: nothing written, not even the nonce.
        let mut stale = first.clone();
        stale.msg_id = "m2".into();
        stale.nonce = "n2".into();
        assert_eq!(commit(&[stale]).unwrap(), vec![None]);
        assert_eq!(settled(), 1);
        assert_eq!(
            count("SELECT count(*) FROM api_nonces WHERE nonce = 'n2'"),
            0
        );
        // A used nonce: nothing written.
        assert_eq!(commit(&[item("m2", "n1", p, card_p)]).unwrap(), vec![None]);
        // The card reported lost meanwhile: nothing written.
        let before_loss = item("m2", "n2", p, card_p);
        s.write(|tx| {
            tx.execute(
                "UPDATE cards SET status = 'temporary_loss' WHERE id = $1",
                params![card_p],
            )
        })
        .unwrap();
        assert_eq!(
            commit(std::slice::from_ref(&before_loss)).unwrap(),
            vec![None]
        );
        s.write(|tx| {
            tx.execute(
                "UPDATE cards SET status = 'active' WHERE id = $1",
                params![card_p],
            )
        })
        .unwrap();
        assert_eq!(settled(), 1);

        // A batch: two for p (only the first counts: the second was computed from figures the
        // first changes), one reusing the first's nonce, one for q.
        let batch = [
            item("m2", "n2", p, card_p),
            item("m3", "n3", p, card_p),
            item("m4", "n2", q, card_q),
            item("m5", "n5", q, card_q),
        ];
        let got = commit(&batch).unwrap();
        assert!(got[0].is_some() && got[3].is_some(), "{got:?}");
        assert_eq!((got[1], got[2]), (None, None));
        assert!(got[3] > got[0]);
        assert_eq!(settled(), 3);
        assert_eq!((bal(acc_p), bal(acc_q)), (8_000, 9_000));
        assert_eq!((bal(clearing), bal(fund)), (12_000, -9_000));
        assert_eq!(
            count("SELECT count(*) FROM api_nonces WHERE nonce = 'n3'"),
            0
        );
        assert_eq!(count("SELECT count(*) FROM api_nonces"), 3);
        // The one left out goes through once recomputed.
        assert!(commit(&[item("m3", "n3", p, card_p)]).unwrap()[0].is_some());
        assert_eq!(bal(acc_p), 7_000);

        // A refused write fails the whole batch and leaves nothing behind: a message id taken,
        // or more than an account holds.
        let taken = [item("m6", "n6", p, card_p), item("m1", "n7", q, card_q)];
        match s.backend() {
            // One statement: the unique index refuses it, the batch fails as a whole.
            Backend::Postgres => assert!(commit(&taken).is_err()),
            // Item by item: the taken message id is seen first and its item left out.
            Backend::Sqlite => {
                let got = s
                    .write(|tx| {
                        let got = med::commit_settlements(tx, &taken)?;
                        tx.execute("SELECT 1", &[])?;
                        Err::<(), _>(StoreError::Db(format!("{got:?}")))
                    })
                    .unwrap_err()
                    .to_string();
                assert!(got.contains("[Some(") && got.contains("), None]"), "{got}");
            }
        }
        let mut over = item("m6", "n6", q, card_q);
        over.personal = 9_001;
        assert!(commit(&[over]).is_err());
        assert_eq!(settled(), 4);
        assert_eq!(
            count("SELECT count(*) FROM api_nonces WHERE nonce IN ('n6', 'n7')"),
            0
        );
        assert_eq!((bal(acc_p), bal(acc_q)), (7_000, 9_000));

        // The context in one statement: card, holder, figures, whether the message id is used.
        let ctx = s
            .read(|tx| med::settle_context(tx, inst, "m1", "A00000001", "2026-01-01"))
            .unwrap()
            .expect("card found");
        assert!(ctx.msg_seen);
        assert_eq!((ctx.card.id, ctx.person.id), (card_p, p));
        assert_eq!(ctx.figures, figures(p));
        let ctx = s
            .read(|tx| med::settle_context(tx, inst, "m9", "A00000002", "2026-01-01"))
            .unwrap()
            .unwrap();
        assert!(!ctx.msg_seen);
        assert_eq!(ctx.person.id, q);
        assert!(
            s.read(|tx| med::settle_context(tx, inst, "m9", "A00000009", "2026-01-01"))
                .unwrap()
                .is_none()
        );
        // Many at once (one statement on PostgreSQL), in the keys' order, `None` for no card.
        let key = |msg: &str, card: &str| med::ContextKey {
            institution_id: inst,
            msg_id: msg.into(),
            card_no: card.into(),
            year_start: "2026-01-01".into(),
        };
        let many = s
            .read(|tx| {
                med::settle_contexts(
                    tx,
                    &[
                        key("m9", "A00000002"),
                        key("m9", "A00000009"),
                        key("m1", "A00000001"),
                    ],
                )
            })
            .unwrap();
        assert_eq!(many.len(), 3);
        let (q_ctx, p_ctx) = (many[0].as_ref().unwrap(), many[2].as_ref().unwrap());
        assert!(many[1].is_none());
        assert_eq!((q_ctx.person.id, q_ctx.msg_seen), (q, false));
        assert_eq!((p_ctx.person.id, p_ctx.msg_seen), (p, true));
        assert_eq!((p_ctx.figures, q_ctx.figures), (figures(p), figures(q)));
        assert!(
            s.read(|tx| ledger::check_invariants(tx))
                .unwrap()
                .is_empty()
        );

        // On PostgreSQL the batch's statement looks everything up by index, whatever the
        // planner thinks of the tables' sizes: not one scan of the settlements per batch.
        if s.backend() == Backend::Postgres {
            s.write(|tx| {
                tx.execute(
                    "INSERT INTO med_settlements (msg_id, institution_id, person_id, card_id,
                         region_code, request_hash, status, settle_day, settled_at)
                     SELECT 'v' || g, $1, $2, $3, '511000', 'h', 'voided', '2026-11-20',
                            '2026-11-20T00:00:00Z'
                       FROM generate_series(1, 3000) g",
                    params![inst, q, card_q],
                )?;
                tx.execute("ANALYZE med_settlements", &[])
            })
            .unwrap();
            let keys: Vec<String> = (0..100)
                .map(|i| {
                    format!(
                        r#"{{"ord":{i},"institution_id":{inst},"msg_id":"k{i}","card_no":"A0000000{}","year_start":"2026-01-01"}}"#,
                        1 + i % 2
                    )
                })
                .collect();
            let plan: Vec<String> = s
                .read(|tx| {
                    let rows = tx.query(
                        &format!("EXPLAIN {}", med::settle_contexts_sql()),
                        params![format!("[{}]", keys.join(","))],
                    )?;
                    rows.iter().map(|r| r.text(0)).collect()
                })
                .unwrap();
            let plan = plan.join("\n");
            assert!(!plan.contains("Seq Scan on med_settlements"), "{plan}");
            assert!(!plan.contains("hashed SubPlan"), "{plan}");
            s.write(|tx| tx.execute("DELETE FROM med_settlements WHERE status = 'voided'", &[]))
                .unwrap();
        }
    });
}

/// Nonces of signed requests: a key uses each once; a claim rolled back (a whole transaction,
/// or one grouped call) never happened; forgetting frees the old ones; and a store opened
/// again still refuses what was claimed before (on SQLite the used nonces are answered from
/// memory, read back from the table).
#[test]
fn nonces_are_used_once_across_rollbacks_groups_and_reopening() {
    let (_dir, sqlite) = sscard_testkit::sqlite_url();
    let mut urls = vec![sqlite];
    urls.extend(sscard_testkit::postgres_url());
    let (t0, t1, later) = (
        "2026-11-21T08:00:00Z",
        "2026-11-21T08:20:00Z",
        "2026-11-21T08:10:00Z",
    );
    for url in urls {
        let s = Store::open(&url).unwrap();
        let claim = |s: &Store, key: &str, nonce: &str, at: &str| {
            let (key, nonce, at) = (key.to_string(), nonce.to_string(), at.to_string());
            s.write(move |tx| tx.claim_nonce(&key, &nonce, &at))
                .unwrap()
        };
        assert!(claim(&s, "k", "a", t0));
        assert!(!claim(&s, "k", "a", t0), "{url}");
        assert!(claim(&s, "other", "a", t0), "another key's nonce");
        // Rolled back with its transaction.
        let r: Result<(), StoreError> = s.write(|tx| {
            assert!(tx.claim_nonce("k", "b", t0)?);
            Err(StoreError::NotFound("forced".into()))
        });
        assert!(r.is_err());
        assert!(
            claim(&s, "k", "b", t0),
            "{url}: a rolled-back claim never happened"
        );
        // Grouped calls side by side: 24 calls over 6 nonces, each nonce used once; a call
        // that fails after claiming leaves its nonce unused.
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.write_grouped(move |tx| -> Result<bool, StoreError> {
                        if i == 5 {
                            tx.claim_nonce("k", "failed", t1)?;
                            return Err(StoreError::NotFound("forced".into()));
                        }
                        tx.claim_nonce("k", &format!("g{}", i % 6), t1)
                    })
                })
            })
            .collect();
        let used = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().ok())
            .filter(|&ok| ok)
            .count();
        assert_eq!(used, 6, "{url}");
        assert!(claim(&s, "k", "failed", t1), "{url}");
        // Forgetting what was seen before `later` frees "a" and "b", not the later ones.
        let forgotten = s.write(|tx| tx.forget_nonces(later)).unwrap();
        assert_eq!(forgotten, 3, "{url}");
        assert!(claim(&s, "k", "a", t1));
        assert!(!claim(&s, "k", "g0", t1));
        drop(s);
        // Opened again: what was claimed is still used.
        let s = Store::open(&url).unwrap();
        for n in ["a", "g3", "failed"] {
            assert!(!claim(&s, "k", n, t1), "{url}: {n} after reopening");
        }
        assert!(claim(&s, "k", "b", t1), "{url}: forgotten before reopening");
        assert!(claim(&s, "k", "fresh", t1));
        assert!(claim(&s, "other", "b", t1), "{url}");
        let rows = s
            .read(|tx| tx.query("SELECT count(*) FROM api_nonces", &[]))
            .unwrap();
        assert_eq!(rows[0].i64(0).unwrap(), 11, "{url}");
    }
}
