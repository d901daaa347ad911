//! Keyspace notifications: a subscriber on `__key*__:*` receives the same events from Strata
//! (warm and cold) as from redis-server for the same commands; `expired` for keys only on disk,
//! `evicted` under the data cap, `new` and `keymiss`, and the flag string through CONFIG.

use std::time::{Duration, Instant};

use crate::util::{have_redis, Client, Raw, Server};

/// A connection subscribed to every keyspace and keyevent channel, and whether the server
/// publishes on both (then the end marker raises two events).
struct Sub(Raw, bool);

/// The end marker: every event list is read up to the events of this key.
const END: &str = "zz-end-of-events";

/// Splits one RESP array of bulk strings into its items.
fn items(reply: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let line = |i: &mut usize| -> String {
        let start = *i;
        while *i + 1 < reply.len() && &reply[*i..*i + 2] != b"\r\n" {
            *i += 1;
        }
        let s = String::from_utf8_lossy(&reply[start..*i]).into_owned();
        *i += 2;
        s
    };
    let head = line(&mut i);
    let n: usize = head.get(1..).and_then(|s| s.parse().ok()).unwrap_or(0);
    for _ in 0..n {
        let h = line(&mut i);
        match h.as_bytes().first() {
            Some(b'$') => {
                let len: usize = h[1..].parse().unwrap_or(0);
                out.push(String::from_utf8_lossy(&reply[i..i + len]).into_owned());
                i += len + 2;
            }
            _ => out.push(h[1..].to_string()),
        }
    }
    out
}

impl Sub {
    fn new(s: &Server) -> Sub {
        let flags = items(&s.raw().cmd(&["CONFIG", "GET", "notify-keyspace-events"]));
        let both = flags
            .get(1)
            .is_some_and(|f| f.contains('K') && f.contains('E'));
        let mut c = s.raw();
        let r = c.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        assert!(String::from_utf8_lossy(&r).contains("psubscribe"), "{r:?}");
        Sub(c, both)
    }

    /// `channel message` lines up to (not including) the end marker's events.
    fn until_end(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let m = items(&self.0.reply());
            assert_eq!(m.first().map(String::as_str), Some("pmessage"), "{m:?}");
            let ev = format!("{} {}", m[2], m[3]);
            if ev.contains(END) {
                // The keyevent half of the marker follows when both are on; read it too.
                if self.1 && ev.starts_with("__keyspace") {
                    let _ = self.0.reply();
                }
                return out;
            }
            out.push(ev);
        }
    }

    /// The next event (the socket's read timeout bounds the wait).
    fn next(&mut self) -> Option<String> {
        let m = items(&self.0.reply());
        (m.len() == 4).then(|| format!("{} {}", m[2], m[3]))
    }
}

/// Runs `cmds` and returns the events they raised (the marker is a SET of [`END`]).
fn events_of(c: &mut Client, marker: &mut Raw, sub: &mut Sub, cmds: &[&[&str]]) -> Vec<String> {
    for cmd in cmds {
        c.cmd(cmd);
    }
    marker.cmd(&["SET", END, "1"]);
    sub.until_end()
}

