use super::*;
use strata_storage::StorageOptions;

fn open(dir: &std::path::Path) -> Arc<Keyspace> {
    let s = Storage::open(&StorageOptions::new(dir)).expect("open");
    Keyspace::new(s, KeyspaceOptions::default())
}

fn set(ks: &Keyspace, db: usize, k: &[u8], v: &'static [u8], exp: u64) {
    let mut t = ks.txn(&[(db, k)]);
    t.put(
        db,
        k,
        Record {
            kind: Kind::String,
            expire_ms: exp,
            body: Bytes::from_static(v),
        },
    )
    .expect("put");
    t.commit().expect("commit");
}

fn get(ks: &Keyspace, db: usize, k: &[u8]) -> Option<Bytes> {
    let mut t = ks.txn(&[(db, k)]);
    let r = t.get(db, k).expect("get").map(|r| r.body);
    t.commit().expect("commit");
    r
}

#[test]
fn dropping_memory_changes_no_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    set(&ks, 0, b"a", b"1", 0);
    assert_eq!(ks.tier_of(0, b"a").expect("tier"), Tier::Memory);
    assert_eq!(ks.drop_hot(None, &[]), 1);
    assert_eq!(ks.tier_of(0, b"a").expect("tier"), Tier::Disk);
    assert_eq!(get(&ks, 0, b"a"), Some(Bytes::from_static(b"1")));
    assert_eq!(
        ks.tier_of(0, b"a").expect("tier"),
        Tier::Memory,
        "a read loads the key"
    );
    assert_eq!(ks.tier_of(0, b"nope").expect("tier"), Tier::Absent);
}

#[test]
fn lazy_expiry_removes_and_counts_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    set(&ks, 0, b"e", b"1", now_ms() - 1);
    set(&ks, 0, b"k", b"22", 0);
    assert_eq!(ks.dbsize(0), 2);
    assert_eq!(get(&ks, 0, b"e"), None);
    assert_eq!((ks.dbsize(0), ks.data_bytes(0)), (1, 3));
}

/// `meta` answers as `get` does, from either tier, with no value read: the same kind, expiry
/// and sizes, and an expired key absent (its removal staged and counted).
#[test]
fn meta_agrees_with_get_in_every_tier() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let far = now_ms() + 3_600_000;
    set(&ks, 0, b"s", b"value", far);
    hash_put(&ks, b"h", &[(b"f1", b"12345"), (b"f2", b"1")]);
    set(&ks, 0, b"e0", b"1", now_ms() - 1);
    set(&ks, 0, b"e1", b"1", now_ms() - 1);
    for cold in [false, true] {
        if cold {
            ks.drop_hot(None, &[]);
        }
        let expired = [&b"e0"[..], b"e1"][usize::from(cold)];
        let before = ks.dbsize(0);
        let mut t = ks.txn(&[(0, expired)]);
        assert_eq!(t.meta(0, expired).expect("meta"), None);
        t.commit().expect("commit");
        assert_eq!(
            ks.dbsize(0),
            before - 1,
            "the expired key's removal was staged"
        );
        for key in [&b"s"[..], b"h"] {
            let mut t = ks.txn(&[(0, key)]);
            let m = t.meta(0, key).expect("meta").expect("live");
            let rec = t.get(0, key).expect("get").expect("live");
            assert_eq!(m, Meta::of(key, &rec), "cold {cold}");
        }
        let mut t = ks.txn(&[(0, &b"s"[..])]);
        let m = t.meta(0, b"s").expect("meta").expect("live");
        assert_eq!(
            (m.kind, m.expire_ms, m.body_len, m.size),
            (Kind::String, far, 5, 6)
        );
        let mut t = ks.txn(&[(0, &b"h"[..])]);
        let m = t.meta(0, b"h").expect("meta").expect("live");
        assert_eq!(
            (m.kind, m.expire_ms, m.size),
            (Kind::Hash, 0, 1 + 2 + 5 + 2 + 1)
        );
    }
    assert_eq!(ks.dbsize(0), 2);
}

#[test]
fn active_expiry_reaches_disk_only_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    set(&ks, 2, b"x", b"1", now_ms() + 20);
    set(&ks, 2, b"y", b"1", 0);
    ks.drop_hot(None, &[]);
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(ks.expire_cycle(100).expect("cycle"), 1);
    assert_eq!(ks.dbsize(2), 1);
    assert_eq!(ks.expire_cycle(100).expect("cycle"), 0);
}

#[test]
fn uncommitted_txn_changes_nothing_and_txn_sees_own_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    {
        let mut t = ks.txn(&[(0, b"a")]);
        t.put(0, b"a", Record::string(Bytes::from_static(b"v")))
            .expect("put");
        assert!(t.get(0, b"a").expect("get").is_some());
    }
    assert_eq!(get(&ks, 0, b"a"), None);
    assert_eq!(ks.dbsize(0), 0);
}

#[test]
fn flush_and_swap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    set(&ks, 0, b"a", b"1", 0);
    set(&ks, 1, b"b", b"1", 0);
    ks.exclusive().swap_db(0, 1).expect("swap");
    assert_eq!(get(&ks, 0, b"b"), Some(Bytes::from_static(b"1")));
    assert_eq!(get(&ks, 1, b"a"), Some(Bytes::from_static(b"1")));
    ks.exclusive().flush_db(0).expect("flush");
    assert_eq!((ks.dbsize(0), ks.dbsize(1)), (0, 1));
    ks.exclusive().flush_all().expect("flushall");
    assert_eq!(ks.dbsize(1), 0);
    assert!(ks.hot().is_empty());
}

fn hash_put(ks: &Keyspace, k: &[u8], fields: &[(&[u8], &[u8])]) {
    let mut t = ks.txn(&[(0, k)]);
    let mut c = match t.coll(0, k, Kind::Hash).expect("coll") {
        CollRead::Found(c) => c,
        CollRead::Missing => t.coll_new(0, k, Kind::Hash),
        CollRead::WrongType => panic!("wrong type"),
    };
    for (f, v) in fields {
        if t.elem_get(&c, f).expect("elem").is_none() {
            c.h.len += 1;
            c.h.bytes += (f.len() + v.len()) as u64;
        }
        t.elem_put(&c, f, v);
    }
    t.coll_save(&c).expect("save");
    t.commit().expect("commit");
}

