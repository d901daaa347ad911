//! Integration tests of the set family (normal and cold mode), differential tests against
//! redis-server included.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::differential::{compare, script};
use crate::hash::{check, compact, items, keyspace_counts, run, scan_all};
use crate::util::{Client, Server};

const WRONG: &str = "!WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn set_reads_and_writes() {
    let s = Server::strata(&[]);
    check(
        &s,
        &[
            ("SADD s b a c a", ":3"),
            ("SADD s a d", ":1"),
            ("SCARD s", ":4"),
            ("SMEMBERS s", "[a, b, c, d]"),
            ("SISMEMBER s a", ":1"),
            ("SISMEMBER s z", ":0"),
            ("SMISMEMBER s a z d", "[:1, :0, :1]"),
            ("SREM s a a z", ":1"),
            ("SREM s z", ":0"),
            ("SCARD s", ":3"),
            ("SADD s ''", ":1"),
            ("SISMEMBER s ''", ":1"),
            ("SREM s b c d ''", ":4"),
            ("EXISTS s", ":0"),
            ("TYPE s", "+none"),
            // Missing keys.
            ("SCARD nokey", ":0"),
            ("SMEMBERS nokey", "[]"),
            ("SISMEMBER nokey a", ":0"),
            ("SMISMEMBER nokey a b", "[:0, :0]"),
            ("SREM nokey a", ":0"),
            ("SRANDMEMBER nokey", "nil"),
            ("SRANDMEMBER nokey 5", "[]"),
            ("SPOP nokey", "nil"),
            ("SPOP nokey 3", "[]"),
            ("SSCAN nokey 0", "[0, []]"),
            ("SADD t x", ":1"),
            ("TYPE t", "+set"),
            ("DBSIZE", ":1"),
        ],
    );
}

#[test]
fn set_algebra() {
    let s = Server::strata(&[]);
    check(
        &s,
        &[
            ("SADD a 1 2 3 4 x", ":5"),
            ("SADD b 3 4 5 x y", ":5"),
            ("SADD c 4 x z", ":3"),
            ("SINTER a b", "[3, 4, x]"),
            ("SINTER a b c", "[4, x]"),
            ("SINTER a nokey", "[]"),
            ("SINTER a", "[1, 2, 3, 4, x]"),
            ("SUNION a b", "[1, 2, 3, 4, 5, x, y]"),
            ("SUNION a nokey c", "[1, 2, 3, 4, x, z]"),
            ("SDIFF a b", "[1, 2]"),
            ("SDIFF a b c", "[1, 2]"),
            ("SDIFF a nokey", "[1, 2, 3, 4, x]"),
            ("SDIFF nokey a", "[]"),
            ("SDIFF a a", "[]"),
            ("SINTERCARD 2 a b", ":3"),
            ("SINTERCARD 3 a b c", ":2"),
            ("SINTERCARD 2 a b LIMIT 2", ":2"),
            ("SINTERCARD 2 a b LIMIT 0", ":3"),
            ("SINTERCARD 2 a nokey", ":0"),
            ("SINTERCARD 1 a limit 100", ":5"),
            ("SINTERSTORE d a b", ":3"),
            ("SMEMBERS d", "[3, 4, x]"),
            ("OBJECT ENCODING d", "hashtable"),
            ("SINTERSTORE d a c", ":2"),
            ("SMEMBERS d", "[4, x]"),
            ("SUNIONSTORE d a b", ":7"),
            ("SCARD d", ":7"),
            ("SDIFFSTORE d a b", ":2"),
            ("SMEMBERS d", "[1, 2]"),
            ("OBJECT ENCODING d", "intset"),
            ("SDIFFSTORE d a a", ":0"),
            ("EXISTS d", ":0"),
            ("SET d str", "+OK"),
            ("SINTERSTORE d a nokey", ":0"),
            ("EXISTS d", ":0"),
            ("SET d str", "+OK"),
            ("EXPIRE d 100", ":1"),
            ("SUNIONSTORE d c", ":3"),
            ("TYPE d", "+set"),
            ("TTL d", ":-1"),
            // The destination may be a source.
            ("SUNIONSTORE a a c", ":6"),
            ("SMEMBERS a", "[1, 2, 3, 4, x, z]"),
            ("SINTERSTORE a a b", ":3"),
            ("SMEMBERS a", "[3, 4, x]"),
            // SMOVE.
            ("SMOVE a b 3", ":1"),
            ("SMEMBERS a", "[4, x]"),
            ("SMOVE a b nope", ":0"),
            ("SMOVE a new 4", ":1"),
            ("SMEMBERS new", "[4]"),
            ("OBJECT ENCODING new", "intset"),
            ("SMOVE a new x", ":1"),
            ("EXISTS a", ":0"),
            ("SMEMBERS new", "[4, x]"),
            ("OBJECT ENCODING new", "hashtable"),
            ("SMOVE new new 4", ":1"),
            ("SMOVE new new q", ":0"),
            ("SMOVE nokey new 4", ":0"),
            ("DBSIZE", ":4"),
        ],
    );
}