fn scripts() -> Vec<(&'static str, Vec<&'static [&'static str]>)> {
    vec![
        (
            "strings",
            vec![
                &["SET", "s", "1"],
                &["SET", "s", "2", "EX", "100"],
                &["SETNX", "s", "3"],
                &["SETNX", "s2", "3"],
                &["SETEX", "s3", "100", "v"],
                &["PSETEX", "s3", "100000", "v"],
                &["GETSET", "s", "9"],
                &["MSET", "m1", "a", "m2", "b"],
                &["MSETNX", "m3", "a", "m4", "b"],
                &["MSETNX", "m3", "a", "m5", "b"],
                &["APPEND", "s", "xyz"],
                &["APPEND", "new-app", "xyz"],
                &["SETRANGE", "s", "1", "QQ"],
                &["SETRANGE", "s", "1", ""],
                &["INCR", "n"],
                &["DECR", "n"],
                &["INCRBY", "n", "5"],
                &["DECRBY", "n", "2"],
                &["INCRBYFLOAT", "n", "1.5"],
                &["GETDEL", "m1"],
                &["GETDEL", "m1"],
                &["GETEX", "m2", "EX", "100"],
                &["GETEX", "m2", "PERSIST"],
                &["GETEX", "m2", "PERSIST"],
                &["GETEX", "m2"],
                &["GETEX", "s", "PXAT", "1"],
                &["SET", "s", "x", "KEEPTTL", "GET"],
                &["SET", "s", "x", "NX"],
                &["SET", "s", "x", "XX", "PX", "100000"],
                &["GET", "nope"],
            ],
        ),
        (
            "generic",
            vec![
                &["MSET", "a", "1", "b", "2", "c", "3"],
                &["DEL", "a", "nope", "b"],
                &["UNLINK", "c"],
                &["SET", "k", "v"],
                &["EXPIRE", "k", "100"],
                &["PEXPIRE", "k", "100000"],
                &["EXPIREAT", "k", "99999999999"],
                &["PEXPIREAT", "k", "99999999999000"],
                &["EXPIRE", "k", "100", "NX"],
                &["PERSIST", "k"],
                &["PERSIST", "k"],
                &["EXPIRE", "nope", "100"],
                &["RENAME", "k", "k2"],
                &["SET", "k3", "v"],
                &["RENAME", "k2", "k3"],
                &["RENAMENX", "k3", "k4"],
                &["RENAMENX", "k4", "k4"],
                &["COPY", "k4", "k5"],
                &["COPY", "k4", "k5"],
                &["COPY", "k4", "k5", "REPLACE"],
                &["COPY", "k4", "k5", "DB", "1"],
                &["MOVE", "k5", "2"],
                &["EXPIRE", "k4", "0"],
                &["SET", "k6", "v"],
                &["PEXPIREAT", "k6", "1"],
                &["SORT", "nope", "STORE", "dst"],
            ],
        ),
        (
            "hashes",
            vec![
                &["HSET", "h", "a", "1", "b", "2"],
                &["HSET", "h", "a", "1"],
                &["HMSET", "h", "c", "3"],
                &["HSETNX", "h", "c", "3"],
                &["HSETNX", "h", "d", "4"],
                &["HINCRBY", "h", "n", "2"],
                &["HINCRBYFLOAT", "h", "f", "2.5"],
                &["HDEL", "h", "nope"],
                &["HDEL", "h", "a", "b"],
                &["HDEL", "h", "c", "d", "n", "f"],
                &["HSET", "h2", "a", "1"],
                &["RENAME", "h2", "h3"],
                &["COPY", "h3", "h4"],
            ],
        ),
        (
            "lists",
            vec![
                &["LPUSH", "l", "a", "b"],
                &["RPUSH", "l", "c"],
                &["LPUSHX", "l", "d"],
                &["RPUSHX", "l", "e"],
                &["LPUSHX", "nope", "d"],
                &["LINSERT", "l", "BEFORE", "c", "x"],
                &["LINSERT", "l", "BEFORE", "zz", "x"],
                &["LSET", "l", "0", "y"],
                &["LPOP", "l"],
                &["RPOP", "l", "2"],
                &["LREM", "l", "0", "x"],
                &["LTRIM", "l", "0", "0"],
                &["RPUSH", "l", "1", "2", "3"],
                &["RPOPLPUSH", "l", "l2"],
                &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
                &["LMOVE", "l", "l", "LEFT", "RIGHT"],
                &["LMPOP", "2", "nope", "l", "LEFT", "COUNT", "5"],
                &["LTRIM", "l2", "5", "10"],
                &["RPUSH", "l3", "a", "b"],
                &["LREM", "l3", "0", "a"],
                &["LREM", "l3", "0", "b"],
                &["RPUSH", "l4", "a"],
                &["BLPOP", "l4", "0"],
                &["RPUSH", "l4", "a", "b"],
                &["BRPOP", "l4", "0"],
                &["BLMOVE", "l4", "l5", "RIGHT", "LEFT", "0"],
                &["BRPOPLPUSH", "l5", "l6", "0"],
                &["BLMPOP", "0", "1", "l6", "RIGHT"],
            ],
        ),
        (
            "sets",
            vec![
                &["SADD", "s", "a", "b", "c"],
                &["SADD", "s", "a"],
                &["SREM", "s", "a"],
                &["SREM", "s", "zz"],
                &["SMOVE", "s", "s2", "b"],
                &["SMOVE", "s", "s2", "c"],
                &["SADD", "s", "a", "b"],
                &["SPOP", "s"],
                &["SPOP", "s", "5"],
                &["SADD", "x", "1", "2"],
                &["SADD", "y", "2", "3"],
                &["SINTERSTORE", "d", "x", "y"],
                &["SUNIONSTORE", "d", "x", "y"],
                &["SDIFFSTORE", "d", "x", "y"],
                &["SINTERSTORE", "d", "x", "nope"],
                &["SINTERSTORE", "d", "x", "nope"],
                &["SORT", "x", "STORE", "sorted"],
                &["SORT", "nope", "STORE", "sorted"],
            ],
        ),
        (
            "zsets",
            vec![
                &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
                &["ZADD", "z", "1", "a"],
                &["ZADD", "z", "INCR", "5", "a"],
                &["ZINCRBY", "z", "1", "b"],
                &["ZREM", "z", "a", "nope"],
                &["ZREMRANGEBYSCORE", "z", "0", "3"],
                &["ZREMRANGEBYRANK", "z", "0", "0"],
                &["ZADD", "z", "0", "p", "0", "q", "0", "r", "0", "s"],
                &["ZREMRANGEBYLEX", "z", "[p", "[q"],
                &["ZPOPMIN", "z"],
                &["ZPOPMAX", "z", "5"],
                &["ZADD", "x", "1", "a", "2", "b"],
                &["ZADD", "y", "2", "b", "3", "c"],
                &["ZUNIONSTORE", "d", "2", "x", "y"],
                &["ZINTERSTORE", "d", "2", "x", "y"],
                &["ZDIFFSTORE", "d", "2", "x", "y"],
                &["ZRANGESTORE", "d2", "x", "0", "-1"],
                &["ZINTERSTORE", "d", "2", "x", "nope"],
                &["ZMPOP", "1", "x", "MIN"],
                &["BZPOPMIN", "x", "0"],
                &["ZADD", "x", "1", "a"],
                &["BZPOPMAX", "x", "0"],
                &["ZADD", "x", "1", "a"],
                &["BZMPOP", "0", "1", "x", "MAX"],
            ],
        ),
    ]
}

/// Runs each script on redis-server and on Strata (warm and cold) with `flags` enabled and a
/// subscriber attached; the event lists must be equal, in order.
fn differential(flags: &str, scripts: Vec<(&'static str, Vec<&'static [&'static str]>)>) {
    assert!(have_redis(), "redis-server is not installed");
    let redis = Server::redis();
    let strata = Server::strata(&["--notify-keyspace-events", flags]);
    redis
        .raw()
        .cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]);
    for (family, cmds) in scripts {
        let mut want = None;
        for (name, s, cold) in [
            ("redis", &redis, false),
            ("warm", &strata, false),
            ("cold", &strata, true),
        ] {
            s.raw().cmd(&["FLUSHALL"]);
            let mut sub = Sub::new(s);
            let mut c = s.client(cold);
            let mut marker = s.raw();
            let got = events_of(&mut c, &mut marker, &mut sub, &cmds);
            match &want {
                None => {
                    assert!(!got.is_empty(), "{family}: redis raised no events");
                    want = Some(got);
                }
                Some(w) => {
                    if &got != w {
                        let mut report = String::new();
                        for i in 0..w.len().max(got.len()) {
                            let (a, b) = (w.get(i), got.get(i));
                            let mark = if a == b { " " } else { "!" };
                            report.push_str(&format!("{mark} {a:?}  |  {b:?}\n"));
                        }
                        panic!("{family} ({name}): events differ (redis | strata)\n{report}");
                    }
                }
            }
        }
    }
}

/// The differential: each family's writes raise the same events on Strata (warm and cold) as
/// on redis-server, in the same order.
#[test]
fn events_match_redis_for_every_family() {
    differential("KEA", scripts());
}

/// `n` (new keys) and `m` (key misses on reads, not on writes), against redis-server.
#[test]
fn new_and_keymiss_events_match_redis() {
    let cmds: Vec<&'static [&'static str]> = vec![
        &["GET", "x"],
        &["MGET", "x", "y"],
        &["STRLEN", "x"],
        &["EXISTS", "x"],
        &["TYPE", "x"],
        &["TTL", "x"],
        &["HGET", "x", "f"],
        &["HGETALL", "x"],
        &["LRANGE", "x", "0", "-1"],
        &["LLEN", "x"],
        &["SMEMBERS", "x"],
        &["SCARD", "x"],
        &["ZRANGE", "x", "0", "-1"],
        &["ZSCORE", "x", "a"],
        &["ZCARD", "x"],
        &["ZUNION", "2", "x", "y"],
        &["GETDEL", "x"],
        &["SET", "k", "v"],
        &["SET", "k", "w"],
        &["GET", "k"],
        &["RPUSH", "l", "a", "b"],
        &["RPOPLPUSH", "l", "l2"],
        &["HSET", "h", "a", "1"],
        &["SADD", "s", "a"],
        &["SMOVE", "s", "s2", "a"],
        &["ZADD", "z", "1", "a"],
        &["ZUNIONSTORE", "z2", "1", "z"],
        &["RENAME", "k", "l2"],
        &["SET", "k", "v"],
        &["COPY", "k", "l", "REPLACE"],
        &["MSET", "m1", "a", "k", "b"],
        &["INCR", "cnt"],
        &["SORT", "l", "STORE", "sl"],
        &["DEL", "k"],
    ];
    differential("Enm", vec![("new and keymiss", cmds)]);
    differential(
        "K$m",
        vec![(
            "keymiss and strings, keyspace channels only",
            vec![&["GET", "x"], &["SET", "x", "1"]],
        )],
    );
}

