//! The WAL sync policy (`appendfsync`) and group commit.
//!
//! # Mechanics
//! Every commit appends its batch to RocksDB's in-process WAL buffer and bumps `written`. Before a
//! reply to a write goes out, the connection writes that buffer to the OS up to its sequence
//! (`flushed`; one `write(2)` covers every commit before it). One thread, the syncer, fsyncs the
//! WAL: under `always` when a writer about to wait asks for it (and every 100 ms for writes
//! nobody waits for), under `everysec` once a second. Each fsync covers every batch written
//! before it started, so any number of waiting writers share one fsync (group commit). Waiters
//! watch `synced`.
//!
//! # When the group fsync starts
//! Under `always` the syncer does not start the fsync the moment the first writer asks: it waits
//! until the request threads have nothing left to run ([`Activity`]), at most [`IDLE_WAIT_CAP`].
//! Every request already read off a socket has then committed, so one fsync covers all of them,
//! as Redis fsyncs once per turn of its event loop after serving every ready client. Starting at
//! once splits the clients into waves that alternate between fsyncs, each covering a fraction of
//! them (measured with 50 clients: 18 writes per fsync at once, 45-49 this way).
//!
//! Tried and not kept: the last request thread to go idle running the fsync itself, before it
//! parks (no hand-off to the syncer and back). It measured the same as waiting here, and it
//! blocks an async worker on disk.

use std::cell::Cell;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// When the WAL is fsynced, named as Redis names `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Before every reply to a write (group commit).
    Always,
    /// At least once a second.
    EverySec,
    /// Never explicitly; the OS writes back the page cache.
    No,
}

impl FsyncPolicy {
    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

impl FromStr for FsyncPolicy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(()),
        }
    }
}

/// Shared state between committers, the syncer thread and async waiters.
pub(crate) struct WalSync {
    policy: AtomicU8,
    /// Sequence of the last batch appended to the WAL.
    pub(crate) written: AtomicU64,
    /// Sequence of the last batch known to be written out of RocksDB's WAL buffer to the OS.
    flushed: AtomicU64,
    /// Sequence of the last batch known to be on stable storage.
    synced_tx: watch::Sender<u64>,
    /// Wakes the syncer early (a writer waiting under `always`, a policy change, shutdown).
    wake: Mutex<bool>,
    cv: Condvar,
    /// fsyncs performed, for INFO.
    pub(crate) fsyncs: AtomicU64,
}

impl WalSync {
    pub(crate) fn new(policy: FsyncPolicy) -> Arc<WalSync> {
        Arc::new(WalSync {
            policy: AtomicU8::new(policy as u8),
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            synced_tx: watch::channel(0).0,
            wake: Mutex::new(false),
            cv: Condvar::new(),
            fsyncs: AtomicU64::new(0),
        })
    }

    pub(crate) fn policy(&self) -> FsyncPolicy {
        match self.policy.load(Ordering::Relaxed) {
            x if x == FsyncPolicy::Always as u8 => FsyncPolicy::Always,
            x if x == FsyncPolicy::No as u8 => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }

    pub(crate) fn set_policy(&self, p: FsyncPolicy) {
        self.policy.store(p as u8, Ordering::Relaxed);
        self.poke();
    }

    /// Records a committed batch and returns its sequence. Does not wake the syncer: a writer
    /// that waits for the fsync asks for it ([`Storage::request_sync`]) once it has let the
    /// other ready connections commit too, so one fsync covers them all; the syncer's 100 ms
    /// tick covers writes nobody waits for.
    ///
    /// [`Storage::request_sync`]: crate::Storage::request_sync
    pub(crate) fn note_write(&self) -> u64 {
        self.written.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub(crate) fn poke(&self) {
        *self.wake.lock() = true;
        self.cv.notify_one();
    }

    pub(crate) fn synced(&self) -> u64 {
        *self.synced_tx.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.synced_tx.subscribe()
    }

    /// Blocks the syncer until there is work or `timeout` passes.
    pub(crate) fn wait(&self, timeout: Duration) {
        let mut woken = self.wake.lock();
        if !*woken {
            self.cv.wait_for(&mut woken, timeout);
        }
        *woken = false;
    }

    pub(crate) fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_flushed(&self, seq: u64) {
        self.flushed.fetch_max(seq, Ordering::AcqRel);
    }

    pub(crate) fn mark_synced(&self, seq: u64) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.synced_tx.send_if_modified(|s| {
            if seq > *s {
                *s = seq;
                true
            } else {
                false
            }
        });
    }
}

/// The longest the syncer waits for the request threads to go idle before an `always` fsync.
/// Bounds the added latency when they never do (a saturated server).
pub const IDLE_WAIT_CAP: Duration = Duration::from_millis(1);

thread_local! {
    /// Whether this thread counts as busy in the [`Activity`] it reports to. Threads start
    /// uncounted, so a park before any unpark changes nothing.
    static COUNTED_BUSY: Cell<bool> = const { Cell::new(false) };
}

/// How many request threads are running tasks, which decides when an `always` fsync starts (see
/// the module notes). The server reports its runtime's workers through [`Activity::unparked`]
/// and [`Activity::parked`]. Durability never depends on it: when the reports stop, a waiter
/// waits at most [`IDLE_WAIT_CAP`] longer.
#[derive(Clone, Default)]
pub struct Activity(Arc<ActivityState>);

#[derive(Default)]
struct ActivityState {
    busy: AtomicUsize,
    /// Set while the syncer waits for `busy` to reach zero, so that only then does a parking
    /// thread take the lock to wake it.
    waiting: AtomicBool,
    lock: Mutex<()>,
    idle: Condvar,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("busy", &self.0.busy.load(Ordering::Relaxed))
            .finish()
    }
}

