//! Strata's storage layer: RocksDB behind a narrow interface.
//!
//! It owns the column families, the byte layout of every record, write batches that carry their
//! own counter updates, the WAL sync policy and the compaction filter. It knows nothing of
//! commands or of the memory tier: the keyspace above decides *what* to write, this crate decides
//! *how* it sits on disk.

mod cf;
mod codec;
mod error;
mod gc;
mod rep;
mod sample;
mod stats;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor,
    DBCompressionType, Direction, IteratorMode, Options, ReadOptions, WriteBatch,
    WriteBufferManager, WriteOptions, DB,
};
use tokio::sync::watch;

pub use cf::Cf;
pub use codec::{
    elem_prefix, list_index, score_bits, score_from_bits, CollHeader, Kind, Record, LIST_MID,
};
pub use error::{Result, StorageError};
pub use sync::{Activity, FsyncPolicy};

use codec::{
    db_end, meta_key, meta_prefix, parse_size_value, size_value, split_ttl_key, ttl_key, ttl_prefix,
};
use rep::{Rep, Tags};

/// How long past its expiry a record must be before the compaction filter may drop it. The active
/// expirer normally removes it long before; the filter is the backstop that reclaims space when it
/// did not, and the ttl record left behind lets the expirer still settle the counters exactly.
const FILTER_GRACE_MS: u64 = 60_000;

/// What `Storage::open` needs to know.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// The RocksDB directory.
    pub path: PathBuf,
    /// Number of logical databases (`databases`).
    pub databases: u16,
    /// `appendfsync`.
    pub fsync: FsyncPolicy,
    /// Shared LRU block cache for every family.
    pub block_cache_bytes: usize,
    /// Memtable size per family.
    pub write_buffer_bytes: usize,
    /// RocksDB flush and compaction threads.
    pub max_background_jobs: i32,
    /// Compaction threads at the lowest CPU priority (`rocksdb.nice-compactions`).
    pub nice_compactions: bool,
    /// Compression of the levels between level 0 (never compressed) and the last
    /// (`rocksdb.compression`).
    pub compression: Compression,
    /// Compression of the last level, where most of the data lies
    /// (`rocksdb.bottommost-compression`).
    pub bottommost_compression: Compression,
    /// The request threads' activity, which times the group fsync under `always` (see `sync`).
    /// The default is never busy: the fsync starts as soon as a writer asks.
    pub activity: Activity,
}

impl StorageOptions {
    /// Defaults for a data dir: everysec, 16 databases, small caches.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StorageOptions {
            path: path.into(),
            databases: 16,
            fsync: FsyncPolicy::EverySec,
            block_cache_bytes: 64 << 20,
            write_buffer_bytes: 8 << 20,
            max_background_jobs: 2,
            nice_compactions: true,
            compression: Compression::Lz4,
            bottommost_compression: Compression::Zstd,
            activity: Activity::default(),
        }
    }
}

/// How RocksDB compresses a level's blocks. A block read from disk (a cold key's) is
/// decompressed each time it enters the block cache: LZ4 costs little CPU, ZSTD less disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `no`: blocks as they are.
    None,
    /// `lz4`: fast to read back.
    Lz4,
    /// `zstd`: smaller on disk, several times the CPU to read back.
    Zstd,
}

impl Compression {
    /// The config values, in order.
    pub const NAMES: &'static [&'static str] = &["no", "lz4", "zstd"];

    fn rocksdb(self) -> DBCompressionType {
        match self {
            Compression::None => DBCompressionType::None,
            Compression::Lz4 => DBCompressionType::Lz4,
            Compression::Zstd => DBCompressionType::Zstd,
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "no" => Ok(Compression::None),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(()),
        }
    }
}

/// The previous state of a key that a batch replaces or removes, for the counters and ttl index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prev {
    /// Its expiry (0: none), to find its ttl record.
    pub expire_ms: u64,
    /// Its logical size, subtracted from the byte counter.
    pub size: u64,
}

/// The open database. Cheap to share behind an `Arc`.
pub struct Storage {
    db: Arc<DB>,
    path: PathBuf,
    wal: Arc<sync::WalSync>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    /// Record openings per family, indexed by `Cf as usize`.
    tags: [Tags; Cf::ALL.len()],
    stopping: Arc<AtomicBool>,
    /// Logical → physical database index; SWAPDB swaps two entries.
    db_map: Box<[AtomicU16]>,
    /// Serialises SWAPDBs (which the keyspace runs under its exclusive gate anyway); readers
    /// of `db_map` take no lock, as every command reads it.
    swap_lock: Mutex<()>,
    /// Mirrors of the on-disk counters, indexed by physical db, updated after each commit.
    keys: Vec<AtomicI64>,
    bytes: Vec<AtomicI64>,
    volatile: Vec<AtomicI64>,
    /// Set by the first failed write: later writes are refused until restart.
    read_only: RwLock<Option<String>>,
    /// Whether `read_only` is set: every commit checks it, without the lock.
    failed: AtomicBool,
    block_cache: Cache,
    write_buffers: WriteBufferManager,
    /// The last collection version handed out.
    last_version: AtomicU64,
    /// Default options shared by every point read, rather than a C++ object made and freed
    /// per read (RocksDB takes them by const reference).
    point_read: ReadOptions,
    /// The request threads' activity (see `sync`).
    activity: Activity,
}

