//! One command's atomic unit of work over the keys it locked.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use strata_storage::{Batch, Cf, Kind, Prev, Record};

use crate::events::{class, Queued};
use crate::hot::HotTier;
use crate::keyed::{KeyOf, Keyed};
use crate::{live, logical_size, prev_of, Gate, Guards, Keyspace, Result};

/// The latest state of a key this transaction wrote (None: deleted).
pub(crate) struct Pending {
    pub(crate) db: usize,
    pub(crate) phys: u16,
    pub(crate) key: Bytes,
    pub(crate) state: Option<Record>,
}

/// A key's state as a transaction read it: `(phys, key, record)`, None when absent.
pub(crate) type Seen = (u16, Bytes, Option<Record>);

impl KeyOf for Pending {
    fn key_of(&self) -> (u16, &[u8]) {
        (self.phys, &self.key)
    }
}

impl KeyOf for Seen {
    fn key_of(&self) -> (u16, &[u8]) {
        (self.0, &self.1)
    }
}

impl KeyOf for (u16, Bytes) {
    fn key_of(&self) -> (u16, &[u8]) {
        (self.0, &self.1)
    }
}

/// What commands that read no value need of a live key (see [`Txn::meta`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its type.
    pub kind: Kind,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    pub expire_ms: u64,
    /// Bytes of its record's body: a string's length (a collection's header's).
    pub body_len: usize,
    /// Its logical size, as `max-data-size` and INFO count it.
    pub size: u64,
}

impl Meta {
    pub(crate) fn of(key: &[u8], rec: &Record) -> Meta {
        Meta::of_parts(key, rec.kind, rec.expire_ms, &rec.body)
    }

    pub(crate) fn of_parts(key: &[u8], kind: Kind, expire_ms: u64, body: &[u8]) -> Meta {
        Meta {
            kind,
            expire_ms,
            body_len: body.len(),
            size: crate::logical_size_of(key, kind, body),
        }
    }

    /// What a write over the key tells storage of it.
    pub(crate) fn prev(&self) -> Prev {
        Prev {
            expire_ms: self.expire_ms,
            size: self.size,
        }
    }
}

/// What a read returns of a key's live state: its record (`Txn::get`) or what needs no value
/// (`Txn::meta`). One walk (`Txn::find`) serves both.
trait State {
    fn from_record(key: &[u8], rec: Record) -> Self;
    fn expire_ms(&self) -> u64;
    /// What removing the key tells storage of it.
    fn as_prev(&self, key: &[u8]) -> Prev;

    fn live(&self, now: u64) -> bool {
        self.expire_ms() == 0 || self.expire_ms() > now
    }
}

impl State for Record {
    fn from_record(_: &[u8], rec: Record) -> Record {
        rec
    }

    fn expire_ms(&self) -> u64 {
        self.expire_ms
    }

    fn as_prev(&self, key: &[u8]) -> Prev {
        prev_of(key, self)
    }
}

impl State for Meta {
    fn from_record(key: &[u8], rec: Record) -> Meta {
        Meta::of(key, &rec)
    }

    fn expire_ms(&self) -> u64 {
        self.expire_ms
    }

    fn as_prev(&self, _: &[u8]) -> Prev {
        Meta::prev(self)
    }
}

/// An element record a pipeline group's member staged: its family, whole key and value (None:
/// removed).
pub(crate) type ElemWrite = (Cf, Vec<u8>, Option<Bytes>);

/// The element records a group's members staged, which its later members read through (see
/// `Txn::elem_get`). Shared with each member, so that a member dropped without joining takes
/// nothing of it away.
pub(crate) type Overlay = Rc<RefCell<Staged>>;