impl Activity {
    /// The calling thread starts running tasks.
    pub fn unparked(&self) {
        if !COUNTED_BUSY.replace(true) {
            self.0.busy.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The calling thread has run out of tasks.
    pub fn parked(&self) {
        let s = &*self.0;
        if COUNTED_BUSY.replace(false)
            && s.busy.fetch_sub(1, Ordering::SeqCst) == 1
            && s.waiting.load(Ordering::SeqCst)
        {
            let _g = s.lock.lock();
            s.idle.notify_one();
        }
    }

    /// Threads counted as running tasks.
    pub fn busy(&self) -> usize {
        self.0.busy.load(Ordering::SeqCst)
    }

    /// Blocks until no thread is busy, or `cap` passes.
    pub(crate) fn wait_idle(&self, cap: Duration) {
        let s = &*self.0;
        if s.busy.load(Ordering::SeqCst) == 0 {
            return;
        }
        let deadline = Instant::now() + cap;
        let mut g = s.lock.lock();
        s.waiting.store(true, Ordering::SeqCst);
        while s.busy.load(Ordering::SeqCst) > 0 {
            if s.idle.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
        s.waiting.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn idle_when_no_thread_reported_work() {
        let a = Activity::default();
        // A park before any unpark (a worker's first report) must not count below zero.
        a.parked();
        let t = Instant::now();
        a.wait_idle(Duration::from_secs(10));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn waits_for_the_last_busy_thread_to_park() {
        let a = Activity::default();
        let parked = Arc::new(AtomicBool::new(false));
        let (started, go) = (mpsc::channel(), mpsc::channel::<()>());
        let worker = {
            let (a, parked, started) = (a.clone(), parked.clone(), started.0);
            std::thread::spawn(move || {
                a.unparked();
                a.unparked(); // counted once per thread
                started.send(()).expect("send");
                go.1.recv().expect("recv");
                parked.store(true, Ordering::SeqCst);
                a.parked();
            })
        };
        started.1.recv().expect("started");
        let waiter = {
            let a = a.clone();
            std::thread::spawn(move || a.wait_idle(Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished(), "returned while a thread was busy");
        go.0.send(()).expect("go");
        let t = Instant::now();
        waiter.join().expect("waiter");
        assert!(parked.load(Ordering::SeqCst));
        assert!(t.elapsed() < Duration::from_secs(20), "missed the park");
        worker.join().expect("worker");
    }

    #[test]
    fn a_thread_that_never_parks_delays_the_fsync_by_the_cap_only() {
        let a = Activity::default();
        let (tx, rx) = mpsc::channel::<()>();
        let busy = {
            let a = a.clone();
            std::thread::spawn(move || {
                a.unparked();
                let _ = rx.recv();
            })
        };
        while a.0.busy.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let t = Instant::now();
        a.wait_idle(Duration::from_millis(30));
        assert!(t.elapsed() >= Duration::from_millis(30));
        drop(tx);
        busy.join().expect("busy");
    }
}