#[test]
fn set_errors_and_wrong_type() {
    let s = Server::strata(&[]);
    let mut steps: Vec<(&str, &str)> = vec![("SET str x", "+OK"), ("SADD s 1", ":1")];
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SCARD str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SMEMBERS str",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SPOP str",
        "SPOP str 2",
        "SMOVE str s a",
        "SMOVE s str 1",
        "SINTER s str",
        "SINTER nokey str",
        "SINTERCARD 2 nokey str",
        "SINTERSTORE d s str",
        "SUNION s str",
        "SUNIONSTORE d str",
        "SDIFF s str",
        "SDIFF nokey str",
        "SDIFFSTORE d s str",
        "SSCAN str 0",
    ] {
        steps.push((cmd, WRONG));
    }
    steps.extend_from_slice(&[
        ("EXISTS d", ":0"),
        ("SMOVE nokey str a", ":0"),
        ("SMOVE s s 1", ":1"),
        ("GET s", WRONG),
        ("HSET s f v", WRONG),
        ("SADD s", "!ERR wrong number of arguments for 'sadd' command"),
        ("SREM s", "!ERR wrong number of arguments for 'srem' command"),
        ("SCARD", "!ERR wrong number of arguments for 'scard' command"),
        ("SISMEMBER s", "!ERR wrong number of arguments for 'sismember' command"),
        ("SMISMEMBER s", "!ERR wrong number of arguments for 'smismember' command"),
        ("SMEMBERS s x", "!ERR wrong number of arguments for 'smembers' command"),
        ("SMOVE s d", "!ERR wrong number of arguments for 'smove' command"),
        ("SINTER", "!ERR wrong number of arguments for 'sinter' command"),
        ("SINTERSTORE d", "!ERR wrong number of arguments for 'sinterstore' command"),
        ("SUNION", "!ERR wrong number of arguments for 'sunion' command"),
        ("SUNIONSTORE d", "!ERR wrong number of arguments for 'sunionstore' command"),
        ("SDIFF", "!ERR wrong number of arguments for 'sdiff' command"),
        ("SDIFFSTORE d", "!ERR wrong number of arguments for 'sdiffstore' command"),
        ("SINTERCARD 1", "!ERR wrong number of arguments for 'sintercard' command"),
        ("SSCAN s", "!ERR wrong number of arguments for 'sscan' command"),
        ("SPOP", "!ERR wrong number of arguments for 'spop' command"),
        ("SRANDMEMBER", "!ERR wrong number of arguments for 'srandmember' command"),
        ("SINTERCARD 0 s", "!ERR numkeys should be greater than 0"),
        ("SINTERCARD x s", "!ERR numkeys should be greater than 0"),
        ("SINTERCARD -1 s", "!ERR numkeys should be greater than 0"),
        ("SINTERCARD 2 s", "!ERR Number of keys can't be greater than number of args"),
        ("SINTERCARD 1 s LIMIT -1", "!ERR LIMIT can't be negative"),
        ("SINTERCARD 1 s LIMIT x", "!ERR LIMIT can't be negative"),
        ("SINTERCARD 1 s LIMIT", "!ERR syntax error"),
        ("SINTERCARD 1 s FOO 1", "!ERR syntax error"),
        ("SPOP s -1", "!ERR value is out of range, must be positive"),
        ("SPOP s x", "!ERR value is out of range, must be positive"),
        ("SPOP s 1 2", "!ERR syntax error"),
        ("SRANDMEMBER s 1 2", "!ERR syntax error"),
        ("SRANDMEMBER s x", "!ERR value is not an integer or out of range"),
        (
            "SRANDMEMBER s -9223372036854775808",
            "!ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        ("SRANDMEMBER s 0", "[]"),
        ("SRANDMEMBER s -10000001", "!ERR value is out of range"),
        ("SRANDMEMBER s -2", "[1, 1]"),
        ("SPOP s 0", "[]"),
        ("SSCAN s x", "!ERR invalid cursor"),
        ("SSCAN s 0 COUNT 0", "!ERR syntax error"),
        ("SSCAN s 0 MATCH", "!ERR syntax error"),
        ("SSCAN s 0 TYPE set", "!ERR syntax error"),
        ("SMEMBERS s", "[1]"),
    ]);
    check(&s, &steps);
}

