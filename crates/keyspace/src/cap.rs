//! The logical data cap (`max-data-size`) and its eviction policies.
//!
//! The cap bounds the *logical* size of the data (the sum of every key's `key.len() +
//! value.len()`, kept exactly by the storage counters), not memory: memory is bounded separately
//! by the hot-tier evictor. An evicted key leaves both tiers, so eviction loses data, which is
//! why `noeviction` is the default.
//!
//! # Mechanics
//!
//! - **Foreground check.** Before every command flagged `denyoom`, [`Keyspace::check_cap`] asks
//!   whether the command's size (its arguments) still fits. Under `noeviction` it refuses when it
//!   does not (`-OOM`). Under an evicting policy it evicts at most `maxmemory-samples` × 4 keys,
//!   one transaction each, with non-blocking locks (it never waits for another command's key,
//!   and so can never deadlock against the caller). The command runs if the data then fits, or
//!   if the keys evicted for it freed at least its size: after the cap is lowered, writes go on
//!   without growing the data while the background pass works off the excess. The write path
//!   therefore never runs a bulk eviction, and never fails just because the pass lags.
//! - **Background pass.** Every 50 ms, and at once again after a pass that evicted,
//!   [`Keyspace::cap_pass`] evicts until the data is within the cap, bounded to 1000 keys or
//!   10 ms a pass. It plans up to 16 victims that free about the excess and removes them in one
//!   transaction, so one WAL write covers them all.
//! - **Sampling reaches disk.** Victims are drawn with seeks into the on-disk families
//!   (`strata_storage`'s `sample` module): the `ttl` index for keys with a TTL, the `meta`
//!   family for any key. The memory tier is never the source of candidates, so keys that were
//!   never loaded are evicted as readily as cached ones. Each sample picks a database with a
//!   probability proportional to its (exact) key or keys-with-TTL count. The probes are drawn
//!   between the first and last key (or expiry) of the range, which are cached for a second,
//!   so that a sample costs one seek.
//! - **Eviction is a transaction.** A victim is re-read under its lock and deleted through a
//!   [`crate::Txn`], so disk, memory and the exact counters move together. (The re-read is an
//!   ordinary read through the tiers, and shows in `hot_hits` or `cold_reads`.) A victim whose
//!   TTL has already passed is expired instead (it counts in `expired_keys`); every other
//!   removal counts in `evicted_keys`.
//!
//! # Policy
//!
//! - `noeviction`: refuse growth past the cap; remove nothing.
//! - `optimistic-volatile` (Upstash's): random keys with a TTL while any exist, then random keys
//!   of any kind.
//! - `volatile-random` / `allkeys-random`: a random key with a TTL / any random key.
//! - `volatile-ttl`: the key with the nearest expiry (the head of each database's `ttl` range).
//! - `volatile-lru` / `allkeys-lru`: of `maxmemory-samples` random candidates, the one idle the
//!   longest. A key that is only on disk counts as idler than every key in memory, which is true
//!   to within the hot tier's own idle eviction.
//!
//! A volatile policy with no key that has a TTL has nothing to evict: the check refuses the
//! write and the background pass reports [`CapOutcome::Stuck`].

use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::{logical_size, Keyspace, Txn};

/// Results of storage work during eviction.
type StoreResult<T> = crate::Result<T>;

/// Most keys one background pass removes before it yields.
const PASS_KEYS: usize = 1000;
/// Most time one background pass spends before it yields.
const PASS_TIME: Duration = Duration::from_millis(10);
/// Keys the foreground check may evict per `maxmemory-samples`.
const FOREGROUND_KEYS_PER_SAMPLE: usize = 4;
/// Samples in a row that removed nothing (raced with a command, or with the sampler's stale
/// bounds) before a pass gives up until the next one.
const MAX_MISSES: usize = 64;
/// Entries read at once from the head of a `ttl` range for `volatile-ttl`.
const SOONEST_BATCH: usize = 32;
/// How long sample bounds are reused before they are read again.
const BOUNDS_TTL: Duration = Duration::from_secs(1);
/// Adjacent keys the random policies take from one seek: a seek into data on disk costs a
/// block read per level, so neighbours share it. Small, so that victims stay scattered.
const RUN: usize = 4;
/// Most victims a background pass removes in one transaction: one WAL write for all of them,
/// few enough that the stripes it locks are not held for long.
const BATCH: usize = 16;

/// `eviction-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvictionPolicy {
    /// Refuse writes that would grow the data past the cap.
    #[default]
    NoEviction,
    /// Evict random keys with a TTL first, then any keys.
    OptimisticVolatile,
    /// Evict random keys with a TTL only.
    VolatileRandom,
    /// Evict random keys.
    AllkeysRandom,
    /// Evict the keys with the nearest expiry.
    VolatileTtl,
    /// Evict the least recently used keys with a TTL (approximated).
    VolatileLru,
    /// Evict the least recently used keys (approximated).
    AllkeysLru,
}

