//! The data cap and its eviction policies, end to end: `noeviction` refuses growth with Redis's
//! `-OOM` while reads and deletes keep working, `optimistic-volatile` evicts keys with a TTL
//! first and keeps the logical size under the cap, counters stay exact, and lowering the cap at
//! run time is caught up with in the background. Behaviour checks run warm and cold.

use std::time::{Duration, Instant};

use crate::util::{Client, Server};

const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
const CAP: u64 = 200 * 1024;

fn info_field(s: &Server, section: &str, field: &str) -> u64 {
    let raw = s.raw().cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no numeric {field}: {text}"))
}

fn logical_size(s: &Server) -> u64 {
    info_field(s, "tiering", "logical_data_size")
}

/// Keys with a TTL, from INFO keyspace (db0).
fn expires(s: &Server) -> u64 {
    let raw = s.raw().cmd(&["INFO", "keyspace"]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("db0:"))
        .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("expires=")))
        .map_or(0, |n| n.parse().expect("expires is a number"))
}

fn int_reply(r: &[u8]) -> u64 {
    let s = String::from_utf8_lossy(r);
    s.strip_prefix(':')
        .and_then(|n| n.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {s:?}"))
}

/// A 1000-byte value: with a key of about 8 bytes, about 1 KiB per key.
fn value(i: usize) -> String {
    format!("{i:0>1000}")
}

/// Every key KEYS lists must be readable, and DBSIZE must count exactly those keys.
fn assert_dbsize_exact(c: &mut Client) -> usize {
    let listed = c.cmd(&["KEYS", "*"]);
    let text = String::from_utf8_lossy(&listed).into_owned();
    let keys: Vec<&str> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with('$'))
        .collect();
    for k in &keys {
        assert_ne!(
            c.cmd(&["GET", k]),
            b"$-1\r\n",
            "{k} listed but not readable"
        );
    }
    assert_eq!(int_reply(&c.cmd(&["DBSIZE"])), keys.len() as u64);
    keys.len()
}

#[test]
fn noeviction_refuses_growth_but_reads_and_deletes_work() {
    let s = Server::strata(&[
        "--max-data-size",
        "200kb",
        "--eviction-policy",
        "noeviction",
    ]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        assert_eq!(c.cmd(&["FLUSHDB"]), b"+OK\r\n");
        let mut written = 0;
        let refused = loop {
            let r = c.cmd(&["SET", &format!("k:{written:05}"), &value(written)]);
            if r != b"+OK\r\n" {
                break r;
            }
            written += 1;
            assert!(written < 300, "cold={cold}: the cap never refused a write");
        };
        assert_eq!(refused, OOM, "cold={cold}");
        assert!(
            written >= 190,
            "cold={cold}: refused after only {written} keys"
        );
        // Fill the last bytes with 6-byte keys, so that less than 6 bytes of room are left.
        let mut fillers = 0;
        while c.cmd(&["SET", &format!("f{fillers:04}"), "x"]) == b"+OK\r\n" {
            fillers += 1;
            assert!(fillers < 200, "cold={cold}: small writes never refused");
        }
        let size = logical_size(&s);
        assert!(size <= CAP && size + 6 > CAP, "cold={cold}: {size}");
        // Every growing command is refused, exactly as Redis words it.
        for cmd in [
            &["SET", "other", "x"][..],
            &["APPEND", "k:00000", "more"],
            &["MSET", "aaaa", "1111", "bbbb", "2222"],
            &["INCR", "counter"],
        ] {
            assert_eq!(c.cmd(cmd), OOM, "cold={cold}: {cmd:?}");
        }
        // Reads, expiry changes and deletes still work, and nothing was evicted.
        assert_eq!(
            c.cmd(&["GET", "k:00001"]),
            format!("$1000\r\n{}\r\n", value(1)).into_bytes()
        );
        assert_eq!(c.cmd(&["EXPIRE", "k:00002", "100"]), b":1\r\n");
        assert_eq!(c.cmd(&["DEL", "k:00003", "k:00004"]), b":2\r\n");
        assert_eq!(
            int_reply(&c.cmd(&["DBSIZE"])),
            (written + fillers) as u64 - 2
        );
        assert_eq!(info_field(&s, "stats", "evicted_keys"), 0);
        // Room was made: writes work again.
        assert_eq!(c.cmd(&["SET", "k:00003", &value(3)]), b"+OK\r\n");
        assert_eq!(c.cmd(&["SET", "small", "x"]), b"+OK\r\n");
        // FLUSHDB is allowed over the cap, and makes all the room.
        while c.cmd(&["SET", &format!("k:{written:05}"), &value(written)]) == b"+OK\r\n" {
            written += 1;
        }
        assert_eq!(c.cmd(&["FLUSHDB"]), b"+OK\r\n");
        assert_eq!(logical_size(&s), 0);
        assert_eq!(c.cmd(&["SET", "k:00000", &value(0)]), b"+OK\r\n");
    }
}