#[test]
fn set_encodings() {
    let s = Server::strata(&[]);
    let members: String = (0..512).map(|i| format!(" {i}")).collect();
    let fill = format!("SADD big{members}");
    check(
        &s,
        &[
            ("SADD i 1 -5 9223372036854775807", ":3"),
            ("OBJECT ENCODING i", "intset"),
            ("SADD i 01", ":1"),
            ("OBJECT ENCODING i", "hashtable"),
            ("SREM i 01", ":1"),
            ("OBJECT ENCODING i", "hashtable"),
            ("SADD j 9223372036854775808", ":1"),
            ("OBJECT ENCODING j", "hashtable"),
            ("SADD k -0", ":1"),
            ("OBJECT ENCODING k", "hashtable"),
            (&fill, ":512"),
            ("OBJECT ENCODING big", "intset"),
        ],
    );
    // SPOP's reply is random: check the rest by hand.
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(
            compact(&c.cmd(&fill.split(' ').collect::<Vec<_>>())),
            ":512"
        );
        assert_eq!(run(&mut c, "SADD big 512"), ":1");
        assert_eq!(run(&mut c, "OBJECT ENCODING big"), "hashtable");
        assert_eq!(items(&run(&mut c, "SPOP big 500")).len(), 500);
        assert_eq!(run(&mut c, "SCARD big"), ":13");
        assert_eq!(run(&mut c, "OBJECT ENCODING big"), "hashtable");
    }
}

#[test]
fn spop_and_srandmember_properties() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        let all: BTreeSet<String> = (0..10).map(|i| format!("m{i}")).collect();
        let add = |c: &mut Client| {
            let mut args = vec!["SADD", "s"];
            args.extend(all.iter().map(String::as_str));
            assert_eq!(compact(&c.cmd(&args)), ":10");
        };
        add(&mut c);
        for _ in 0..10 {
            let one = run(&mut c, "SRANDMEMBER s");
            assert!(all.contains(&one));
            let four = items(&run(&mut c, "SRANDMEMBER s 4"));
            assert_eq!(four.len(), 4);
            assert_eq!(four.iter().collect::<BTreeSet<_>>().len(), 4);
            assert!(four.iter().all(|m| all.contains(m)));
            let whole: BTreeSet<String> = items(&run(&mut c, "SRANDMEMBER s 100"))
                .into_iter()
                .collect();
            assert_eq!(whole, all);
            let rep = items(&run(&mut c, "SRANDMEMBER s -25"));
            assert_eq!(rep.len(), 25);
            assert!(rep.iter().all(|m| all.contains(m)));
        }
        assert_eq!(run(&mut c, "SCARD s"), ":10");
        // SPOP removes what it returns.
        let one = run(&mut c, "SPOP s");
        assert!(all.contains(&one));
        assert_eq!(run(&mut c, &format!("SISMEMBER s {one}")), ":0");
        let three = items(&run(&mut c, "SPOP s 3"));
        assert_eq!(three.iter().collect::<BTreeSet<_>>().len(), 3);
        assert!(!three.contains(&one));
        assert_eq!(run(&mut c, "SCARD s"), ":6");
        let rest: BTreeSet<String> = items(&run(&mut c, "SPOP s 100")).into_iter().collect();
        assert_eq!(rest.len(), 6);
        let mut popped: BTreeSet<String> = rest;
        popped.insert(one);
        popped.extend(three);
        assert_eq!(popped, all);
        assert_eq!(run(&mut c, "EXISTS s"), ":0");
        assert_eq!(keyspace_counts(&mut c), (0, 0));
        // Popping the last member deletes the key.
        assert_eq!(run(&mut c, "SADD t only"), ":1");
        assert_eq!(run(&mut c, "SPOP t"), "only");
        assert_eq!(run(&mut c, "EXISTS t"), ":0");
        // Over many draws every member shows up.
        add(&mut c);
        let seen: BTreeSet<String> = items(&run(&mut c, "SRANDMEMBER s -1000"))
            .into_iter()
            .collect();
        assert_eq!(seen, all);
    }
}