impl Drop for Storage {
    fn drop(&mut self) {
        // The element filter holds the database during a compaction: let none run past here.
        self.db.cancel_all_background_work(true);
    }
}

/// Elements a range scan's buffer is first sized for (see `Storage::scan_elems`).
const SCAN_RESERVE: usize = 128;
/// The most a range scan's buffer is first sized for: a big first element says little about
/// the rest.
const SCAN_RESERVE_BYTES: usize = 1 << 20;

/// Obsolete WAL files kept for reuse (see `Storage::open`).
const RECYCLED_WALS: usize = 4;

/// The most `prime_wals` writes ahead per WAL file, so that a large `rocksdb.write-buffer-size`
/// does not make every start write hundreds of megabytes.
const WAL_PRIME_MAX: usize = 64 << 20;

/// Turns off RocksDB's per-thread perf counters for the calling thread. They are on by default
/// (level `kEnableCount`), and a write bumps one through a thread-local on every key comparison
/// in the memtable skip list: about 30 per SET, 2 % of a pipelined SET's instructions. Strata
/// reads none of them. Call on each thread that reads or writes.
pub fn disable_perf_counters() {
    rocksdb::perf::set_perf_stats(rocksdb::perf::PerfStatsLevel::Disable);
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Storage {
    /// Opens (or creates) the database and starts the WAL syncer. Reads only the counters: no
    /// part of the data set is loaded, so start-up time does not grow with the data.
    pub fn open(opts: &StorageOptions) -> Result<Arc<Storage>> {
        std::fs::create_dir_all(&opts.path).map_err(|e| {
            StorageError::ReadOnly(format!("cannot create {}: {e}", opts.path.display()))
        })?;
        let cache = Cache::new_lru_cache(opts.block_cache_bytes);
        // Memtables are charged to the block cache, so RocksDB's memory is one bounded number.
        // No stall: a full budget makes RocksDB flush, never block a writer.
        let wbm = WriteBufferManager::new_write_buffer_manager_with_cache(
            memtable_budget(opts),
            false,
            cache.clone(),
        );
        let memtable = memtable_bytes(opts);
        if memtable < opts.write_buffer_bytes {
            tracing::info!(
                memtable,
                budget = memtable_budget(opts),
                "memtables made smaller than rocksdb.write-buffer-size to fit RocksDB's memory"
            );
        }
        let mut db_opts = Options::default();
        db_opts.set_write_buffer_manager(&wbm);
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(opts.max_background_jobs);
        if opts.nice_compactions {
            // A compaction that lands during a burst of requests takes a core from the
            // connections (on 2 cores, INCR -P 1 with one running: p99 2.0-4.3 ms at normal
            // priority, 1.2-1.5 ms at nice 19).
            // At nice 19 it yields to them and runs in their idle time; L0's slowdown trigger
            // still holds writers back if it falls far behind. Flushes keep their priority: a
            // full set of memtables stops writes at once. The thread pool is the process's.
            let mut env = rocksdb::Env::new()?;
            env.lower_thread_pool_cpu_priority();
            db_opts.set_env(&env);
        }
        // Commits append to RocksDB's WAL buffer; `flush_wal_to` writes it out once per reply
        // batch, so a pipeline of writes costs one write(2), not one per command.
        db_opts.set_manual_wal_flush(true);
        // A WAL file becomes obsolete only once every family has flushed what it holds. The
        // counters family takes one operand per commit and would fill its memtable last, keeping
        // every WAL (up to `max_total_wal_size`) alive; flushing all families together frees
        // them at each flush. Obsolete WALs are then reused rather than deleted: an fdatasync
        // after overwriting a file's blocks needs no journal commit for its size and extents,
        // which an append does (110 us against 175 us on the benchmark machine, and no
        // multi-millisecond tail). Point-in-time recovery tells a recycled file's old records
        // from new ones by the log number each record carries.
        db_opts.set_atomic_flush(true);
        db_opts.set_recycle_log_file_num(RECYCLED_WALS);
        // The counters' vector memtable cannot take concurrent inserts; the write group's leader
        // inserts its followers' batches instead.
        db_opts.set_allow_concurrent_memtable_write(false);
        db_opts.set_max_total_wal_size(256 << 20);
        db_opts.set_keep_log_file_num(4);
        let slot: gc::DbSlot = Arc::default();
        let cfs = Cf::ALL
            .iter()
            .map(|&cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(cf, opts, &cache, &slot)));
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, &opts.path, cfs)?);
        let stats = db
            .cf_handle(Cf::Stats.name())
            .ok_or(StorageError::Corrupt("no stats family"))?;
        if opts.fsync == FsyncPolicy::Always {
            // Only a speed-up: a disk too full for it still opens, and the writes that follow
            // report any lasting failure as usual.
            if let Err(e) = prime_wals(&db, stats, wal_prime_bytes(opts)) {
                tracing::warn!(error = %e, "WAL files not written ahead");
            }
        }
        let _ = slot.set(Arc::downgrade(&db));
        let n = opts.databases.max(1) as usize;
        let mut keys = Vec::with_capacity(n);
        let mut bytes = Vec::with_capacity(n);
        let mut volatile = Vec::with_capacity(n);
        for d in 0..n as u16 {
            let mut lanes =
                stats::parse_lanes(db.get_cf(stats, stats::counters_key(d))?.as_deref());
            for (lane, key) in lanes.iter_mut().zip(stats::legacy_keys(d)) {
                *lane += stats::parse_lanes(db.get_cf(stats, key)?.as_deref())[0];
            }
            let [k, b, v] = lanes;
            keys.push(AtomicI64::new(k));
            bytes.push(AtomicI64::new(b));
            volatile.push(AtomicI64::new(v));
        }
        let mut map: Vec<u16> = match db.get_cf(stats, stats::DB_MAP_KEY)? {
            Some(raw) => raw
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
            None => Vec::new(),
        };
        // A map from a run with fewer databases keeps its swaps; new databases map to themselves.
        map.truncate(n);
        for d in map.len()..n {
            map.push(d as u16);
        }
        let wal = sync::WalSync::new(opts.fsync);
        let mut tags = [Tags::default(); Cf::ALL.len()];
        for cf in Cf::ALL {
            let handle = db
                .cf_handle(cf.name())
                .ok_or(StorageError::Corrupt("a column family did not open"))?;
            tags[cf as usize] = Tags::learn(handle);
        }
        let storage = Arc::new(Storage {
            tags,
            db,
            path: opts.path.clone(),
            wal,
            syncer: Mutex::new(None),
            stopping: Arc::new(AtomicBool::new(false)),
            db_map: map.into_iter().map(AtomicU16::new).collect(),
            swap_lock: Mutex::new(()),
            keys,
            bytes,
            volatile,
            read_only: RwLock::new(None),
            failed: AtomicBool::new(false),
            block_cache: cache,
            write_buffers: wbm,
            last_version: AtomicU64::new(0),
            point_read: ReadOptions::default(),
            activity: opts.activity.clone(),
        });
        storage.start_syncer();
        Ok(storage)
    }

    fn start_syncer(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let activity = self.activity.clone();
        let wal = self.wal.clone();
        let stopping = self.stopping.clone();
        let handle = std::thread::Builder::new()
            .name("wal-sync".into())
            .spawn(move || loop {
                let wait = match wal.policy() {
                    FsyncPolicy::Always => Duration::from_millis(100),
                    _ => Duration::from_secs(1),
                };
                wal.wait(wait);
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Some(storage) = weak.upgrade() else {
                    return;
                };
                if wal.policy() == FsyncPolicy::Always {
                    activity.wait_idle(sync::IDLE_WAIT_CAP);
                }
                if wal.policy() != FsyncPolicy::No {
                    storage.sync_now();
                } else {
                    // Writes nobody waits for (expiry, eviction) still reach the OS within a second.
                    let _ = storage.flush_wal_to(storage.written_seq());
                }
            })
            .ok();
        *self.syncer.lock() = handle;
    }

    /// Fsyncs the WAL now and records what it covered.
    pub fn sync_now(&self) {
        let target = self.wal.written.load(Ordering::Acquire);
        if target <= self.wal.synced() {
            return;
        }
        match self.db.flush_wal(true) {
            Ok(()) => {
                self.wal.mark_flushed(target);
                self.wal.mark_synced(target)
            }
            Err(e) => self.fail(format!("WAL fsync failed: {e}")),
        }
    }

    /// Whether every batch up to `seq` is already in the OS's hands.
    pub fn wal_flushed(&self, seq: u64) -> bool {
        seq <= self.wal.flushed()
    }

    /// Hands every batch up to `seq` to the OS (a `write(2)` of RocksDB's WAL buffer, no fsync),
    /// so that it survives a crash of the process. Call before replying to a write: one call
    /// covers every commit before it, from any connection.
    pub fn flush_wal_to(&self, seq: u64) -> Result<()> {
        if self.wal_flushed(seq) {
            return Ok(());
        }
        let target = self.wal.written.load(Ordering::Acquire);
        match self.db.flush_wal(false) {
            Ok(()) => {
                self.wal.mark_flushed(target);
                Ok(())
            }
            Err(e) => {
                self.fail(format!("WAL write failed: {e}"));
                Err(e.into())
            }
        }
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "storage write failed; refusing writes until restart");
        self.read_only.write().get_or_insert(why);
        self.failed.store(true, Ordering::Release);
    }

    /// The reason writes are refused, if they are.
    pub fn read_only_reason(&self) -> Option<String> {
        self.read_only.read().clone()
    }

    /// Stops the syncer, fsyncs the WAL and flushes memtables. Call once at shutdown; the
    /// database closes when the last `Arc` drops.
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        self.wal.poke();
        if let Some(h) = self.syncer.lock().take() {
            let _ = h.join();
        }
        if let Err(e) = self.db.flush_wal(true) {
            tracing::error!(error = %e, "final WAL sync failed");
        }
        for cf in Cf::ALL {
            if let Some(h) = self.db.cf_handle(cf.name()) {
                if let Err(e) = self.db.flush_cf(h) {
                    tracing::warn!(cf = cf.name(), error = %e, "memtable flush at shutdown failed");
                }
            }
        }
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How records of `cf` open in a write batch (see `rep`).
    fn tags(&self, cf: Cf) -> &Tags {
        &self.tags[cf as usize]
    }

    fn cf(&self, cf: Cf) -> &ColumnFamily {
        // Every family in `Cf::ALL` is opened (or created) by `open`, so the handle exists.
        self.db
            .cf_handle(cf.name())
            .unwrap_or_else(|| unreachable!("column family {} is opened at start", cf.name()))
    }

    // ---- fsync policy -------------------------------------------------------------------------

    /// The current `appendfsync` policy.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.wal.policy()
    }

    /// Changes `appendfsync` at run time.
    pub fn set_fsync_policy(&self, p: FsyncPolicy) {
        self.wal.set_policy(p);
    }

    /// Sequence of the last committed batch.
    pub fn written_seq(&self) -> u64 {
        self.wal.written.load(Ordering::Acquire)
    }

    /// A receiver of the last fsynced sequence; `wait_for(|s| *s >= seq)` waits for durability.
    pub fn synced_watch(&self) -> watch::Receiver<u64> {
        self.wal.subscribe()
    }

    /// The calling thread stopped running the runtime's tasks without parking (tokio's
    /// `block_in_place` handed its worker to another thread), so it no longer counts as busy
    /// when an `always` fsync waits for the request threads to go idle. Had it stayed busy in
    /// the count, every later fsync would wait out `IDLE_WAIT_CAP`. If the thread got its worker
    /// back, it counts as idle until its next park and unpark: at most one fsync starts early.
    pub fn thread_left_runtime(&self) {
        self.activity.parked();
    }

    /// Asks the syncer for an fsync (under `always`, by a writer about to wait for it). It
    /// starts once the request threads have run out of work (see `sync`).
    pub fn request_sync(&self) {
        self.wal.poke();
    }

    /// Whether a writer whose batch got `seq` must wait for an fsync before replying.
    pub fn must_wait_for(&self, seq: u64) -> bool {
        self.wal.policy() == FsyncPolicy::Always && self.wal.synced() < seq
    }

    /// WAL fsyncs performed since start.
    pub fn fsync_count(&self) -> u64 {
        self.wal.fsyncs.load(Ordering::Relaxed)
    }

    // ---- databases and counters ---------------------------------------------------------------

    /// Number of logical databases.
    pub fn databases(&self) -> usize {
        self.keys.len()
    }

    /// The physical id behind logical database `db`, or None when out of range.
    pub fn phys(&self, db: usize) -> Option<u16> {
        self.db_map.get(db).map(|p| p.load(Ordering::Acquire))
    }

    /// Exact key count of a physical database (O(1)).
    pub fn key_count(&self, phys: u16) -> u64 {
        self.keys
            .get(phys as usize)
            .map_or(0, |c| c.load(Ordering::Acquire).max(0) as u64)
    }

    /// Exact number of keys with a TTL in a physical database (O(1)).
    pub fn volatile_count(&self, phys: u16) -> u64 {
        self.volatile
            .get(phys as usize)
            .map_or(0, |c| c.load(Ordering::Acquire).max(0) as u64)
    }

    /// Exact logical bytes of a physical database (O(1)).
    pub fn data_bytes(&self, phys: u16) -> u64 {
        self.bytes
            .get(phys as usize)
            .map_or(0, |c| c.load(Ordering::Acquire).max(0) as u64)
    }

    /// Exact logical bytes of all databases.
    pub fn total_data_bytes(&self) -> u64 {
        (0..self.bytes.len() as u16)
            .map(|d| self.data_bytes(d))
            .sum()
    }

    /// Swaps two logical databases by swapping their physical ids (O(1), durable). The caller
    /// must hold off every other command while it runs.
    pub fn swap_dbs(&self, a: usize, b: usize) -> Result<()> {
        self.check_writable()?;
        let _swap = self.swap_lock.lock();
        let map = &self.db_map;
        if a >= map.len() || b >= map.len() {
            return Ok(());
        }
        let mut next: Vec<u16> = map.iter().map(|p| p.load(Ordering::Acquire)).collect();
        next.swap(a, b);
        let raw: Vec<u8> = next.iter().flat_map(|d| d.to_be_bytes()).collect();
        self.write(|wb| wb.put_cf(self.cf(Cf::Stats), stats::DB_MAP_KEY, raw))?;
        map[a].store(next[a], Ordering::Release);
        map[b].store(next[b], Ordering::Release);
        Ok(())
    }

    // ---- reads --------------------------------------------------------------------------------

    /// Reads and verifies a key's metadata record.
    pub fn get(&self, phys: u16, key: &[u8]) -> Result<Option<Record>> {
        match self
            .db
            .get_pinned_cf_opt(self.cf(Cf::Meta), meta_key(phys, key), &self.point_read)?
        {
            Some(raw) => Record::decode(&raw).map(Some),
            None => Ok(None),
        }
    }

    /// A fresh collection version: unique for the life of the data dir (microseconds since the
    /// epoch, bumped past the last one handed out).
    pub fn next_version(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let prev = self
            .last_version
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_add(1).max(now))
            })
            .unwrap_or(now);
        prev.saturating_add(1).max(now)
    }

    /// One element record (sub or score family).
    pub fn get_elem(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self
            .db
            .get_pinned_cf_opt(self.cf(cf), key, &self.point_read)?
            .map(|v| Bytes::copy_from_slice(&v)))
    }

    /// Up to `limit` element records with `lower <= key < upper`, in key order or (with
    /// `reverse`) from the top down. Keys come back without their first `strip` bytes.
    pub fn scan_elems(
        &self,
        cf: Cf,
        lower: &[u8],
        upper: &[u8],
        reverse: bool,
        limit: usize,
        strip: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        ro.set_iterate_upper_bound(upper.to_vec());
        // The raw iterator lends each entry: the boxed one copied every key and value into
        // allocations of its own before they were copied again into the result.
        let mut it = self.db.raw_iterator_cf_opt(self.cf(cf), ro);
        if reverse {
            it.seek_to_last();
        } else {
            it.seek_to_first();
        }
        // Every key and value goes into one buffer, handed out as slices of it: two
        // allocations per element (and two frees once replied) cost more than the copy (LRANGE of
        // 100 elements: 198,000 instructions, 38,000 of them allocating and freeing).
        let mut buf = Vec::new();
        let mut spans = Vec::with_capacity(limit.min(SCAN_RESERVE));
        while spans.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            let k = k.get(strip..).unwrap_or_default();
            if spans.is_empty() {
                // Sized by the first element: growing by doubling copied it all twice over.
                let guess = (k.len() + v.len()).saturating_mul(limit.min(SCAN_RESERVE));
                buf.reserve(guess.min(SCAN_RESERVE_BYTES));
            }
            let start = buf.len();
            buf.extend_from_slice(k);
            buf.extend_from_slice(v);
            spans.push((start, start + k.len(), buf.len()));
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        it.status()?;
        let buf = Bytes::from(buf);
        Ok(spans
            .into_iter()
            .map(|(a, b, c)| (buf.slice(a..b), buf.slice(b..c)))
            .collect())
    }

    /// The logical size recorded in a key's ttl entry, if that entry exists.
    pub fn ttl_entry(&self, phys: u16, expire_ms: u64, key: &[u8]) -> Result<Option<u64>> {
        Ok(self
            .db
            .get_pinned_cf_opt(
                self.cf(Cf::Ttl),
                ttl_key(phys, expire_ms, key),
                &self.point_read,
            )?
            .map(|v| parse_size_value(&v)))
    }

    /// Up to `limit` keys of `phys` in byte order, strictly after `after` (from the start when
    /// None), with their records. Returns the keys and whether the range is exhausted.
    pub fn scan(
        &self,
        phys: u16,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<(Bytes, Record)>, bool)> {
        let start = match after {
            Some(k) => {
                let mut s = meta_key(phys, k);
                s.push(0);
                s
            }
            None => phys.to_be_bytes().to_vec(),
        };
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(db_end(phys));
        let mut it = self.db.raw_iterator_cf_opt(self.cf(Cf::Meta), ro);
        it.seek(&start);
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if out.len() == limit {
                return Ok((out, false));
            }
            let key = k.get(2..).unwrap_or_default();
            out.push((Bytes::copy_from_slice(key), Record::decode(v)?));
            it.next();
        }
        it.status()?;
        Ok((out, true))
    }

    /// The first key of `phys` at or after `from` (wrapping to the start), for RANDOMKEY.
    pub fn key_at_or_after(&self, phys: u16, from: &[u8]) -> Result<Option<Bytes>> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(db_end(phys));
        let start = meta_key(phys, from);
        let mut iter = self.db.iterator_cf_opt(
            self.cf(Cf::Meta),
            ro,
            IteratorMode::From(&start, Direction::Forward),
        );
        if let Some(item) = iter.next() {
            return Ok(Some(Bytes::copy_from_slice(&item?.0[2..])));
        }
        Ok(self
            .scan(phys, None, 1)?
            .0
            .into_iter()
            .next()
            .map(|(k, _)| k))
    }

    /// Ttl entries of `phys` due at `now` or earlier: `(key, expire_ms, logical size)`.
    pub fn due_ttl(&self, phys: u16, now: u64, limit: usize) -> Result<Vec<(Bytes, u64, u64)>> {
        let mut ro = ReadOptions::default();
        let mut upper = ttl_key(phys, now, b"");
        upper.push(0xff);
        ro.set_iterate_upper_bound(upper);
        let start = phys.to_be_bytes();
        let iter = self.db.iterator_cf_opt(
            self.cf(Cf::Ttl),
            ro,
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (k, v) = item?;
            if let Some((exp, key)) = split_ttl_key(&k) {
                if exp <= now {
                    out.push((Bytes::copy_from_slice(key), exp, parse_size_value(&v)));
                }
            }
        }
        Ok(out)
    }

    /// Runs a manual compaction of every family (tests, and DEBUG-style operator use).
    pub fn compact_all(&self) {
        for cf in Cf::ALL {
            self.db
                .compact_range_cf(self.cf(cf), None::<&[u8]>, None::<&[u8]>);
        }
    }

    /// Compacts the element records of one collection (`lo..hi` in both element families) down
    /// to the bottom level, which drops its deleted records. Blocks for the compaction: call it
    /// off the request path. Automatic compactions keep running meanwhile.
    pub fn compact_elems(&self, lo: &[u8], hi: &[u8]) {
        let mut o = rocksdb::CompactOptions::default();
        o.set_exclusive_manual_compaction(false);
        for cf in [Cf::Sub, Cf::Score] {
            self.db
                .compact_range_cf_opt(self.cf(cf), Some(lo), Some(hi), &o);
        }
    }

    /// A RocksDB integer property of a family, e.g. `rocksdb.estimate-num-keys`.
    pub fn property(&self, cf: Cf, name: &str) -> Option<u64> {
        self.db
            .property_int_value_cf(self.cf(cf), name)
            .ok()
            .flatten()
    }

    /// Bytes held by the shared block cache, memtable charges included.
    pub fn block_cache_usage(&self) -> usize {
        self.block_cache.get_usage()
    }

    /// Bytes of memtables, as the write-buffer manager counts them.
    pub fn memtable_usage(&self) -> usize {
        self.write_buffers.get_usage()
    }

    // ---- writes -------------------------------------------------------------------------------

    /// A new batch. The caller holds the locks of every key it touches until `commit` returns.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            s: self,
            rep: Rep::default(),
            deltas: Vec::new(),
            clears: Vec::new(),
            repeats: false,
        }
    }

    fn check_writable(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*self.read_only.read() {
            Some(why) => Err(StorageError::ReadOnly(why.clone())),
            None => Ok(()),
        }
    }

    fn write(&self, fill: impl FnOnce(&mut WriteBatch)) -> Result<u64> {
        let mut wb = WriteBatch::default();
        fill(&mut wb);
        if let Err(e) = self.db.write_opt(wb, &WriteOptions::default()) {
            self.fail(e.to_string());
            return Err(e.into());
        }
        Ok(self.wal.note_write())
    }
}