fn hash_all(ks: &Keyspace, k: &[u8]) -> Vec<(Bytes, Bytes)> {
    let mut t = ks.txn(&[(0, k)]);
    match t.coll(0, k, Kind::Hash).expect("coll") {
        CollRead::Found(c) => t.elems(&c, None, None, false, usize::MAX).expect("elems"),
        _ => Vec::new(),
    }
}

/// A fresh keyspace holding the hash `key` with `names` as fields, each set to `value`.
fn hash_keyspace(
    key: &[u8],
    names: &[Vec<u8>],
    value: &[u8],
) -> (tempfile::TempDir, Arc<Keyspace>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let fields: Vec<(&[u8], &[u8])> = names.iter().map(|n| (&n[..], value)).collect();
    hash_put(&ks, key, &fields);
    (dir, ks)
}

#[test]
fn collections_count_exactly_and_copy_independently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    hash_put(&ks, b"h", &[(b"f1", b"v1"), (b"f2", b"v22")]);
    hash_put(&ks, b"h", &[(b"f1", b"v1")]);
    // A key that is a prefix of another keeps its own elements.
    hash_put(&ks, b"hh", &[(b"x", b"y")]);
    assert_eq!((ks.dbsize(0), ks.data_bytes(0)), (2, 1 + 9 + 2 + 2));
    ks.drop_hot(None, &[]);
    let all = hash_all(&ks, b"h");
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[1],
        (Bytes::from_static(b"f2"), Bytes::from_static(b"v22"))
    );

    let mut t = ks.txn(&[(0, b"h"), (1, b"h")]);
    let rec = t.get(0, b"h").expect("get").expect("present");
    t.put_copy(0, b"h", 1, b"h", rec).expect("copy");
    t.delete(0, b"h").expect("del");
    t.commit().expect("commit");
    assert_eq!(hash_all(&ks, b"h"), Vec::new());
    let mut t = ks.txn(&[(1, b"h")]);
    let CollRead::Found(c) = t.coll(1, b"h", Kind::Hash).expect("coll") else {
        panic!("moved hash missing");
    };
    assert_eq!(t.elems(&c, None, None, false, 10).expect("elems"), all);
    assert_eq!((ks.dbsize(0), ks.dbsize(1), ks.data_bytes(1)), (1, 1, 10));
}

#[test]
fn compaction_drops_elements_of_dead_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..500)
        .map(|i| (format!("f{i}").into_bytes(), b"v".to_vec()))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = fields.iter().map(|(f, v)| (&f[..], &v[..])).collect();
    hash_put(&ks, b"dead", &refs);
    hash_put(&ks, b"live", &refs[..10]);
    let mut t = ks.txn(&[(0, b"dead")]);
    assert!(t.delete(0, b"dead").expect("del"));
    t.commit().expect("commit");
    let s = ks.storage();
    s.compact_all();
    assert_eq!(
        s.property(strata_storage::Cf::Sub, "rocksdb.estimate-num-keys"),
        Some(10)
    );
    assert_eq!(hash_all(&ks, b"live").len(), 10);
}

/// Stores `fields` as a hash and draws `draws` random fields from it with one sampler: how
/// often each came up.
fn draw_fields(fields: &[Vec<u8>], draws: usize) -> std::collections::HashMap<Bytes, u32> {
    let (_dir, ks) = hash_keyspace(b"s", fields, b"");
    let mut t = ks.txn(&[(0, b"s")]);
    let CollRead::Found(c) = t.coll(0, b"s", Kind::Hash).expect("coll") else {
        panic!("missing");
    };
    let sampler = t.elem_sampler(&c).expect("sampler").expect("non-empty");
    let mut counts = std::collections::HashMap::new();
    for _ in 0..draws {
        let (f, _) = t.random_elem(&c, &sampler).expect("random").expect("some");
        assert!(fields.iter().any(|x| x[..] == f[..]));
        *counts.entry(f).or_default() += 1;
    }
    counts
}

#[test]
fn random_elements_spread_over_the_collection() {
    let fields: Vec<Vec<u8>> = (0..5000).map(|i| format!("m:{i}").into_bytes()).collect();
    let seen = draw_fields(&fields, 5000).len();
    // Uniform draws would see about 3,160 distinct fields; a draw stuck on the elements after
    // the gaps of the byte range (here about 500 of them) would see far fewer.
    assert!(seen > 2000, "only {seen} distinct fields");
}

/// The first and the last elements (in key order) are drawn as often as any: no probe lands
/// before the first element, so without the wrap from the last elements to the first the first
/// ones came up a third as often.
#[test]
fn random_draws_favour_neither_end() {
    // Evenly spaced numbers over the whole range of six digits, so that probes (uniform over
    // the digits) land evenly too, also past the last one.
    let n = 2000;
    let fields: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("m:{:06}", i * 500).into_bytes())
        .collect();
    let draws = 40_000;
    let counts = draw_fields(&fields, draws);
    let drawn = |range: std::ops::Range<usize>| -> u32 {
        fields[range]
            .iter()
            .map(|f| counts.get(&f[..]).copied().unwrap_or(0))
            .sum()
    };
    // 10 elements: 200 draws expected, a standard deviation of about 14.
    let expected = 10 * draws / n;
    for (name, got) in [
        ("first", drawn(0..10)),
        ("middle", drawn(n / 2..n / 2 + 10)),
        ("last", drawn(n - 10..n)),
    ] {
        assert!(
            (expected * 7 / 10..=expected * 13 / 10).contains(&(got as usize)),
            "the {name} 10 elements drawn {got} times, {expected} expected"
        );
    }
}

#[test]
fn a_complete_memory_tier_answers_misses_until_a_key_leaves_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    // An empty database starts complete: a miss is an answer, not a disk read.
    assert!(ks.hot().is_complete(0));
    set(&ks, 0, b"a", b"1", 0);
    let reads = ks
        .stats
        .cold_reads
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(get(&ks, 0, b"nope"), None);
    let after = ks
        .stats
        .cold_reads
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(after, reads, "no disk read for a miss");
    // A key dropped from memory stays on disk: misses must go to disk again.
    ks.drop_hot(Some(0), &[Bytes::from_static(b"a")]);
    assert!(!ks.hot().is_complete(0));
    assert_eq!(get(&ks, 0, b"a"), Some(Bytes::from_static(b"1")));
    // Emptying the database makes it complete again; other dbs keep their state.
    set(&ks, 1, b"b", b"1", 0);
    ks.drop_hot(None, &[]);
    assert!(!ks.hot().is_complete(1));
    ks.exclusive().flush_db(0).expect("flush");
    assert!(ks.hot().is_complete(0));
    assert!(!ks.hot().is_complete(1));
    assert_eq!(get(&ks, 1, b"b"), Some(Bytes::from_static(b"1")));
    drop(ks);
    // A restart with data starts incomplete; an empty db starts complete.
    let ks = open(dir.path());
    assert!(ks.hot().is_complete(0));
    assert!(!ks.hot().is_complete(1));
    assert_eq!(get(&ks, 1, b"b"), Some(Bytes::from_static(b"1")));
}

