//! Storage write path: committing a RocksDB write batch (WAL append plus memtable insert, no
//! fsync, as under `appendfsync everysec`), with one put and with 16 puts (a pipeline's worth);
//! and a pipeline group's write of 16 members that each rewrite one key (16 INCRs of a
//! counter), of which the batch keeps the last record only.
//!
//! ```sh
//! cargo bench --release --bench storage
//! ```

mod common;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_storage::{Prev, Record, Storage, StorageOptions};

/// Distinct keys the benches cycle over.
const KEYS: usize = 10_000;
/// Value size, as in `redis-benchmark -d 128`.
const VALUE: usize = 128;

fn bench_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Storage::open(&StorageOptions::new(dir.path())).expect("open");
    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect();
    let rec = Record::string(Bytes::from(vec![b'v'; VALUE]));
    let size = (keys[0].len() + VALUE) as u64;
    // Every key exists, so each put below replaces a record of the same size.
    let mut b = s.batch();
    for k in &keys {
        b.put(0, k, &rec, size, None);
    }
    b.commit().expect("commit");
    let prev = Some(Prev { expire_ms: 0, size });

    let mut group = c.benchmark_group("storage_commit");
    let mut i = 0;
    for puts in [1usize, 16] {
        group.throughput(Throughput::Elements(puts as u64));
        group.bench_function(format!("batch_{puts}_put_128b"), |bench| {
            bench.iter(|| {
                let mut b = s.batch();
                for _ in 0..puts {
                    i = (i + 1) % KEYS;
                    b.put(0, &keys[i], &rec, size, prev);
                }
                black_box(b.commit().expect("commit"))
            });
        });
    }
    group.throughput(Throughput::Elements(16));
    group.bench_function("group_16_members_one_key", |bench| {
        bench.iter(|| {
            let mut b = s.batch();
            let mut member = s.batch();
            for _ in 0..16 {
                member.put(0, &keys[0], &rec, size, prev);
                member.may_repeat();
                b.absorb(&mut member);
            }
            black_box(b.commit().expect("commit"))
        });
    });
    group.finish();
    s.shutdown();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_commit
}
criterion_main!(benches);
