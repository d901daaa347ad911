//! Integration tests of the hash family (normal and cold mode), plus the helpers the set and
//! sort tests share: a compact reply notation and a warm+cold script runner.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::differential::{compare, script};
use crate::util::{Client, Server};

/// Parses one RESP reply from `raw` at `*pos` into a compact notation: `:1` integers, `nil`,
/// `+OK`, `!ERR ...` errors, plain text for bulk strings and `[a, b]` arrays.
fn compact_at(raw: &[u8], pos: &mut usize) -> String {
    let line_end = raw[*pos..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| *pos + i)
        .unwrap_or(raw.len());
    let line = String::from_utf8_lossy(&raw[*pos..line_end]).into_owned();
    *pos = (line_end + 2).min(raw.len());
    let (kind, rest) = line.split_at(1.min(line.len()));
    match kind {
        ":" => format!(":{rest}"),
        "+" => format!("+{rest}"),
        "-" => format!("!{rest}"),
        "$" => {
            let n: i64 = rest.parse().unwrap_or(-1);
            if n < 0 {
                return "nil".into();
            }
            let n = n as usize;
            let s = String::from_utf8_lossy(&raw[*pos..*pos + n]).into_owned();
            *pos += n + 2;
            s
        }
        "*" => {
            let n: i64 = rest.parse().unwrap_or(-1);
            if n < 0 {
                return "nil".into();
            }
            let items: Vec<String> = (0..n).map(|_| compact_at(raw, pos)).collect();
            format!("[{}]", items.join(", "))
        }
        _ => format!("?{line}"),
    }
}

/// A raw reply in the compact notation.
pub(crate) fn compact(raw: &[u8]) -> String {
    compact_at(raw, &mut 0)
}

/// Splits a command line on spaces; `''` is the empty argument.
pub(crate) fn words(line: &str) -> Vec<&str> {
    line.split(' ')
        .map(|w| if w == "''" { "" } else { w })
        .collect()
}

/// Runs a command line and returns its compact reply.
pub(crate) fn run(c: &mut Client, line: &str) -> String {
    compact(&c.cmd(&words(line)))
}

/// Runs `(command, expected compact reply)` steps on a fresh database, warm and then cold:
/// both modes must give exactly the expected replies.
pub(crate) fn check(server: &Server, steps: &[(&str, &str)]) {
    for cold in [false, true] {
        let mut c = server.client(cold);
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["SELECT", "0"]);
        for (i, (line, want)) in steps.iter().enumerate() {
            let got = run(&mut c, line);
            assert_eq!(&got, want, "step {i} `{line}` (cold: {cold})");
        }
    }
}

/// `keys=` and `expires=` of db0 in `INFO keyspace` (0, 0 when the db is empty).
pub(crate) fn keyspace_counts(c: &mut Client) -> (u64, u64) {
    let info = String::from_utf8_lossy(&c.cmd(&["INFO", "keyspace"])).into_owned();
    let Some(line) = info.lines().find(|l| l.starts_with("db0:")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        line[4..]
            .split(',')
            .find_map(|kv| kv.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (field("keys="), field("expires="))
}

/// Parses a compact array of plain items (no nesting, no commas inside items).
pub(crate) fn items(compact: &str) -> Vec<String> {
    let inner = compact
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not an array: {compact}"));
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split(", ").map(str::to_string).collect()
}

/// Walks a SCAN-like command (`HSCAN key`/`SSCAN key`) to the end; returns every item returned
/// (for HSCAN, field and value alternate) and the number of calls.
pub(crate) fn scan_all(
    c: &mut Client,
    cmd: &str,
    key: &str,
    opts: &[&str],
) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec![cmd, key, &cursor];
        args.extend_from_slice(opts);
        let reply = compact(&c.cmd(&args));
        calls += 1;
        // [cursor, [items]]
        let inner = &reply[1..reply.len() - 1];
        let (next, rest) = inner.split_once(", ").expect("two parts");
        all.extend(items(rest));
        cursor = next.to_string();
        assert!(calls < 10_000, "scan does not end");
        if cursor == "0" {
            return (all, calls);
        }
    }
}

