//! The Strata server: listener, connections, client registry, configuration, INFO, background
//! tasks and shutdown. `strata-server` (src/main.rs) is a thin wrapper around [`run`].
//!
//! # Shutdown order
//! Stop accepting, let in-flight commands finish and close the connections, stop the background
//! tasks, fsync the WAL, flush memtables, and close RocksDB last.

pub use strata_commands::REDIS_VERSION;

pub mod clients;
pub mod config;
mod conn;
mod info;
mod logging;
pub mod observe;
pub mod pubsub;
mod tasks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_commands::{CmdError, Host, KillFilter, Session, SubKind};
use strata_keyspace::{Keyspace, KeyspaceOptions};
use strata_storage::{Activity, FsyncPolicy, Storage, StorageOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use clients::Clients;
use config::Config;

/// Server-wide counters for INFO stats.
#[derive(Default)]
pub struct ServerStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected: AtomicU64,
    /// Commands run.
    pub commands: AtomicU64,
    /// Error replies sent.
    pub errors: AtomicU64,
    /// Bytes read from clients.
    pub net_in: AtomicU64,
    /// Bytes written to clients.
    pub net_out: AtomicU64,
}

impl ServerStats {
    /// Counts a command that ran, and its reply if it is an error.
    pub fn count_command(&self, reply: &strata_resp::Reply) {
        self.commands.fetch_add(1, Ordering::Relaxed);
        if matches!(reply, strata_resp::Reply::Error(_)) {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Everything the connections and background tasks share.
pub struct Shared {
    /// Live configuration.
    pub config: Config,
    /// The keyspace.
    pub ks: Arc<Keyspace>,
    /// Connected clients.
    pub clients: Clients,
    /// INFO counters.
    pub stats: ServerStats,
    /// Cancelled to stop the server.
    pub shutdown: CancellationToken,
    /// Server start, for uptime.
    pub started: Instant,
    /// The port actually bound.
    pub port: u16,
    /// Open connections, for maxclients.
    pub open: AtomicUsize,
    /// Command statistics, slow log, latency monitor, MONITOR and CLIENT PAUSE.
    pub observe: observe::Observe,
    logging: logging::Handle,
    /// Pub/sub channels, patterns and subscriber mailboxes.
    pub pubsub: pubsub::PubSub,
    /// ACL users.
    pub acl: strata_commands::Acl,
}

/// Reads `jemalloc`'s allocated and resident byte counts (zero when it is not the allocator).
pub fn alloc_stats() -> (u64, u64) {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return (0, 0);
    }
    (
        stats::allocated::read().unwrap_or(0) as u64,
        stats::resident::read().unwrap_or(0) as u64,
    )
}

impl Shared {
    /// Client `id`'s subscription counts (channels, patterns, shard channels) for CLIENT LIST.
    fn sub_counts(&self, id: u64) -> (usize, usize, usize) {
        (
            self.subscriptions(id, SubKind::Channel).len(),
            self.subscriptions(id, SubKind::Pattern).len(),
            self.subscriptions(id, SubKind::Shard).len(),
        )
    }

    /// Applies the side effects of config keys that changed at run time.
    fn apply(&self, names: &[&str]) {
        let c = &self.config;
        for &n in names {
            match n {
                "appendfsync" => {
                    if let Ok(p) = c.get(n).parse::<FsyncPolicy>() {
                        self.ks.storage().set_fsync_policy(p);
                    }
                }
                "hot-memory" => self.ks.hot().set_budget(hot_share(c)),
                "hot-idle-seconds" => self.ks.hot().set_idle_seconds(c.get_u64(n)),
                "max-data-size" | "eviction-policy" | "maxmemory-samples" => apply_cap(&self.ks, c),
                "hot-max-object-size" => self.ks.hot().set_max_object(c.get_u64(n)),
                "loglevel" => self.logging.set_level(&c.get(n)),
                "slowlog-log-slower-than"
                | "slowlog-max-len"
                | "latency-tracking"
                | "latency-monitor-threshold" => self.observe.configure(c),
                "requirepass" => self.acl.set_default_password(&c.get(n)),
                "notify-keyspace-events" => self
                    .ks
                    .events()
                    .set_flags(strata_commands::notify::parse_flags(&c.get(n)).unwrap_or(0)),
                "client-output-buffer-limit" => {
                    self.pubsub.set_limit(pubsub::pubsub_limit(&c.get(n)))
                }
                _ => {}
            }
        }
    }
}

/// The ACL store at start: `requirepass` for the default user, then the `aclfile` if set.
fn new_acl(c: &(String, String)) -> Result<strata_commands::Acl, String> {
    let acl = strata_commands::Acl::new();
    acl.set_default_password(&c.0);
    if !c.1.is_empty() {
        strata_commands::acl_load_file(&acl, &c.1)?;
    }
    Ok(acl)
}

impl Host for Shared {
    fn acl(&self) -> &strata_commands::Acl {
        &self.acl
    }

    fn off_worker(&self, f: &mut dyn FnMut()) {
        conn::off_worker(self.ks.storage(), f)
    }

    fn config_get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.config.get_matching(pattern)
    }

    fn config_set(&self, pairs: &[(String, String)]) -> Result<(), CmdError> {
        let changed = self.config.set_many(pairs).map_err(CmdError::err)?;
        self.apply(&changed);
        Ok(())
    }

    fn config_rewrite(&self) -> Result<(), CmdError> {
        self.config.rewrite().map_err(CmdError::err)
    }

    fn config_resetstat(&self) {
        self.observe.reset_stats();
        for c in [
            &self.stats.commands,
            &self.stats.errors,
            &self.stats.rejected,
            &self.stats.net_in,
            &self.stats.net_out,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        let ks = &self.ks.stats;
        for c in [
            &ks.hits,
            &ks.misses,
            &ks.expired,
            &ks.hot_hits,
            &ks.cold_reads,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }

    fn info(&self, sections: &[String]) -> String {
        info::render(self, sections)
    }

    fn requirepass(&self) -> Option<String> {
        Some(self.config.get("requirepass")).filter(|p| !p.is_empty())
    }

    fn client_list(&self, ids: Option<&[u64]>) -> String {
        self.clients.list(ids, &|id| self.sub_counts(id), &|id| {
            self.pubsub.pending_output(id)
        })
    }

    fn client_update(&self, session: &Session, cmd: &str) {
        self.clients.update(session, cmd);
    }

    fn client_kill(&self, me: u64, filter: &KillFilter) -> usize {
        self.clients.kill(me, filter, &|id| self.sub_counts(id))
    }

    fn client_unblock(&self, id: u64, error: bool) -> bool {
        self.clients.unblock(id, error)
    }

    fn client_pause(&self, ms: u64, all: bool) {
        self.observe.pause(ms, all);
    }

    fn client_unpause(&self) {
        self.observe.unpause();
    }

    fn slowlog_get(&self, count: Option<usize>) -> strata_resp::Reply {
        self.observe.slowlog_get(count)
    }

    fn slowlog_len(&self) -> usize {
        self.observe.slowlog_len()
    }

    fn slowlog_reset(&self) {
        self.observe.slowlog_reset();
    }

    fn latency_latest(&self) -> strata_resp::Reply {
        self.observe.latency_latest()
    }

    fn latency_history(&self, event: &[u8]) -> strata_resp::Reply {
        self.observe.latency_history(event)
    }

    fn latency_reset(&self, events: &[bytes::Bytes]) -> usize {
        self.observe.latency_reset(events)
    }

    fn latency_histogram(&self, commands: &[bytes::Bytes]) -> strata_resp::Reply {
        self.observe.latency_histogram(commands)
    }

    fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        self.pubsub.publish(false, channel, message)
    }

    fn spublish(&self, channel: &[u8], message: &[u8]) -> usize {
        self.pubsub.publish(true, channel, message)
    }

    fn subscribe(&self, id: u64, kind: SubKind, name: &bytes::Bytes) -> usize {
        self.pubsub.subscribe(id, kind, name)
    }

    fn unsubscribe(&self, id: u64, kind: SubKind, name: &[u8]) -> usize {
        self.pubsub.unsubscribe(id, kind, name)
    }

    fn subscriptions(&self, id: u64, kind: SubKind) -> Vec<bytes::Bytes> {
        self.pubsub.subscriptions(id, kind)
    }

    fn pubsub_channels(&self, kind: SubKind, pattern: Option<&[u8]>) -> Vec<bytes::Bytes> {
        self.pubsub.channels(kind, pattern)
    }

    fn pubsub_numsub(&self, kind: SubKind, channel: &[u8]) -> usize {
        self.pubsub.numsub(kind, channel)
    }

    fn pubsub_numpat(&self) -> usize {
        self.pubsub.count(SubKind::Pattern)
    }

    fn shutdown(&self) {
        tracing::info!("SHUTDOWN requested by a client");
        self.shutdown.cancel();
    }
}

/// The part of `hot-memory` RocksDB gets for its block cache, with memtables charged to it:
/// `rocksdb.block-cache-size` when set, else a quarter of the budget (at least 8 MiB).
fn rocksdb_share(c: &Config) -> u64 {
    match c.get_u64("rocksdb.block-cache-size") {
        0 => (c.get_u64("hot-memory") / 4).max(8 << 20),
        n => n,
    }
}

/// The memory tier's part of `hot-memory`: what RocksDB's share leaves.
fn hot_share(c: &Config) -> u64 {
    c.get_u64("hot-memory")
        .saturating_sub(rocksdb_share(c))
        .max(1 << 20)
}

fn apply_cap(ks: &Keyspace, c: &Config) {
    let policy = c.get("eviction-policy").parse().unwrap_or_default();
    ks.set_cap(
        c.get_u64("max-data-size"),
        policy,
        c.get_u64("maxmemory-samples") as usize,
    );
}

/// Applies `notify-keyspace-events` and sends the keyspace's own events (expired, evicted,
/// new, keymiss) to PUBLISH. The sink holds the server weakly, so shutdown still drops it.
fn wire_events(shared: &Arc<Shared>) {
    shared.apply(&["notify-keyspace-events"]);
    let weak = Arc::downgrade(shared);
    shared
        .ks
        .events()
        .set_sink(Box::new(move |flags, db, event, key| {
            if let Some(s) = weak.upgrade() {
                strata_commands::notify::publish(&*s, flags, db, event, key);
            }
        }));
}

/// Opens storage as the configuration says.
fn open_storage(c: &Config, activity: Activity) -> Result<Arc<Storage>, String> {
    let mut o = StorageOptions::new(PathBuf::from(c.get("dir")));
    o.activity = activity;
    o.databases = c.get_u64("databases").clamp(1, u64::from(u16::MAX)) as u16;
    o.fsync = c
        .get("appendfsync")
        .parse()
        .unwrap_or(FsyncPolicy::EverySec);
    o.block_cache_bytes = rocksdb_share(c) as usize;
    o.write_buffer_bytes = c.get_u64("rocksdb.write-buffer-size") as usize;
    o.max_background_jobs = c.get_u64("rocksdb.max-background-jobs") as i32;
    o.nice_compactions = c.get("rocksdb.nice-compactions") == "yes";
    o.compression = c
        .get("rocksdb.compression")
        .parse()
        .unwrap_or(o.compression);
    o.bottommost_compression = c
        .get("rocksdb.bottommost-compression")
        .parse()
        .unwrap_or(o.bottommost_compression);
    Storage::open(&o).map_err(|e| format!("cannot open the data dir {}: {e}", o.path.display()))
}

/// Runs the server with `redis-server`-style arguments until it is shut down. Returns the
/// process exit code.
pub fn run(args: Vec<String>) -> i32 {
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n*** FATAL CONFIG FILE ERROR ***\n{e}");
            return 1;
        }
    };
    let logging = match logging::init(&config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot start logging: {e}");
            return 1;
        }
    };
    let threads = match config.get_u64("io-threads") {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get() / 2)
            .max(1),
        n => n as usize,
    };
    let activity = Activity::default();
    let rt = match runtime(threads, &activity) {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return 1;
        }
    };
    match rt.block_on(serve(config, logging, activity)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}

