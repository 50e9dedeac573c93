//! The writer of prepared settlements on PostgreSQL (see `settle::settle_in_one_statement`).
//!
//! Callers hand it a [`SettlementItem`] and wait; a thread of its own takes everything waiting
//! at that moment (up to [`MAX_BATCH`]) and writes it with one statement
//! ([`repo::commit_settlements`]), committed on its own. The statement's fixed costs — the
//! round trip, starting each of its sub-statements, the commit's flush — are shared by the
//! batch. When the batch statement fails (a refused write in one item fails them all) each item
//! is tried again alone, so that only the item at fault gets the error.

use std::sync::mpsc;

use sscard_store::repo::medical::{self as repo, SettlementItem};
use sscard_store::{Store, StoreError};

/// The most settlements written by one statement.
pub const MAX_BATCH: usize = 256;

type Reply = mpsc::SyncSender<Result<Option<i64>, StoreError>>;

/// A queue to the writer thread (started with the first item; it stops when the queue is
/// dropped with the [`crate::App`]).
pub(crate) type Queue = mpsc::Sender<(SettlementItem, Reply)>;

/// Starts a writer thread on `store`.
pub(crate) fn start(store: Store) -> std::io::Result<Queue> {
    let (queue, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("settle-writer".into())
        .spawn(move || run(&store, &rx))?;
    Ok(queue)
}

/// Hands `item` to the writer and waits for it: `Ok(Some(id))` written, `Ok(None)` left out
/// (its context changed or its nonce was used: nothing written), `Err` refused or failed.
pub(crate) fn submit(queue: &Queue, item: SettlementItem) -> Result<Option<i64>, StoreError> {
    let (reply, answer) = mpsc::sync_channel(1);
    queue
        .send((item, reply))
        .map_err(|_| StoreError::Db("the settlement writer stopped".into()))?;
    answer
        .recv()
        .map_err(|_| StoreError::Db("the settlement writer stopped".into()))?
}

fn run(store: &Store, rx: &mpsc::Receiver<(SettlementItem, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut items = vec![first.0];
        let mut replies = vec![first.1];
        while items.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((item, reply)) => {
                    items.push(item);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        match store.autocommit(|tx| repo::commit_settlements(tx, &items)) {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(e) if items.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(_) => {
                for (item, reply) in items.into_iter().zip(replies) {
                    let one = store
                        .autocommit(|tx| repo::commit_settlements(tx, std::slice::from_ref(&item)))
                        .map(|ids| ids.into_iter().next().flatten());
                    let _ = reply.send(one);
                }
            }
        }
    }
}
