//! Write-batch records built in Rust, in RocksDB's own batch format.
//!
//! A RocksDB `WriteBatch` is a C++ object: each put is a call across the FFI that appends to a
//! `std::string`, and a pipeline group then copied every member's records into its own. Here a
//! batch is a plain `Vec<u8>` in the same format (a 12-byte header, then records), handed to
//! RocksDB once at commit (`WriteBatch::from_data`). Keys and values are written in place from
//! their parts, so a put allocates nothing, and a group takes in a member's records with one
//! copy.
//!
//! A group's members often write the same key in turn (pipelined HSETs, LPUSHes or INCRs of one
//! key rewrite its metadata each time), and only the last of those writes can ever be read: the
//! batch commits whole. So a point write made with [`Rep::put_latest`] or [`Rep::delete_latest`]
//! takes out the earlier one of its key, and the memtable gets one insert per key per commit
//! rather than one per write.
//!
//! The format is RocksDB's by construction: the bytes before a record's key (its type tag and
//! column family id) are learnt at open from a batch RocksDB itself builds ([`Tags::learn`]),
//! and a unit test compares whole batches with RocksDB's.

use rocksdb::{ColumnFamily, WriteBatch};

/// Bytes before the first record: the sequence (RocksDB fills it in) and the record count.
pub(crate) const HEADER: usize = 12;

/// Replaceable records a batch keeps track of at most (a pipeline group's members at most): the
/// search for an earlier one stays short, and the writes beyond are plain ones, as if each key
/// were new (never wrong, since the later of two records of a key wins).
const MAX_LATEST: usize = 64;

/// The bytes that open one kind of record in one column family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tag {
    bytes: [u8; 6],
    len: u8,
}