#[test]
fn a_group_commits_its_members_as_one_write_and_isolates_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    set(&ks, 0, b"old", b"x", 0);
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"a")]).expect("joins");
    t.put(0, b"a", Record::string(Bytes::from_static(b"1")))
        .expect("put");
    g.absorb(t);
    // A later member reads what an earlier one wrote.
    let mut t = ks.txn_in(&mut g, &[(0, b"a"), (0, b"old")]).expect("joins");
    assert_eq!(
        t.get(0, b"a").expect("get").map(|r| r.body),
        Some(Bytes::from_static(b"1"))
    );
    t.delete(0, b"old").expect("delete");
    g.absorb(t);
    // A member dropped without its commit takes only its own work with it.
    let mut t = ks.txn_in(&mut g, &[(0, b"c")]).expect("joins");
    t.put(0, b"c", Record::string(Bytes::from_static(b"3")))
        .expect("put");
    drop(t);
    assert_eq!(g.members(), 2);
    // Nothing is visible or counted before the group's commit, and its keys stay locked.
    assert_eq!(ks.dbsize(0), 1);
    let other = std::thread::scope(|s| {
        s.spawn(|| {
            let stripe_free = ks.stripes[ks.stripe(0, b"a")].try_lock().is_some();
            stripe_free
        })
        .join()
        .expect("thread")
    });
    assert!(!other, "the group holds its members' locks");
    let written = ks.storage().written_seq();
    assert!(g.commit().expect("commit") > written);
    assert_eq!(ks.storage().written_seq(), written + 1, "one write");
    assert_eq!(get(&ks, 0, b"a"), Some(Bytes::from_static(b"1")));
    assert_eq!(get(&ks, 0, b"old"), None);
    assert_eq!(get(&ks, 0, b"c"), None);
    assert_eq!((ks.dbsize(0), ks.data_bytes(0)), (1, 2));
}

#[test]
fn a_group_never_waits_for_a_lock_held_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let held = ks.txn(&[(0, b"busy")]);
    let mut g = ks.group();
    assert!(ks.txn_in(&mut g, &[(0, b"busy")]).is_none());
    drop(held);
    g.commit().expect("commit releases what the group took");
    assert!(ks.txn_in(&mut g, &[(0, b"busy")]).is_some());
}

#[test]
fn members_reuse_the_containers_but_never_the_states_of_earlier_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let busy: &[u8] = [&b"b0"[..], b"b1", b"b2", b"b3", b"b4", b"b5"]
        .into_iter()
        .find(|k| ks.stripe(0, k) != ks.stripe(0, b"a"))
        .expect("a key on another stripe");
    let body = |t: &mut Txn<'_>| t.get(0, b"a").expect("get").map(|r| r.body);
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"a")]).expect("joins");
    t.put(0, b"a", Record::string(Bytes::from_static(b"1")))
        .expect("put");
    g.absorb(t);
    // This one finds `a` among the group's states, then a stripe taken elsewhere: it cannot
    // join, and what it found must not reach the group's next member.
    let held = ks.txn(&[(0, busy)]);
    assert!(ks.txn_in(&mut g, &[(0, b"a"), (0, busy)]).is_none());
    g.commit().expect("commit");
    drop(held);
    set(&ks, 0, b"a", b"2", 0);
    let mut t = ks.txn_in(&mut g, &[(0, b"a")]).expect("joins");
    assert_eq!(body(&mut t), Some(Bytes::from_static(b"2")));
    t.put(0, b"a", Record::string(Bytes::from_static(b"3")))
        .expect("put");
    g.absorb(t);
    // The next member stages into the emptied containers of the last: it sees the group's
    // write once, through the group, and adds only its own.
    let mut t = ks.txn_in(&mut g, &[(0, b"a"), (0, b"c")]).expect("joins");
    assert_eq!(body(&mut t), Some(Bytes::from_static(b"3")));
    t.put(0, b"c", Record::string(Bytes::from_static(b"4")))
        .expect("put");
    g.absorb(t);
    let written = ks.storage().written_seq();
    g.commit().expect("commit");
    assert_eq!(ks.storage().written_seq(), written + 1);
    assert_eq!(get(&ks, 0, b"a"), Some(Bytes::from_static(b"3")));
    assert_eq!(get(&ks, 0, b"c"), Some(Bytes::from_static(b"4")));
    assert_eq!((ks.dbsize(0), ks.data_bytes(0)), (2, 4));
}