impl EvictionPolicy {
    /// Every policy; a policy's index here is its stored form.
    pub const ALL: [EvictionPolicy; 7] = [
        EvictionPolicy::NoEviction,
        EvictionPolicy::OptimisticVolatile,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::AllkeysRandom,
        EvictionPolicy::VolatileTtl,
        EvictionPolicy::VolatileLru,
        EvictionPolicy::AllkeysLru,
    ];

    /// The configuration name of the policy.
    pub const fn name(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::OptimisticVolatile => "optimistic-volatile",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::AllkeysRandom => "allkeys-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::AllkeysLru => "allkeys-lru",
        }
    }

    fn index(self) -> u8 {
        Self::ALL.iter().position(|&p| p == self).unwrap_or(0) as u8
    }

    fn from_index(i: u8) -> EvictionPolicy {
        Self::ALL.get(i as usize).copied().unwrap_or_default()
    }
}

impl FromStr for EvictionPolicy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or(())
    }
}

/// A write refused at the cap (Redis's `-OOM`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverCap;

/// What one background cap pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapOutcome {
    /// No cap, or the data is within it.
    Within,
    /// Keys were evicted from both tiers.
    Evicted {
        /// Keys removed (evicted, or expired when sampling found them past their TTL).
        keys: usize,
        /// Logical bytes removed.
        bytes: u64,
    },
    /// Over the cap and the policy found nothing it may evict.
    Stuck,
}

/// Cap settings and the sampler's cached bounds. The settings are read by every `denyoom`
/// command, so they are atomics rather than a lock.
#[derive(Debug)]
pub struct CapState {
    /// `max-data-size` in logical bytes; 0 means no cap.
    max: AtomicU64,
    /// `eviction-policy`, as its index in [`EvictionPolicy::ALL`].
    policy: AtomicU8,
    /// `maxmemory-samples`: candidates compared per LRU choice, and the foreground budget.
    samples: AtomicUsize,
    /// First and last key of each physical db, so that a foreground eviction costs one seek
    /// rather than three.
    key_bounds: BoundsCache<(Bytes, Bytes)>,
    /// Earliest and latest expiry of each physical db's ttl index.
    ttl_bounds: BoundsCache<(u64, u64)>,
}

/// Sample bounds of each physical db, when they have been read.
type BoundsCache<T> = Mutex<Vec<Option<Cached<T>>>>;

/// Sample bounds and when they were read. Stale bounds (keys written or removed since) only
/// skew the draw; the seeks themselves always see the current data.
#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    at: Instant,
}

impl Default for CapState {
    fn default() -> Self {
        CapState {
            max: AtomicU64::new(0),
            policy: AtomicU8::new(EvictionPolicy::NoEviction.index()),
            samples: AtomicUsize::new(5),
            key_bounds: Mutex::new(Vec::new()),
            ttl_bounds: Mutex::new(Vec::new()),
        }
    }
}

/// Bounds from `cache` for `phys` if read less than [`BOUNDS_TTL`] ago, else from `load`
/// (None: the range is empty, which is not cached).
fn bounds<T: Clone>(
    cache: &BoundsCache<T>,
    phys: u16,
    load: impl FnOnce() -> StoreResult<Option<T>>,
) -> StoreResult<Option<T>> {
    let i = phys as usize;
    if let Some(Some(c)) = cache.lock().get(i) {
        if c.at.elapsed() < BOUNDS_TTL {
            return Ok(Some(c.value.clone()));
        }
    }
    let value = load()?;
    let mut cache = cache.lock();
    if cache.len() <= i {
        cache.resize(i + 1, None);
    }
    cache[i] = value.clone().map(|value| Cached {
        value,
        at: Instant::now(),
    });
    Ok(value)
}

/// Forgets the bounds of `phys`, after a sample found its range empty.
fn forget<T>(cache: &BoundsCache<T>, phys: u16) {
    if let Some(slot) = cache.lock().get_mut(phys as usize) {
        *slot = None;
    }
}

/// A key chosen for eviction.
struct Candidate {
    db: usize,
    /// The physical db the key was sampled from; a SWAPDB since then voids the candidate.
    phys: u16,
    key: Bytes,
    /// `(expire_ms, logical size)` when the key came from the ttl index.
    ttl: Option<(u64, u64)>,
}

/// What evicting one candidate did.
enum Removed {
    /// A live key left both tiers, freeing this many logical bytes.
    Evicted(u64),
    /// The key's TTL had passed: it was expired instead, freeing this many bytes.
    Expired(u64),
    /// Nothing: the key changed, vanished or was locked since it was sampled.
    Nothing,
}

