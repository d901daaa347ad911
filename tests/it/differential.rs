//! Differential tests: the same command sequences against Debian's `redis-server` and against
//! Strata (warm, and cold with the memory tier dropped before every command). Every reply must
//! match byte for byte, error strings included.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::util::{have_redis, Client, Server};

/// Runs each script on redis-server and on Strata, warm and then cold; panics on the first
/// difference.
pub(crate) fn compare(scripts: &[Vec<Vec<String>>]) {
    // CI installs redis-server; a developer without it is told, not silently passed.
    assert!(
        have_redis(),
        "redis-server is not installed: apt-get install -y redis-server"
    );
    let redis = Server::redis();
    let strata = Server::strata(&[]);
    let mut r = redis.client(false);
    let mut warm = strata.client(false);
    let mut cold = strata.client(true);
    for (n, script) in scripts.iter().enumerate() {
        for (mode, c) in [("warm", &mut warm), ("cold", &mut cold)] {
            reset(&mut r);
            reset(c);
            for (i, cmd) in script.iter().enumerate() {
                let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
                let want = unordered(&args, r.s(&args));
                let got = unordered(&args, c.s(&args));
                assert_eq!(
                    got, want,
                    "script {n} step {i} ({mode}): {args:?}\nscript: {script:?}"
                );
            }
        }
    }
}

/// Replies whose order Redis leaves undefined (hash order) are compared as sets: KEYS and the
/// whole-collection reads of hashes and sets. HGETALL's items are field-value pairs.
fn unordered(args: &[&str], reply: String) -> String {
    let name = args[0].to_ascii_uppercase();
    let lines_per_item = match name.as_str() {
        "KEYS" | "SMEMBERS" | "HKEYS" | "HVALS" | "SINTER" | "SUNION" | "SDIFF" => 2,
        "HGETALL" => 4,
        _ => return reply,
    };
    if !reply.starts_with('*') {
        return reply;
    }
    let mut lines: Vec<&str> = reply.split("\r\n").collect();
    let header = lines.remove(0);
    let mut items: Vec<String> = lines
        .chunks(lines_per_item)
        .filter(|c| c.len() == lines_per_item)
        .map(|c| c.join("\r\n"))
        .collect();
    items.sort();
    format!(
        "{header}\r\n{}",
        items.iter().map(|i| format!("{i}\r\n")).collect::<String>()
    )
}

fn reset(c: &mut Client) {
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SELECT", "0"]);
}

pub(crate) fn script(lines: &[&str]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect()
}

/// Commands over thousands of keys or members, some named twice, match Redis: a transaction's
/// own states are found through an index past a few dozen keys, and ZREM's duplicates through a
/// set, so these stay linear in their size and reply as Redis does.
#[test]
fn commands_over_thousands_of_keys_and_members_match_redis() {
    let n = 3000;
    let mut mset = vec!["MSET".to_string()];
    let mut keys = Vec::new();
    for i in 0..n {
        // Every tenth key again, later, with another value: the last one wins.
        let k = if i % 10 == 9 {
            format!("k{}", i - 5)
        } else {
            format!("k{i}")
        };
        mset.extend([k.clone(), format!("v{i}")]);
        keys.push(k);
    }
    let with = |head: &[&str], rest: &[String]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(rest.iter().cloned())
            .collect()
    };
    let members: Vec<String> = (0..n).map(|i| format!("m{}", i % (n - 100))).collect();
    let scored: Vec<String> = members
        .iter()
        .enumerate()
        .flat_map(|(i, m)| [format!("{}", i % 7), m.clone()])
        .collect();
    let pairs: Vec<String> = members
        .iter()
        .enumerate()
        .flat_map(|(i, m)| [m.clone(), format!("{i}")])
        .collect();
    compare(&[vec![
        mset,
        with(&["MGET"], &keys),
        with(&["EXISTS"], &keys),
        with(&["SADD", "s"], &members),
        with(&["SMISMEMBER", "s"], &members),
        with(&["SCARD", "s"], &[]),
        with(&["SREM", "s"], &members[..n / 2]),
        with(&["ZADD", "z"], &scored),
        with(&["ZCARD", "z"], &[]),
        with(&["ZREM", "z"], &members[n / 3..]),
        with(&["ZRANGE", "z", "0", "20", "WITHSCORES"], &[]),
        with(&["HSET", "h"], &pairs),
        with(&["HDEL", "h"], &members[..n / 4]),
        with(&["HLEN", "h"], &[]),
        with(&["DEL"], &keys),
        with(&["DBSIZE"], &[]),
    ]]);
}

