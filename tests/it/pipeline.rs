//! Pipelines whose commands share one storage commit (the keyspace's `Group`): isolation
//! between clients, no deadlock when their groups want each other's keys, exact results. Also
//! the group a worker leaves open for the next connections' commands: single commands of many
//! clients share a write, acknowledged only once it is written, and a command that is not
//! grouped never waits on it.

use std::thread;

use crate::util::{encode, Raw, Server};

/// The text of a bulk-string reply; None for anything else.
fn bulk_text(reply: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(reply);
    text.starts_with('$')
        .then(|| text.lines().nth(1).map(str::to_string))
        .flatten()
}

fn wal_batches(server: &Server) -> u64 {
    let info = String::from_utf8_lossy(&server.raw().cmd(&["INFO", "persistence"])).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("wal_written_batches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no wal_written_batches in {info}"))
}

/// Twenty clients send one SET each at the same moment, fifty times: the worker finds several
/// ready at once, and their commands share storage writes (one write per command without the
/// worker's open group). Every acknowledged value is there, and still there after `kill -9`.
#[test]
fn single_commands_of_many_clients_share_writes_and_survive_a_crash() {
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 50;
    for cold in [false, true] {
        let mut server = Server::strata(&[]);
        let mut admin = server.raw();
        let mut conns: Vec<Raw> = (0..CLIENTS).map(|_| server.raw()).collect();
        let before = wal_batches(&server);
        for round in 0..ROUNDS {
            if cold {
                assert_eq!(admin.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
            }
            for (i, c) in conns.iter_mut().enumerate() {
                let (k, v) = (format!("k{i}"), format!("{round}"));
                c.send(&encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
            }
            for c in &mut conns {
                assert_eq!(c.reply(), b"+OK\r\n");
            }
        }
        let writes = wal_batches(&server) - before - u64::from(cold) * ROUNDS as u64;
        let commands = (CLIENTS * ROUNDS) as u64;
        assert!(
            writes < commands * 9 / 10,
            "{writes} storage writes for {commands} SETs (cold: {cold})"
        );
        server.kill9();
        server.restart();
        let mut c = server.raw();
        for i in 0..CLIENTS {
            let want = format!("${}\r\n{}\r\n", (ROUNDS - 1).to_string().len(), ROUNDS - 1);
            let got = c.cmd(&["GET", &format!("k{i}")]);
            assert_eq!(String::from_utf8_lossy(&got), want, "k{i} after kill -9");
        }
    }
}

/// Clients INCR shared counters one command at a time (grouped, so the worker may hold the
/// counters' locks in its open group) while others run commands on the same keys that are not
/// grouped: a list write (LPUSHX: WRONGTYPE or nothing, after taking the key's lock) and
/// MULTI/EXEC (which holds
/// the whole keyspace). On one worker a wait for the open group's lock could never end; the
/// waiter commits it first. Every increment counts once, and nobody hangs.
#[test]
fn commands_that_are_not_grouped_never_wait_on_an_open_group() {
    for threads in ["1", "2"] {
        let server = Server::strata(&["--io-threads", threads]);
        const INCRS: usize = 300;
        let exec_incrs = thread::scope(|scope| {
            let server = &server;
            for w in 0..4 {
                scope.spawn(move || {
                    let mut c = server.raw();
                    for i in 0..INCRS {
                        let k = format!("c{}", (w + i) % 3);
                        let r = c.cmd(&["INCR", &k]);
                        assert!(r.starts_with(b":"), "INCR: {r:?}");
                    }
                });
            }
            let mixers: Vec<_> = (0..2)
                .map(|m| {
                    scope.spawn(move || {
                        let mut c = server.raw();
                        let mut execs = 0;
                        for i in 0..100 {
                            let k = format!("c{}", (m + i) % 3);
                            let r = c.cmd(&["LPUSHX", &k, "x"]);
                            assert!(r.starts_with(b"-WRONGTYPE") || r == b":0\r\n", "{r:?}");
                            assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
                            assert_eq!(c.cmd(&["INCR", &k]), b"+QUEUED\r\n");
                            let r = c.cmd(&["EXEC"]);
                            assert!(r.starts_with(b"*1\r\n:"), "EXEC: {r:?}");
                            execs += 1;
                        }
                        execs
                    })
                })
                .collect();
            mixers
                .into_iter()
                .map(|h| h.join().expect("mixer"))
                .sum::<usize>()
        });
        let mut c = server.raw();
        let total: i64 = (0..3)
            .map(|k| {
                let r = String::from_utf8_lossy(&c.cmd(&["GET", &format!("c{k}")])).into_owned();
                r.lines().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
            })
            .sum();
        assert_eq!(
            total,
            (4 * INCRS + exec_incrs) as i64,
            "io-threads {threads}"
        );
    }
}

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

/// GETs and MGETs answered from memory without a transaction still never see half of an MSET:
/// a reader that saw one key's new value must see the other's when it reads it next, and one
/// MGET sees one MSET's values only.
#[test]
fn reads_from_memory_never_see_half_of_a_multi_key_write() {
    let server = Server::strata(&["--io-threads", "2"]);
    const WRITES: i64 = 10000;
    const WIDE: usize = 40;
    thread::scope(|scope| {
        let server = &server;
        scope.spawn(move || {
            let mut conn = server.raw();
            for i in 1..=WRITES {
                let v = i.to_string();
                let args: [&str; 5] = if i % 2 == 0 {
                    ["MSET", "x", &v, "y", &v]
                } else {
                    ["MSET", "y", &v, "x", &v]
                };
                assert_eq!(conn.cmd(&args), b"+OK\r\n");
            }
        });
        // Wide MSETs for the MGET reader below, so that its reads overlap their memory updates.
        scope.spawn(move || {
            let mut conn = server.raw();
            for i in 1..=WRITES / 4 {
                let v = i.to_string();
                let mut args = vec!["MSET".to_string()];
                for k in 0..WIDE {
                    let k = if i % 2 == 0 { k } else { WIDE - 1 - k };
                    args.extend([format!("m{k}"), v.clone()]);
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                assert_eq!(conn.cmd(&args), b"+OK\r\n");
            }
        });
        for r in 0..2 {
            scope.spawn(move || {
                let mut conn = server.raw();
                let (first, second) = if r == 0 { ("x", "y") } else { ("y", "x") };
                let value = |reply: Vec<u8>| -> i64 {
                    let text = String::from_utf8_lossy(&reply).into_owned();
                    text.lines()
                        .nth(1)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                loop {
                    let mut buf = encode(&[b"GET", first.as_bytes()]);
                    buf.extend(encode(&[b"GET", second.as_bytes()]));
                    conn.send(&buf);
                    let (a, b) = (value(conn.reply()), value(conn.reply()));
                    assert!(
                        b >= a,
                        "{first}={a} then {second}={b}: an MSET seen half-applied"
                    );
                    if a == WRITES {
                        break;
                    }
                }
            });
        }
        // MGET takes every key's stripe at once: all its values come from one MSET.
        scope.spawn(move || {
            let mut conn = server.raw();
            let keys: Vec<String> = (0..WIDE).map(|k| format!("m{k}")).collect();
            let mut args = vec!["MGET"];
            args.extend(keys.iter().map(String::as_str));
            loop {
                let r = conn.cmd(&args);
                let text = String::from_utf8_lossy(&r).into_owned();
                // Values, or "$-1" for nil: each bulk's header line is followed by its value.
                let mut lines = text.split("\r\n").skip(1);
                let mut values = Vec::new();
                while let Some(head) = lines.next().filter(|l| !l.is_empty()) {
                    values.push(if head == "$-1" {
                        head
                    } else {
                        lines.next().unwrap_or("")
                    });
                }
                assert_eq!(values.len(), WIDE, "{text:?}");
                assert!(
                    values.iter().all(|v| *v == values[0]),
                    "MSET seen half-applied: {text:?}"
                );
                if values[0] == (WRITES / 4).to_string() {
                    break;
                }
            }
        });
    });
}

/// Clients draining one set with pipelined SPOPs (some with a count) at once, while others add
/// to it: their pops share writes within and across connections, and every member comes out
/// exactly once, none that was never added (warm and cold).
#[test]
fn concurrent_pipelined_spops_pop_every_member_once() {
    const MEMBERS: usize = 3000;
    const ADDERS: usize = 2;
    const ADDED: usize = 500;
    for cold in [false, true] {
        let server = Server::strata(&[]);
        let mut c = server.redis_conn();
        let members: Vec<String> = (0..MEMBERS).map(|i| format!("m:{i}")).collect();
        let _: () = redis::cmd("SADD")
            .arg("s")
            .arg(&members)
            .query(&mut c)
            .expect("SADD");
        if cold {
            let _: i64 = redis::cmd("TIER").arg("DROP").query(&mut c).expect("drop");
        }
        let adders: Vec<_> = (0..ADDERS)
            .map(|a| {
                let mut c = server.redis_conn();
                thread::spawn(move || {
                    for chunk in (0..ADDED).collect::<Vec<_>>().chunks(25) {
                        let mut p = redis::pipe();
                        for i in chunk {
                            p.cmd("SADD").arg("s").arg(format!("a{a}:{i}")).ignore();
                        }
                        let _: () = p.query(&mut c).expect("SADD pipeline");
                    }
                })
            })
            .collect();
        let poppers: Vec<_> = (0..4)
            .map(|_| {
                let mut c = server.redis_conn();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let mut p = redis::pipe();
                        for _ in 0..20 {
                            p.cmd("SPOP").arg("s");
                        }
                        p.cmd("SPOP").arg("s").arg(3);
                        let (singles, counted): (Vec<Option<String>>, Vec<String>) = {
                            let mut r: Vec<redis::Value> = p.query(&mut c).expect("SPOP pipeline");
                            let last = r.pop().expect("the counted pop");
                            let counted = redis::from_redis_value(last).expect("array");
                            let singles = r
                                .into_iter()
                                .map(|v| redis::from_redis_value(v).expect("bulk or nil"))
                                .collect();
                            (singles, counted)
                        };
                        let before = got.len();
                        got.extend(singles.into_iter().flatten());
                        got.extend(counted);
                        if got.len() == before {
                            return got;
                        }
                    }
                })
            })
            .collect();
        for a in adders {
            a.join().expect("adder");
        }
        let mut popped: Vec<String> = Vec::new();
        for p in poppers {
            popped.extend(p.join().expect("popper"));
        }
        // Members added after the poppers stopped are still in the set.
        let rest: Vec<String> = redis::cmd("SMEMBERS")
            .arg("s")
            .query(&mut c)
            .expect("SMEMBERS");
        popped.extend(rest);
        let mut expected: Vec<String> = members;
        for a in 0..ADDERS {
            expected.extend((0..ADDED).map(|i| format!("a{a}:{i}")));
        }
        expected.sort();
        popped.sort();
        assert_eq!(
            popped.len(),
            expected.len(),
            "members lost or popped twice (cold: {cold})"
        );
        assert_eq!(popped, expected, "cold: {cold}");
    }
}

/// Collection commands share writes too, and read what their group staged: pipelined SREMs
/// then SPOPs, sharing a few writes, never pop a removed or already popped member, and end with
/// nil at the last one; SPOPs after SADDs in the same pipeline pop the members staged before
/// them too (warm and cold). Clients pushing and popping one list one command at a time, many
/// per write, neither lose nor duplicate an element.
#[test]
fn grouped_collection_commands_read_what_their_group_staged() {
    for cold in [false, true] {
        let server = Server::strata(&[]);
        let mut c = server.raw();
        let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["SADD", "s"];
        sadd.extend(members.iter().map(String::as_str));
        assert_eq!(c.cmd(&sadd), b":200\r\n");
        if cold {
            assert_eq!(c.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
        }
        let mut buf = Vec::new();
        for m in &members[..100] {
            buf.extend(encode(&[b"SREM", b"s", m.as_bytes()]));
        }
        for _ in 0..101 {
            buf.extend(encode(&[b"SPOP", b"s"]));
        }
        buf.extend(encode(&[b"SCARD", b"s"]));
        let writes_before = wal_batches(&server);
        c.send(&buf);
        for _ in 0..100 {
            assert_eq!(c.reply(), b":1\r\n");
        }
        let mut popped = std::collections::BTreeSet::new();
        for i in 0..100 {
            let r = c.reply();
            let m = bulk_text(&r).unwrap_or_else(|| panic!("pop {i}: {r:?}"));
            let n: usize = m[1..].parse().expect("member");
            assert!(n >= 100, "{m} was removed before (cold: {cold})");
            assert!(popped.insert(m.clone()), "{m} popped twice (cold: {cold})");
        }
        assert_eq!(c.reply(), b"$-1\r\n", "a pop past the last member");
        assert_eq!(c.reply(), b":0\r\n");
        let writes = wal_batches(&server) - writes_before;
        assert!(writes < 50, "{writes} storage writes for 201 commands");

        // Members added earlier in the pipeline are popped as well (with one stored member).
        assert_eq!(c.cmd(&["SADD", "t", "stored"]), b":1\r\n");
        if cold {
            assert_eq!(c.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
        }
        let added: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
        let mut buf = Vec::new();
        for m in &added {
            buf.extend(encode(&[b"SADD", b"t", m.as_bytes()]));
        }
        for _ in 0..42 {
            buf.extend(encode(&[b"SPOP", b"t"]));
        }
        c.send(&buf);
        for _ in &added {
            assert_eq!(c.reply(), b":1\r\n");
        }
        let mut popped = std::collections::BTreeSet::new();
        for i in 0..41 {
            let r = c.reply();
            let m = bulk_text(&r).unwrap_or_else(|| panic!("pop {i}: {r:?}"));
            assert!(popped.insert(m.clone()), "{m} popped twice (cold: {cold})");
        }
        assert_eq!(c.reply(), b"$-1\r\n", "a pop past the last member");
        assert!(
            popped.remove("stored"),
            "the stored member was never popped"
        );
        assert_eq!(popped, added.into_iter().collect(), "cold: {cold}");
    }

    let server = Server::strata(&[]);
    const CLIENTS: usize = 10;
    const ROUNDS: usize = 100;
    let writes_before = wal_batches(&server);
    let mut conns: Vec<Raw> = (0..CLIENTS).map(|_| server.raw()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..ROUNDS {
        // Every client pushes two elements and pops one, each at the same moment as the others.
        for (i, c) in conns.iter_mut().enumerate() {
            let (a, b) = (format!("{round}-{i}-a"), format!("{round}-{i}-b"));
            c.send(&encode(&[b"RPUSH", b"l", a.as_bytes(), b.as_bytes()]));
        }
        for c in &mut conns {
            assert!(c.reply().starts_with(b":"));
        }
        for c in conns.iter_mut() {
            c.send(&encode(&[b"LPOP", b"l"]));
        }
        for c in &mut conns {
            let r = c.reply();
            let v = bulk_text(&r).unwrap_or_else(|| panic!("LPOP: {r:?}"));
            assert!(seen.insert(v.clone()), "{v} popped twice");
        }
    }
    let writes = wal_batches(&server) - writes_before;
    assert!(
        writes < (CLIENTS * ROUNDS * 2) as u64 * 9 / 10,
        "{writes} storage writes for {} list commands",
        CLIENTS * ROUNDS * 2
    );
    let mut c = server.raw();
    let text = String::from_utf8_lossy(&c.cmd(&["LRANGE", "l", "0", "-1"])).into_owned();
    // `*N`, then `$len` and the value for each element.
    let values: Vec<&str> = text.lines().skip(2).step_by(2).collect();
    assert_eq!(
        values.len() + seen.len(),
        CLIENTS * ROUNDS * 2,
        "elements lost or made up"
    );
    for v in values {
        assert!(!seen.contains(v), "{v} both popped and still in the list");
    }
}

/// A pipeline that rewrites a few keys and elements over and over (their storage writes then
/// carry one record per key and per replaced element, the last state) leaves every key's last
/// state, with the key count, the expiry index and the score index exact, also after `kill -9`.
#[test]
fn keys_a_pipeline_rewrites_keep_their_last_state_through_a_crash() {
    for cold in [false, true] {
        let mut server = Server::strata(&[]);
        let mut c = server.raw();
        assert_eq!(c.cmd(&["SET", "n", "10"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["SET", "s", "x", "EX", "1000"]), b"+OK\r\n");
        if cold {
            assert_eq!(c.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
        }
        let mut buf = Vec::new();
        for i in 0..50 {
            let v = i.to_string();
            buf.extend(encode(&[b"INCR", b"n"]));
            buf.extend(encode(&[b"HINCRBY", b"h", b"f", b"2"]));
            buf.extend(encode(&[b"ZINCRBY", b"z", b"1.5", b"m"]));
            buf.extend(encode(&[b"RPUSH", b"l", v.as_bytes()]));
            if i % 2 == 0 {
                buf.extend(encode(&[b"SET", b"s", v.as_bytes(), b"EX", b"1000"]));
            } else {
                buf.extend(encode(&[b"SET", b"s", v.as_bytes()]));
            }
        }
        buf.extend(encode(&[b"EXPIRE", b"n", b"5000"]));
        c.send(&buf);
        for _ in 0..251 {
            let r = c.reply();
            assert!(matches!(r.first(), Some(b':' | b'+' | b'$')), "{r:?}");
        }
        server.kill9();
        server.restart();
        let mut c = server.raw();
        assert_eq!(c.cmd(&["GET", "n"]), b"$2\r\n60\r\n", "cold: {cold}");
        assert_eq!(c.cmd(&["HGET", "h", "f"]), b"$3\r\n100\r\n");
        assert_eq!(c.cmd(&["LLEN", "l"]), b":50\r\n");
        assert_eq!(c.cmd(&["LINDEX", "l", "-1"]), b"$2\r\n49\r\n");
        assert_eq!(c.cmd(&["GET", "s"]), b"$2\r\n49\r\n");
        assert_eq!(c.cmd(&["TTL", "s"]), b":-1\r\n");
        // The score index moved with each increment: one entry, at the last score.
        assert_eq!(
            c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"]),
            b"*2\r\n$1\r\nm\r\n$2\r\n75\r\n"
        );
        assert_eq!(c.cmd(&["ZSCORE", "z", "m"]), b"$2\r\n75\r\n");
        assert_eq!(c.cmd(&["DBSIZE"]), b":5\r\n");
        let info = String::from_utf8_lossy(&c.cmd(&["INFO", "keyspace"])).into_owned();
        assert!(info.contains("db0:keys=5,expires=1,"), "{info}");
    }
}

/// Runs of LPOPs and RPOPs in pipelines (which read the items ahead of them once per run),
/// mixed with pushes at both ends, LINDEX and LLEN, on a long list and a short one that drains,
/// give the replies of a model, warm and cold.
#[test]
fn runs_of_pops_in_pipelines_match_a_model() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::VecDeque;

    let bulk = |v: Option<&String>| match v {
        Some(v) => format!("${}\r\n{v}\r\n", v.len()),
        None => "$-1\r\n".to_string(),
    };
    for cold in [false, true] {
        let server = Server::strata(&[]);
        let mut c = server.raw();
        let mut rng = StdRng::seed_from_u64(7);
        let mut lists: [VecDeque<String>; 2] = [
            (0..200).map(|i| format!("i{i}")).collect(),
            (0..3).map(|i| format!("s{i}")).collect(),
        ];
        for (name, items) in ["q", "short"].iter().zip(&lists) {
            let mut args = vec!["RPUSH", name];
            args.extend(items.iter().map(String::as_str));
            assert_eq!(c.cmd(&args), format!(":{}\r\n", items.len()).into_bytes());
        }
        let mut fresh = 0;
        for batch in 0..8 {
            if cold {
                assert_eq!(c.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
            }
            let mut buf = Vec::new();
            let mut want = Vec::new();
            for _ in 0..60 {
                let (l, name) = if rng.random_range(0..10) == 0 {
                    (1, "short")
                } else {
                    (0, "q")
                };
                let model = &mut lists[l];
                match rng.random_range(0..20) {
                    0..=6 => {
                        buf.extend(encode(&[b"LPOP", name.as_bytes()]));
                        want.push(bulk(model.pop_front().as_ref()));
                    }
                    7..=13 => {
                        buf.extend(encode(&[b"RPOP", name.as_bytes()]));
                        want.push(bulk(model.pop_back().as_ref()));
                    }
                    14 | 15 => {
                        fresh += 1;
                        let v = format!("n{fresh}");
                        let left = rng.random_range(0..2) == 0;
                        let cmd: &[u8] = if left { b"LPUSH" } else { b"RPUSH" };
                        buf.extend(encode(&[cmd, name.as_bytes(), v.as_bytes()]));
                        if left {
                            model.push_front(v);
                        } else {
                            model.push_back(v);
                        }
                        want.push(format!(":{}\r\n", model.len()));
                    }
                    16 | 17 => {
                        let i = rng.random_range(0..model.len().max(1) + 2);
                        buf.extend(encode(&[
                            b"LINDEX",
                            name.as_bytes(),
                            i.to_string().as_bytes(),
                        ]));
                        want.push(bulk(model.get(i)));
                    }
                    _ => {
                        buf.extend(encode(&[b"LLEN", name.as_bytes()]));
                        want.push(format!(":{}\r\n", model.len()));
                    }
                }
            }
            c.send(&buf);
            for (i, w) in want.iter().enumerate() {
                let got = c.reply();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    *w,
                    "batch {batch}, command {i} (cold: {cold})"
                );
            }
        }
        assert!(lists[0].len() < 150, "the runs of pops took most of q");
    }
}

/// Sends `head` followed by 100 `(name, "v")` pairs (names `{prefix}:{n}`), `pairs` pairs in
/// all, 100 commands per write, and checks each reply is `reply`.
fn load_pairs(c: &mut Raw, head: &[&[u8]], prefix: &str, pairs: usize, reply: &[u8]) {
    let names: Vec<Vec<u8>> = (0..pairs)
        .map(|n| format!("{prefix}:{n}").into_bytes())
        .collect();
    for writes in names.chunks(100 * 100) {
        let mut buf = Vec::new();
        for cmd in writes.chunks(100) {
            let mut args: Vec<&[u8]> = head.to_vec();
            for name in cmd {
                args.extend([&name[..], b"v"]);
            }
            buf.extend(encode(&args));
        }
        c.send(&buf);
        for _ in 0..writes.len().div_ceil(100) {
            assert_eq!(c.reply(), reply);
        }
    }
}

/// Whether `c` has no reply waiting to be read.
fn no_reply_yet(c: &mut Raw) -> bool {
    let sock = c.writer();
    sock.set_nonblocking(true).expect("nonblocking");
    let pending = matches!(
        sock.peek(&mut [0u8; 1]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    sock.set_nonblocking(false).expect("blocking");
    pending
}

/// KEYS walks every key of the database, and runs off its connection's worker: on the one
/// worker, another connection's PING and SET are answered while the walk goes on (before, they
/// waited for it), the SET is there afterwards, and the KEYS connection goes on serving.
#[test]
fn keys_runs_off_the_worker_and_other_connections_are_served_meanwhile() {
    let s = Server::strata(&["--io-threads", "1"]);
    load_pairs(&mut s.raw(), &[b"MSET"], "key", 300_000, b"+OK\r\n");
    let (mut walker, mut other) = (s.raw(), s.raw());
    // A pattern with no literal prefix walks every key and matches none; two of them in one
    // read, whose replies go out together, for a longer walk.
    // A write after them in the same read: its group must not be left open on a thread that
    // is no longer a worker (its reply would never come).
    let walk = encode(&[b"KEYS", b"*no-such-key"]);
    let after = encode(&[b"SET", b"after", b"walk"]);
    walker.send(&[&walk[..], &walk[..], &after[..]].concat());
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert_eq!(other.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(other.cmd(&["SET", "during", "walk"]), b"+OK\r\n");
    assert!(
        no_reply_yet(&mut walker),
        "KEYS answered before the other connection was served"
    );
    assert_eq!(walker.reply(), b"*0\r\n");
    assert_eq!(walker.reply(), b"*0\r\n");
    assert_eq!(walker.reply(), b"+OK\r\n");
    assert_eq!(walker.cmd(&["GET", "during"]), b"$4\r\nwalk\r\n");
    assert_eq!(walker.cmd(&["DBSIZE"]), b":300002\r\n");
}

/// RENAME copies a collection's elements (O(n)) and HGETALL reads them all; on a big one both
/// run off the worker, so on the one worker another connection is served meanwhile, and the
/// copy is whole.
#[test]
fn renaming_and_reading_a_big_collection_run_off_the_worker() {
    let s = Server::strata(&["--io-threads", "1"]);
    load_pairs(&mut s.raw(), &[b"HSET", b"h"], "f", 200_000, b":100\r\n");
    let (mut mover, mut other) = (s.raw(), s.raw());
    // Two copies in one read, whose replies go out together.
    mover.send(
        &[
            encode(&[b"RENAME", b"h", b"h2"]),
            encode(&[b"RENAME", b"h2", b"h3"]),
        ]
        .concat(),
    );
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert_eq!(other.cmd(&["PING"]), b"+PONG\r\n");
    assert!(
        no_reply_yet(&mut mover),
        "RENAME answered before the other connection was served"
    );
    assert_eq!(mover.reply(), b"+OK\r\n");
    assert_eq!(mover.reply(), b"+OK\r\n");
    assert_eq!(other.cmd(&["HLEN", "h3"]), b":200000\r\n");
    assert_eq!(other.cmd(&["HGET", "h3", "f:199999"]), b"$1\r\nv\r\n");
    assert_eq!(other.cmd(&["EXISTS", "h", "h2"]), b":0\r\n");

    let read = encode(&[b"HGETALL", b"h3"]);
    mover.send(&[&read[..], &read[..]].concat());
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert_eq!(other.cmd(&["PING"]), b"+PONG\r\n");
    assert!(
        no_reply_yet(&mut mover),
        "HGETALL answered before the other connection was served"
    );
    for _ in 0..2 {
        assert!(mover.reply().starts_with(b"*400000\r\n"));
    }
}

/// A request that arrives while the connection is still being polled on a thread that handed
/// its worker over (after a KEYS, answered at once on a small database) must not run there: a
/// SET then left its group open on that thread, and its reply never came (it hung within a few
/// hundred KEYS/SET pairs).
#[test]
fn requests_after_a_walk_off_the_worker_are_answered() {
    let s = Server::strata(&["--io-threads", "1"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]), b"+OK\r\n");
    for i in 0..2000 {
        assert_eq!(c.cmd(&["KEYS", "*"]).len(), 25, "KEYS {i}");
        assert_eq!(
            c.cmd(&["SET", "abc", "1"]),
            b"+OK\r\n",
            "SET after KEYS {i}"
        );
        assert_eq!(c.cmd(&["DEL", "abc"]), b":1\r\n");
    }
}
