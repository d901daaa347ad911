//! Per-collection hints kept in memory only: dropping them changes speed, never a reply.
//!
//! # Pop churn
//! A collection drained by pops (SPOP, ZPOPMIN, ...) leaves a deleted record per
//! element, and every later iterator over the collection (the sampling behind SPOP, the ends of
//! a sorted set) steps over them until a compaction drops them: draining a set of n members
//! cost O(n) per pop near the end. The keyspace counts pops per collection and, once they
//! outnumber its live elements (plus [`SLACK`]), compacts just that collection's key range in
//! the background (a compaction of a range flushes the memtables that overlap it first, where a
//! drain's markers are), so a pop steps over about one deleted record per live one at most.
//! Waiting for twice the live elements, SPOP at `-P 1` drained a 30,000-member set at 24k pops/s
//! with a 24 ms p99; now 33k pops/s, p99 6 ms. Compactions of a collection are spaced by half a
//! second when just due and less as its pops pile up ([`interval`]): a queue-like workload (SADD
//! and SPOP of one set at once) then compacts 4-5 times a second rather than twice, for the
//! same or better throughput.
//!
//! # Ends of a score index
//! ZPOPMIN pops from the low end of a sorted set's score index, so every pop left a deleted
//! record where the next pop's scan starts: draining 113,000 members at `-P 16` ran at 286
//! pops/s, each scan stepping over all the pops before it (the pop compactions above come only
//! once the pops outnumber the live members). A scan from either end of a score index now
//! starts at the key where the last such scan found its first entry: nothing live lies beyond
//! it. Staging a score entry beyond a remembered end moves the end out to it
//! (ZADD), so the bound holds for every read after it, in a pipeline group too; a remembered
//! end is only ever a key that was stored (or staged) when read, never one a pending pop
//! removed, so a group that fails to commit leaves it true.
//!
//! # Samplers
//! Random picks (SPOP, SRANDMEMBER, HRANDFIELD) probe with an [`ElemSampler`] learnt from the
//! collection's first and last elements: two iterator reads, one of them in reverse, cost more
//! than the pick itself (in a set drained by SPOP, 460,000 instructions for the two, the
//! reverse one stepping over deletion markers). A sampler is reused for a number of picks that
//! grows with the collection, a sixteenth of its elements (see [`sampler_uses`]), so that it is
//! learnt again before the picks could have changed much of it. A stale one only makes picks a
//! little less uniform, as every probe still lands on a live element.

use std::collections::HashMap as StdMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use strata_storage::Storage;

use crate::ElemSampler;

/// The hints' maps. Every pop looks its collection up two or three times: SipHash, std's
/// default, cost 230 instructions a lookup there.
type HashMap<K, V> = StdMap<K, V, ahash::RandomState>;

/// Picks served by a sampler learnt from a collection of `len` elements before it is learnt
/// again: a sixteenth of them, between 64 and 4,096.
pub(crate) fn sampler_uses(len: u64) -> u32 {
    (len / 16).clamp(64, 4096) as u32
}

/// Pops a collection may take beyond its live length before its range is compacted.
const SLACK: u64 = 256;
/// A compaction starts at most this long after the last one when it is just due, so a queue-like
/// workload cannot keep the disk busy with back-to-back compactions (each flushes the memtables
/// first); sooner as the pops outnumber the live elements further ([`interval`]).
const MIN_INTERVAL: Duration = Duration::from_millis(500);
/// The shortest wait between two compactions, however drained the collection.
const MIN_GAP: Duration = Duration::from_millis(50);
/// Collections tracked at once; beyond it the counts start over (they are only hints).
const MAX_TRACKED: usize = 10_000;

/// How long after the last compaction a collection with `pops` deleted records and `live`
/// elements may be compacted: [`MIN_INTERVAL`] when the pops just reach `live` + [`SLACK`], and
/// in proportion shorter as they outnumber it, down to [`MIN_GAP`]. Near the end of a drain
/// the live elements are few and each pick steps over many deleted records: with a fixed half
/// second, SPOP at `-P 16` drained the last 8,000 members of a 113,000-member set without a
/// compaction, from 40k down to 9k pops/s (p99 over the whole drain 109 ms; 52 ms now).
fn interval(pops: u64, live: u64) -> Duration {
    let due = live.saturating_add(SLACK) as f64;
    MIN_INTERVAL
        .mul_f64((due / pops.max(1) as f64).min(1.0))
        .max(MIN_GAP)
}

/// Runs `f` on the entry of `prefix` in `m`, made if missing. A map already tracking
/// [`MAX_TRACKED`] collections starts over first (these are hints); a known prefix is found
/// without copying it.
fn with_tracked<V: Default, R>(
    m: &mut HashMap<Vec<u8>, V>,
    prefix: &[u8],
    f: impl FnOnce(&mut V) -> R,
) -> R {
    if let Some(v) = m.get_mut(prefix) {
        return f(v);
    }
    if m.len() >= MAX_TRACKED {
        m.clear();
    }
    f(m.entry(prefix.to_vec()).or_default())
}

#[derive(Default)]
pub(crate) struct Hints {
    /// Element-key prefix (db, key, version) → pops since its last compaction.
    pops: Mutex<HashMap<Vec<u8>, u64>>,
    busy: Arc<AtomicBool>,
    last: Mutex<Option<Instant>>,
    /// Compactions started (INFO `collection_compactions`).
    pub(crate) compactions: Arc<AtomicU64>,
    /// Element-key prefix → sampler and the picks it may still serve.
    samplers: Mutex<HashMap<Vec<u8>, (ElemSampler, u32)>>,
    /// Score-index prefix → its remembered ends (see *Ends of a score index*).
    ends: Mutex<HashMap<Vec<u8>, Ends>>,
    /// Whether `ends` may hold anything: a ZADD checks it before taking the lock.
    any_ends: AtomicBool,
}