#[test]
fn hash_reads_and_writes() {
    let s = Server::strata(&[]);
    check(
        &s,
        &[
            ("HSET h a 1 b 2 a 3", ":2"),
            ("HGET h a", "3"),
            ("HLEN h", ":2"),
            ("HSET h c ''", ":1"),
            ("HGETALL h", "[a, 3, b, 2, c, ]"),
            ("HKEYS h", "[a, b, c]"),
            ("HVALS h", "[3, 2, ]"),
            ("HMGET h a nope c", "[3, nil, ]"),
            ("HMSET h d 4 a 5", "+OK"),
            ("HGET h a", "5"),
            ("HSETNX h a 9", ":0"),
            ("HSETNX h e 9", ":1"),
            ("HSTRLEN h e", ":1"),
            ("HSTRLEN h nope", ":0"),
            ("HEXISTS h e", ":1"),
            ("HEXISTS h nope", ":0"),
            ("HDEL h a a nope", ":1"),
            ("HLEN h", ":4"),
            ("HDEL h b c d e", ":4"),
            ("EXISTS h", ":0"),
            ("HDEL h x", ":0"),
            // Missing keys read as empty.
            ("HGET nokey f", "nil"),
            ("HMGET nokey f g", "[nil, nil]"),
            ("HLEN nokey", ":0"),
            ("HSTRLEN nokey f", ":0"),
            ("HEXISTS nokey f", ":0"),
            ("HKEYS nokey", "[]"),
            ("HVALS nokey", "[]"),
            ("HGETALL nokey", "[]"),
            ("HRANDFIELD nokey", "nil"),
            ("HRANDFIELD nokey 3", "[]"),
            ("HSCAN nokey 0", "[0, []]"),
            ("HSETNX n f v", ":1"),
            ("TYPE n", "+hash"),
            ("DBSIZE", ":1"),
        ],
    );
}

#[test]
fn hash_counters() {
    let s = Server::strata(&[]);
    check(
        &s,
        &[
            ("HINCRBY h n 5", ":5"),
            ("HINCRBY h n -7", ":-2"),
            ("HSET h big 9223372036854775807 s abc sp 01", ":3"),
            (
                "HINCRBY h big 1",
                "!ERR increment or decrement would overflow",
            ),
            ("HINCRBY h big 0", ":9223372036854775807"),
            ("HINCRBY h s 1", "!ERR hash value is not an integer"),
            ("HINCRBY h sp 1", "!ERR hash value is not an integer"),
            (
                "HINCRBY h n x",
                "!ERR value is not an integer or out of range",
            ),
            (
                "HINCRBY h n ''",
                "!ERR value is not an integer or out of range",
            ),
            ("HINCRBYFLOAT h f 0.1", "0.1"),
            ("HINCRBYFLOAT h f 0.2", "0.3"),
            ("HINCRBYFLOAT h f -0.3", "0"),
            ("HINCRBYFLOAT h f 5.0e3", "5000"),
            ("HINCRBYFLOAT h g2 1.5e-17", "0.00000000000000002"),
            ("HINCRBYFLOAT h g 1e-18", "0"),
            ("HINCRBYFLOAT h g 3.0000000000000004", "3.0000000000000004"),
            ("HINCRBYFLOAT h n 1.5", "-0.5"),
            ("HGET h n", "-0.5"),
            ("HINCRBY h n 1", "!ERR hash value is not an integer"),
            ("HINCRBYFLOAT h s 1", "!ERR hash value is not a float"),
            ("HINCRBYFLOAT h sp 1", "2"),
            ("HINCRBYFLOAT h f abc", "!ERR value is not a valid float"),
            ("HINCRBYFLOAT h f ''", "!ERR value is not a valid float"),
            ("HINCRBYFLOAT h f inf", "!ERR value is NaN or Infinity"),
            ("HINCRBYFLOAT h f nan", "!ERR value is not a valid float"),
            ("HSET h m inf", ":1"),
            (
                "HINCRBYFLOAT h m 1",
                "!ERR increment would produce NaN or Infinity",
            ),
            ("HGET h m", "inf"),
            ("HINCRBYFLOAT nokey f 2", "2"),
            ("TTL nokey", ":-1"),
        ],
    );
}

