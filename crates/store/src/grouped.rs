//! Grouped writes under way: a caller either blocks until its group commit is durable
//! ([`GroupedWrite::wait`]) or awaits it from an async task without holding a thread
//! (`GroupedWrite` is a `Future`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use crate::{Result, StoreError};

/// How one caller's grouped write ended, handed from the committer to whoever waits: a
/// thread (condition variable) or a task (waker).
#[derive(Default)]
pub(crate) struct Completion {
    state: Mutex<CompletionState>,
    ready: Condvar,
}

#[derive(Default)]
struct CompletionState {
    outcome: Option<Result<()>>,
    waker: Option<Waker>,
}

impl Completion {
    /// Records the outcome and wakes the waiter (only the first outcome counts).
    pub(crate) fn complete(&self, outcome: Result<()>) {
        let waker = {
            let Ok(mut s) = self.state.lock() else {
                return;
            };
            if s.outcome.is_some() {
                return;
            }
            s.outcome = Some(outcome);
            s.waker.take()
        };
        self.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wait(&self) -> Result<()> {
        let Ok(mut s) = self.state.lock() else {
            return Err(lost());
        };
        loop {
            if let Some(o) = s.outcome.take() {
                return o;
            }
            s = match self.ready.wait(s) {
                Ok(s) => s,
                Err(_) => return Err(lost()),
            };
        }
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let Ok(mut s) = self.state.lock() else {
            return Poll::Ready(Err(lost()));
        };
        match s.outcome.take() {
            Some(o) => Poll::Ready(o),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn lost() -> StoreError {
    StoreError::Db("grouped write lost".into())
}

/// The job's own result, filled in when the committer runs it.
pub(crate) type Slot<R, E> = Arc<Mutex<Option<std::result::Result<R, E>>>>;

/// A grouped write that was handed to the store (see [`crate::Store::submit_grouped`]).
#[must_use = "a grouped write reports its outcome only when waited for or awaited"]
pub struct GroupedWrite<R, E> {
    pub(crate) done: Arc<Completion>,
    pub(crate) slot: Slot<R, E>,
}

impl<R, E: From<StoreError>> GroupedWrite<R, E> {
    /// Blocks until the write is durable (or failed).
    pub fn wait(self) -> std::result::Result<R, E> {
        let outcome = self.done.wait();
        self.finish(outcome)
    }

    /// The job's own result once its commit is known: an `Ok` of the job survives only a
    /// successful commit; the job's own error wins over the commit's.
    fn finish(&self, outcome: Result<()>) -> std::result::Result<R, E> {
        let out = self.slot.lock().ok().and_then(|mut s| s.take());
        match (outcome, out) {
            (Ok(()), Some(r)) => r,
            (Err(_), Some(Err(e))) => Err(e),
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Db("grouped job did not run".into()))),
        }
    }
}

impl<R, E: From<StoreError>> Future for GroupedWrite<R, E> {
    type Output = std::result::Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.done.poll(cx) {
            Poll::Ready(outcome) => Poll::Ready(self.finish(outcome)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_waiting_gets_the_outcome_completed_elsewhere() {
        let done = Arc::new(Completion::default());
        let slot: Slot<i32, StoreError> = Arc::new(Mutex::new(Some(Ok(7))));
        let w = GroupedWrite {
            done: done.clone(),
            slot,
        };
        let t = std::thread::spawn(move || w.wait());
        std::thread::sleep(std::time::Duration::from_millis(20));
        done.complete(Ok(()));
        assert_eq!(t.join().unwrap().unwrap(), 7);
    }

    #[test]
    fn a_failed_commit_turns_the_jobs_ok_into_the_commits_error() {
        let done = Arc::new(Completion::default());
        let slot: Slot<i32, StoreError> = Arc::new(Mutex::new(Some(Ok(7))));
        done.complete(Err(StoreError::Db("disk full".into())));
        done.complete(Ok(()));
        let w = GroupedWrite { done, slot };
        assert!(matches!(w.wait(), Err(StoreError::Db(m)) if m == "disk full"));
    }

    #[test]
    fn the_future_wakes_when_completed() {
        struct Flag(std::sync::atomic::AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let done = Arc::new(Completion::default());
        let slot: Slot<&str, StoreError> = Arc::new(Mutex::new(None));
        let mut w = GroupedWrite {
            done: done.clone(),
            slot: slot.clone(),
        };
        assert!(Pin::new(&mut w).poll(&mut cx).is_pending());
        *slot.lock().unwrap() = Some(Ok("kept"));
        done.complete(Ok(()));
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        match Pin::new(&mut w).poll(&mut cx) {
            Poll::Ready(Ok(v)) => assert_eq!(v, "kept"),
            other => panic!("{:?}", other.map(|r| r.map_err(|e| e.to_string()))),
        }
    }
}
