//! The logical data cap (`max-data-size`) and its eviction policies.
//! (Stub: to be implemented.)

use std::str::FromStr;

use crate::Keyspace;

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

impl FromStr for EvictionPolicy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "noeviction" => EvictionPolicy::NoEviction,
            "optimistic-volatile" => EvictionPolicy::OptimisticVolatile,
            "volatile-random" => EvictionPolicy::VolatileRandom,
            "allkeys-random" => EvictionPolicy::AllkeysRandom,
            "volatile-ttl" => EvictionPolicy::VolatileTtl,
            "volatile-lru" => EvictionPolicy::VolatileLru,
            "allkeys-lru" => EvictionPolicy::AllkeysLru,
            _ => return Err(()),
        })
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
        /// Keys removed.
        keys: usize,
        /// Logical bytes removed.
        bytes: u64,
    },
    /// Over the cap and the policy found nothing it may evict.
    Stuck,
}

/// Cap settings and state.
#[derive(Debug, Default)]
pub struct CapState {}

impl Keyspace {
    /// Sets the cap (0: none), the policy and the sample size.
    pub fn set_cap(&self, _max_bytes: u64, _policy: EvictionPolicy, _samples: usize) {}

    /// Exact logical size of all databases (O(databases)).
    pub fn logical_size(&self) -> u64 {
        (0..self.databases()).map(|d| self.data_bytes(d)).sum()
    }

    /// Called before a command that may grow the data by about `growth` bytes. Under a
    /// policy that evicts, it may evict a few keys first; it never runs a bulk eviction.
    pub fn check_cap(&self, _growth: u64) -> Result<(), OverCap> {
        Ok(())
    }

    /// One background pass: evicts (bounded) until the data is under the cap.
    pub fn cap_pass(&self) -> CapOutcome {
        CapOutcome::Within
    }
}
