//! PostgreSQL backend: a connection pool (r2d2) of synchronous clients. Callers run store work
//! on blocking threads (the service layer does), never on an async executor thread.

use std::error::Error as _;
use std::io::Write;
use std::time::Duration;

use bytes::BytesMut;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use crate::{Backend, Db, Result, Row, StoreError, Tx, TxAbort, Value};

/// A pooled connection with its prepared statements: the SQL is written once per backend, so
/// the text of each statement is a stable cache key, and a statement is parsed and planned
/// once per connection instead of on every call (one round trip per execution, not two).
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Opens connections for the pool.
struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

type Pool = r2d2::Pool<Manager>;

/// The most statements a connection keeps prepared (ad-hoc SQL beyond that resets the cache).
const MAX_STATEMENTS: usize = 512;

pub(crate) struct PgDb {
    pool: Pool,
}

fn map_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code.starts_with("23") {
            return StoreError::Constraint(format!("{}: {}", db.code().code(), db.message()));
        }
        return StoreError::Db(format!("{} ({})", db.message(), code));
    }
    match e.source() {
        Some(s) => StoreError::Db(format!("{e}: {s}")),
        None => StoreError::Db(e.to_string()),
    }
}

impl PgDb {
    pub(crate) fn open(url: &str, pool_size: u32) -> Result<PgDb> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::BadUrl(e.to_string()))?;
        let manager = Manager { config };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        // r2d2 reports a timeout without the cause: try once directly for a useful message.
        let mut conn = pool.get().map_err(|e| StoreError::Connect(e.to_string()))?;
        conn.client.simple_query("SELECT 1").map_err(map_err)?;
        drop(conn);
        Ok(PgDb { pool })
    }
}

impl PgDb {
    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| StoreError::Connect(e.to_string()))
    }
}

impl Db for PgDb {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn set_bulk_load(&self, _on: bool, _keep_indexes: &[&str]) -> Result<()> {
        Ok(())
    }

    fn optimize(&self) -> Result<()> {
        let mut conn = self.conn()?;
        conn.client.batch_execute("ANALYZE").map_err(map_err)
    }

    fn run(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        let mut builder = client.build_transaction();
        if !write {
            builder = builder.read_only(true);
        }
        let tx = builder.start().map_err(map_err)?;
        let mut ptx = PgTx {
            tx: Some(Target::Tx(tx)),
            statements,
        };
        match f(&mut ptx) {
            Ok(()) => match ptx.tx.take() {
                Some(Target::Tx(t)) => t.commit().map_err(map_err),
                _ => Ok(()),
            },
            Err(TxAbort) => Err(StoreError::Db("rolled back".into())),
        }
    }

    fn run_autocommit(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<(), TxAbort>,
    ) -> Result<()> {
        let mut conn = self.conn()?;
        let PgConn { client, statements } = &mut *conn;
        let mut ptx = PgTx {
            tx: Some(Target::Auto(client)),
            statements,
        };
        f(&mut ptx).map_err(|TxAbort| StoreError::Db("stopped".into()))
    }
}

/// Where a [`PgTx`] sends its statements: an open transaction, or the connection itself (each
/// statement then commits on its own).
enum Target<'a> {
    Tx(postgres::Transaction<'a>),
    Auto(&'a mut Client),
}

macro_rules! on_target {
    ($t:expr, $c:ident => $body:expr) => {
        match $t {
            Target::Tx($c) => $body,
            Target::Auto($c) => $body,
        }
    };
}

struct PgTx<'a> {
    tx: Option<Target<'a>>,
    statements: &'a mut HashMap<String, Statement>,
}

impl<'a> PgTx<'a> {
    fn tx(&mut self) -> Result<&mut Target<'a>> {
        self.tx
            .as_mut()
            .ok_or_else(|| StoreError::Db("transaction already finished".into()))
    }

    /// The prepared statement for `sql`, preparing it on first use on this connection.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let tx = self.tx()?;
        let stmt = on_target!(tx, c => c.prepare(sql)).map_err(map_err)?;
        if self.statements.len() >= MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

#[derive(Debug)]
struct P<'a>(&'a Value);

impl ToSql for P<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => Err(format!("cannot bind integer to {ty}").into()),
            },
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                Type::INT8 => i64::from(*b).to_sql(ty, out),
                Type::INT4 => i32::from(*b).to_sql(ty, out),
                _ => Err(format!("cannot bind boolean to {ty}").into()),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read_row(r: &postgres::Row) -> Result<Row> {
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let bad = |e: postgres::Error| StoreError::Data(format!("column {}: {e}", col.name()));
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(bad)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(Value::Bool),
            Type::BYTEA => r
                .try_get::<_, Option<Vec<u8>>>(i)
                .map_err(bad)?
                .map(Value::Bytes),
            Type::VOID => None,
            _ => r
                .try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text),
        };
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

fn copy_escape(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Text(s) => {
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
        }
    }
}

impl Tx for PgTx<'_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        if params.is_empty() {
            // Unparameterised statements (DDL, scripts, savepoints) go through the simple
            // protocol. A schema change may invalidate prepared statements: forget them.
            on_target!(self.tx()?, c => c.batch_execute(sql)).map_err(map_err)?;
            let head = sql.trim_start().get(..6).unwrap_or("").to_ascii_uppercase();
            if matches!(head.as_str(), "CREATE" | "ALTER " | "DROP T" | "DROP I") {
                self.statements.clear();
            }
            return Ok(0);
        }
        let stmt = self.statement(sql)?;
        let ps: Vec<P<'_>> = params.iter().map(P).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        on_target!(self.tx()?, c => c.execute(&stmt, &refs)).map_err(map_err)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let ps: Vec<P<'_>> = params.iter().map(P).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = on_target!(self.tx()?, c => c.query(&stmt, &refs)).map_err(map_err)?;
        rows.iter().map(read_row).collect()
    }

    fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &mut dyn Iterator<Item = Vec<Value>>,
    ) -> Result<u64> {
        let tx = self.tx()?;
        let sql = format!("COPY {table} ({}) FROM STDIN", columns.join(", "));
        let mut writer = on_target!(tx, c => c.copy_in(&sql)).map_err(map_err)?;
        let mut buf = String::with_capacity(1 << 16);
        let mut n = 0u64;
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                copy_escape(v, &mut buf);
            }
            buf.push('\n');
            n += 1;
            if buf.len() > 1 << 20 {
                writer
                    .write_all(buf.as_bytes())
                    .map_err(|e| StoreError::Db(e.to_string()))?;
                buf.clear();
            }
        }
        writer
            .write_all(buf.as_bytes())
            .map_err(|e| StoreError::Db(e.to_string()))?;
        writer.finish().map_err(map_err)?;
        Ok(n)
    }

    fn resync_ids(&mut self, tables: &[&str]) -> Result<()> {
        for t in tables {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                 COALESCE((SELECT max(id) FROM {t}), 0) + 1, false)"
            );
            on_target!(self.tx()?, c => c.batch_execute(&sql)).map_err(map_err)?;
        }
        Ok(())
    }
}