/// The keys (whole score-index keys) no live entry of a sorted set lies below and above.
#[derive(Default)]
struct Ends {
    low: Option<Vec<u8>>,
    high: Option<Vec<u8>>,
}

impl Hints {
    /// Records `popped` elements removed from the collection whose element keys start with
    /// `prefix` and that has `live` left; starts a compaction of its range when due.
    pub(crate) fn note(&self, storage: &Arc<Storage>, prefix: &[u8], popped: u64, live: u64) {
        let due = {
            let mut pops = self.pops.lock();
            with_tracked(&mut pops, prefix, |n: &mut u64| {
                *n += popped;
                (*n >= live.saturating_add(SLACK)).then_some(*n)
            })
        };
        let Some(pops) = due else {
            return;
        };
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut last = self.last.lock();
            if last.is_some_and(|t| t.elapsed() < interval(pops, live)) {
                self.busy.store(false, Ordering::Release);
                return;
            }
            *last = Some(Instant::now());
        }
        self.pops.lock().remove(prefix);
        self.compactions.fetch_add(1, Ordering::Relaxed);
        let (storage, busy) = (storage.clone(), self.busy.clone());
        let (lo, end) = (prefix.to_vec(), crate::coll::elem_prefix_end(prefix));
        let spawned = std::thread::Builder::new()
            .name("pop-compact".into())
            .spawn(move || {
                storage.compact_elems(&lo, &end);
                busy.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.busy.store(false, Ordering::Release);
        }
    }

    /// A sampler learnt for the collection at `prefix` that may serve one more pick.
    pub(crate) fn sampler(&self, prefix: &[u8]) -> Option<ElemSampler> {
        let mut m = self.samplers.lock();
        let (s, left) = m.get_mut(prefix)?;
        *left -= 1;
        let s = s.clone();
        if *left == 0 {
            m.remove(prefix);
        }
        Some(s)
    }

    /// The remembered end of the score index at `prefix`: its low end, or (`high`) its high end.
    pub(crate) fn end(&self, prefix: &[u8], high: bool) -> Option<Vec<u8>> {
        if !self.any_ends.load(Ordering::Acquire) {
            return None;
        }
        let m = self.ends.lock();
        let e = m.get(prefix)?;
        if high {
            e.high.clone()
        } else {
            e.low.clone()
        }
    }

    /// Remembers `key` as an end of the score index at `prefix`: the first entry a scan from
    /// that end found, stored or staged, with the scan holding the collection's lock.
    pub(crate) fn learn_end(&self, prefix: &[u8], high: bool, key: Vec<u8>) {
        with_tracked(&mut self.ends.lock(), prefix, |e: &mut Ends| {
            if high {
                e.high = Some(key);
            } else {
                e.low = Some(key);
            }
        });
        self.any_ends.store(true, Ordering::Release);
    }

    /// A score entry `key` is being staged at `prefix`: moves a remembered end out to it.
    pub(crate) fn widen_ends(&self, prefix: &[u8], key: &[u8]) {
        if !self.any_ends.load(Ordering::Acquire) {
            return;
        }
        let mut m = self.ends.lock();
        let Some(e) = m.get_mut(prefix) else {
            return;
        };
        if e.low.as_deref().is_some_and(|low| key < low) {
            e.low = Some(key.to_vec());
        }
        if e.high.as_deref().is_some_and(|high| key > high) {
            e.high = Some(key.to_vec());
        }
    }

    /// Keeps a sampler freshly learnt from a collection of `len` elements.
    pub(crate) fn keep_sampler(&self, prefix: &[u8], s: &ElemSampler, len: u64) {
        with_tracked(&mut self.samplers.lock(), prefix, |e| {
            *e = (s.clone(), sampler_uses(len));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_more_pops_per_live_element_the_sooner_a_compaction() {
        assert_eq!(interval(1_256, 1_000), MIN_INTERVAL);
        assert_eq!(interval(2_512, 1_000), MIN_INTERVAL / 2);
        assert_eq!(interval(5_024, 1_000), MIN_INTERVAL / 4);
        assert_eq!(interval(1_000_000, 0), MIN_GAP);
        // Never longer than the base interval, nor a division by zero.
        assert_eq!(interval(0, 0), MIN_INTERVAL);
    }

    #[test]
    fn a_sampler_serves_a_sixteenth_of_its_collection_in_picks() {
        assert_eq!(sampler_uses(0), 64);
        assert_eq!(sampler_uses(16_000), 1_000);
        assert_eq!(sampler_uses(u64::MAX), 4_096);
        let h = Hints::default();
        let s = ElemSampler::default();
        h.keep_sampler(b"p", &s, 1_600);
        assert!((0..100).all(|_| h.sampler(b"p").is_some()));
        assert!(h.sampler(b"p").is_none(), "learnt again after 100 picks");
    }

    #[test]
    fn a_full_map_starts_over_only_for_a_new_collection() {
        let mut m: HashMap<Vec<u8>, u64> = HashMap::default();
        for i in 0..MAX_TRACKED as u64 {
            with_tracked(&mut m, &i.to_be_bytes(), |n| *n = i + 1);
        }
        // A collection it tracks is found, and nothing is dropped.
        assert_eq!(with_tracked(&mut m, &7u64.to_be_bytes(), |n| *n), 8);
        assert_eq!(m.len(), MAX_TRACKED);
        // A new one starts the map over.
        assert_eq!(with_tracked(&mut m, b"new", |n| *n), 0);
        assert_eq!(m.len(), 1);
    }
}
