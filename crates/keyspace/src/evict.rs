//! The hot-tier evictor: keeps the memory tier between a low and a high watermark, and drops
//! entries that have been idle for `hot-idle-seconds`, in the background.
//!
//! # Mechanics
//!
//! The server runs [`Keyspace::evict_pass`] every 50 ms on tokio's blocking pool. A pass:
//!
//! 0. **Measure** the hash tables' allocation (one read lock per shard, in turn), which is part
//!    of the tier's charge (`crate::hot`, *Accounting*).
//! 1. **Idle sweep** (when `hot-idle-seconds` > 0, at most every `hot-idle-seconds / 4`, clamped
//!    to 100 ms ..= 1 s): drops every entry unused for longer than `hot-idle-seconds`, with
//!    `DashMap::retain`, which write-locks one shard at a time.
//! 2. **Plan** (only when the tier's charge is over the budget): one read-only scan builds a
//!    histogram of charged bytes per idle-age bucket. Buckets are log-spaced, four per doubling
//!    of the age in ticks of 100 ms (124 buckets cover the `u32` clock). Walking the histogram
//!    from the oldest bucket down gives the cutoff bucket: every older bucket goes entirely, and
//!    the cutoff bucket gives what is still missing to reach the low watermark.
//! 3. **Act**: a second scan copies the victims' keys (oldest buckets first, by the plan) and
//!    stops as soon as the plan is covered; then each victim is removed with
//!    `DashMap::remove_if`, which re-checks its age, so an entry read since the plan stays.
//!    Removal stops once the tier is at the low watermark.
//! 4. **Measure again**: when concurrent writes kept the tier above the low watermark, the pass
//!    plans again, at most [`MAX_ROUNDS`] times; the next pass carries on.
//! 5. **Shrink** the maps whose tables are less than an eighth full (tables never shrink by
//!    themselves; this rehashes one shard at a time, and only happens after most of a map went,
//!    as a table's load never drops under 7/16 by eviction to the low watermark alone) and
//!    measure them again.
//!
//! Scans hold one shard's read lock at a time (reads of that shard proceed, its writers wait for
//! the shard's scan only); a removal write-locks one shard for one key. No key lock is taken:
//! removing an entry from memory is always safe, because memory is a cache of disk, inserts
//! happen under key locks after the disk commit, and a removal can never make memory stale. The
//! evictor never inserts. A pass costs O(entries) per round, and its transient memory (the
//! victims' keys) is bounded by the bytes it frees.
//!
//! # Policy
//!
//! - **Watermarks:** high = the tier's budget (`hot-memory` minus RocksDB's share), low = 90 % of
//!   it. A pass that starts frees about a tenth of the budget at once, so passes do not run for
//!   every write.
//! - **Victims:** least recently used first, approximately: ages are compared at the resolution
//!   of their bucket (about 19 %), and entries of one bucket go in map order.
//! - **Idle entries** leave memory whatever the budget, between `hot-idle-seconds` and
//!   `hot-idle-seconds` + ¼ of it (at most 1 s) + one period after their last use.
//! - **Writes never wait:** `HotTier::put` admits entries up to a hard ceiling,
//!   `budget + min(budget / 4, 64 MiB)`. Above it a written or read key stays disk-only until
//!   the evictor has made room; no write ever runs an eviction.
//! - **One pass at a time:** a pass that finds another one running returns `WithinBudget`.

use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::hot::TICKS_PER_SEC;
use crate::Keyspace;

/// Plan-and-act rounds per pass at most; the next pass continues.
const MAX_ROUNDS: usize = 4;

/// Age buckets: ages 0..4 ticks have a bucket each, then four buckets per doubling.
const BUCKETS: usize = bucket(u32::MAX) + 1;

/// What one evictor pass did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvictOutcome {
    /// The tier was within its budget and nothing was idle: nothing dropped.
    WithinBudget,
    /// Entries were dropped from memory (they stay on disk).
    Dropped {
        /// Entries dropped.
        entries: usize,
        /// Bytes released from the tier's accounting.
        bytes: usize,
    },
}

