//! The audit chain detects altered and removed rows, on both backends.

use sscard_service::audit::{self, Actor, Change, Channel};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use sscard_store::{Store, params};

fn open(url: &str) -> App {
    App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![9; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
}

fn record(app: &App, n: usize) {
    let actor = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: "NJ-CARD".into(),
        channel: Channel::Counter,
    };
    for k in 0..n {
        audit::record_alone(
            app,
            &actor,
            Change {
                action: "test.change",
                entity: "person",
                entity_id: &k.to_string(),
                before: serde_json::json!({"v": k}),
                after: serde_json::json!({"v": k + 1}),
            },
        )
        .unwrap();
    }
}

/// Removes the append-only triggers, as an attacker with database access could.
fn disarm(store: &Store) {
    let sql: &[&str] = match store.backend() {
        sscard_store::Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        sscard_store::Backend::Postgres => &[
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
        ],
    };
    store
        .write(|tx| {
            for s in sql {
                tx.execute(s, &[])?;
            }
            Ok::<_, sscard_store::StoreError>(())
        })
        .unwrap();
}

fn scenario(url: &str) {
    let app = open(url);
    record(&app, 5);
    let ok = audit::verify(&app).unwrap();
    assert_eq!(ok.first_broken, None);
    assert_eq!(ok.rows, 6, "the reference-data load plus five changes");

    let store = Store::open(url).unwrap();
    // The log refuses changes while its triggers stand.
    assert!(
        store
            .write(|tx| tx.execute(
                "UPDATE audit_log SET actor = $1 WHERE seq = $2",
                params!["x", 3i64]
            ))
            .is_err()
    );
    disarm(&store);
    // An altered row is named.
    store
        .write(|tx| {
            tx.execute(
                "UPDATE audit_log SET after_json = $1 WHERE seq = $2",
                params!["{\"v\":99}", 3i64],
            )
        })
        .unwrap();
    let r = audit::verify(&app).unwrap();
    assert_eq!(r.first_broken.as_ref().map(|b| b.0), Some(3), "{r:?}");
    assert!(r.first_broken.unwrap().1.contains("altered"));
}

fn removal(url: &str) {
    let app = open(url);
    record(&app, 5);
    let store = Store::open(url).unwrap();
    disarm(&store);
    store
        .write(|tx| tx.execute("DELETE FROM audit_log WHERE seq = $1", params![4i64]))
        .unwrap();
    let r = audit::verify(&app).unwrap();
    assert_eq!(r.first_broken.as_ref().map(|b| b.0), Some(4), "{r:?}");
}

fn tail_removal(url: &str) {
    let app = open(url);
    record(&app, 3);
    let store = Store::open(url).unwrap();
    disarm(&store);
    store
        .write(|tx| tx.execute("DELETE FROM audit_log WHERE seq = $1", params![4i64]))
        .unwrap();
    let r = audit::verify(&app).unwrap();
    assert_eq!(r.first_broken.as_ref().map(|b| b.0), Some(4), "{r:?}");
}

#[test]
fn altered_and_removed_rows_are_named_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
    let (_d, url) = sscard_testkit::sqlite_url();
    removal(&url);
    let (_d, url) = sscard_testkit::sqlite_url();
    tail_removal(&url);
}

#[test]
fn altered_and_removed_rows_are_named_on_postgres() {
    for f in [scenario, removal, tail_removal] {
        let Some(url) = sscard_testkit::postgres_url() else {
            return;
        };
        f(&url);
    }
}
