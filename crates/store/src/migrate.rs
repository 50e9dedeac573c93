//! Migrations: one ordered set per backend, embedded in the binary, applied at start.

use crate::{Backend, Result, Store, StoreError, Tx, params};

/// One schema migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// A migration and whether it is applied (with when).
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub version: u32,
    pub name: &'static str,
    pub applied_at: Option<String>,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "lifecycle",
        sql: include_str!("../migrations/sqlite/0002_lifecycle.sql"),
    },
    Migration {
        version: 3,
        name: "ledger",
        sql: include_str!("../migrations/sqlite/0003_ledger.sql"),
    },
    Migration {
        version: 4,
        name: "channels",
        sql: include_str!("../migrations/sqlite/0004_channels.sql"),
    },
    Migration {
        version: 5,
        name: "medical",
        sql: include_str!("../migrations/sqlite/0005_medical.sql"),
    },
    Migration {
        version: 6,
        name: "portal",
        sql: include_str!("../migrations/sqlite/0006_portal.sql"),
    },
    Migration {
        version: 7,
        name: "kiosk",
        sql: include_str!("../migrations/sqlite/0007_kiosk.sql"),
    },
    Migration {
        version: 8,
        name: "admin",
        sql: include_str!("../migrations/sqlite/0008_admin.sql"),
    },
    Migration {
        version: 9,
        name: "ivr",
        sql: include_str!("../migrations/sqlite/0009_ivr.sql"),
    },
    Migration {
        version: 10,
        name: "settle_path",
        sql: include_str!("../migrations/sqlite/0010_settle_path.sql"),
    },
    Migration {
        version: 11,
        name: "settle_statement",
        sql: include_str!("../migrations/sqlite/0011_settle_statement.sql"),
    },
    Migration {
        version: 12,
        name: "enrolment_lookup",
        sql: include_str!("../migrations/sqlite/0012_enrolment_lookup.sql"),
    },
    Migration {
        version: 13,
        name: "nonce_log",
        sql: include_str!("../migrations/sqlite/0013_nonce_log.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "lifecycle",
        sql: include_str!("../migrations/postgres/0002_lifecycle.sql"),
    },
    Migration {
        version: 3,
        name: "ledger",
        sql: include_str!("../migrations/postgres/0003_ledger.sql"),
    },
    Migration {
        version: 4,
        name: "channels",
        sql: include_str!("../migrations/postgres/0004_channels.sql"),
    },
    Migration {
        version: 5,
        name: "medical",
        sql: include_str!("../migrations/postgres/0005_medical.sql"),
    },
    Migration {
        version: 6,
        name: "portal",
        sql: include_str!("../migrations/postgres/0006_portal.sql"),
    },
    Migration {
        version: 7,
        name: "kiosk",
        sql: include_str!("../migrations/postgres/0007_kiosk.sql"),
    },
    Migration {
        version: 8,
        name: "admin",
        sql: include_str!("../migrations/postgres/0008_admin.sql"),
    },
    Migration {
        version: 9,
        name: "ivr",
        sql: include_str!("../migrations/postgres/0009_ivr.sql"),
    },
    Migration {
        version: 10,
        name: "settle_path",
        sql: include_str!("../migrations/postgres/0010_settle_path.sql"),
    },
    Migration {
        version: 11,
        name: "settle_statement",
        sql: include_str!("../migrations/postgres/0011_settle_statement.sql"),
    },
    Migration {
        version: 12,
        name: "enrolment_lookup",
        sql: include_str!("../migrations/postgres/0012_enrolment_lookup.sql"),
    },
    Migration {
        version: 13,
        name: "nonce_log",
        sql: include_str!("../migrations/postgres/0013_nonce_log.sql"),
    },
];

/// The migration set of a backend.
pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

fn ensure_table(tx: &mut dyn Tx) -> Result<()> {
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        &[],
    )?;
    Ok(())
}

fn applied(tx: &mut dyn Tx) -> Result<Vec<(u32, String)>> {
    let rows = tx.query(
        "SELECT version, applied_at FROM schema_migrations ORDER BY version",
        &[],
    )?;
    rows.iter()
        .map(|r| Ok((r.i64(0)? as u32, r.text(1)?)))
        .collect()
}

pub(crate) fn apply(store: &Store) -> Result<Vec<u32>> {
    let backend = store.backend();
    store.write(|tx| {
        ensure_table(tx)?;
        if backend == Backend::Postgres {
            // Serialise concurrent starters of several servers on one database.
            tx.execute("SELECT pg_advisory_xact_lock(23331)", &[])?;
        }
        let done: Vec<u32> = applied(tx)?.into_iter().map(|(v, _)| v).collect();
        if let Some(max) = done.iter().max()
            && *max > migrations(backend).last().map(|m| m.version).unwrap_or(0)
        {
            return Err(StoreError::Migration {
                version: *max,
                message: "the database is newer than this program; upgrade sscard".into(),
            });
        }
        let mut newly = Vec::new();
        for m in migrations(backend) {
            if done.contains(&m.version) {
                continue;
            }
            run_script(tx, m.sql).map_err(|e| StoreError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
            let now = chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                params![i64::from(m.version), m.name, now],
            )?;
            newly.push(m.version);
        }
        Ok(newly)
    })
}

pub(crate) fn status(store: &Store) -> Result<Vec<MigrationStatus>> {
    let backend = store.backend();
    let done = store.write(|tx| {
        ensure_table(tx)?;
        applied(tx)
    })?;
    Ok(migrations(backend)
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name,
            applied_at: done
                .iter()
                .find(|(v, _)| *v == m.version)
                .map(|(_, at)| at.clone()),
        })
        .collect())
}

/// Runs a script of several statements. Statements are separated by `;` at the end of a line,
/// except inside `$$ … $$` bodies and `BEGIN … END;` trigger bodies.
fn run_script(tx: &mut dyn Tx, sql: &str) -> Result<()> {
    for stmt in split_statements(sql) {
        tx.execute(&stmt, &[])?;
    }
    Ok(())
}

fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_dollar = false;
    let mut in_trigger = false;
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") && cur.trim().is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if line.matches("$$").count() % 2 == 1 {
            in_dollar = !in_dollar;
        }
        let upper = trimmed.to_ascii_uppercase();
        if upper.starts_with("CREATE TRIGGER") && !upper.contains("EXECUTE FUNCTION") {
            in_trigger = true;
        }
        if in_trigger && upper.contains("FOR EACH") {
            // PostgreSQL triggers are one statement, not a BEGIN…END body.
            in_trigger = false;
        }
        if !in_dollar && trimmed.ends_with(';') {
            if in_trigger && !upper.ends_with("END;") {
                continue;
            }
            in_trigger = false;
            out.push(cur.trim().trim_end_matches(';').to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_triggers_and_functions() {
        let s = split_statements(
            "CREATE TABLE a (x INT);\nCREATE TRIGGER t BEFORE UPDATE ON a\nBEGIN SELECT 1; END;\n\
             CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN RAISE EXCEPTION 'x'; END $$;\n\
             CREATE TRIGGER u BEFORE UPDATE ON a\nFOR EACH ROW EXECUTE FUNCTION f();\n",
        );
        assert_eq!(s.len(), 4, "{s:#?}");
        assert!(s[1].ends_with("END"));
    }

    #[test]
    fn both_sets_have_the_same_versions() {
        let a: Vec<u32> = SQLITE.iter().map(|m| m.version).collect();
        let b: Vec<u32> = POSTGRES.iter().map(|m| m.version).collect();
        assert_eq!(a, b);
    }
}