/// Evictor state kept between passes.
#[derive(Debug, Default)]
pub struct EvictState {
    /// Held by the running pass, so that passes never overlap (tests may call one while the
    /// server's task runs).
    running: Mutex<()>,
    /// The tier clock's tick at which the next idle sweep is due (0: at once).
    next_idle_sweep: AtomicU32,
}

/// The age bucket of an age in ticks.
const fn bucket(age: u32) -> usize {
    if age < 4 {
        return age as usize;
    }
    let msb = 31 - age.leading_zeros();
    let sub = (age >> (msb - 2)) & 3;
    (4 * (msb - 1) + sub) as usize
}

/// The smallest age in bucket `b`.
const fn bucket_floor(b: usize) -> u32 {
    if b < 4 {
        return b as u32;
    }
    let msb = b / 4 + 1;
    let sub = (b % 4) as u32;
    (4 + sub) << (msb - 2)
}

/// Which entries a round drops.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// Every bucket above this one goes entirely.
    cut: usize,
    /// Bytes to take from the cutoff bucket itself.
    from_cut: usize,
}

impl Plan {
    /// The plan that frees `excess` bytes from the oldest buckets of `hist`.
    fn new(hist: &[usize; BUCKETS], excess: usize) -> Plan {
        let mut older = 0;
        for b in (0..BUCKETS).rev() {
            if older + hist[b] >= excess {
                return Plan {
                    cut: b,
                    from_cut: excess - older,
                };
            }
            older += hist[b];
        }
        // The tier shrank since it was measured: everything goes.
        Plan {
            cut: 0,
            from_cut: usize::MAX,
        }
    }
}

impl Keyspace {
    /// One evictor pass: drops idle entries, then, if the tier is over its budget, the least
    /// recently used entries down to the low watermark. Never blocks writers for long: no map
    /// shard is held for more than one shard's scan. Never takes key locks, never inserts.
    pub fn evict_pass(&self) -> EvictOutcome {
        let Some(_running) = self.evictor.running.try_lock() else {
            return EvictOutcome::WithinBudget;
        };
        let _span = tracing::debug_span!("evict_pass").entered();
        self.hot.tick();
        self.hot.measure_tables();
        let (idle_n, idle_b) = self.idle_sweep();
        let (lru_n, lru_b) = self.shrink_to_low_watermark();
        let (entries, bytes) = (idle_n + lru_n, idle_b + lru_b);
        self.hot.shrink_tables();
        if entries == 0 {
            return EvictOutcome::WithinBudget;
        }
        tracing::debug!(
            idle = idle_n,
            lru = lru_n,
            bytes,
            used = self.hot.used_bytes(),
            budget = self.hot.budget(),
            "evictor pass"
        );
        EvictOutcome::Dropped { entries, bytes }
    }

    /// Drops the entries unused for longer than `hot-idle-seconds`, when a sweep is due.
    fn idle_sweep(&self) -> (usize, usize) {
        let hot = &self.hot;
        let idle = hot.idle_seconds();
        if idle == 0 {
            return (0, 0);
        }
        let now = hot.now_ticks();
        if now < self.evictor.next_idle_sweep.load(Ordering::Relaxed) {
            return (0, 0);
        }
        let idle_ticks = idle
            .saturating_mul(TICKS_PER_SEC)
            .min(u64::from(u32::MAX - 1)) as u32;
        let every = (idle_ticks / 4).clamp(1, TICKS_PER_SEC as u32);
        self.evictor
            .next_idle_sweep
            .store(now.saturating_add(every), Ordering::Relaxed);
        // Ticks are truncated, so an age of `idle_ticks` may be a little less than the setting.
        let min_age = idle_ticks + 1;
        (0..hot.maps() as u16)
            .map(|phys| hot.evict_idle(phys, now, min_age))
            .fold((0, 0), |(n, b), (n2, b2)| (n + n2, b + b2))
    }

