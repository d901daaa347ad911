//! Exact counters kept as RocksDB merge operands, so they commit in the same batch as the change
//! they count and survive a crash without a scan (design invariant 6).

use rocksdb::MergeOperands;

/// Stats key of the per-db key count.
pub fn keys_key(db: u16) -> [u8; 3] {
    let d = db.to_be_bytes();
    [b'k', d[0], d[1]]
}

/// Stats key of the per-db logical byte count.
pub fn bytes_key(db: u16) -> [u8; 3] {
    let d = db.to_be_bytes();
    [b'b', d[0], d[1]]
}

/// Stats key of the per-db count of keys with a TTL (INFO keyspace `expires`).
pub fn volatile_key(db: u16) -> [u8; 3] {
    let d = db.to_be_bytes();
    [b'v', d[0], d[1]]
}

/// Stats key of the logical→physical database map that makes SWAPDB O(1).
pub const DB_MAP_KEY: &[u8] = b"dbmap";

/// Reads an i64 counter value; absent or malformed reads as zero.
pub fn parse_counter(raw: Option<&[u8]>) -> i64 {
    raw.and_then(|b| b.get(..8)).map_or(0, |b| {
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        i64::from_le_bytes(a)
    })
}

/// Associative merge: the counter is the sum of its base value and every operand.
pub fn add_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut sum = parse_counter(existing);
    for op in operands {
        sum = sum.wrapping_add(parse_counter(Some(op)));
    }
    Some(sum.to_le_bytes().to_vec())
}