#[test]
fn reads_from_memory_answer_only_what_memory_knows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let one = |k: &'static [u8]| [Bytes::from_static(k)];
    let body = |r: Option<SmallVec<[Option<Record>; 1]>>| {
        r.map(|v| v.into_iter().next().flatten().map(|rec| rec.body))
    };
    set(&ks, 0, b"a", b"1", 0);
    assert_eq!(
        body(ks.lookup_in_memory(0, &one(b"a"))),
        Some(Some(Bytes::from_static(b"1")))
    );
    // Complete: a miss is an answer, counted as one.
    let misses = ks.stats.misses.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(body(ks.lookup_in_memory(0, &one(b"nope"))), Some(None));
    assert_eq!(
        ks.stats.misses.load(std::sync::atomic::Ordering::Relaxed),
        misses + 1
    );
    // Several keys answer together, or not at all.
    let both = [Bytes::from_static(b"a"), Bytes::from_static(b"nope")];
    let found = ks.lookup_in_memory(0, &both).expect("both in memory");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].as_ref().map(|r| &r.body[..]), Some(&b"1"[..]));
    assert!(found[1].is_none());
    // A key whose stripe is held (a writer before its memory update, a pipeline group): ask
    // the Txn path, which waits or reads the group's pending writes.
    {
        let mut g = ks.group();
        let mut t = ks.txn_in(&mut g, &[(0, b"a")]).expect("joins");
        t.put(0, b"a", Record::string(Bytes::from_static(b"2")))
            .expect("put");
        g.absorb(t);
        assert_eq!(body(ks.lookup_in_memory(0, &one(b"a"))), None);
        assert!(
            ks.lookup_in_memory(0, &both).is_none(),
            "one held stripe is enough"
        );
        g.commit().expect("commit");
    }
    assert_eq!(
        body(ks.lookup_in_memory(0, &one(b"a"))),
        Some(Some(Bytes::from_static(b"2")))
    );
    // An expired entry must be removed, which is a write.
    set(&ks, 0, b"e", b"1", crate::now_ms() + 30);
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(body(ks.lookup_in_memory(0, &one(b"e"))), None);
    assert_eq!(get(&ks, 0, b"e"), None);
    // A key only on disk, and a miss in an incomplete tier: ask the Txn path.
    ks.drop_hot(Some(0), &[Bytes::from_static(b"a")]);
    assert_eq!(body(ks.lookup_in_memory(0, &one(b"a"))), None);
    assert_eq!(body(ks.lookup_in_memory(0, &one(b"nope"))), None);
    assert_eq!(get(&ks, 0, b"a"), Some(Bytes::from_static(b"2")));
    assert_eq!(
        body(ks.lookup_in_memory(0, &one(b"a"))),
        Some(Some(Bytes::from_static(b"2")))
    );
    // Inside EXEC (this thread isolated), and out-of-range dbs.
    {
        let _iso = ks.isolated();
        assert_eq!(body(ks.lookup_in_memory(0, &one(b"a"))), None);
    }
    assert_eq!(body(ks.lookup_in_memory(99, &one(b"a"))), None);
}

fn key_of(i: usize) -> Vec<u8> {
    format!("k{i:06}").into_bytes()
}

/// A data dir whose db 0 holds `key_of(0..n)` set to `value`, written by a keyspace since closed.
fn dir_with_keys(n: usize, value: &'static [u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    for i in 0..n {
        set(&ks, 0, &key_of(i), value, 0);
    }
    dir
}

