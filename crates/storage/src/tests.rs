use super::*;

fn open(dir: &Path) -> Arc<Storage> {
    Storage::open(&StorageOptions::new(dir)).expect("open")
}

fn put_str(
    s: &Storage,
    db: u16,
    key: &[u8],
    val: &'static [u8],
    expire: u64,
    prev: Option<Prev>,
) -> Prev {
    let rec = Record {
        kind: Kind::String,
        expire_ms: expire,
        body: Bytes::from_static(val),
    };
    let size = (key.len() + val.len()) as u64;
    let mut b = s.batch();
    b.put(db, key, &rec, size, prev);
    b.commit().expect("commit");
    Prev {
        expire_ms: expire,
        size,
    }
}

#[test]
fn counters_follow_puts_and_deletes_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    let p = put_str(&s, 0, b"a", b"xyz", 0, None);
    let p = put_str(&s, 0, b"a", b"xy", 0, Some(p));
    put_str(&s, 0, b"b", b"1", 0, None);
    put_str(&s, 3, b"c", b"1", 0, None);
    assert_eq!((s.key_count(0), s.data_bytes(0)), (2, 5));
    let mut b = s.batch();
    b.delete(0, b"a", p);
    b.commit().expect("commit");
    assert_eq!((s.key_count(0), s.data_bytes(0), s.key_count(3)), (1, 2, 1));
    s.shutdown();
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        (
            s.key_count(0),
            s.data_bytes(0),
            s.key_count(3),
            s.total_data_bytes()
        ),
        (1, 2, 1, 4)
    );
    assert_eq!(
        s.get(0, b"b").expect("get").map(|r| r.body),
        Some(Bytes::from_static(b"1"))
    );
    assert_eq!(s.get(0, b"a").expect("get"), None);
}

#[test]
fn ttl_index_tracks_expiry_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    let p = put_str(&s, 1, b"k", b"v", 100, None);
    assert_eq!(s.due_ttl(1, 1000, 10).expect("due").len(), 1);
    let p = put_str(&s, 1, b"k", b"v", 2000, Some(p));
    assert!(s.due_ttl(1, 1000, 10).expect("due").is_empty());
    assert_eq!(
        s.due_ttl(1, 2000, 10).expect("due"),
        vec![(Bytes::from_static(b"k"), 2000, 2)]
    );
    put_str(&s, 1, b"k", b"v", 0, Some(p));
    assert!(s.due_ttl(1, u64::MAX - 1, 10).expect("due").is_empty());
}

#[test]
fn clear_db_and_swap_are_exact_and_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    put_str(&s, 0, b"a", b"1", 50, None);
    put_str(&s, 1, b"b", b"1", 0, None);
    s.swap_dbs(0, 1).expect("swap");
    assert_eq!((s.phys(0), s.phys(1)), (Some(1), Some(0)));
    let mut b = s.batch();
    b.clear_db(0);
    b.commit().expect("commit");
    assert_eq!((s.key_count(0), s.data_bytes(0), s.key_count(1)), (0, 0, 1));
    assert!(s.due_ttl(0, 100, 10).expect("due").is_empty());
    put_str(&s, 0, b"z", b"1", 0, None);
    drop(s);
    let s = open(dir.path());
    assert_eq!((s.phys(0), s.key_count(0), s.key_count(1)), (Some(1), 1, 1));
}

#[test]
fn compaction_filter_drops_long_expired_records_and_ttl_entry_settles_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    let old = now_ms() - 2 * FILTER_GRACE_MS;
    put_str(&s, 0, b"gone", b"12345", old, None);
    put_str(&s, 0, b"kept", b"1", 0, None);
    s.compact_all();
    assert_eq!(s.get(0, b"gone").expect("get"), None);
    assert_eq!(s.key_count(0), 2, "the filter cannot touch counters");
    let due = s.due_ttl(0, now_ms(), 10).expect("due");
    assert_eq!(due, vec![(Bytes::from_static(b"gone"), old, 9)]);
    let mut b = s.batch();
    b.settle_orphan_ttl(0, b"gone", old, 9);
    b.commit().expect("commit");
    assert_eq!((s.key_count(0), s.data_bytes(0)), (1, 5));
}

#[test]
fn scan_pages_through_one_db_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    for k in [&b"a"[..], b"b", b"c"] {
        put_str(&s, 2, k, b"v", 0, None);
    }
    put_str(&s, 3, b"x", b"v", 0, None);
    let (page, done) = s.scan(2, None, 2).expect("scan");
    assert_eq!(
        page.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
    );
    assert!(!done);
    let (page, done) = s.scan(2, Some(b"b"), 2).expect("scan");
    assert_eq!(page.len(), 1);
    assert!(done);
    assert_eq!(
        s.key_at_or_after(2, b"bb").expect("rk"),
        Some(Bytes::from_static(b"c"))
    );
    assert_eq!(
        s.key_at_or_after(2, b"d").expect("rk"),
        Some(Bytes::from_static(b"a"))
    );
}

