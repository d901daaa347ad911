//! The memory tier: decoded records of recently used keys, one concurrent map per physical db.
//!
//! Keys and values are copied on insert, so that a cached entry never pins a connection's read
//! buffer. Entries carry their last access time, for OBJECT IDLETIME and for the evictor
//! (`crate::evict`), which keeps the tier under its budget in the background.
//!
//! # Layout
//! An entry is one allocation holding its key and record back to back ([`Packed`]), and the
//! table's slot holds only that pointer and the access time (24 bytes). The memory budget is the
//! tier's whole point, so an entry is kept as small as it can be: a 16-byte key with a 128-byte
//! value costs about 210 bytes with the table (Redis 7: about 260), where a map of `Bytes` key to
//! decoded record cost about 340 (an 88-byte slot, two allocations and the header `bytes`
//! shares a value with). The price is a copy of the body on every read: about 5 % more
//! instructions for a GET of a cached key at `-P 16`, for 1.6 times the keys in a budget.
//!
//! # Admission
//! [`HotTier::put`] never waits for the evictor. It admits entries while the tier's charge stays
//! under a hard ceiling a little above the budget (see [`HotTier::ceiling`]); the evictor brings
//! the tier back under the budget within one period. Above the ceiling a key simply stays
//! disk-only (and any older cached form of it is dropped), so a burst of writes faster than the
//! evictor costs cache hits, never latency or memory. The check uses the hash tables' size as
//! last measured, so a table that grew since the last evictor pass (at most 50 ms ago) can take
//! the tier briefly over the ceiling, by at most that growth.
//!
//! # Accounting
//! [`HotTier::used_bytes`] is what the tier really costs the allocator, in two parts:
//! - each entry's heap ([`charge`]): its packed form rounded up to jemalloc's size classes (the
//!   server's allocator);
//! - the hash tables themselves, measured from their capacity ([`HotTier::measure_tables`]):
//!   one slot per bucket holds the entry's pointer and access time plus a control byte, and
//!   a table's load varies between 7/16 and 7/8 as it doubles, so a fixed per-entry charge
//!   would be off by a factor of two. Tables never shrink by themselves, and a removal may
//!   leave a tombstone that lowers the reported capacity without freeing anything, so the
//!   tier keeps each map's peak capacity since it last shrank it. The evictor measures at every
//!   pass, and shrinks the maps that are less than an eighth full.
//!
//! A test in `tests/it/tiering.rs` compares the total with jemalloc's own count.
//!
//! # Completeness
//! A map is *complete* while it holds every key its database has on disk: from the start of an
//! empty database (or a FLUSHDB) until the first entry of a key that stays on disk leaves it (the
//! evictor, TIER DROP, a value over `hot-max-object-size` or the admission ceiling). While a map
//! is complete a miss in it is an answer, so reads and writes of absent keys skip the disk
//! lookup: the cheapest miss a tiered store can have, for every data set that fits its budget.
//! The flag is cleared *before* such an entry is removed, under the shard lock that the removal
//! takes, so a reader that misses the entry also sees the flag down. A restart with data starts
//! incomplete, and misses go to RocksDB until the warm-up (`crate::warm`) has loaded every key
//! and found that no entry of a live key left meanwhile: the flag shares a word with a count of
//! such departures, so the warm-up sets it with one compare-and-swap against the count it saw
//! when it began.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use strata_storage::{Kind, Record};
use tokio::sync::Notify;

use crate::txn::Meta;
use crate::KeyspaceOptions;

/// Ticks of the tier's clock per second. Access times are kept in tenths of a second, so that an
/// entry's age is known to 0.1 s and `hot-idle-seconds 1` is not anywhere between 1 s and 2 s
/// (as whole seconds would make it); a `u32` of ticks still lasts 13 years.
pub(crate) const TICKS_PER_SEC: u64 = 10;

/// The admission ceiling's margin over the budget is a quarter of the budget, at most this.
const CEILING_MARGIN_MAX: u64 = 64 << 20;

/// The completeness flag in a map's state word.
const COMPLETE: u64 = 1;
/// What one departure of a live key's entry adds to a map's state word.
const DEPARTURE: u64 = 2;

