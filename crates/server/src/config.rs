//! Configuration: one table of every key the server understands, read from a redis.conf-style
//! file and `--key value` arguments, changed with CONFIG SET and written back by CONFIG REWRITE.
//!
//! Values are kept as their canonical text (memory sizes as byte counts, as CONFIG GET shows
//! them); typed getters parse on read. `redis.conf.example` documents the same table, and a test
//! keeps the two in step.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use strata_commands::glob::glob_match;

/// How a value is checked and normalised.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte size such as `64mb`, shown as a plain number.
    Memory,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `notify-keyspace-events` flags, kept as CONFIG GET prints them.
    Events,
    /// `client-output-buffer-limit`: `<class> <hard> <soft> <seconds>` groups, kept as all three
    /// classes with byte counts.
    OutputLimits,
}

/// One configuration key.
#[derive(Debug)]
pub struct Def {
    /// The canonical name.
    pub name: &'static str,
    /// Other names accepted (and matched by CONFIG GET), e.g. `maxmemory`.
    pub aliases: &'static [&'static str],
    /// Default, as it would be written in the file.
    pub default: &'static str,
    /// Value check.
    pub kind: Kind,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
}

const fn def(name: &'static str, default: &'static str, kind: Kind, mutable: bool) -> Def {
    Def {
        name,
        aliases: &[],
        default,
        kind,
        mutable,
    }
}

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const FSYNC: &[&str] = &["always", "everysec", "no"];
const POLICIES: &[&str] = &[
    "noeviction",
    "optimistic-volatile",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "volatile-lru",
    "allkeys-lru",
];

/// Every key, in the order CONFIG GET * and redis.conf.example list them.
pub static DEFS: &[Def] = &[
    def("bind", "127.0.0.1", Kind::Str, false),
    def("port", "6379", Kind::Int(0, 65535), false),
    def("dir", "./strata-data", Kind::Str, false),
    def("databases", "16", Kind::Int(1, 65535), false),
    def("requirepass", "", Kind::Str, true),
    def("aclfile", "", Kind::Str, false),
    def("protected-mode", "yes", Kind::Bool, true),
    def("maxclients", "10000", Kind::Int(1, 1_000_000), true),
    def("io-threads", "0", Kind::Int(0, 128), false),
    def("timeout", "0", Kind::Int(0, i32::MAX as i64), true),
    def("tcp-keepalive", "300", Kind::Int(0, i32::MAX as i64), true),
    def("appendfsync", "everysec", Kind::Enum(FSYNC), true),
    def("loglevel", "notice", Kind::Enum(LOGLEVELS), true),
    def("logfile", "", Kind::Str, false),
    def("proto-max-bulk-len", "512mb", Kind::Memory, true),
    def("client-query-buffer-limit", "1gb", Kind::Memory, true),
    def(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
        Kind::OutputLimits,
        true,
    ),
    def("hz", "10", Kind::Int(1, 500), true),
    def("notify-keyspace-events", "", Kind::Events, true),
    def("hot-memory", "256mb", Kind::Memory, true),
    def("hot-idle-seconds", "0", Kind::Int(0, i32::MAX as i64), true),
    def("hot-max-object-size", "1mb", Kind::Memory, true),
    def("hot-warmup", "no", Kind::Bool, false),
    Def {
        name: "max-data-size",
        aliases: &["maxmemory"],
        default: "0",
        kind: Kind::Memory,
        mutable: true,
    },
    Def {
        name: "eviction-policy",
        aliases: &["maxmemory-policy"],
        default: "noeviction",
        kind: Kind::Enum(POLICIES),
        mutable: true,
    },
    def("maxmemory-samples", "5", Kind::Int(1, 64), true),
    def(
        "slowlog-log-slower-than",
        "10000",
        Kind::Int(-1, i64::MAX),
        true,
    ),
    def("slowlog-max-len", "128", Kind::Int(0, i64::MAX), true),
    def("latency-tracking", "yes", Kind::Bool, true),
    def(
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        Kind::Str,
        true,
    ),
    def(
        "latency-monitor-threshold",
        "0",
        Kind::Int(0, i64::MAX),
        true,
    ),
    def("rocksdb.block-cache-size", "0", Kind::Memory, false),
    def("rocksdb.write-buffer-size", "8mb", Kind::Memory, false),
    def("rocksdb.max-background-jobs", "2", Kind::Int(1, 64), false),
    def("rocksdb.nice-compactions", "yes", Kind::Bool, false),
    def(
        "rocksdb.compression",
        "lz4",
        Kind::Enum(strata_storage::Compression::NAMES),
        false,
    ),
    def(
        "rocksdb.bottommost-compression",
        "zstd",
        Kind::Enum(strata_storage::Compression::NAMES),
        false,
    ),
    // Read-only answers for tools that ask (redis-benchmark reads both at start).
    def("appendonly", "yes", Kind::Enum(&["yes"]), false),
    def("save", "", Kind::Str, false),
];

