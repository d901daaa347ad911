//! The hot-tier evictor: keeps the memory tier inside its budget, in the background.
//! (Stub: to be implemented.)

use crate::Keyspace;

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
pub struct EvictState {}

impl Keyspace {
    /// One evictor pass. Never blocks writers for long: it must not hold a map shard for a
    /// whole scan.
    pub fn evict_pass(&self) -> EvictOutcome {
        EvictOutcome::WithinBudget
    }
}