    /// When the tier is over its budget, drops the least recently used entries until it is at
    /// the low watermark (or [`MAX_ROUNDS`] rounds are done).
    fn shrink_to_low_watermark(&self) -> (usize, usize) {
        let budget = usize::try_from(self.hot.budget()).unwrap_or(usize::MAX);
        if self.hot.used_bytes() <= budget {
            return (0, 0);
        }
        let low = budget - budget / 10;
        let (mut entries, mut bytes) = (0, 0);
        for _ in 0..MAX_ROUNDS {
            let used = self.hot.used_bytes();
            if used <= low {
                break;
            }
            let (n, b) = self.lru_round(used - low, low);
            entries += n;
            bytes += b;
            if n == 0 {
                break;
            }
        }
        (entries, bytes)
    }

    /// One plan-and-act round that frees about `excess` bytes, oldest entries first, and stops
    /// at the `low` watermark.
    fn lru_round(&self, excess: usize, low: usize) -> (usize, usize) {
        let hot = &self.hot;
        let now = hot.now_ticks();
        let mut hist = [0usize; BUCKETS];
        for phys in 0..hot.maps() as u16 {
            hot.scan(phys, now, |_, age, c| {
                hist[bucket(age)] += c;
                true
            });
        }
        let plan = Plan::new(&hist, excess);
        let min_age = bucket_floor(plan.cut);
        tracing::debug!(
            excess,
            cutoff_secs = min_age / TICKS_PER_SEC as u32,
            "evictor plan"
        );
        let (mut planned, mut from_cut) = (0usize, 0usize);
        let (mut entries, mut freed) = (0, 0);
        // Victims' keys, back to back, and where each ends.
        let (mut keys, mut ends) = (Vec::<u8>::new(), Vec::<usize>::new());
        for phys in 0..hot.maps() as u16 {
            if planned >= excess || hot.used_bytes() <= low {
                break;
            }
            keys.clear();
            ends.clear();
            hot.scan(phys, now, |e, age, c| {
                let b = bucket(age);
                if b > plan.cut || (b == plan.cut && from_cut < plan.from_cut) {
                    keys.extend_from_slice(e.key());
                    ends.push(keys.len());
                    planned += c;
                    if b == plan.cut {
                        from_cut += c;
                    }
                }
                planned < excess
            });
            let mut start = 0;
            for &end in &ends {
                if hot.used_bytes() <= low {
                    break;
                }
                if let Some(c) = hot.evict_if_idle(phys, &keys[start..end], now, min_age) {
                    entries += 1;
                    freed += c;
                }
                start = end;
            }
        }
        (entries, freed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use strata_storage::{Storage, StorageOptions};

    use super::*;
    use crate::{KeyspaceOptions, Record, Tier};

    fn open(dir: &std::path::Path, hot_memory: u64) -> Arc<Keyspace> {
        let s = Storage::open(&StorageOptions::new(dir)).expect("open");
        Keyspace::new(
            s,
            KeyspaceOptions {
                hot_memory,
                ..KeyspaceOptions::default()
            },
        )
    }

    fn value(key: &str, len: usize) -> Bytes {
        key.bytes().cycle().take(len).collect::<Vec<u8>>().into()
    }

    fn set(ks: &Keyspace, key: &str, body: Bytes) {
        let mut t = ks.txn(&[(0, key.as_bytes())]);
        t.put(0, key.as_bytes(), Record::string(body)).expect("put");
        t.commit().expect("commit");
    }

    fn get(ks: &Keyspace, key: &str) -> Option<Bytes> {
        let mut t = ks.txn(&[(0, key.as_bytes())]);
        let r = t.get(0, key.as_bytes()).expect("get").map(|r| r.body);
        t.commit().expect("commit");
        r
    }

    fn cached(ks: &Keyspace, key: &str) -> bool {
        ks.hot.peek(0, key.as_bytes()).is_some()
    }

    #[test]
    fn buckets_are_log_spaced_and_contiguous() {
        assert_eq!(BUCKETS, 124);
        for age in [
            0u32,
            1,
            3,
            4,
            5,
            7,
            8,
            9,
            15,
            16,
            100,
            1000,
            65_535,
            u32::MAX,
        ] {
            let b = bucket(age);
            assert!(bucket_floor(b) <= age, "age {age} in bucket {b}");
            if b + 1 < BUCKETS {
                assert!(
                    bucket_floor(b + 1) > age,
                    "age {age} below bucket {}",
                    b + 1
                );
            }
        }
        for b in 1..BUCKETS {
            assert_eq!(bucket(bucket_floor(b)), b);
            assert_eq!(bucket(bucket_floor(b) - 1), b - 1);
        }
    }

    #[test]
    fn plan_takes_the_oldest_buckets_first() {
        let mut hist = [0; BUCKETS];
        hist[2] = 100;
        hist[10] = 50;
        hist[40] = 30;
        assert_eq!(
            Plan::new(&hist, 20),
            Plan {
                cut: 40,
                from_cut: 20
            }
        );
        assert_eq!(
            Plan::new(&hist, 30),
            Plan {
                cut: 40,
                from_cut: 30
            }
        );
        assert_eq!(
            Plan::new(&hist, 60),
            Plan {
                cut: 10,
                from_cut: 30
            }
        );
        assert_eq!(
            Plan::new(&hist, 180),
            Plan {
                cut: 2,
                from_cut: 100
            }
        );
        assert_eq!(Plan::new(&hist, 500).cut, 0);
    }

    #[test]
    fn passes_keep_the_tier_within_budget_and_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path(), 256 << 10);
        let budget = ks.hot().budget() as usize;
        let low = budget - budget / 10;
        let mut dropped = 0;
        for chunk in 0..6 {
            for i in chunk * 800..(chunk + 1) * 800 {
                let k = format!("key:{i:05}");
                set(&ks, &k, value(&k, 400));
            }
            assert!(ks.hot().used_bytes() as u64 <= ks.hot().ceiling());
            assert!(
                ks.hot().used_bytes() > budget,
                "800 entries overfill the tier"
            );
            match ks.evict_pass() {
                EvictOutcome::Dropped { entries, bytes } => {
                    assert!(entries > 0 && bytes > 0);
                    dropped += entries;
                }
                other => panic!("over budget, yet {other:?}"),
            }
            assert!(
                ks.hot().used_bytes() <= low,
                "a pass reaches the low watermark"
            );
            assert!(ks.hot().used_bytes() > low / 2, "and stops near it");
            assert_eq!(ks.evict_pass(), EvictOutcome::WithinBudget);
        }
        assert_eq!(ks.hot().dropped.load(Ordering::Relaxed), dropped as u64);
        assert_eq!(ks.dbsize(0), 4800);
        let gone = (0..4800)
            .map(|i| format!("key:{i:05}"))
            .find(|k| !cached(&ks, k))
            .expect("some key left memory");
        assert_eq!(ks.tier_of(0, gone.as_bytes()).expect("tier"), Tier::Disk);
        assert_eq!(get(&ks, &gone), Some(value(&gone, 400)));
        assert_eq!(ks.tier_of(0, gone.as_bytes()).expect("tier"), Tier::Memory);
        for i in 0..4800 {
            let k = format!("key:{i:05}");
            assert_eq!(get(&ks, &k), Some(value(&k, 400)), "{k}");
            if i % 500 == 0 {
                ks.evict_pass();
            }
        }
    }