impl Tag {
    /// Takes the record RocksDB wrote for an empty key (and empty value, if `values`), minus
    /// those empty strings' one-byte lengths.
    fn from_record(record: &[u8], strings: usize) -> Tag {
        let len = record.len().saturating_sub(strings).min(6);
        let mut bytes = [0; 6];
        bytes[..len].copy_from_slice(&record[..len]);
        Tag {
            bytes,
            len: len as u8,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// The record openings of one column family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tags {
    put: Tag,
    delete: Tag,
    merge: Tag,
    delete_range: Tag,
}

impl Tags {
    /// Reads the openings off batches RocksDB builds for `cf`.
    pub(crate) fn learn(cf: &ColumnFamily) -> Tags {
        let record = |fill: &dyn Fn(&mut WriteBatch), strings| {
            let mut wb = WriteBatch::default();
            fill(&mut wb);
            Tag::from_record(&wb.data()[HEADER..], strings)
        };
        Tags {
            put: record(&|wb| wb.put_cf(cf, b"", b""), 2),
            delete: record(&|wb| wb.delete_cf(cf, b""), 1),
            merge: record(&|wb| wb.merge_cf(cf, b"", b""), 2),
            delete_range: record(&|wb| wb.delete_range_cf(cf, b"", b""), 2),
        }
    }
}

/// A batch's records, in RocksDB's format. Empty (and unallocated) until the first record.
#[derive(Debug, Default)]
pub(crate) struct Rep {
    buf: Vec<u8>,
    count: u32,
    /// The records written with `put_latest` or `delete_latest`, which a later point write of
    /// their key replaces.
    latest: Vec<Latest>,
}

/// Where a replaceable record lies in `Rep::buf`, and its family (keys are compared within one).
#[derive(Debug, Clone, Copy)]
struct Latest {
    family: u8,
    start: usize,
    key: usize,
    key_len: usize,
    end: usize,
}

impl Rep {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn open(&mut self, tag: &Tag) {
        if self.buf.is_empty() {
            // A SET's record and the commit's counter operand fit without a reallocation.
            self.buf.reserve(512);
            self.buf.extend_from_slice(&[0; HEADER]);
        }
        self.buf.extend_from_slice(tag.as_slice());
        self.count += 1;
    }

    /// A length-prefixed string made of `parts`; returns where its bytes start.
    fn string(&mut self, parts: &[&[u8]]) -> usize {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        varint32(&mut self.buf, len as u32);
        let at = self.buf.len();
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        at
    }

    /// `key` (the concatenation of its parts) gets `value`.
    pub(crate) fn put(&mut self, t: &Tags, key: &[&[u8]], value: &[&[u8]]) {
        self.open(&t.put);
        self.string(key);
        self.string(value);
    }

    pub(crate) fn delete(&mut self, t: &Tags, key: &[&[u8]]) {
        self.open(&t.delete);
        self.string(key);
    }

    /// `put`, replacing the batch's earlier `put_latest` or `delete_latest` of `key` in the same
    /// `family` (the caller's number for the family `t` belongs to).
    pub(crate) fn put_latest(&mut self, t: &Tags, family: u8, key: &[&[u8]], value: &[&[u8]]) {
        self.write_latest(&t.put, family, key, Some(value));
    }

    /// `delete`, replacing the batch's earlier `put_latest` or `delete_latest` of `key`.
    pub(crate) fn delete_latest(&mut self, t: &Tags, family: u8, key: &[&[u8]]) {
        self.write_latest(&t.delete, family, key, None);
    }

    /// Writes a record opened by `tag` (a put with `value`, a delete without), taking out the
    /// earlier replaceable record of `key` and noting where this one lies; past
    /// [`MAX_LATEST`] tracked records, a plain record.
    fn write_latest(&mut self, tag: &Tag, family: u8, key: &[&[u8]], value: Option<&[&[u8]]>) {
        let tracked = self.latest.len() < MAX_LATEST;
        if tracked {
            self.take_out(family, key);
        }
        self.open(tag);
        let start = self.buf.len() - tag.len as usize;
        let key_at = self.string(key);
        let key_len = self.buf.len() - key_at;
        if let Some(value) = value {
            self.string(value);
        }
        if tracked {
            self.latest.push(Latest {
                family,
                start,
                key: key_at,
                key_len,
                end: self.buf.len(),
            });
        }
    }

    /// Removes the earlier replaceable record of `key` in `family`, if the batch has one.
    fn take_out(&mut self, family: u8, key: &[&[u8]]) {
        if self.latest.is_empty() {
            return;
        }
        let key_len: usize = key.iter().map(|p| p.len()).sum();
        let buf = &self.buf;
        let same = |l: &Latest| {
            let mut at = l.key;
            l.family == family
                && l.key_len == key_len
                && key.iter().all(|p| {
                    let same = buf.get(at..at + p.len()) == Some(*p);
                    at += p.len();
                    same
                })
        };
        let Some(i) = self.latest.iter().position(same) else {
            return;
        };
        let l = self.latest.remove(i);
        self.buf.drain(l.start..l.end);
        self.count -= 1;
        let gone = l.end - l.start;
        for later in self.latest.iter_mut().filter(|m| m.start > l.start) {
            later.start -= gone;
            later.key -= gone;
            later.end -= gone;
        }
    }

    pub(crate) fn merge(&mut self, t: &Tags, key: &[&[u8]], operand: &[&[u8]]) {
        self.open(&t.merge);
        self.string(key);
        self.string(operand);
    }

    /// Every key in `[from, to)`.
    pub(crate) fn delete_range(&mut self, t: &Tags, from: &[u8], to: &[u8]) {
        self.open(&t.delete_range);
        self.string(&[from]);
        self.string(&[to]);
    }

    /// Moves `other`'s records after these, leaving it empty with its buffer kept for reuse.
    /// With `repeats`, `other`'s replaceable records replace these records of their keys; the
    /// caller passes it only when `other` may write a key these records wrote, so a pipeline of
    /// distinct keys searches nothing.
    pub(crate) fn append(&mut self, other: &mut Rep, repeats: bool) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            // The first records: take `other`'s buffer rather than copy it into a new one.
            std::mem::swap(self, other);
            other.buf.clear();
            other.count = 0;
            other.latest.clear();
            return;
        }
        if repeats {
            for l in &other.latest {
                self.take_out(l.family, &[&other.buf[l.key..l.key + l.key_len]]);
            }
        }
        if self.buf.is_empty() {
            self.buf.reserve(other.buf.len());
            self.buf.extend_from_slice(&[0; HEADER]);
        }
        let base = self.buf.len() - HEADER;
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
        let room = MAX_LATEST.saturating_sub(self.latest.len());
        self.latest
            .extend(other.latest.drain(..).take(room).map(|l| Latest {
                family: l.family,
                start: l.start + base,
                key: l.key + base,
                key_len: l.key_len,
                end: l.end + base,
            }));
        other.buf.clear();
        other.count = 0;
    }