/// The request threads' runtime. The workers report to `activity` when they run out of tasks:
/// the syncer times `always` fsyncs by it.
fn runtime(threads: usize, activity: &Activity) -> std::io::Result<tokio::runtime::Runtime> {
    let (on_park, on_unpark) = (activity.clone(), activity.clone());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .thread_name("strata-worker")
        .on_thread_start(strata_storage::disable_perf_counters)
        .on_thread_park(move || {
            // A group left open on this worker (see `strata_keyspace::Group`) commits before
            // the worker counts as idle, so that an `always` fsync covers it.
            strata_keyspace::commit_worker_group();
            on_park.parked()
        })
        .on_thread_unpark(move || on_unpark.unparked())
        .build()
}

async fn serve(config: Config, logging: logging::Handle, activity: Activity) -> Result<(), String> {
    let started = Instant::now();
    let storage = open_storage(&config, activity)?;
    let ks = Keyspace::new(
        storage.clone(),
        KeyspaceOptions {
            hot_memory: hot_share(&config),
            hot_max_object_size: config.get_u64("hot-max-object-size"),
            hot_idle_seconds: config.get_u64("hot-idle-seconds"),
        },
    );
    apply_cap(&ks, &config);
    let binds: Vec<String> = config
        .get("bind")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let port = config.get_u64("port") as u16;
    let mut listeners = Vec::new();
    for b in &binds {
        let host = b.trim_start_matches('-');
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let l = TcpListener::bind(&addr)
            .await
            .map_err(|e| format!("Could not create server TCP listening socket {addr}: {e}"))?;
        listeners.push(l);
    }
    let bound = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(port, |a| a.port());
    let config_acl = (config.get("requirepass"), config.get("aclfile"));
    let shared = Arc::new(Shared {
        config,
        ks,
        clients: Clients::default(),
        stats: ServerStats::default(),
        shutdown: CancellationToken::new(),
        started,
        port: bound,
        open: AtomicUsize::new(0),
        observe: observe::Observe::default(),
        logging,
        pubsub: pubsub::PubSub::default(),
        acl: new_acl(&config_acl)?,
    });
    shared.apply(&["client-output-buffer-limit"]);
    wire_events(&shared);
    shared.observe.configure(&shared.config);
    tracing::info!(
        port = bound,
        dir = %storage.path().display(),
        keys = (0..shared.ks.databases()).map(|d| shared.ks.dbsize(d)).sum::<u64>(),
        startup_ms = started.elapsed().as_millis() as u64,
        "Ready to accept connections"
    );

    let tracker = TaskTracker::new();
    tasks::spawn_all(&shared, &tracker);
    for l in listeners {
        tracker.spawn(accept_loop(l, shared.clone(), tracker.clone()));
    }
    let sd = shared.shutdown.clone();
    tracker.spawn(async move {
        wait_for_signal(&sd).await;
        sd.cancel();
    });

    shared.shutdown.cancelled().await;
    tracing::info!("shutting down: closing clients");
    shared.clients.kill_all();
    tracker.close();
    if tokio::time::timeout(Duration::from_secs(10), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within 10s");
    }
    let ks = shared.ks.clone();
    drop(shared);
    tokio::task::spawn_blocking(move || ks.storage().shutdown())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("Strata is now ready to exit, bye bye...");
    Ok(())
}

