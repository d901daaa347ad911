//! The memory tier: decoded records of recently used keys, one concurrent map per physical db.
//!
//! Keys and values are copied on insert, so that a cached entry never pins a connection's read
//! buffer. Entries carry their last access time for OBJECT IDLETIME and, later, the evictor.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use strata_storage::Record;

use crate::KeyspaceOptions;

/// Bytes charged per entry beyond its key and value: map slot, record header, refcounts.
pub(crate) const ENTRY_OVERHEAD: usize = 96;

/// Which tier holds a key's current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// In memory, and on disk as always.
    Memory,
    /// On disk only.
    Disk,
    /// No such key.
    Absent,
}

struct Entry {
    rec: Record,
    /// Seconds since the tier started, at the last access.
    last_access: AtomicU32,
}

/// The memory tier.
pub struct HotTier {
    maps: Vec<DashMap<Bytes, Entry>>,
    bytes: AtomicUsize,
    budget: AtomicU64,
    max_object: AtomicU64,
    /// `hot-idle-seconds`; 0 disables idle eviction.
    idle: AtomicU64,
    epoch: Instant,
    /// Entries dropped by TIER DROP or eviction (INFO tiering).
    pub dropped: AtomicU64,
}

fn charge(key: &[u8], rec: &Record) -> usize {
    key.len() + rec.body.len() + ENTRY_OVERHEAD
}

impl HotTier {
    pub(crate) fn new(dbs: usize, opts: KeyspaceOptions) -> HotTier {
        HotTier {
            maps: (0..dbs).map(|_| DashMap::new()).collect(),
            bytes: AtomicUsize::new(0),
            budget: AtomicU64::new(opts.hot_memory),
            max_object: AtomicU64::new(opts.hot_max_object_size),
            idle: AtomicU64::new(opts.hot_idle_seconds),
            epoch: Instant::now(),
            dropped: AtomicU64::new(0),
        }
    }

    fn now_secs(&self) -> u32 {
        self.epoch.elapsed().as_secs() as u32
    }

    /// Sets the memory budget (`hot-memory`).
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
    }

    /// Sets the largest value cached whole (`hot-max-object-size`).
    pub fn set_max_object(&self, bytes: u64) {
        self.max_object.store(bytes, Ordering::Relaxed);
    }

    /// Sets `hot-idle-seconds`.
    pub fn set_idle_seconds(&self, secs: u64) {
        self.idle.store(secs, Ordering::Relaxed);
    }

    /// The memory budget of the tier.
    pub fn budget(&self) -> u64 {
        self.budget.load(Ordering::Relaxed)
    }

    /// `hot-idle-seconds`.
    pub fn idle_seconds(&self) -> u64 {
        self.idle.load(Ordering::Relaxed)
    }

    /// Bytes charged to the tier.
    pub fn used_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.maps.iter().map(DashMap::len).sum()
    }

    /// Whether the tier holds nothing.
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(DashMap::is_empty)
    }

    /// Reads an entry and marks it used.
    pub(crate) fn get(&self, phys: u16, key: &[u8]) -> Option<Record> {
        let e = self.maps.get(phys as usize)?.get(key)?;
        e.last_access.store(self.now_secs(), Ordering::Relaxed);
        Some(e.rec.clone())
    }

    /// Reads an entry without marking it used.
    pub(crate) fn peek(&self, phys: u16, key: &[u8]) -> Option<Record> {
        Some(self.maps.get(phys as usize)?.get(key)?.rec.clone())
    }

    /// Seconds since the entry was last used, if it is in memory.
    pub fn idle_secs(&self, phys: u16, key: &[u8]) -> Option<u32> {
        let e = self.maps.get(phys as usize)?.get(key)?;
        Some(
            self.now_secs()
                .saturating_sub(e.last_access.load(Ordering::Relaxed)),
        )
    }

    /// Caches `rec`, replacing any entry. The caller holds the key's lock and `rec` equals what
    /// is on disk. Values over `hot-max-object-size`, or a full budget, leave the key disk-only.
    pub(crate) fn put(&self, phys: u16, key: &[u8], rec: &Record) {
        let Some(map) = self.maps.get(phys as usize) else {
            return;
        };
        let cost = charge(key, rec);
        let fits = (rec.body.len() as u64) <= self.max_object.load(Ordering::Relaxed)
            && (self.bytes.load(Ordering::Relaxed) + cost) as u64
                <= self.budget.load(Ordering::Relaxed);
        if !fits {
            self.remove(phys, key);
            return;
        }
        let entry = Entry {
            rec: Record {
                kind: rec.kind,
                expire_ms: rec.expire_ms,
                body: Bytes::copy_from_slice(&rec.body),
            },
            last_access: AtomicU32::new(self.now_secs()),
        };
        self.bytes.fetch_add(cost, Ordering::Relaxed);
        if let Some(old) = map.insert(Bytes::copy_from_slice(key), entry) {
            self.bytes
                .fetch_sub(charge(key, &old.rec), Ordering::Relaxed);
        }
    }

    /// Drops one entry. Returns whether it was cached.
    pub(crate) fn remove(&self, phys: u16, key: &[u8]) -> bool {
        let Some(map) = self.maps.get(phys as usize) else {
            return false;
        };
        match map.remove(key) {
            Some((k, e)) => {
                self.bytes.fetch_sub(charge(&k, &e.rec), Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    pub(crate) fn clear_db(&self, phys: u16) -> usize {
        let Some(map) = self.maps.get(phys as usize) else {
            return 0;
        };
        let mut n = 0;
        map.retain(|k, e| {
            self.bytes.fetch_sub(charge(k, &e.rec), Ordering::Relaxed);
            n += 1;
            false
        });
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    pub(crate) fn clear_all(&self) -> usize {
        (0..self.maps.len() as u16).map(|p| self.clear_db(p)).sum()
    }
}
