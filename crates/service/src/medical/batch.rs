//! The settlement writer on PostgreSQL (see `settle::write_in_batch`).
//!
//! Callers hand it what identifies their settlement's context ([`ContextKey`]) and how to
//! compute the settlement from that context ([`Make`]), and wait. A thread of its own takes
//! everything waiting at that moment (up to [`MAX_BATCH`]), reads all the contexts with one
//! statement ([`repo::settle_contexts`]) and computes each settlement; [`WRITERS`] writer
//! threads, each for its own holders, write them with one more statement
//! ([`repo::commit_settlements`]), committed on its own. The statements' fixed costs —
//! the round trips, starting each sub-statement, the commit's flush — are shared by the batch,
//! and each context is read just before it is written. When the write fails as a whole (a
//! refused write in one item fails them all) each item is tried again alone, so that only the
//! item at fault is refused; a caller whose settlement was not written gets `None` (nothing of
//! it was written) and goes the ordinary way.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll};

use sscard_store::repo::medical::{self as repo, ContextKey, SettleContext, SettlementItem};
use sscard_store::{Completion, Store, Tx};

/// The most settlements written by one statement.
pub const MAX_BATCH: usize = 256;

/// How a caller's settlement is computed from its context (`None`: not the common case, or
/// no such card), inside the writer's statements; with what the caller gets back.
pub(crate) type Make<P> =
    Box<dyn FnOnce(&mut dyn Tx, Option<SettleContext>) -> Option<(SettlementItem, P)> + Send>;

/// The writer's end of a settlement's answer: answers once; dropped unanswered it answers
/// `None` (nothing written).
struct Reply<P>(Arc<Completion<Option<(P, i64)>>>);

impl<P> Reply<P> {
    fn send(self, outcome: Option<(P, i64)>) {
        self.0.complete(outcome);
    }
}

impl<P> Drop for Reply<P> {
    fn drop(&mut self) {
        self.0.complete(None);
    }
}

/// The caller's end of a settlement handed to the writer, to block on ([`Answer::wait`]) or
/// to await from an async task without holding a thread: `Some((p, settlement id))` once
/// written and durable, `None` when it was not written.
pub(crate) struct Answer<P>(Arc<Completion<Option<(P, i64)>>>);

impl<P> Answer<P> {
    /// Blocks until the writer has answered.
    pub(crate) fn wait(self) -> Option<(P, i64)> {
        self.0.wait().flatten()
    }
}

impl<P> Future for Answer<P> {
    type Output = Option<(P, i64)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll(cx).map(Option::flatten)
    }
}

struct Job<P> {
    key: ContextKey,
    make: Make<P>,
    reply: Reply<P>,
}

/// A queue to the writer thread (started with the first settlement; it stops when the queue is
/// dropped with the [`crate::App`]).
pub(crate) struct Queue<P>(mpsc::Sender<Job<P>>);

impl<P> std::fmt::Debug for Queue<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("settlement writer queue")
    }
}

/// Starts the writer on `store`: one thread reading the contexts and computing the
/// settlements of the next batch while [`WRITERS`] others write the batches before and wait
/// for their commits to be flushed. Each writer takes the settlements of its own holders (by
/// person id, and so by account lane: see `settle::lane_of`), so two writers never lock the
/// same row and one writes while the other waits for its flush. A context read while a batch
/// before is being written may be outdated by it; the write's re-check catches that (the
/// settlement then goes the ordinary way).
pub(crate) fn start<P: Send + 'static>(store: Store) -> std::io::Result<Queue<P>> {
    let (queue, rx) = mpsc::channel();
    let mut writers = Vec::with_capacity(WRITERS);
    for i in 0..WRITERS {
        let (to_write, written) = mpsc::channel::<Ready<P>>();
        let writer_store = store.clone();
        std::thread::Builder::new()
            .name(format!("settle-write-{i}"))
            .spawn(move || {
                while let Ok(mut ready) = written.recv() {
                    // Whatever else is waiting joins this batch.
                    while ready.len() < MAX_BATCH {
                        match written.try_recv() {
                            Ok(more) => ready.extend(more),
                            Err(_) => break,
                        }
                    }
                    write(&writer_store, ready);
                }
            })?;
        writers.push(to_write);
    }
    std::thread::Builder::new()
        .name("settle-prepare".into())
        .spawn(move || prepare(&store, &rx, &writers))?;
    Ok(Queue(queue))
}

