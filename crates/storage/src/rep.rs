//! Write-batch records built in Rust, in RocksDB's own batch format.
//!
//! A RocksDB `WriteBatch` is a C++ object: each put is a call across the FFI that appends to a
//! `std::string`, and a pipeline group then copied every member's records into its own. Here a
//! batch is a plain `Vec<u8>` in the same format (a 12-byte header, then records), handed to
//! RocksDB once at commit (`WriteBatch::from_data`). Keys and values are written in place from
//! their parts, so a put allocates nothing, and a group takes in a member's records with one
//! copy.
//!
//! The format is RocksDB's by construction: the bytes before a record's key (its type tag and
//! column family id) are learnt at open from a batch RocksDB itself builds ([`Tags::learn`]),
//! and a unit test compares whole batches with RocksDB's.

use rocksdb::{ColumnFamily, WriteBatch};

/// Bytes before the first record: the sequence (RocksDB fills it in) and the record count.
pub(crate) const HEADER: usize = 12;

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

    /// A length-prefixed string made of `parts`.
    fn string(&mut self, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        varint32(&mut self.buf, len as u32);
        for p in parts {
            self.buf.extend_from_slice(p);
        }
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
    pub(crate) fn append(&mut self, other: &mut Rep) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            // The first records: take `other`'s buffer rather than copy it into a new one.
            std::mem::swap(self, other);
            other.buf.clear();
            other.count = 0;
            return;
        }
        if self.buf.is_empty() {
            self.buf.reserve(other.buf.len());
            self.buf.extend_from_slice(&[0; HEADER]);
        }
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
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

    /// Whole batches built here equal RocksDB's, byte for byte, for every kind of record, in
    /// the default family (no id) and in others, with lengths that need multi-byte varints.
    #[test]
    fn records_match_rocksdbs_own_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut o = Options::default();
        o.create_if_missing(true);
        o.create_missing_column_families(true);
        let names: Vec<String> = (0..200).map(|i| format!("cf{i}")).collect();
        let db = DB::open_cf(&o, dir.path(), &names).expect("open");
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
            mine.append(&mut other);
            assert!(other.is_empty());
            // A drained batch is refilled (its buffer reused) and appended again.
            other.put(&t, &[b"again"], &[b"v"]);
            theirs.put_cf(cf, b"again", b"v");
            mine.append(&mut other);
            assert_eq!(mine.write_batch().data(), theirs.data(), "family {name}");
            // Appended to an empty batch, records move over whole.
            let mut empty = Rep::default();
            other.put(&t, &[b"k"], &[&long[..], b"tail"]);
            empty.append(&mut other);
            assert!(other.is_empty());
            let mut alone = WriteBatch::default();
            alone.put_cf(cf, b"k", [&long[..], b"tail"].concat());
            assert_eq!(empty.write_batch().data(), alone.data(), "family {name}");
        }
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
