//! The nonces of signed requests on SQLite: an append-only table for durability and an index in
//! memory for the "used before?" question.
//!
//! A nonce is random, so a B-tree keyed by it takes every insert (and, when nonces expire,
//! every delete) on a different leaf page: measured on the settlement benchmark, 1.5 of the
//! 8.8 pages a settlement wrote to the WAL, and about 18 % of its throughput. Here the table is
//! keyed by its row id, so the nonces of a group commit share the last page or two; expiry
//! deletes from the front. Which (key, nonce) pairs were used is answered from memory (a
//! 128-bit digest per pair, roughly 50 bytes each with the set's overhead): the set is read
//! from the table when the store opens (or else when first asked), and kept in step with the
//! writer's transactions (a claim counts only once its transaction commits; a rolled-back
//! claim is forgotten). All of it lives with the writer connection, which is the only one that
//! writes (one server process per SQLite file, as documented in `docs/deployment.md`).
//!
//! PostgreSQL keeps its table with the unique key (see [`crate::Tx::claim_nonce`]).

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use rusqlite::Connection;

use crate::{Result, StoreError};

/// A (key, nonce) pair as 128 bits of two independently keyed SipHashes: 16 bytes whatever
/// the nonce's length (ten minutes of nonces at 5 000 a second are 3 million pairs), and with
/// keys chosen at random per process, nobody can make another's nonce look used.
type Digest = u128;

/// Hashing a [`Digest`] again would be wasted work: it is uniformly distributed already.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// The used nonces as the writer's transactions see them.
pub(crate) struct Nonces {
    keys: (RandomState, RandomState),
    /// Read from the table yet.
    loaded: bool,
    /// Every pair committed and not forgotten, plus the open transaction's claims.
    taken: HashSet<Digest, BuildHasherDefault<PassThrough>>,
    /// Committed pairs by commit, oldest first, each commit's with the latest time it saw (to
    /// forget a commit's pairs once all of them are old enough).
    order: VecDeque<(Box<str>, Vec<Digest>)>,
    /// The open transaction's claims, in order, and the latest time among them.
    pending: Vec<Digest>,
    pending_latest: Option<Box<str>>,
    /// The open transaction's "forget before" (the latest, if several).
    forget: Option<Box<str>>,
}

impl Default for Nonces {
    fn default() -> Self {
        Nonces {
            keys: (RandomState::new(), RandomState::new()),
            loaded: false,
            taken: HashSet::default(),
            order: VecDeque::new(),
            pending: Vec::new(),
            pending_latest: None,
            forget: None,
        }
    }
}

impl Nonces {
    fn digest(&self, key_id: &str, nonce: &str) -> Digest {
        let one = |k: &RandomState| {
            let mut h = k.build_hasher();
            h.write(key_id.as_bytes());
            h.write_u8(0xff);
            h.write(nonce.as_bytes());
            h.finish()
        };
        (u128::from(one(&self.keys.0)) << 64) | u128::from(one(&self.keys.1))
    }

    /// A writer transaction begins. Claims of an earlier transaction that was neither
    /// committed nor rolled back here would leave memory unsure of the table: read it again.
    pub(crate) fn begin(&mut self) {
        if !self.pending.is_empty() || self.forget.is_some() {
            tracing::warn!("nonce claims of an unfinished transaction; reading nonces again");
            *self = Nonces::default();
        }
    }

    /// The open transaction committed: its claims count and its forgetting takes effect.
    pub(crate) fn commit(&mut self) {
        if let Some(latest) = self.pending_latest.take() {
            self.order
                .push_back((latest, std::mem::take(&mut self.pending)));
        }
        if let Some(before) = self.forget.take() {
            while self
                .order
                .front()
                .is_some_and(|(latest, _)| latest.as_ref() < before.as_ref())
            {
                if let Some((_, gone)) = self.order.pop_front() {
                    for d in gone {
                        self.taken.remove(&d);
                    }
                }
            }
        }
    }

    /// The open transaction rolled back: its claims never happened.
    pub(crate) fn rollback(&mut self) {
        self.rollback_to(0);
        self.pending_latest = None;
        self.forget = None;
    }

    /// Where a savepoint starts, to roll back to (see [`Nonces::rollback_to`]).
    pub(crate) fn mark(&self) -> usize {
        self.pending.len()
    }