/// How many writers write side by side; a divisor of the number of account lanes, so that
/// each lane has one writer. (Measured: one writer 2 385–2 643 TPS with the machine a quarter
/// idle, two 3 015–3 330 with it busy, four no better: see BENCHMARKS.md.)
pub const WRITERS: usize = 2;
const _: () = assert!(super::settle::LANES % WRITERS as i64 == 0);

/// The writer of a holder's settlements.
fn writer_of(person_id: i64) -> usize {
    usize::try_from(person_id.rem_euclid(WRITERS as i64)).unwrap_or(0)
}

/// Settlements computed and waiting to be written, with whom to answer.
type Ready<P> = Vec<(Reply<P>, SettlementItem, P)>;

/// Hands a settlement to the writer, without waiting: the [`Answer`] says how it ended.
pub(crate) fn submit<P>(queue: &Queue<P>, key: ContextKey, make: Make<P>) -> Answer<P> {
    let slot = Arc::new(Completion::default());
    // A send that fails drops the job, and with it the reply, which answers `None`.
    let _ = queue.0.send(Job {
        key,
        make,
        reply: Reply(slot.clone()),
    });
    Answer(slot)
}

fn prepare<P>(store: &Store, rx: &mpsc::Receiver<Job<P>>, writers: &[mpsc::Sender<Ready<P>>]) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let keys: Vec<ContextKey> = jobs.iter().map(|j| j.key.clone()).collect();
        let mut ready: Ready<P> = Vec::with_capacity(jobs.len());
        let read = store.autocommit(|tx| {
            let contexts = repo::settle_contexts(tx, &keys)?;
            for (job, ctx) in jobs.drain(..).zip(contexts) {
                match (job.make)(tx, ctx) {
                    Some((item, p)) => ready.push((job.reply, item, p)),
                    None => {
                        job.reply.send(None);
                    }
                }
            }
            Ok::<_, sscard_store::StoreError>(())
        });
        if read.is_err() {
            // Whoever is still waiting goes the ordinary way (dropping a reply says `None`).
            continue;
        }
        let mut parts: Vec<Ready<P>> = writers.iter().map(|_| Vec::new()).collect();
        for r in ready {
            parts[writer_of(r.1.person_id)].push(r);
        }
        for (part, to_write) in parts.into_iter().zip(writers) {
            if !part.is_empty() && to_write.send(part).is_err() {
                return;
            }
        }
    }
}

fn write<P>(store: &Store, ready: Ready<P>) {
    if ready.is_empty() {
        return;
    }
    let mut items = Vec::with_capacity(ready.len());
    let mut waiting = Vec::with_capacity(ready.len());
    for (reply, item, p) in ready {
        items.push(item);
        waiting.push((reply, p));
    }
    match store.autocommit(|tx| repo::commit_settlements(tx, &items)) {
        Ok(ids) => {
            for ((reply, p), id) in waiting.into_iter().zip(ids) {
                reply.send(id.map(|id| (p, id)));
            }
        }
        Err(_) if items.len() == 1 => {}
        Err(_) => {
            for (item, (reply, p)) in items.iter().zip(waiting) {
                let one = store
                    .autocommit(|tx| repo::commit_settlements(tx, std::slice::from_ref(item)))
                    .ok()
                    .and_then(|ids| ids.into_iter().next().flatten());
                reply.send(one.map(|id| (p, id)));
            }
        }
    }
}
