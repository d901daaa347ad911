//! Collections (hashes, lists, sets, sorted sets), element by element.
//!
//! A collection is a metadata record (type, expiry and a [`CollHeader`] with its version, element
//! count and logical bytes) plus one RocksDB record per element under `key | version` (see
//! `strata_storage`'s codec). A write to one element writes that element and the metadata: O(1)
//! records whatever the size. The memory tier caches the metadata record; elements are read from
//! RocksDB, whose block cache is part of the same RAM budget.
//!
//! Element reads go to storage and do not see element writes staged earlier in the same
//! command: a command reads what it needs first, then stages its writes. Commands keep
//! [`CollHeader::len`] and [`CollHeader::bytes`] in step with what they stage, and
//! [`Txn::coll_save`] writes the metadata (or deletes the key when the collection is empty).

use std::collections::BTreeMap;

use bytes::Bytes;
use strata_storage::{elem_prefix, score_bits, Cf, CollHeader, Kind, Record, LIST_MID};

use crate::txn::{Cursor, Overlay};
use crate::{Result, Txn};

/// A collection opened by a command.
#[derive(Debug, Clone)]
pub struct Coll {
    /// Logical database.
    pub db: usize,
    /// The key.
    pub key: Bytes,
    /// Hash, list, set or sorted set.
    pub kind: Kind,
    /// Absolute expiry (0: none).
    pub expire_ms: u64,
    /// Version, element count, logical bytes and list bounds.
    pub h: CollHeader,
    prefix: Vec<u8>,
}

/// How many elements a random draw may walk from its probe (see [`Txn::random_elem`]).
pub const SAMPLE_WALK: usize = 16;

/// Score-index entries a pipeline group reads ahead at a time for its pops (see
/// `Txn::scan_end`).
pub(crate) const SCORE_READ_AHEAD: usize = 32;

/// What a merged scan returned, and the first element it met from its start (see
/// `Txn::scan_between`).
struct Scanned {
    elems: Vec<(Bytes, Bytes)>,
    first: Option<Bytes>,
}

/// What [`Txn::random_elem`] needs to know of a collection's keys.
#[derive(Debug, Clone, Default)]
pub struct ElemSampler {
    prefix: Vec<u8>,
    ranges: Vec<(u8, u8)>,
}

/// What opening a key as a collection of some kind found.
#[derive(Debug)]
pub enum CollRead {
    /// No such key.
    Missing,
    /// The key holds another type.
    WrongType,
    /// The collection.
    Found(Coll),
}

impl Coll {
    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.h.len
    }

    /// Whether it has no elements (it is then deleted on save).
    pub fn is_empty(&self) -> bool {
        self.h.len == 0
    }

    /// The element key of `suffix` (a field, member or list index).
    pub fn elem_key(&self, suffix: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + suffix.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(suffix);
        k
    }

    /// The score-family key of a sorted-set member.
    pub fn score_key(&self, score: f64, member: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 8 + member.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(&score_bits(score));
        k.extend_from_slice(member);
        k
    }

    /// Length of the prefix shared by every element key of this collection.
    pub fn prefix_len(&self) -> usize {
        self.prefix.len()
    }

    fn bound(&self, suffix: Option<&[u8]>, end: bool) -> Vec<u8> {
        match suffix {
            Some(s) => self.elem_key(s),
            None if end => elem_prefix_end(&self.prefix),
            None => self.prefix.clone(),
        }
    }
}

/// The first key after `key` in byte order.
pub(crate) fn key_after(key: &[u8]) -> Vec<u8> {
    [key, &[0]].concat()
}

/// Of two keys a scan met, the one nearer its start (the smaller, or with `reverse` the larger).
fn nearer<K: Ord>(a: Option<K>, b: Option<K>, reverse: bool) -> Option<K> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if (a < b) != reverse { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The first key past every key that starts with `prefix` (the version is its last 8 bytes,
/// and versions never reach `u64::MAX`).
pub(crate) fn elem_prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    for b in end.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return end;
        }
    }
    end.push(0xff);
    end
}