/// A write batch with the counter changes it implies. Nothing is visible until `commit`.
pub struct Batch<'a> {
    s: &'a Storage,
    /// The records, in RocksDB's format (see `rep`).
    rep: Rep,
    /// Counter deltas per physical db: `(db, [keys, bytes, volatile])`.
    deltas: Vec<(u16, [i64; stats::LANES])>,
    /// Physical dbs this batch empties: their counters are reset, not adjusted.
    clears: Vec<u16>,
    /// Whether this batch may write a key that the batch absorbing it wrote too (see `absorb`).
    repeats: bool,
}

impl Batch<'_> {
    /// Marks the batch as one that may write a key the batch absorbing it wrote too (a group
    /// member's keys whose locks the group already held). Unmarked, `absorb` does not look for
    /// such keys: a pipeline of distinct keys pays nothing for the search.
    pub fn may_repeat(&mut self) {
        self.repeats = true;
    }

    /// Whether [`Batch::may_repeat`] marked the batch.
    pub fn repeats(&self) -> bool {
        self.repeats
    }

    /// Writes `rec` under `key`, replacing `prev` (None: the key is new). `size` is the key's new
    /// logical size. Keeps the ttl index and both counters in step.
    pub fn put(&mut self, phys: u16, key: &[u8], rec: &Record, size: u64, prev: Option<Prev>) {
        let s = self.s;
        let (head, crc) = rec.encode_parts();
        self.rep.put_latest(
            s.tags(Cf::Meta),
            Cf::Meta as u8,
            &[&meta_prefix(phys), key],
            &[&head, &rec.body, &crc],
        );
        let (old_size, was_volatile) = match prev {
            Some(p) => {
                if p.expire_ms != 0 && (p.expire_ms != rec.expire_ms || p.size != size) {
                    self.rep
                        .delete(s.tags(Cf::Ttl), &[&ttl_prefix(phys, p.expire_ms), key]);
                }
                (p.size as i64, p.expire_ms != 0)
            }
            None => (0, false),
        };
        if rec.expire_ms != 0 && prev.is_none_or(|p| p.expire_ms != rec.expire_ms || p.size != size)
        {
            self.rep.put(
                s.tags(Cf::Ttl),
                &[&ttl_prefix(phys, rec.expire_ms), key],
                &[&size_value(size)],
            );
        }
        let volatile = i64::from(rec.expire_ms != 0) - i64::from(was_volatile);
        self.count(
            phys,
            [i64::from(prev.is_none()), size as i64 - old_size, volatile],
        );
    }

    /// Removes `key`, whose current state is `prev`.
    pub fn delete(&mut self, phys: u16, key: &[u8], prev: Prev) {
        let s = self.s;
        self.rep
            .delete_latest(s.tags(Cf::Meta), Cf::Meta as u8, &[&meta_prefix(phys), key]);
        if prev.expire_ms != 0 {
            self.rep
                .delete(s.tags(Cf::Ttl), &[&ttl_prefix(phys, prev.expire_ms), key]);
        }
        self.count(
            phys,
            [-1, -(prev.size as i64), -i64::from(prev.expire_ms != 0)],
        );
    }

    /// Writes one element record. The collection's metadata, written in the same batch, carries
    /// the counts.
    pub fn put_elem(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        self.rep.put(self.s.tags(cf), &[key], &[value]);
    }

    /// Writes one element record over the element's current one: a later `replace_elem` of
    /// the same element in this batch, or in a member batch it absorbs, takes this one out
    /// (see `Batch::absorb`), so that pipelined HINCRBYs of one field write it once.
    pub fn replace_elem(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        self.rep
            .put_latest(self.s.tags(cf), cf as u8, &[key], &[value]);
    }

    /// Removes one element record.
    pub fn delete_elem(&mut self, cf: Cf, key: &[u8]) {
        self.rep.delete(self.s.tags(cf), &[key]);
    }

    /// Settles a ttl entry whose key the compaction filter already dropped: the entry goes and
    /// the counters lose the key it stood for.
    pub fn settle_orphan_ttl(&mut self, phys: u16, key: &[u8], expire_ms: u64, size: u64) {
        self.rep
            .delete(self.s.tags(Cf::Ttl), &[&ttl_prefix(phys, expire_ms), key]);
        self.count(phys, [-1, -(size as i64), -1]);
    }

    /// Empties a physical database: two range deletes and two counter resets, O(1).
    pub fn clear_db(&mut self, phys: u16) {
        let s = self.s;
        let (from, to) = (phys.to_be_bytes(), db_end(phys));
        for cf in [Cf::Meta, Cf::Sub, Cf::Score, Cf::Ttl] {
            self.rep.delete_range(s.tags(cf), &from, &to);
        }
        let stats = s.tags(Cf::Stats);
        self.rep.put(
            stats,
            &[&stats::counters_key(phys)],
            &[&stats::encode_lanes([0; stats::LANES])],
        );
        for k in stats::legacy_keys(phys) {
            self.rep.delete(stats, &[&k]);
        }
        self.deltas.retain(|(d, _)| *d != phys);
        self.clears.push(phys);
    }

    fn count(&mut self, phys: u16, delta: [i64; stats::LANES]) {
        match self.deltas.iter_mut().find(|(d, _)| *d == phys) {
            Some((_, acc)) => acc.iter_mut().zip(delta).for_each(|(a, x)| *a += x),
            None => self.deltas.push((phys, delta)),
        }
    }

    fn counters(s: &Storage, d: u16) -> [&AtomicI64; stats::LANES] {
        let i = d as usize;
        [&s.keys[i], &s.bytes[i], &s.volatile[i]]
    }

    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.rep.is_empty()
    }

    /// Takes in `other`'s writes, after this batch's own, and its counter changes, so that both
    /// commit as one write: one WAL record, one memtable pass and one counter operand per db for
    /// a pipeline's commands (see `Group` in the keyspace). Batches that empty a db do not mix.
    /// `other` is left empty, its buffers kept, for the next command to fill.
    ///
    /// If `other` was marked with [`Batch::may_repeat`], a key's record in it replaces this
    /// batch's record of the key: the memtable takes the last state of a key once.
    pub fn absorb(&mut self, other: &mut Batch<'_>) {
        debug_assert!(self.clears.is_empty() && other.clears.is_empty());
        if self.deltas.is_empty() {
            std::mem::swap(&mut self.deltas, &mut other.deltas);
        }
        for (d, delta) in other.deltas.drain(..) {
            self.count(d, delta);
        }
        self.rep
            .append(&mut other.rep, std::mem::take(&mut other.repeats));
    }

    /// Appends the batch (with its counter merges) to the WAL and memtables, then updates the
    /// in-memory counters. Returns the sequence to wait on under `appendfsync always`.
    pub fn commit(mut self) -> Result<u64> {
        let s = self.s;
        s.check_writable()?;
        if self.is_empty() {
            return Ok(s.written_seq());
        }
        self.deltas.retain(|(d, _)| (*d as usize) < s.keys.len());
        let deltas = std::mem::take(&mut self.deltas);
        for &(d, delta) in &deltas {
            if delta != [0; stats::LANES] {
                self.rep.merge(
                    s.tags(Cf::Stats),
                    &[&stats::counters_key(d)],
                    &[&stats::encode_lanes(delta)],
                );
            }
        }
        if let Err(e) =
            s.db.write_opt(self.rep.write_batch(), &WriteOptions::default())
        {
            s.fail(e.to_string());
            return Err(e.into());
        }
        for &d in &self.clears {
            for c in Self::counters(s, d) {
                c.store(0, Ordering::Release);
            }
        }
        for &(d, delta) in &deltas {
            for (c, x) in Self::counters(s, d).into_iter().zip(delta) {
                c.fetch_add(x, Ordering::AcqRel);
            }
        }
        Ok(s.wal.note_write())
    }
}

