//! The keyspace: the memory tier in front of storage, per-key locking, expiry and accounting.
//!
//! Memory is a cache of disk, never a second truth (design invariant 2). Every change goes
//! through a [`Txn`]: it holds the locks of the keys it touches, reads through the memory tier,
//! builds one storage batch, commits it, and only then updates memory. A reader therefore never
//! sees memory ahead of disk, and dropping the memory tier at any moment changes no reply.

mod cap;
mod coll;
mod events;
mod evict;
mod group;
mod hints;
mod hot;
mod keyed;
mod ready;
mod txn;
mod warm;

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use smallvec::SmallVec;
use strata_storage::{Prev, Storage};

pub use cap::{CapOutcome, CapState, EvictionPolicy, OverCap};
pub use coll::{Coll, CollRead, ElemSampler, SAMPLE_WALK};
use events::class;
pub use events::{class as event_class, Events, Sink as EventSink};
pub use evict::{EvictOutcome, EvictState};
pub use group::{commit_worker_group, commit_worker_group_if_waited, Group, Ticket, MAX_MEMBERS};
pub use hot::{HotTier, Tier};
pub use ready::{Ready, Waiter};
pub use strata_storage::{
    list_index, now_ms, score_bits, score_from_bits, CollHeader, Kind, Record, StorageError,
    LIST_MID,
};
pub use txn::{Meta, Txn};
pub use warm::WarmOutcome;

/// The stripe locks a transaction holds: inline for the few keys most commands name, so that
/// taking them allocates nothing.
pub(crate) type Guards<'a> = SmallVec<[MutexGuard<'a, ()>; 4]>;

/// Stripes `idx` in the order every multi-key command locks them: ascending, each once.
fn lock_order(idx: impl Iterator<Item = usize>) -> SmallVec<[usize; 8]> {
    let mut idx: SmallVec<[usize; 8]> = idx.collect();
    idx.sort_unstable();
    idx.dedup();
    idx
}

/// Number of lock stripes. Keys hash to stripes; a command locks its stripes in ascending order,
/// so two multi-key commands can never deadlock. A pipeline group takes a key whose stripe it
/// already holds for one an earlier member may have written, and then searches its states for
/// it: with 4,096 stripes a group of 64 MSETs of 10 keys met a taken stripe for one key in 7-15,
/// and those searches were a third of an MSET at `-P 16`. A stripe is a byte.
pub(crate) const STRIPES: usize = 1 << 16;

thread_local! {
    /// The keyspace (by address) whose gate this thread holds exclusively through
    /// [`Keyspace::isolated`] (0: none). Its transactions then take no locks: EXEC runs its
    /// commands synchronously on one thread while every other command waits.
    static ISOLATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counters shown by INFO.
#[derive(Debug, Default)]
pub struct KeyspaceStats {
    /// Reads that found their key (Redis `keyspace_hits`).
    pub hits: AtomicU64,
    /// Reads that did not (Redis `keyspace_misses`).
    pub misses: AtomicU64,
    /// Keys removed because their TTL passed (Redis `expired_keys`).
    pub expired: AtomicU64,
    /// Reads served from memory.
    pub hot_hits: AtomicU64,
    /// Reads that missed memory and went to disk.
    pub cold_reads: AtomicU64,
    /// Keys removed from both tiers by the data cap (Redis `evicted_keys`).
    pub evicted: AtomicU64,
}

/// Tunables of the keyspace.
#[derive(Debug, Clone)]
pub struct KeyspaceOptions {
    /// Memory-tier byte budget; the evictor keeps the tier under it (see `evict`).
    pub hot_memory: u64,
    /// Values larger than this are served from disk and never cached whole.
    pub hot_max_object_size: u64,
    /// Entries unused this long leave memory (0: only under memory pressure).
    pub hot_idle_seconds: u64,
}

impl Default for KeyspaceOptions {
    fn default() -> Self {
        KeyspaceOptions {
            hot_memory: 256 << 20,
            hot_max_object_size: 1 << 20,
            hot_idle_seconds: 0,
        }
    }
}

/// The shared keyspace of the server.
pub struct Keyspace {
    storage: Arc<Storage>,
    hot: HotTier,
    stripes: Box<[Mutex<()>]>,
    /// Held shared by every command, exclusively by FLUSHDB, FLUSHALL and SWAPDB.
    gate: RwLock<()>,
    /// Keys come from clients: a keyed hash (random per process) keeps stripes and the memory
    /// tier's shards balanced whatever keys they choose; aHash costs a fraction of SipHash.
    hasher: ahash::RandomState,
    /// INFO counters.
    pub stats: KeyspaceStats,
    /// The data cap and its policy.
    pub(crate) cap: CapState,
    /// The hot-tier evictor's state between passes.
    pub(crate) evictor: EvictState,
    /// Clients waiting for keys to change (blocked pops).
    ready: Ready,
    /// Keyspace event flags and sink (`notify-keyspace-events`).
    events: Events,
    /// Pop counts and samplers per collection (speed only).
    hints: hints::Hints,
}

/// An exclusive hold on the whole keyspace.
pub struct Exclusive<'a> {
    ks: &'a Keyspace,
    /// None when this thread already holds the keyspace (a FLUSHALL inside EXEC).
    _gate: Option<RwLockWriteGuard<'a, ()>>,
}