/// Nothing is published when no class is enabled.
#[test]
fn no_events_when_disabled() {
    let s = Server::strata(&[]);
    let mut sub = Sub::new(&s);
    let mut c = s.raw();
    c.cmd(&["GET", "zz"]);
    c.cmd(&["SET", "fresh", "1"]);
    c.cmd(&["DEL", "fresh"]);
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "K$"]);
    c.cmd(&["SET", END, "1"]);
    assert_eq!(sub.until_end(), Vec::<String>::new());
}

/// A key only on disk (memory tier dropped) expires through the active cycle and raises
/// `expired` on both channels.
#[test]
fn expired_event_for_a_key_only_on_disk() {
    let s = Server::strata(&["--notify-keyspace-events", "KEx", "--hz", "50"]);
    let mut c = s.raw();
    let mut sub = Sub::new(&s);
    assert_eq!(c.cmd(&["SET", "gone", "v", "PX", "300"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "stays", "v"]), b"+OK\r\n");
    c.cmd(&["TIER", "DROP"]);
    assert_eq!(c.cmd(&["TIER", "WHERE", "gone"]), b"$4\r\ndisk\r\n");
    let start = Instant::now();
    assert_eq!(sub.next().as_deref(), Some("__keyspace@0__:gone expired"));
    assert_eq!(sub.next().as_deref(), Some("__keyevent@0__:expired gone"));
    assert!(start.elapsed() < Duration::from_secs(10));
    // Nothing was read: the active cycle removed it.
    assert_eq!(c.cmd(&["DBSIZE"]), b":1\r\n");
}