/// What the memtables of all families may hold together: half the block cache they are charged
/// to. Beyond it RocksDB flushes the largest.
fn memtable_budget(opts: &StorageOptions) -> usize {
    opts.block_cache_bytes / 2
}

/// The memtable size of each family: `rocksdb.write-buffer-size`, capped at a quarter of the
/// memtable budget or 1 MiB, whichever is larger (a smaller size set on purpose stays). A
/// memtable larger than the budget allows never fills: the families' first arena blocks alone
/// (an eighth of the memtable each) reach the budget, and the write buffer manager then
/// flushes every few dozen records. With 8 MiB memtables and the
/// 4 MiB budget of `hot-memory 32mb` that was thousands of tiny flushes, and writes stalled
/// behind them (SET -P 16: 13k ops/s, p99 700 ms).
fn memtable_bytes(opts: &StorageOptions) -> usize {
    opts.write_buffer_bytes
        .min((memtable_budget(opts) / 4).max(1 << 20))
}

/// How much of each WAL file `prime_wals` writes ahead: about what a file holds when its memtable
/// switches (RocksDB preallocates 1.1 times the memtable size for the same reason), at most
/// [`WAL_PRIME_MAX`].
fn wal_prime_bytes(opts: &StorageOptions) -> usize {
    (memtable_bytes(opts) / 10 * 11).min(WAL_PRIME_MAX)
}