#[test]
fn always_policy_syncs_each_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = StorageOptions::new(dir.path());
    o.fsync = FsyncPolicy::Always;
    let s = Storage::open(&o).expect("open");
    let rec = Record::string(Bytes::from_static(b"v"));
    let mut b = s.batch();
    b.put(0, b"k", &rec, 2, None);
    let seq = b.commit().expect("commit");
    let mut rx = s.synced_watch();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while *rx.borrow_and_update() < seq && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!s.must_wait_for(seq));
    assert!(s.fsync_count() >= 1);
}

/// Under `always` a fresh database writes into a WAL file written ahead, with a second one queued
/// for reuse. What is written after replays from that file when the database opens again without
/// a flush (as after a crash): the zeros left past the new records read as the log's end.
#[test]
fn always_starts_on_wal_files_written_ahead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = StorageOptions::new(dir.path());
    o.fsync = FsyncPolicy::Always;
    let wal_sizes = || -> Vec<u64> {
        std::fs::read_dir(dir.path())
            .expect("read_dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .filter_map(|e| e.metadata().ok().map(|m| m.len()))
            .collect()
    };
    let s = Storage::open(&o).expect("open");
    let sizes = wal_sizes();
    assert_eq!(sizes.len(), 2, "WAL files: {sizes:?}");
    let ahead = wal_prime_bytes(&o) as u64;
    assert!(sizes.iter().all(|&n| n >= ahead), "{sizes:?} < {ahead}");
    let p = put_str(&s, 0, b"a", b"xyz", 0, None);
    put_str(&s, 0, b"b", b"1", 0, None);
    let mut b = s.batch();
    b.delete(0, b"a", p);
    b.commit().expect("commit");
    put_str(&s, 0, b"c", b"22", 0, None);
    s.sync_now();
    // Stop the syncer but flush nothing: the reopen must replay the WAL.
    s.stopping.store(true, Ordering::Release);
    s.wal.poke();
    if let Some(h) = s.syncer.lock().take() {
        h.join().expect("syncer");
    }
    drop(s);
    let s = Storage::open(&o).expect("reopen");
    assert_eq!((s.key_count(0), s.data_bytes(0)), (2, 5));
    assert_eq!(s.get(0, b"a").expect("get"), None);
    assert_eq!(
        s.get(0, b"c").expect("get").map(|r| r.body),
        Some(Bytes::from_static(b"22"))
    );
}

#[test]
fn counters_of_the_one_key_per_counter_layout_are_added_in_and_cleared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    put_str(&s, 0, b"a", b"xyz", 0, None);
    // What an older data dir holds: one merge-summed key per counter.
    let stats_cf = s.cf(Cf::Stats);
    for (key, v) in stats::legacy_keys(0).into_iter().zip([5i64, 50, 2]) {
        s.db.merge_cf(stats_cf, key, v.to_le_bytes())
            .expect("merge");
    }
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        (s.key_count(0), s.data_bytes(0), s.volatile_count(0)),
        (6, 54, 2)
    );
    let mut b = s.batch();
    b.clear_db(0);
    b.commit().expect("commit");
    put_str(&s, 0, b"b", b"1", 0, None);
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        (s.key_count(0), s.data_bytes(0), s.volatile_count(0)),
        (1, 2, 0)
    );
}

#[test]
fn a_failed_write_turns_storage_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    put_str(&s, 0, b"a", b"1", 0, None);
    assert_eq!(s.read_only_reason(), None);
    s.fail("disk full".into());
    assert_eq!(s.read_only_reason().as_deref(), Some("disk full"));
    let mut b = s.batch();
    b.put(0, b"b", &Record::string(Bytes::from_static(b"2")), 2, None);
    assert!(matches!(b.commit(), Err(StorageError::ReadOnly(why)) if why == "disk full"));
    assert!(s.swap_dbs(0, 1).is_err());
    // Reads go on.
    assert!(s.get(0, b"a").expect("read").is_some());
    assert!(s.get(0, b"b").expect("read").is_none());
}