    /// A savepoint rolled back: the claims made since `mark` never happened. (The latest time
    /// stays: a commit's pairs are then forgotten a little later, never earlier.)
    pub(crate) fn rollback_to(&mut self, mark: usize) {
        for d in self.pending.drain(mark.min(self.pending.len())..) {
            self.taken.remove(&d);
        }
    }

    /// Reads the used nonces from the table unless that was done already; how many it read.
    /// (Done when the store opens, so that the first request after a restart does not wait for
    /// it: about 1 µs a row, 3 s for the 3 million of ten minutes at 5 000 a second.)
    pub(crate) fn load_now(&mut self, conn: &Connection) -> Result<usize> {
        if self.loaded {
            return Ok(0);
        }
        self.load(conn)?;
        Ok(self.taken.len())
    }

    fn load(&mut self, conn: &Connection) -> Result<()> {
        let mut stmt = conn
            .prepare("SELECT key_id, nonce, seen_at FROM api_nonces ORDER BY seq")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (key, nonce, at) = (text(r, 0)?, text(r, 1)?, text(r, 2)?);
            let d = self.digest(key, nonce);
            self.taken.insert(d);
            // One entry per second seen, in table order.
            match self.order.back_mut() {
                Some((latest, ds)) if latest.get(..19) == at.get(..19) => {
                    if at > latest.as_ref() {
                        *latest = at.into();
                    }
                    ds.push(d);
                }
                _ => self.order.push_back((at.into(), vec![d])),
            }
        }
        self.loaded = true;
        Ok(())
    }

    /// Records `nonce` of `key_id`, seen at `at`, in the open transaction; `false` when the
    /// key used it before (and nothing is written).
    pub(crate) fn claim(
        &mut self,
        conn: &Connection,
        key_id: &str,
        nonce: &str,
        at: &str,
    ) -> Result<bool> {
        if !self.loaded {
            self.load(conn)?;
        }
        let d = self.digest(key_id, nonce);
        if self.taken.contains(&d) {
            return Ok(false);
        }
        conn.prepare_cached("INSERT INTO api_nonces (key_id, nonce, seen_at) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute((key_id, nonce, at)))
            .map_err(db)?;
        self.taken.insert(d);
        self.pending.push(d);
        if self.pending_latest.as_deref().is_none_or(|l| l < at) {
            self.pending_latest = Some(at.into());
        }
        Ok(true)
    }

    /// Forgets, in the open transaction, the nonces seen before `before`.
    pub(crate) fn forget(&mut self, conn: &Connection, before: &str) -> Result<u64> {
        let n = conn
            .prepare_cached("DELETE FROM api_nonces WHERE seen_at < ?1")
            .and_then(|mut s| s.execute([before]))
            .map_err(db)?;
        if self.forget.as_deref().is_none_or(|f| f < before) {
            self.forget = Some(before.into());
        }
        Ok(n as u64)
    }
}

fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str> {
    r.get_ref(i)
        .map_err(db)?
        .as_str()
        .map_err(|e| StoreError::Data(format!("api_nonces: {e}")))
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE api_nonces (seq INTEGER PRIMARY KEY, key_id TEXT NOT NULL, \
             nonce TEXT NOT NULL, seen_at TEXT NOT NULL); BEGIN;",
        )
        .unwrap();
        c
    }

    #[test]
    fn loading_up_front_reads_the_table_once_and_claims_then_agree_with_it() {
        let c = conn();
        c.execute_batch(
            "INSERT INTO api_nonces (key_id, nonce, seen_at) VALUES \
             ('k', 'a', '2026-12-05T00:00:00Z'), ('k', 'b', '2026-12-05T00:00:01Z')",
        )
        .unwrap();
        let mut n = Nonces::default();
        assert_eq!(n.load_now(&c).unwrap(), 2);
        assert_eq!(n.load_now(&c).unwrap(), 0, "read once");
        n.begin();
        assert!(!n.claim(&c, "k", "a", "2026-12-05T00:00:02Z").unwrap());
        assert!(!n.claim(&c, "k", "b", "2026-12-05T00:00:02Z").unwrap());
        assert!(n.claim(&c, "k", "c", "2026-12-05T00:00:02Z").unwrap());
        n.commit();
        let rows: i64 = c
            .query_row("SELECT count(*) FROM api_nonces", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 3, "the loaded rows were not written again");
    }

    #[test]
    fn a_claim_counts_once_committed_and_not_after_a_rollback() {
        let c = conn();
        let mut n = Nonces::default();
        n.begin();
        assert!(n.claim(&c, "k", "a", "2026-12-05T00:00:00Z").unwrap());
        assert!(!n.claim(&c, "k", "a", "2026-12-05T00:00:01Z").unwrap());
        assert!(n.claim(&c, "other", "a", "2026-12-05T00:00:01Z").unwrap());
        n.commit();
        n.begin();
        assert!(!n.claim(&c, "k", "a", "2026-12-05T00:00:02Z").unwrap());
        assert!(n.claim(&c, "k", "b", "2026-12-05T00:00:02Z").unwrap());
        n.rollback();
        n.begin();
        assert!(n.claim(&c, "k", "b", "2026-12-05T00:00:03Z").unwrap());
        let mark = n.mark();
        assert!(n.claim(&c, "k", "c", "2026-12-05T00:00:03Z").unwrap());
        n.rollback_to(mark);
        assert!(n.claim(&c, "k", "c", "2026-12-05T00:00:04Z").unwrap());
        n.commit();
        assert!(!n.claim(&c, "k", "b", "2026-12-05T00:00:05Z").unwrap());
        assert!(!n.claim(&c, "k", "c", "2026-12-05T00:00:05Z").unwrap());
    }

    #[test]
    fn forgetting_takes_effect_at_the_commit_and_a_fresh_reader_agrees() {
        let c = conn();
        let mut n = Nonces::default();
        n.begin();
        assert!(n.claim(&c, "k", "old", "2026-12-05T00:00:00Z").unwrap());
        n.commit();
        n.begin();
        assert!(n.claim(&c, "k", "new", "2026-12-05T00:10:00Z").unwrap());
        n.commit();
        // Rolled back (here: to a savepoint standing for the transaction).
        c.execute_batch("SAVEPOINT t").unwrap();
        n.begin();
        assert_eq!(n.forget(&c, "2026-12-05T00:05:00Z").unwrap(), 1);
        c.execute_batch("ROLLBACK TO t; RELEASE t").unwrap();
        n.rollback();
        n.begin();
        assert!(!n.claim(&c, "k", "old", "2026-12-05T00:11:00Z").unwrap());
        n.rollback();
        n.begin();
        assert_eq!(n.forget(&c, "2026-12-05T00:05:00Z").unwrap(), 1);
        n.commit();
        n.begin();
        assert!(n.claim(&c, "k", "old", "2026-12-05T00:11:00Z").unwrap());
        assert!(!n.claim(&c, "k", "new", "2026-12-05T00:11:00Z").unwrap());
        n.commit();
        // Read from the table afresh: the same answers.
        let mut fresh = Nonces::default();
        assert!(!fresh.claim(&c, "k", "new", "2026-12-05T00:12:00Z").unwrap());
        assert!(!fresh.claim(&c, "k", "old", "2026-12-05T00:12:00Z").unwrap());
        assert!(fresh.claim(&c, "k", "x", "2026-12-05T00:12:00Z").unwrap());
    }

    #[test]
    fn a_commit_is_forgotten_once_all_of_it_is_old() {
        let c = conn();
        let mut n = Nonces::default();
        n.begin();
        assert!(n.claim(&c, "k", "a", "2026-12-05T00:00:00Z").unwrap());
        assert!(n.claim(&c, "k", "b", "2026-12-05T00:10:00Z").unwrap());
        n.commit();
        n.begin();
        n.forget(&c, "2026-12-05T00:05:00Z").unwrap();
        n.commit();
        // Refused a little longer than the table keeps it: never accepted too early.
        n.begin();
        assert!(!n.claim(&c, "k", "a", "2026-12-05T00:11:00Z").unwrap());
        n.forget(&c, "2026-12-05T00:10:01Z").unwrap();
        n.commit();
        n.begin();
        assert!(n.claim(&c, "k", "a", "2026-12-05T00:12:00Z").unwrap());
        assert!(n.claim(&c, "k", "b", "2026-12-05T00:12:00Z").unwrap());
        n.commit();
    }

    #[test]
    fn an_unfinished_transaction_makes_it_read_the_table_again() {
        let c = conn();
        let mut n = Nonces::default();
        n.begin();
        assert!(n.claim(&c, "k", "a", "2026-12-05T00:00:00Z").unwrap());
        // Neither committed nor rolled back here: the row is in the (open) transaction.
        n.begin();
        assert!(!n.claim(&c, "k", "a", "2026-12-05T00:00:01Z").unwrap());
    }
}