/// One bucket of a hash table: the entry's pointer and access time, plus hashbrown's control
/// byte.
pub(crate) const SLOT: usize = std::mem::size_of::<(Packed, AtomicU32)>() + 1;

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

/// A packed entry's first byte: the kind's tag, and these flags.
const EXPIRES: u8 = 0x80;
/// The key's length takes four bytes (a `u32`, little-endian) rather than one.
const LONG_KEY: u8 = 0x40;

/// A cached key and its record in one allocation:
/// `tag | key_len (u8, or u32 with LONG_KEY) | key | expire_ms (u64, with EXPIRES) | body`.
/// It hashes and compares as its key, so the map finds it by `&[u8]`; the access time lives
/// beside it in the slot, where a reader holding the shard's read lock can stamp it.
pub(crate) struct Packed(Box<[u8]>);

/// Bytes of the packed form of `key` with `rec`.
fn packed_len(key: &[u8], rec: &Record) -> usize {
    let key_len = if key.len() > usize::from(u8::MAX) {
        4
    } else {
        1
    };
    let expire = if rec.expire_ms != 0 { 8 } else { 0 };
    1 + key_len + key.len() + expire + rec.body.len()
}

impl Packed {
    fn new(key: &[u8], rec: &Record) -> Packed {
        let mut b = Vec::with_capacity(packed_len(key, rec));
        let long = key.len() > usize::from(u8::MAX);
        let expires = rec.expire_ms != 0;
        b.push(
            rec.kind as u8 | if expires { EXPIRES } else { 0 } | if long { LONG_KEY } else { 0 },
        );
        match u8::try_from(key.len()) {
            Ok(n) => b.push(n),
            // `put` leaves keys longer than a u32 counts on disk.
            Err(_) => b.extend_from_slice(&(key.len() as u32).to_le_bytes()),
        }
        b.extend_from_slice(key);
        if expires {
            b.extend_from_slice(&rec.expire_ms.to_le_bytes());
        }
        b.extend_from_slice(&rec.body);
        Packed(b.into_boxed_slice())
    }

    /// Where the key starts and ends.
    fn key_span(&self) -> (usize, usize) {
        let b = &self.0;
        if b[0] & LONG_KEY == 0 {
            (2, 2 + usize::from(b[1]))
        } else {
            let n = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
            (5, 5 + n as usize)
        }
    }

    pub(crate) fn key(&self) -> &[u8] {
        let (start, end) = self.key_span();
        &self.0[start..end]
    }

    /// The record's kind, expiry and body, in place. None only for a tag no `Kind` has, which
    /// `new` never writes.
    fn view(&self) -> Option<(Kind, u64, &[u8])> {
        let b = &self.0;
        let kind = Kind::from_byte(b[0] & !(EXPIRES | LONG_KEY))?;
        let (_, mut at) = self.key_span();
        let mut expire_ms = 0;
        if b[0] & EXPIRES != 0 {
            let mut e = [0; 8];
            e.copy_from_slice(&b[at..at + 8]);
            expire_ms = u64::from_le_bytes(e);
            at += 8;
        }
        Some((kind, expire_ms, &b[at..]))
    }

    /// The record, its body copied out.
    fn record(&self) -> Option<Record> {
        let (kind, expire_ms, body) = self.view()?;
        Some(Record {
            kind,
            expire_ms,
            body: Bytes::copy_from_slice(body),
        })
    }

    /// What the entry costs the heap.
    fn charge(&self) -> usize {
        alloc_class(self.0.len())
    }
}

impl Hash for Packed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `[u8]` hashes, which `Borrow` requires.
        self.key().hash(state);
    }
}