/// This thread's exclusive hold on the whole keyspace, under which its own transactions take
/// no locks (MULTI/EXEC). Never held across an await.
pub struct Isolated<'a> {
    _ex: Exclusive<'a>,
    prev: usize,
}

impl Drop for Isolated<'_> {
    fn drop(&mut self) {
        ISOLATED.with(|c| c.set(self.prev));
    }
}

/// Errors of keyspace operations.
pub type Result<T> = std::result::Result<T, StorageError>;

impl Keyspace {
    /// Wraps an open storage. Loads nothing: the memory tier starts empty.
    pub fn new(storage: Arc<Storage>, opts: KeyspaceOptions) -> Arc<Keyspace> {
        let dbs = storage.databases();
        let hot = HotTier::new(dbs, opts);
        for phys in 0..dbs as u16 {
            // The counters are exact; the seek makes sure, once per db, at start-up.
            if storage.key_count(phys) == 0
                && matches!(storage.key_at_or_after(phys, b""), Ok(None))
            {
                hot.set_complete(phys);
            }
        }
        Arc::new(Keyspace {
            hot,
            storage,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            gate: RwLock::new(()),
            hasher: Default::default(),
            stats: KeyspaceStats::default(),
            cap: CapState::default(),
            evictor: EvictState::default(),
            ready: Ready::default(),
            events: Events::default(),
            hints: hints::Hints::default(),
        })
    }

    /// Background compactions of drained collections' ranges (INFO `collection_compactions`).
    pub fn collection_compactions(&self) -> u64 {
        self.hints.compactions.load(Ordering::Relaxed)
    }

    /// The storage underneath.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// The registry of clients waiting for keys to change.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// Keyspace events: enabled classes and the sink that publishes them.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The memory tier.
    pub fn hot(&self) -> &HotTier {
        &self.hot
    }

    /// Number of logical databases.
    pub fn databases(&self) -> usize {
        self.storage.databases()
    }

    fn stripe(&self, phys: u16, key: &[u8]) -> usize {
        let mut h = self.hasher.build_hasher();
        phys.hash(&mut h);
        key.hash(&mut h);
        (h.finish() as usize) % STRIPES
    }

