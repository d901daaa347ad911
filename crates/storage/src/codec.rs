//! Byte layout of every record Strata writes. Changing a layout here means a format version bump.
//!
//! # Format
//! - meta key: `phys_db:u16be | user key`
//! - meta value: `kind:u8 | expire_ms:u64be | body | crc32:u32le` (crc over everything before it)
//! - ttl key: `phys_db:u16be | expire_ms:u64be | user key`, value `logical_size:u64le`
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
    fn from_byte(b: u8) -> Option<Kind> {
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

    /// The bytes written to the meta family.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.body.len() + CRC);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.expire_ms.to_be_bytes());
        out.extend_from_slice(&self.body);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
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

/// `phys_db | key`.
pub fn meta_key(db: u16, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + key.len());
    k.extend_from_slice(&db.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// `phys_db | expire | key`.
pub fn ttl_key(db: u16, expire_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(10 + key.len());
    k.extend_from_slice(&db.to_be_bytes());
    k.extend_from_slice(&expire_ms.to_be_bytes());
    k.extend_from_slice(key);
    k
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
    fn ttl_keys_sort_by_db_then_time() {
        let a = ttl_key(1, 5, b"zzz");
        let b = ttl_key(1, 6, b"aaa");
        let c = ttl_key(2, 0, b"");
        assert!(a < b && b < c);
        assert_eq!(split_ttl_key(&a), Some((5, &b"zzz"[..])));
        assert!(db_end(1) <= c && meta_key(1, b"\xff\xff") < db_end(1));
    }
}