impl PartialEq for Packed {
    fn eq(&self, other: &Packed) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Packed {}

impl Borrow<[u8]> for Packed {
    fn borrow(&self) -> &[u8] {
        self.key()
    }
}

/// The memory tier.
pub struct HotTier {
    /// One map per physical database; the index is the physical db id.
    /// Each entry's value is its access time in the tier's clock ([`TICKS_PER_SEC`]).
    maps: Vec<DashMap<Packed, AtomicU32, ahash::RandomState>>,
    /// Per map, the largest capacity seen since the tier last shrank it: what its tables hold.
    peaks: Vec<AtomicUsize>,
    /// Per map (see *Completeness*): bit 0 is the completeness flag ([`COMPLETE`]); the bits
    /// above count the entries of live keys that left ([`DEPARTURE`]), which a warm-up checks
    /// before it sets the flag.
    complete: Vec<AtomicU64>,
    /// Shards per map (dashmap's default count, set explicitly so that tables can be measured).
    shards: usize,
    /// Sum of the charges of the entries held.
    bytes: AtomicUsize,
    /// Bytes of the maps' hash tables, as last measured.
    tables: AtomicUsize,
    /// The high watermark: the evictor works while `bytes` is above it.
    budget: AtomicU64,
    /// `hot-max-object-size`: larger values are never cached.
    max_object: AtomicU64,
    /// `hot-idle-seconds`; 0 disables idle eviction.
    idle: AtomicU64,
    /// Start of the tier's clock.
    epoch: Instant,
    /// Ticks added to the clock: lets tests age every entry without sleeping.
    skew: AtomicU32,
    /// The clock as the evictor last read it (`tick`), which reads and writes stamp entries
    /// with: one clock read per evictor pass (every 50 ms, or at once under pressure) rather
    /// than one per access, as Redis keeps a cached LRU clock.
    clock: AtomicU32,
    /// Notified when a `put` takes the tier over its budget, so the evictor can start at once.
    pressure: Notify,
    /// Entries dropped by TIER DROP, FLUSHDB or the evictor (INFO `hot_dropped_keys`).
    pub dropped: AtomicU64,
}

/// jemalloc's size class for a request of `n` bytes (0: no allocation). Classes are 8, then
/// multiples of 16 up to 128, then four per doubling.
pub(crate) const fn alloc_class(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    let log2 = (usize::BITS - 1 - (n - 1).leading_zeros()) as usize;
    let step = 1usize << (log2 - 2);
    (n + step - 1) & !(step - 1)
}

/// What one entry costs the heap beyond its table slot, in bytes.
pub(crate) fn charge(key: &[u8], rec: &Record) -> usize {
    alloc_class(packed_len(key, rec))
}

/// The allocation of the tables (hashbrown's layout) of a map of `shards` shards with
/// `capacity` entries in all, taking the shards as equal. A table's capacity is 7/8 of its
/// buckets (all but one for tables of up to 8 buckets); its control bytes have a 16-byte
/// trailer.
pub(crate) const fn table_bytes(capacity: usize, shards: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let tables = if capacity < shards { capacity } else { shards };
    let per = capacity.div_ceil(tables);
    let buckets = if per < 8 { per + 1 } else { per / 7 * 8 };
    tables * alloc_class(buckets * SLOT + 16)
}

/// The admission ceiling for a budget: `budget + min(budget / 4, 64 MiB)`.
pub(crate) fn ceiling_of(budget: u64) -> u64 {
    budget.saturating_add((budget / 4).min(CEILING_MARGIN_MAX))
}

/// Shards per map at most, when the budget would ask for more (see `HotTier::new`).
const MAX_SHARDS: usize = 256;

impl HotTier {
    pub(crate) fn new(dbs: usize, opts: KeyspaceOptions) -> HotTier {
        // Enough shards that each holds about a megabyte of the budget: a shard's table doubles
        // all at once when it fills, and the writer that triggers it moves every entry of the
        // shard, a pause every client of the worker waits out (Redis rehashes incrementally
        // for the same reason). Filling a map with a million keys, the longest insert took
        // 18 ms at 8 shards and 0.9 ms at 256 (`benches/map_growth.rs`); 1024 cut it to 0.25 ms
        // but cost GET -P 16 about 9 %, so 256 at most.
        let by_budget = usize::try_from(opts.hot_memory >> 20).unwrap_or(MAX_SHARDS);
        let shards = (std::thread::available_parallelism().map_or(1, usize::from) * 4)
            .max(by_budget.min(MAX_SHARDS))
            .next_power_of_two()
            .max(2);
        HotTier {
            maps: (0..dbs)
                .map(|_| DashMap::with_hasher_and_shard_amount(Default::default(), shards))
                .collect(),
            peaks: (0..dbs).map(|_| AtomicUsize::new(0)).collect(),
            complete: (0..dbs).map(|_| AtomicU64::new(0)).collect(),
            shards,
            bytes: AtomicUsize::new(0),
            tables: AtomicUsize::new(0),
            budget: AtomicU64::new(opts.hot_memory),
            max_object: AtomicU64::new(opts.hot_max_object_size),
            idle: AtomicU64::new(opts.hot_idle_seconds),
            epoch: Instant::now(),
            skew: AtomicU32::new(0),
            clock: AtomicU32::new(0),
            pressure: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// The tier's clock, in ticks ([`TICKS_PER_SEC`]).
    pub(crate) fn now_ticks(&self) -> u32 {
        let t = self.epoch.elapsed().as_millis() as u64 * TICKS_PER_SEC / 1000;
        (t.min(u64::from(u32::MAX)) as u32).saturating_add(self.skew.load(Ordering::Relaxed))
    }

    /// Reads the tier's clock into the one accesses stamp entries with, and returns it.
    pub(crate) fn tick(&self) -> u32 {
        let now = self.now_ticks();
        self.clock.store(now, Ordering::Relaxed);
        now
    }

    /// Moves the tier's clock forward, which ages every entry by `secs`.
    #[cfg(test)]
    pub(crate) fn advance_clock(&self, secs: u32) {
        self.skew
            .fetch_add(secs * TICKS_PER_SEC as u32, Ordering::Relaxed);
        self.tick();
    }

    /// Sets the memory budget (the tier's share of `hot-memory`).
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

    /// The memory budget of the tier: the evictor's high watermark.
    pub fn budget(&self) -> u64 {
        self.budget.load(Ordering::Relaxed)
    }

    /// The hard ceiling of the tier: `put` does not cache above it. It is
    /// `budget + min(budget / 4, 64 MiB)`: room for the writes of a few evictor periods, and
    /// never more than 64 MiB over the budget, so it stays a fixed overhead for RSS.
    pub fn ceiling(&self) -> u64 {
        ceiling_of(self.budget())
    }

    /// `hot-idle-seconds`.
    pub fn idle_seconds(&self) -> u64 {
        self.idle.load(Ordering::Relaxed)
    }

    /// Bytes charged to the tier: its entries, and its hash tables as last measured.
    pub fn used_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed) + self.tables.load(Ordering::Relaxed)
    }