#[test]
fn warm_up_makes_a_restarted_tier_complete_and_respects_the_budget() {
    let dir = dir_with_keys(2000, b"v");
    // An expired record is loaded too: removing it later keeps the counters exact.
    set(&open(dir.path()), 0, b"gone", b"v", crate::now_ms() + 20);
    std::thread::sleep(std::time::Duration::from_millis(40));
    let ks = open(dir.path());
    assert!(!ks.hot().is_complete(0));
    assert_eq!(ks.warm_up(1).expect("warm"), WarmOutcome::NothingToDo);
    assert_eq!(
        ks.warm_up(0).expect("warm"),
        WarmOutcome::Complete { loaded: 2001 }
    );
    assert!(ks.hot().is_complete(0));
    let cold = || {
        ks.stats
            .cold_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = cold();
    assert_eq!(get(&ks, 0, b"absent"), None);
    assert_eq!(get(&ks, 0, b"gone"), None);
    assert_eq!(get(&ks, 0, &key_of(7)), Some(Bytes::from_static(b"v")));
    assert_eq!(cold(), before, "a complete tier reads no disk");
    assert_eq!(
        ks.dbsize(0),
        2000,
        "the expired key left with exact counters"
    );
    drop(ks);
    // A budget the data set does not fit: nothing is loaded, the map stays incomplete.
    let s = Storage::open(&StorageOptions::new(dir.path())).expect("open");
    let ks = Keyspace::new(
        s,
        KeyspaceOptions {
            hot_memory: 64 << 10,
            ..KeyspaceOptions::default()
        },
    );
    assert_eq!(ks.warm_up(0).expect("warm"), WarmOutcome::TooBig);
    assert!(!ks.hot().is_complete(0));
    assert_eq!(ks.hot().len(), 0);
}

#[test]
fn a_departure_during_warm_up_keeps_the_tier_incomplete() {
    let dir = tempfile::tempdir().expect("tempdir");
    set(&open(dir.path()), 0, b"a", b"1", 0);
    let ks = open(dir.path());
    let state = ks
        .hot()
        .incomplete_state(0)
        .expect("incomplete after restart");
    get(&ks, 0, b"a");
    ks.drop_hot(Some(0), &[Bytes::from_static(b"a")]);
    assert!(!ks.hot().set_complete_if(0, state), "a departure since");
    let state = ks.hot().incomplete_state(0).expect("still incomplete");
    assert!(ks.hot().set_complete_if(0, state));
    assert!(ks.hot().is_complete(0));
}

/// Writers delete, rewrite and create keys while the warm-up runs. If it declares the tier
/// complete, memory must then hold exactly the keys on disk, with their values.
#[test]
fn warm_up_under_concurrent_writes_leaves_memory_equal_to_disk() {
    let dir = dir_with_keys(20_000, b"old");
    for _ in 0..3 {
        let ks = open(dir.path());
        let outcome = std::thread::scope(|scope| {
            let warm = scope.spawn(|| ks.warm_up(0).expect("warm"));
            for i in (0..20_000).step_by(7) {
                let k = key_of(i);
                let mut t = ks.txn(&[(0, &k)]);
                if i % 2 == 0 {
                    t.delete(0, &k).expect("delete");
                } else {
                    t.put(0, &k, Record::string(Bytes::from_static(b"new")))
                        .expect("put");
                }
                t.commit().expect("commit");
                let fresh = key_of(100_000 + i);
                set(&ks, 0, &fresh, b"fresh", 0);
            }
            warm.join().expect("warm-up thread")
        });
        if !matches!(outcome, WarmOutcome::Complete { .. }) {
            continue;
        }
        let (disk, last) = ks.storage.scan(0, None, usize::MAX).expect("scan");
        assert!(last);
        assert_eq!(ks.hot().len(), disk.len(), "memory holds every key on disk");
        for (k, rec) in &disk {
            let cached = ks.hot().peek(0, k).expect("key on disk is in memory");
            assert_eq!(cached.body, rec.body, "{k:?}");
        }
        return;
    }
    panic!("the warm-up never completed");
}

/// One connection's run on a worker: joins the worker's open group with a write of `k`, and
/// leaves the group open.
fn run_put(ks: &Arc<Keyspace>, k: &'static [u8], v: &'static [u8]) -> Option<Ticket> {
    ks.with_worker_group(|ks, slot| {
        let g = slot.get_or_insert_with(|| ks.group());
        let mut t = ks.txn_in(g, &[(0, k)]).expect("joins");
        t.put(0, k, Record::string(Bytes::from_static(v)))
            .expect("put");
        g.absorb(t);
    })
    .1
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// The ticket's outcome; a group that nobody commits fails the test rather than hanging it.
fn settle(rt: &tokio::runtime::Runtime, t: Ticket) -> std::result::Result<u64, ()> {
    let wait = async { tokio::time::timeout(std::time::Duration::from_secs(20), t.settle()).await };
    rt.block_on(wait).expect("the group was never committed")
}

#[test]
fn connections_on_one_worker_share_its_open_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let written = ks.storage().written_seq();
    let first = run_put(&ks, b"a", b"1").expect("a ticket");
    // The next connection's run finds the group open and reads the first one's write.
    let second = ks
        .with_worker_group(|ks, slot| {
            let g = slot.as_mut().expect("the open group");
            let mut t = ks.txn_in(g, &[(0, b"a"), (0, b"b")]).expect("joins");
            assert_eq!(
                t.get(0, b"a").expect("get").map(|r| r.body),
                Some(Bytes::from_static(b"1"))
            );
            t.put(0, b"b", Record::string(Bytes::from_static(b"2")))
                .expect("put");
            g.absorb(t);
        })
        .1
        .expect("a ticket");
    assert_eq!(ks.storage().written_seq(), written, "nothing written yet");
    assert_eq!(ks.dbsize(0), 0);
    let rt = runtime();
    let seq = settle(&rt, first).expect("the first back commits");
    assert_eq!(
        ks.storage().written_seq(),
        written + 1,
        "one write for both"
    );
    assert_eq!(settle(&rt, second), Ok(seq));
    assert_eq!(get(&ks, 0, b"b"), Some(Bytes::from_static(b"2")));
    // A run that joins nothing gets no ticket and leaves nothing open; the worker keeps the
    // committed group for its containers.
    let (_, ticket) =
        ks.with_worker_group(|_, slot| assert_eq!(slot.as_ref().map(|g| g.members()), Some(0)));
    assert!(ticket.is_none());
}

#[test]
fn an_open_group_commits_before_a_lock_wait_for_a_member_waiting_elsewhere_and_at_park() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    // All on one thread, as connections on one worker: a command that is not grouped locks a
    // key of the open group. Waiting for the group's lock would never end; it commits first.
    let (done, finished) = std::sync::mpsc::channel();
    let on_worker = {
        let ks = ks.clone();
        std::thread::spawn(move || {
            let rt = runtime();
            let t = run_put(&ks, b"k", b"1").expect("a ticket");
            let seen = get(&ks, 0, b"k");
            done.send(seen).expect("send");
            assert!(settle(&rt, t).is_ok(), "the waiter committed it");
            // What a worker does before it parks.
            let t = run_put(&ks, b"p", b"2").expect("a ticket");
            crate::commit_worker_group();
            assert_eq!(get(&ks, 0, b"p"), Some(Bytes::from_static(b"2")));
            assert!(settle(&rt, t).is_ok());
        })
    };
    let seen = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the lock wait must not deadlock on the thread's own open group");
    assert_eq!(seen, Some(Bytes::from_static(b"1")));
    on_worker.join().expect("worker");
    // A member that moved to another thread waits for the group's thread: for its next
    // connection turn, which commits the group only when someone waits for it, or its park.
    let t = run_put(&ks, b"q", b"3").expect("a ticket");
    let written = ks.storage().written_seq();
    crate::commit_worker_group_if_waited();
    assert_eq!(
        ks.storage().written_seq(),
        written,
        "nobody waits: the group stays open"
    );
    let elsewhere = std::thread::spawn(move || settle(&runtime(), t));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !elsewhere.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiter was never answered"
        );
        crate::commit_worker_group_if_waited();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(elsewhere.join().expect("thread").is_ok());
    let t = run_put(&ks, b"r", b"4").expect("a ticket");
    let elsewhere = std::thread::spawn(move || settle(&runtime(), t));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !elsewhere.is_finished(),
        "settled before the group committed"
    );
    crate::commit_worker_group();
    assert!(elsewhere.join().expect("thread").is_ok());
    assert_eq!(get(&ks, 0, b"q"), Some(Bytes::from_static(b"3")));
    assert_eq!(get(&ks, 0, b"r"), Some(Bytes::from_static(b"4")));
}

fn found(r: CollRead) -> Coll {
    match r {
        CollRead::Found(c) => c,
        other => panic!("not a collection: {other:?}"),
    }
}

fn pairs(items: &[(&'static [u8], &'static [u8])]) -> Vec<(Bytes, Bytes)> {
    items
        .iter()
        .map(|(k, v)| (Bytes::from_static(k), Bytes::from_static(v)))
        .collect()
}

#[test]
fn group_members_read_the_elements_earlier_members_staged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let fields: [(&[u8], &[u8]); 5] = [
        (b"a", b"1"),
        (b"b", b"2"),
        (b"c", b"3"),
        (b"d", b"4"),
        (b"e", b"5"),
    ];
    hash_put(&ks, b"h", &fields);
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let mut c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    t.elem_del(&c, b"a");
    t.elem_del(&c, b"b");
    t.elem_put(&c, b"c", b"30");
    t.elem_put(&c, b"f", b"6");
    c.h.len = 4;
    t.coll_save(&c).expect("save");
    g.absorb(t);
    for _ in 0..2 {
        // A later member reads them: point reads, and scans whose limit the removed elements
        // must not shorten, in both directions.
        let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
        let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
        assert_eq!(t.elem_get(&c, b"a").expect("get"), None);
        assert_eq!(
            t.elem_get(&c, b"c").expect("get"),
            Some(Bytes::from_static(b"30"))
        );
        assert_eq!(
            t.elem_get(&c, b"d").expect("get"),
            Some(Bytes::from_static(b"4"))
        );
        let fwd = t.elems(&c, None, None, false, 2).expect("elems");
        assert_eq!(fwd, pairs(&[(b"c", b"30"), (b"d", b"4")]));
        let back = t.elems(&c, None, None, true, 2).expect("elems");
        assert_eq!(back, pairs(&[(b"f", b"6"), (b"e", b"5")]));
        let from_b = t
            .elems(&c, Some(b"b"), Some(b"e"), false, 10)
            .expect("elems");
        assert_eq!(from_b, pairs(&[(b"c", b"30"), (b"d", b"4")]));
        // Dropped without joining: the next member still sees what the first one staged.
        drop(t);
    }
    g.commit().expect("commit");
    assert_eq!(
        hash_all(&ks, b"h"),
        pairs(&[(b"c", b"30"), (b"d", b"4"), (b"e", b"5"), (b"f", b"6")])
    );
    // A new member after the commit reads storage again, with nothing staged.
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    assert_eq!(
        t.elems(&c, None, None, false, 1).expect("elems"),
        pairs(&[(b"c", b"30")])
    );
}