    #[test]
    fn older_entries_go_before_recently_read_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path(), 64 << 20);
        fn names(g: &'static str) -> impl Iterator<Item = String> {
            (0..100).map(move |i| format!("{g}:{i:03}"))
        }
        for k in names("a") {
            set(&ks, &k, value(&k, 100));
        }
        ks.hot.advance_clock(100);
        for k in names("b") {
            set(&ks, &k, value(&k, 100));
        }
        ks.hot.advance_clock(10);
        for k in names("c") {
            set(&ks, &k, value(&k, 100));
        }
        ks.hot.advance_clock(1);
        // Reading 20 of the oldest makes them the most recent.
        for k in names("a").take(20) {
            assert!(get(&ks, &k).is_some());
        }
        let tables = ks.hot.measure_tables();
        let each = (ks.hot().used_bytes() - tables) / 300;
        // Room for about 170 entries at the low watermark: 20 read + all of c + half of b.
        ks.hot().set_budget(((tables + 170 * each) * 10 / 9) as u64);
        assert!(matches!(ks.evict_pass(), EvictOutcome::Dropped { entries, .. } if entries > 100));
        assert!(
            names("a").skip(20).all(|k| !cached(&ks, &k)),
            "the oldest went"
        );
        assert!(
            names("a").take(20).all(|k| cached(&ks, &k)),
            "read entries stayed"
        );
        assert!(names("c").all(|k| cached(&ks, &k)), "the newest stayed");
        let b = names("b").filter(|k| cached(&ks, k)).count();
        assert!(
            (40..=60).contains(&b),
            "{b} of the middle generation stayed"
        );
        for k in names("a").chain(names("b")) {
            assert_eq!(get(&ks, &k), Some(value(&k, 100)));
        }
    }

    #[test]
    fn idle_eviction_drops_only_idle_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path(), 64 << 20);
        for i in 0..10 {
            set(&ks, &format!("old:{i}"), value("old", 10));
        }
        ks.hot.advance_clock(30);
        assert_eq!(
            ks.evict_pass(),
            EvictOutcome::WithinBudget,
            "idle eviction is off"
        );
        ks.hot().set_idle_seconds(20);
        for i in 0..10 {
            set(&ks, &format!("new:{i}"), value("new", 10));
        }
        assert!(matches!(
            ks.evict_pass(),
            EvictOutcome::Dropped { entries: 10, .. }
        ));
        assert_eq!(ks.hot().len(), 10);
        assert!((0..10).all(|i| cached(&ks, &format!("new:{i}"))));
        ks.hot.advance_clock(15);
        assert_eq!(ks.evict_pass(), EvictOutcome::WithinBudget);
        assert!(get(&ks, "new:0").is_some(), "a read keeps an entry");
        ks.hot.advance_clock(6);
        assert!(matches!(
            ks.evict_pass(),
            EvictOutcome::Dropped { entries: 9, .. }
        ));
        assert_eq!(ks.hot().len(), 1);
        assert!(cached(&ks, "new:0"));
        assert_eq!(ks.hot().dropped.load(Ordering::Relaxed), 19);
        assert_eq!(get(&ks, "old:3"), Some(value("old", 10)));
        assert_eq!(get(&ks, "new:3"), Some(value("new", 10)));
        assert_eq!(ks.dbsize(0), 20);
    }

    #[test]
    fn evicting_under_concurrent_writes_keeps_memory_equal_to_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path(), 64 << 10);
        let stop = Arc::new(AtomicBool::new(false));
        let evictor = {
            let (ks, stop) = (ks.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut passes = 0;
                while !stop.load(Ordering::Relaxed) {
                    ks.evict_pass();
                    passes += 1;
                }
                passes
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let ks = ks.clone();
                std::thread::spawn(move || {
                    for round in 0..5 {
                        for i in 0..300 {
                            let k = format!("w{t}:{i}");
                            set(&ks, &k, value(&format!("{k}/{round}"), 150));
                            if i % 3 == 0 {
                                get(&ks, &format!("w{t}:{}", i / 2));
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        stop.store(true, Ordering::Relaxed);
        assert!(evictor.join().expect("evictor") > 0);
        ks.evict_pass();
        assert!(ks.hot().used_bytes() <= ks.hot().budget() as usize);
        assert!(ks.hot().dropped.load(Ordering::Relaxed) > 0);
        for t in 0..4 {
            for i in 0..300 {
                let k = format!("w{t}:{i}");
                let want = value(&format!("{k}/4"), 150);
                if let Some(rec) = ks.hot.peek(0, k.as_bytes()) {
                    assert_eq!(rec.body, want, "memory equals disk for {k}");
                }
                assert_eq!(get(&ks, &k), Some(want), "{k}");
            }
        }
        ks.drop_hot(None, &[]);
        assert_eq!(ks.hot().used_bytes(), 0, "the accounting did not drift");
    }
}
