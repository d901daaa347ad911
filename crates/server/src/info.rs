//! INFO: Redis's sections and field names, plus `tiering`, Strata's own.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::Shared;

/// Sections INFO shows with no argument, in Redis's order.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "keyspace",
    "tiering",
];

/// Sections only INFO `all`, `everything` or their name shows.
const EXTRA: &[&str] = &["commandstats", "errorstats", "latencystats"];

/// Renders the requested sections (`all`, `everything`, `default` or names).
pub fn render(s: &Shared, asked: &[String]) -> String {
    let every = asked.iter().any(|a| a == "all" || a == "everything");
    let wanted: Vec<&str> = if every {
        DEFAULT.iter().chain(EXTRA).copied().collect()
    } else if asked.is_empty() || asked.iter().any(|a| a == "default") {
        DEFAULT.to_vec()
    } else {
        DEFAULT
            .iter()
            .chain(EXTRA)
            .copied()
            .filter(|d| asked.iter().any(|a| a == d))
            .collect()
    };
    let mut out = String::new();
    for name in wanted {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let title = match name {
            "cpu" => "CPU".to_string(),
            "commandstats" => "Commandstats".to_string(),
            "errorstats" => "Errorstats".to_string(),
            "latencystats" => "Latencystats".to_string(),
            n => n[..1].to_ascii_uppercase() + &n[1..],
        };
        let _ = write!(out, "# {title}\r\n");
        section(s, name, &mut out);
    }
    out
}

fn field(out: &mut String, k: &str, v: impl std::fmt::Display) {
    let _ = write!(out, "{k}:{v}\r\n");
}

/// Resident set size from /proc, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn section(s: &Shared, name: &str, out: &mut String) {
    let ks = &s.ks;
    let st = &s.stats;
    match name {
        "server" => {
            let up = s.started.elapsed().as_secs();
            field(out, "redis_version", strata_commands::REDIS_VERSION);
            field(out, "strata_version", env!("CARGO_PKG_VERSION"));
            field(out, "redis_mode", "standalone");
            field(out, "os", std::env::consts::OS);
            field(out, "arch_bits", 64);
            field(out, "process_id", std::process::id());
            field(out, "tcp_port", s.port);
            field(out, "uptime_in_seconds", up);
            field(out, "uptime_in_days", up / 86400);
            field(out, "hz", s.config.get("hz"));
            field(
                out,
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            field(
                out,
                "config_file",
                s.config
                    .file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
        }
        "clients" => {
            field(out, "connected_clients", s.clients.len());
            field(out, "maxclients", s.config.get("maxclients"));
            field(out, "blocked_clients", s.clients.blocked());
        }
        "memory" => {
            let (allocated, resident) = crate::alloc_stats();
            field(out, "used_memory", allocated);
            field(out, "used_memory_rss", rss().max(resident));
            field(out, "maxmemory", s.config.get("max-data-size"));
            field(out, "maxmemory_policy", s.config.get("eviction-policy"));
            field(out, "hot_memory", s.config.get("hot-memory"));
            field(out, "hot_tier_budget", ks.hot().budget());
            field(out, "hot_used_memory", ks.hot().used_bytes());
            field(out, "hot_keys", ks.hot().len());
            field(
                out,
                "rocksdb_block_cache_usage",
                ks.storage().block_cache_usage(),
            );
            field(out, "rocksdb_memtable_usage", ks.storage().memtable_usage());
        }
        "persistence" => {
            field(out, "loading", 0);
            field(out, "async_loading", 0);
            field(out, "rdb_changes_since_last_save", 0);
            field(out, "rdb_bgsave_in_progress", 0);
            field(out, "aof_enabled", 1);
            field(out, "aof_rewrite_in_progress", 0);
            field(out, "appendfsync", ks.storage().fsync_policy().as_str());
            field(out, "wal_fsyncs", ks.storage().fsync_count());
            field(out, "wal_written_batches", ks.storage().written_seq());
            field(
                out,
                "storage_read_only",
                u8::from(ks.storage().read_only_reason().is_some()),
            );
        }
        "stats" => {
            field(
                out,
                "total_connections_received",
                st.connections.load(Ordering::Relaxed),
            );
            field(
                out,
                "total_commands_processed",
                st.commands.load(Ordering::Relaxed),
            );
            field(
                out,
                "total_net_input_bytes",
                st.net_in.load(Ordering::Relaxed),
            );
            field(
                out,
                "total_net_output_bytes",
                st.net_out.load(Ordering::Relaxed),
            );
            field(
                out,
                "rejected_connections",
                st.rejected.load(Ordering::Relaxed),
            );
            field(
                out,
                "expired_keys",
                ks.stats.expired.load(Ordering::Relaxed),
            );
            field(
                out,
                "evicted_keys",
                ks.stats.evicted.load(Ordering::Relaxed),
            );
            field(out, "keyspace_hits", ks.stats.hits.load(Ordering::Relaxed));
            field(
                out,
                "keyspace_misses",
                ks.stats.misses.load(Ordering::Relaxed),
            );
            use strata_commands::SubKind;
            field(out, "pubsub_channels", s.pubsub.count(SubKind::Channel));
            field(out, "pubsub_patterns", s.pubsub.count(SubKind::Pattern));
            field(out, "pubsubshard_channels", s.pubsub.count(SubKind::Shard));
            field(
                out,
                "total_error_replies",
                st.errors.load(Ordering::Relaxed),
            );
        }
        "replication" => {
            field(out, "role", "master");
            field(out, "connected_slaves", 0);
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            field(out, "used_cpu_sys", format!("{sys:.6}"));
            field(out, "used_cpu_user", format!("{user:.6}"));
        }
        "keyspace" => {
            for db in 0..ks.databases() {
                let keys = ks.dbsize(db);
                if keys > 0 {
                    let expires = ks
                        .storage()
                        .phys(db)
                        .map_or(0, |p| ks.storage().volatile_count(p));
                    let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        "tiering" => {
            let hot = ks.hot();
            field(out, "hot_keys", hot.len());
            field(out, "hot_used_memory", hot.used_bytes());
            field(out, "hot_hits", ks.stats.hot_hits.load(Ordering::Relaxed));
            field(
                out,
                "cold_reads",
                ks.stats.cold_reads.load(Ordering::Relaxed),
            );
            field(out, "hot_dropped_keys", hot.dropped.load(Ordering::Relaxed));
            field(out, "hot_complete_dbs", hot.complete_maps());
            field(out, "collection_compactions", ks.collection_compactions());
            field(out, "hot_tier_budget", hot.budget());
            field(out, "hot_idle_seconds", hot.idle_seconds());
            let size: u64 = (0..ks.databases()).map(|d| ks.data_bytes(d)).sum();
            field(out, "logical_data_size", size);
            field(out, "max_data_size", s.config.get("max-data-size"));
            field(out, "eviction_policy", s.config.get("eviction-policy"));
            field(
                out,
                "evicted_keys",
                ks.stats.evicted.load(Ordering::Relaxed),
            );
        }
        "commandstats" => s.observe.commandstats(out),
        "errorstats" => s.observe.errorstats(out),
        "latencystats" => s.observe.latencystats(&s.config, out),
        _ => {}
    }
}

/// User and system CPU seconds of the process, from /proc.
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (get(11), get(12))
}
