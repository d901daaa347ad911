//! Durability and restart: acknowledged writes survive `kill -9`, TTLs and exact counters survive
//! restarts, expiry reaches keys that are only on disk, and shutdown is clean.

use std::time::{Duration, Instant};

use crate::util::Server;

fn info_field(s: &Server, section: &str, field: &str) -> String {
    let raw = s.raw().cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {text}"))
}

#[test]
fn acknowledged_writes_survive_kill9_under_always() {
    let mut s = Server::strata(&["--appendfsync", "always"]);
    let port = s.port;
    let writers: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = crate::util::Raw::try_connect(port).expect("connect");
                let mut acked = Vec::new();
                for i in 0..300 {
                    let k = format!("w{t}:{i}");
                    assert_eq!(c.cmd(&["SET", &k, &i.to_string()]), b"+OK\r\n");
                    acked.push(k);
                }
                acked
            })
        })
        .collect();
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|h| h.join().expect("writer"))
        .collect();
    let fsyncs: u64 = info_field(&s, "persistence", "wal_fsyncs")
        .parse()
        .expect("number");
    assert!(
        fsyncs > 0 && fsyncs <= acked.len() as u64 + 10,
        "group commit: {fsyncs} fsyncs for {} writes",
        acked.len()
    );
    s.kill9();
    s.restart();
    let mut c = s.raw();
    for k in &acked {
        assert_ne!(c.cmd(&["GET", k]), b"$-1\r\n", "{k} lost after kill -9");
    }
    assert_eq!(
        c.cmd(&["DBSIZE"]),
        format!(":{}\r\n", acked.len()).into_bytes()
    );
}

/// The WAL is written to the OS once per reply batch, not per commit: a reply must still never
/// leave before its write, so a process killed right after its last reply loses nothing.
#[test]
fn acknowledged_writes_survive_an_immediate_kill9_under_everysec_and_no() {
    for policy in ["everysec", "no"] {
        let mut s = Server::strata(&["--appendfsync", policy]);
        let port = s.port;
        let writers: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut c = crate::util::Raw::try_connect(port).expect("connect");
                    for i in 0..300 {
                        let k = format!("w{t}:{i}");
                        assert_eq!(c.cmd(&["SET", &k, "v"]), b"+OK\r\n");
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|h| h.join().expect("writer"));
        // A pipeline: one reply batch for many writes.
        let mut c = s.raw();
        let batch: Vec<u8> = (0..200)
            .flat_map(|i| crate::util::encode(&[b"SET", format!("p{i}").as_bytes(), b"v"]))
            .collect();
        c.send(&batch);
        for _ in 0..200 {
            assert_eq!(c.reply(), b"+OK\r\n", "{policy}");
        }
        s.kill9();
        s.restart();
        assert_eq!(s.raw().cmd(&["DBSIZE"]), b":1400\r\n", "{policy}");
    }
}

#[test]
fn everysec_loses_at_most_about_a_second() {
    let mut s = Server::strata(&["--appendfsync", "everysec"]);
    let mut c = s.raw();
    for i in 0..500 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), b"+OK\r\n");
    }
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    s.restart();
    assert_eq!(s.raw().cmd(&["DBSIZE"]), b":500\r\n");
}

#[test]
fn data_ttls_and_counters_survive_clean_and_hard_restarts() {
    let mut s = Server::strata(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "plain", "12345"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "ttl", "x", "EX", "1000"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "other", "y"]), b"+OK\r\n");
    let size = info_field(&s, "tiering", "logical_data_size");
    assert_eq!(size, (5 + 5 + 3 + 1 + 5 + 1).to_string());
    for hard in [false, true] {
        if hard {
            std::thread::sleep(Duration::from_millis(1200));
            s.kill9();
        }
        s.restart();
        let mut c = s.raw();
        assert_eq!(c.cmd(&["GET", "plain"]), b"$5\r\n12345\r\n");
        let ttl = String::from_utf8_lossy(&c.cmd(&["TTL", "ttl"])).into_owned();
        let ttl: i64 = ttl.trim().trim_start_matches(':').parse().expect("ttl");
        assert!((990..=1000).contains(&ttl), "ttl {ttl}");
        assert_eq!(c.cmd(&["DBSIZE"]), b":2\r\n");
        assert_eq!(info_field(&s, "tiering", "logical_data_size"), size);
        assert!(info_field(&s, "keyspace", "db3").starts_with("keys=1,expires=0"));
        assert!(info_field(&s, "keyspace", "db0").starts_with("keys=2,expires=1"));
    }
}