#[test]
fn sscan_iterates_every_member_once() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(run(&mut c, "SADD small 3 1 2"), ":3");
        assert_eq!(run(&mut c, "SSCAN small 0 COUNT 1"), "[0, [1, 2, 3]]");
        assert_eq!(run(&mut c, "SSCAN small 0 MATCH 2"), "[0, [2]]");
        let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        let mut args = vec!["SADD", "big"];
        args.extend(members.iter().map(String::as_str));
        assert_eq!(compact(&c.cmd(&args)), ":1000");
        let (got, calls) = scan_all(&mut c, "SSCAN", "big", &["COUNT", "33"]);
        assert!(calls >= 1000 / 33);
        assert_eq!(got.len(), 1000);
        assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 1000);
        let (got, _) = scan_all(&mut c, "SSCAN", "big", &["MATCH", "m99*"]);
        let mut got = got;
        got.sort();
        assert_eq!(
            got,
            vec![
                "m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998",
                "m999"
            ]
        );
    }
}

#[test]
fn set_keyspace_commands_and_restart() {
    let mut s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(run(&mut c, "SADD s a b c"), ":3");
        assert_eq!(run(&mut c, "SADD t 1 2"), ":2");
        assert_eq!(keyspace_counts(&mut c), (2, 0));
        assert_eq!(run(&mut c, "EXPIRE s 1000"), ":1");
        assert_eq!(keyspace_counts(&mut c), (2, 1));
        assert_eq!(run(&mut c, "RENAME s s2"), "+OK");
        assert_eq!(run(&mut c, "SMEMBERS s2"), "[a, b, c]");
        assert_eq!(run(&mut c, "COPY s2 s3"), ":1");
        assert_eq!(run(&mut c, "SREM s3 a"), ":1");
        assert_eq!(run(&mut c, "SCARD s2"), ":3");
        assert_eq!(run(&mut c, "SCARD s3"), ":2");
        assert_eq!(keyspace_counts(&mut c), (3, 2));
        assert_eq!(run(&mut c, "MOVE t 1"), ":1");
        assert_eq!(run(&mut c, "SELECT 1"), "+OK");
        assert_eq!(run(&mut c, "SMEMBERS t"), "[1, 2]");
        assert_eq!(run(&mut c, "OBJECT ENCODING t"), "intset");
        assert_eq!(run(&mut c, "SELECT 0"), "+OK");
        assert_eq!(run(&mut c, "TYPE s2"), "+set");
        assert_eq!(run(&mut c, "OBJECT ENCODING s2"), "hashtable");
        assert_eq!(run(&mut c, "SET s3 x"), "+OK");
        assert_eq!(run(&mut c, "TYPE s3"), "+string");
        assert_eq!(run(&mut c, "DEL s3"), ":1");
        assert_eq!(run(&mut c, "SADD s3 z"), ":1");
        assert_eq!(run(&mut c, "SMEMBERS s3"), "[z]");
        assert_eq!(run(&mut c, "PEXPIRE s3 1"), ":1");
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert_eq!(run(&mut c, "SMEMBERS s3"), "[]");
        assert_eq!(run(&mut c, "SADD s3 y"), ":1");
        assert_eq!(run(&mut c, "SMEMBERS s3"), "[y]");
        assert_eq!(run(&mut c, "DBSIZE"), ":2");
    }
    s.restart();
    for cold in [false, true] {
        let mut c = s.client(cold);
        assert_eq!(run(&mut c, "SMEMBERS s2"), "[a, b, c]");
        assert_eq!(run(&mut c, "SMEMBERS s3"), "[y]");
        assert_eq!(keyspace_counts(&mut c), (2, 1));
        assert_eq!(run(&mut c, "SELECT 1"), "+OK");
        assert_eq!(run(&mut c, "OBJECT ENCODING t"), "intset");
        assert_eq!(run(&mut c, "SCARD t"), ":2");
    }
}