#[test]
fn hand_written_sequences_match_redis() {
    compare(&[
        script(&[
            "SET a 1",
            "GET a",
            "INCR a",
            "INCRBY a 10",
            "DECR a",
            "DECRBY a 3",
            "INCRBYFLOAT a 1.5",
            "GET a",
            "APPEND a xyz",
            "INCR a",
            "STRLEN a",
            "GETRANGE a 0 2",
            "GETRANGE a -3 -1",
            "SETRANGE a 1 QQ",
            "GET a",
            "SUBSTR a 0 -1",
            "GETSET a new",
            "GETDEL a",
            "GET a",
            "EXISTS a",
        ]),
        script(&[
            "SET k v NX",
            "SET k v2 NX",
            "SET k v3 XX",
            "SET k v4 XX GET",
            "SET nokey v XX",
            "SET k v EX 0",
            "SET k v PX -5",
            "SET k v EX 10 PX 10",
            "SET k v NX XX",
            "SET k v KEEPTTL EX 5",
            "SET k v EX 100",
            "TTL k",
            "SET k w KEEPTTL",
            "TTL k",
            "SET k w",
            "TTL k",
            "SET k v GET",
            "SETNX k z",
            "SETNX k2 z",
            "SETEX k3 0 v",
            "SETEX k3 100 v",
            "PSETEX k4 -1 v",
            "MSET a 1 b 2",
            "MSET a 1 b",
            "MGET a b nokey",
            "MSETNX a 1 c 3",
            "MSETNX c 3 d 4",
            "GETEX a PERSIST",
            "GETEX a EX 100",
            "TTL a",
            "GETEX a PERSIST",
            "TTL a",
            "GETEX a EX -1",
            "GETEX nokey",
        ]),
        script(&[
            "SET n 9223372036854775807",
            "INCR n",
            "SET n -9223372036854775808",
            "DECR n",
            "DECRBY n -1",
            "INCRBY n notanumber",
            "SET f 10.5",
            "INCRBYFLOAT f 0.1",
            "INCRBYFLOAT f -5.5",
            "INCRBYFLOAT f nan",
            "SET s abc",
            "INCRBYFLOAT s 1",
            "INCR s",
            "SETRANGE s -1 x",
            "SETRANGE empty 0 \"\"",
            "EXISTS empty",
            "SETRANGE pad 5 x",
            "GET pad",
            "LCS a b",
            "SET a ohmytext",
            "SET b mynewtext",
            "LCS a b",
            "LCS a b LEN",
            "LCS a b IDX",
            "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
        ]),
        script(&[
            "SET a 1",
            "SET b 2",
            "DEL a b c",
            "SET a 1",
            "EXISTS a a c",
            "TYPE a",
            "TYPE nokey",
            "EXPIRE a 100",
            "TTL a",
            "PTTL nokey",
            "EXPIRE a 50 GT",
            "EXPIRE a 500 GT",
            "TTL a",
            "EXPIRE a 10 LT",
            "TTL a",
            "EXPIRE a 10 NX",
            "EXPIRE a 20 XX GT",
            "EXPIRE a 10 NX XX",
            "EXPIRE a 10 GT LT",
            "EXPIRE a notint",
            "PERSIST a",
            "PERSIST a",
            "TTL a",
            "EXPIRE a 10 XX",
            "EXPIRE a 100 NX",
            "EXPIRE a -1",
            "EXISTS a",
            "SET t 1",
            "PEXPIREAT t 1",
            "EXISTS t",
            "SET t 1",
            "EXPIRETIME t",
            "EXPIRETIME nokey",
            "EXPIREAT t 99999999999",
            "EXPIRETIME t",
            "PEXPIRETIME t",
        ]),
        script(&[
            "SET a 1",
            "RENAME a b",
            "GET a",
            "GET b",
            "RENAME nokey x",
            "RENAMENX b b",
            "SET c 3",
            "RENAMENX b c",
            "RENAMENX b d",
            "COPY d e",
            "COPY d e",
            "COPY d e REPLACE",
            "COPY d d",
            "COPY d e DB 1",
            "MOVE d 1",
            "MOVE d 1",
            "EXISTS d",
            "SELECT 1",
            "GET d",
            "GET e",
            "MOVE e 0",
            "MOVE d 1",
            "SELECT 0",
            "MOVE nokey 1",
            "DBSIZE",
            "TOUCH c e nokey",
            "RENAME c c",
            "UNLINK c e",
            "DBSIZE",
            "SELECT 99",
            "SWAPDB 0 1",
            "DBSIZE",
            "FLUSHDB",
            "DBSIZE",
        ]),
        script(&[
            "SET a 1",
            "SET b 2",
            "SET c 3",
            "KEYS *",
            "KEYS [ab]",
            "KEYS ?",
            "KEYS nomatch*",
            "SET abc 1",
            "KEYS a*c",
            "OBJECT ENCODING a",
            "SET long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "OBJECT ENCODING long",
            "SET s hello",
            "OBJECT ENCODING s",
            "OBJECT ENCODING nokey",
            "OBJECT REFCOUNT a",
            "OBJECT FREQ a",
            "OBJECT NOPE a",
        ]),
        script(&[
            "PING",
            "PING hi",
            "ECHO x",
            "SELECT 16",
            "SELECT -1",
            "SELECT x",
            "FOO",
            "FOO bar baz",
            "GET",
            "SET a",
            "CLIENT SETNAME my-app",
            "CLIENT GETNAME",
            "CLIENT NOPE",
            "CONFIG NOPE",
            "OBJECT",
            "HELLO 4",
            "HELLO x",
            "AUTH x",
            "AUTH a b c",
            "DBSIZE",
            "FLUSHALL ASYNC",
            "FLUSHALL X",
        ]),
    ]);
}

