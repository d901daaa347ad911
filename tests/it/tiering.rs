//! Hot-tier budget and idle eviction, end to end: the evictor keeps the memory tier at its
//! budget and drops idle entries in the background, and no value is ever lost by it.

use std::time::{Duration, Instant};

use crate::util::{encode, Raw, Server};

/// An integer INFO field.
pub(crate) fn info(s: &Server, section: &str, field: &str) -> u64 {
    let raw = s.raw().cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {text}"))
        .trim()
        .parse()
        .expect("a number")
}

/// A value that names its key, so that a mix-up cannot go unseen.
fn value(i: usize, len: usize) -> Vec<u8> {
    format!("<{i:08}>").bytes().cycle().take(len).collect()
}

/// SETs keys `range` with `len`-byte values, pipelined.
fn write(c: &mut Raw, range: std::ops::Range<usize>, len: usize) {
    let mut req = Vec::new();
    for i in range.clone() {
        req.extend(encode(&[
            b"SET",
            format!("key:{i}").as_bytes(),
            &value(i, len),
        ]));
    }
    c.send(&req);
    for i in range {
        assert_eq!(c.reply(), b"+OK\r\n", "SET key:{i}");
    }
}

/// GETs keys `range`, pipelined, and checks every value byte for byte.
fn read_back(c: &mut Raw, range: std::ops::Range<usize>, len: usize) {
    let mut req = Vec::new();
    for i in range.clone() {
        req.extend(encode(&[b"GET", format!("key:{i}").as_bytes()]));
    }
    c.send(&req);
    for i in range {
        let mut want = format!("${len}\r\n").into_bytes();
        want.extend(value(i, len));
        want.extend(b"\r\n");
        assert!(c.reply() == want, "GET key:{i} returned another value");
    }
}

/// Waits until `cond` holds, for at most `secs`.
fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

#[test]
fn hot_tier_stays_within_budget_and_loses_nothing() {
    // RocksDB takes 8 MiB of the 12: the tier's budget is 4 MiB, its ceiling 5 MiB.
    let s = Server::strata(&["--hot-memory", "12mb", "--rocksdb.block-cache-size", "8mb"]);
    let budget = info(&s, "tiering", "hot_tier_budget");
    assert_eq!(budget, 4 << 20);
    // Writes are cached up to the ceiling, as last measured: the hash tables' growth is
    // measured at each evictor pass, so allow for the tables doubling in between.
    let ceiling = budget + budget / 4;
    let slack = budget / 8;
    let (keys, len, chunk) = (20_000, 1000, 1000);
    let mut c = s.raw();
    for start in (0..keys).step_by(chunk) {
        write(&mut c, start..start + chunk, len);
        let used = info(&s, "tiering", "hot_used_memory");
        assert!(
            used <= ceiling + slack,
            "{used} bytes in memory, ceiling {ceiling}"
        );
    }
    assert!(
        eventually(5, || info(&s, "tiering", "hot_used_memory") <= budget),
        "the evictor brings the tier under its budget"
    );
    assert!(info(&s, "tiering", "hot_dropped_keys") > 0);
    assert!(info(&s, "tiering", "hot_keys") < keys as u64);
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{keys}\r\n").as_bytes());
    for start in (0..keys).step_by(chunk) {
        read_back(&mut c, start..start + chunk, len);
    }
    assert!(eventually(5, || info(&s, "tiering", "hot_used_memory") <= budget));
    assert_eq!(c.cmd(&["DBSIZE"]), format!(":{keys}\r\n").as_bytes());
}

