//! Exact counters kept as RocksDB merge operands, so they commit in the same batch as the change
//! they count and survive a crash without a scan (design invariant 6).

use rocksdb::MergeOperands;

/// Counters per physical db, in this order in a counter value's lanes.
pub const LANES: usize = 3;

/// Stats key of a physical db's counters: key count, logical bytes and keys with a TTL (INFO
/// keyspace `expires`), as little-endian i64 lanes. A commit adds one merge operand carrying all
/// three deltas: each operand is a memtable insert, and they are a large part of a write's cost.
pub fn counters_key(db: u16) -> [u8; 3] {
    let d = db.to_be_bytes();
    [b'c', d[0], d[1]]
}

/// Keys of the one-counter-per-key layout written before `counters_key`, in lane order. Still
/// read at open (their values add to the lanes) and removed when the db is emptied.
pub fn legacy_keys(db: u16) -> [[u8; 3]; LANES] {
    let d = db.to_be_bytes();
    [b'k', b'b', b'v'].map(|t| [t, d[0], d[1]])
}

/// Stats key of the logical→physical database map that makes SWAPDB O(1).
pub const DB_MAP_KEY: &[u8] = b"dbmap";

/// Stats key that is only ever deleted: the deletion gives an otherwise empty memtable something
/// to flush when WAL files are written ahead at open (`prime_wals`).
pub const WAL_PRIME_KEY: &[u8] = b"walprime";

/// Reads counter lanes; absent lanes (a short or absent value) read as zero.
pub fn parse_lanes(raw: Option<&[u8]>) -> [i64; LANES] {
    let mut lanes = [0i64; LANES];
    for (lane, chunk) in lanes.iter_mut().zip(raw.unwrap_or(&[]).chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        *lane = i64::from_le_bytes(a);
    }
    lanes
}

/// The value (or operand) of counter lanes.
pub fn encode_lanes(lanes: [i64; LANES]) -> [u8; 8 * LANES] {
    let mut out = [0u8; 8 * LANES];
    for (chunk, x) in out.chunks_exact_mut(8).zip(lanes) {
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

/// Associative merge: each lane is the sum of its base value and every operand. The result is as
/// wide as the widest input, so a one-lane legacy counter stays one lane.
pub fn add_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut sum = parse_lanes(existing);
    let mut width = existing.map_or(0, <[u8]>::len);
    for op in operands {
        width = width.max(op.len());
        for (s, x) in sum.iter_mut().zip(parse_lanes(Some(op))) {
            *s = s.wrapping_add(x);
        }
    }
    let width = (width / 8).clamp(1, LANES) * 8;
    Some(encode_lanes(sum)[..width].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_round_trip_and_short_values_fill_the_first_lanes() {
        assert_eq!(parse_lanes(Some(&encode_lanes([1, -2, 3]))), [1, -2, 3]);
        assert_eq!(parse_lanes(Some(&7i64.to_le_bytes())), [7, 0, 0]);
        assert_eq!(parse_lanes(None), [0, 0, 0]);
    }
}