/// The latest state of each element record a pipeline group's members staged or read ahead,
/// per family. A map, not a list searched from its end: a group of pops reads ahead 32 items
/// and looks each item up twice, and the search was a fifth of an LPOP at `-P 16`. Score-index
/// records are only ever read in ranges, so they are kept in order.
#[derive(Default)]
pub(crate) struct Staged {
    sub: HashMap<Vec<u8>, Option<Bytes>, ahash::RandomState>,
    /// How many of `sub`'s entries hold a value: while none does, the group only removed
    /// elements, and a scan may check each stored element here instead of merging (see
    /// `Txn::live_run`).
    sub_values: usize,
    score: BTreeMap<Vec<u8>, Option<Bytes>>,
    /// What the group read ahead from the ends of score indexes (see `Txn::scan_end`).
    cursors: Vec<Cursor>,
}

/// What a group knows of one end of one score index. Low end (`high == false`): every stored
/// entry in `[start, bound)` is in the overlay, and no entry before `start` is live. High end:
/// the same for `[bound, start)` and the entries from `start` up.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) prefix: Vec<u8>,
    pub(crate) high: bool,
    pub(crate) start: Vec<u8>,
    pub(crate) bound: Vec<u8>,
}

impl Cursor {
    /// A score entry `key` was staged: it may be live beyond `start`.
    fn admit(&mut self, key: &[u8]) {
        if !key.starts_with(&self.prefix) {
            return;
        }
        if !self.high && key < self.start.as_slice() {
            self.start = key.to_vec();
        } else if self.high && key >= self.start.as_slice() {
            self.start = crate::coll::key_after(key);
        }
    }
}

impl Staged {
    /// The latest state of the element record `key` (score-index keys are never looked up).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Option<Bytes>> {
        self.sub.get(key)
    }

    /// Whether every element record the group holds is a removal.
    pub(crate) fn removals_only(&self) -> bool {
        self.sub_values == 0
    }

    /// Takes a member's staged records in, in order, so that the latest per key stays.
    pub(crate) fn absorb(&mut self, elems: &mut Vec<ElemWrite>) {
        for (cf, key, value) in elems.drain(..) {
            if cf == Cf::Score {
                if value.is_some() {
                    self.cursors.iter_mut().for_each(|c| c.admit(&key));
                }
                self.score.insert(key, value);
            } else {
                self.sub_values += usize::from(value.is_some());
                if let Some(Some(_)) = self.sub.insert(key, value) {
                    self.sub_values -= 1;
                }
            }
        }
    }

    /// Keeps a stored element read ahead, unless the group already has a state for it.
    pub(crate) fn read_ahead(&mut self, key: Vec<u8>, value: Bytes) {
        if let Entry::Vacant(e) = self.sub.entry(key) {
            e.insert(Some(value));
            self.sub_values += 1;
        }
    }

    /// Keeps a stored score-index entry read ahead, unless the group already has a state for it.
    pub(crate) fn read_ahead_score(&mut self, key: Vec<u8>, value: Bytes) {
        self.score.entry(key).or_insert(Some(value));
    }

    /// The records of family `cf` with `lo <= key < hi`: in key order for the score index, in
    /// no order for elements.
    pub(crate) fn in_range<'s>(
        &'s self,
        cf: Cf,
        lo: &'s [u8],
        hi: &'s [u8],
    ) -> Box<dyn Iterator<Item = (&'s [u8], &'s Option<Bytes>)> + 's> {
        match cf {
            Cf::Score => Box::new(self.scores(lo, hi).map(|(k, v)| (k.as_slice(), v))),
            _ => Box::new(
                self.sub
                    .iter()
                    .filter(move |(k, _)| k.as_slice() >= lo && k.as_slice() < hi)
                    .map(|(k, v)| (k.as_slice(), v)),
            ),
        }
    }

    /// The cursor at one end of the score index at `prefix`, made by `make` if the group has
    /// none yet, and whether it was.
    pub(crate) fn cursor(
        &mut self,
        prefix: &[u8],
        high: bool,
        make: impl FnOnce() -> Cursor,
    ) -> (usize, bool) {
        match self
            .cursors
            .iter()
            .position(|c| c.high == high && c.prefix == prefix)
        {
            Some(at) => (at, false),
            None => {
                self.cursors.push(make());
                (self.cursors.len() - 1, true)
            }
        }
    }

    /// The cursor [`Staged::cursor`] returned `at`.
    pub(crate) fn cursor_at(&mut self, at: usize) -> &mut Cursor {
        &mut self.cursors[at]
    }

    /// The score-index entries in `[lo, hi)`, in key order.
    pub(crate) fn scores(
        &self,
        lo: &[u8],
        hi: &[u8],
    ) -> std::collections::btree_map::Range<'_, Vec<u8>, Option<Bytes>> {
        self.score
            .range::<[u8], _>((Bound::Included(lo), Bound::Excluded(hi)))
    }

    pub(crate) fn clear(&mut self) {
        self.sub.clear();
        self.sub_values = 0;
        self.score.clear();
        self.cursors.clear();
    }
}

