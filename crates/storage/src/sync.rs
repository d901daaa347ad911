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

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
