//! The longest single insert while a map like the memory tier's (`DashMap<Bytes, _>` with
//! ahash) grows to a million keys, by shard count. A shard's table doubles all at once, and the
//! insert that triggers it moves the whole shard: the pause every client of a worker waits out.
//! This is what sets the shard count in `HotTier::new` (`crates/keyspace/src/hot.rs`).
//!
//! `cargo bench --bench map_growth`

use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;

fn main() {
    const KEYS: u64 = 1_000_000;
    println!("| shards | fill time | longest insert | inserts over 100 us |");
    println!("|---:|---:|---:|---:|");
    for shards in [8usize, 64, 256, 1024] {
        let map: DashMap<Bytes, [u64; 6], ahash::RandomState> =
            DashMap::with_hasher_and_shard_amount(Default::default(), shards);
        let (mut longest, mut slow) = (Duration::ZERO, 0);
        let start = Instant::now();
        for i in 0..KEYS {
            let key = Bytes::from(format!("key:{:012}", i.wrapping_mul(2_654_435_761) % KEYS));
            let t = Instant::now();
            map.insert(key, [i; 6]);
            let took = t.elapsed();
            longest = longest.max(took);
            slow += usize::from(took > Duration::from_micros(100));
        }
        println!(
            "| {shards} | {:.0?} | {longest:.2?} | {slow} |",
            start.elapsed()
        );
    }
}