/// A group member's scan past a run of elements earlier members removed, longer than its limit:
/// the removals neither shorten the limit nor let a staged element beyond what was read from
/// storage jump the queue, in either direction.
#[test]
fn group_scans_step_past_long_runs_of_staged_removals() {
    let names: Vec<Vec<u8>> = (0..40).map(|i| format!("f{i:02}").into_bytes()).collect();
    let (_dir, ks) = hash_keyspace(b"h", &names, b"v");
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let mut c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    for n in &names[..20] {
        t.elem_del(&c, n);
    }
    t.elem_put(&c, b"f25", b"new");
    t.elem_put(&c, b"f45", b"w");
    t.elem_put(&c, b"e", b"w");
    c.h.len = 40 - 20 + 2;
    t.coll_save(&c).expect("save");
    g.absorb(t);
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    let keys = |v: Vec<(Bytes, Bytes)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    let b = |s: &[&'static str]| {
        s.iter()
            .map(|x| Bytes::from_static(x.as_bytes()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(t.elems(&c, None, None, false, 3).expect("elems")),
        b(&["e", "f20", "f21"])
    );
    assert_eq!(
        keys(t.elems(&c, Some(b"f01"), None, false, 3).expect("elems")),
        b(&["f20", "f21", "f22"])
    );
    assert_eq!(
        t.elems(&c, Some(b"f18"), None, false, 10).expect("elems")[5],
        (Bytes::from_static(b"f25"), Bytes::from_static(b"new"))
    );
    assert_eq!(
        keys(t.elems(&c, None, None, true, 2).expect("elems")),
        b(&["f45", "f39"])
    );
    assert_eq!(
        keys(t.elems(&c, None, Some(b"f21"), true, 3).expect("elems")),
        b(&["f20", "e"])
    );
    drop(t);
    g.commit().expect("commit");
}

/// `draws` random picks of a group member from the hash `h`: how often each element came up.
fn group_draws<'a>(
    ks: &'a Keyspace,
    g: &mut Group<'a>,
    draws: usize,
) -> std::collections::HashMap<Bytes, usize> {
    let mut t = ks.txn_in(g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    let sampler = t.elem_sampler(&c).expect("sampler").expect("non-empty");
    let mut counts = std::collections::HashMap::new();
    for _ in 0..draws {
        let (f, _) = t.random_elem(&c, &sampler).expect("random").expect("some");
        *counts.entry(f).or_default() += 1;
    }
    counts
}

/// Random picks (SPOP's) in a group whose earlier members only removed elements check each
/// stored element in the overlay rather than merge it: they never return a removed element,
/// reach every live one as often as outside a group, and step past runs of removals longer than
/// a page where a walk wraps to the first elements. Once a member stages an element, picks
/// merge as scans do, and reach it too.
#[test]
fn group_picks_skip_removed_elements_and_reach_staged_ones() {
    let names: Vec<Vec<u8>> = (0..200).map(|i| format!("m:{i:03}").into_bytes()).collect();
    let (_dir, ks) = hash_keyspace(b"h", &names, b"");
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let mut c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    // The first 100 and the last 50 go: a walk past m:149 wraps onto 100 removals.
    for n in names[..100].iter().chain(&names[150..]) {
        t.elem_del(&c, n);
    }
    c.h.len = 50;
    t.coll_save(&c).expect("save");
    g.absorb(t);
    let draws = 5000;
    let counts = group_draws(&ks, &mut g, draws);
    let live = &names[100..150];
    assert!(
        counts.keys().all(|k| live.iter().any(|n| n[..] == k[..])),
        "a removed element was picked: {counts:?}"
    );
    // Every element follows as many probe positions in the ring: 100 draws expected for each
    // five, a standard deviation of about 10.
    let expected = 5 * draws / live.len();
    for five in live.chunks(5) {
        let got: usize = five
            .iter()
            .map(|n| counts.get(&n[..]).copied().unwrap_or(0))
            .sum();
        assert!(
            (expected * 6 / 10..=expected * 14 / 10).contains(&got),
            "{:?}.. drawn {got} times, {expected} expected",
            Bytes::copy_from_slice(&five[0])
        );
    }
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let mut c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    t.elem_put(&c, b"m:120x", b"");
    c.h.len = 51;
    t.coll_save(&c).expect("save");
    g.absorb(t);
    let counts = group_draws(&ks, &mut g, 2000);
    assert!(counts.contains_key(&b"m:120x"[..]), "{counts:?}");
    assert!(counts
        .keys()
        .all(|k| &k[..] == b"m:120x" || live.iter().any(|n| n[..] == k[..])));
    g.commit().expect("commit");
    assert_eq!(hash_all(&ks, b"h").len(), 51);
}

/// The sorted set `z` of db 0, opened for `t`.
fn zopen(t: &mut Txn<'_>) -> Coll {
    match t.coll(0, b"z", Kind::ZSet).expect("coll") {
        CollRead::Found(c) => c,
        CollRead::Missing => t.coll_new(0, b"z", Kind::ZSet),
        CollRead::WrongType => panic!("wrong type"),
    }
}

/// Stages member `m` of `c` with `score`: its element and its score-index entry.
fn zstage_add(t: &mut Txn<'_>, c: &mut Coll, score: f64, m: &[u8]) {
    t.elem_put(c, m, &score.to_be_bytes());
    t.score_put(c, score, m);
    c.h.len += 1;
}

/// Stages the removal of member `m` of `c`, which has `score`.
fn zstage_rem(t: &mut Txn<'_>, c: &mut Coll, score: f64, m: &[u8]) {
    t.elem_del(c, m);
    t.score_del(c, score, m);
    c.h.len -= 1;
}

/// A group whose first member runs `stage` on `z` and whose second scans two entries from the
/// low end of its score index; the group comes back open.
fn stage_then_scan<'k>(
    ks: &'k Keyspace,
    stage: impl FnOnce(&mut Txn<'_>, &Coll),
) -> (Box<Group<'k>>, Vec<(Bytes, Bytes)>) {
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"z")]).expect("joins");
    let c = zopen(&mut t);
    stage(&mut t, &c);
    g.absorb(t);
    let mut t = ks.txn_in(&mut g, &[(0, b"z")]).expect("joins");
    let c = zopen(&mut t);
    let seen = t.score_range(&c, None, None, false, 2).expect("range");
    drop(t);
    (g, seen)
}

