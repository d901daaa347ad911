//! Key readiness: clients waiting for keys to change (blocked BLPOP-style commands, and later
//! WATCH).
//!
//! A waiter registers interest in `(logical db, key)` pairs. After a [`crate::Txn`] commits,
//! every key it wrote that has waiters is signalled. With nobody waiting the check is one atomic
//! load.
//!
//! Per key, waiters queue in registration order. A signal wakes every *shared* waiter (a WATCH:
//! "this key changed") but only the first *exclusive* one (a blocked pop: it may consume what
//! the write produced). The woken client retries its command; if that consumes the data, its
//! own commit signals the key again and the next exclusive waiter gets its turn, so clients are
//! served in the order they blocked, as in Redis. A woken client that finds nothing keeps its
//! place. When an exclusive waiter at the head of a queue leaves (served from another key, timed
//! out, unblocked, disconnected), the next one is woken, so a signal is never lost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// One waiting client.
#[derive(Debug)]
pub struct Waiter {
    /// Client id, for introspection.
    pub id: u64,
    exclusive: bool,
    fired: AtomicBool,
    notify: Notify,
}

impl Waiter {
    /// A waiter; `exclusive` for clients that consume what they wait for (blocked pops).
    pub fn new(id: u64, exclusive: bool) -> Arc<Waiter> {
        Arc::new(Waiter {
            id,
            exclusive,
            fired: AtomicBool::new(false),
            notify: Notify::new(),
        })
    }

    /// Completes at the next signal (or at once if one arrived since the last wait).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Wakes the waiter as a signal would (used to make it retry right after registering).
    pub fn wake(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Whether any signal arrived since the last call (clears the flag).
    pub fn take_fired(&self) -> bool {
        self.fired.swap(false, Ordering::SeqCst)
    }
}

/// Waiters by `(logical db, key)`, in registration order.
type Queues = HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>;

/// The registry of waiters by key.
#[derive(Debug, Default)]
pub struct Ready {
    /// Registrations (waiter-key pairs); signalling is skipped while it is zero.
    count: AtomicUsize,
    map: Mutex<Queues>,
}

impl Ready {
    /// Whether anybody waits on any key.
    pub fn is_idle(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }

    /// Number of distinct waiters (for INFO's `blocked_clients`-like counts).
    pub fn waiters(&self) -> usize {
        let map = self.map.lock();
        let mut ids: Vec<*const Waiter> = map
            .values()
            .flat_map(|q| q.iter().map(Arc::as_ptr))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Queues `w` on every `(db, key)` (duplicates are queued once).
    pub fn register(&self, w: &Arc<Waiter>, keys: &[(usize, Bytes)]) {
        let mut map = self.map.lock();
        for (db, key) in keys {
            let q = map.entry((*db, key.clone())).or_default();
            if !q.iter().any(|x| Arc::ptr_eq(x, w)) {
                q.push_back(w.clone());
                self.count.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// Removes `w` from the queues of `keys`. Where it was the first exclusive waiter, the next
    /// exclusive waiter is woken, in case the data it was woken for is still there.
    pub fn unregister(&self, w: &Arc<Waiter>, keys: &[(usize, Bytes)]) {
        let mut map = self.map.lock();
        for (db, key) in keys {
            let k = (*db, key.clone());
            let Some(q) = map.get_mut(&k) else {
                continue;
            };
            let Some(pos) = q.iter().position(|x| Arc::ptr_eq(x, w)) else {
                continue;
            };
            let was_head = w.exclusive && q.iter().position(|x| x.exclusive) == Some(pos);
            q.remove(pos);
            self.count.fetch_sub(1, Ordering::SeqCst);
            if was_head {
                if let Some(next) = q.iter().find(|x| x.exclusive) {
                    next.wake();
                }
            }
            if q.is_empty() {
                map.remove(&k);
            }
        }
    }

    /// Signals that `key` of `db` changed.
    pub fn signal(&self, db: usize, key: &[u8]) {
        if self.is_idle() {
            return;
        }
        let map = self.map.lock();
        let Some(q) = map.get(&(db, Bytes::copy_from_slice(key))) else {
            return;
        };
        let mut woke_exclusive = false;
        for w in q {
            if w.exclusive {
                if !woke_exclusive {
                    w.wake();
                    woke_exclusive = true;
                }
            } else {
                w.wake();
            }
        }
    }

    /// The keys of `db` (or of every db) that anybody waits on.
    pub fn keys(&self, db: Option<usize>) -> Vec<(usize, Bytes)> {
        if self.is_idle() {
            return Vec::new();
        }
        self.map
            .lock()
            .keys()
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .cloned()
            .collect()
    }

    /// Removes every waiter of client `id` (a closed connection's WATCHes).
    pub fn forget(&self, id: u64) {
        if self.is_idle() {
            return;
        }
        let mut map = self.map.lock();
        map.retain(|_, q| {
            let before = q.len();
            q.retain(|w| w.id != id || w.exclusive);
            self.count.fetch_sub(before - q.len(), Ordering::SeqCst);
            !q.is_empty()
        });
    }

    /// Signals every key of `db` (or of every db): FLUSHDB, SWAPDB and the like.
    pub fn signal_all(&self, db: Option<usize>) {
        if self.is_idle() {
            return;
        }
        let keys: Vec<(usize, Bytes)> = self
            .map
            .lock()
            .keys()
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .cloned()
            .collect();
        for (d, k) in keys {
            self.signal(d, &k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> (usize, Bytes) {
        (0, Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn fifo_per_key_and_hand_over() {
        let r = Ready::default();
        assert!(r.is_idle());
        let a = Waiter::new(1, true);
        let b = Waiter::new(2, true);
        let w = Waiter::new(3, false);
        r.register(&a, &[k("x"), k("x")]);
        r.register(&b, &[k("x"), k("y")]);
        r.register(&w, &[k("x")]);
        assert_eq!(r.waiters(), 3);
        r.signal(0, b"x");
        assert!(a.take_fired());
        assert!(!b.take_fired());
        assert!(w.take_fired());
        r.signal(0, b"y");
        assert!(b.take_fired());
        r.unregister(&a, &[k("x")]);
        assert!(b.take_fired(), "the next exclusive waiter takes over");
        r.unregister(&b, &[k("x"), k("y")]);
        r.unregister(&w, &[k("x")]);
        assert!(r.is_idle());
        r.signal(0, b"x");
    }

    #[test]
    fn forget_removes_a_clients_shared_waiters_only() {
        let r = Ready::default();
        let watch = Waiter::new(7, false);
        let watch2 = Waiter::new(7, false);
        let other = Waiter::new(8, false);
        let pop = Waiter::new(7, true);
        r.register(&watch, &[k("x"), k("y")]);
        r.register(&watch2, &[k("x")]);
        r.register(&other, &[k("x")]);
        r.register(&pop, &[k("z")]);
        assert_eq!(r.keys(None).len(), 3);
        r.forget(7);
        assert_eq!(r.waiters(), 2);
        assert_eq!(
            r.keys(Some(0)).len(),
            2,
            "y is gone, z keeps its blocked pop"
        );
        r.unregister(&other, &[k("x")]);
        r.unregister(&pop, &[k("z")]);
        assert!(r.is_idle(), "counts stay exact");
        assert!(r.keys(None).is_empty());
    }
}