/// Draws victims for one pass or one check.
struct Sampler<'a> {
    ks: &'a Keyspace,
    /// Heads of each physical db's ttl range, for `volatile-ttl` (allocated on first use).
    soonest: Vec<VecDeque<(Bytes, u64, u64)>>,
    /// Where each physical db's next refill of `soonest` starts: past the entries already
    /// taken, so that a pass does not seek over its own deletions again and again.
    soonest_from: Vec<u64>,
}

impl<'a> Sampler<'a> {
    fn new(ks: &'a Keyspace) -> Sampler<'a> {
        Sampler {
            ks,
            soonest: Vec::new(),
            soonest_from: Vec::new(),
        }
    }

    /// The weight of logical db `db` in a draw, with its physical id.
    fn weight(&self, db: usize, volatile: bool) -> Option<(u16, u64)> {
        let s = &self.ks.storage;
        let phys = s.phys(db)?;
        let w = if volatile {
            s.volatile_count(phys)
        } else {
            s.key_count(phys)
        };
        Some((phys, w))
    }

    /// A logical db (with its physical id) drawn with a probability proportional to its key
    /// count, or to its count of keys with a TTL. None when every weight is zero.
    fn pick_db(&self, volatile: bool) -> Option<(usize, u16)> {
        let dbs = self.ks.databases();
        let total: u64 = (0..dbs)
            .filter_map(|db| self.weight(db, volatile))
            .map(|w| w.1)
            .sum();
        if total == 0 {
            return None;
        }
        // Counters may move between the two walks: the last db with any weight takes the rest.
        let mut at = rand::random::<u64>() % total;
        let mut last = None;
        for db in 0..dbs {
            let Some((phys, w)) = self.weight(db, volatile) else {
                continue;
            };
            if w == 0 {
                continue;
            }
            if at < w {
                return Some((db, phys));
            }
            at -= w;
            last = Some((db, phys));
        }
        last
    }

    /// A run of up to `n` adjacent keys of any kind at a random place (empty when the
    /// keyspace is empty).
    fn any(&mut self, n: usize) -> StoreResult<Vec<Candidate>> {
        let Some((db, phys)) = self.pick_db(false) else {
            return Ok(Vec::new());
        };
        let s = &self.ks.storage;
        let cache = &self.ks.cap.key_bounds;
        let Some((lo, hi)) = bounds(cache, phys, || s.key_bounds(phys))? else {
            return Ok(Vec::new());
        };
        let keys = s.sample_keys(phys, (&lo, &hi), n, &mut rand::random::<u64>)?;
        if keys.is_empty() {
            forget(cache, phys);
        }
        Ok(keys
            .into_iter()
            .map(|key| Candidate {
                db,
                phys,
                key,
                ttl: None,
            })
            .collect())
    }

    /// A run of up to `n` keys with a TTL, adjacent in the ttl index, at a random place (empty
    /// when no key has a TTL).
    fn volatile(&mut self, n: usize) -> StoreResult<Vec<Candidate>> {
        let Some((db, phys)) = self.pick_db(true) else {
            return Ok(Vec::new());
        };
        let s = &self.ks.storage;
        let cache = &self.ks.cap.ttl_bounds;
        let Some(range) = bounds(cache, phys, || s.ttl_bounds(phys))? else {
            return Ok(Vec::new());
        };
        let entries = s.sample_ttls(phys, range, n, &mut rand::random::<u64>)?;
        if entries.is_empty() {
            forget(cache, phys);
        }
        Ok(entries
            .into_iter()
            .map(|(key, exp, size)| Candidate {
                db,
                phys,
                key,
                ttl: Some((exp, size)),
            })
            .collect())
    }

    /// The key with the nearest expiry across every db, or None when no key has a TTL.
    fn soonest(&mut self) -> StoreResult<Option<Candidate>> {
        let s = &self.ks.storage;
        let n = self.ks.databases();
        if self.soonest.len() < n {
            self.soonest.resize(n, VecDeque::new());
            self.soonest_from.resize(n, 0);
        }
        let mut best: Option<(usize, u16, u64)> = None;
        for db in 0..n {
            let Some(phys) = s.phys(db) else { continue };
            let (Some(queue), Some(from)) = (
                self.soonest.get_mut(phys as usize),
                self.soonest_from.get_mut(phys as usize),
            ) else {
                continue;
            };
            if s.volatile_count(phys) == 0 {
                queue.clear();
                continue;
            }
            if queue.is_empty() {
                queue.extend(s.soonest_ttl(phys, *from, SOONEST_BATCH)?);
                if queue.is_empty() && *from > 0 {
                    // Keys written during the pass may expire before the ones taken.
                    *from = 0;
                    queue.extend(s.soonest_ttl(phys, 0, SOONEST_BATCH)?);
                }
                *from = queue.back().map_or(0, |e| e.1);
            }
            if let Some(&(_, exp, _)) = queue.front() {
                if best.is_none_or(|b| exp < b.2) {
                    best = Some((db, phys, exp));
                }
            }
        }
        let Some((db, phys, _)) = best else {
            return Ok(None);
        };
        let queue = self.soonest.get_mut(phys as usize);
        Ok(queue
            .and_then(VecDeque::pop_front)
            .map(|(key, exp, size)| Candidate {
                db,
                phys,
                key,
                ttl: Some((exp, size)),
            }))
    }

    /// Of `n` candidates drawn by `draw` (one seek each), the one idle the longest (disk-only
    /// keys, and keys past their TTL, count as idlest).
    fn idlest(
        &mut self,
        n: usize,
        draw: fn(&mut Self, usize) -> StoreResult<Vec<Candidate>>,
    ) -> StoreResult<Vec<Candidate>> {
        let now = crate::now_ms();
        let mut best: Option<(u32, Candidate)> = None;
        for _ in 0..n.max(1) {
            let Some(c) = draw(self, 1)?.pop() else { break };
            let idle = match c.ttl {
                Some((exp, _)) if exp <= now => u32::MAX,
                _ => self.ks.hot.idle_secs(c.phys, &c.key).unwrap_or(u32::MAX),
            };
            if best.as_ref().is_none_or(|b| idle > b.0) {
                best = Some((idle, c));
            }
        }
        Ok(best.map(|b| b.1).into_iter().collect())
    }

    /// The next victims under `policy` (a run of up to [`RUN`] for the random policies, one
    /// for the others), and whether they must still have a TTL when they are evicted. Empty:
    /// the policy has nothing it may evict.
    fn victims(&mut self, policy: EvictionPolicy) -> StoreResult<(Vec<Candidate>, bool)> {
        let samples = self.ks.cap.samples();
        Ok(match policy {
            EvictionPolicy::NoEviction => (Vec::new(), false),
            EvictionPolicy::OptimisticVolatile => {
                if self.ks.volatile_total() > 0 {
                    (self.volatile(RUN)?, true)
                } else {
                    (self.any(RUN)?, false)
                }
            }
            EvictionPolicy::VolatileRandom => (self.volatile(RUN)?, true),
            EvictionPolicy::AllkeysRandom => (self.any(RUN)?, false),
            EvictionPolicy::VolatileTtl => (self.soonest()?.into_iter().collect(), true),
            EvictionPolicy::VolatileLru => (self.idlest(samples, Self::volatile)?, true),
            EvictionPolicy::AllkeysLru => (self.idlest(samples, Self::any)?, false),
        })
    }
}

impl CapState {
    fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    fn policy(&self) -> EvictionPolicy {
        EvictionPolicy::from_index(self.policy.load(Ordering::Relaxed))
    }