/// Scans from either end of a score index start where the last one found the first entry
/// (`hints`): a staged entry beyond it is seen, and an entry a pending removal hides in a group
/// stays the remembered end, so a group dropped uncommitted leaves the end true.
#[test]
fn score_index_ends_stay_true_through_staged_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let members =
        |v: Vec<(Bytes, Bytes)>| v.into_iter().map(|(k, _)| k.slice(8..)).collect::<Vec<_>>();
    let ends = |ks: &Keyspace, high: bool| {
        let mut t = ks.txn(&[(0, b"z")]);
        let c = zopen(&mut t);
        members(t.score_range(&c, None, None, high, 2).expect("range"))
    };
    let b = |s: &[&'static str]| {
        s.iter()
            .map(|x| Bytes::from_static(x.as_bytes()))
            .collect::<Vec<_>>()
    };
    let mut t = ks.txn(&[(0, b"z")]);
    let mut c = zopen(&mut t);
    for (score, m) in [(1.0, "a"), (2.0, "b"), (3.0, "c")] {
        zstage_add(&mut t, &mut c, score, m.as_bytes());
    }
    t.coll_save(&c).expect("save");
    t.commit().expect("commit");
    assert_eq!(ends(&ks, false), b(&["a", "b"]));
    assert_eq!(ends(&ks, true), b(&["c", "b"]));

    // A pop in a group hides `a` from the next member, whose scan must still remember `a`.
    let (g, seen) = stage_then_scan(&ks, |t, c| t.score_del(c, 1.0, b"a"));
    assert_eq!(members(seen), b(&["b", "c"]));
    drop(g);
    assert_eq!(
        ends(&ks, false),
        b(&["a", "b"]),
        "the uncommitted pop hid `a`"
    );

    // Entries staged beyond either end, in a group and alone.
    let (mut g, seen) = stage_then_scan(&ks, |t, c| t.score_put(c, 0.5, b"x"));
    assert_eq!(members(seen), b(&["x", "a"]));
    g.commit().expect("commit");
    assert_eq!(ends(&ks, false), b(&["x", "a"]));
    let mut t = ks.txn(&[(0, b"z")]);
    let c = zopen(&mut t);
    t.score_put(&c, 9.0, b"y");
    t.commit().expect("commit");
    assert_eq!(ends(&ks, true), b(&["y", "c"]));
}

/// Records the active memtable of `cf` has taken in.
fn memtable_entries(ks: &Keyspace, cf: strata_storage::Cf) -> u64 {
    ks.storage()
        .property(cf, "rocksdb.num-entries-active-mem-table")
        .expect("property")
}

/// Members of a group that write the same key (pipelined INCRs of one counter, HSETs of one
/// hash) leave one record of it in the group's write, the last member's.
#[test]
fn a_group_writes_a_key_its_members_rewrite_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let entries = || memtable_entries(&ks, strata_storage::Cf::Meta);
    let before = entries();
    let mut g = ks.group();
    for i in 0..5u8 {
        let mut t = ks.txn_in(&mut g, &[(0, b"k")]).expect("joins");
        t.put(0, b"k", Record::string(Bytes::from(vec![b'0' + i])))
            .expect("put");
        g.absorb(t);
        let mut t = ks.txn_in(&mut g, &[(0, b"other")]).expect("joins");
        t.put(0, b"other", Record::string(Bytes::from_static(b"x")))
            .expect("put");
        g.absorb(t);
    }
    // One state per key for memory to take at commit, the latest.
    assert_eq!(g.pending_states(), 2);
    g.commit().expect("commit");
    assert_eq!(entries() - before, 2);
    assert_eq!(get(&ks, 0, b"k"), Some(Bytes::from_static(b"4")));
    assert_eq!(ks.storage().key_count(0), 2);
}

/// Elements read ahead into a group's overlay answer the next members' point reads, never hide
/// what the group staged before, and give way to what it stages after.
#[test]
fn elements_read_ahead_give_way_to_what_the_group_staged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let fields: [(&[u8], &[u8]); 4] = [(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b"4")];
    hash_put(&ks, b"h", &fields);
    let mut g = ks.group();
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    t.elem_del(&c, b"b");
    g.absorb(t);

    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    assert_eq!(t.elem_staged(&c, b"c"), None);
    t.read_ahead(&c, None, None, false, 10).expect("read ahead");
    // Read ahead: in the overlay now, with the stored value.
    assert_eq!(
        t.elem_staged(&c, b"c"),
        Some(Some(Bytes::from_static(b"3")))
    );
    // Staged before: the removal still stands.
    assert_eq!(t.elem_get(&c, b"b").expect("get"), None);
    t.elem_del(&c, b"d");
    g.absorb(t);

    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    // Staged after: the removal wins over the value read ahead.
    assert_eq!(t.elem_get(&c, b"d").expect("get"), None);
    assert_eq!(
        t.elem_get(&c, b"a").expect("get"),
        Some(Bytes::from_static(b"1"))
    );
    drop(t);
    g.commit().expect("commit");
    // Nothing read ahead is written, and the overlay goes with the commit.
    assert_eq!(hash_all(&ks, b"h"), pairs(&[(b"a", b"1"), (b"c", b"3")]));
    let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    assert_eq!(t.elem_staged(&c, b"c"), None);
    drop(t);
    g.commit().expect("commit");
    // Outside a group a read ahead reads nothing and stages nothing.
    let mut t = ks.txn(&[(0, b"h")]);
    let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
    t.read_ahead(&c, None, None, false, 10).expect("read ahead");
    assert_eq!(t.elem_staged(&c, b"a"), None);
}