/// A batch that writes one key several times (a group of HSETs of one hash, say) leaves one
/// record of it in the memtable, with the counters and the ttl index of the whole sequence.
#[test]
fn a_batch_writes_each_key_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    let rec = |body: &'static [u8], expire_ms| Record {
        kind: Kind::String,
        expire_ms,
        body: Bytes::from_static(body),
    };
    let mut b = s.batch();
    b.put(0, b"k", &rec(b"1", 0), 2, None);
    b.put(0, b"other", &rec(b"x", 0), 6, None);
    let p = Prev {
        expire_ms: 0,
        size: 2,
    };
    b.put(0, b"k", &rec(b"22", 5000), 3, Some(p));
    let p = Prev {
        expire_ms: 5000,
        size: 3,
    };
    b.delete(0, b"k", p);
    b.put(0, b"k", &rec(b"333", 9000), 4, None);
    let mut member = s.batch();
    let p = Prev {
        expire_ms: 9000,
        size: 4,
    };
    member.put(0, b"k", &rec(b"4444", 0), 5, Some(p));
    member.may_repeat();
    b.absorb(&mut member);
    b.commit().expect("commit");
    let entries = s.property(Cf::Meta, "rocksdb.num-entries-active-mem-table");
    assert_eq!(entries, Some(2));
    assert_eq!((s.key_count(0), s.data_bytes(0)), (2, 11));
    assert_eq!(
        s.get(0, b"k").expect("get").map(|r| (r.body, r.expire_ms)),
        Some((Bytes::from_static(b"4444"), 0))
    );
    assert!(s.due_ttl(0, u64::MAX, 10).expect("due").is_empty());
}

/// With a small memory share (8 MiB of block cache: `hot-memory 32mb`), memtables are sized to
/// the budget they are charged to, and fill before they flush: a few flushes for a few MiB of
/// writes, not one every few dozen records (as 8 MiB memtables in a 4 MiB budget made).
#[test]
fn memtables_fit_a_small_memory_share() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = StorageOptions::new(dir.path());
    opts.block_cache_bytes = 8 << 20;
    let s = Storage::open(&opts).expect("open");
    let value = Bytes::from(vec![b'v'; 128]);
    for i in 0..3000u32 {
        let mut b = s.batch();
        for j in 0..16u32 {
            let key = format!("key:{:012}", i * 16 + j);
            b.put(0, key.as_bytes(), &Record::string(value.clone()), 144, None);
        }
        b.commit().expect("commit");
    }
    s.shutdown();
    let log = std::fs::read_to_string(dir.path().join("LOG")).expect("LOG");
    let flushes = log.matches("\"event\": \"flush_started\"").count();
    // 48,000 records of about 170 bytes: 8 MiB, eight 1 MiB memtables or so.
    assert!((4..=30).contains(&flushes), "{flushes} flushes");
}

/// Flushes write level 0 uncompressed, whatever `rocksdb.compression` says, and compactions
/// compress below it: a compressible value takes its full size in an L0 file and a fraction
/// of it once compacted.
#[test]
fn level_zero_is_written_uncompressed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = StorageOptions::new(dir.path());
    // 1 MiB memtables (see above), LZ4 above the last level.
    opts.block_cache_bytes = 8 << 20;
    opts.compression = Compression::Lz4;
    let s = Storage::open(&opts).expect("open");
    let value = Bytes::from("abcdefgh".repeat(64));
    for i in 0..5000u32 {
        let mut b = s.batch();
        let key = format!("key:{i:012}");
        b.put(0, key.as_bytes(), &Record::string(value.clone()), 528, None);
        b.commit().expect("commit");
    }
    let l0 = |s: &Storage| {
        s.property(Cf::Meta, "rocksdb.num-files-at-level0")
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while l0(&s) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let files = l0(&s);
    let size = || {
        s.property(Cf::Meta, "rocksdb.total-sst-files-size")
            .unwrap_or(0)
    };
    let flushed = size();
    // A 1 MiB memtable of these records is about 1 MiB on disk uncompressed; LZ4 makes it
    // a few dozen KiB.
    assert!(
        files > 0 && flushed >= files * (512 << 10),
        "{files} L0 files, {flushed} bytes"
    );
    s.compact_all();
    assert!(
        size() * 4 < flushed,
        "compacted {} bytes, flushed {flushed}",
        size()
    );
}

/// `rocksdb.compression` and `rocksdb.bottommost-compression` reach the files RocksDB writes:
/// the same compressible records take a fraction of the space with LZ4 or ZSTD at the last
/// level that they take without compression, and ZSTD the least.
#[test]
fn compression_settings_reach_the_files() {
    let sst_bytes = |bottom: Compression| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = StorageOptions::new(dir.path());
        opts.compression = Compression::None;
        opts.bottommost_compression = bottom;
        let s = Storage::open(&opts).expect("open");
        for i in 0..2000u32 {
            let value = format!("{{\"id\":{i},\"name\":\"user {i}\",\"tags\":[\"a\",\"b\"]}}");
            let rec = Record::string(Bytes::from(value.repeat(8)));
            let mut b = s.batch();
            b.put(0, format!("k{i:06}").as_bytes(), &rec, 1, None);
            b.commit().expect("commit");
        }
        s.compact_all();
        s.property(Cf::Meta, "rocksdb.total-sst-files-size")
            .expect("property")
    };
    let (none, lz4, zstd) = (
        sst_bytes(Compression::None),
        sst_bytes(Compression::Lz4),
        sst_bytes(Compression::Zstd),
    );
    assert!(lz4 * 2 < none, "lz4 {lz4} against none {none}");
    assert!(zstd < lz4, "zstd {zstd} against lz4 {lz4}");
}