#[test]
fn hash_errors_and_wrong_type() {
    let s = Server::strata(&[]);
    let wrong = "!WRONGTYPE Operation against a key holding the wrong kind of value";
    let mut steps: Vec<(&str, &str)> = vec![("SET str x", "+OK")];
    for cmd in [
        "HSET str f v",
        "HSETNX str f v",
        "HMSET str f v",
        "HGET str f",
        "HMGET str f",
        "HDEL str f",
        "HLEN str",
        "HSTRLEN str f",
        "HEXISTS str f",
        "HKEYS str",
        "HVALS str",
        "HGETALL str",
        "HINCRBY str f 1",
        "HINCRBYFLOAT str f 1",
        "HRANDFIELD str",
        "HRANDFIELD str 2 WITHVALUES",
        "HSCAN str 0",
    ] {
        steps.push((cmd, wrong));
    }
    steps.extend_from_slice(&[
        ("GET str", "x"),
        ("HSET h f v", ":1"),
        ("GET h", wrong),
        ("INCR h", wrong),
        ("SADD h x", wrong),
        ("HSET h f", "!ERR wrong number of arguments for 'hset' command"),
        ("HSET h f v g", "!ERR wrong number of arguments for 'hset' command"),
        ("HMSET h f v g", "!ERR wrong number of arguments for 'hmset' command"),
        ("HGET h", "!ERR wrong number of arguments for 'hget' command"),
        ("HSETNX h f", "!ERR wrong number of arguments for 'hsetnx' command"),
        ("HDEL h", "!ERR wrong number of arguments for 'hdel' command"),
        ("HLEN h x", "!ERR wrong number of arguments for 'hlen' command"),
        ("HKEYS", "!ERR wrong number of arguments for 'hkeys' command"),
        ("HINCRBY h f", "!ERR wrong number of arguments for 'hincrby' command"),
        ("HSCAN h", "!ERR wrong number of arguments for 'hscan' command"),
        ("HRANDFIELD", "!ERR wrong number of arguments for 'hrandfield' command"),
        ("HRANDFIELD h 1 WITHVALUES x", "!ERR syntax error"),
        ("HRANDFIELD h 1 x", "!ERR syntax error"),
        ("HRANDFIELD h x", "!ERR value is not an integer or out of range"),
        (
            "HRANDFIELD h -9223372036854775808",
            "!ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ),
        ("HRANDFIELD h 9223372036854775807 WITHVALUES", "!ERR value is out of range"),
        ("HRANDFIELD h 0", "[]"),
        // Strata's cap on negative counts (Redis would build the reply until the client drops).
        ("HRANDFIELD h -10000001", "!ERR value is out of range"),
        ("HRANDFIELD h -3", "[f, f, f]"),
        ("HSCAN h x", "!ERR invalid cursor"),
        ("HSCAN h 0 COUNT 0", "!ERR syntax error"),
        ("HSCAN h 0 COUNT x", "!ERR value is not an integer or out of range"),
        ("HSCAN h 0 MATCH", "!ERR syntax error"),
        ("HSCAN h 0 TYPE string", "!ERR syntax error"),
        ("HSCAN nokey x", "!ERR invalid cursor"),
        ("HSCAN nokey 0 COUNT 0", "[0, []]"),
    ]);
    check(&s, &steps);
}

#[test]
fn hash_encoding_conversions() {
    let s = Server::strata(&[]);
    let long = "x".repeat(65);
    let exact = "y".repeat(64);
    let set_long = format!("HSET l f {long} g 1");
    let set_exact = format!("HSET e {exact} v");
    let setnx_long = format!("HSETNX n f {long}");
    let mut steps: Vec<(&str, &str)> = vec![
        ("HSET h a 1", ":1"),
        ("OBJECT ENCODING h", "listpack"),
        (&set_exact, ":1"),
        ("OBJECT ENCODING e", "listpack"),
        (&set_long, ":2"),
        ("OBJECT ENCODING l", "hashtable"),
        ("HDEL l f", ":1"),
        ("HSET l f short", ":1"),
        ("OBJECT ENCODING l", "hashtable"),
        // HSETNX converts on long arguments even when the field exists (as Redis 7.0).
        ("HSET n f v", ":1"),
        (&setnx_long, ":0"),
        ("OBJECT ENCODING n", "hashtable"),
        ("HGET n f", "v"),
    ];
    let fields: String = (0..128).map(|i| format!(" f{i} {i}")).collect();
    let fill = format!("HSET big{fields}");
    steps.push((&fill, ":128"));
    steps.push(("OBJECT ENCODING big", "listpack"));
    steps.push(("HSET big one-more 1", ":1"));
    steps.push(("OBJECT ENCODING big", "hashtable"));
    steps.push(("HDEL big one-more f0 f1", ":3"));
    steps.push(("OBJECT ENCODING big", "hashtable"));
    steps.push(("HLEN big", ":126"));
    check(&s, &steps);
}

#[test]
fn hash_keyspace_commands_and_counts() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        let r = |c: &mut Client, l: &str| run(c, l);
        assert_eq!(r(&mut c, "HSET h a 1 b 2"), ":2");
        assert_eq!(r(&mut c, "HSET g x 1"), ":1");
        assert_eq!(keyspace_counts(&mut c), (2, 0));
        assert_eq!(r(&mut c, "EXPIRE h 100"), ":1");
        assert_eq!(keyspace_counts(&mut c), (2, 1));
        assert_eq!(r(&mut c, "RENAME h h2"), "+OK");
        assert_eq!(r(&mut c, "HGETALL h2"), "[a, 1, b, 2]");
        assert!(r(&mut c, "TTL h2").starts_with(':'));
        assert_eq!(r(&mut c, "EXISTS h"), ":0");
        assert_eq!(r(&mut c, "COPY h2 h3"), ":1");
        assert_eq!(r(&mut c, "HSET h3 c 3"), ":1");
        assert_eq!(r(&mut c, "HLEN h2"), ":2");
        assert_eq!(r(&mut c, "HLEN h3"), ":3");
        assert_eq!(keyspace_counts(&mut c), (3, 2));
        assert_eq!(r(&mut c, "PERSIST h2"), ":1");
        assert_eq!(r(&mut c, "MOVE h3 1"), ":1");
        assert_eq!(r(&mut c, "DBSIZE"), ":2");
        assert_eq!(r(&mut c, "SELECT 1"), "+OK");
        assert_eq!(r(&mut c, "HGETALL h3"), "[a, 1, b, 2, c, 3]");
        assert_eq!(r(&mut c, "TYPE h3"), "+hash");
        assert_eq!(r(&mut c, "OBJECT ENCODING h3"), "listpack");
        assert_eq!(r(&mut c, "SELECT 0"), "+OK");
        // Overwriting with a string and back.
        assert_eq!(r(&mut c, "SET g str"), "+OK");
        assert_eq!(r(&mut c, "TYPE g"), "+string");
        assert_eq!(
            r(&mut c, "HGET g x"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(r(&mut c, "DEL g"), ":1");
        assert_eq!(r(&mut c, "HGET g x"), "nil");
        assert_eq!(r(&mut c, "HSET g y 2"), ":1");
        assert_eq!(r(&mut c, "HGETALL g"), "[y, 2]");
        // Expiry removes the whole hash.
        assert_eq!(r(&mut c, "PEXPIRE g 1"), ":1");
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert_eq!(r(&mut c, "HGETALL g"), "[]");
        assert_eq!(r(&mut c, "HSET g z 3"), ":1");
        assert_eq!(r(&mut c, "HGETALL g"), "[z, 3]");
        assert_eq!(r(&mut c, "TTL g"), ":-1");
        assert_eq!(r(&mut c, "DEL h2 g"), ":2");
        assert_eq!(r(&mut c, "DBSIZE"), ":0");
        assert_eq!(keyspace_counts(&mut c), (0, 0));
        c.cmd(&["FLUSHALL"]);
    }
}

#[test]
fn hash_survives_restart() {
    let mut s = Server::strata(&[]);
    {
        let mut c = s.client(false);
        let fields: Vec<String> = (0..300)
            .flat_map(|i| [format!("f{i}"), format!("v{i}")])
            .collect();
        let mut args = vec!["HSET", "big"];
        args.extend(fields.iter().map(String::as_str));
        assert_eq!(run(&mut c, "HSET small a 1 b 2"), ":2");
        assert_eq!(compact(&c.cmd(&args)), ":300");
        assert_eq!(run(&mut c, "HINCRBYFLOAT small a 0.5"), "1.5");
    }
    s.restart();
    for cold in [false, true] {
        let mut c = s.client(cold);
        assert_eq!(run(&mut c, "HGETALL small"), "[a, 1.5, b, 2]");
        assert_eq!(run(&mut c, "HLEN big"), ":300");
        assert_eq!(run(&mut c, "HGET big f299"), "v299");
        assert_eq!(run(&mut c, "OBJECT ENCODING big"), "hashtable");
        assert_eq!(run(&mut c, "OBJECT ENCODING small"), "listpack");
        assert_eq!(run(&mut c, "DBSIZE"), ":2");
    }
}

#[test]
fn hrandfield_properties() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(run(&mut c, "HSET h a 1 b 2 c 3 d 4 e 5"), ":5");
        let fields: BTreeSet<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for _ in 0..20 {
            let one = run(&mut c, "HRANDFIELD h");
            assert!(fields.contains(&one), "{one}");
            // Positive: distinct, at most the size.
            let three = items(&run(&mut c, "HRANDFIELD h 3"));
            assert_eq!(three.len(), 3);
            assert_eq!(three.iter().collect::<BTreeSet<_>>().len(), 3);
            assert!(three.iter().all(|f| fields.contains(f)));
            let all = items(&run(&mut c, "HRANDFIELD h 10"));
            assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), fields);
            assert_eq!(all.len(), 5);
            // Negative: exactly -count, may repeat.
            let many = items(&run(&mut c, "HRANDFIELD h -12"));
            assert_eq!(many.len(), 12);
            assert!(many.iter().all(|f| fields.contains(f)));
            // WITHVALUES: pairs that match the hash.
            let pairs = items(&run(&mut c, "HRANDFIELD h -4 WITHVALUES"));
            assert_eq!(pairs.len(), 8);
            for p in pairs.chunks(2) {
                let want = (p[0].as_bytes()[0] - b'a' + 1).to_string();
                assert_eq!(p[1], want);
            }
            let pairs = items(&run(&mut c, "HRANDFIELD h 2 withvalues"));
            assert_eq!(pairs.len(), 4);
            assert_ne!(pairs[0], pairs[2]);
        }
        // Over many draws, every field shows up.
        let seen: BTreeSet<String> = items(&run(&mut c, "HRANDFIELD h -500"))
            .into_iter()
            .collect();
        assert_eq!(seen, fields);
    }
}