#[test]
fn maxmemory_aliases_set_the_cap_and_policy() {
    let s = Server::strata(&["--maxmemory", "20kb", "--maxmemory-policy", "noeviction"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "max-data-size"]),
        b"*2\r\n$13\r\nmax-data-size\r\n$5\r\n20480\r\n"
    );
    for i in 0..30 {
        let r = c.cmd(&["SET", &format!("k{i}"), &value(i)]);
        assert_eq!(
            r == b"+OK\r\n",
            i < 20,
            "key {i}: {:?}",
            String::from_utf8_lossy(&r)
        );
    }
    // Raising the cap through the alias lets writes through at once.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "40kb"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "k20", &value(20)]), b"+OK\r\n");
    // An evicting policy through the alias makes room instead of refusing.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "20kb"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "k21", &value(21)]), OOM);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
        b"+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "eviction-policy"]),
        b"*2\r\n$15\r\neviction-policy\r\n$14\r\nallkeys-random\r\n"
    );
    assert_eq!(c.cmd(&["SET", "k21", &value(21)]), b"+OK\r\n");
    // The write made its own room; the background pass (idle for a second after finding
    // nothing to evict under noeviction) brings the rest under the cap.
    let deadline = Instant::now() + Duration::from_secs(5);
    while logical_size(&s) > 20 * 1024 {
        assert!(
            Instant::now() < deadline,
            "background eviction did not catch up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(info_field(&s, "stats", "evicted_keys") > 0);
    // No cap at all.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), b"+OK\r\n");
    for i in 0..40 {
        assert_eq!(c.cmd(&["SET", &format!("n{i}"), &value(i)]), b"+OK\r\n");
    }
}

#[test]
fn optimistic_volatile_evicts_ttl_keys_first_and_stays_under_the_cap() {
    let s = Server::strata(&[
        "--max-data-size",
        "200kb",
        "--eviction-policy",
        "optimistic-volatile",
    ]);
    for cold in [false, true] {
        let mut c = s.client(cold);
        assert_eq!(c.cmd(&["FLUSHDB"]), b"+OK\r\n");
        let evicted_before = info_field(&s, "stats", "evicted_keys");
        let persistent: Vec<String> = (0..50).map(|i| format!("p:{i:04}")).collect();
        for (i, k) in persistent.iter().enumerate() {
            assert_eq!(c.cmd(&["SET", k, &value(i)]), b"+OK\r\n");
        }
        for i in 0..100 {
            let k = format!("t:{i:04}");
            assert_eq!(c.cmd(&["SET", &k, &value(i), "EX", "3600"]), b"+OK\r\n");
        }
        assert!(logical_size(&s) < CAP);
        // Write new keys well past the cap: 200 KiB more on 150 KiB of data under 200 KiB.
        let mut new = Vec::new();
        for i in 0..200 {
            let k = format!("n:{i:04}");
            assert_eq!(
                c.cmd(&["SET", &k, &value(i)]),
                b"+OK\r\n",
                "cold={cold}: write {i}"
            );
            new.push(k);
            let size = logical_size(&s);
            assert!(size <= CAP + 1010, "cold={cold}: {size} bytes over the cap");
            if expires(&s) > 0 && i % 10 == 0 {
                // While keys with a TTL remain, no key without one is evicted.
                let mut args = vec!["EXISTS"];
                args.extend(persistent.iter().chain(&new).map(String::as_str));
                let n = int_reply(&c.cmd(&args));
                assert_eq!(
                    n,
                    (persistent.len() + new.len()) as u64,
                    "cold={cold}: a key without a TTL was evicted before the TTL keys"
                );
            }
        }
        assert_eq!(expires(&s), 0, "cold={cold}: TTL keys went first");
        assert!(logical_size(&s) <= CAP + 1010);
        let evicted = info_field(&s, "stats", "evicted_keys") - evicted_before;
        assert!(evicted >= 100, "cold={cold}: only {evicted} evictions");
        let left = assert_dbsize_exact(&mut c);
        assert_eq!(
            left as u64 + evicted,
            350,
            "cold={cold}: every key is kept or evicted"
        );
    }
}

#[test]
fn lowering_the_cap_evicts_in_the_background() {
    let s = Server::strata(&["--eviction-policy", "optimistic-volatile"]);
    let mut c = s.client(false);
    for i in 0..100 {
        let k = format!("t:{i:04}");
        assert_eq!(c.cmd(&["SET", &k, &value(i), "PX", "3600000"]), b"+OK\r\n");
    }
    for i in 0..200 {
        assert_eq!(c.cmd(&["SET", &format!("p:{i:04}"), &value(i)]), b"+OK\r\n");
    }
    // Half of the keys only on disk.
    assert_eq!(c.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
    for i in (0..200).step_by(2) {
        assert_ne!(c.cmd(&["GET", &format!("p:{i:04}")]), b"$-1\r\n");
    }
    assert!(logical_size(&s) > 300 * 1000);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "max-data-size", "150kb"]),
        b"+OK\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while logical_size(&s) > 150 * 1024 {
        assert!(
            Instant::now() < deadline,
            "background eviction did not catch up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(expires(&s), 0, "keys with a TTL go first");
    let evicted = info_field(&s, "stats", "evicted_keys");
    assert!(evicted >= 100, "{evicted} evictions");
    let left = assert_dbsize_exact(&mut c);
    assert_eq!(left as u64 + evicted, 300);
    assert!(
        left >= 140,
        "evicted far more than needed: {left} keys left"
    );
}

#[test]
fn volatile_policies_pick_their_victims_and_refuse_without_ttl_keys() {
    let s = Server::strata(&["--eviction-policy", "volatile-ttl"]);
    let mut c = s.client(true);
    // Expiries an hour away, one second apart, written in a scrambled order.
    for j in 0..50 {
        let i = (j * 17) % 50;
        let px = (3_600_000 + i * 1000).to_string();
        let k = format!("t:{i:04}");
        assert_eq!(c.cmd(&["SET", &k, &value(i), "PX", &px]), b"+OK\r\n");
    }
    for i in 0..10 {
        assert_eq!(c.cmd(&["SET", &format!("p:{i:04}"), &value(i)]), b"+OK\r\n");
    }
    // Room for 45 keys: the 15 nearest expiries go.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "max-data-size", "45300"]),
        b"+OK\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while logical_size(&s) > 45300 {
        assert!(
            Instant::now() < deadline,
            "background eviction did not catch up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..50 {
        let want: &[u8] = if i < 15 { b":0\r\n" } else { b":1\r\n" };
        assert_eq!(c.cmd(&["EXISTS", &format!("t:{i:04}")]), want, "t:{i:04}");
    }
    // The foreground check evicts the next nearest expiry to make room for a write.
    assert_eq!(c.cmd(&["SET", "p:0010", &value(10)]), b"+OK\r\n");
    assert_eq!(c.cmd(&["EXISTS", "t:0015"]), b":0\r\n");
    assert_eq!(c.cmd(&["EXISTS", "t:0016"]), b":1\r\n");
    // With no key left that has a TTL, volatile policies have nothing to evict: -OOM.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "eviction-policy", "volatile-random"]),
        b"+OK\r\n"
    );
    let mut args = vec!["DEL".to_string()];
    args.extend((16..50).map(|i| format!("t:{i:04}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&args), b":34\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "max-data-size", "5000"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["SET", "x", "1"]), OOM);
    assert_eq!(
        int_reply(&c.cmd(&["DBSIZE"])),
        11,
        "persistent keys are never evicted"
    );
    assert_eq!(info_field(&s, "stats", "evicted_keys"), 16);
}