impl Txn<'_> {
    /// Opens `key` as a collection of `kind`. An expired key reads as missing.
    pub fn coll(&mut self, db: usize, key: &[u8], kind: Kind) -> Result<CollRead> {
        let Some(rec) = self.get(db, key)? else {
            return Ok(CollRead::Missing);
        };
        if rec.kind != kind {
            return Ok(CollRead::WrongType);
        }
        let h = CollHeader::decode(&rec.body)?;
        Ok(CollRead::Found(self.coll_from(
            db,
            key,
            kind,
            rec.expire_ms,
            h,
        )))
    }

    /// A new, empty collection with a fresh version (not written until saved non-empty).
    pub fn coll_new(&self, db: usize, key: &[u8], kind: Kind) -> Coll {
        let h = CollHeader {
            version: self.ks.storage.next_version(),
            head: LIST_MID,
            tail: LIST_MID,
            ..CollHeader::default()
        };
        self.coll_from(db, key, kind, 0, h)
    }

    fn coll_from(&self, db: usize, key: &[u8], kind: Kind, expire_ms: u64, h: CollHeader) -> Coll {
        let phys = self.ks.storage.phys(db).unwrap_or(0);
        Coll {
            db,
            key: Bytes::copy_from_slice(key),
            kind,
            expire_ms,
            prefix: elem_prefix(phys, key, h.version),
            h,
        }
    }

    /// Writes the collection's metadata, or deletes the key when it has no elements left.
    pub fn coll_save(&mut self, c: &Coll) -> Result<()> {
        if c.h.len == 0 {
            self.delete(c.db, &c.key)?;
            return Ok(());
        }
        self.put(c.db, &c.key, rec_of(c))
    }

    /// One element's value (a hash value, an empty set marker, a list item, a zset score).
    /// In a pipeline group, it sees what the group's earlier members staged.
    pub fn elem_get(&self, c: &Coll, suffix: &[u8]) -> Result<Option<Bytes>> {
        let key = c.elem_key(suffix);
        match self.staged(&key) {
            Some(v) => Ok(v),
            None => self.ks.storage.get_elem(Cf::Sub, &key),
        }
    }

    /// What the group's earlier members left for an element: None when they neither staged nor
    /// read it ahead, `Some(None)` when they removed it. Always None outside a group.
    pub fn elem_staged(&self, c: &Coll, suffix: &[u8]) -> Option<Option<Bytes>> {
        self.staged(&c.elem_key(suffix))
    }

    /// The group overlay's latest entry for the element record `key`.
    fn staged(&self, key: &[u8]) -> Option<Option<Bytes>> {
        self.overlay.as_ref()?.borrow().get(key).cloned()
    }

    /// Reads up to `limit` stored elements with suffixes in `[from, to)` (from the `to` end when
    /// `reverse`) into the group's overlay, where the point reads of the group's next members
    /// find them: a run of pops of one list in a pipeline group then costs one iterator rather
    /// than a point read per pop. Elements the group staged keep their staged state, and later
    /// stagings win, as any overlay entry. Outside a group it reads nothing.
    pub fn read_ahead(
        &self,
        c: &Coll,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<()> {
        let Some(o) = &self.overlay else {
            return Ok(());
        };
        let (lo, hi) = (c.bound(from, false), c.bound(to, true));
        let stored =
            self.ks
                .storage
                .scan_elems(Cf::Sub, &lo, &hi, reverse, limit, c.prefix.len())?;
        let mut o = o.borrow_mut();
        for (suffix, v) in stored {
            o.read_ahead(c.elem_key(&suffix), v);
        }
        Ok(())
    }

    /// Stages an element write. The caller updates `c.h` to match.
    pub fn elem_put(&mut self, c: &Coll, suffix: &[u8], value: &[u8]) {
        self.stage_elem(Cf::Sub, c.elem_key(suffix), Some(value), false);
    }

    /// `elem_put` for a writer that knows whether the element `exists` (a hash field, a
    /// member's score). A new value of an existing element is a record that the pipeline
    /// group's next replacement of it takes out of the group's write: a run of HINCRBYs of one
    /// field writes it once. New elements are written as `elem_put` writes them, searched for by
    /// nothing (an LPUSH's or an SADD's element is never rewritten by the same command).
    pub fn elem_write(&mut self, c: &Coll, suffix: &[u8], value: &[u8], exists: bool) {
        self.stage_elem(Cf::Sub, c.elem_key(suffix), Some(value), exists);
    }

    /// Stages an element removal. The caller updates `c.h` to match.
    pub fn elem_del(&mut self, c: &Coll, suffix: &[u8]) {
        self.stage_elem(Cf::Sub, c.elem_key(suffix), None, false);
    }

    /// Stages a sorted-set score-index entry.
    pub fn score_put(&mut self, c: &Coll, score: f64, member: &[u8]) {
        let key = c.score_key(score, member);
        self.ks.hints.widen_ends(&c.prefix, &key);
        self.stage_elem(Cf::Score, key, Some(b""), false);
    }

    /// Stages the removal of a sorted-set score-index entry.
    pub fn score_del(&mut self, c: &Coll, score: f64, member: &[u8]) {
        self.stage_elem(Cf::Score, c.score_key(score, member), None, false);
    }

    /// Stages one element record (`replace`: over one that exists, see `elem_write`); a group
    /// member also keeps it for the members after it.
    fn stage_elem(&mut self, cf: Cf, key: Vec<u8>, value: Option<&[u8]>, replace: bool) {
        match value {
            Some(v) if replace => self.work.batch.replace_elem(cf, &key, v),
            Some(v) => self.work.batch.put_elem(cf, &key, v),
            None => self.work.batch.delete_elem(cf, &key),
        }
        if self.overlay.is_some() {
            self.work
                .elems
                .push((cf, key, value.map(Bytes::copy_from_slice)));
        }
    }

    /// Up to `limit` elements with suffixes in `[from, to)` (None: open), in suffix byte order or
    /// reversed. Returns `(suffix, value)` pairs.
    pub fn elems(
        &self,
        c: &Coll,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        self.scan(Cf::Sub, c, (from, to), reverse, limit)
    }

    /// Like [`Txn::elems`] over the score index: suffixes are `score_bits | member`, values
    /// empty. Bounds are raw suffixes (build them with `strata_storage::score_bits`).
    pub fn score_range(
        &self,
        c: &Coll,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        self.scan(Cf::Score, c, (from, to), reverse, limit)
    }

    fn scan(
        &self,
        cf: Cf,
        c: &Coll,
        (from, to): (Option<&[u8]>, Option<&[u8]>),
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let (mut lo, mut hi) = (c.bound(from, false), c.bound(to, true));
        // A scan of a score index from one of its ends starts where no live entry lies beyond
        // (see `hints`), and tells the hints where the first entry now is.
        let end = match (cf, reverse) {
            (Cf::Score, false) if from.is_none() => Some(false),
            (Cf::Score, true) if to.is_none() => Some(true),
            _ => None,
        };
        match end.map(|high| (high, self.ks.hints.end(&c.prefix, high))) {
            Some((false, Some(low))) => lo = low,
            Some((true, Some(mut high))) => {
                high.push(0);
                hi = high;
            }
            _ => {}
        }
        if let (Some(high), Some(o), None, None) = (end, &self.overlay, from, to) {
            return self.scan_end(c, (lo, hi), high, limit, o);
        }
        let out = self.scan_between(cf, c, (&lo, &hi), reverse, limit)?;
        if let (Some(high), Some(first)) = (end, out.first.as_ref()) {
            self.ks.hints.learn_end(&c.prefix, high, c.elem_key(first));
        }
        Ok(out.elems)
    }

    /// A pipeline group member's scan of a score index from one end (`high`), both bounds open;
    /// `(lo, hi)` as [`Txn::scan`] narrowed them. The group reads stored entries ahead,
    /// [`SCORE_READ_AHEAD`] at a time, into its overlay, where its staged records take
    /// precedence, and answers its members from there; its [`Cursor`] remembers how far the
    /// overlay covers storage and where the first live entry is. A run of ZPOPMINs in a group
    /// then opens one iterator per 32 pops, and no pop steps over the removals of the pops
    /// before it (merged with storage as other scans are, each pop read one more stored entry
    /// per earlier pop in the group).
    ///
    /// The remembered end (`hints`) is learnt only by the scan that makes the cursor, from what
    /// it read: later pops in the group are not written yet, and the end must not pass an entry
    /// a dropped group would leave live.
    fn scan_end(
        &self,
        c: &Coll,
        (lo, hi): (Vec<u8>, Vec<u8>),
        high: bool,
        limit: usize,
        o: &Overlay,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut o = o.borrow_mut();
        // A new cursor: nothing stored lies between the index's end and the remembered one.
        let (at, made) = o.cursor(&c.prefix, high, || {
            let (start, bound) = match high {
                false => (c.bound(None, false), lo.clone()),
                true => (c.bound(None, true), hi.clone()),
            };
            Cursor {
                prefix: c.prefix.clone(),
                high,
                start,
                bound,
            }
        });
        let mut stored_first: Option<Vec<u8>> = None;
        loop {
            let cur = o.cursor_at(at);
            let (start, bound) = (cur.start.clone(), cur.bound.clone());
            let (a, b) = if high {
                (&bound, &start)
            } else {
                (&start, &bound)
            };
            let mut out = Vec::new();
            let mut first_live: Option<Vec<u8>> = None;
            let covered = o.scores(a, b);
            let walk: Box<dyn Iterator<Item = _>> = match high {
                false => Box::new(covered),
                true => Box::new(covered.rev()),
            };
            for (k, v) in walk {
                if let Some(v) = v {
                    first_live.get_or_insert_with(|| k.clone());
                    out.push((Bytes::copy_from_slice(&k[c.prefix.len()..]), v.clone()));
                    if out.len() == limit {
                        break;
                    }
                }
            }
            let exhausted = match high {
                false => bound >= hi,
                true => bound <= lo,
            };
            let cur = o.cursor_at(at);
            // Every entry walked before the first live one is removed.
            cur.start = match (&first_live, high) {
                (Some(k), false) => k.clone(),
                (Some(k), true) => key_after(k),
                (None, _) => bound.clone(),
            };
            if out.len() == limit || exhausted {
                if let Some(k) = nearer(stored_first, first_live, high).filter(|_| made) {
                    self.ks.hints.learn_end(&c.prefix, high, k);
                }
                return Ok(out);
            }
            let want = SCORE_READ_AHEAD.max(limit - out.len());
            let (from, to) = match high {
                false => (bound.as_slice(), hi.as_slice()),
                true => (lo.as_slice(), bound.as_slice()),
            };
            let stored = self
                .ks
                .storage
                .scan_elems(Cf::Score, from, to, high, want, 0)?;
            cur.bound = match stored.last() {
                Some((k, _)) if stored.len() == want => match high {
                    false => key_after(k),
                    true => k.to_vec(),
                },
                _ if high => lo.clone(),
                _ => hi.clone(),
            };
            if stored_first.is_none() {
                stored_first = stored.first().map(|(k, _)| k.to_vec());
            }
            for (k, v) in stored {
                o.read_ahead_score(k.to_vec(), v);
            }
        }
    }

    /// [`Txn::scan`] between whole keys: the merge of storage and the group's staged records,
    /// and the first element met from the scan's start, stored or staged (the merge's first
    /// may come after a stored element a pending removal hides).
    fn scan_between(
        &self,
        cf: Cf,
        c: &Coll,
        (lo, hi): (&[u8], &[u8]),
        reverse: bool,
        limit: usize,
    ) -> Result<Scanned> {
        // In a pipeline group, what earlier members staged in the range, the latest per key.
        let mut staged: BTreeMap<&[u8], Option<&Bytes>> = BTreeMap::new();
        let o = self.overlay.as_ref().map(|o| o.borrow());
        for (k, v) in o.iter().flat_map(|o| o.in_range(cf, lo, hi)) {
            staged.insert(&k[c.prefix.len()..], v.as_ref());
        }
        let storage = &self.ks.storage;
        if staged.is_empty() {
            let elems = storage.scan_elems(cf, lo, hi, reverse, limit, c.prefix.len())?;
            let first = elems.first().map(|(k, _)| k.clone());
            return Ok(Scanned { elems, first });
        }
        // Each staged removal hides at most one stored element: read that many more, so that
        // the first `limit` of the merge are all among what was read.
        let removed = staged.values().filter(|v| v.is_none()).count();
        let stored = storage.scan_elems(
            cf,
            lo,
            hi,
            reverse,
            limit.saturating_add(removed),
            c.prefix.len(),
        )?;
        let stored_first = stored.first().map(|(k, _)| k.clone());
        let mut merged: BTreeMap<Bytes, Bytes> = stored.into_iter().collect();
        for (suffix, v) in staged {
            match v {
                Some(v) => merged.insert(Bytes::copy_from_slice(suffix), v.clone()),
                None => merged.remove(suffix),
            };
        }
        let elems: Vec<(Bytes, Bytes)> = match reverse {
            false => merged.into_iter().take(limit).collect(),
            true => merged.into_iter().rev().take(limit).collect(),
        };
        let merged_first = elems.first().map(|(k, _)| k.clone());
        let first = nearer(stored_first, merged_first, reverse);
        Ok(Scanned { elems, first })
    }

    /// Prepares random draws from a collection (None when it is empty). It reads the first and
    /// the last [`SAMPLE_WALK`] elements to learn where keys differ and which byte values they
    /// use there, so that probes land among the elements rather than in the gaps between them.
    /// A sampler learnt recently for the same collection is reused (see `hints`).
    pub fn elem_sampler(&self, c: &Coll) -> Result<Option<ElemSampler>> {
        if let Some(s) = self.ks.hints.sampler(&c.prefix) {
            return Ok(Some(s));
        }
        let head = self.elems(c, None, None, false, SAMPLE_WALK)?;
        let Some(first) = head.first() else {
            return Ok(None);
        };
        let tail = self.elems(c, None, None, true, SAMPLE_WALK)?;
        let last = tail.last().map_or(&first.0, |(k, _)| k);
        let common = first
            .0
            .iter()
            .zip(last.iter())
            .take_while(|(a, b)| a == b)
            .count();
        let ranges = (common..common + 8)
            .map(|p| {
                // Only the bytes keys have there: a short key says nothing of the alphabet.
                let bytes = head
                    .iter()
                    .chain(&tail)
                    .filter_map(|(k, _)| k.get(p).copied());
                let (lo, hi) = bytes.fold((u8::MAX, 0), |(lo, hi), b| (lo.min(b), hi.max(b)));
                (lo.min(hi), hi)
            })
            .collect();
        let s = ElemSampler {
            prefix: first.0[..common].to_vec(),
            ranges,
        };
        self.ks.hints.keep_sampler(&c.prefix, &s, c.len());
        Ok(Some(s))
    }

    /// A random element in O(log n): a probe built byte by byte within the sampler's ranges, a
    /// seek, and the `i`-th element from there for an `i` drawn below [`SAMPLE_WALK`], wrapping
    /// to the first elements when the walk runs past the last. The wrap makes the collection a
    /// ring, in which every element follows [`SAMPLE_WALK`] probe positions; without it the
    /// first elements followed fewer and came up a third as often. Close to uniform, not exactly;
    /// nor is Redis's, which picks a random bucket.
    ///
    /// The walk stops at its pick: reading a window of [`SAMPLE_WALK`] elements and choosing
    /// among them cost twice the steps (and copies) on average, and a drained set's steps are
    /// over deletion markers too.
    pub fn random_elem(&self, c: &Coll, s: &ElemSampler) -> Result<Option<(Bytes, Bytes)>> {
        let mut probe = s.prefix.clone();
        probe.extend(s.ranges.iter().map(|&(lo, hi)| rand::random_range(lo..=hi)));
        let i = rand::random_range(0..SAMPLE_WALK);
        let mut walk = self.live_run(c, Some(&probe), i + 1)?;
        if walk.len() <= i {
            walk.extend(self.live_run(c, None, i + 1 - walk.len())?);
        }
        if walk.len() <= i {
            // Fewer elements than the walk: any of them.
            if walk.is_empty() {
                return Ok(None);
            }
            let j = rand::random_range(0..walk.len());
            return Ok(Some(walk.swap_remove(j)));
        }
        Ok(walk.pop())
    }

    /// Up to `n` elements from `from` on, as [`Txn::elems`] returns them. In a pipeline group
    /// whose overlay holds only removals (a run of SPOPs), stored elements are read a page at a
    /// time and each is looked up in the overlay: the merge `elems` does would filter the whole
    /// overlay and read one more stored element per removal in the range, on every pick.
    fn live_run(&self, c: &Coll, from: Option<&[u8]>, n: usize) -> Result<Vec<(Bytes, Bytes)>> {
        let removals = self.overlay.as_ref().map(|o| o.borrow());
        let Some(o) = removals.filter(|o| o.removals_only()) else {
            return self.elems(c, from, None, false, n);
        };
        let (mut lo, hi) = (c.bound(from, false), c.bound(None, true));
        let strip = c.prefix.len();
        let mut out = Vec::with_capacity(n);
        loop {
            let want = n - out.len();
            let page = self
                .ks
                .storage
                .scan_elems(Cf::Sub, &lo, &hi, false, want, 0)?;
            let (full, next) = (page.len() == want, page.last().map(|(k, _)| key_after(k)));
            out.extend(
                page.into_iter()
                    .filter(|(k, _)| o.get(k).is_none())
                    .map(|(k, v)| (k.slice(strip..), v)),
            );
            match next {
                Some(next) if full && out.len() < n => lo = next,
                _ => return Ok(out),
            }
        }
    }

    /// Records that a pop (SPOP, ZPOPMIN, ...) removed `popped` elements of `c` (its header
    /// already counting them out), so that a drained collection's deleted records get compacted
    /// away instead of slowing every later pop.
    pub fn note_pops(&self, c: &Coll, popped: u64) {
        if popped > 0 {
            self.ks
                .hints
                .note(&self.ks.storage, &c.prefix, popped, c.len());
        }
    }

    /// Stages `rec` (read from `src_key` in `src_db`) as the new value of `dst_key` in `dst_db`.
    /// A collection's elements are copied under a fresh version, so the copy is independent of
    /// the source: O(n) in its elements, as RENAME, COPY and MOVE are for on-disk collections.
    pub fn put_copy(
        &mut self,
        src_db: usize,
        src_key: &[u8],
        dst_db: usize,
        dst_key: &[u8],
        rec: Record,
    ) -> Result<()> {
        if rec.kind == Kind::String {
            return self.put(dst_db, dst_key, rec);
        }
        let h = CollHeader::decode(&rec.body)?;
        let src = self.coll_from(src_db, src_key, rec.kind, rec.expire_ms, h);
        let mut dst = self.coll_new(dst_db, dst_key, rec.kind);
        dst.expire_ms = rec.expire_ms;
        dst.h = CollHeader {
            version: dst.h.version,
            ..h
        };
        for cf in [Cf::Sub, Cf::Score] {
            let (lo, hi) = (src.bound(None, false), src.bound(None, true));
            let mut from = lo;
            loop {
                let page = self.ks.storage.scan_elems(cf, &from, &hi, false, 1024, 0)?;
                let Some((last, _)) = page.last() else {
                    break;
                };
                from = last.to_vec();
                from.push(0);
                for (k, v) in &page {
                    let suffix = &k[src.prefix.len()..];
                    let key = dst.elem_key(suffix);
                    self.work.batch.put_elem(cf, &key, v);
                }
                if page.len() < 1024 {
                    break;
                }
            }
        }
        self.put(dst_db, dst_key, rec_of(&dst))
    }
}

fn rec_of(c: &Coll) -> Record {
    Record {
        kind: c.kind,
        expire_ms: c.expire_ms,
        body: c.h.encode(),
    }
}

#[cfg(test)]
mod tests {
    use super::elem_prefix_end;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(elem_prefix_end(&[1, 2, 3]), vec![1, 2, 4]);
        assert_eq!(elem_prefix_end(&[1, 0xff]), vec![2, 0]);
        assert!(elem_prefix_end(&[1, 0xff]).as_slice() > [1u8, 0xff, 0xff, 0xff].as_slice());
    }
}
