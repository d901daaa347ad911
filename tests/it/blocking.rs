//! Blocking commands with several real connections: wake-ups by pushes from other clients,
//! FIFO service of clients blocked on one key, timeouts, CLIENT UNBLOCK, and a blocked client
//! not holding anyone else up.

use std::time::{Duration, Instant};

use crate::util::{encode, Raw, Server};

/// Sends a request without waiting for its reply.
fn send(c: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&encode(&a));
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// Waits until `n` clients show as blocked in CLIENT LIST (flags=b).
fn wait_blocked(admin: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = text(admin.cmd(&["CLIENT", "LIST"]));
        if list.matches("flags=b").count() == n {
            let info = text(admin.cmd(&["INFO", "clients"]));
            assert!(
                info.contains(&format!("blocked_clients:{n}\r\n")),
                "INFO clients disagrees with CLIENT LIST: {info}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {n} blocked clients: {list}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn client_id(c: &mut Raw) -> String {
    let id = text(c.cmd(&["CLIENT", "ID"]));
    id.trim().trim_start_matches(':').to_string()
}

#[test]
fn a_push_wakes_a_blocked_blpop() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut admin = s.raw();
    send(&mut a, &["BLPOP", "nokey", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "q", "x", "y"]), b":2\r\n");
    assert_eq!(text(a.reply()), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(admin.cmd(&["LRANGE", "q", "0", "-1"]), b"*1\r\n$1\r\ny\r\n");
    // BRPOP serves at once when there is something.
    assert_eq!(
        text(a.cmd(&["BRPOP", "q", "0"])),
        "*2\r\n$1\r\nq\r\n$1\r\ny\r\n"
    );
    assert_eq!(admin.cmd(&["EXISTS", "q"]), b":0\r\n");
    // A push in another db does not wake a client blocked in db 0.
    send(&mut a, &["BRPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SELECT", "1"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "q", "other"]), b":1\r\n");
    assert_eq!(admin.cmd(&["SELECT", "0"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["LPUSH", "q", "mine"]), b":1\r\n");
    assert_eq!(text(a.reply()), "*2\r\n$1\r\nq\r\n$4\r\nmine\r\n");
    // SWAPDB brings a list into the blocked client's db: it is served.
    send(&mut a, &["BLPOP", "sw", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SELECT", "1"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "sw", "swapped"]), b":1\r\n");
    assert_eq!(admin.cmd(&["SWAPDB", "0", "1"]), b"+OK\r\n");
    assert_eq!(text(a.reply()), "*2\r\n$2\r\nsw\r\n$7\r\nswapped\r\n");
    assert_eq!(admin.cmd(&["SELECT", "0"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["SWAPDB", "0", "1"]), b"+OK\r\n");
    // Pipelined requests after a blocking one wait for it, then run.
    a.send(&[encode(&[b"BLPOP", b"p", b"0"]), encode(&[b"PING"])].concat());
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "p", "1"]), b":1\r\n");
    assert_eq!(text(a.reply()), "*2\r\n$1\r\np\r\n$1\r\n1\r\n");
    assert_eq!(a.reply(), b"+PONG\r\n");
}

#[test]
fn blocked_clients_are_served_in_blocking_order() {
    let s = Server::strata(&[]);
    let mut admin = s.raw();
    let mut clients: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        send(c, &["BLPOP", "q", "0"]);
        wait_blocked(&mut admin, i + 1);
    }
    assert_eq!(admin.cmd(&["RPUSH", "q", "a", "b"]), b":2\r\n");
    assert_eq!(text(clients[0].reply()), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(text(clients[1].reply()), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["EXISTS", "q"]), b":0\r\n");
    assert_eq!(admin.cmd(&["LPUSH", "q", "c"]), b":1\r\n");
    assert_eq!(text(clients[2].reply()), "*2\r\n$1\r\nq\r\n$1\r\nc\r\n");

    // A client blocked on two keys keeps its place in both queues.
    let (first, rest) = clients.split_at_mut(1);
    send(&mut first[0], &["BRPOP", "k1", "k2", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut rest[0], &["BRPOP", "k2", "0"]);
    wait_blocked(&mut admin, 2);
    assert_eq!(admin.cmd(&["RPUSH", "k2", "x"]), b":1\r\n");
    assert_eq!(text(first[0].reply()), "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "k2", "y"]), b":1\r\n");
    assert_eq!(text(rest[0].reply()), "*2\r\n$2\r\nk2\r\n$1\r\ny\r\n");
}

#[test]
fn timeouts_reply_nil_after_the_timeout() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    for (cmd, secs) in [
        (vec!["BLPOP", "nokey", "0.3"], 0.3),
        (vec!["BRPOP", "nokey", "other", "0.2"], 0.2),
        (vec!["BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.2"], 0.2),
        (vec!["BRPOPLPUSH", "nokey", "dst", "0.2"], 0.2),
        (
            vec!["BLMPOP", "0.2", "2", "nokey", "other", "LEFT", "COUNT", "3"],
            0.2,
        ),
        (vec!["BZPOPMIN", "nokey", "0.2"], 0.2),
        (vec!["BZPOPMAX", "nokey", "0.2"], 0.2),
        (vec!["BZMPOP", "0.2", "1", "nokey", "MIN"], 0.2),
    ] {
        let t = Instant::now();
        assert_eq!(text(a.cmd(&cmd)), "*-1\r\n", "{cmd:?}");
        let took = t.elapsed().as_secs_f64();
        assert!(
            took >= secs - 0.01 && took < secs + 1.0,
            "{cmd:?} took {took}"
        );
    }
    assert_eq!(a.cmd(&["EXISTS", "dst"]), b":0\r\n");
    for (cmd, err) in [
        (
            vec!["BLPOP", "k", "x"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (vec!["BLPOP", "k", "-1"], "-ERR timeout is negative\r\n"),
        (vec!["BLPOP", "k", "inf"], "-ERR timeout is negative\r\n"),
        (
            vec!["BRPOP", "k", "nan"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            vec!["BLMOVE", "k", "d", "LEFT", "UP", "x"],
            "-ERR syntax error\r\n",
        ),
        (
            vec!["BLMOVE", "k", "d", "LEFT", "LEFT", "x"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            vec!["BRPOPLPUSH", "k", "d", "-2"],
            "-ERR timeout is negative\r\n",
        ),
        (
            vec!["BLMPOP", "x", "1", "k", "LEFT"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            vec!["BLMPOP", "-1", "0", "k", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            vec!["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            vec!["BZMPOP", "0", "1", "k", "MIDDLE"],
            "-ERR syntax error\r\n",
        ),
        (
            vec!["BZPOPMIN", "k", "x"],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            vec!["BLPOP", "k"],
            "-ERR wrong number of arguments for 'blpop' command\r\n",
        ),
    ] {
        assert_eq!(text(a.cmd(&cmd)), err, "{cmd:?}");
    }
    assert_eq!(a.cmd(&["SET", "s", "v"]), b"+OK\r\n");
    assert_eq!(
        text(a.cmd(&["BLPOP", "s", "0"])),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        text(a.cmd(&["BZPOPMIN", "s", "0"])),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

#[test]
fn blmove_brpoplpush_and_blmpop_wake_up() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut admin = s.raw();
    send(&mut a, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "5"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "src", "1", "2"]), b":2\r\n");
    assert_eq!(text(a.reply()), "$1\r\n2\r\n");
    assert_eq!(
        text(admin.cmd(&["LRANGE", "dst", "0", "-1"])),
        "*1\r\n$1\r\n2\r\n"
    );
    send(&mut a, &["BRPOPLPUSH", "nokey", "dst", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "nokey", "3"]), b":1\r\n");
    assert_eq!(text(a.reply()), "$1\r\n3\r\n");
    assert_eq!(
        text(admin.cmd(&["LRANGE", "dst", "0", "-1"])),
        "*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    send(
        &mut a,
        &["BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "2"],
    );
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", "m2", "a", "b", "c"]), b":3\r\n");
    assert_eq!(
        text(a.reply()),
        "*2\r\n$2\r\nm2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    );
    // A key set to another type does not serve (nor fail) a blocked client, as in Redis 7.0.
    send(&mut a, &["BLPOP", "w", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["SET", "w", "str"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["DEL", "w"]), b":1\r\n");
    assert_eq!(admin.cmd(&["RPUSH", "w", "v"]), b":1\r\n");
    assert_eq!(text(a.reply()), "*2\r\n$1\r\nw\r\n$1\r\nv\r\n");
}

#[test]
fn client_unblock_timeout_and_error() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut admin = s.raw();
    let id = client_id(&mut a);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":0\r\n");
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), b":1\r\n");
    assert_eq!(a.reply(), b"*-1\r\n");
    send(&mut a, &["BLMOVE", "q", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id, "error"]), b":1\r\n");
    assert_eq!(
        text(a.reply()),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    send(&mut a, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":1\r\n");
    assert_eq!(a.reply(), b"*-1\r\n");
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), b":0\r\n");
    assert_eq!(
        text(admin.cmd(&["CLIENT", "UNBLOCK", &id, "NOW"])),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "UNBLOCK", "x"])),
        "-ERR value is not an integer or out of range\r\n"
    );
    // CLIENT KILL ends a blocked client.
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &id]), b":1\r\n");
    assert!(a.closed());
    wait_blocked(&mut admin, 0);
}

