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
//!   that read something beyond their keys (counters, scans of the keyspace, other keys'
//!   elements) are not grouped: the connection flushes the group before running them.
//! - **No deadlock.** While it holds locks a group only *tries* to take more. When a stripe is
//!   taken, the caller commits the group (releasing everything) and then waits as any command
//!   does, holding nothing.
//! - **Read-your-writes.** A member's reads see the states earlier members wrote, and the
//!   element records of collections they staged (the group's overlay: point reads look it up,
//!   element scans merge it with what storage holds, pops from a score index's ends read ahead
//!   into it), so LPUSH, SADD, HSET, ZADD and the pops of one key share a write too.
//! - **Failure.** A member that fails before its commit drops only its own batch. A failed group
//!   commit fails every member: the connection withholds their replies and closes.
//! - **Memory.** As with a single Txn, memory is updated only after the write reached storage.
//!
//! # Across connections
//! At `-P 1` every run is one command, and each paid a storage write of its own. So a run that
//! ends a connection's read leaves its group open on the worker thread instead of committing it
//! ([`Keyspace::with_worker_group`]); the connections that run next on that worker join it, and
//! the first member to come back from its yield commits it for all ([`Ticket::settle`]). The
//! replies still wait for the commit, so nothing is acknowledged before it is written. What
//! keeps the open group from blocking anyone:
//! - a thread about to *wait* for a lock commits its worker's open group first (its locks may
//!   be the ones it would wait for): [`Keyspace::txn`], [`Keyspace::exclusive`] and the
//!   single-key lock all do;
//! - a worker commits its open group before it parks, and before an `appendfsync always` fsync
//!   starts; and when a member waits for it from another worker (tokio moved its task), at that
//!   worker's next connection turn;
//! - a run that is not the last of its read commits as before, so a connection's next command
//!   (DBSIZE, a scan) sees its own writes.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::MutexGuard;
use smallvec::SmallVec;
use strata_storage::Record;
use tokio::sync::watch;

use crate::txn::{write_then_apply, Overlay, Parts};
use crate::{Gate, Keyspace, Result, Txn, STRIPES};

/// Commands per group at most: bounds how long other clients may wait for its locks.
pub const MAX_MEMBERS: usize = 64;