#[test]
fn set_scripts_match_redis() {
    compare(&[
        script(&[
            "SADD s 1 2 3 a b",
            "SADD s 3 c c",
            "SMEMBERS s",
            "SCARD s",
            "SISMEMBER s c",
            "SMISMEMBER s a z 1",
            "SREM s a z",
            "OBJECT ENCODING s",
            "SADD i 5 -3 10",
            "OBJECT ENCODING i",
            "SADD i 007",
            "OBJECT ENCODING i",
            "SADD t 2 3 x y",
            "SINTER s t",
            "SINTER s t nokey",
            "SINTERCARD 2 s t",
            "SINTERCARD 2 s t LIMIT 1",
            "SINTERCARD 3 s t",
            "SINTERCARD 0 s",
            "SINTERCARD 1 s LIMIT -2",
            "SUNION s t nokey",
            "SDIFF s t",
            "SDIFF t s",
            "SDIFF s s",
            "SINTERSTORE d s t",
            "SMEMBERS d",
            "OBJECT ENCODING d",
            "SUNIONSTORE d s t",
            "SMEMBERS d",
            "SDIFFSTORE d s t",
            "SMEMBERS d",
            "SDIFFSTORE d s s",
            "EXISTS d",
            "SMOVE s t 1",
            "SMOVE s t 1",
            "SMOVE s new b",
            "OBJECT ENCODING new",
            "SMOVE t new 9",
            "SMOVE s s c",
            "SMEMBERS s",
            "SMEMBERS t",
            "SMEMBERS new",
            "SPOP nokey",
            "SPOP nokey 2",
            "SPOP s -1",
            "SRANDMEMBER nokey",
            "SRANDMEMBER nokey 0",
            "SRANDMEMBER s x",
            "SSCAN nokey 0",
            "SSCAN s x",
            "SSCAN i 0 COUNT 0",
            "DBSIZE",
        ]),
        script(&[
            "SET str v",
            "SADD str a",
            "SMEMBERS str",
            "SINTER nokey str",
            "SUNIONSTORE d str",
            "SMOVE nokey str a",
            "SADD s a",
            "SMOVE s str a",
            "SINTERSTORE str s",
            "TYPE str",
            "SMEMBERS str",
            "SADD s b",
            "EXPIRE s 100",
            "RENAME s s2",
            "TTL s2",
            "SMEMBERS s2",
            "COPY s2 s3",
            "SREM s3 a b",
            "EXISTS s3",
            "DEL s2",
            "DBSIZE",
        ]),
    ]);
}