    /// The RocksDB batch of these records (fills in the header's count).
    pub(crate) fn write_batch(&mut self) -> WriteBatch {
        if self.buf.is_empty() {
            return WriteBatch::default();
        }
        self.buf[8..HEADER].copy_from_slice(&self.count.to_le_bytes());
        WriteBatch::from_data(&self.buf)
    }
}

/// RocksDB's varint32: seven bits per byte, low first, high bit set on all but the last.
fn varint32(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocksdb::{Options, DB};

    /// A database at `dir` with the families `names` (and the default one).
    fn open_with(dir: &std::path::Path, names: &[impl AsRef<str>]) -> DB {
        let mut o = Options::default();
        o.create_if_missing(true);
        o.create_missing_column_families(true);
        DB::open_cf(&o, dir, names.iter().map(AsRef::as_ref)).expect("open")
    }

    /// Whole batches built here equal RocksDB's, byte for byte, for every kind of record, in
    /// the default family (no id) and in others, with lengths that need multi-byte varints.
    #[test]
    fn records_match_rocksdbs_own_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names: Vec<String> = (0..200).map(|i| format!("cf{i}")).collect();
        let db = open_with(dir.path(), &names);
        let long = vec![7u8; 20_000];
        for name in ["default", "cf0", "cf150", "cf199"] {
            let cf = db.cf_handle(name).expect("cf");
            let t = Tags::learn(cf);
            let mut mine = Rep::default();
            let mut theirs = WriteBatch::default();
            mine.put(&t, &[b"ab", b"c"], &[b"value"]);
            theirs.put_cf(cf, b"abc", b"value");
            mine.put(&t, &[b"k"], &[&long[..], b"tail"]);
            theirs.put_cf(cf, b"k", [&long[..], b"tail"].concat());
            mine.delete(&t, &[b"gone"]);
            theirs.delete_cf(cf, b"gone");
            mine.merge(&t, &[b"m"], &[b"+1"]);
            theirs.merge_cf(cf, b"m", b"+1");
            mine.delete_range(&t, b"a", b"z");
            theirs.delete_range_cf(cf, b"a", b"z");
            let mut other = Rep::default();
            other.put(&t, &[b""], &[b""]);
            theirs.put_cf(cf, b"", b"");
            mine.append(&mut other, false);
            assert!(other.is_empty());
            // A drained batch is refilled (its buffer reused) and appended again.
            other.put(&t, &[b"again"], &[b"v"]);
            theirs.put_cf(cf, b"again", b"v");
            mine.append(&mut other, false);
            assert_eq!(mine.write_batch().data(), theirs.data(), "family {name}");
            // Appended to an empty batch, records move over whole.
            let mut empty = Rep::default();
            other.put(&t, &[b"k"], &[&long[..], b"tail"]);
            empty.append(&mut other, false);
            assert!(other.is_empty());
            let mut alone = WriteBatch::default();
            alone.put_cf(cf, b"k", [&long[..], b"tail"].concat());
            assert_eq!(empty.write_batch().data(), alone.data(), "family {name}");
        }
    }

    /// Of a key's writes made with `put_latest` and `delete_latest`, only the last stays, in
    /// its place in the order: within a batch, across `append`, and after earlier removals moved
    /// the records that follow.
    #[test]
    fn a_later_write_of_a_key_replaces_the_earlier_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open_with(dir.path(), &["meta", "elems"]);
        let (meta, elems) = (
            db.cf_handle("meta").expect("cf"),
            db.cf_handle("elems").expect("cf"),
        );
        let (m, e) = (Tags::learn(meta), Tags::learn(elems));
        let long = vec![9u8; 300];
        let mut mine = Rep::default();
        mine.put_latest(&m, 0, &[b"\0\x01", b"a"], &[b"v1"]);
        mine.put(&e, &[b"x"], &[b"1"]);
        mine.put_latest(&m, 0, &[b"\0\x01b"], &[b"w"]);
        mine.put_latest(&m, 0, &[b"\0", b"\x01a"], &[&long[..]]);
        mine.delete_latest(&m, 0, &[b"\0\x01b"]);
        // Another family's record of the same key bytes is not replaced, nor replaces.
        mine.put_latest(&e, 1, &[b"\0\x01a"], &[b"elem"]);
        let mut other = Rep::default();
        other.put_latest(&m, 0, &[b"\0\x01a"], &[b"v3"]);
        other.put_latest(&m, 0, &[b"c"], &[b"z"]);
        other.delete(&e, &[b"y"]);
        other.put_latest(&e, 1, &[b"\0\x01a"], &[b"elem2"]);
        mine.append(&mut other, true);
        mine.put_latest(&m, 0, &[b"c"], &[b"z2"]);
        mine.put_latest(&m, 0, &[b"\0\x01ab"], &[b"longer key"]);

        let mut theirs = WriteBatch::default();
        theirs.put_cf(elems, b"x", b"1");
        theirs.delete_cf(meta, b"\0\x01b");
        theirs.put_cf(meta, b"\0\x01a", b"v3");
        theirs.delete_cf(elems, b"y");
        theirs.put_cf(elems, b"\0\x01a", b"elem2");
        theirs.put_cf(meta, b"c", b"z2");
        theirs.put_cf(meta, b"\0\x01ab", b"longer key");
        assert_eq!(mine.write_batch().data(), theirs.data());

        // A batch whose every record was replaced holds the replacement alone.
        let mut one = Rep::default();
        one.put_latest(&m, 0, &[b"k"], &[&long[..]]);
        one.delete_latest(&m, 0, &[b"k"]);
        one.put_latest(&m, 0, &[b"k"], &[b"last"]);
        let mut alone = WriteBatch::default();
        alone.put_cf(meta, b"k", b"last");
        assert_eq!(one.write_batch().data(), alone.data());

        // Appended without `repeats`, both records of a key stay (the later wins in RocksDB).
        let mut first = Rep::default();
        first.put_latest(&m, 0, &[b"k"], &[b"1"]);
        let mut second = Rep::default();
        second.put_latest(&m, 0, &[b"k"], &[b"2"]);
        first.append(&mut second, false);
        let mut both = WriteBatch::default();
        both.put_cf(meta, b"k", b"1");
        both.put_cf(meta, b"k", b"2");
        assert_eq!(first.write_batch().data(), both.data());
    }

    #[test]
    fn varints_are_rocksdbs() {
        for (v, want) in [
            (0u32, vec![0u8]),
            (127, vec![127]),
            (128, vec![0x80, 1]),
            (300, vec![0xac, 2]),
            (u32::MAX, vec![0xff, 0xff, 0xff, 0xff, 0x0f]),
        ] {
            let mut out = Vec::new();
            varint32(&mut out, v);
            assert_eq!(out, want, "{v}");
        }
    }
}
