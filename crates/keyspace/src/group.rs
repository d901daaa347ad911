//! Group commit of a pipeline: consecutive commands of one connection share one storage write.
//!
//! A RocksDB write costs a fixed part (the WAL record and its checksum, the write-thread
//! hand-off, one counter operand per db) on top of its records. A pipeline of sixteen SETs paid
//! it sixteen times. A [`Group`] lets each command run its own [`Txn`] as usual
//! ([`Keyspace::txn_in`]), but the group holds the locks, and [`Group::absorb`] takes the Txn's
//! batch and new states instead of writing them. The group writes them all at once when the
//! connection commits it (before it sends the replies, before any command that is not grouped,
//! and when it reaches [`MAX_MEMBERS`]).
//!
//! What keeps this correct:
//! - **Isolation.** The group keeps every stripe lock its members took until its commit, so no
//!   other client sees or changes a key between a member's write and the group's commit. Commands
//!   that read something their keys' records do not hold (counters, scans, collections'
//!   elements) are not grouped: the connection flushes the group before running them.
//! - **No deadlock.** While it holds locks a group only *tries* to take more. When a stripe is
//!   taken, the caller commits the group (releasing everything) and then waits as any command
//!   does, holding nothing.
//! - **Read-your-writes.** A member's reads see the states earlier members wrote.
//! - **Failure.** A member that fails before its commit drops only its own batch. A failed group
//!   commit fails every member: the connection withholds their replies and closes.
//! - **Memory.** As with a single Txn, memory is updated only after the write reached storage.

use bytes::Bytes;
use parking_lot::MutexGuard;
use smallvec::SmallVec;
use strata_storage::Record;

use crate::txn::{write_then_apply, Parts};
use crate::{Gate, Keyspace, Result, Txn};

/// Commands per group at most: bounds how long other clients may wait for its locks.
pub const MAX_MEMBERS: usize = 64;

/// The open group of one connection. See the module notes.
pub struct Group<'a> {
    ks: &'a Keyspace,
    gate: Option<Gate<'a>>,
    /// Stripes held, by index.
    held: SmallVec<[(usize, MutexGuard<'a, ()>); 16]>,
    /// The members' work: their records, their written states in order (the last for a key
    /// wins), their reads of keys they did not write (valid while the locks are held).
    work: Parts<'a>,
    members: usize,
    /// The last member's containers, emptied, for the next member to stage into.
    spare: Option<Parts<'a>>,
}

impl<'a> Group<'a> {
    pub(crate) fn new(ks: &'a Keyspace) -> Group<'a> {
        Group {
            ks,
            gate: None,
            held: SmallVec::new(),
            work: Parts::new(ks),
            members: 0,
            spare: None,
        }
    }

    /// Commands committed into the group since its last write.
    pub fn members(&self) -> usize {
        self.members
    }

    /// Writes what the members committed, then brings memory in line, raises their events and
    /// releases their locks. Returns the sequence to wait for under `appendfsync always` (0
    /// when nothing was written). On failure nothing was written, and the locks are released.
    pub fn commit(&mut self) -> Result<u64> {
        let w = &mut self.work;
        let batch = std::mem::replace(&mut w.batch, self.ks.storage.batch());
        let events = std::mem::take(&mut w.events);
        let expired = std::mem::take(&mut w.expired);
        w.reads.clear();
        self.members = 0;
        let out = write_then_apply(self.ks, batch, &mut w.pending, expired, &events);
        w.pending.clear();
        self.held.clear();
        self.gate = None;
        out
    }

    /// The state an earlier member left for `key`: written, or read.
    pub(crate) fn state(&self, phys: u16, key: &[u8]) -> Option<Option<Record>> {
        if let Some(p) = self
            .work
            .pending
            .iter()
            .rev()
            .find(|p| p.phys == phys && p.key == key)
        {
            return Some(p.state.clone());
        }
        self.work
            .reads
            .iter()
            .find(|r| r.0 == phys && r.1 == key)
            .map(|r| r.2.clone())
    }

    /// Takes in a member's work in place of its commit.
    pub fn absorb(&mut self, t: Txn<'a>) {
        let mut p = t.into_parts();
        self.work.take_in(&mut p);
        self.spare = Some(p);
        self.members += 1;
    }
}

impl Keyspace {
    /// A group for one connection's pipeline; it holds nothing until a member joins.
    pub fn group(&self) -> Group<'_> {
        Group::new(self)
    }

    /// A transaction over `keys` whose work goes to `group` ([`Group::absorb`]) rather than to
    /// storage, or None when one of its stripes is held elsewhere (or this thread is isolated,
    /// or the group is full): the caller then commits the group and takes a plain
    /// [`Keyspace::txn`], which may wait. Never waits while the group holds locks.
    pub fn txn_in<'a>(&'a self, g: &mut Group<'a>, keys: &[(usize, &[u8])]) -> Option<Txn<'a>> {
        if self.is_isolated() || g.members >= MAX_MEMBERS {
            return None;
        }
        if g.gate.is_none() {
            // The group holds no stripe when it holds no gate, so this may wait.
            g.gate = Some(self.gate.read());
        }
        let mut parts = g.spare.take().unwrap_or_else(|| Parts::new(self));
        for &(db, k) in keys {
            let Some(phys) = self.storage.phys(db) else {
                continue;
            };
            let i = self.stripe(phys, k);
            if !g.held.iter().any(|(h, _)| *h == i) {
                // A stripe the group did not hold: no earlier member touched this key.
                let Some(guard) = self.stripes[i].try_lock() else {
                    parts.reads.clear();
                    g.spare = Some(parts);
                    return None;
                };
                g.held.push((i, guard));
                continue;
            }
            if let Some(state) = g.state(phys, k) {
                parts.reads.push((phys, Bytes::copy_from_slice(k), state));
            }
        }
        Some(Txn::member(self, parts))
    }
}