/// Members of a group that replace the same element (pipelined HINCRBYs of one field) leave
/// one record of it in the group's write, the last member's; new elements are not searched.
#[test]
fn a_group_writes_an_element_its_members_replace_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    hash_put(&ks, b"h", &[(b"f", b"0")]);
    let entries = || memtable_entries(&ks, strata_storage::Cf::Sub);
    let before = entries();
    let mut g = ks.group();
    for i in 1..=5u8 {
        let mut t = ks.txn_in(&mut g, &[(0, b"h")]).expect("joins");
        let c = found(t.coll(0, b"h", Kind::Hash).expect("coll"));
        t.elem_write(&c, b"f", &[b'0' + i], true);
        // A new element each time: written as it is.
        let mut c2 = c.clone();
        t.elem_put(&c2, &[b'n', i], b"x");
        c2.h.len += 1;
        t.coll_save(&c2).expect("save");
        g.absorb(t);
    }
    g.commit().expect("commit");
    assert_eq!(entries() - before, 1 + 5);
    let all = hash_all(&ks, b"h");
    assert_eq!(all.len(), 6);
    assert_eq!(all[0], (Bytes::from_static(b"f"), Bytes::from_static(b"5")));
}

/// Pops from both ends of a score index in pipeline groups, read ahead through the group's
/// cursors, against a model: entries staged below a cursor's start or past what it read
/// ahead, removals in the middle, and groups committed or dropped. Every pop returns what the
/// model's end holds, and after each group a scan outside any group sees the model.
#[test]
fn group_pops_from_score_index_ends_match_a_model() {
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;
    use strata_storage::score_from_bits;
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // score -> member, the sorted set as it should be.
    let mut model: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut t = ks.txn(&[(0, b"z")]);
    let mut c = zopen(&mut t);
    for i in 0..200u64 {
        let m = format!("m{i}").into_bytes();
        zstage_add(&mut t, &mut c, (i * 10) as f64, &m);
        model.insert(i * 10, m);
    }
    t.coll_save(&c).expect("save");
    t.commit().expect("commit");
    let all = |ks: &Keyspace| {
        let mut t = ks.txn(&[(0, b"z")]);
        let c = zopen(&mut t);
        let got = t.score_range(&c, None, None, false, 10_000).expect("range");
        got.into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k[8..]).into_owned())
            .collect::<Vec<_>>()
    };
    for round in 0..12 {
        let mut g = ks.group();
        let mut in_group = model.clone();
        for _ in 0..rng.random_range(10..60) {
            let mut t = ks.txn_in(&mut g, &[(0, b"z")]).expect("joins");
            let mut c = zopen(&mut t);
            match rng.random_range(0..10) {
                0..=5 => {
                    let high = rng.random_bool(0.5);
                    let got = t.score_range(&c, None, None, high, 1).expect("pop");
                    let want = if high {
                        in_group.pop_last()
                    } else {
                        in_group.pop_first()
                    };
                    let got = got.first().map(|(k, _)| (score_from_bits(k), k.slice(8..)));
                    assert_eq!(
                        got.as_ref().map(|(_, m)| m.to_vec()),
                        want.as_ref().map(|(_, m)| m.clone()),
                        "round {round}, from the {} end",
                        if high { "high" } else { "low" }
                    );
                    if let Some((s, m)) = got {
                        zstage_rem(&mut t, &mut c, s, &m);
                    }
                }
                6..=8 => {
                    // Anywhere: below either end, inside what was read ahead, past it.
                    let score = rng.random_range(0..2_200u64) * 10 + 5;
                    if in_group.contains_key(&score) {
                        continue;
                    }
                    let m = format!("n{score}").into_bytes();
                    zstage_add(&mut t, &mut c, score as f64, &m);
                    in_group.insert(score, m);
                }
                _ => {
                    let Some((&score, m)) = in_group
                        .iter()
                        .nth(rng.random_range(0..in_group.len().max(1)))
                    else {
                        continue;
                    };
                    let m = m.clone();
                    zstage_rem(&mut t, &mut c, score as f64, &m);
                    in_group.remove(&score);
                }
            }
            t.coll_save(&c).expect("save");
            g.absorb(t);
        }
        if round % 4 == 3 {
            drop(g);
        } else {
            g.commit().expect("commit");
            model = in_group;
        }
        let want: Vec<String> = model
            .values()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        assert_eq!(all(&ks), want, "after round {round}");
    }
}

/// Transactions and groups over many keys (MSET, DEL of thousands) find their own states by an
/// index past a few dozen keys: reads see the latest write of each key, a key written twice
/// leaves one state, and a group's members replace each other's states of keys they share.
#[test]
fn many_key_transactions_and_groups_find_their_own_states() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let keys: Vec<Vec<u8>> = (0..300).map(|i| format!("k{i}").into_bytes()).collect();
    let refs: Vec<(usize, &[u8])> = keys.iter().map(|k| (0, &k[..])).collect();
    let val = |s: &str| Record::string(Bytes::from(s.to_string()));
    let mut t = ks.txn(&refs);
    for (i, k) in keys.iter().enumerate() {
        t.put(0, k, val(&format!("a{i}"))).expect("put");
    }
    for (i, k) in keys.iter().enumerate().step_by(3) {
        t.put(0, k, val(&format!("b{i}"))).expect("put");
    }
    for k in keys.iter().skip(1).step_by(3) {
        assert!(t.delete(0, k).expect("delete"));
    }
    for (i, k) in keys.iter().enumerate() {
        let want = match i % 3 {
            0 => Some(Bytes::from(format!("b{i}"))),
            1 => None,
            _ => Some(Bytes::from(format!("a{i}"))),
        };
        assert_eq!(t.get(0, k).expect("get").map(|r| r.body), want, "key {i}");
    }
    t.commit().expect("commit");
    assert_eq!(ks.storage().key_count(0), 200);
    // A group whose members each write 100 keys, half of them the previous member's.
    let mut g = ks.group();
    for m in 0..4usize {
        let mine = &refs[m * 50..m * 50 + 100];
        let mut t = ks.txn_in(&mut g, mine).expect("joins");
        for &(_, k) in mine {
            t.put(0, k, val(&format!("m{m}"))).expect("put");
        }
        g.absorb(t);
    }
    assert_eq!(g.pending_states(), 250, "one state per key");
    g.commit().expect("commit");
    for (i, k) in keys.iter().enumerate().take(250) {
        // The last member to write key i.
        let want = format!("m{}", (i / 50).min(3));
        assert_eq!(get(&ks, 0, k), Some(Bytes::from(want)), "key {i}");
    }
}