    /// Measures the hash tables again (one read lock per shard, one at a time) and returns
    /// their bytes.
    pub(crate) fn measure_tables(&self) -> usize {
        let t = self
            .maps
            .iter()
            .zip(&self.peaks)
            .map(|(m, peak)| {
                let cap = m.capacity();
                table_bytes(peak.fetch_max(cap, Ordering::Relaxed).max(cap), self.shards)
            })
            .sum();
        self.tables.store(t, Ordering::Relaxed);
        t
    }

    /// Shrinks the maps whose tables are less than an eighth full, then measures them. A shrink
    /// rehashes one shard at a time under its write lock; it only happens after most of a map
    /// was dropped.
    pub(crate) fn shrink_tables(&self) -> usize {
        for phys in 0..self.maps.len() {
            let peak = self.peaks[phys].load(Ordering::Relaxed);
            if peak > 0 && self.maps[phys].len() * 8 <= peak {
                self.shrink(phys);
            }
        }
        self.measure_tables()
    }

    /// Shrinks every table of map `phys` to fit what it holds.
    fn shrink(&self, phys: usize) {
        let map = &self.maps[phys];
        map.shrink_to_fit();
        self.peaks[phys].store(map.capacity(), Ordering::Relaxed);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.maps.iter().map(DashMap::len).sum()
    }

    /// Whether the tier holds nothing.
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(DashMap::is_empty)
    }

    /// Notified whenever a write takes the tier over its budget. An evictor task can wait on it
    /// (besides its period) to start a pass at once under a write burst.
    pub fn pressure(&self) -> &Notify {
        &self.pressure
    }

    /// Number of maps (physical databases).
    pub(crate) fn maps(&self) -> usize {
        self.maps.len()
    }

