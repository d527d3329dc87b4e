//! Idle-driven batching: a request's dataloaders call the upstream when the request can make no
//! more progress without them, not after a timer.
//!
//! async-graphql resolves one request as one future: sibling fields and list items are joined
//! inside it, not spawned. So when that future returns `Pending`, every resolver that could run
//! has run and is waiting, and every key they will ask for at this level has been asked for.
//! That moment (GraphQL-js's "tick", here made exact on a multi-threaded runtime) is when the
//! loaders' fetches start. A loader hands its fetch to [`IdleBatches::spawner`] instead of
//! spawning it; the fetch is parked until the request is idle, then started by
//! [`IdleBatches::drive`], which polls it beside the request. A fetch takes its loader's keys
//! when it starts, so everything asked for before the request went idle is in one batch,
//! however busy the machine is, and no level waits for a window to close.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;
use tracing::Instrument;

/// The fetches one request's loaders have asked to run, parked until the request is idle.
#[derive(Clone, Default)]
pub struct IdleBatches(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl IdleBatches {
    /// What the request's loaders are given in place of `tokio::spawn`. With traces on, a fetch
    /// runs in the span it was asked for in (the operation's), so its loader batch and upstream
    /// calls are the operation's children.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let parked = self.0.clone();
        move |fetch| {
            let fetch = if crate::telemetry::traces() {
                fetch.instrument(tracing::Span::current()).boxed()
            } else {
                fetch
            };
            parked.lock().unwrap_or_else(|e| e.into_inner()).push(fetch)
        }
    }

    /// Runs `request` (one GraphQL execution) to completion, starting the parked fetches
    /// each time it is idle. Fetches still running when it completes are dropped.
    pub fn drive<F: Future>(self, request: F) -> Drive<F> {
        Drive {
            request: Box::pin(request),
            parked: self,
            running: FuturesUnordered::new(),
            woken: Arc::default(),
        }
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A request driven with its loaders' fetches: see [`IdleBatches::drive`].
pub struct Drive<F> {
    request: Pin<Box<F>>,
    parked: IdleBatches,
    running: FuturesUnordered<BoxFuture<'static, ()>>,
    woken: Arc<WakeFlag>,
}

/// The request's waker: it notes that the request was woken, then wakes the task.
#[derive(Default)]
struct WakeFlag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake();
    }
}

impl<F: Future> Future for Drive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.woken.task.register(cx.waker());
        let waker = Waker::from(this.woken.clone());
        loop {
            this.woken.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(output) =
                this.request.as_mut().poll(&mut Context::from_waker(&waker))
            {
                return Poll::Ready(output);
            }
            if this.woken.woken.load(Ordering::SeqCst) {
                // Not idle: something in the request woke it while it ran (a join that yields
                // to be fair to its other futures, a cooperative budget used up, an answer that
                // just came). The task is already woken; more keys may come when it runs again.
                return Poll::Pending;
            }
            // Idle: nothing in the request can move until a fetch answers.
            let parked = this.parked.take();
            this.running.extend(parked);
            let mut answered = false;
            while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {
                answered = true;
            }
            // A fetch that answered has woken the fields waiting for it: run them now rather
            // than after a trip through the scheduler.
            if !answered {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;

    use async_graphql::dataloader::{DataLoader, Loader};
    use futures_util::future::join_all;

    use super::*;

    struct Counting(Arc<AtomicUsize>);

    impl Loader<u32> for Counting {
        type Value = u32;
        type Error = std::convert::Infallible;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Self::Error> {
            self.0.fetch_add(1, Ordering::SeqCst);
            // An answer that takes a trip through the runtime, as an upstream call does.
            tokio::task::yield_now().await;
            Ok(keys.iter().map(|k| (*k, k * 10)).collect())
        }
    }

    fn loader(batches: &IdleBatches, calls: &Arc<AtomicUsize>) -> DataLoader<Counting> {
        DataLoader::new(Counting(calls.clone()), batches.spawner()).delay(std::time::Duration::ZERO)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_asked_for_before_the_request_is_idle_are_one_batch_per_level() {
        let batches = IdleBatches::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let first = loader(&batches, &calls);
        let request = async {
            // Level one: 50 keys asked for by 50 concurrent "fields", some after a yield.
            let level_one = join_all((0..50u32).map(|k| {
                let first = &first;
                async move {
                    if k % 2 == 0 {
                        tokio::task::yield_now().await;
                    }
                    first.load_one(k).await.expect("infallible")
                }
            }))
            .await;
            // Level two depends on level one's answers.
            let level_two = join_all(
                level_one
                    .iter()
                    .map(|v| first.load_one(v.expect("loaded") + 1)),
            )
            .await;
            level_two.len()
        };
        assert_eq!(batches.clone().drive(request).await, 50);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one fetch per level");
    }

    #[tokio::test]
    async fn a_request_that_needs_no_fetch_completes_and_parks_nothing() {
        let batches = IdleBatches::default();
        assert_eq!(batches.clone().drive(async { 7 }).await, 7);
        assert!(batches.take().is_empty());
    }
}