/// A random set command (or a generic one on the same keys), valid or not. Commands with a
/// random reply (SPOP, SRANDMEMBER) and SSCAN (its order) are left out.
fn random_set_command(rng: &mut StdRng) -> Vec<String> {
    let key = |rng: &mut StdRng| format!("k{}", rng.random_range(0..4));
    let member = |rng: &mut StdRng| match rng.random_range(0..4) {
        0 => format!("m{}", rng.random_range(0..5)),
        1 => "".to_string(),
        _ => rng.random_range(-3..6).to_string(),
    };
    let k = key(rng);
    let m = member(rng);
    let keys = |rng: &mut StdRng| -> Vec<String> {
        (0..rng.random_range(1..4)).map(|_| key(rng)).collect()
    };
    let with = |name: &str, mut rest: Vec<String>| {
        let mut v = vec![name.to_string()];
        v.append(&mut rest);
        v
    };
    match rng.random_range(0..24) {
        0..=2 => vec!["SADD".into(), k, m, member(rng), member(rng)],
        3 => vec!["SREM".into(), k, m, member(rng)],
        4 => vec!["SCARD".into(), k],
        5 => vec!["SISMEMBER".into(), k, m],
        6 => vec!["SMISMEMBER".into(), k, m, member(rng)],
        7 => vec!["SMEMBERS".into(), k],
        8 => vec!["SMOVE".into(), k, key(rng), m],
        9 => with("SINTER", keys(rng)),
        10 => {
            let ks = keys(rng);
            let mut v = vec!["SINTERCARD".into(), ks.len().to_string()];
            v.extend(ks);
            if rng.random_bool(0.5) {
                v.extend(["LIMIT".into(), rng.random_range(0..3).to_string()]);
            }
            v
        }
        11 => with("SINTERSTORE", keys(rng)),
        12 => with("SUNION", keys(rng)),
        13 => with("SUNIONSTORE", keys(rng)),
        14 => with("SDIFF", keys(rng)),
        15 => with("SDIFFSTORE", keys(rng)),
        16 => vec!["DEL".into(), k],
        17 => vec!["TYPE".into(), k],
        18 => vec!["EXPIRE".into(), k, "100".into()],
        19 => vec!["RENAME".into(), k, key(rng)],
        20 => vec!["SET".into(), k, m],
        21 => vec!["OBJECT".into(), "ENCODING".into(), k],
        22 => vec!["HSET".into(), k, m, "v".into()],
        _ => vec!["DBSIZE".into()],
    }
}

#[test]
fn random_set_sequences_match_redis() {
    let mut rng = StdRng::seed_from_u64(0x5345_5453);
    let scripts: Vec<Vec<Vec<String>>> = (0..25)
        .map(|_| (0..60).map(|_| random_set_command(&mut rng)).collect())
        .collect();
    compare(&scripts);
}

/// Draining a set by SPOP pops every member exactly once; once the pops outnumber the members
/// left, the set's range is compacted in the background (the deleted records would otherwise
/// slow every later pop), and the members left are untouched by it.
#[test]
fn spop_drain_compacts_the_range_and_loses_nothing() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    let all: BTreeSet<String> = (0..3000).map(|i| format!("m{i:05}")).collect();
    for chunk in all.iter().collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["SADD", "s"];
        args.extend(chunk.iter().map(|m| m.as_str()));
        assert_eq!(c.cmd(&args), b":500\r\n");
    }
    // 1,700 pops leave 1,300 members: more pops than members left (plus 256), so a compaction
    // is due; twice the members left, the rule before, would wait for 2,300 pops.
    let batch: Vec<u8> = (0..1700)
        .flat_map(|_| crate::util::encode(&[b"SPOP", b"s"]))
        .collect();
    c.send(&batch);
    let mut popped = BTreeSet::new();
    for _ in 0..1700 {
        let r = String::from_utf8(c.reply()).expect("utf8");
        let m = r.lines().nth(1).expect("a member").to_string();
        assert!(popped.insert(m), "popped twice");
    }
    assert!(
        crate::tiering::info(&s, "tiering", "collection_compactions") >= 1,
        "no compaction after 1700 pops of 3000"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut cl = s.client(true);
    let left = items(&compact(&cl.cmd(&["SMEMBERS", "s"])));
    let left: BTreeSet<String> = left.into_iter().collect();
    assert_eq!(left.len(), 1300);
    assert!(left.is_disjoint(&popped));
    assert_eq!(left.union(&popped).cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(cl.s(&["SPOP", "s", "2000"]).lines().count(), 2 * 1300 + 1);
    assert_eq!(cl.cmd(&["EXISTS", "s"]), b":0\r\n");
}