    fn samples(&self) -> usize {
        self.samples.load(Ordering::Relaxed).max(1)
    }
}

impl Keyspace {
    /// Sets the cap (0: none), the policy and the sample size.
    pub fn set_cap(&self, max_bytes: u64, policy: EvictionPolicy, samples: usize) {
        self.cap.max.store(max_bytes, Ordering::Relaxed);
        self.cap.policy.store(policy.index(), Ordering::Relaxed);
        self.cap.samples.store(samples.max(1), Ordering::Relaxed);
    }

    /// The cap (0: none), the policy and the sample size in force.
    pub fn cap_settings(&self) -> (u64, EvictionPolicy, usize) {
        (self.cap.max(), self.cap.policy(), self.cap.samples())
    }

    /// Exact logical size of all databases (O(databases)).
    pub fn logical_size(&self) -> u64 {
        (0..self.databases()).map(|d| self.data_bytes(d)).sum()
    }

    /// Exact number of keys with a TTL, all databases together.
    fn volatile_total(&self) -> u64 {
        (0..self.databases())
            .filter_map(|d| self.storage.phys(d))
            .map(|p| self.storage.volatile_count(p))
            .sum()
    }

    /// Called before a command that may grow the data by about `growth` bytes. Under a
    /// policy that evicts, it may evict a few keys first; it never runs a bulk eviction.
    ///
    /// The command may run if the data then fits, or if the keys evicted for it freed at least
    /// `growth` bytes: while the background pass catches up with a lowered cap, writes go on
    /// without growing the data, instead of failing until the backlog is gone.
    ///
    /// The caller must not hold a transaction: eviction takes key locks (without waiting for
    /// them, so a held lock makes it skip that key rather than deadlock).
    pub fn check_cap(&self, growth: u64) -> Result<(), OverCap> {
        let max = self.cap.max();
        if max == 0 {
            return Ok(());
        }
        let fits = || self.logical_size().saturating_add(growth) <= max;
        if fits() {
            return Ok(());
        }
        let policy = self.cap.policy();
        if policy == EvictionPolicy::NoEviction || growth > max {
            return Err(OverCap);
        }
        let budget = self.cap.samples() * FOREGROUND_KEYS_PER_SAMPLE;
        let mut sampler = Sampler::new(self);
        let (mut removed, mut freed) = (0, 0);
        for _ in 0..budget {
            if removed >= budget || freed >= growth || fits() {
                break;
            }
            let step = sampler.victims(policy).and_then(|(run, volatile_only)| {
                if run.is_empty() {
                    return Ok(None);
                }
                self.evict_now(&run, volatile_only).map(Some)
            });
            match step {
                Ok(Some((n, bytes))) => {
                    removed += n;
                    freed += bytes;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "eviction at the data cap failed");
                    break;
                }
            }
        }
        if freed >= growth || fits() {
            Ok(())
        } else {
            Err(OverCap)
        }
    }

