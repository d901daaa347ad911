//! Integration tests of the list family (normal and cold mode): every command through the real
//! binary, exact replies and errors, the generic commands on lists, a restart, and differential
//! runs against redis-server (hand-written and seeded random sequences).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::differential::{compare, script};
use crate::util::{Client, Server};

/// Runs `(command, expected reply)` steps, each command split on spaces.
fn check(c: &mut Client, steps: &[(&str, &str)]) {
    for (i, (cmd, want)) in steps.iter().enumerate() {
        let args: Vec<&str> = cmd.split(' ').collect();
        assert_eq!(c.s(&args), *want, "step {i}: {cmd}");
    }
}

/// The same steps in warm and cold mode on one server, from an empty keyspace each time.
fn both_modes(steps: &[(&str, &str)]) {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        assert_eq!(c.s(&["FLUSHALL"]), "+OK\r\n");
        check(&mut c, steps);
    }
}

#[test]
fn push_pop_and_reads() {
    both_modes(&[
        ("LPUSH l c b a", ":3\r\n"),
        ("RPUSH l d e", ":5\r\n"),
        ("LLEN l", ":5\r\n"),
        (
            "LRANGE l 0 -1",
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n",
        ),
        ("LRANGE l -2 100", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n"),
        ("LRANGE l 3 1", "*0\r\n"),
        ("LRANGE l 9 10", "*0\r\n"),
        ("LRANGE nokey 0 -1", "*0\r\n"),
        ("LINDEX l 0", "$1\r\na\r\n"),
        ("LINDEX l -1", "$1\r\ne\r\n"),
        ("LINDEX l 5", "$-1\r\n"),
        ("LINDEX l -6", "$-1\r\n"),
        ("LINDEX nokey 0", "$-1\r\n"),
        ("LPUSHX nokey x", ":0\r\n"),
        ("RPUSHX nokey x", ":0\r\n"),
        ("EXISTS nokey", ":0\r\n"),
        ("LPUSHX l z", ":6\r\n"),
        ("RPUSHX l y x", ":8\r\n"),
        ("LPOP l", "$1\r\nz\r\n"),
        ("RPOP l", "$1\r\nx\r\n"),
        ("LPOP l 2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("RPOP l 2", "*2\r\n$1\r\ny\r\n$1\r\ne\r\n"),
        ("LPOP l 0", "*0\r\n"),
        ("LRANGE l 0 -1", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"),
        ("RPOP l 10", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n"),
        ("EXISTS l", ":0\r\n"),
        ("LPOP l", "$-1\r\n"),
        ("LPOP l 1", "*-1\r\n"),
        ("RPOP l 0", "*-1\r\n"),
        ("LLEN l", ":0\r\n"),
        ("DBSIZE", ":0\r\n"),
    ]);
}

#[test]
fn set_trim_rem_insert_pos() {
    both_modes(&[
        ("RPUSH l a b c a b c a", ":7\r\n"),
        ("LSET l 0 A", "+OK\r\n"),
        ("LSET l -1 Z", "+OK\r\n"),
        ("LSET l 7 x", "-ERR index out of range\r\n"),
        ("LSET nokey 0 x", "-ERR no such key\r\n"),
        (
            "LRANGE l 0 -1",
            "*7\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nZ\r\n",
        ),
        ("LPOS l b", ":1\r\n"),
        ("LPOS l b RANK 2", ":4\r\n"),
        ("LPOS l b RANK -1", ":4\r\n"),
        ("LPOS l b RANK -2", ":1\r\n"),
        ("LPOS l b COUNT 0", "*2\r\n:1\r\n:4\r\n"),
        ("LPOS l c COUNT 1 RANK -1", "*1\r\n:5\r\n"),
        ("LPOS l c MAXLEN 2", "$-1\r\n"),
        ("LPOS l c MAXLEN 3 COUNT 0", "*1\r\n:2\r\n"),
        ("LPOS l nope", "$-1\r\n"),
        ("LPOS l nope COUNT 0", "*0\r\n"),
        ("LPOS nokey a", "$-1\r\n"),
        ("LPOS nokey a COUNT 2", "*0\r\n"),
        ("LREM l 0 b", ":2\r\n"),
        ("LREM l -1 c", ":1\r\n"),
        ("LREM l 1 nope", ":0\r\n"),
        ("LREM nokey 1 a", ":0\r\n"),
        (
            "LRANGE l 0 -1",
            "*4\r\n$1\r\nA\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nZ\r\n",
        ),
        ("LINSERT l BEFORE c x", ":5\r\n"),
        ("LINSERT l after Z y", ":6\r\n"),
        ("LINSERT l AFTER A w", ":7\r\n"),
        ("LINSERT l BEFORE nope q", ":-1\r\n"),
        ("LINSERT nokey BEFORE a q", ":0\r\n"),
        (
            "LRANGE l 0 -1",
            "*7\r\n$1\r\nA\r\n$1\r\nw\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nZ\r\n$1\r\ny\r\n",
        ),
        ("LTRIM l 1 -2", "+OK\r\n"),
        (
            "LRANGE l 0 -1",
            "*5\r\n$1\r\nw\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nZ\r\n",
        ),
        ("LTRIM l 0 100", "+OK\r\n"),
        ("LLEN l", ":5\r\n"),
        ("LTRIM nokey 0 1", "+OK\r\n"),
        ("LTRIM l 3 1", "+OK\r\n"),
        ("EXISTS l", ":0\r\n"),
        ("RPUSH l a", ":1\r\n"),
        ("LREM l 0 a", ":1\r\n"),
        ("EXISTS l", ":0\r\n"),
    ]);
}

#[test]
fn move_and_mpop() {
    both_modes(&[
        ("RPUSH src a b c", ":3\r\n"),
        ("LMOVE src dst LEFT RIGHT", "$1\r\na\r\n"),
        ("LMOVE src dst RIGHT LEFT", "$1\r\nc\r\n"),
        ("LRANGE dst 0 -1", "*2\r\n$1\r\nc\r\n$1\r\na\r\n"),
        ("RPOPLPUSH src dst", "$1\r\nb\r\n"),
        ("EXISTS src", ":0\r\n"),
        ("RPOPLPUSH src dst", "$-1\r\n"),
        ("LMOVE src dst LEFT LEFT", "$-1\r\n"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"),
        // Same source and destination: a rotation.
        ("LMOVE dst dst LEFT RIGHT", "$1\r\nb\r\n"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("RPOPLPUSH dst dst", "$1\r\nb\r\n"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"),
        ("LMOVE dst dst LEFT LEFT", "$1\r\nb\r\n"),
        ("LMOVE dst dst RIGHT RIGHT", "$1\r\na\r\n"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"),
        ("RPUSH one x", ":1\r\n"),
        ("LMOVE one one RIGHT LEFT", "$1\r\nx\r\n"),
        ("LRANGE one 0 -1", "*1\r\n$1\r\nx\r\n"),
        ("SET s v", "+OK\r\n"),
        (
            "LMOVE dst s LEFT LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            "LMOVE s dst LEFT LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        ("LMOVE nokey s LEFT LEFT", "$-1\r\n"),
        ("LMOVE dst x UP LEFT", "-ERR syntax error\r\n"),
        ("LLEN dst", ":3\r\n"),
        (
            "LMPOP 2 nokey dst LEFT",
            "*2\r\n$3\r\ndst\r\n*1\r\n$1\r\nb\r\n",
        ),
        (
            "LMPOP 1 dst RIGHT COUNT 5",
            "*2\r\n$3\r\ndst\r\n*2\r\n$1\r\na\r\n$1\r\nc\r\n",
        ),
        ("LMPOP 1 dst RIGHT", "*-1\r\n"),
        (
            "LMPOP 2 nokey s LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            "LMPOP 0 dst LEFT",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            "LMPOP x dst LEFT",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        ("LMPOP 2 dst LEFT", "-ERR syntax error\r\n"),
        ("LMPOP 1 dst MIDDLE", "-ERR syntax error\r\n"),
        (
            "LMPOP 1 dst LEFT COUNT 0",
            "-ERR count should be greater than 0\r\n",
        ),
        ("LMPOP 1 dst LEFT COUNT 1 COUNT 1", "-ERR syntax error\r\n"),
        (
            "LMPOP 9223372036854775807 dst LEFT",
            "-ERR syntax error\r\n",
        ),
    ]);
}

#[test]
fn errors_match_redis() {
    const WRONG: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    both_modes(&[
        ("SET s v", "+OK\r\n"),
        ("LPUSH s a", WRONG),
        ("RPUSH s a", WRONG),
        ("LPUSHX s a", WRONG),
        ("RPUSHX s a", WRONG),
        ("LPOP s", WRONG),
        ("RPOP s 2", WRONG),
        ("LLEN s", WRONG),
        ("LINDEX s 0", WRONG),
        ("LSET s 0 a", WRONG),
        ("LRANGE s 0 1", WRONG),
        ("LTRIM s 0 1", WRONG),
        ("LREM s 0 a", WRONG),
        ("LINSERT s BEFORE a b", WRONG),
        ("LPOS s a", WRONG),
        ("RPOPLPUSH s d", WRONG),
        ("RPUSH l a b", ":2\r\n"),
        ("LPOP l -1", "-ERR value is out of range, must be positive\r\n"),
        ("LPOP l x", "-ERR value is out of range, must be positive\r\n"),
        ("RPOP s -1", "-ERR value is out of range, must be positive\r\n"),
        ("LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command\r\n"),
        ("LPUSH l", "-ERR wrong number of arguments for 'lpush' command\r\n"),
        ("LINDEX l x", "-ERR value is not an integer or out of range\r\n"),
        ("LSET l x a", "-ERR value is not an integer or out of range\r\n"),
        ("LRANGE l 0 x", "-ERR value is not an integer or out of range\r\n"),
        ("LTRIM l x 0", "-ERR value is not an integer or out of range\r\n"),
        ("LREM l x a", "-ERR value is not an integer or out of range\r\n"),
        ("LINSERT l MIDDLE a b", "-ERR syntax error\r\n"),
        ("LINSERT s MIDDLE a b", "-ERR syntax error\r\n"),
        ("LPOS l a RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        ("LPOS l a RANK x", "-ERR value is not an integer or out of range\r\n"),
        ("LPOS l a COUNT -1", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a COUNT x", "-ERR COUNT can't be negative\r\n"),
        ("LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative\r\n"),
        ("LPOS l a FOO", "-ERR syntax error\r\n"),
        ("LPOS l a RANK", "-ERR syntax error\r\n"),
        ("LPOS l a RANK -9223372036854775808", ":0\r\n"),
        ("LPOS l a RANK 1 COUNT 1 COUNT 2", "*1\r\n:0\r\n"),
        ("LRANGE l 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
    ]);
}

#[test]
fn generic_commands_on_lists() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        generic_steps(&mut c);
    }
}

fn generic_steps(c: &mut Client) {
    check(
        c,
        &[
            ("RPUSH l a b c", ":3\r\n"),
            ("TYPE l", "+list\r\n"),
            ("OBJECT ENCODING l", "$9\r\nquicklist\r\n"),
            ("DBSIZE", ":1\r\n"),
            ("COPY l l2", ":1\r\n"),
            ("RPUSH l2 d", ":4\r\n"),
            ("LLEN l", ":3\r\n"),
            ("RENAME l2 l3", "+OK\r\n"),
            (
                "LRANGE l3 0 -1",
                "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
            ),
            ("EXISTS l2", ":0\r\n"),
            ("DBSIZE", ":2\r\n"),
            ("EXPIRE l3 100", ":1\r\n"),
            ("TTL l3", ":100\r\n"),
            ("LPUSH l3 z", ":5\r\n"),
            ("TTL l3", ":100\r\n"),
            ("PEXPIRE l3 1", ":1\r\n"),
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    check(
        c,
        &[
            ("LLEN l3", ":0\r\n"),
            ("EXISTS l3", ":0\r\n"),
            ("LPUSH l3 fresh", ":1\r\n"),
            ("LRANGE l3 0 -1", "*1\r\n$5\r\nfresh\r\n"),
            ("DEL l l3", ":2\r\n"),
            ("DBSIZE", ":0\r\n"),
            ("RPUSH l x", ":1\r\n"),
            ("SET l str", "+OK\r\n"),
            ("TYPE l", "+string\r\n"),
            ("RPUSH l2 a", ":1\r\n"),
            ("RENAME l2 l", "+OK\r\n"),
            ("LRANGE l 0 -1", "*1\r\n$1\r\na\r\n"),
        ],
    );
}

/// A long list against a model: LRANGE, LINDEX, LPOS, LREM, LINSERT and LTRIM across many items.
#[test]
fn long_list_matches_a_model() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        let mut model: Vec<String> = Vec::new();
        for chunk in 0..10 {
            let mut args = vec!["RPUSH".to_string(), "big".into()];
            for i in 0..300 {
                let v = format!("v{}", (chunk * 300 + i) % 97);
                model.push(v.clone());
                args.push(v);
            }
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(c.s(&a), format!(":{}\r\n", model.len()));
        }
        let range = |c: &mut Client, from: i64, to: i64| {
            c.s(&["LRANGE", "big", &from.to_string(), &to.to_string()])
        };
        let expect = |items: &[String]| {
            let mut s = format!("*{}\r\n", items.len());
            for i in items {
                s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
            }
            s
        };
        assert_eq!(range(&mut c, 1000, 1100), expect(&model[1000..=1100]));
        assert_eq!(
            c.s(&["LINDEX", "big", "2999"]),
            format!("$3\r\n{}\r\n", model[2999])
        );
        let want: Vec<usize> = model
            .iter()
            .enumerate()
            .filter(|(_, v)| *v == "v5")
            .map(|(i, _)| i)
            .collect();
        let mut pos = format!("*{}\r\n", want.len());
        for i in &want {
            pos.push_str(&format!(":{i}\r\n"));
        }
        assert_eq!(c.s(&["LPOS", "big", "v5", "COUNT", "0"]), pos);
        assert_eq!(
            c.s(&["LPOS", "big", "v5", "RANK", "-2"]),
            format!(":{}\r\n", want[want.len() - 2])
        );
        // Remove near the head (the head side shifts) and near the tail (the tail side shifts).
        assert_eq!(c.s(&["LREM", "big", "2", "v3"]), ":2\r\n");
        for _ in 0..2 {
            let i = model.iter().position(|v| v == "v3").expect("v3");
            model.remove(i);
        }
        assert_eq!(c.s(&["LREM", "big", "-3", "v90"]), ":3\r\n");
        for _ in 0..3 {
            let i = model.iter().rposition(|v| v == "v90").expect("v90");
            model.remove(i);
        }
        assert_eq!(
            c.s(&["LINSERT", "big", "AFTER", "v96", "new"]),
            format!(":{}\r\n", model.len() + 1)
        );
        let i = model.iter().position(|v| v == "v96").expect("v96");
        model.insert(i + 1, "new".into());
        assert_eq!(
            c.s(&["LINSERT", "big", "BEFORE", "v10", "new2"]),
            format!(":{}\r\n", model.len() + 1)
        );
        let i = model.iter().position(|v| v == "v10").expect("v10");
        model.insert(i, "new2".into());
        assert_eq!(range(&mut c, 0, -1), expect(&model));
        assert_eq!(c.s(&["LTRIM", "big", "100", "-200"]), "+OK\r\n");
        model = model[100..model.len() - 199].to_vec();
        assert_eq!(range(&mut c, 0, -1), expect(&model));
        assert_eq!(c.s(&["LLEN", "big"]), format!(":{}\r\n", model.len()));
        assert_eq!(
            c.s(&["LREM", "big", "0", "v7"]),
            format!(":{}\r\n", model.iter().filter(|v| *v == "v7").count())
        );
        model.retain(|v| v != "v7");
        assert_eq!(range(&mut c, 0, -1), expect(&model));
    }
}

#[test]
fn lists_survive_a_restart() {
    let mut s = Server::strata(&[]);
    let mut c = s.client(false);
    check(
        &mut c,
        &[
            ("RPUSH l a b c d", ":4\r\n"),
            ("LPOP l", "$1\r\na\r\n"),
            ("LPUSH l z", ":4\r\n"),
            ("LSET l 1 B", "+OK\r\n"),
            ("LINSERT l AFTER c x", ":5\r\n"),
            ("RPUSH other 1", ":1\r\n"),
        ],
    );
    drop(c);
    s.restart();
    let mut c = s.client(false);
    check(
        &mut c,
        &[
            (
                "LRANGE l 0 -1",
                "*5\r\n$1\r\nz\r\n$1\r\nB\r\n$1\r\nc\r\n$1\r\nx\r\n$1\r\nd\r\n",
            ),
            ("LLEN l", ":5\r\n"),
            ("LRANGE other 0 -1", "*1\r\n$1\r\n1\r\n"),
            ("DBSIZE", ":2\r\n"),
            ("RPUSH l e", ":6\r\n"),
            ("LINDEX l -1", "$1\r\ne\r\n"),
        ],
    );
}

#[test]
fn hand_written_list_sequences_match_redis() {
    compare(&[
        script(&[
            "LPUSH l a b c",
            "RPUSH l d e f",
            "LRANGE l 0 -1",
            "LRANGE l -100 100",
            "LRANGE l 2 1",
            "LINDEX l -1",
            "LINDEX l 100",
            "LSET l 1 X",
            "LSET l 100 X",
            "LSET nokey 0 X",
            "LPOP l",
            "RPOP l 2",
            "LPOP l 0",
            "LPOP nokey 0",
            "LPOP nokey",
            "LPOP l -1",
            "LLEN l",
            "LPUSHX nokey a",
            "RPUSHX l z",
            "LTRIM l 1 -1",
            "LRANGE l 0 -1",
            "LTRIM l 5 1",
            "EXISTS l",
            "DBSIZE",
        ]),
        script(&[
            "RPUSH l a b a c a d",
            "LREM l 2 a",
            "LREM l -1 d",
            "LREM l 0 zz",
            "LRANGE l 0 -1",
            "LINSERT l BEFORE c X",
            "LINSERT l AFTER c Y",
            "LINSERT l AFTER nope Y",
            "LINSERT l SIDEWAYS c Y",
            "LINSERT nokey AFTER c Y",
            "LRANGE l 0 -1",
            "LPOS l a",
            "LPOS l a RANK -1",
            "LPOS l a COUNT 0 MAXLEN 2",
            "LPOS l a RANK 0",
            "LPOS l a COUNT -1",
            "LPOS l a MAXLEN x",
            "LPOS l a RANK 1 COUNT 0",
            "LPOS nokey a COUNT 0",
            "LPOS l",
        ]),
        script(&[
            "RPUSH a 1 2 3",
            "LMOVE a b LEFT RIGHT",
            "LMOVE a a RIGHT LEFT",
            "LRANGE a 0 -1",
            "RPOPLPUSH a b",
            "RPOPLPUSH a a",
            "LRANGE a 0 -1",
            "LRANGE b 0 -1",
            "SET s x",
            "LMOVE a s LEFT LEFT",
            "LMOVE s a LEFT LEFT",
            "LMOVE nokey s LEFT LEFT",
            "LMOVE a b UP DOWN",
            "LMPOP 3 nokey a b LEFT COUNT 10",
            "LMPOP 2 a b RIGHT",
            "LMPOP 2 a b RIGHT",
            "LMPOP 1 s LEFT",
            "LMPOP 0 a LEFT",
            "LMPOP 5 a LEFT",
            "LMPOP 1 a LEFT COUNT -1",
            "LMPOP 1 a LEFT junk",
            "TYPE b",
            "DBSIZE",
        ]),
        script(&[
            "RPUSH l a b c",
            "TYPE l",
            "OBJECT ENCODING l",
            "COPY l l2",
            "RENAME l l3",
            "LRANGE l3 0 -1",
            "LRANGE l2 0 -1",
            "EXPIRE l2 100",
            "TTL l2",
            "RPOP l2 3",
            "TTL l2",
            "DEL l3",
            "SET l3 v",
            "LPUSH l3 a",
            "DBSIZE",
            "BLPOP l3 0.01",
            "BLPOP nokey 0.01",
            "BLPOP nokey x",
            "BLPOP nokey -1",
            "BRPOPLPUSH nokey x 0.01",
            "BLMOVE nokey x LEFT LEFT 0.01",
            "BLMOVE nokey x LEFT UP 1",
            "BLMPOP 0.01 1 nokey LEFT",
            "BLMPOP x 1 nokey LEFT",
            "BLMPOP -1 0 nokey LEFT",
            "RPUSH q 1 2",
            "BLPOP nokey q 0",
            "BRPOP q 0",
            "BLMPOP 0 1 q2 q RIGHT",
        ]),
    ]);
}

/// A random list command over a small key space, valid or not, mixed with DEL, TYPE and SET.
fn random_list_command(rng: &mut StdRng) -> Vec<String> {
    let key = |rng: &mut StdRng| format!("l{}", rng.random_range(0..4));
    let val = |rng: &mut StdRng| ["a", "b", "c", "1", "", "zz"][rng.random_range(0..6)].to_string();
    let idx = |rng: &mut StdRng| rng.random_range(-6..7).to_string();
    let side =
        |rng: &mut StdRng| ["LEFT", "RIGHT", "left", "UP"][rng.random_range(0..4)].to_string();
    let k = key(rng);
    let s = |x: &str| x.to_string();
    match rng.random_range(0..32) {
        0..=3 => {
            let n = rng.random_range(1..4);
            let mut v = vec![s(["LPUSH", "RPUSH"][rng.random_range(0..2)]), k];
            v.extend((0..n).map(|_| val(rng)));
            v
        }
        4 => vec![s("LPUSHX"), k, val(rng)],
        5 => vec![s("RPUSHX"), k, val(rng), val(rng)],
        6 => vec![s("LPOP"), k],
        7 => vec![s("RPOP"), k, rng.random_range(-1..4).to_string()],
        8 => vec![s("LLEN"), k],
        9 => vec![s("LINDEX"), k, idx(rng)],
        10 => vec![s("LSET"), k, idx(rng), val(rng)],
        11 | 12 => vec![s("LRANGE"), k, idx(rng), idx(rng)],
        13 => vec![s("LTRIM"), k, idx(rng), idx(rng)],
        14 => vec![s("LREM"), k, rng.random_range(-2..3).to_string(), val(rng)],
        15 => vec![
            s("LINSERT"),
            k,
            s(["BEFORE", "AFTER", "after"][rng.random_range(0..3)]),
            val(rng),
            val(rng),
        ],
        16 => vec![s("LPOS"), k, val(rng)],
        17 => vec![
            s("LPOS"),
            k,
            val(rng),
            s("RANK"),
            s(["1", "-1", "2", "-2", "0"][rng.random_range(0..5)]),
            s("COUNT"),
            rng.random_range(0..3).to_string(),
            s("MAXLEN"),
            rng.random_range(0..5).to_string(),
        ],
        18 | 19 => vec![s("LMOVE"), k, key(rng), side(rng), side(rng)],
        20 => vec![s("RPOPLPUSH"), k, key(rng)],
        21 => vec![
            s("LMPOP"),
            s("2"),
            k,
            key(rng),
            side(rng),
            s("COUNT"),
            rng.random_range(0..4).to_string(),
        ],
        22 => vec![s("LMPOP"), s("1"), k, side(rng)],
        23 => vec![s("DEL"), k],
        24 => vec![s("TYPE"), k],
        25 => vec![s("SET"), k, val(rng)],
        26 => vec![s("EXISTS"), k, key(rng)],
        27 => vec![s("DBSIZE")],
        28 => vec![s("LPOS"), k, val(rng), s("COUNT"), s("0")],
        29 => vec![s("LINDEX"), k, s("0")],
        30 => vec![s("RENAME"), k, key(rng)],
        _ => vec![s("LRANGE"), k, s("0"), s("-1")],
    }
}

#[test]
fn random_list_sequences_match_redis() {
    let mut rng = StdRng::seed_from_u64(0x4c15_7001);
    let scripts: Vec<Vec<Vec<String>>> = (0..30)
        .map(|_| (0..80).map(|_| random_list_command(&mut rng)).collect())
        .collect();
    compare(&scripts);
}
