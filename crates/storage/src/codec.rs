//! Byte layout of every record Strata writes. Changing a layout here means a format version bump.
//!
//! # Format
//! - meta key: `phys_db:u16be | user key`
//! - meta value: `kind:u8 | expire_ms:u64be | body | crc32:u32le` (crc over everything before it)
//! - ttl key: `phys_db:u16be | expire_ms:u64be | user key`, value `logical_size:u64le`
//! - collection body (in the meta value): `version | len | bytes | head | tail | flags`, each
//!   `u64be`
//! - element key (sub and score families): `phys_db:u16be | key_len:u32be | user key |
//!   version:u64be | suffix`. The suffix is a hash field, a set or zset member, a list index
//!   ([`list_index`]) or, in the score family, `score ([`score_bits`]) | member`.
//!
//! A collection's elements live under its version: DEL or overwrite writes only the metadata,
//! and the old version's elements become garbage that a compaction filter drops.
//!
//! Big-endian numbers keep RocksDB's byte order equal to numeric order, so a TTL scan is a seek.

use bytes::Bytes;

use crate::error::{Result, StorageError};

/// The Redis type of a key, as stored in its metadata record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A binary-safe string, stored inline in the metadata record.
    String = 1,
    /// A hash (elements in the sub family).
    Hash = 2,
    /// A list (elements in the sub family).
    List = 3,
    /// A set (elements in the sub family).
    Set = 4,
    /// A sorted set (elements in the sub and score families).
    ZSet = 5,
}

impl Kind {
    /// The kind whose tag (`Kind as u8`) is `b`.
    pub fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::String,
            2 => Kind::Hash,
            3 => Kind::List,
            4 => Kind::Set,
            5 => Kind::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE replies with.
    pub const fn type_name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
        }
    }
}

/// A decoded metadata record: what a key is, when it expires, and its kind-specific body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The key's type.
    pub kind: Kind,
    /// Absolute expiry in Unix milliseconds; 0 means no expiry.
    pub expire_ms: u64,
    /// For strings, the value itself; for collections, their header.
    pub body: Bytes,
}

const HEADER: usize = 1 + 8;
const CRC: usize = 4;

impl Record {
    /// A string record with no expiry.
    pub fn string(value: Bytes) -> Record {
        Record {
            kind: Kind::String,
            expire_ms: 0,
            body: value,
        }
    }

    /// The encoding around the body, `(kind | expiry, crc)`, for writers that place the body
    /// themselves (`encode` is the three joined).
    pub fn encode_parts(&self) -> ([u8; HEADER], [u8; CRC]) {
        let mut head = [0; HEADER];
        head[0] = self.kind as u8;
        head[1..].copy_from_slice(&self.expire_ms.to_be_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&head);
        h.update(&self.body);
        (head, h.finalize().to_le_bytes())
    }

    /// The bytes written to the meta family.
    pub fn encode(&self) -> Vec<u8> {
        let (head, crc) = self.encode_parts();
        [&head[..], &self.body, &crc].concat()
    }

    /// Parses and verifies a meta value.
    pub fn decode(raw: &[u8]) -> Result<Record> {
        if raw.len() < HEADER + CRC {
            return Err(StorageError::Corrupt("meta record too short"));
        }
        let (data, crc) = raw.split_at(raw.len() - CRC);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(data) != stored {
            return Err(StorageError::Corrupt("meta record checksum mismatch"));
        }
        let kind = Kind::from_byte(data[0]).ok_or(StorageError::Corrupt("unknown key type"))?;
        Ok(Record {
            kind,
            expire_ms: read_u64_be(&data[1..HEADER]),
            body: Bytes::copy_from_slice(&data[HEADER..]),
        })
    }
}

/// Reads the expiry of a raw meta value without verifying it (for the compaction filter).
pub(crate) fn peek_expire(raw: &[u8]) -> Option<u64> {
    raw.get(1..HEADER).map(read_u64_be)
}

fn read_u64_be(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// What precedes the user key in a meta key: `phys_db`. Writers that place a key's parts
/// themselves (a write batch) write this, then the key.
pub fn meta_prefix(db: u16) -> [u8; 2] {
    db.to_be_bytes()
}

/// `phys_db | key`.
pub fn meta_key(db: u16, key: &[u8]) -> Vec<u8> {
    [&meta_prefix(db)[..], key].concat()
}

/// What precedes the user key in a ttl key: `phys_db | expire`, so that a db's entries sort by
/// expiry.
pub fn ttl_prefix(db: u16, expire_ms: u64) -> [u8; 10] {
    let mut p = [0; 10];
    p[..2].copy_from_slice(&db.to_be_bytes());
    p[2..].copy_from_slice(&expire_ms.to_be_bytes());
    p
}

/// `phys_db | expire | key`.
pub fn ttl_key(db: u16, expire_ms: u64, key: &[u8]) -> Vec<u8> {
    [&ttl_prefix(db, expire_ms)[..], key].concat()
}

/// Splits a ttl key into `(expire_ms, user key)`.
pub fn split_ttl_key(raw: &[u8]) -> Option<(u64, &[u8])> {
    let exp = raw.get(2..10).map(read_u64_be)?;
    Some((exp, &raw[10..]))
}

/// The first key past every key of `db` (exclusive upper bound of a db's range).
pub fn db_end(db: u16) -> Vec<u8> {
    match db.checked_add(1) {
        Some(n) => n.to_be_bytes().to_vec(),
        None => vec![0xff, 0xff, 0xff],
    }
}

/// The header of a collection, kept in its metadata record's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollHeader {
    /// Elements of this collection live under this version; a new one orphans the old ones.
    pub version: u64,
    /// Number of elements (HLEN, SCARD, ZCARD, LLEN in O(1)).
    pub len: u64,
    /// Logical bytes of the elements (fields and values, members, list items).
    pub bytes: u64,
    /// Lists: index of the first element.
    pub head: u64,
    /// Lists: index one past the last element.
    pub tail: u64,
    /// [`CollHeader::BIG`] and [`CollHeader::NOT_INT`]: what OBJECT ENCODING reports.
    pub flags: u64,
}