/// What a transaction stages. A pipeline group takes a member's in place of its commit, and
/// hands the emptied containers to the next member, so that its commands allocate none.
pub(crate) struct Parts<'a> {
    pub(crate) batch: Batch<'a>,
    /// The latest state of each key written, in order of first write.
    pub(crate) pending: Keyed<Pending>,
    /// Keys read from disk (or handed over by the group) but not written, with the state found:
    /// a command that reads a key and then writes it (INCR) goes to disk once, not twice.
    pub(crate) reads: Keyed<Seen>,
    /// Keys found expired (and deleted) on the way.
    pub(crate) expired: u64,
    /// Keyspace events raised after the commit, in order.
    pub(crate) events: Vec<Queued>,
    /// A group member's own element records, for the members after it (empty otherwise).
    pub(crate) elems: Vec<ElemWrite>,
    /// A group member's keys whose stripes the group already held: only these can have states
    /// in the group for the member's to replace (see `merge_pending`).
    pub(crate) repeat: Keyed<(u16, Bytes)>,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(ks: &'a Keyspace) -> Parts<'a> {
        Parts {
            batch: ks.storage.batch(),
            pending: Keyed::default(),
            reads: Keyed::default(),
            expired: 0,
            events: Vec::new(),
            elems: Vec::new(),
            repeat: Keyed::default(),
        }
    }

    /// Moves `other`'s work after this one's, leaving `other` empty with its containers kept.
    pub(crate) fn take_in(&mut self, other: &mut Parts<'_>) {
        let repeats = other.batch.repeats();
        self.batch.absorb(&mut other.batch);
        if repeats {
            merge_pending(&mut self.pending, &mut other.pending, &other.repeat);
            other.repeat.clear();
        } else {
            self.pending.append(&mut other.pending);
        }
        self.reads.append(&mut other.reads);
        self.expired += std::mem::take(&mut other.expired);
        move_all(&mut self.events, &mut other.events);
    }
}

/// Moves `from`'s items to the end of `to`. Into an empty `to` it swaps the two: a group's first
/// member's containers become the group's (a group of one, every write at `-P 1`, copies
/// nothing and allocates nothing more).
fn move_all<T>(to: &mut Vec<T>, from: &mut Vec<T>) {
    if to.is_empty() {
        std::mem::swap(to, from);
    } else {
        to.append(from);
    }
}

/// Moves `from`'s pending states into `to`, where a key's later state replaces its earlier one:
/// the members of a group often write one key over and over (LPUSH, HSET, INCR of one key), and
/// each state left in `to` is a memory-tier update at commit (an allocation and a map insert),
/// so a run of 16 LPUSHes of one list updated memory 16 times for its one final state. Only the
/// keys in `repeat` are looked for: `to` holds up to 640 states (64 MSETs of 10 keys).
fn merge_pending(to: &mut Keyed<Pending>, from: &mut Keyed<Pending>, repeat: &Keyed<(u16, Bytes)>) {
    for p in from.drain() {
        let may = repeat.get(p.phys, &p.key).is_some();
        match to.get_mut(p.phys, &p.key).filter(|_| may) {
            Some(q) => q.state = p.state,
            None => to.push(p),
        }
    }
}