/// Finds a key by canonical name or alias, case-insensitively.
pub fn find(name: &str) -> Option<(usize, &'static Def)> {
    let n = name.to_ascii_lowercase();
    DEFS.iter()
        .enumerate()
        .find(|(_, d)| d.name == n || d.aliases.contains(&n.as_str()))
}

/// Parses Redis memory notation: `1gb`, `512mb`, `100k` (k = 1000, kb = 1024, ...).
pub fn parse_memory(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// Checks a value against its key and returns the canonical text.
pub fn normalise(d: &Def, v: &str) -> Result<String, String> {
    match d.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "yes" | "no" => Ok(v.to_ascii_lowercase()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(lo, hi) => match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(format!("argument must be between {lo} and {hi} inclusive")),
            Err(_) => Err("argument couldn't be parsed into an integer".into()),
        },
        Kind::Memory => match parse_memory(v) {
            Some(n) => Ok(n.to_string()),
            None => Err("argument must be a memory value".into()),
        },
        Kind::Enum(words) => {
            let l = v.to_ascii_lowercase();
            if words.contains(&l.as_str()) {
                Ok(l)
            } else {
                Err("argument(s) must be one of the following: ".to_string() + &words.join(", "))
            }
        }
        Kind::Str => Ok(v.to_string()),
        Kind::Events => strata_commands::notify::normalise(v),
        Kind::OutputLimits => crate::pubsub::normalise_output_limits(v),
    }
}

/// The live configuration.
pub struct Config {
    values: RwLock<Vec<String>>,
    /// Bumped by every change, so hot paths can cache what they read (see [`Config::generation`]).
    generation: AtomicU64,
    /// The file it was read from, for CONFIG REWRITE.
    file: Option<PathBuf>,
}

/// Splits a redis.conf line into words, honouring Redis's quoting.
fn words(line: &str) -> Result<Vec<String>, String> {
    let raw = Bytes::copy_from_slice(line.as_bytes());
    strata_resp::split_args(&raw)
        .map(|v| {
            v.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        })
        .map_err(|_| "Unbalanced quotes in configuration line".to_string())
}

impl Config {
    /// Defaults only.
    pub fn defaults() -> Config {
        let values = DEFS
            .iter()
            .map(|d| normalise(d, d.default).unwrap_or_default())
            .collect();
        Config {
            values: RwLock::new(values),
            generation: AtomicU64::new(0),
            file: None,
        }
    }

    /// Builds the configuration from `redis-server`-style arguments: an optional config file
    /// first, then `--key value...` pairs that override it.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut cfg = Config::defaults();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?;
                cfg.load_text(&text)?;
                cfg.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
                rest = &args[1..];
            }
        }
        // `--key v1 v2 --other v` becomes the lines `key v1 v2` and `other v`, as redis-server does.
        let mut i = 0;
        while i < rest.len() {
            let Some(key) = rest[i].strip_prefix("--") else {
                return Err(format!(
                    "Invalid argument '{}': options must start with --",
                    rest[i]
                ));
            };
            let mut vals = Vec::new();
            i += 1;
            while i < rest.len() && !rest[i].starts_with("--") {
                vals.push(rest[i].clone());
                i += 1;
            }
            cfg.set_one(key, &vals.join(" "), true)
                .map_err(|e| format!("Bad directive '--{key}': {e}"))?;
        }
        Ok(cfg)
    }

    fn load_text(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let w = words(line).map_err(|e| format!("config line {}: {e}", n + 1))?;
            let Some((key, vals)) = w.split_first() else {
                continue;
            };
            self.set_one(key, &vals.join(" "), true)
                .map_err(|e| format!("config line {}: '{line}': {e}", n + 1))?;
        }
        Ok(())
    }

    /// `client-output-buffer-limit` changes only the classes it names: the new groups are
    /// appended to the current value (later groups win).
    fn merged(&self, i: usize, d: &Def, value: &str) -> String {
        match d.kind {
            Kind::OutputLimits => format!("{} {value}", self.values.read()[i]),
            _ => value.to_string(),
        }
    }

    /// Sets one key. `at_start` allows keys that cannot change at run time.
    fn set_one(&self, key: &str, value: &str, at_start: bool) -> Result<(), String> {
        let (i, d) = find(key).ok_or_else(|| {
            format!("Bad directive or wrong number of arguments: unknown key '{key}'")
        })?;
        if !at_start && !d.mutable {
            return Err("can't set immutable config".into());
        }
        let v = normalise(d, &self.merged(i, d, value))?;
        self.values.write()[i] = v;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Sets several keys at once: all are checked before any is applied (CONFIG SET).
    pub fn set_many(&self, pairs: &[(String, String)]) -> Result<Vec<&'static str>, String> {
        let mut staged = Vec::new();
        for (k, v) in pairs {
            let Some((i, d)) = find(k) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{k}'"
                ));
            };
            if staged.iter().any(|&(j, _, _)| j == i) {
                return Err(format!("Duplicate parameter - '{k}'"));
            }
            if !d.mutable {
                return Err(format!("CONFIG SET failed (possibly related to argument '{k}') - can't set immutable config"));
            }
            let v = normalise(d, &self.merged(i, d, v)).map_err(|e| {
                format!("CONFIG SET failed (possibly related to argument '{k}') - {e}")
            })?;
            staged.push((i, d.name, v));
        }
        let mut vals = self.values.write();
        self.generation.fetch_add(1, Ordering::Release);
        Ok(staged
            .into_iter()
            .map(|(i, name, v)| {
                vals[i] = v;
                name
            })
            .collect())
    }

    /// `(name, value)` for every key whose name or alias matches the glob.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        let vals = self.values.read();
        let mut out = Vec::new();
        for (i, d) in DEFS.iter().enumerate() {
            for name in std::iter::once(&d.name).chain(d.aliases) {
                if glob_match(pattern, name.as_bytes(), true) {
                    out.push((name.to_string(), vals[i].clone()));
                }
            }
        }
        out
    }

    /// A number that changes whenever any value does: a reader that cached values at one
    /// generation re-reads them when it sees another.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The canonical value of a key.
    pub fn get(&self, name: &str) -> String {
        find(name)
            .map(|(i, _)| self.values.read()[i].clone())
            .unwrap_or_default()
    }

    /// A numeric key (ints and memory sizes).
    pub fn get_u64(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// The config file, if the server was started with one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// CONFIG REWRITE: rewrites the file in place, keeping comments and order, updating the
    /// keys it names, and appending the keys that differ from their defaults.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .file
            .as_ref()
            .ok_or("The server is running without a config file")?;
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let vals = self.values.read();
        let mut written = vec![false; DEFS.len()];
        let mut out = Vec::new();
        for line in old.lines() {
            let key = words(line.trim()).ok().and_then(|w| w.into_iter().next());
            match key
                .filter(|_| !line.trim_start().starts_with('#'))
                .and_then(|k| find(&k))
            {
                Some((i, _)) if written[i] => {}
                Some((i, d)) => {
                    written[i] = true;
                    out.push(format!("{} {}", d.name, quote(&vals[i])));
                }
                None => out.push(line.to_string()),
            }
        }
        for (i, d) in DEFS.iter().enumerate() {
            let default = normalise(d, d.default).unwrap_or_default();
            if !written[i] && vals[i] != default {
                out.push(format!("{} {}", d.name, quote(&vals[i])));
            }
        }
        let tmp = path.with_extension("rewrite.tmp");
        std::fs::write(&tmp, out.join("\n") + "\n")
            .map_err(|e| format!("Rewriting config file: {e}"))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("Rewriting config file: {e}"))
    }
}