/// A random command over a small key space, valid or not, from the string and generic families.
fn random_command(rng: &mut StdRng) -> Vec<String> {
    let key = |rng: &mut StdRng| format!("k{}", rng.random_range(0..5));
    let val = |rng: &mut StdRng| match rng.random_range(0..6) {
        0 => rng.random_range(-100..100).to_string(),
        1 => "".to_string(),
        2 => "abc".to_string(),
        3 => format!("{}.5", rng.random_range(-10..10)),
        4 => "9223372036854775807".to_string(),
        _ => rng.random_range(0..10).to_string(),
    };
    let k = key(rng);
    let v = val(rng);
    let w = val(rng);
    let cmd: Vec<String> = match rng.random_range(0..30) {
        0 => vec!["SET".into(), k, v],
        1 => vec!["GET".into(), k],
        2 => vec!["APPEND".into(), k, v],
        3 => vec!["INCR".into(), k],
        4 => vec!["DECRBY".into(), k, v],
        // Redis adds in 80-bit long double and prints 17 fractional digits; Strata emulates it.
        5 => match rng.random_range(0..2) {
            0 => vec!["DECR".into(), k],
            _ => vec!["INCRBYFLOAT".into(), k, v],
        },
        6 => vec!["STRLEN".into(), k],
        7 => vec!["GETRANGE".into(), k, v, w],
        8 => vec!["SETRANGE".into(), k, rng.random_range(0..8).to_string(), v],
        9 => vec!["MSET".into(), k, v, key(rng), w],
        10 => vec!["MGET".into(), k, key(rng), key(rng)],
        11 => vec!["DEL".into(), k, key(rng)],
        12 => vec!["EXISTS".into(), k, key(rng)],
        13 => vec!["TYPE".into(), k],
        14 => vec!["RENAME".into(), k, key(rng)],
        15 => vec!["RENAMENX".into(), k, key(rng)],
        16 => vec!["EXPIRE".into(), k, rng.random_range(100..200).to_string()],
        17 => vec!["PERSIST".into(), k],
        18 => vec!["TTL".into(), k],
        19 => vec!["GETSET".into(), k, v],
        20 => vec!["GETDEL".into(), k],
        21 => vec!["SETNX".into(), k, v],
        22 => vec!["MSETNX".into(), k, v, key(rng), w],
        23 => vec!["COPY".into(), k, key(rng)],
        24 => vec!["INCRBY".into(), k, v],
        25 => vec![
            "SET".into(),
            k,
            v,
            ["NX", "XX", "GET", "KEEPTTL"][rng.random_range(0..4)].into(),
        ],
        26 => vec!["DBSIZE".into()],
        27 => vec!["LCS".into(), k, key(rng)],
        28 => vec![
            "GETEX".into(),
            k,
            "EX".into(),
            rng.random_range(100..200).to_string(),
        ],
        _ => vec!["SETEX".into(), k, v, w],
    };
    cmd
}

