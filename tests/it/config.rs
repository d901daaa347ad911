//! Configuration end to end: file plus flags, CONFIG GET/SET/REWRITE, AUTH.

use std::time::{Duration, Instant};

use crate::util::{encode, Server};

#[test]
fn config_file_flags_get_set_and_rewrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("strata.conf");
    std::fs::write(&conf, "# my settings\nhot-memory 64mb\ntimeout 0\n").expect("write");
    let s = Server::strata(&[&conf.to_string_lossy(), "--maxmemory", "10mb"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hot-memory"]),
        b"*2\r\n$10\r\nhot-memory\r\n$8\r\n67108864\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "30", "appendfsync", "always"]),
        b"+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "appendfsync"]),
        b"*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", "1"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "nosuch", "1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    let all = String::from_utf8_lossy(&c.cmd(&["CONFIG", "GET", "*"])).into_owned();
    assert!(all.contains("eviction-policy") && all.contains("maxmemory-policy"));
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&conf).expect("read");
    assert!(text.starts_with("# my settings\n"), "{text}");
    assert!(
        text.contains("timeout 30")
            && text.contains("appendfsync always")
            && text.contains("max-data-size 10485760")
    );
}

#[test]
fn requirepass_and_auth() {
    let s = Server::strata(&["--requirepass", "sekret"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["GET", "a"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "sekret"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), b"$-1\r\n");
    let mut d = s.raw();
    assert_eq!(d.cmd(&["AUTH", "default", "sekret"]), b"+OK\r\n");
    assert_eq!(d.cmd(&["PING"]), b"+PONG\r\n");
}

/// Starting with `args` fails at once, with Redis's FATAL CONFIG message.
fn fails_fast(args: &[&str]) {
    let out = std::process::Command::new(crate::util::strata_bin())
        .args(args)
        .output()
        .expect("run");
    assert!(!out.status.success(), "{args:?} started");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FATAL CONFIG"),
        "{args:?}"
    );
}

#[test]
fn bad_config_fails_fast() {
    fails_fast(&["--port", "notaport"]);
}

/// The compression settings reach RocksDB (its OPTIONS file in the data dir records them for
/// every family), and a compression the build does not offer stops the start.
#[test]
fn rocksdb_compression_settings_reach_the_engine() {
    let mut s = Server::strata(&[
        "--rocksdb.compression",
        "no",
        "--rocksdb.bottommost-compression",
        "LZ4",
    ]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "rocksdb.*compression"]),
        b"*4\r\n$19\r\nrocksdb.compression\r\n$2\r\nno\r\n$30\r\nrocksdb.bottommost-compression\r\n$3\r\nlz4\r\n"
    );
    assert_eq!(c.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    let options = std::fs::read_dir(s.data_dir())
        .expect("data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("OPTIONS-"))
        .max_by_key(|e| e.file_name())
        .map(|e| std::fs::read_to_string(e.path()).expect("read OPTIONS"))
        .expect("an OPTIONS file");
    // Per family (RocksDB's unused "default" family keeps its own defaults).
    let mut family = "";
    let mut seen = Vec::new();
    for l in options.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("[CFOptions \"") {
            family = name.trim_end_matches("\"]");
        } else if l.starts_with('[') {
            family = "";
        } else if !family.is_empty() && family != "default" {
            if let Some(v) = l.strip_prefix("compression=") {
                seen.push((family, "compression", v));
            } else if let Some(v) = l.strip_prefix("bottommost_compression=") {
                seen.push((family, "bottommost", v));
            }
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
    for (family, what, v) in seen {
        let want = match what {
            "compression" => "kNoCompression",
            _ => "kLZ4Compression",
        };
        assert_eq!(v, want, "{what} of {family}");
    }

    fails_fast(&["--rocksdb.compression", "snappy"]);
}

/// RocksDB's compactions run at nice 19 by default (`rocksdb.nice-compactions`), so that one
/// landing during a burst of requests yields the CPU to the connections; with `no` they keep
/// the server's priority. Small memtables make a few megabytes of SETs reach L0's compaction
/// trigger; RocksDB's LOG says when a compaction finished, and /proc gives the nice value of
/// the thread that ran it.
#[test]
fn compactions_run_at_the_lowest_cpu_priority_unless_told_otherwise() {
    for (setting, want) in [("yes", 19), ("no", 0)] {
        let s = Server::strata(&[
            "--rocksdb.write-buffer-size",
            "1mb",
            "--rocksdb.nice-compactions",
            setting,
        ]);
        let mut c = s.raw();
        let value = vec![b'v'; 1000];
        for round in 0..16 {
            let mut buf = Vec::new();
            for i in 0..500 {
                let key = format!("key:{round}:{i}");
                buf.extend(encode(&[b"SET", key.as_bytes(), &value]));
            }
            c.send(&buf);
            for _ in 0..500 {
                assert_eq!(c.reply(), b"+OK\r\n");
            }
        }
        let compacted = || {
            std::fs::read_to_string(s.data_dir().join("LOG"))
                .is_ok_and(|log| log.contains("\"event\": \"compaction_finished\""))
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !compacted() {
            assert!(Instant::now() < deadline, "no compaction ran ({setting})");
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = s.pid().expect("running");
        let mut nice = Vec::new();
        for t in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
            let dir = t.expect("task").path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim() == "rocksdb:low" {
                let stat = std::fs::read_to_string(dir.join("stat")).expect("stat");
                // After the ")" that ends the name: state is field 3, nice field 19.
                let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
                    .split(' ')
                    .collect();
                nice.push(fields[16].parse::<i32>().expect("nice"));
            }
        }
        assert!(!nice.is_empty(), "no compaction thread");
        assert!(nice.iter().all(|&n| n == want), "{setting}: nice {nice:?}");
    }
}