#[test]
fn idle_entries_leave_memory_and_read_back() {
    let s = Server::strata(&["--hot-idle-seconds", "1"]);
    let mut c = s.raw();
    write(&mut c, 0..500, 100);
    assert!(info(&s, "tiering", "hot_keys") > 0);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(info(&s, "tiering", "hot_keys"), 0);
    assert_eq!(info(&s, "tiering", "hot_used_memory"), 0);
    assert!(info(&s, "tiering", "hot_dropped_keys") >= 500);
    assert_eq!(c.cmd(&["TIER", "WHERE", "key:7"]), b"$4\r\ndisk\r\n");
    read_back(&mut c, 0..500, 100);
    assert_eq!(c.cmd(&["TIER", "WHERE", "key:7"]), b"$6\r\nmemory\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), b":500\r\n");
    // Off again: entries stay however long they are unused.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hot-idle-seconds", "0"]),
        b"+OK\r\n"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(info(&s, "tiering", "hot_keys"), 500);
}

#[test]
fn shrinking_the_budget_at_run_time_evicts_in_the_background() {
    let s = Server::strata(&["--rocksdb.block-cache-size", "8mb"]);
    let mut c = s.raw();
    write(&mut c, 0..5000, 1000);
    assert_eq!(info(&s, "tiering", "hot_keys"), 5000);
    assert_eq!(c.cmd(&["CONFIG", "SET", "hot-memory", "10mb"]), b"+OK\r\n");
    let budget = info(&s, "tiering", "hot_tier_budget");
    assert_eq!(budget, 2 << 20);
    assert!(eventually(5, || info(&s, "tiering", "hot_used_memory") <= budget));
    let kept = info(&s, "tiering", "hot_keys");
    assert!(kept > 0 && kept < 5000, "{kept} keys kept");
    read_back(&mut c, 0..5000, 1000);
}

#[test]
fn hot_charge_tracks_real_allocation() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    let (keys, len, chunk) = (60_000, 100, 2000);
    // Warm the server's own buffers up first, then start counting.
    write(&mut c, 0..chunk, len);
    read_back(&mut c, 0..chunk, len);
    // The tables' size is measured by each evictor pass (every 50 ms): let one run first.
    std::thread::sleep(Duration::from_millis(200));
    let (alloc0, hot0) = (
        info(&s, "memory", "used_memory"),
        info(&s, "tiering", "hot_used_memory"),
    );
    for start in (chunk..keys).step_by(chunk) {
        write(&mut c, start..start + chunk, len);
        read_back(&mut c, start..start + chunk, len);
    }
    std::thread::sleep(Duration::from_millis(200));
    let (alloc1, hot1) = (
        info(&s, "memory", "used_memory"),
        info(&s, "tiering", "hot_used_memory"),
    );
    assert_eq!(info(&s, "tiering", "hot_keys"), keys as u64);
    let (real, charged) = (alloc1 as f64 - alloc0 as f64, (hot1 - hot0) as f64);
    eprintln!("allocated {real} bytes, charged {charged} bytes");
    assert!(
        (0.9..=1.1).contains(&(charged / real)),
        "charged {charged} bytes for {real} allocated"
    );
}

/// With `hot-warmup yes`, after a restart with data the memory tier loads the data set in the
/// background; then it answers misses without reading the disk, and serves the values that were
/// written. By default it stays incomplete and misses read the disk.
#[test]
fn a_restart_warms_the_memory_tier_up_in_the_background() {
    let mut s = Server::strata(&["--hot-warmup", "yes"]);
    write(&mut s.raw(), 0..3000, 100);
    assert_eq!(info(&s, "tiering", "hot_complete_dbs"), 16);
    s.restart();
    assert!(
        eventually(30, || info(&s, "tiering", "hot_complete_dbs") == 16),
        "the warm-up did not complete"
    );
    let cold = info(&s, "tiering", "cold_reads");
    read_back(&mut s.raw(), 0..3000, 100);
    assert_eq!(s.raw().cmd(&["GET", "missing"]), b"$-1\r\n");
    assert_eq!(s.raw().cmd(&["SET", "new", "1"]), b"+OK\r\n");
    assert_eq!(
        info(&s, "tiering", "cold_reads"),
        cold,
        "no disk read once warm"
    );
    assert_eq!(s.raw().cmd(&["DBSIZE"]), b":3001\r\n");

    let mut off = Server::strata(&[]);
    write(&mut off.raw(), 0..100, 100);
    off.restart();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info(&off, "tiering", "hot_complete_dbs"), 15);
    let cold = info(&off, "tiering", "cold_reads");
    assert_eq!(off.raw().cmd(&["GET", "missing"]), b"$-1\r\n");
    assert_eq!(info(&off, "tiering", "cold_reads"), cold + 1);
    read_back(&mut off.raw(), 0..100, 100);
}
