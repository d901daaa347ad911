//! Keyspace hot paths: GET and SET through a `Txn`, served from the memory tier and from disk.
//!
//! "Disk" means the key was dropped from the memory tier just before the command (as the
//! integration tests' cold mode does), so the read is a RocksDB point lookup of a flushed,
//! compacted table (normally a block-cache hit) and the key is loaded back into memory. A SET of
//! a disk-only key reads its previous record first, for the exact counters.
//!
//! ```sh
//! cargo bench --release --bench keyspace
//! ```

mod common;

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use strata_keyspace::{Keyspace, KeyspaceOptions, Record};
use strata_storage::{Storage, StorageOptions};

/// Keys in the data set; every one fits the memory tier.
const KEYS: usize = 10_000;
/// Value size, as in `redis-benchmark -d 128`.
const VALUE: usize = 128;

struct Fixture {
    ks: Arc<Keyspace>,
    keys: Vec<Bytes>,
    // Dropped after `ks` (fields drop in declaration order).
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(&StorageOptions::new(dir.path())).expect("open");
    let ks = Keyspace::new(storage, KeyspaceOptions::default());
    let keys: Vec<Bytes> = (0..KEYS)
        .map(|i| Bytes::from(format!("key:{i:012}")))
        .collect();
    let value = Bytes::from(vec![b'v'; VALUE]);
    for k in &keys {
        set(&ks, k, value.clone());
    }
    // Flush the memtables into compacted tables, so disk reads are table reads.
    ks.storage().compact_all();
    Fixture {
        ks,
        keys,
        _dir: dir,
    }
}

/// The next key in turn, dropped from the memory tier so the command reads it from disk.
fn next_cold(f: &Fixture, i: &mut usize) -> Bytes {
    *i = (*i + 1) % KEYS;
    let key = f.keys[*i].clone();
    f.ks.drop_hot(Some(0), std::slice::from_ref(&key));
    key
}

fn get(ks: &Keyspace, key: &[u8]) -> Option<Bytes> {
    let mut t = ks.txn(&[(0, key)]);
    let r = t.lookup(0, key).expect("get").map(|r| r.body);
    t.commit().expect("commit");
    r
}

fn set(ks: &Keyspace, key: &[u8], value: Bytes) {
    let mut t = ks.txn(&[(0, key)]);
    t.put(0, key, Record::string(value)).expect("put");
    t.commit().expect("commit");
}

fn bench_get(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("keyspace_get");
    let mut i = 0;
    group.bench_function("memory", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(get(&f.ks, &f.keys[i]))
        });
    });
    group.bench_function("disk", |b| {
        b.iter_batched(
            || next_cold(&f, &mut i),
            |key| black_box(get(&f.ks, &key)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn bench_set(c: &mut Criterion) {
    let f = fixture();
    let value = Bytes::from(vec![b'w'; VALUE]);
    let mut group = c.benchmark_group("keyspace_set");
    let mut i = 0;
    group.bench_function("memory", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            set(&f.ks, &f.keys[i], value.clone());
        });
    });
    group.bench_function("disk", |b| {
        b.iter_batched(
            || next_cold(&f, &mut i),
            |key| set(&f.ks, &key, value.clone()),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench_get, bench_set
}
criterion_main!(benches);