#[test]
fn random_sequences_match_redis() {
    let mut rng = StdRng::seed_from_u64(0x5742_7a7a);
    let scripts: Vec<Vec<Vec<String>>> = (0..40)
        .map(|_| (0..60).map(|_| random_command(&mut rng)).collect())
        .collect();
    compare(&scripts);
}

/// A random list, set, hash or sorted-set command (or a string command, for type clashes) on
/// one of five keys, with replies that do not depend on the order of an unordered type.
fn random_collection_command(rng: &mut StdRng) -> Vec<String> {
    let k = format!("c{}", rng.random_range(0..5));
    let m = |rng: &mut StdRng| format!("m{}", rng.random_range(0..6));
    let n = |rng: &mut StdRng| rng.random_range(-3..8).to_string();
    let cmd: Vec<&str> = match rng.random_range(0..26) {
        0 => vec!["LPUSH", &k],
        1 => vec!["RPUSH", &k],
        2 => vec!["LPOP", &k],
        3 => vec!["RPOP", &k],
        4 => vec!["LLEN", &k],
        5 => vec!["LRANGE", &k],
        6 => vec!["LINDEX", &k],
        7 => vec!["SADD", &k],
        8 => vec!["SREM", &k],
        9 => vec!["SISMEMBER", &k],
        10 => vec!["SCARD", &k],
        11 => vec!["HSET", &k],
        12 => vec!["HGET", &k],
        13 => vec!["HDEL", &k],
        14 => vec!["HLEN", &k],
        15 => vec!["HINCRBY", &k],
        16 => vec!["ZADD", &k],
        17 => vec!["ZINCRBY", &k],
        18 => vec!["ZREM", &k],
        19 => vec!["ZSCORE", &k],
        20 => vec!["ZCARD", &k],
        21 => vec!["ZRANGE", &k],
        22 => vec!["DEL", &k],
        23 => vec!["TYPE", &k],
        24 => vec!["SET", &k],
        _ => vec!["LPUSHX", &k],
    };
    let mut out: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    match out[0].as_str() {
        "LPUSH" | "RPUSH" | "LPUSHX" => {
            for _ in 0..rng.random_range(1..7) {
                out.push(m(rng));
            }
        }
        // Counts above four read through an iterator rather than point reads.
        "LPOP" | "RPOP" => match rng.random_range(0..3) {
            0 => {}
            _ => out.push(rng.random_range(0..9).to_string()),
        },
        "LRANGE" if rng.random_range(0..2) == 0 => {
            out.extend(["0".to_string(), "-1".to_string()]);
        }
        "LRANGE" => {
            out.push(n(rng));
            out.push(n(rng));
        }
        "LINDEX" => out.push(n(rng)),
        "SADD" | "SREM" | "ZREM" => {
            for _ in 0..rng.random_range(1..3) {
                out.push(m(rng));
            }
        }
        "SISMEMBER" | "HGET" | "HDEL" | "ZSCORE" => out.push(m(rng)),
        "HSET" => {
            out.push(m(rng));
            out.push(n(rng));
        }
        "HINCRBY" | "ZINCRBY" => {
            if out[0] == "ZINCRBY" {
                out.push(n(rng));
                out.push(m(rng));
            } else {
                out.push(m(rng));
                out.push(n(rng));
            }
        }
        "ZADD" => {
            for _ in 0..rng.random_range(1..3) {
                out.push(n(rng));
                out.push(m(rng));
            }
        }
        "ZRANGE" => {
            out.extend(["0".to_string(), "-1".to_string(), "WITHSCORES".to_string()]);
        }
        "SET" => out.push("v".into()),
        _ => {}
    }
    out
}