    /// One background pass: evicts (bounded) until the data is under the cap.
    pub fn cap_pass(&self) -> CapOutcome {
        let max = self.cap.max();
        if max == 0 || self.logical_size() <= max {
            return CapOutcome::Within;
        }
        let policy = self.cap.policy();
        let _span = tracing::debug_span!("cap_pass", policy = policy.name(), max).entered();
        let start = Instant::now();
        let mut sampler = Sampler::new(self);
        let (mut keys, mut bytes, mut misses) = (0, 0, 0);
        while keys < PASS_KEYS && start.elapsed() < PASS_TIME {
            let excess = self.logical_size().saturating_sub(max);
            if excess == 0 {
                break;
            }
            match self.evict_batch(&mut sampler, policy, excess) {
                Ok(Some((0, _))) => {
                    misses += 1;
                    if misses >= MAX_MISSES {
                        break;
                    }
                }
                Ok(Some((n, b))) => {
                    keys += n;
                    bytes += b;
                    misses = 0;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "eviction at the data cap failed");
                    break;
                }
            }
        }
        let outcome = if keys > 0 {
            CapOutcome::Evicted { keys, bytes }
        } else if self.logical_size() <= max {
            CapOutcome::Within
        } else {
            CapOutcome::Stuck
        };
        tracing::trace!(?outcome, size = self.logical_size(), "cap pass done");
        outcome
    }

    /// Average logical size of a key, to plan how many victims free `excess` bytes.
    fn average_key_size(&self) -> u64 {
        let keys: u64 = (0..self.databases()).map(|d| self.dbsize(d)).sum();
        self.logical_size().checked_div(keys).unwrap_or(0).max(1)
    }

    /// Plans up to [`BATCH`] victims that free about `excess` bytes and removes them in one
    /// transaction (one WAL write). Returns the keys and bytes removed, or None when the policy
    /// has nothing to evict.
    fn evict_batch(
        &self,
        sampler: &mut Sampler<'_>,
        policy: EvictionPolicy,
        excess: u64,
    ) -> StoreResult<Option<(usize, u64)>> {
        let avg = self.average_key_size();
        let mut plan: Vec<(Candidate, bool)> = Vec::new();
        let mut planned = 0;
        'plan: for _ in 0..BATCH {
            let (run, volatile_only) = sampler.victims(policy)?;
            if run.is_empty() {
                break;
            }
            for c in run {
                if plan.len() == BATCH || planned >= excess {
                    break 'plan;
                }
                if plan.iter().any(|(p, _)| p.db == c.db && p.key == c.key) {
                    continue;
                }
                planned += c.ttl.map_or(avg, |t| t.1);
                plan.push((c, volatile_only));
            }
            if plan.len() == BATCH || planned >= excess {
                break;
            }
        }
        if plan.is_empty() {
            return Ok(None);
        }
        let locks: Vec<(usize, &[u8])> = plan.iter().map(|(c, _)| (c.db, &c.key[..])).collect();
        let mut t = self.txn(&locks);
        let mut done = Vec::with_capacity(plan.len());
        for (c, volatile_only) in &plan {
            done.push(self.stage_eviction(&mut t, c, *volatile_only)?);
        }
        t.commit()?;
        Ok(Some(self.count_removed(&done)))
    }

    /// Evicts a run of candidates in the foreground, in one transaction, skipping those whose
    /// lock is held. Returns the keys and bytes removed.
    fn evict_now(&self, run: &[Candidate], volatile_only: bool) -> StoreResult<(usize, u64)> {
        let Some((mut t, locked)) = self.try_txn(run) else {
            return Ok((0, 0));
        };
        let mut done = Vec::with_capacity(run.len());
        for (c, ok) in run.iter().zip(locked) {
            if ok {
                done.push(self.stage_eviction(&mut t, c, volatile_only)?);
            }
        }
        t.commit()?;
        Ok(self.count_removed(&done))
    }

    /// Counts committed removals in `evicted_keys`; returns the keys and bytes removed.
    fn count_removed(&self, done: &[Removed]) -> (usize, u64) {
        let mut out = (0, 0);
        for r in done {
            match r {
                Removed::Evicted(n) => {
                    self.stats.evicted.fetch_add(1, Ordering::Relaxed);
                    out = (out.0 + 1, out.1 + n);
                }
                Removed::Expired(n) => out = (out.0 + 1, out.1 + n),
                Removed::Nothing => {}
            }
        }
        out
    }

    /// A transaction over the candidates' keys that never waits: a stripe another command
    /// holds is skipped, and so are its candidates (`false` in the returned mask). None when
    /// the keyspace gate itself is busy.
    fn try_txn(&self, run: &[Candidate]) -> Option<(Txn<'_>, Vec<bool>)> {
        let gate = self.gate.try_read()?;
        let mut order: Vec<(usize, usize)> = run
            .iter()
            .enumerate()
            .map(|(i, c)| (self.stripe(c.phys, &c.key), i))
            .collect();
        order.sort_unstable();
        let mut locked = vec![false; run.len()];
        let mut guards = crate::Guards::with_capacity(order.len());
        let mut last: Option<(usize, bool)> = None;
        for (stripe, i) in order {
            let held = match last {
                Some((s, held)) if s == stripe => held,
                _ => match self.stripes[stripe].try_lock() {
                    Some(g) => {
                        guards.push(g);
                        true
                    }
                    None => false,
                },
            };
            locked[i] = held;
            last = Some((stripe, held));
        }
        Some((Txn::new(self, gate, guards), locked))
    }

    /// Stages the removal of one candidate in `t`, which holds its lock, after reading it
    /// again: the key may have changed since it was sampled.
    fn stage_eviction(
        &self,
        t: &mut Txn<'_>,
        c: &Candidate,
        volatile_only: bool,
    ) -> StoreResult<Removed> {
        // The transaction holds the gate, so the db map cannot change under us.
        if self.storage.phys(c.db) != Some(c.phys) {
            return Ok(Removed::Nothing);
        }
        let now = t.now();
        if let Some((exp, size)) = c.ttl {
            if exp <= now {
                return Ok(if t.expire_due(c.db, &c.key, exp, size, now)? {
                    Removed::Expired(size)
                } else {
                    Removed::Nothing
                });
            }
        }
        match t.get(c.db, &c.key)? {
            Some(rec) if !volatile_only || rec.expire_ms != 0 => {
                let size = logical_size(&c.key, &rec);
                t.delete(c.db, &c.key)?;
                t.notify(crate::event_class::EVICTED, "evicted", c.db, &c.key);
                Ok(Removed::Evicted(size))
            }
            // Gone, past its TTL (`get` staged its removal), or no longer volatile.
            _ => Ok(Removed::Nothing),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use strata_storage::{Storage, StorageOptions};

    use super::*;
    use crate::{now_ms, KeyspaceOptions, Record};

    fn open(dir: &std::path::Path) -> Arc<Keyspace> {
        let s = Storage::open(&StorageOptions::new(dir)).expect("open");
        Keyspace::new(s, KeyspaceOptions::default())
    }

    /// Writes a string; every key and value in these tests is 10 bytes, so each key is 20.
    fn set(ks: &Keyspace, db: usize, k: &str, exp: u64) {
        let mut t = ks.txn(&[(db, k.as_bytes())]);
        let rec = Record {
            kind: crate::Kind::String,
            expire_ms: exp,
            body: Bytes::from(format!("{k:>10}")),
        };
        t.put(db, k.as_bytes(), rec).expect("put");
        t.commit().expect("commit");
    }

    fn exists(ks: &Keyspace, db: usize, k: &str) -> bool {
        let mut t = ks.txn(&[(db, k.as_bytes())]);
        let r = t.get(db, k.as_bytes()).expect("get").is_some();
        t.commit().expect("commit");
        r
    }

    fn del(ks: &Keyspace, db: usize, k: &str) {
        let mut t = ks.txn(&[(db, k.as_bytes())]);
        t.delete(db, k.as_bytes()).expect("del");
        t.commit().expect("commit");
    }

    /// Keys of `db` found by a full scan of disk: what DBSIZE must equal.
    fn scanned(ks: &Keyspace, db: usize) -> HashSet<Bytes> {
        let phys = ks.storage().phys(db).expect("db");
        let (rows, done) = ks.storage().scan(phys, None, usize::MAX).expect("scan");
        assert!(done);
        rows.into_iter().map(|r| r.0).collect()
    }

    /// Runs background passes until one reports something other than `Evicted`.
    fn settle(ks: &Keyspace) -> CapOutcome {
        for _ in 0..10_000 {
            match ks.cap_pass() {
                CapOutcome::Evicted { .. } => {}
                other => return other,
            }
        }
        panic!("cap passes never settled");
    }

    /// A 10-byte key name.
    fn name(prefix: &str, i: usize) -> String {
        format!("{prefix}{i:0>w$}", w = 10 - prefix.len())
    }

    #[test]
    fn policy_names_round_trip() {
        for p in EvictionPolicy::ALL {
            assert_eq!(p.name().parse::<EvictionPolicy>(), Ok(p));
            assert_eq!(EvictionPolicy::from_index(p.index()), p);
        }
        assert_eq!("ALLKEYS-LRU".parse(), Ok(EvictionPolicy::AllkeysLru));
        assert!("volatile-lfu".parse::<EvictionPolicy>().is_err());
    }

    #[test]
    fn no_cap_and_noeviction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        for i in 0..5 {
            set(&ks, 0, &name("k", i), 0);
        }
        assert_eq!(ks.logical_size(), 100);
        assert_eq!(ks.check_cap(u64::MAX / 2), Ok(()), "no cap by default");
        assert_eq!(ks.cap_pass(), CapOutcome::Within);

        ks.set_cap(120, EvictionPolicy::NoEviction, 5);
        assert_eq!(ks.check_cap(20), Ok(()));
        assert_eq!(ks.check_cap(21), Err(OverCap));
        assert_eq!(ks.cap_pass(), CapOutcome::Within);
        del(&ks, 0, &name("k", 0));
        assert_eq!(ks.check_cap(40), Ok(()), "deletes make room again");

        ks.set_cap(50, EvictionPolicy::NoEviction, 5);
        assert_eq!(ks.check_cap(0), Err(OverCap));
        assert_eq!(ks.cap_pass(), CapOutcome::Stuck);
        assert_eq!(ks.dbsize(0), 4, "noeviction removes nothing");
        ks.set_cap(0, EvictionPolicy::NoEviction, 5);
        assert_eq!(ks.check_cap(1 << 40), Ok(()));
    }

    #[test]
    fn optimistic_volatile_takes_ttl_keys_first_then_any() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let far = now_ms() + 3_600_000;
        for i in 0..50 {
            set(&ks, 0, &name("p", i), 0);
            set(&ks, 3, &name("v", i), far + i as u64);
        }
        // Every key is on disk only: sampling must not rely on the memory tier.
        ks.drop_hot(None, &[]);
        ks.set_cap(2000, EvictionPolicy::OptimisticVolatile, 5);
        let mut written = 0;
        // The foreground check makes room for each new (persistent) key.
        while ks.volatile_total() > 0 {
            assert_eq!(ks.check_cap(20), Ok(()));
            set(&ks, 1, &name("n", written), 0);
            written += 1;
            assert!(ks.logical_size() <= 2000);
            assert!((0..50).all(|i| exists(&ks, 0, &name("p", i))));
            assert!(written <= 60, "TTL keys are not being evicted");
        }
        assert_eq!(ks.dbsize(3), 0);
        // Without TTL keys left, any key goes.
        for _ in 0..50 {
            assert_eq!(ks.check_cap(20), Ok(()));
            set(&ks, 1, &name("n", written), 0);
            written += 1;
            assert!(ks.logical_size() <= 2000);
        }
        // A check evicts at most one run more than it needs.
        let left = ks.dbsize(0) + ks.dbsize(1);
        assert!(left <= 100 && left > 100 - RUN as u64, "{left} keys left");
        assert!(ks.dbsize(0) < 50, "old persistent keys were sampled too");
        let evicted = ks.stats.evicted.load(Ordering::Relaxed);
        assert_eq!(evicted, 50 + 50 + written as u64 - left);
        for db in [0, 1, 3] {
            assert_eq!(scanned(&ks, db).len() as u64, ks.dbsize(db));
        }
        // A write bigger than the whole cap is refused without evicting anything.
        assert_eq!(ks.check_cap(2001), Err(OverCap));
        assert_eq!(ks.dbsize(0) + ks.dbsize(1), left);
    }

    #[test]
    fn writes_go_on_without_growth_while_the_pass_lags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        for i in 0..100 {
            set(&ks, 0, &name("k", i), 0);
        }
        // A cap far below the data: the foreground check must not wait for the backlog.
        ks.set_cap(200, EvictionPolicy::AllkeysRandom, 5);
        for i in 0..20 {
            let before = ks.logical_size();
            assert_eq!(ks.check_cap(20), Ok(()));
            set(&ks, 1, &name("n", i), 0);
            assert!(
                ks.logical_size() <= before,
                "a write grew the data over the cap"
            );
        }
        // Policies that find nothing to evict still refuse.
        ks.set_cap(200, EvictionPolicy::VolatileRandom, 5);
        assert_eq!(ks.check_cap(20), Err(OverCap));
        ks.set_cap(200, EvictionPolicy::AllkeysRandom, 5);
        assert!(matches!(settle(&ks), CapOutcome::Within));
        assert!(ks.logical_size() <= 200);
        assert_eq!(ks.dbsize(0) + ks.dbsize(1), ks.logical_size() / 20);
    }

    #[test]
    fn background_passes_bring_every_policy_under_the_cap() {
        let far = now_ms() + 3_600_000;
        for policy in EvictionPolicy::ALL {
            let dir = tempfile::tempdir().expect("tempdir");
            let ks = open(dir.path());
            ks.set_cap(0, policy, 5);
            for i in 0..300 {
                set(&ks, i % 3, &name("p", i), 0);
            }
            for i in 0..100 {
                set(&ks, i % 2, &name("v", i), far + i as u64);
            }
            // Half of the keys on disk only, half in memory.
            for db in 0..3 {
                let keys: Vec<Bytes> = scanned(&ks, db).into_iter().step_by(2).collect();
                ks.drop_hot(Some(db), &keys);
            }
            assert_eq!(ks.logical_size(), 400 * 20);
            // Room for 250 keys: the 100 TTL keys alone cannot make room for volatile policies.
            ks.set_cap(5000, policy, 5);
            let outcome = settle(&ks);
            let volatile_left = ks.volatile_total();
            let persistent_left: u64 = (0..3)
                .map(|db| scanned(&ks, db).iter().filter(|k| k[0] == b'p').count() as u64)
                .sum();
            match policy {
                EvictionPolicy::NoEviction => {
                    assert_eq!(outcome, CapOutcome::Stuck);
                    assert_eq!(ks.logical_size(), 400 * 20);
                }
                EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
                | EvictionPolicy::VolatileLru => {
                    assert_eq!(outcome, CapOutcome::Stuck, "{policy:?}");
                    assert_eq!((volatile_left, persistent_left), (0, 300), "{policy:?}");
                }
                EvictionPolicy::OptimisticVolatile => {
                    assert_eq!(outcome, CapOutcome::Within);
                    assert_eq!((volatile_left, persistent_left), (0, 250));
                }
                EvictionPolicy::AllkeysRandom | EvictionPolicy::AllkeysLru => {
                    assert_eq!(outcome, CapOutcome::Within, "{policy:?}");
                    assert_eq!(ks.logical_size(), 5000, "{policy:?}");
                }
            }
            let total: u64 = (0..3).map(|db| ks.dbsize(db)).sum();
            assert_eq!(total, volatile_left + persistent_left, "{policy:?}");
            for db in 0..3 {
                assert_eq!(scanned(&ks, db).len() as u64, ks.dbsize(db), "{policy:?}");
            }
            if policy != EvictionPolicy::NoEviction {
                let evicted = ks.stats.evicted.load(Ordering::Relaxed);
                assert_eq!(evicted, 400 - total, "{policy:?}");
                assert!(ks.hot().len() as u64 <= total);
            }
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_nearest_expiry_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let base = now_ms() + 3_600_000;
        // Expiries interleaved across two dbs, written out of order.
        for i in (0..40).rev() {
            set(&ks, i % 2, &name("v", i), base + 1000 * i as u64);
        }
        set(&ks, 2, "persistent", 0);
        ks.drop_hot(None, &[]);
        ks.set_cap(30 * 20 + 20, EvictionPolicy::VolatileTtl, 5);
        assert!(matches!(settle(&ks), CapOutcome::Within));
        for i in 0..40 {
            assert_eq!(exists(&ks, i % 2, &name("v", i)), i >= 10, "key {i}");
        }
        assert!(exists(&ks, 2, "persistent"));
        // Through the foreground check too.
        for i in 0..5 {
            assert_eq!(ks.check_cap(20), Ok(()));
            set(&ks, 2, &name("n", i), 0);
            assert!(!exists(&ks, i % 2, &name("v", 10 + i)));
            assert!(exists(&ks, (i + 1) % 2, &name("v", 11 + i)));
        }
    }

    #[test]
    fn allkeys_lru_prefers_keys_only_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        // Even keys stay in memory, odd ones are on disk only.
        let mut cold = Vec::new();
        for i in 0..80 {
            set(&ks, 0, &name("k", i), 0);
            if i % 2 == 1 {
                cold.push(Bytes::from(name("k", i)));
            }
        }
        ks.drop_hot(Some(0), &cold);
        ks.set_cap(70 * 20, EvictionPolicy::AllkeysLru, 32);
        assert!(matches!(settle(&ks), CapOutcome::Within));
        assert!((0..80).step_by(2).all(|i| exists(&ks, 0, &name("k", i))));
        assert_eq!(ks.dbsize(0), 70);
    }

    #[test]
    fn expired_keys_found_by_sampling_are_expired_not_evicted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let past = now_ms() - 1;
        for i in 0..10 {
            set(&ks, 0, &name("gone", i), past);
            set(&ks, 0, &name("live", i), 0);
        }
        ks.set_cap(10 * 20, EvictionPolicy::VolatileRandom, 5);
        assert!(matches!(settle(&ks), CapOutcome::Within));
        assert_eq!(ks.dbsize(0), 10);
        assert_eq!(ks.stats.evicted.load(Ordering::Relaxed), 0);
        assert_eq!(ks.stats.expired.load(Ordering::Relaxed), 10);
    }
}