async fn wait_for_signal(stop: &CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            stop.cancelled().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("Received SIGTERM scheduling shutdown..."),
            _ = int.recv() => tracing::info!("Received SIGINT scheduling shutdown..."),
            _ = stop.cancelled() => {}
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = stop.cancelled() => {}
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tracker: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shared.shutdown.cancelled() => return,
        };
        let (sock, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let laddr = sock
            .local_addr()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        tracker.spawn(conn::handle(sock, addr, laddr, shared.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that hands its tasks to another thread to run a command off the runtime
    /// (`conn::off_worker`) stops counting as busy. It never parks as a worker again, so
    /// otherwise the count stayed above zero and every later `always` fsync waited out its cap
    /// (SET under `always` after a few KEYS: 55k -> 37k ops/s).
    #[test]
    fn a_thread_that_ran_a_command_off_the_runtime_does_not_stay_busy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let activity = Activity::default();
        let mut opts = StorageOptions::new(dir.path());
        opts.activity = activity.clone();
        let storage = Storage::open(&opts).expect("open");
        let rt = runtime(1, &activity).expect("runtime");
        let (s, a) = (storage.clone(), activity.clone());
        rt.block_on(async move {
            tokio::spawn(async move {
                // The worker parks, and counts as busy once the timer wakes it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert_eq!(a.busy(), 1);
                // Long enough for the runtime to move the worker to another thread.
                conn::off_worker(&s, || std::thread::sleep(Duration::from_millis(200)))
            })
            .await
            .expect("task");
        });
        // The workers park once they run out of tasks.
        let deadline = Instant::now() + Duration::from_secs(10);
        while activity.busy() > 0 {
            assert!(
                Instant::now() < deadline,
                "{} threads counted busy",
                activity.busy()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(rt);
        storage.shutdown();
    }
}