    /// Whether map `phys` holds every key of its database, so that a miss in it means the key
    /// does not exist. Read after the miss: the flag goes down before an entry leaves.
    pub(crate) fn is_complete(&self, phys: u16) -> bool {
        self.complete
            .get(phys as usize)
            .is_some_and(|c| c.load(Ordering::Acquire) & COMPLETE != 0)
    }

    /// How many maps are complete (INFO `hot_complete_dbs`).
    pub fn complete_maps(&self) -> usize {
        (0..self.maps.len() as u16)
            .filter(|&p| self.is_complete(p))
            .count()
    }

    /// Declares map `phys` complete. The caller knows its database is empty on disk and holds
    /// it exclusively (start-up, FLUSHDB), and the map is empty.
    pub(crate) fn set_complete(&self, phys: u16) {
        if let Some(c) = self.complete.get(phys as usize) {
            c.fetch_or(COMPLETE, Ordering::AcqRel);
        }
    }

    /// Map `phys`'s completeness state when it is incomplete: the token a warm-up passes to
    /// [`HotTier::set_complete_if`] once it has loaded every key.
    pub(crate) fn incomplete_state(&self, phys: u16) -> Option<u64> {
        let s = self.complete.get(phys as usize)?.load(Ordering::Acquire);
        (s & COMPLETE == 0).then_some(s)
    }