/// Pipelines of collection commands on a few keys: the grouped ones read the elements that
/// earlier commands of the same group staged (point reads, LPOP with a count and LRANGE through
/// an iterator, ZRANGE over the score index), warm and cold.
#[test]
fn random_collection_pipelines_match_redis() {
    random_pipelines_match(0xc011_ec71, random_collection_command);
}

/// The same random scripts sent as pipelines (every command in one write): grouped commands
/// share a storage commit, so later commands must see earlier ones' writes, an error must not
/// undo its neighbours, and the commands that are not grouped must split the run cleanly.
/// Cold: the memory tier is dropped before each pipeline, so reads inside it go to disk.
#[test]
fn random_pipelines_match_redis() {
    random_pipelines_match(0x0919_e11e, random_command);
}

/// Forty scripts of eighty commands from `command`, seeded, run through [`pipelines_match`].
fn random_pipelines_match(seed: u64, command: fn(&mut StdRng) -> Vec<String>) {
    assert!(
        have_redis(),
        "redis-server is not installed: apt-get install -y redis-server"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let scripts: Vec<Vec<Vec<String>>> = (0..40)
        .map(|_| (0..80).map(|_| command(&mut rng)).collect())
        .collect();
    pipelines_match(&scripts);
}

/// Runs each script as pipelines on redis-server and Strata (first half to set up, second half
/// over it, warm and then cold) and panics on the first reply that differs.
pub(crate) fn pipelines_match(scripts: &[Vec<Vec<String>>]) {
    let redis = Server::redis();
    let strata = Server::strata(&[]);
    let mut r = redis.raw();
    let mut s = strata.raw();
    let mut admin = strata.raw();
    let pipeline = |c: &mut crate::util::Raw, script: &[Vec<String>]| -> Vec<String> {
        let mut buf = Vec::new();
        for cmd in script {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            buf.extend(crate::util::encode(&args));
        }
        c.send(&buf);
        script
            .iter()
            .map(|_| String::from_utf8_lossy(&c.reply()).into_owned())
            .collect()
    };
    for (n, script) in scripts.iter().enumerate() {
        for cold in [false, true] {
            for c in [&mut r, &mut s] {
                assert_eq!(c.cmd(&["FLUSHALL"]), b"+OK\r\n");
            }
            // The first half prepares state; the second runs over it, cold or warm.
            let (setup, body) = script.split_at(script.len() / 2);
            assert_eq!(
                pipeline(&mut s, setup),
                pipeline(&mut r, setup),
                "script {n} setup"
            );
            if cold {
                assert_eq!(admin.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
            }
            let (got, want) = (pipeline(&mut s, body), pipeline(&mut r, body));
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g, w,
                    "script {n} step {i} (cold: {cold}): {:?}\nbody: {body:?}",
                    body[i]
                );
            }
            assert_eq!(s.cmd(&["DBSIZE"]), r.cmd(&["DBSIZE"]), "script {n}");
        }
    }
}