#[test]
fn hscan_iterates_every_field_once() {
    let s = Server::strata(&[]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        c.cmd(&["FLUSHALL"]);
        // Small hash: one page, cursor 0, whatever the cursor and COUNT (as Redis's listpack).
        assert_eq!(run(&mut c, "HSET small a 1 b 2 ab 3"), ":3");
        assert_eq!(
            run(&mut c, "HSCAN small 0 COUNT 1"),
            "[0, [a, 1, ab, 3, b, 2]]"
        );
        assert_eq!(run(&mut c, "HSCAN small 77"), "[0, [a, 1, ab, 3, b, 2]]");
        assert_eq!(run(&mut c, "HSCAN small 0 MATCH a*"), "[0, [a, 1, ab, 3]]");
        assert_eq!(run(&mut c, "HSCAN small 0 MATCH nomatch"), "[0, []]");
        // Big hash: paged.
        let fields: Vec<String> = (0..500)
            .flat_map(|i| [format!("f{i}"), format!("v{i}")])
            .collect();
        let mut args = vec!["HSET", "big"];
        args.extend(fields.iter().map(String::as_str));
        assert_eq!(compact(&c.cmd(&args)), ":500");
        let (got, calls) = scan_all(&mut c, "HSCAN", "big", &["COUNT", "7"]);
        assert!(calls >= 500 / 7, "{calls} calls");
        assert_eq!(got.len(), 1000);
        let names: Vec<&String> = got.iter().step_by(2).collect();
        let uniq: BTreeSet<&String> = names.iter().copied().collect();
        assert_eq!(uniq.len(), 500, "every field exactly once");
        for p in got.chunks(2) {
            assert_eq!(p[1], format!("v{}", &p[0][1..]));
        }
        let (got, _) = scan_all(&mut c, "HSCAN", "big", &["MATCH", "f1*", "COUNT", "50"]);
        let want = (0..500).filter(|i| i.to_string().starts_with('1')).count();
        assert_eq!(got.len(), want * 2);
        // Default COUNT pages too.
        let (got, calls) = scan_all(&mut c, "HSCAN", "big", &[]);
        assert_eq!(got.len(), 1000);
        assert!(calls > 10);
        // An unknown cursor restarts (never skips).
        let reply = run(&mut c, "HSCAN big 123456789 COUNT 1000");
        assert_eq!(items(&reply[4..reply.len() - 1]).len(), 1000);
    }
}

