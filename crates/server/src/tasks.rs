//! Background tasks.
//!
//! # Active expiry
//! ## Mechanics
//! `hz` times a second, walk the on-disk ttl index of every database up to now, and remove each
//! due key under its lock, whether it is in memory or only on disk. Each pass runs on the
//! blocking pool, since it does RocksDB scans.
//! ## Policy
//! At most `KEYS_PER_PASS` keys per database per pass; when a pass is full, the next one starts at
//! once, so a backlog drains at full speed without starving one database.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::Shared;

const KEYS_PER_PASS: usize = 500;

/// What one expiry pass did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// Nothing was due.
    Idle,
    /// Keys expired; `full` means the pass hit its limit and more may be due.
    Expired {
        /// Keys removed.
        keys: usize,
        /// Whether the pass stopped at its limit.
        full: bool,
    },
    /// Storage failed; retried next period.
    Failed(String),
}

/// Starts every background task on the tracker.
pub(crate) fn spawn_all(shared: &Arc<Shared>, tracker: &TaskTracker) {
    tracker.spawn(active_expiry(shared.clone()));
    tracker.spawn(hot_evictor(shared.clone()));
    tracker.spawn(data_cap(shared.clone()));
    if shared.config.get("hot-warmup") == "yes" {
        tracker.spawn(warm_up(shared.clone()));
    }
}

/// Loads each database that has data into the memory tier, one after another, in the
/// background (see `strata_keyspace::WarmOutcome` for the ways it ends).
async fn warm_up(shared: Arc<Shared>) {
    let started = std::time::Instant::now();
    for phys in 0..shared.ks.databases() as u16 {
        if shared.shutdown.is_cancelled() {
            return;
        }
        let ks = shared.ks.clone();
        match tokio::task::spawn_blocking(move || ks.warm_up(phys)).await {
            Ok(Ok(strata_keyspace::WarmOutcome::NothingToDo)) => {}
            Ok(Ok(outcome)) => tracing::info!(
                db = phys,
                ?outcome,
                ms = started.elapsed().as_millis() as u64,
                "memory tier warm-up"
            ),
            Ok(Err(e)) => tracing::warn!(db = phys, error = %e, "memory tier warm-up failed"),
            Err(e) => tracing::warn!(db = phys, error = %e, "memory tier warm-up stopped"),
        }
    }
}

/// How often the evictor and the cap enforcer look: often enough that the memory tier and the
/// data stay near their limits under a steady write load, rarely enough to cost nothing idle.
const TIERING_PERIOD: Duration = Duration::from_millis(50);

/// The memory tier's evictor (mechanics and policy: `strata_keyspace::evict`). It runs every
/// period, at once when a write takes the tier over its budget, and again without pause while a
/// pass still finds work, so bursts are absorbed before the tier reaches its admission ceiling.
async fn hot_evictor(shared: Arc<Shared>) {
    while !shared.shutdown.is_cancelled() {
        let ks = shared.ks.clone();
        let busy = match tokio::task::spawn_blocking(move || ks.evict_pass()).await {
            Ok(strata_keyspace::EvictOutcome::Dropped { entries, bytes }) => {
                tracing::debug!(entries, bytes, "evictor dropped entries from memory");
                true
            }
            Ok(strata_keyspace::EvictOutcome::WithinBudget) => false,
            Err(e) => {
                tracing::warn!(error = %e, "evictor pass failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(TIERING_PERIOD) => {}
            _ = shared.ks.hot().pressure().notified() => {}
            _ = shared.shutdown.cancelled() => return,
        }
    }
}

/// Background eviction at the data cap (mechanics and policy: `strata_keyspace::cap`).
async fn data_cap(shared: Arc<Shared>) {
    loop {
        let ks = shared.ks.clone();
        let pause = match tokio::task::spawn_blocking(move || ks.cap_pass()).await {
            Ok(strata_keyspace::CapOutcome::Evicted { keys, bytes }) => {
                tracing::debug!(keys, bytes, "evicted keys at the data cap");
                Duration::ZERO
            }
            Ok(strata_keyspace::CapOutcome::Stuck) => Duration::from_secs(1),
            Ok(strata_keyspace::CapOutcome::Within) => TIERING_PERIOD,
            Err(e) => {
                tracing::warn!(error = %e, "data cap pass failed");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shared.shutdown.cancelled() => return,
        }
    }
}

async fn active_expiry(shared: Arc<Shared>) {
    loop {
        let hz = shared.config.get_u64("hz").clamp(1, 500);
        let ks = shared.ks.clone();
        let outcome =
            match tokio::task::spawn_blocking(move || ks.expire_cycle(KEYS_PER_PASS)).await {
                Ok(Ok(0)) => ExpireOutcome::Idle,
                Ok(Ok(keys)) => ExpireOutcome::Expired {
                    keys,
                    full: keys >= KEYS_PER_PASS,
                },
                Ok(Err(e)) => ExpireOutcome::Failed(e.to_string()),
                Err(e) => ExpireOutcome::Failed(e.to_string()),
            };
        let pause = match &outcome {
            ExpireOutcome::Expired { full: true, .. } => Duration::ZERO,
            ExpireOutcome::Failed(e) => {
                tracing::warn!(error = %e, "active expiry pass failed");
                Duration::from_secs(1)
            }
            ExpireOutcome::Expired { keys, .. } => {
                tracing::debug!(keys, "active expiry pass");
                Duration::from_millis(1000 / hz)
            }
            ExpireOutcome::Idle => Duration::from_millis(1000 / hz),
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shared.shutdown.cancelled() => return,
        }
    }
}