/// Locks held for one command, with the batch it is building.
///
/// Reads see the transaction's own writes. Nothing reaches disk or memory before `commit`; a
/// transaction dropped without commit changes nothing.
pub struct Txn<'a> {
    pub(crate) ks: &'a Keyspace,
    _gate: Option<Gate<'a>>,
    _locks: Guards<'a>,
    /// Boxed: a transaction moves by value a few times per command (into its closure, into its
    /// group), and its work is most of its size.
    pub(crate) work: Box<Parts<'a>>,
    /// One clock reading per command, so a key cannot expire half-way through it.
    now: u64,
    /// Set for a pipeline group's member (see `crate::group`), whose group holds its locks and
    /// takes its work instead of a commit: its view of the element records the group's earlier
    /// members staged.
    pub(crate) overlay: Option<Overlay>,
}

impl<'a> Txn<'a> {
    pub(crate) fn new(
        ks: &'a Keyspace,
        gate: impl Into<Option<Gate<'a>>>,
        locks: Guards<'a>,
    ) -> Txn<'a> {
        Txn {
            ks,
            _gate: gate.into(),
            _locks: locks,
            work: Box::new(Parts::new(ks)),
            now: crate::now_ms(),
            overlay: None,
        }
    }

    /// A pipeline group's member, staging into `work`: empty but for `reads`, the states of its
    /// keys that earlier members wrote or read. The group holds the locks.
    pub(crate) fn member(ks: &'a Keyspace, work: Box<Parts<'a>>, overlay: Overlay) -> Txn<'a> {
        Txn {
            ks,
            _gate: None,
            _locks: Guards::new(),
            work,
            now: crate::now_ms(),
            overlay: Some(overlay),
        }
    }

    /// Whether the transaction belongs to a pipeline group.
    pub fn is_grouped(&self) -> bool {
        self.overlay.is_some()
    }

    pub(crate) fn into_parts(self) -> Box<Parts<'a>> {
        self.work
    }

    /// Queues a keyspace event of `class` (an `event_class` bit) for `key` in logical db `db`,
    /// raised after the commit in the order queued; one check when the class is off. Commands
    /// queue their own events here once their writes are staged.
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.ks.events.enabled(class) {
            self.work.events.push(Queued {
                class,
                event,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// The command's clock, in Unix milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    fn pending(&self, phys: u16, key: &[u8]) -> Option<&Option<Record>> {
        self.work.pending.get(phys, key).map(|p| &p.state)
    }

    fn set_pending(&mut self, db: usize, phys: u16, key: &[u8], state: Option<Record>) {
        match self.work.pending.get_mut(phys, key) {
            Some(p) => p.state = state,
            None => self.work.pending.push(Pending {
                db,
                phys,
                key: Bytes::copy_from_slice(key),
                state,
            }),
        }
    }

    /// The live record of `key` in logical db `db`. An expired key reads as absent, and its
    /// removal is staged in this transaction (lazy expiry).
    pub fn get(&mut self, db: usize, key: &[u8]) -> Result<Option<Record>> {
        self.find(db, key, HotTier::get)
    }

    /// A key's live state, as `S` (see [`State`]): the transaction's own writes, then what it
    /// remembered reading, then the memory tier (read by `hot`), then disk. An expired key
    /// reads as absent, and its removal is staged in this transaction (lazy expiry).
    fn find<S: State>(
        &mut self,
        db: usize,
        key: &[u8],
        hot: impl FnOnce(&HotTier, u16, &[u8]) -> Option<S>,
    ) -> Result<Option<S>> {
        let Some(phys) = self.ks.storage.phys(db) else {
            return Ok(None);
        };
        if let Some(state) = self.pending(phys, key) {
            return Ok(state.clone().map(|r| S::from_record(key, r)));
        }
        let now = self.now;
        let known = self
            .work
            .reads
            .get(phys, key)
            .map(|r| r.2.clone().map(|rec| S::from_record(key, rec)));
        let stats = &self.ks.stats;
        let state = match known {
            // Remembered states were live when seen; a pipeline group's may have expired since,
            // so they are checked below like any other.
            Some(Some(s)) if s.live(now) => return Ok(Some(s)),
            Some(Some(s)) => s,
            Some(None) => return Ok(None),
            None => match hot(&self.ks.hot, phys, key) {
                // Not remembered among the reads: memory answers a second read as cheaply, and
                // the locks held keep the entry as it is (the transaction's own writes are in
                // `pending`). Remembering cost a copy of the key and a shared header for the
                // value (now copied out of the entry) on every read of a cached key.
                Some(s) => {
                    stats.hot_hits.fetch_add(1, Ordering::Relaxed);
                    if s.live(now) {
                        return Ok(Some(s));
                    }
                    s
                }
                // A complete memory tier knows the key does not exist: nothing to read or remember.
                None if self.ks.hot.is_complete(phys) => return Ok(None),
                None => {
                    stats.cold_reads.fetch_add(1, Ordering::Relaxed);
                    match self.ks.storage.get(phys, key)? {
                        Some(rec) if live(&rec, now) => {
                            self.ks.hot.put(phys, key, &rec);
                            self.work.reads.push((
                                phys,
                                Bytes::copy_from_slice(key),
                                Some(rec.clone()),
                            ));
                            return Ok(Some(S::from_record(key, rec)));
                        }
                        Some(rec) => S::from_record(key, rec),
                        None => {
                            self.work
                                .reads
                                .push((phys, Bytes::copy_from_slice(key), None));
                            return Ok(None);
                        }
                    }
                }
            },
        };
        self.work.batch.delete(phys, key, state.as_prev(key));
        self.set_pending(db, phys, key, None);
        self.work.expired += 1;
        self.notify(class::EXPIRED, "expired", db, key);
        Ok(None)
    }

    /// Like `get`, counting a keyspace hit or miss for INFO.
    pub fn lookup(&mut self, db: usize, key: &[u8]) -> Result<Option<Record>> {
        let r = self.get(db, key)?;
        self.count_lookup(db, key, r.is_some());
        Ok(r)
    }

    fn count_lookup(&mut self, db: usize, key: &[u8], found: bool) {
        let c = if found {
            &self.ks.stats.hits
        } else {
            self.notify(class::KEY_MISS, "keymiss", db, key);
            &self.ks.stats.misses
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// `get` for what needs no value (EXISTS, TYPE, TTL, STRLEN, SET without GET, a write over a
    /// key): a cached entry's value is not copied out. Since the memory tier packs an entry into
    /// one allocation, a read copies the value out; EXISTS of a cached 500 KB value would copy it
    /// for nothing.
    pub fn meta(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>> {
        self.find(db, key, HotTier::meta)
    }

    /// Like `meta`, counting a keyspace hit or miss for INFO as `lookup` does.
    pub fn lookup_meta(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>> {
        let m = self.meta(db, key)?;
        self.count_lookup(db, key, m.is_some());
        Ok(m)
    }

    /// Stages `rec` as the new value of `key`.
    pub fn put(&mut self, db: usize, key: &[u8], rec: Record) -> Result<()> {
        let Some(phys) = self.ks.storage.phys(db) else {
            return Ok(());
        };
        let prev = self.meta(db, key)?.map(|m| m.prev());
        if prev.is_none() {
            self.notify(class::NEW, "new", db, key);
        }
        self.work
            .batch
            .put(phys, key, &rec, logical_size(key, &rec), prev);
        self.set_pending(db, phys, key, Some(rec));
        Ok(())
    }

    /// Stages the removal of `key`. Returns whether a live key was there.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> Result<bool> {
        let Some(phys) = self.ks.storage.phys(db) else {
            return Ok(false);
        };
        match self.meta(db, key)? {
            Some(m) => {
                self.work.batch.delete(phys, key, m.prev());
                self.set_pending(db, phys, key, None);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Active expiry of one ttl entry found due. Disk is the truth here: the entry is re-checked
    /// under the lock, because a command may have changed the key since the scan.
    pub(crate) fn expire_due(
        &mut self,
        db: usize,
        key: &[u8],
        exp: u64,
        size: u64,
        now: u64,
    ) -> Result<bool> {
        let Some(phys) = self.ks.storage.phys(db) else {
            return Ok(false);
        };
        if exp > now || self.ks.storage.ttl_entry(phys, exp, key)?.is_none() {
            return Ok(false);
        }
        let rewritten = match self.ks.storage.get(phys, key)? {
            Some(rec) if rec.expire_ms == exp => {
                self.work.batch.delete(phys, key, prev_of(key, &rec));
                self.set_pending(db, phys, key, None);
                false
            }
            // The compaction filter dropped the key (and it may have been written anew since):
            // the entry is all that is left of the old key, and settles its counters.
            other => {
                self.work.batch.settle_orphan_ttl(phys, key, exp, size);
                other.is_some()
            }
        };
        self.work.expired += 1;
        if !rewritten {
            self.notify(class::EXPIRED, "expired", db, key);
        }
        Ok(true)
    }

    /// Commits the batch, then brings memory in line with it. Returns the sequence to wait for
    /// under `appendfsync always` (0 when nothing was written).
    pub fn commit(mut self) -> Result<u64> {
        // A member's writes must follow its group's: `Group::absorb` takes them instead.
        debug_assert!(
            !self.is_grouped(),
            "a grouped transaction commits through its group"
        );
        write_then_apply(
            self.ks,
            self.work.batch,
            &mut self.work.pending,
            self.work.expired,
            &self.work.events,
        )
    }
}

/// Writes `batch`, and only once it reached storage brings memory in line with `pending` (the
/// coherence rule, draining it) and raises the rest; a batch that writes nothing only raises
/// the events.
/// Returns the sequence to wait for under `appendfsync always` (0 when nothing was written).
/// A single transaction and a pipeline group commit through here alike.
pub(crate) fn write_then_apply(
    ks: &Keyspace,
    batch: Batch<'_>,
    pending: &mut Keyed<Pending>,
    expired: u64,
    events: &[Queued],
) -> Result<u64> {
    if batch.is_empty() {
        pending.clear();
        apply(ks, pending, 0, events);
        return Ok(0);
    }
    let seq = batch.commit()?;
    apply(ks, pending, expired, events);
    Ok(seq)
}

/// After a commit reached storage: brings memory in line with the written states, counts the
/// expired keys, wakes the clients waiting on the keys and raises the queued keyspace events.
fn apply(ks: &Keyspace, pending: &mut Keyed<Pending>, expired: u64, events: &[Queued]) {
    // Waiters re-run their command once they get the locks, which this commit still holds, so
    // they see memory updated whether signalled before or after.
    if !ks.ready.is_idle() {
        for p in pending.iter() {
            ks.ready.signal(p.db, &p.key);
        }
    }
    for p in pending.drain() {
        match &p.state {
            Some(rec) => ks.hot.put(p.phys, &p.key, rec),
            None => {
                ks.hot.remove(p.phys, &p.key);
            }
        }
    }
    ks.stats.expired.fetch_add(expired, Ordering::Relaxed);
    for e in events {
        ks.events.emit(e.class, e.db, e.event, &e.key);
    }
}