    /// Locks `keys` (pairs of logical db and key) for one atomic command. Out-of-range dbs lock
    /// nothing; the commands check the index first.
    pub fn txn<'a>(&'a self, keys: &[(usize, &[u8])]) -> Txn<'a> {
        if self.is_isolated() {
            return Txn::new(self, None, Guards::new());
        }
        self.commit_open();
        let gate = self.gate.read();
        let idx = lock_order(
            keys.iter()
                .filter_map(|&(db, k)| self.storage.phys(db).map(|p| self.stripe(p, k))),
        );
        let guards: Guards<'a> = idx.iter().map(|&i| self.stripes[i].lock()).collect();
        Txn::new(self, Some(gate), guards)
    }

    /// Stops every other command until the guard drops.
    pub fn exclusive(&self) -> Exclusive<'_> {
        Exclusive {
            ks: self,
            _gate: (!self.is_isolated()).then(|| {
                self.commit_open();
                self.gate.write()
            }),
        }
    }

    /// Holds the keyspace exclusively for this thread until the guard drops; meanwhile this
    /// thread's transactions take no locks (EXEC).
    pub fn isolated(&self) -> Isolated<'_> {
        let ex = self.exclusive();
        let prev = ISOLATED.with(|c| c.replace(self as *const Keyspace as usize));
        Isolated { _ex: ex, prev }
    }

    /// Whether this thread holds the keyspace through [`Keyspace::isolated`].
    fn is_isolated(&self) -> bool {
        ISOLATED.with(|c| c.get()) == self as *const Keyspace as usize
    }

    /// The shared gate and one stripe, or nothing when this thread is isolated.
    fn lock_one(&self, phys: u16, key: &[u8]) -> Option<(Gate<'_>, MutexGuard<'_, ()>)> {
        if self.is_isolated() {
            return None;
        }
        self.commit_open();
        let g = self.gate.read();
        Some((g, self.stripes[self.stripe(phys, key)].lock()))
    }

    /// Answers reads of `keys` as [`Txn::lookup`] would (hits and misses counted), from memory
    /// alone and without a transaction, when it can: each key's entry is in memory and live, or
    /// the tier is complete and has none. None means "take a Txn": this thread is isolated, the
    /// gate or one of the keys' stripes is held (a writer between its storage write and its
    /// memory update, or this connection's own pipeline group, whose pending writes memory does
    /// not show yet), an entry has expired (removing it is a write), a key is only on disk, or a
    /// miss would raise a keymiss event. All the keys' stripes are taken together for the read,
    /// so that no reader sees half of a multi-key write; only trying to take them keeps a
    /// connection from waiting on its own group.
    pub fn lookup_in_memory(
        &self,
        db: usize,
        keys: &[Bytes],
    ) -> Option<SmallVec<[Option<Record>; 1]>> {
        if self.is_isolated() {
            return None;
        }
        let _gate = self.gate.try_read()?;
        let phys = self.storage.phys(db)?;
        let _locks: Guards<'_> = match keys {
            [key] => std::iter::once(self.stripes[self.stripe(phys, key)].try_lock()?).collect(),
            _ => lock_order(keys.iter().map(|k| self.stripe(phys, k)))
                .iter()
                .map(|&i| self.stripes[i].try_lock())
                .collect::<Option<_>>()?,
        };
        // The clock only for entries with an expiry: most have none.
        let mut now = None;
        let mut out = SmallVec::with_capacity(keys.len());
        let mut hits = 0;
        for key in keys {
            match self.hot.get(phys, key) {
                Some(rec) if rec.expire_ms == 0 || live(&rec, *now.get_or_insert_with(now_ms)) => {
                    hits += 1;
                    out.push(Some(rec));
                }
                None if self.hot.is_complete(phys) && !self.events.enabled(class::KEY_MISS) => {
                    out.push(None)
                }
                _ => return None,
            }
        }
        let stats = &self.stats;
        stats.hot_hits.fetch_add(hits, Ordering::Relaxed);
        stats.hits.fetch_add(hits, Ordering::Relaxed);
        stats
            .misses
            .fetch_add(keys.len() as u64 - hits, Ordering::Relaxed);
        Some(out)
    }

    /// Exact key count of logical database `db` (O(1)).
    pub fn dbsize(&self, db: usize) -> u64 {
        self.storage
            .phys(db)
            .map_or(0, |p| self.storage.key_count(p))
    }

    /// Exact logical bytes of logical database `db` (O(1)).
    pub fn data_bytes(&self, db: usize) -> u64 {
        self.storage
            .phys(db)
            .map_or(0, |p| self.storage.data_bytes(p))
    }

    /// Where a key's current value is held, without loading it.
    pub fn tier_of(&self, db: usize, key: &[u8]) -> Result<Tier> {
        let Some(phys) = self.storage.phys(db) else {
            return Ok(Tier::Absent);
        };
        let _locks = self.lock_one(phys, key);
        let now = now_ms();
        if let Some(rec) = self.hot.peek(phys, key) {
            return Ok(if live(&rec, now) {
                Tier::Memory
            } else {
                Tier::Absent
            });
        }
        Ok(match self.storage.get(phys, key)? {
            Some(rec) if live(&rec, now) => Tier::Disk,
            _ => Tier::Absent,
        })
    }

    /// Reads a key without marking it used or loading it into memory (Redis's `LOOKUP_NOTOUCH`),
    /// for introspection commands. Disk is authoritative (memory is never ahead of it), and one
    /// record read is atomic, so no lock is needed. Counts a keyspace hit or miss.
    pub fn peek(&self, db: usize, key: &[u8]) -> Result<Option<Record>> {
        let rec = match self.storage.phys(db) {
            Some(phys) => self.storage.get(phys, key)?.filter(|r| live(r, now_ms())),
            None => None,
        };
        let c = if rec.is_some() {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(rec)
    }

    /// Bytes a key takes in each tier, without loading it: `(tier, memory bytes, disk bytes)`.
    /// Disk bytes are the encoded records (metadata and ttl entry), before compression.
    pub fn tier_report(&self, db: usize, key: &[u8]) -> Result<Option<(Tier, u64, u64)>> {
        let Some(phys) = self.storage.phys(db) else {
            return Ok(None);
        };
        let _locks = self.lock_one(phys, key);
        let Some(rec) = self.storage.get(phys, key)? else {
            return Ok(None);
        };
        if !live(&rec, now_ms()) {
            return Ok(None);
        }
        let ttl_entry = if rec.expire_ms != 0 {
            2 + 8 + key.len() as u64 + 8
        } else {
            0
        };
        let disk = 2 + key.len() as u64 + rec.encode().len() as u64 + ttl_entry;
        Ok(Some(match self.hot.peek(phys, key) {
            Some(_) => (Tier::Memory, memory_usage(key, &rec), disk),
            None => (Tier::Disk, 0, disk),
        }))
    }

    /// Drops keys (or, with `keys` empty, all of `db`, or with `db` None, everything) from memory.
    /// Disk is untouched, so no reply changes. Returns how many entries were dropped.
    pub fn drop_hot(&self, db: Option<usize>, keys: &[Bytes]) -> usize {
        match db {
            None => self.hot.clear_all(),
            Some(db) => {
                let Some(phys) = self.storage.phys(db) else {
                    return 0;
                };
                if keys.is_empty() {
                    return self.hot.clear_db(phys);
                }
                keys.iter()
                    .filter(|k| {
                        let _l = self.lock_one(phys, k);
                        self.hot.forget(phys, k)
                    })
                    .count()
            }
        }
    }

    /// One active-expiry pass over every database: removes up to `limit` due keys per database,
    /// including keys that exist only on disk. Returns how many keys expired.
    pub fn expire_cycle(&self, limit: usize) -> Result<usize> {
        let now = now_ms();
        let mut expired = 0;
        for db in 0..self.databases() {
            let Some(phys) = self.storage.phys(db) else {
                continue;
            };
            for (key, exp, size) in self.storage.due_ttl(phys, now, limit)? {
                let mut t = self.txn(&[(db, &key)]);
                if t.expire_due(db, &key, exp, size, now)? {
                    expired += 1;
                }
                t.commit()?;
            }
        }
        Ok(expired)
    }

    /// A random live key of `db`, reached with a seek so that disk-only keys are found too.
    pub fn random_key(&self, db: usize) -> Result<Option<Bytes>> {
        let Some(phys) = self.storage.phys(db) else {
            return Ok(None);
        };
        for _ in 0..16 {
            if self.storage.key_count(phys) == 0 {
                return Ok(None);
            }
            let probe: [u8; 8] = rand::random();
            let Some(key) = self.storage.key_at_or_after(phys, &probe)? else {
                return Ok(None);
            };
            let mut t = self.txn(&[(db, &key)]);
            let found = t.get(db, &key)?.is_some();
            t.commit()?;
            if found {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }
}

impl Exclusive<'_> {
    /// FLUSHDB: empties logical db `db` on disk and in memory.
    pub fn flush_db(&self, db: usize) -> Result<u64> {
        let Some(phys) = self.ks.storage.phys(db) else {
            return Ok(self.ks.storage.written_seq());
        };
        let touched = self.waited_existing(Some(db), &[db]);
        let mut b = self.ks.storage.batch();
        b.clear_db(phys);
        let seq = b.commit()?;
        self.ks.hot.clear_db(phys);
        self.ks.hot.set_complete(phys);
        self.signal(&touched);
        Ok(seq)
    }

    /// FLUSHALL.
    pub fn flush_all(&self) -> Result<u64> {
        let touched = self.waited_existing(None, &[]);
        let mut b = self.ks.storage.batch();
        for db in 0..self.ks.databases() {
            if let Some(phys) = self.ks.storage.phys(db) {
                b.clear_db(phys);
            }
        }
        let seq = b.commit()?;
        for db in 0..self.ks.databases() {
            if let Some(phys) = self.ks.storage.phys(db) {
                self.ks.hot.clear_db(phys);
                self.ks.hot.set_complete(phys);
            }
        }
        self.signal(&touched);
        Ok(seq)
    }

    /// SWAPDB: swaps the physical ids of two logical dbs. The memory tier is keyed by physical
    /// id, so it stays valid as it is.
    pub fn swap_db(&self, a: usize, b: usize) -> Result<u64> {
        let mut touched = self.waited_existing(Some(a), &[a, b]);
        if a != b {
            touched.extend(self.waited_existing(Some(b), &[a, b]));
        }
        self.ks.storage.swap_dbs(a, b)?;
        self.signal(&touched);
        Ok(self.ks.storage.written_seq())
    }

    /// The keys of `db` (None: every db) that clients wait on (WATCH, blocked pops) and that
    /// exist in any of `dbs` (empty: in their own db), as Redis's `touchAllWatchedKeysInDb`:
    /// emptying or swapping a db changes only the keys that were there. Expired keys not yet
    /// removed count as existing; a read error counts as existing.
    fn waited_existing(&self, db: Option<usize>, dbs: &[usize]) -> Vec<(usize, Bytes)> {
        let st = &self.ks.storage;
        let exists = |d: usize, k: &[u8]| {
            st.phys(d)
                .is_some_and(|p| !matches!(st.get(p, k), Ok(None)))
        };
        let mut keys = self.ks.ready.keys(db);
        keys.retain(|(d, k)| {
            if dbs.is_empty() {
                exists(*d, k)
            } else {
                dbs.iter().any(|&x| exists(x, k))
            }
        });
        keys
    }

    fn signal(&self, keys: &[(usize, Bytes)]) {
        for (d, k) in keys {
            self.ks.ready.signal(*d, k);
        }
    }
}

/// Whether a record is visible at `now`.
pub fn live(rec: &Record, now: u64) -> bool {
    rec.expire_ms == 0 || rec.expire_ms > now
}

/// What a key costs in memory when cached: its entry's allocation (key and record) and its slot
/// in the table (counted full; a table is 7/16 to 7/8 full). MEMORY USAGE reports this whichever
/// tier holds the key, so its reply does not depend on the tier.
pub fn memory_usage(key: &[u8], rec: &Record) -> u64 {
    (hot::charge(key, rec) + hot::SLOT) as u64
}

/// The logical size of a key: what `max-data-size` and INFO count. For a collection, its
/// elements' bytes as its header counts them.
pub fn logical_size(key: &[u8], rec: &Record) -> u64 {
    logical_size_of(key, rec.kind, &rec.body)
}

/// [`logical_size`] of a record's parts.
pub(crate) fn logical_size_of(key: &[u8], kind: Kind, body: &[u8]) -> u64 {
    let body = match kind {
        Kind::String => body.len() as u64,
        _ => CollHeader::decode(body).map_or(0, |h| h.bytes),
    };
    key.len() as u64 + body
}

fn prev_of(key: &[u8], rec: &Record) -> Prev {
    Prev {
        expire_ms: rec.expire_ms,
        size: logical_size(key, rec),
    }
}

/// Read guard type re-exported for the transaction.
type Gate<'a> = RwLockReadGuard<'a, ()>;

#[cfg(test)]
mod tests;
