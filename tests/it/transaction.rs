//! Transactions: MULTI/EXEC/DISCARD queueing and errors, WATCH conflicts from other clients,
//! expiry, flushes and eviction (warm and cold), the isolation of EXEC, and a differential
//! script against redis-server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::differential::{compare, script};
use crate::util::{encode, Client, Server};

const NIL_ARRAY: &str = "*-1\r\n";
const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

/// MULTI, the given commands (each must answer +QUEUED), then EXEC's reply.
fn transact(c: &mut Client, cmds: &[&[&str]]) -> String {
    assert_eq!(c.s(&["MULTI"]), "+OK\r\n");
    for cmd in cmds {
        assert_eq!(c.s(cmd), "+QUEUED\r\n", "{cmd:?}");
    }
    c.s(&["EXEC"])
}

#[test]
fn queueing_errors_and_discard() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(c.s(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        assert_eq!(c.s(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
        // Nesting and WATCH inside MULTI are refused without aborting the transaction.
        assert_eq!(c.s(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.s(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(
            c.s(&["WATCH", "k"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        assert_eq!(c.s(&["SET", "k", "1"]), "+QUEUED\r\n");
        assert_eq!(c.s(&["INCR", "k"]), "+QUEUED\r\n");
        assert_eq!(c.s(&["EXEC"]), "*2\r\n+OK\r\n:2\r\n", "cold={cold}");
        // Runtime errors appear in the reply and do not stop later commands.
        let r = transact(
            &mut c,
            &[
                &["SET", "s", "x"],
                &["INCR", "s"],
                &["LPUSH", "s", "a"],
                &["APPEND", "s", "y"],
            ],
        );
        assert_eq!(
            r,
            "*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n\
             -WRONGTYPE Operation against a key holding the wrong kind of value\r\n:2\r\n",
            "cold={cold}"
        );
        assert_eq!(c.s(&["GET", "s"]), "$2\r\nxy\r\n");
        // Unknown commands and arity errors abort the whole transaction.
        assert_eq!(c.s(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.s(&["SET", "k", "99"]), "+QUEUED\r\n");
        assert!(c
            .s(&["NOSUCH", "x"])
            .starts_with("-ERR unknown command 'NOSUCH'"));
        assert_eq!(
            c.s(&["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            c.s(&["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(c.s(&["GET", "k"]), "$1\r\n2\r\n", "nothing of it ran");
        assert_eq!(c.s(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        // DISCARD drops the queue.
        assert_eq!(c.s(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.s(&["DEL", "k"]), "+QUEUED\r\n");
        assert_eq!(c.s(&["DISCARD"]), "+OK\r\n");
        assert_eq!(c.s(&["GET", "k"]), "$1\r\n2\r\n");
        // An empty transaction, and SELECT inside one.
        assert_eq!(transact(&mut c, &[]), "*0\r\n");
        let r = transact(&mut c, &[&["SELECT", "1"], &["SET", "k", "db1"]]);
        assert_eq!(r, "*2\r\n+OK\r\n+OK\r\n");
        assert_eq!(c.s(&["GET", "k"]), "$3\r\ndb1\r\n");
        c.cmd(&["SELECT", "0"]);
        // RESET leaves MULTI.
        assert_eq!(c.s(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.s(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.s(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    }
}

#[test]
fn blocking_commands_do_not_block_inside_exec() {
    let s = Server::strata(&[]);
    let mut c = s.client(false);
    let r = transact(
        &mut c,
        &[
            &["BLPOP", "nolist", "0"],
            &["BRPOPLPUSH", "nolist", "dst", "0"],
            &["BZPOPMIN", "nozset", "0"],
            &["RPUSH", "l", "a"],
            &["BLPOP", "l", "0"],
        ],
    );
    assert_eq!(
        r,
        "*5\r\n*-1\r\n$-1\r\n*-1\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\na\r\n"
    );
    // The connection is not left blocked.
    assert_eq!(c.s(&["PING"]), "+PONG\r\n");
}

#[test]
fn watch_detects_other_clients_and_own_writes() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut a = s.client(cold);
        let mut b = s.client(cold);
        a.cmd(&["FLUSHALL"]);
        a.cmd(&["SET", "k", "1"]);
        // Another client's write.
        assert_eq!(a.s(&["WATCH", "k"]), "+OK\r\n");
        assert_eq!(b.s(&["SET", "k", "2"]), "+OK\r\n");
        assert_eq!(
            transact(&mut a, &[&["SET", "k", "3"]]),
            NIL_ARRAY,
            "cold={cold}"
        );
        assert_eq!(a.s(&["GET", "k"]), "$1\r\n2\r\n");
        // EXEC cleared the watch: the next transaction runs.
        assert_eq!(transact(&mut a, &[&["SET", "k", "3"]]), "*1\r\n+OK\r\n");
        // Reads do not count; writes to other keys and dbs do not count.
        a.cmd(&["WATCH", "k", "absent"]);
        b.cmd(&["GET", "k"]);
        b.cmd(&["SET", "other", "x"]);
        b.cmd(&["SELECT", "1"]);
        b.cmd(&["SET", "k", "x"]);
        b.cmd(&["SELECT", "0"]);
        assert_eq!(
            transact(&mut a, &[&["GET", "k"]]),
            "*1\r\n$1\r\n3\r\n",
            "cold={cold}"
        );
        // A key that did not exist, created by another client; and a deletion.
        a.cmd(&["WATCH", "absent"]);
        b.cmd(&["SET", "absent", "now"]);
        assert_eq!(transact(&mut a, &[&["GET", "k"]]), NIL_ARRAY, "cold={cold}");
        a.cmd(&["WATCH", "absent"]);
        b.cmd(&["DEL", "absent"]);
        assert_eq!(transact(&mut a, &[&["GET", "k"]]), NIL_ARRAY, "cold={cold}");
        // A collection element write, and an expiry change.
        a.cmd(&["HSET", "h", "f", "v"]);
        a.cmd(&["WATCH", "h"]);
        b.cmd(&["HSET", "h", "f", "w"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["EXPIRE", "k", "100"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        // The client's own write outside MULTI.
        a.cmd(&["WATCH", "k"]);
        a.cmd(&["INCR", "k"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        // UNWATCH and DISCARD clear the watches.
        a.cmd(&["WATCH", "k"]);
        assert_eq!(a.s(&["UNWATCH"]), "+OK\r\n");
        b.cmd(&["INCR", "k"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), "*1\r\n+PONG\r\n");
        a.cmd(&["WATCH", "k"]);
        a.cmd(&["MULTI"]);
        assert_eq!(a.s(&["DISCARD"]), "+OK\r\n");
        b.cmd(&["INCR", "k"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), "*1\r\n+PONG\r\n");
    }
}

#[test]
fn watch_sees_expiry_of_cold_keys() {
    let s = Server::strata(&["--hz", "50"]);
    for cold in [false, true] {
        let mut a = s.client(cold);
        a.cmd(&["FLUSHALL"]);
        // A TTL that passes with nobody touching the key (compared at EXEC).
        a.cmd(&["SET", "t", "v", "PX", "300"]);
        assert_eq!(a.s(&["WATCH", "t"]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        // Removed by active expiry (it runs 50 times a second) before EXEC.
        a.cmd(&["SET", "t", "v", "PX", "200"]);
        a.cmd(&["WATCH", "t"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while a.s(&["DBSIZE"]) != ":0\r\n" {
            assert!(Instant::now() < deadline, "active expiry never removed t");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        // A key with a TTL still in the future is no change.
        a.cmd(&["SET", "t", "v", "EX", "100"]);
        a.cmd(&["WATCH", "t"]);
        assert_eq!(
            transact(&mut a, &[&["PING"]]),
            "*1\r\n+PONG\r\n",
            "cold={cold}"
        );
    }
}

#[test]
fn watch_sees_flushes_and_swapdb_of_existing_keys() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut a = s.client(cold);
        let mut b = s.client(cold);
        a.cmd(&["FLUSHALL"]);
        a.cmd(&["SET", "k", "1"]);
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["FLUSHALL"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        a.cmd(&["SET", "k", "1"]);
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["FLUSHDB"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        // As in Redis: emptying a db changes only the keys that were there.
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["FLUSHALL"]);
        assert_eq!(
            transact(&mut a, &[&["PING"]]),
            "*1\r\n+PONG\r\n",
            "cold={cold}"
        );
        a.cmd(&["SET", "k", "1"]);
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["SELECT", "1"]);
        b.cmd(&["FLUSHDB"]);
        assert_eq!(
            transact(&mut a, &[&["PING"]]),
            "*1\r\n+PONG\r\n",
            "cold={cold}"
        );
        // SWAPDB: a key that exists in either db changes.
        b.cmd(&["SET", "k1", "x"]);
        b.cmd(&["SELECT", "0"]);
        a.cmd(&["WATCH", "k1"]);
        b.cmd(&["SWAPDB", "0", "1"]);
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
        a.cmd(&["WATCH", "nowhere"]);
        b.cmd(&["SWAPDB", "0", "1"]);
        assert_eq!(
            transact(&mut a, &[&["PING"]]),
            "*1\r\n+PONG\r\n",
            "cold={cold}"
        );
    }
}

#[test]
fn watch_sees_eviction_at_the_data_cap() {
    let s = Server::strata(&[
        "--max-data-size",
        "4kb",
        "--eviction-policy",
        "allkeys-random",
    ]);
    for cold in [false, true] {
        let mut a = s.client(cold);
        let mut b = s.client(cold);
        a.cmd(&["FLUSHALL"]);
        a.cmd(&["SET", "w", "watched"]);
        assert_eq!(a.s(&["WATCH", "w"]), "+OK\r\n");
        let value = "v".repeat(200);
        let mut i = 0;
        while b.s(&["EXISTS", "w"]) == ":1\r\n" {
            assert_eq!(b.s(&["SET", &format!("fill:{i}"), &value]), "+OK\r\n");
            i += 1;
            assert!(i < 2000, "cold={cold}: w was never evicted");
        }
        assert_eq!(transact(&mut a, &[&["PING"]]), NIL_ARRAY, "cold={cold}");
    }
}

#[test]
fn oom_while_queueing_and_at_exec() {
    let s = Server::strata(&["--max-data-size", "2kb", "--eviction-policy", "noeviction"]);
    let mut a = s.client(false);
    let mut b = s.client(false);
    // Queued under the cap; the cap is reached before EXEC.
    assert_eq!(a.s(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.s(&["SET", "x", "queued-value"]), "+QUEUED\r\n");
    let value = "v".repeat(100);
    let mut i = 0;
    while b.s(&["SET", &format!("fill:{i}"), &value]) == "+OK\r\n" {
        i += 1;
        assert!(i < 100, "the cap never refused a write");
    }
    // Then small keys, until less than 6 bytes of room are left.
    while b.s(&["SET", &format!("f{i:04}"), "x"]) == "+OK\r\n" {
        i += 1;
        assert!(i < 1000, "small writes never refused");
    }
    assert_eq!(
        a.s(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when used \
         memory > 'maxmemory'.\r\n"
    );
    assert_eq!(a.s(&["EXISTS", "x"]), ":0\r\n");
    // A read-only transaction still runs at the cap.
    assert_eq!(transact(&mut a, &[&["EXISTS", "x"]]), "*1\r\n:0\r\n");
    // A denyoom command refused while queuing aborts the transaction.
    assert_eq!(a.s(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.s(&["SET", "x", &value]), OOM);
    assert_eq!(
        a.s(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}

#[test]
fn exec_is_isolated_from_other_clients() {
    const N: usize = 300;
    let s = Server::strata(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut r = s.raw();
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let v = String::from_utf8_lossy(&r.cmd(&["GET", "c"])).into_owned();
                seen.push(v);
            }
            seen
        }));
    }
    let mut a = s.raw();
    for round in 1..=10 {
        let mut req = encode(&[b"MULTI"]);
        for _ in 0..N {
            req.extend(encode(&[b"INCR", b"c"]));
        }
        req.extend(encode(&[b"EXEC"]));
        a.send(&req);
        assert_eq!(a.reply(), b"+OK\r\n");
        for _ in 0..N {
            assert_eq!(a.reply(), b"+QUEUED\r\n");
        }
        let exec = String::from_utf8_lossy(&a.reply()).into_owned();
        assert!(
            exec.ends_with(&format!(":{}\r\n", round * N)),
            "round {round}"
        );
    }
    stop.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for r in readers {
        for v in r.join().expect("reader") {
            reads += 1;
            if v == "$-1\r\n" {
                continue;
            }
            let n: usize = v
                .lines()
                .nth(1)
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("bad reply {v:?}"));
            assert_eq!(n % N, 0, "a reader saw the middle of an EXEC: {n}");
        }
    }
    assert!(reads > 0);
}

#[test]
fn closed_connections_leave_no_watches() {
    let s = Server::strata(&[]);
    for _ in 0..50 {
        let mut c = s.raw();
        assert_eq!(c.cmd(&["WATCH", "a", "b", "c"]), b"+OK\r\n");
    }
    // Writes to the keys still work (the registry entries of closed clients are harmless and
    // removed; the keyspace unit tests check the registry itself).
    let mut c = s.client(false);
    assert_eq!(c.s(&["MSET", "a", "1", "b", "2", "c", "3"]), "+OK\r\n");
}

#[test]
fn transactions_match_redis() {
    compare(&[
        script(&[
            "MULTI",
            "SET a 1",
            "INCR a",
            "LPUSH a x",
            "GET a",
            "EXEC",
            "EXEC",
            "DISCARD",
            "MULTI",
            "MULTI",
            "WATCH a",
            "UNWATCH",
            "EXEC",
        ]),
        script(&[
            "MULTI", "SET a 1", "FOO bar", "EXEC", "GET a", "MULTI", "GET", "EXEC", "MULTI",
            "SET a 2", "DISCARD", "GET a", "WATCH",
        ]),
        script(&[
            "SET k v",
            "WATCH k",
            "SET k w",
            "MULTI",
            "GET k",
            "EXEC",
            "WATCH k",
            "GET k",
            "MULTI",
            "GET k",
            "EXEC",
            "WATCH k nokey",
            "MULTI",
            "DEL k",
            "EXEC",
        ]),
        script(&[
            "MULTI",
            "BLPOP l 0",
            "BRPOPLPUSH l m 1",
            "BLMOVE l m LEFT RIGHT 0",
            "BZPOPMAX z 0",
            "BLMPOP 0 1 l LEFT",
            "RPUSH l a b",
            "BRPOP l 0",
            "BLPOP l -1",
            "EXEC",
            "LRANGE l 0 -1",
        ]),
        script(&[
            "MULTI",
            "SELECT 1",
            "SET x 1",
            "SELECT 0",
            "HSET h a 1",
            "HINCRBY h a x",
            "SADD h m",
            "ZADD z 1 m",
            "EXEC",
            "SELECT 1",
            "GET x",
            "SELECT 0",
            "MULTI",
            "FLUSHALL",
            "DBSIZE",
            "EXEC",
        ]),
    ]);
}

#[test]
fn client_list_shows_the_queue() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut admin = s.raw();
    let line = |admin: &mut crate::util::Raw, name: &str| {
        let list = String::from_utf8_lossy(&admin.cmd(&["CLIENT", "LIST"])).into_owned();
        list.lines()
            .find(|l| l.contains(&format!(" name={name} ")))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "tx"]), b"+OK\r\n");
    assert!(line(&mut admin, "tx").contains(" multi=-1 "));
    assert_eq!(a.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["SET", "k", "v"]), b"+QUEUED\r\n");
    assert_eq!(a.cmd(&["INCR", "n"]), b"+QUEUED\r\n");
    let l = line(&mut admin, "tx");
    assert!(l.contains(" multi=2 ") && l.contains(" flags=x "), "{l}");
    assert_eq!(a.cmd(&["DISCARD"]), b"+OK\r\n");
    assert!(line(&mut admin, "tx").contains(" multi=-1 "));
}