#[test]
fn keys_expire_on_disk_without_being_touched() {
    let mut s = Server::strata(&[]);
    let mut c = s.raw();
    for i in 0..50 {
        assert_eq!(
            c.cmd(&["SET", &format!("e{i}"), "v", "PX", "300"]),
            b"+OK\r\n"
        );
    }
    assert_eq!(c.cmd(&["SET", "keep", "v"]), b"+OK\r\n");
    s.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = s.raw();
    while c.cmd(&["DBSIZE"]) != b":1\r\n" {
        assert!(
            Instant::now() < deadline,
            "active expiry did not reach disk-only keys"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        info_field(&s, "stats", "expired_keys")
            .parse::<u64>()
            .expect("n")
            >= 50
    );
}

#[test]
fn shutdown_and_sigterm_stop_cleanly_and_keep_data() {
    let mut s = Server::strata(&[]);
    assert_eq!(s.raw().cmd(&["SET", "a", "1"]), b"+OK\r\n");
    let mut c = s.raw();
    c.send(&crate::util::encode(&[b"SHUTDOWN"]));
    assert!(c.closed(), "SHUTDOWN closes without a reply");
    assert!(s.wait_exit().success());
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "a"]), b"$1\r\n1\r\n");
    assert!(s.stop().success());
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "a"]), b"$1\r\n1\r\n");
}

#[test]
fn startup_does_not_load_the_data_set() {
    let mut s = Server::strata(&[]);
    let mut c = s.raw();
    let mut req = Vec::new();
    for i in 0..20_000 {
        req.extend(crate::util::encode(&[
            b"SET",
            format!("key:{i}").as_bytes(),
            &[b'x'; 100],
        ]));
    }
    c.send(&req);
    for _ in 0..20_000 {
        assert_eq!(c.reply(), b"+OK\r\n");
    }
    s.restart();
    assert_eq!(
        info_field(&s, "tiering", "hot_keys"),
        "0",
        "nothing is loaded at start"
    );
    assert_eq!(s.raw().cmd(&["DBSIZE"]), b":20000\r\n");
    assert_eq!(s.raw().cmd(&["TIER", "WHERE", "key:7"]), b"$4\r\ndisk\r\n");
    assert_eq!(s.raw().cmd(&["GET", "key:7"]).len(), 108);
    assert_eq!(
        s.raw().cmd(&["TIER", "WHERE", "key:7"]),
        b"$6\r\nmemory\r\n"
    );
}

/// WAL files are reused once obsolete. A reused file still holds old records past the new ones;
/// after a crash, recovery must stop at them: no overwritten value or deleted key comes back,
/// and every acknowledged write is there.
#[test]
fn a_crash_after_wal_files_were_reused_brings_back_nothing_old() {
    let mut s = Server::strata(&[
        "--appendfsync",
        "always",
        "--rocksdb.write-buffer-size",
        "256kb",
    ]);
    let mut c = s.raw();
    let keys = 6000;
    let pad = "x".repeat(100);
    let pipeline = |c: &mut crate::util::Raw, reqs: Vec<Vec<u8>>, want: &[u8]| {
        for chunk in reqs.chunks(100) {
            c.send(&chunk.concat());
            for _ in chunk {
                assert_eq!(c.reply(), want);
            }
        }
    };
    let sets = |tag: &str| -> Vec<Vec<u8>> {
        (0..keys)
            .map(|i| {
                let (k, v) = (format!("k{i}"), format!("{tag}-{i}-{pad}"));
                crate::util::encode(&[b"SET", k.as_bytes(), v.as_bytes()])
            })
            .collect()
    };
    pipeline(&mut c, sets("old"), b"+OK\r\n");
    pipeline(&mut c, sets("new"), b"+OK\r\n");
    let dels: Vec<Vec<u8>> = (0..keys)
        .step_by(10)
        .map(|i| crate::util::encode(&[b"DEL", format!("k{i}").as_bytes()]))
        .collect();
    pipeline(&mut c, dels, b":1\r\n");
    // The WAL files of the first rounds were flushed, then taken for reuse.
    let log = std::fs::read_to_string(s.data_dir().join("LOG")).expect("RocksDB's LOG");
    assert!(log.contains("to recycle list"), "no WAL file was recycled");
    pipeline(
        &mut c,
        sets("newer").into_iter().skip(1).step_by(10).collect(),
        b"+OK\r\n",
    );
    s.kill9();
    s.restart();
    let mut c = s.raw();
    let mut live = 0;
    for i in 0..keys {
        let got = c.cmd(&["GET", &format!("k{i}")]);
        let want = match i % 10 {
            0 => None,
            1 => Some(format!("newer-{i}-{pad}")),
            _ => Some(format!("new-{i}-{pad}")),
        };
        match want {
            None => assert_eq!(got, b"$-1\r\n", "k{i} came back after its DEL"),
            Some(v) => {
                live += 1;
                let body = String::from_utf8_lossy(&got).into_owned();
                assert!(body.ends_with(&format!("{v}\r\n")), "k{i}: {body}");
            }
        }
    }
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{live}\r\n").into_bytes());
}
