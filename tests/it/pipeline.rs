//! Pipelines whose commands share one storage commit (the keyspace's `Group`): isolation
//! between clients, no deadlock when their groups want each other's keys, exact results.

use std::thread;

use crate::util::{encode, Server};

/// Clients pipeline INCRs of shared counters and MSETs that name the same keys in opposite
/// orders, on two workers, so groups contend for each other's locks. Every increment must
/// count exactly once, every MSET must stay atomic, and nobody may hang.
#[test]
fn contending_pipelines_neither_lose_updates_nor_deadlock() {
    let server = Server::strata(&["--io-threads", "2"]);
    const CLIENTS: usize = 6;
    const ROUNDS: usize = 150;
    thread::scope(|scope| {
        for c in 0..CLIENTS {
            let server = &server;
            scope.spawn(move || {
                let mut conn = server.raw();
                for round in 0..ROUNDS {
                    let mut buf = Vec::new();
                    let mut n = 0;
                    for i in 0..16 {
                        let counter = format!("n{}", (c + round + i) % 3);
                        buf.extend(encode(&[b"INCR", counter.as_bytes()]));
                        n += 1;
                        // The pair is always written together: a reader must never see
                        // halves of two different MSETs.
                        let v = format!("{c}-{round}-{i}");
                        let args: [&[u8]; 5] = if (c + i) % 2 == 0 {
                            [b"MSET", b"x", v.as_bytes(), b"y", v.as_bytes()]
                        } else {
                            [b"MSET", b"y", v.as_bytes(), b"x", v.as_bytes()]
                        };
                        buf.extend(encode(&args));
                        buf.extend(encode(&[b"MGET", b"x", b"y"]));
                        n += 2;
                    }
                    conn.send(&buf);
                    for _ in 0..n {
                        let r = conn.reply();
                        assert!(!r.is_empty(), "connection closed");
                        if r.starts_with(b"*2") {
                            let text = String::from_utf8_lossy(&r).into_owned();
                            let parts: Vec<&str> = text.split("\r\n").collect();
                            assert_eq!(parts[2], parts[4], "MSET seen half-applied: {text:?}");
                        } else {
                            assert!(r.starts_with(b":") || r == b"+OK\r\n", "{r:?}");
                        }
                    }
                }
            });
        }
    });
    let mut c = server.client(false);
    let total: i64 = (0..3)
        .map(|k| {
            let r = c.s(&["GET", &format!("n{k}")]);
            r.lines().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
        })
        .sum();
    assert_eq!(total, (CLIENTS * ROUNDS * 16) as i64);
    assert_eq!(c.s(&["DBSIZE"]), ":5\r\n");
}

/// A command that is not grouped (here DBSIZE, which reads the committed counters, and a
/// list write) sees every write pipelined before it, and a failing command keeps its
/// neighbours' writes.
#[test]
fn a_pipeline_sees_its_own_writes_in_order() {
    for cold in [false, true] {
        let server = Server::strata(&[]);
        let mut c = server.raw();
        if cold {
            c.cmd(&["SET", "pre", "1"]);
            c.cmd(&["TIER", "DROP"]);
        }
        let script: &[&[&str]] = &[
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["LPUSH", "l", "x"],
            &["INCR", "l"],
            &["SET", "b", "2"],
            &["DBSIZE"],
            &["GET", "a"],
            &["DEL", "a", "b"],
            &["EXISTS", "a", "b", "l"],
            &["DBSIZE"],
        ];
        let mut buf = Vec::new();
        for cmd in script {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            buf.extend(encode(&args));
        }
        c.send(&buf);
        let replies: Vec<String> = script
            .iter()
            .map(|_| String::from_utf8_lossy(&c.reply()).into_owned())
            .collect();
        let base = usize::from(cold);
        assert_eq!(
            replies,
            [
                "+OK\r\n".to_string(),
                ":2\r\n".into(),
                ":1\r\n".into(),
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".into(),
                "+OK\r\n".into(),
                format!(":{}\r\n", 3 + base),
                "$1\r\n2\r\n".into(),
                ":2\r\n".into(),
                ":1\r\n".into(),
                format!(":{}\r\n", 1 + base),
            ],
            "cold: {cold}"
        );
    }
}