/// Lazy expiry raises `expired` before the command's own events.
#[test]
fn lazy_expiry_raises_expired_first() {
    let s = Server::strata(&["--notify-keyspace-events", "KEA", "--hz", "1"]);
    let mut c = s.client(true);
    let mut sub = Sub::new(&s);
    let mut marker = s.raw();
    c.cmd(&["SET", "k", "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    let got = events_of(&mut c, &mut marker, &mut sub, &[&["SET", "k", "w"]]);
    assert_eq!(
        got,
        [
            "__keyspace@0__:k set",
            "__keyevent@0__:set k",
            "__keyspace@0__:k expire",
            "__keyevent@0__:expire k",
            "__keyspace@0__:k expired",
            "__keyevent@0__:expired k",
            "__keyspace@0__:k set",
            "__keyevent@0__:set k",
        ]
    );
}

/// `evicted` for cold keys removed by the data cap.
#[test]
fn evicted_events_under_the_data_cap() {
    let s = Server::strata(&[
        "--notify-keyspace-events",
        "Ee$",
        "--max-data-size",
        "20000",
        "--eviction-policy",
        "allkeys-random",
    ]);
    let mut c = s.raw();
    let mut sub = Sub::new(&s);
    let v = "x".repeat(1000);
    for i in 0..40 {
        c.cmd(&["TIER", "DROP"]);
        let k = format!("key:{i}");
        assert_eq!(c.cmd(&["SET", &k, &v]), b"+OK\r\n");
    }
    let mut marker = s.raw();
    // Wait for the background pass to settle, then read what it evicted.
    std::thread::sleep(Duration::from_millis(500));
    marker.cmd(&["SET", END, "1"]);
    let got: Vec<String> = sub
        .until_end()
        .into_iter()
        .filter(|e| !e.starts_with("__keyevent@0__:set "))
        .collect();
    assert!(got.len() >= 15, "{got:?}");
    let dbsize: usize = String::from_utf8_lossy(&c.cmd(&["DBSIZE"]))[1..]
        .trim()
        .parse()
        .unwrap_or(0);
    for e in &got {
        let key = e
            .strip_prefix("__keyevent@0__:evicted ")
            .unwrap_or_else(|| panic!("{e}"));
        assert_eq!(c.cmd(&["EXISTS", key]), b":0\r\n", "{key} was evicted");
    }
    // Every key written is either still there or was announced as evicted (the marker too).
    assert_eq!(got.len() + dbsize, 41, "{got:?}");
}

/// CONFIG SET normalises the flag string as Redis prints it, and rejects unknown classes with
/// Redis's text.
#[test]
fn config_set_and_get_the_flag_string() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    for (given, shown) in [
        ("KEA", "AKE"),
        ("KEAn", "AKE"),
        ("Kx", "xK"),
        ("gx$", "g$x"),
        ("Exgl", "glxE"),
        ("AKEm", "AKEm"),
        ("nmE", "nEm"),
        ("", ""),
    ] {
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "notify-keyspace-events", given]),
            b"+OK\r\n"
        );
        let want = format!(
            "*2\r\n$22\r\nnotify-keyspace-events\r\n${}\r\n{shown}\r\n",
            shown.len()
        );
        assert_eq!(
            String::from_utf8_lossy(&c.cmd(&["CONFIG", "GET", "notify-keyspace-events"])),
            want
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEQ"])),
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - \
         Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
    // A bad value at start-up is a fatal config error.
    assert!(std::process::Command::new(crate::util::strata_bin())
        .args(["--notify-keyspace-events", "q", "--port", "0"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(false));
}

/// A blocked BLPOP served by another client's push: the push's event, then the pop's and the
/// `del` of the emptied list, as redis-server orders them.
#[test]
fn blocked_pop_events_follow_the_push() {
    assert!(have_redis(), "redis-server is not installed");
    let redis = Server::redis();
    redis
        .raw()
        .cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let strata = Server::strata(&["--notify-keyspace-events", "KEA"]);
    let mut all = Vec::new();
    for s in [&redis, &strata] {
        let mut sub = Sub::new(s);
        let mut waiter = s.raw();
        waiter.send(&crate::util::encode(&[b"BLPOP", b"q", b"0"]));
        // Let the BLPOP block before the push.
        let start = Instant::now();
        while !String::from_utf8_lossy(&s.raw().cmd(&["CLIENT", "LIST"])).contains("cmd=blpop") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "BLPOP did not block"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut pusher = s.raw();
        assert_eq!(pusher.cmd(&["RPUSH", "q", "a"]), b":1\r\n");
        assert_eq!(waiter.reply(), b"*2\r\n$1\r\nq\r\n$1\r\na\r\n".to_vec());
        pusher.cmd(&["SET", END, "1"]);
        all.push(sub.until_end());
    }
    assert_eq!(
        all[0],
        [
            "__keyspace@0__:q rpush",
            "__keyevent@0__:rpush q",
            "__keyspace@0__:q lpop",
            "__keyevent@0__:lpop q",
            "__keyspace@0__:q del",
            "__keyevent@0__:del q",
        ]
    );
    assert_eq!(all[1], all[0]);
}