/// Quotes a value for the config file when it is empty or has spaces or quotes.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && !v.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags_with_aliases_and_units() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("s.conf");
        std::fs::write(&f, "# c\nport 7000\nmaxmemory 1mb\nrequirepass \"a b\"\n").expect("write");
        let args: Vec<String> = [
            f.to_string_lossy().as_ref(),
            "--port",
            "7001",
            "--maxmemory-policy",
            "allkeys-lru",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = Config::from_args(&args).expect("config");
        assert_eq!(c.get("port"), "7001");
        assert_eq!(c.get("max-data-size"), "1048576");
        assert_eq!(c.get("requirepass"), "a b");
        assert_eq!(c.get("eviction-policy"), "allkeys-lru");
        assert_eq!(c.get_matching(b"maxmemory*").len(), 3);
        assert!(Config::from_args(&["--nope".into(), "1".into()]).is_err());
        assert!(Config::from_args(&["--port".into(), "x".into()]).is_err());
    }

    #[test]
    fn set_many_is_all_or_nothing_and_rewrite_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("s.conf");
        std::fs::write(&f, "# keep me\nport 7000\n").expect("write");
        let c = Config::from_args(&[f.to_string_lossy().into_owned()]).expect("config");
        let bad = c.set_many(&[("timeout".into(), "5".into()), ("port".into(), "1".into())]);
        assert!(bad.is_err());
        assert_eq!(c.get("timeout"), "0");
        c.set_many(&[
            ("timeout".into(), "5".into()),
            ("hot-memory".into(), "2mb".into()),
        ])
        .expect("set");
        c.rewrite().expect("rewrite");
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(text.starts_with("# keep me\nport 7000\n"));
        let again = Config::from_args(&[f.to_string_lossy().into_owned()]).expect("config");
        assert_eq!(
            (again.get("timeout"), again.get("hot-memory")),
            ("5".into(), "2097152".into())
        );
    }

    #[test]
    fn example_file_documents_every_key() {
        let example = include_str!("../../../redis.conf.example");
        for d in DEFS {
            assert!(
                example.lines().any(|l| l
                    .trim_start_matches("# ")
                    .starts_with(&format!("{} ", d.name))),
                "redis.conf.example lacks {}",
                d.name
            );
        }
        let parsed = Config::from_args(&[]).expect("defaults");
        let mut c = Config::defaults();
        c.load_text(example).expect("the example parses");
        for d in DEFS {
            assert_eq!(
                c.get(d.name),
                parsed.get(d.name),
                "example default of {} differs",
                d.name
            );
        }
    }
}