/// The open group of one connection. See the module notes.
pub struct Group<'a> {
    ks: &'a Keyspace,
    gate: Option<Gate<'a>>,
    /// Stripes held, by index.
    held: SmallVec<[(usize, MutexGuard<'a, ()>); 16]>,
    /// One bit per stripe, set while `held` has it: a group of 64 MSETs holds up to 640
    /// stripes, and each key's search of `held` was a twentieth of an MSET.
    held_mask: Box<[u64]>,
    /// The members' work: their records, their written states in order (the last for a key
    /// wins), their reads of keys they did not write (valid while the locks are held).
    work: Parts<'a>,
    members: usize,
    /// The last member's containers, emptied, for the next member to stage into.
    spare: Option<Box<Parts<'a>>>,
    /// Commands that ever joined; unlike `members`, a commit does not reset it.
    joins: u64,
    /// The element records the members staged, which later members read through.
    overlay: Overlay,
    /// Set while the group is open on its worker with members holding tickets.
    settle: Option<Settle>,
}

/// How the members of an open group learn its commit.
struct Settle {
    epoch: u64,
    tx: watch::Sender<Outcome>,
    /// Set by a member waiting on another thread (its task moved to another worker): the
    /// group's worker then commits it at its next connection's turn, not only when it parks.
    waited: Arc<AtomicBool>,
}

/// How an open group's commit ended, as its members' tickets see it: None while it is open,
/// then the sequence to wait for, or a failure.
type Outcome = Option<std::result::Result<u64, ()>>;

/// Epochs of groups left open, unique in the process.
static EPOCHS: AtomicU64 = AtomicU64::new(1);

/// The worker's slot for its open group: None when it has none. Boxed: a group moves between
/// this slot and the context of each run, and copying its 784 bytes there and back cost about
/// 400 instructions per `-P 1` SET.
type Slot<'a> = Option<Box<Group<'a>>>;

self_cell::self_cell!(
    /// A group left open on a worker thread, with the keyspace it borrows.
    struct Open {
        owner: Arc<Keyspace>,
        // A group's stripe guards sit in a SmallVec, which is invariant.
        #[not_covariant]
        dependent: Slot,
    }
);

thread_local! {
    /// The calling worker's open group (see the module notes).
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// Takes the calling thread's cell out of its slot if `pick` accepts its keyspace.
fn take_open(pick: impl FnOnce(&Keyspace) -> bool) -> Option<Open> {
    OPEN.with(|o| {
        let mut o = o.borrow_mut();
        if o.as_ref().is_some_and(|open| pick(open.borrow_owner())) {
            o.take()
        } else {
            None
        }
    })
}

/// Takes the calling thread's cell out of its slot if it holds a group that `pick` accepts.
fn take_group_if(pick: impl FnOnce(&Keyspace, &Group<'_>) -> bool) -> Option<Open> {
    OPEN.with(|o| {
        let mut o = o.borrow_mut();
        let hit = o.as_ref().is_some_and(|open| {
            open.with_dependent(|ks, slot| slot.as_ref().is_some_and(|g| pick(ks, g)))
        });
        if hit {
            o.take()
        } else {
            None
        }
    })
}

/// Puts `open` back in the calling thread's slot, which a run, a commit or a settle emptied.
fn put_back(open: Open) {
    let displaced = OPEN.with(|o| o.borrow_mut().replace(open));
    // Nothing fills the slot while it is out (a commit takes no lock); commit rather than drop.
    if let Some(mut d) = displaced {
        commit(&mut d);
    }
}

/// Commits the cell's group, if it has members; they learn the outcome through their tickets.
/// The group keeps its emptied containers for the next run.
fn commit(open: &mut Open) {
    open.with_dependent_mut(|_, slot| {
        if let Some(g) = slot.as_mut().filter(|g| g.members > 0) {
            let _ = g.commit();
        }
    });
}

/// Commits the calling thread's open group, if it has one, and lets go of the cell (and of the
/// keyspace it holds). The runtime calls it before a worker parks (see the module notes).
pub fn commit_worker_group() {
    if let Some(mut open) = take_open(|_| true) {
        commit(&mut open);
    }
}

/// Commits the calling thread's open group if a member waits for it from another thread. The
/// connections call it at each turn, so that a member whose task moved to another worker waits
/// for one turn of this one, not for it to run out of work.
pub fn commit_worker_group_if_waited() {
    let waited = |_: &Keyspace, g: &Group<'_>| {
        g.settle
            .as_ref()
            .is_some_and(|s| s.waited.load(Ordering::Acquire))
    };
    if let Some(mut open) = take_group_if(waited) {
        commit(&mut open);
        put_back(open);
    }
}

/// How a connection whose commands joined a group left open on its worker learns that group's
/// commit ([`Keyspace::with_worker_group`]).
#[derive(Debug)]
pub struct Ticket {
    epoch: u64,
    rx: watch::Receiver<Outcome>,
    waited: Arc<AtomicBool>,
}

impl Ticket {
    /// The outcome of the group's commit: the sequence to wait for under `appendfsync always`
    /// (0 when nothing was written), or Err when the write failed and the connection must close
    /// without its replies. Call it after a yield, so that the connections ready on the worker
    /// join first. The first member back commits the group for all, if it is still open on
    /// this thread; the others find the outcome, or wait for it (a member moved to another
    /// worker waits for the group's worker to commit it: at that worker's next connection turn,
    /// or when it parks).
    pub async fn settle(mut self) -> std::result::Result<u64, ()> {
        if let Some(r) = self.settled_here() {
            return r;
        }
        self.waited.store(true, Ordering::Release);
        match self.rx.wait_for(Option::is_some).await {
            Ok(r) => r.unwrap_or(Err(())),
            // Dropped without a commit (its thread ended): nothing was written.
            Err(_) => Err(()),
        }
    }

    /// The outcome, if the group has committed or is open on this thread (then it commits).
    fn settled_here(&self) -> Option<std::result::Result<u64, ()>> {
        if let Some(r) = *self.rx.borrow() {
            return Some(r);
        }
        let epoch = self.epoch;
        let ours =
            |_: &Keyspace, g: &Group<'_>| g.settle.as_ref().is_some_and(|s| s.epoch == epoch);
        let mut open = take_group_if(ours)?;
        let out = open.with_dependent_mut(|_, slot| match slot.as_mut() {
            Some(g) => g.commit().map_err(|_| ()),
            None => Err(()),
        });
        put_back(open);
        Some(out)
    }
}

impl<'a> Group<'a> {
    pub(crate) fn new(ks: &'a Keyspace) -> Group<'a> {
        Group {
            ks,
            gate: None,
            held: SmallVec::new(),
            held_mask: vec![0; STRIPES / 64].into_boxed_slice(),
            work: Parts::new(ks),
            members: 0,
            spare: None,
            joins: 0,
            overlay: Overlay::default(),
            settle: None,
        }
    }

    /// Commands committed into the group since its last write.
    pub fn members(&self) -> usize {
        self.members
    }

    /// Key states the group's commit will bring memory in line with.
    #[cfg(test)]
    pub(crate) fn pending_states(&self) -> usize {
        self.work.pending.len()
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
        self.overlay.borrow_mut().clear();
        for (i, _) in self.held.drain(..) {
            self.held_mask[i / 64] &= !(1 << (i % 64));
        }
        self.gate = None;
        if let Some(s) = self.settle.take() {
            s.tx.send_replace(Some(out.as_ref().map(|s| *s).map_err(|_| ())));
        }
        out
    }

    /// The state an earlier member left for `key`: written, or read.
    pub(crate) fn state(&self, phys: u16, key: &[u8]) -> Option<Option<Record>> {
        if let Some(p) = self.work.pending.get(phys, key) {
            return Some(p.state.clone());
        }
        self.work.reads.get(phys, key).map(|r| r.2.clone())
    }

    /// Takes in a member's work in place of its commit.
    pub fn absorb(&mut self, t: Txn<'a>) {
        let mut p = t.into_parts();
        self.overlay.borrow_mut().absorb(&mut p.elems);
        self.work.take_in(&mut p);
        self.spare = Some(p);
        self.members += 1;
        self.joins += 1;
    }
}

impl Keyspace {
    /// A group for one connection's pipeline; it holds nothing until a member joins.
    pub fn group(&self) -> Box<Group<'_>> {
        Box::new(Group::new(self))
    }

    /// Runs `f` with the calling worker's group in `slot` (None the first time; `f` makes one),
    /// so that its commands join the commands of the connections that ran before it on this
    /// worker. If commands of `f` joined and the group it leaves in `slot` has members, the
    /// group stays open on the worker and the ticket by which the caller learns its commit is
    /// returned: the caller must yield, then settle it, before anything that waits, and before
    /// replying. The worker keeps the group, committed or not, for the next run: its containers
    /// are reused, and the cell is not made again per run.
    pub fn with_worker_group<R>(
        self: &Arc<Self>,
        f: impl for<'a> FnOnce(&'a Keyspace, &mut Slot<'a>) -> R,
    ) -> (R, Option<Ticket>) {
        let mut open = match take_open(|ks| std::ptr::eq(ks, &**self)) {
            Some(open) => open,
            None => {
                // Another keyspace's group (tests run several in one process) commits first.
                commit_worker_group();
                Open::new(Arc::clone(self), |_| None)
            }
        };
        let (out, ticket) = open.with_dependent_mut(|ks, slot| {
            let before = slot.as_ref().map_or(0, |g| g.joins);
            let out = f(ks, slot);
            let Some(g) = slot.as_mut().filter(|g| g.joins > before && g.members > 0) else {
                return (out, None);
            };
            let s = g.settle.get_or_insert_with(|| Settle {
                epoch: EPOCHS.fetch_add(1, Ordering::Relaxed),
                tx: watch::Sender::new(None),
                waited: Arc::default(),
            });
            let ticket = Ticket {
                epoch: s.epoch,
                rx: s.tx.subscribe(),
                waited: Arc::clone(&s.waited),
            };
            (out, Some(ticket))
        });
        put_back(open);
        (out, ticket)
    }

    /// Commits the calling worker's open group, if it is this keyspace's, before the thread
    /// waits for a lock: the group's own locks may be among those it would wait for.
    pub(crate) fn commit_open(&self) {
        let open_here = |ks: &Keyspace, g: &Group<'_>| std::ptr::eq(ks, self) && g.members > 0;
        if let Some(mut open) = take_group_if(open_here) {
            commit(&mut open);
            put_back(open);
        }
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
        let mut parts = g.spare.take().unwrap_or_else(|| Box::new(Parts::new(self)));
        parts.repeat.clear();
        for &(db, k) in keys {
            let Some(phys) = self.storage.phys(db) else {
                continue;
            };
            let i = self.stripe(phys, k);
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            if g.held_mask[word] & bit == 0 {
                // A stripe the group did not hold: no earlier member touched this key.
                let Some(guard) = self.stripes[i].try_lock() else {
                    parts.reads.clear();
                    g.spare = Some(parts);
                    return None;
                };
                g.held.push((i, guard));
                g.held_mask[word] |= bit;
                continue;
            }
            // An earlier member may have written this key: let the member's record of it
            // replace theirs in the group's write.
            parts.batch.may_repeat();
            let key = Bytes::copy_from_slice(k);
            if let Some(state) = g.state(phys, k) {
                parts.reads.push((phys, key.clone(), state));
            }
            parts.repeat.push((phys, key));
        }
        Some(Txn::member(self, parts, Rc::clone(&g.overlay)))
    }
}