#[test]
fn hash_scripts_match_redis() {
    compare(&[
        script(&[
            "HSET h a 1 b 2 c 3",
            "HSET h a 10 d 4",
            "HGETALL h",
            "HKEYS h",
            "HVALS h",
            "HLEN h",
            "HMGET h a b nope",
            "HMSET h e 5",
            "HMSET h e",
            "HSETNX h a x",
            "HSETNX h z x",
            "HGET h z",
            "HSTRLEN h z",
            "HEXISTS h q",
            "HDEL h a b c d e z",
            "EXISTS h",
            "HDEL h nope",
            "HINCRBY h n 10",
            "HINCRBY h n -20",
            "HINCRBY h n 9223372036854775807",
            "HINCRBY h n abc",
            "HINCRBYFLOAT h f 1.5",
            "HINCRBYFLOAT h f 0.1",
            "HINCRBYFLOAT h f 0.2",
            "HINCRBYFLOAT h f -1.8",
            "HINCRBYFLOAT h f 1e3",
            "HINCRBYFLOAT h f .5",
            "HINCRBYFLOAT h f 5.",
            "HINCRBYFLOAT h n x",
            "HINCRBYFLOAT h n inf",
            "HINCRBY h f 1",
            "HGETALL h",
            "OBJECT ENCODING h",
            "TYPE h",
        ]),
        script(&[
            "SET s x",
            "HSET s a 1",
            "HGET s a",
            "HGETALL s",
            "HRANDFIELD s",
            "HSCAN s 0",
            "HSCAN s x",
            "HSET h a",
            "HGET h",
            "HRANDFIELD h",
            "HRANDFIELD h 5",
            "HRANDFIELD h 5 WITHVALUES",
            "HRANDFIELD h x",
            "HRANDFIELD h 1 2",
            "HSCAN h 0",
            "HSCAN h 0 COUNT 0",
            "HSET h a 1",
            "HRANDFIELD h 1",
            "HRANDFIELD h -2 WITHVALUES",
            "HSCAN h 0",
            "HSCAN h 0 MATCH b*",
            "HSCAN h 0 COUNT -1",
            "HSCAN h 0 NOPE 1",
            "OBJECT ENCODING h",
            "HSET h longfield-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1",
            "OBJECT ENCODING h",
            "RENAME h h2",
            "HGETALL h2",
            "COPY h2 h3",
            "HLEN h3",
            "EXPIRE h3 100",
            "TTL h3",
            "DEL h2 h3",
            "DBSIZE",
        ]),
    ]);
}

