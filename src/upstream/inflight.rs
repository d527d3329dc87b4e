//! Identical reads in flight are made once: a `GET` that is already on its way for the same
//! caller, to the same URL, is joined instead of sent again (as Tailcall does for concurrent
//! GraphQL requests that need the same REST call).
//!
//! The rules that keep this invisible to callers:
//! - **Never across callers.** The key is a hash of the `Authorization` sent upstream, the
//!   client's scope (a customer session's merchant and customer) and the full URL with its
//!   query; two callers share a call only when the vault would answer them alike.
//! - **No cache.** An entry lives while its call is in flight; the next read after it has
//!   answered is a new call.
//! - **A request reads its writes.** Every completed write (any method but `GET`) takes a
//!   number from one counter, and each request remembers the number of its last write. A read
//!   joins a call only if that call started after the request's last write completed, so a read
//!   never returns what the vault said before the request's own change.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::error::UpstreamError;

/// A read's answer: the body of a successful response, or why there is none.
pub type Answer = Result<Bytes, UpstreamError>;

/// Which call: caller, scope and URL, hashed.
pub type CallKey = [u8; 32];

/// The reads in flight of every request of this process.
#[derive(Default)]
pub struct InFlight {
    /// Bumped by every completed write.
    epoch: AtomicU64,
    next_id: AtomicU64,
    calls: Mutex<HashMap<CallKey, Call>>,
}

struct Call {
    id: u64,
    /// The epoch when the call was sent.
    started: u64,
    answer: Shared<BoxFuture<'static, Answer>>,
}

/// Removes its call's entry when the request that sent it is done with it (answered or
/// dropped): later reads make a new call, those that joined still get this one's answer.
struct Sent<'a> {
    inflight: &'a InFlight,
    key: CallKey,
    id: u64,
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        let mut calls = self.inflight.lock();
        if calls.get(&self.key).is_some_and(|call| call.id == self.id) {
            calls.remove(&self.key);
        }
    }
}

impl InFlight {
    /// Notes a completed write; the number a request keeps to read its writes.
    pub fn write_done(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The answer of the call `key`: joined if one is in flight that started at or after
    /// `last_write` (the caller's last completed write), else made with `send`; `joined` is
    /// called as soon as a call is joined.
    pub async fn read<F>(
        &self,
        key: CallKey,
        last_write: u64,
        send: F,
        joined: impl FnOnce(),
    ) -> Answer
    where
        F: Future<Output = Answer> + Send + 'static,
    {
        let (answer, sent) = {
            let mut calls = self.lock();
            match calls.get(&key) {
                Some(call) if call.started >= last_write => (call.answer.clone(), None),
                _ => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let answer = send.boxed().shared();
                    let call = Call {
                        id,
                        started: self.epoch.load(Ordering::SeqCst),
                        answer: answer.clone(),
                    };
                    // An older call that this request may not join is replaced: it still
                    // answers those who joined it.
                    calls.insert(key, call);
                    let sent = Sent {
                        inflight: self,
                        key,
                        id,
                    };
                    (answer, Some(sent))
                }
            }
        };
        if sent.is_none() {
            joined();
        }
        let answer = answer.await;
        drop(sent);
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallKey, Call>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use std::sync::Arc;

    use tokio::sync::oneshot;

    use super::*;

    /// A call that answers when told to, counting how often it was made.
    fn call(
        made: &Arc<AtomicUsize>,
    ) -> (oneshot::Sender<()>, impl Future<Output = Answer> + use<>) {
        let (release, released) = oneshot::channel();
        let made = made.clone();
        made.fetch_add(1, Ordering::SeqCst);
        let answer = async move {
            let _ = released.await;
            Ok(Bytes::from_static(b"answer"))
        };
        (release, answer)
    }

    #[tokio::test]
    async fn a_read_in_flight_is_joined_and_forgotten_once_answered() {
        let inflight = InFlight::default();
        let made = Arc::new(AtomicUsize::new(0));
        let joins = AtomicUsize::new(0);
        let (release, first) = call(&made);
        let leader = inflight.read([1; 32], 0, first, || panic!("the first call is sent"));
        let follower = async {
            // Joins: the follower's own call is never made.
            let (_, second) = call(&Arc::new(AtomicUsize::new(0)));
            let joined = inflight.read([1; 32], 0, second, || {
                joins.fetch_add(1, Ordering::SeqCst);
            });
            let _ = release.send(());
            joined.await
        };
        let (a, b) = futures_util::join!(leader, follower);
        assert_eq!(a.unwrap(), Bytes::from_static(b"answer"));
        assert_eq!(b.unwrap(), Bytes::from_static(b"answer"));
        assert_eq!(joins.load(Ordering::SeqCst), 1);
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(inflight.lock().is_empty(), "no cache after the answer");
    }

    #[tokio::test]
    async fn a_read_after_its_own_write_never_joins_an_older_call() {
        let inflight = InFlight::default();
        let (release, first) = call(&Arc::new(AtomicUsize::new(0)));
        let older = inflight.read([1; 32], 0, first, || {});
        let after_write = async {
            let last_write = inflight.write_done();
            let fresh = async { Ok(Bytes::from_static(b"fresh")) };
            let answer = inflight
                .read([1; 32], last_write, fresh, || {
                    panic!("an older call is not joined")
                })
                .await;
            let _ = release.send(());
            answer
        };
        let (old, new) = futures_util::join!(older, after_write);
        assert_eq!(old.unwrap(), Bytes::from_static(b"answer"));
        assert_eq!(new.unwrap(), Bytes::from_static(b"fresh"));
    }

    #[tokio::test]
    async fn different_keys_are_different_calls() {
        let inflight = InFlight::default();
        let (release, first) = call(&Arc::new(AtomicUsize::new(0)));
        let one = inflight.read([1; 32], 0, first, || {});
        let other = async {
            let other = async { Ok(Bytes::from_static(b"other")) };
            let answer = inflight
                .read([2; 32], 0, other, || panic!("another key is not joined"))
                .await;
            let _ = release.send(());
            answer
        };
        let (_, answer) = futures_util::join!(one, other);
        assert_eq!(answer.unwrap(), Bytes::from_static(b"other"));
    }
}