#[test]
fn a_blocked_client_does_not_block_others() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let mut admin = s.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut admin, 1);
    let t = Instant::now();
    assert_eq!(b.cmd(&["SET", "x", "1"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["LPUSH", "other", "1"]), b":1\r\n");
    assert_eq!(b.cmd(&["GET", "x"]), b"$1\r\n1\r\n");
    assert!(t.elapsed() < Duration::from_secs(1));
    // A blocked client that disconnects leaves no waiter behind.
    drop(a);
    wait_blocked(&mut admin, 0);
    assert_eq!(b.cmd(&["RPUSH", "q", "v"]), b":1\r\n");
    assert_eq!(b.cmd(&["LLEN", "q"]), b":1\r\n");
}

#[test]
fn bzpopmin_bzpopmax_and_bzmpop_wake_up() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut admin = s.raw();
    send(&mut a, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(
        admin.cmd(&["ZADD", "z", "2", "b", "1.5", "a", "3", "c"]),
        b":3\r\n"
    );
    assert_eq!(text(a.reply()), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$3\r\n1.5\r\n");
    assert_eq!(
        text(a.cmd(&["BZPOPMAX", "z", "0"])),
        "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    send(
        &mut a,
        &["BZMPOP", "0", "2", "y", "z2", "MAX", "COUNT", "5"],
    );
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["ZADD", "z2", "1", "m", "2", "n"]), b":2\r\n");
    assert_eq!(
        text(a.reply()),
        "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nn\r\n$1\r\n2\r\n*2\r\n$1\r\nm\r\n$1\r\n1\r\n"
    );
    assert_eq!(admin.cmd(&["EXISTS", "z2"]), b":0\r\n");
    assert_eq!(
        text(a.cmd(&["BZMPOP", "0", "1", "z", "MIN"])),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

/// Many blocked consumers and pushes in quick succession: every item reaches exactly one
/// consumer, none is lost, nobody stays blocked.
#[test]
fn no_lost_wakeups_under_load() {
    let s = Server::strata(&[]);
    let mut admin = s.raw();
    let port = s.port;
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::try_connect(port).expect("connect");
                let mut got = Vec::new();
                for _ in 0..25 {
                    let r = text(c.cmd(&["BLPOP", "q1", "q2", "10"]));
                    assert!(r.starts_with("*2\r\n"), "{r}");
                    got.push(r.rsplit("\r\n").nth(1).unwrap_or_default().to_string());
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Raw::try_connect(port).expect("connect");
                for i in 0..100 {
                    let key = if i % 2 == 0 { "q1" } else { "q2" };
                    let r = c.cmd(&["RPUSH", key, &format!("{p}-{i}")]);
                    assert_eq!(r.first(), Some(&b':'));
                }
            })
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
    let mut all: Vec<String> = consumers
        .into_iter()
        .flat_map(|c| c.join().expect("consumer"))
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200);
    assert_eq!(admin.cmd(&["DBSIZE"]), b":0\r\n");
    wait_blocked(&mut admin, 0);
}