/// A random hash command (or a generic one on the same keys), valid or not.
fn random_hash_command(rng: &mut StdRng) -> Vec<String> {
    let key = |rng: &mut StdRng| format!("k{}", rng.random_range(0..4));
    let field = |rng: &mut StdRng| format!("f{}", rng.random_range(0..6));
    let val = |rng: &mut StdRng| match rng.random_range(0..6) {
        0 => rng.random_range(-100..100).to_string(),
        1 => "".to_string(),
        2 => "abc".to_string(),
        3 => format!("{}.25", rng.random_range(-10..10)),
        4 => "9223372036854775807".to_string(),
        _ => rng.random_range(0..10).to_string(),
    };
    let k = key(rng);
    let f = field(rng);
    let v = val(rng);
    match rng.random_range(0..24) {
        0 | 1 => vec!["HSET".into(), k, f, v, field(rng), val(rng)],
        2 => vec!["HSETNX".into(), k, f, v],
        3 => vec!["HGET".into(), k, f],
        4 => vec!["HMGET".into(), k, f, field(rng)],
        5 => vec!["HMSET".into(), k, f, v],
        6 => vec!["HDEL".into(), k, f, field(rng)],
        7 => vec!["HLEN".into(), k],
        8 => vec!["HSTRLEN".into(), k, f],
        9 => vec!["HEXISTS".into(), k, f],
        10 => vec!["HKEYS".into(), k],
        11 => vec!["HVALS".into(), k],
        12 => vec!["HGETALL".into(), k],
        13 => vec!["HINCRBY".into(), k, f, v],
        14 => {
            let by = match rng.random_range(0..5) {
                0 => format!(
                    "{}.{}",
                    rng.random_range(-2000..2000),
                    rng.random_range(0..1000)
                ),
                1 => format!(
                    "{}e{}",
                    rng.random_range(-99..99),
                    rng.random_range(-20..20)
                ),
                2 => "abc".to_string(),
                3 => "0.1".to_string(),
                _ => rng.random_range(-10..10).to_string(),
            };
            vec!["HINCRBYFLOAT".into(), k, f, by]
        }
        15 => vec!["DEL".into(), k],
        16 => vec!["TYPE".into(), k],
        17 => vec!["EXPIRE".into(), k, "100".into()],
        18 => vec!["RENAME".into(), k, key(rng)],
        19 => vec!["SET".into(), k, v],
        20 => vec!["EXISTS".into(), k, key(rng)],
        21 => vec!["DBSIZE".into()],
        22 => vec!["OBJECT".into(), "ENCODING".into(), k],
        _ => vec!["COPY".into(), k, key(rng), "REPLACE".into()],
    }
}