/// Leaves the database writing to a WAL file already written to `bytes`, with one more such file
/// queued for reuse, as a server that has run a while is. An `fdatasync` after overwriting a
/// file's blocks commits no journal transaction for its size and extents, which one after an
/// append does: under `appendfsync always` every reply waits for one. RocksDB reuses only the WAL
/// files a process made obsolete itself, so a fresh process would otherwise append to its first
/// two (PostgreSQL zero-fills new WAL segments for the same reason).
///
/// Each round fills the current file with log-only records (the WAL keeps them; memtables and
/// SST files never see them), syncs it, and flushes a one-record memtable of `stats`, which
/// switches to a new file and makes this one obsolete. The second round's switch reuses the
/// first file. As with any reused file, recovery tells the new records from what the file held
/// before by the log number each record carries.
fn prime_wals(db: &DB, stats: &ColumnFamily, bytes: usize) -> Result<()> {
    const CHUNK: usize = 1 << 20;
    let started = Instant::now();
    let zeros = vec![0u8; CHUNK.min(bytes)];
    for _ in 0..2 {
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK);
            let mut wb = WriteBatch::default();
            wb.put_log_data(&zeros[..n]);
            db.write(wb)?;
            left -= n;
        }
        db.flush_wal(true)?;
        let mut wb = WriteBatch::default();
        wb.delete_cf(stats, stats::WAL_PRIME_KEY);
        db.write(wb)?;
        db.flush_cf(stats)?;
    }
    tracing::info!(
        bytes,
        ms = started.elapsed().as_millis() as u64,
        "WAL files written ahead for appendfsync always"
    );
    Ok(())
}