    /// Declares map `phys` complete if no entry of a live key has left it since `state` was
    /// read (each departure changes the state). Returns whether it did.
    pub(crate) fn set_complete_if(&self, phys: u16, state: u64) -> bool {
        self.complete.get(phys as usize).is_some_and(|c| {
            c.compare_exchange(state, state | COMPLETE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    /// Lowers map `phys`'s completeness before an entry of a key that stays on disk leaves it,
    /// and counts the departure, so that a warm-up running meanwhile cannot declare it complete.
    fn incomplete(&self, phys: usize) {
        if let Some(c) = self.complete.get(phys) {
            let _ = c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                Some(s.wrapping_add(DEPARTURE) & !COMPLETE)
            });
        }
    }

    /// Reads an entry and marks it used.
    pub(crate) fn get(&self, phys: u16, key: &[u8]) -> Option<Record> {
        self.used(phys, key)?.key().record()
    }

    /// An entry's kind, expiry and sizes, without copying its value out; marks it used.
    pub(crate) fn meta(&self, phys: u16, key: &[u8]) -> Option<Meta> {
        let e = self.used(phys, key)?;
        let (kind, expire_ms, body) = e.key().view()?;
        Some(Meta::of_parts(key, kind, expire_ms, body))
    }

    /// The entry of `key`, stamped with the tier's clock as used.
    fn used(
        &self,
        phys: u16,
        key: &[u8],
    ) -> Option<dashmap::mapref::one::Ref<'_, Packed, AtomicU32>> {
        let e = self.maps.get(phys as usize)?.get(key)?;
        e.value()
            .store(self.clock.load(Ordering::Relaxed), Ordering::Relaxed);
        Some(e)
    }

    /// Reads an entry without marking it used.
    pub(crate) fn peek(&self, phys: u16, key: &[u8]) -> Option<Record> {
        self.maps.get(phys as usize)?.get(key)?.key().record()
    }

    /// Seconds since the entry was last used, if it is in memory.
    pub fn idle_secs(&self, phys: u16, key: &[u8]) -> Option<u32> {
        let e = self.maps.get(phys as usize)?.get(key)?;
        let ticks = self
            .now_ticks()
            .saturating_sub(e.value().load(Ordering::Relaxed));
        Some(ticks / TICKS_PER_SEC as u32)
    }

    /// Caches `rec`, replacing any entry. The caller holds the key's lock and `rec` equals what
    /// is on disk. Values over `hot-max-object-size`, or an entry that would take the tier over
    /// its ceiling, leave the key disk-only. Never waits for the evictor.
    pub(crate) fn put(&self, phys: u16, key: &[u8], rec: &Record) {
        let Some(map) = self.maps.get(phys as usize) else {
            return;
        };
        let cost = charge(key, rec);
        let budget = self.budget();
        let fits = (rec.body.len() as u64) <= self.max_object.load(Ordering::Relaxed)
            && u32::try_from(key.len()).is_ok()
            && (self.used_bytes() + cost) as u64 <= ceiling_of(budget);
        if !fits {
            self.forget(phys, key);
            return;
        }
        let packed = Packed::new(key, rec);
        let stamp = AtomicU32::new(self.clock.load(Ordering::Relaxed));
        let before = (self.bytes.fetch_add(cost, Ordering::Relaxed)
            + self.tables.load(Ordering::Relaxed)) as u64;
        match map.entry(packed) {
            // The old entry's key is the same key, but its allocation holds the old record too:
            // replace both.
            dashmap::Entry::Occupied(o) => {
                let (old, _) = o.replace_entry(stamp);
                self.bytes.fetch_sub(old.charge(), Ordering::Relaxed);
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(stamp);
            }
        }
        if before <= budget && before + cost as u64 > budget {
            self.pressure.notify_one();
        }
    }

    /// Drops the entry of a key that no longer exists. Returns whether it was cached.
    pub(crate) fn remove(&self, phys: u16, key: &[u8]) -> bool {
        let Some(map) = self.maps.get(phys as usize) else {
            return false;
        };
        match map.remove(key) {
            Some((e, _)) => {
                self.bytes.fetch_sub(e.charge(), Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Drops the entry of a key that stays on disk. Returns whether it was cached.
    pub(crate) fn forget(&self, phys: u16, key: &[u8]) -> bool {
        self.incomplete(phys as usize);
        self.remove(phys, key)
    }

    /// Visits the entries of map `phys` with their age (ticks since last access) and charge,
    /// holding each shard's read lock while the shard is visited. Stops when `f` returns false.
    /// Age and charge are in the table's slot; the key is behind the entry's pointer, so `f`
    /// reads it (`Packed::key`, a cache miss per entry) only for the entries it wants.
    /// `f` must not touch the tier (a write to the shard it is visiting would deadlock).
    pub(crate) fn scan(&self, phys: u16, now: u32, mut f: impl FnMut(&Packed, u32, usize) -> bool) {
        let Some(map) = self.maps.get(phys as usize) else {
            return;
        };
        for r in map.iter() {
            let age = now.saturating_sub(r.value().load(Ordering::Relaxed));
            if !f(r.key(), age, r.key().charge()) {
                break;
            }
        }
    }

    /// Drops the entry of `key` if it is still unused for at least `min_age` ticks at `now`.
    /// Returns the charge released. Counts the entry as dropped.
    pub(crate) fn evict_if_idle(
        &self,
        phys: u16,
        key: &[u8],
        now: u32,
        min_age: u32,
    ) -> Option<usize> {
        let map = self.maps.get(phys as usize)?;
        let (e, _) = map.remove_if(key, |_, stamp| {
            let idle = now.saturating_sub(stamp.load(Ordering::Relaxed)) >= min_age;
            if idle {
                self.incomplete(phys as usize);
            }
            idle
        })?;
        let c = e.charge();
        self.bytes.fetch_sub(c, Ordering::Relaxed);
        self.dropped.fetch_add(1, Ordering::Relaxed);
        Some(c)
    }

    /// Drops every entry of map `phys` unused for at least `min_age` ticks at `now`, one shard
    /// at a time. Returns the entries and bytes released. Counts them as dropped.
    pub(crate) fn evict_idle(&self, phys: u16, now: u32, min_age: u32) -> (usize, usize) {
        let Some(map) = self.maps.get(phys as usize) else {
            return (0, 0);
        };
        let (mut n, mut freed) = (0, 0);
        map.retain(|e, stamp| {
            if now.saturating_sub(stamp.load(Ordering::Relaxed)) < min_age {
                return true;
            }
            self.incomplete(phys as usize);
            freed += e.charge();
            n += 1;
            false
        });
        self.bytes.fetch_sub(freed, Ordering::Relaxed);
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        (n, freed)
    }

    /// Drops every entry of map `phys`. Its keys stay on disk unless the caller emptied the
    /// database and then declares the map complete again.
    pub(crate) fn clear_db(&self, phys: u16) -> usize {
        let Some(map) = self.maps.get(phys as usize) else {
            return 0;
        };
        self.incomplete(phys as usize);
        let mut n = 0;
        map.retain(|e, _| {
            self.bytes.fetch_sub(e.charge(), Ordering::Relaxed);
            n += 1;
            false
        });
        self.shrink(phys as usize);
        self.measure_tables();
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    pub(crate) fn clear_all(&self) -> usize {
        (0..self.maps.len() as u16).map(|p| self.clear_db(p)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(budget: u64) -> HotTier {
        HotTier::new(
            1,
            KeyspaceOptions {
                hot_memory: budget,
                ..KeyspaceOptions::default()
            },
        )
    }

    fn rec(len: usize) -> Record {
        Record {
            kind: Kind::String,
            expire_ms: 0,
            body: Bytes::from(vec![b'v'; len]),
        }
    }

    #[test]
    fn size_classes_follow_jemalloc() {
        let classes = [
            (0, 0),
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 32),
            (100, 112),
            (128, 128),
            (129, 160),
            (256, 256),
            (257, 320),
            (1000, 1024),
            (1025, 1280),
            (5000, 5120),
        ];
        for (n, class) in classes {
            assert_eq!(alloc_class(n), class, "class of {n}");
        }
    }

    #[test]
    fn charges_are_realistic() {
        // The entry's pointer (16 bytes) and access time, padded to 24.
        assert_eq!(SLOT, 25);
        // One allocation: tag, key length, key (10) and value (100): 112 bytes, a 112 class.
        assert_eq!(charge(b"key:000001", &rec(100)), 112);
        // A key and an empty body still take an allocation; an expiry adds 8 bytes.
        assert_eq!(charge(b"", &rec(0)), 8);
        let mut expiring = rec(100);
        expiring.expire_ms = 1;
        assert_eq!(charge(b"key:000001", &expiring), 128);
        assert_eq!(table_bytes(0, 8), 0);
        assert_eq!(table_bytes(3, 8), 3 * alloc_class(2 * 25 + 16));
        assert_eq!(table_bytes(7 * 8, 8), 8 * alloc_class(8 * 25 + 16));
        assert_eq!(table_bytes(896 * 4, 4), 4 * alloc_class(1024 * 25 + 16));

        // The measured tables follow what the maps really hold.
        let t = tier(1 << 30);
        for i in 0..10_000 {
            t.put(0, format!("k{i}").as_bytes(), &rec(0));
        }
        let cap = t.maps[0].capacity();
        assert!(cap >= 10_000);
        let tables = t.measure_tables();
        // Tag, length and a key of 2-5 bytes: 8 bytes each.
        assert_eq!(t.used_bytes(), tables + 10_000 * 8);
        assert!(
            (10_000 * 25..=3 * 10_000 * 25).contains(&tables),
            "{tables}"
        );
        t.evict_idle(0, t.now_ticks(), 0);
        assert!(t.is_empty());
        assert_eq!(
            t.measure_tables(),
            table_bytes(cap, t.shards),
            "tables do not shrink by themselves"
        );
        assert_eq!(t.shrink_tables(), 0);
        assert_eq!(t.used_bytes(), 0);
    }

    #[test]
    fn entries_keep_key_and_record_whole() {
        let t = tier(1 << 30);
        let kinds = [Kind::String, Kind::Hash, Kind::List, Kind::Set, Kind::ZSet];
        let long = vec![b'k'; 300];
        let huge = vec![b'h'; 70_000];
        let keys: [&[u8]; 5] = [b"", b"k", &long[..255], &long, &huge];
        for (i, key) in keys.iter().enumerate() {
            for (j, &kind) in kinds.iter().enumerate() {
                let mut key = key.to_vec();
                key.push(j as u8);
                for expire_ms in [0, 1, u64::MAX] {
                    let r = Record {
                        kind,
                        expire_ms,
                        body: Bytes::from(vec![i as u8; i * 40]),
                    };
                    t.put(0, &key, &r);
                    assert_eq!(
                        t.get(0, &key),
                        Some(r.clone()),
                        "key of {} bytes",
                        key.len()
                    );
                    assert_eq!(t.peek(0, &key), Some(r.clone()));
                    let packed = Packed::new(&key, &r);
                    assert_eq!(packed.key(), &key[..]);
                    assert_eq!(packed.0.len(), packed_len(&key, &r));
                }
            }
        }
        assert_eq!(t.len(), keys.len() * kinds.len());
        // Keys that share a prefix with a cached one, or extend it, are other keys.
        assert_eq!(t.get(0, b"k"), None);
        assert_eq!(t.get(0, &long[..256]), None);
        // A rewrite replaces the record and the charge with it.
        let before = t.used_bytes();
        t.put(0, b"k\0", &rec(1000));
        assert_eq!(t.get(0, b"k\0"), Some(rec(1000)));
        assert_eq!(t.len(), keys.len() * kinds.len());
        assert_eq!(
            t.used_bytes() - before,
            charge(b"k\0", &rec(1000))
                - charge(
                    b"k\0",
                    &Record {
                        expire_ms: u64::MAX,
                        ..rec(40)
                    }
                )
        );
    }

    #[test]
    fn put_admits_up_to_the_ceiling_then_leaves_keys_on_disk() {
        let t = tier(64 << 10);
        assert_eq!(t.ceiling(), 80 << 10);
        let mut i = 0;
        while t.used_bytes() <= t.budget() as usize {
            t.put(0, format!("k{i}").as_bytes(), &rec(200));
            i += 1;
        }
        // Over the budget, writes are still cached: the evictor, not the writer, catches up.
        let n = t.len();
        t.put(0, b"over", &rec(200));
        assert_eq!(t.len(), n + 1);
        for j in 0..1000 {
            t.put(0, format!("x{j}").as_bytes(), &rec(200));
        }
        assert!(t.used_bytes() as u64 <= t.ceiling());
        assert!(t.used_bytes() as u64 > t.ceiling() - 1024);
        // Above the ceiling a rewrite of a cached key drops its old form rather than caching.
        assert!(t.peek(0, b"k0").is_some());
        t.put(0, b"k0", &rec(5000));
        assert!(t.peek(0, b"k0").is_none());
        assert!(t.used_bytes() as u64 <= t.ceiling());
    }

    #[test]
    fn put_over_the_budget_signals_pressure() {
        use std::future::Future;
        let t = tier(4096);
        let mut notified = std::pin::pin!(t.pressure().notified());
        assert!(!notified.as_mut().enable(), "no pressure yet");
        let mut i = 0;
        while t.used_bytes() <= 4096 {
            t.put(0, format!("k{i}").as_bytes(), &rec(100));
            i += 1;
        }
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(notified.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn idle_secs_counts_whole_seconds() {
        let t = tier(1 << 20);
        t.put(0, b"a", &rec(1));
        assert_eq!(t.idle_secs(0, b"a"), Some(0));
        t.advance_clock(7);
        assert_eq!(t.idle_secs(0, b"a"), Some(7));
        assert!(t.get(0, b"a").is_some());
        assert_eq!(t.idle_secs(0, b"a"), Some(0));
        assert_eq!(t.idle_secs(0, b"b"), None);
    }

    #[test]
    fn accounting_returns_to_zero() {
        let t = tier(1 << 20);
        for i in 0..100 {
            t.put(0, format!("k{i}").as_bytes(), &rec(i * 7));
        }
        for i in 0..50 {
            t.put(0, format!("k{i}").as_bytes(), &rec(3));
        }
        assert!(t.remove(0, b"k1"));
        assert_eq!(
            t.evict_if_idle(0, b"k2", t.now_ticks(), 0),
            Some(charge(b"k2", &rec(3)))
        );
        t.advance_clock(5);
        t.put(0, b"fresh", &rec(10));
        let (n, _) = t.evict_idle(0, t.now_ticks(), 5 * TICKS_PER_SEC as u32);
        assert_eq!(n, 98);
        assert_eq!(t.len(), 1);
        let tables = t.measure_tables();
        assert_eq!(t.used_bytes() - tables, charge(b"fresh", &rec(10)));
        t.clear_all();
        assert_eq!(t.used_bytes(), 0);
        assert_eq!(t.dropped.load(Ordering::Relaxed), 100);
    }
}