#[test]
fn random_hash_sequences_match_redis() {
    let mut rng = StdRng::seed_from_u64(0x4841_5348);
    let scripts: Vec<Vec<Vec<String>>> = (0..25)
        .map(|_| (0..60).map(|_| random_hash_command(&mut rng)).collect())
        .collect();
    compare(&scripts);
}

/// HINCRBYFLOAT chains with operands of every magnitude: Redis computes in 80-bit long double
/// and prints 17 fractional digits, noise included, and Strata must print the same digits.
#[test]
fn random_hincrbyfloat_matches_redis() {
    let mut rng = StdRng::seed_from_u64(0x464c_4f41);
    let number = |rng: &mut StdRng| match rng.random_range(0..6) {
        0 => format!(
            "{}.{}",
            rng.random_range(-99_999..99_999),
            rng.random_range(0..100_000)
        ),
        1 => format!(
            "{}e{}",
            rng.random_range(-999..999),
            rng.random_range(-30..30)
        ),
        2 => format!("0.{:03}", rng.random_range(0..1000)),
        3 => format!("{}", rng.random_range(-1_000_000_000i64..1_000_000_000)),
        4 => format!(
            "{}.{}e{}",
            rng.random_range(1..9),
            rng.random_range(0..99_999),
            rng.random_range(-300..300)
        ),
        _ => format!("-{}.{}", rng.random_range(0..10), rng.random_range(0..10)),
    };
    let scripts: Vec<Vec<Vec<String>>> = (0..10)
        .map(|_| {
            (0..80)
                .map(|_| {
                    let f = format!("f{}", rng.random_range(0..3));
                    if rng.random_range(0..10) == 0 {
                        vec!["HSET".into(), "h".into(), f, number(&mut rng)]
                    } else {
                        vec!["HINCRBYFLOAT".into(), "h".into(), f, number(&mut rng)]
                    }
                })
                .collect()
        })
        .collect();
    compare(&scripts);
}