fn cf_options(cf: Cf, opts: &StorageOptions, cache: &Cache, db: &gc::DbSlot) -> Options {
    let mut o = Options::default();
    // The data set is many times the block cache, so index and filter blocks cannot all stay
    // cached: partition them, pin the small top levels (and L0's) in the cache at high priority,
    // and let the partitions come and go like data blocks. A point read then costs one filter
    // partition and one index partition per file at most, not the whole index.
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_bloom_filter(10.0, false);
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(true);
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_pin_top_level_index_and_filter(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    table.set_optimize_filters_for_memory(true);
    o.set_block_based_table_factory(&table);
    // Small memtables (8 MiB by default) keep the skip list each write walks in the CPU cache;
    // four of them per family let writes go on while earlier ones flush.
    o.set_write_buffer_size(memtable_bytes(opts));
    o.set_max_write_buffer_number(4);
    o.set_compression_type(opts.compression.rocksdb());
    // Flushes write level 0 as the memtable is, uncompressed: LZ4 there cost the flush thread,
    // which shares the 2 cores with the workers, time that showed in the `-P 1` p99 of the
    // writes it overlapped. L0 files last only until their first compaction, which compresses.
    // The per-level list overrides `compression`, which is still set: RocksDB's OPTIONS file
    // then records the setting.
    o.set_compression_per_level(&[DBCompressionType::None, opts.compression.rocksdb()]);
    o.set_bottommost_compression_type(opts.bottommost_compression.rocksdb());
    if matches!(cf, Cf::Meta | Cf::Sub) {
        // Point reads of absent keys (GET of a missing key, SET of a new one reading its previous
        // state) otherwise walk the memtable skip list; a whole-key bloom answers most of them.
        o.set_memtable_prefix_bloom_ratio(0.1);
        o.set_memtable_whole_key_filtering(true);
    }
    match cf {
        Cf::Stats => {
            o.set_merge_operator_associative("strata.add", stats::add_merge);
            // Every commit adds one counter operand here, and nothing reads them back before
            // the next open: an append-only vector takes them for a fraction of a skip list
            // insert (which compares against the key's earlier operands).
            o.set_memtable_factory(rocksdb::MemtableFactory::Vector);
        }
        Cf::Meta => o.set_compaction_filter(
            "strata.expired",
            |_level: u32, _key: &[u8], value: &[u8]| match codec::peek_expire(value) {
                Some(exp) if exp != 0 && exp.saturating_add(FILTER_GRACE_MS) < now_ms() => {
                    rocksdb::CompactionDecision::Remove
                }
                _ => rocksdb::CompactionDecision::Keep,
            },
        ),
        Cf::Sub | Cf::Score => {
            o.set_compaction_filter_factory(gc::ElemGcFactory::new(db.clone()));
        }
        Cf::Ttl => {}
    }
    o
}

#[cfg(test)]
mod tests;
