//! Grouped writes under way: a caller either blocks until its group commit is durable
//! ([`GroupedWrite::wait`]) or awaits it from an async task without holding a thread
//! (`GroupedWrite` is a `Future`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use crate::{Result, StoreError};

/// An outcome handed once from one thread to whoever waits for it: a thread (condition
/// variable, [`Completion::wait`]) or an async task (waker, [`Completion::poll`]). The group
/// commit tells each grouped write how its commit went with one; the settlement writer on
/// PostgreSQL (in the service layer) answers its callers with one.
pub struct Completion<T = Result<()>> {
    state: Mutex<CompletionState<T>>,
    ready: Condvar,
}

struct CompletionState<T> {
    outcome: Option<T>,
    waker: Option<Waker>,
}

impl<T> Default for Completion<T> {
    fn default() -> Self {
        Completion {
            state: Mutex::new(CompletionState {
                outcome: None,
                waker: None,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<T> Completion<T> {
    /// Records the outcome and wakes the waiter (only the first outcome counts).
    pub fn complete(&self, outcome: T) {
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

    /// Blocks until the outcome is there and takes it (`None`: a lock was poisoned).
    pub fn wait(&self) -> Option<T> {
        let mut s = self.state.lock().ok()?;
        loop {
            if let Some(o) = s.outcome.take() {
                return Some(o);
            }
            s = self.ready.wait(s).ok()?;
        }
    }

    /// Takes the outcome if it is there, or keeps the task's waker to be woken by
    /// [`Completion::complete`] (`Ready(None)`: a lock was poisoned).
    pub fn poll(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Ok(mut s) = self.state.lock() else {
            return Poll::Ready(None);
        };
        match s.outcome.take() {
            Some(o) => Poll::Ready(Some(o)),
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
        let outcome = self.done.wait().unwrap_or_else(|| Err(lost()));
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
            Poll::Ready(outcome) => {
                Poll::Ready(self.finish(outcome.unwrap_or_else(|| Err(lost()))))
            }
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