const COLL_BODY: usize = 48;

impl CollHeader {
    /// Redis would have converted it to its big encoding (hashtable, skiplist); as in Redis,
    /// it never converts back.
    pub const BIG: u64 = 1;
    /// A set that has held a member that is not an integer (no longer an intset).
    pub const NOT_INT: u64 = 2;
}

impl CollHeader {
    /// The meta record body.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(COLL_BODY);
        for v in [
            self.version,
            self.len,
            self.bytes,
            self.head,
            self.tail,
            self.flags,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        Bytes::from(out)
    }

    /// Parses a meta record body.
    pub fn decode(body: &[u8]) -> Result<CollHeader> {
        if body.len() < COLL_BODY {
            return Err(StorageError::Corrupt("collection header too short"));
        }
        let f = |i: usize| read_u64_be(&body[i * 8..]);
        Ok(CollHeader {
            version: f(0),
            len: f(1),
            bytes: f(2),
            head: f(3),
            tail: f(4),
            flags: f(5),
        })
    }
}

/// The first list index: pushes on either side have 2^63 slots of room.
pub const LIST_MID: u64 = 1 << 63;

/// `phys_db | key_len | key | version`: every element key of one collection version starts so.
pub fn elem_prefix(phys: u16, key: &[u8], version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(14 + key.len() + 16);
    k.extend_from_slice(&phys.to_be_bytes());
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Splits an element key into `(phys_db, user key, version)`.
pub fn split_elem_key(raw: &[u8]) -> Option<(u16, &[u8], u64)> {
    let phys = u16::from_be_bytes([*raw.first()?, *raw.get(1)?]);
    let len = u32::from_be_bytes(raw.get(2..6)?.try_into().ok()?) as usize;
    let key = raw.get(6..6 + len)?;
    let version = raw.get(6 + len..14 + len).map(read_u64_be)?;
    Some((phys, key, version))
}

/// A list slot as an element-key suffix (big-endian, so byte order is list order).
pub fn list_index(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

/// A score as 8 bytes whose byte order is the numeric order (-inf first, +inf last, and -0
/// equal to 0). NaN never reaches storage.
pub fn score_bits(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let b = score.to_bits();
    let ordered = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    ordered.to_be_bytes()
}

/// The inverse of [`score_bits`].
pub fn score_from_bits(raw: &[u8]) -> f64 {
    let o = raw.get(..8).map_or(0, read_u64_be);
    let b = if o >> 63 == 1 { o & !(1 << 63) } else { !o };
    f64::from_bits(b)
}

/// Encodes a u64 as the ttl family's value.
pub fn size_value(size: u64) -> [u8; 8] {
    size.to_le_bytes()
}

/// Decodes the ttl family's value; a short value reads as zero.
pub fn parse_size_value(raw: &[u8]) -> u64 {
    raw.get(..8).map_or(0, |b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip_and_checksum() {
        let r = Record {
            kind: Kind::String,
            expire_ms: 1_700_000_000_123,
            body: Bytes::from_static(b"v"),
        };
        let raw = r.encode();
        assert_eq!(Record::decode(&raw).ok(), Some(r.clone()));
        assert_eq!(peek_expire(&raw), Some(1_700_000_000_123));
        let mut bad = raw.clone();
        bad[9] ^= 1;
        assert!(matches!(
            Record::decode(&bad),
            Err(StorageError::Corrupt(_))
        ));
        assert!(Record::decode(&raw[..5]).is_err());
    }

    #[test]
    fn scores_sort_as_numbers() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -0.0,
            1e-300,
            1.0,
            3.5,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(score_bits(w[0]) <= score_bits(w[1]), "{} {}", w[0], w[1]);
        }
        assert_eq!(score_bits(-0.0), score_bits(0.0));
        for x in xs {
            assert_eq!(
                score_from_bits(&score_bits(x)),
                if x == 0.0 { 0.0 } else { x }
            );
        }
    }

    #[test]
    fn element_keys_split_and_never_collide_across_keys() {
        let p = elem_prefix(3, b"ab", 7);
        assert_eq!(split_elem_key(&p), Some((3, &b"ab"[..], 7)));
        // "a" + field "b..." must not share a prefix with key "ab".
        assert!(
            !elem_prefix(3, b"a", 7).starts_with(&p) && !p.starts_with(&elem_prefix(3, b"a", 7))
        );
        let h = CollHeader {
            version: 9,
            len: 2,
            bytes: 30,
            head: LIST_MID,
            tail: LIST_MID + 2,
            flags: CollHeader::BIG,
        };
        assert_eq!(CollHeader::decode(&h.encode()).ok(), Some(h));
        assert!(split_elem_key(b"\x00").is_none());
    }

    #[test]
    fn ttl_keys_sort_by_db_then_time() {
        let a = ttl_key(1, 5, b"zzz");
        let b = ttl_key(1, 6, b"aaa");
        let c = ttl_key(2, 0, b"");
        assert!(a < b && b < c);
        assert_eq!(split_ttl_key(&a), Some((5, &b"zzz"[..])));
        assert!(db_end(1) <= c && meta_key(1, b"\xff\xff") < db_end(1));
    }
}
