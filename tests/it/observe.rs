//! Observability and client control: MONITOR, SLOWLOG, LATENCY, INFO commandstats /
//! errorstats / latencystats, CLIENT LIST fields, CLIENT PAUSE, REPLY and KILL, and `timeout`.

use std::time::{Duration, Instant};

use crate::util::{Raw, Server};

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

fn addr(r: &mut Raw) -> String {
    r.writer().local_addr().expect("local addr").to_string()
}

#[test]
fn monitor_streams_other_clients_commands() {
    let s = Server::strata(&[]);
    let mut m = s.raw();
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = s.raw();
    let a = addr(&mut c);
    assert_eq!(c.cmd(&["SET", "a\"b", "x\ny\u{1}\\"]), b"+OK\r\n");
    c.cmd(&["CONFIG", "GET", "port"]); // admin: not shown
    c.cmd(&["NOSUCH"]); // rejected: not shown
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["AUTH", "user", "pass"]);
    c.cmd(&["get", "k"]);
    let expect = [
        format!("[0 {a}] \"SET\" \"a\\\"b\" \"x\\ny\\x01\\\\\""),
        format!("[2 {a}] \"SELECT\" \"2\""),
        format!("[2 {a}] \"AUTH\" \"(redacted)\" \"(redacted)\""),
        format!("[2 {a}] \"get\" \"k\""),
    ];
    for e in expect {
        let line = text(m.reply());
        assert!(line.starts_with('+'), "{line}");
        let (ts, rest) = line[1..].split_once(' ').expect("timestamp");
        let (secs, micros) = ts.split_once('.').expect("secs.micros");
        assert!(secs.parse::<u64>().expect("secs") > 1_600_000_000);
        assert_eq!(micros.len(), 6);
        assert_eq!(rest.trim_end(), e);
    }
    // The monitor may not touch the keyspace, but PING is shown on its own stream.
    assert_eq!(
        text(m.cmd(&["GET", "x"])),
        "-ERR Replica can't interact with the keyspace\r\n"
    );
    assert_eq!(m.cmd(&["PING"]), b"+PONG\r\n");
    assert!(text(m.reply()).ends_with("\"PING\"\r\n"));
    let list = text(c.cmd(&["CLIENT", "LIST"]));
    assert!(list.contains("flags=O "), "{list}");
    assert!(list.contains("cmd=ping "), "{list}");
}

#[test]
fn slowlog_records_truncates_and_resets() {
    let s = Server::strata(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "3"]);
    let mut c = s.raw();
    let me = addr(&mut c);
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "app"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), b"+OK\r\n");
    let long = "a".repeat(200);
    c.cmd(&["SET", "k", &long]);
    let nums: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let mut push = vec!["RPUSH", "l"];
    push.extend(nums.iter().map(String::as_str));
    c.cmd(&push);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":3\r\n");
    let got = text(c.cmd(&["SLOWLOG", "GET"]));
    // Newest first: SLOWLOG LEN, RPUSH (31 arguments and a note), SET; max-len dropped RESET.
    assert!(got.starts_with("*3\r\n*6\r\n:"), "{got}");
    assert!(
        got.contains("*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n"),
        "{got}"
    );
    assert!(!got.contains("RESET"), "{got}");
    assert!(got.contains("$23\r\n... (11 more arguments)\r\n"), "{got}");
    assert!(got.contains("*32\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n"));
    let truncated = format!("{}... (72 more bytes)", "a".repeat(128));
    assert!(got.contains(&truncated), "{got}");
    assert!(got.contains(&format!("${}\r\n{me}\r\n$3\r\napp\r\n", me.len())));
    let one = text(c.cmd(&["SLOWLOG", "GET", "1"]));
    assert!(one.starts_with("*1\r\n*6\r\n"), "{one}");
    assert!(
        one.contains("*2\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n"),
        "{one}"
    );
    assert_eq!(
        text(c.cmd(&["SLOWLOG", "GET", "-2"])),
        "-ERR count should be greater than or equal to -1\r\n"
    );
    assert!(text(c.cmd(&["SLOWLOG", "GET", "-1"])).starts_with("*3\r\n"));
    assert!(text(c.cmd(&["SLOWLOG", "HELP"])).starts_with("*12\r\n"));
    // AUTH's arguments are redacted here too.
    c.cmd(&["AUTH", "u", "secret"]);
    let got = text(c.cmd(&["SLOWLOG", "GET", "2"]));
    assert!(
        got.contains("AUTH\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)"),
        "{got}"
    );
    assert!(!got.contains("secret"));
    // -1 disables it.
    c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    c.cmd(&["SLOWLOG", "RESET"]);
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":0\r\n");
    // A high threshold keeps fast commands out.
    c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "10000000"]);
    c.cmd(&["GET", "k"]);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":0\r\n");
}

fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
}

#[test]
fn info_commandstats_errorstats_latencystats_count() {
    for cold in [false, true] {
        let s = Server::strata(&[]);
        let mut c = s.client(cold);
        c.cmd(&["SET", "n", "1"]);
        c.cmd(&["SET", "s", "x"]);
        c.cmd(&["GET", "n"]);
        assert!(c
            .s(&["INCR", "s"])
            .starts_with("-ERR value is not an integer"));
        assert!(c.s(&["LPUSH", "s", "x"]).starts_with("-WRONGTYPE"));
        assert!(c.s(&["GET"]).starts_with("-ERR wrong number"));
        assert!(c.s(&["NOPE"]).starts_with("-ERR unknown command"));
        c.cmd(&["CLIENT", "ID"]);
        let info = c.s(&["INFO", "commandstats"]);
        assert!(info.contains("# Commandstats\r\n"), "{info}");
        let set = info_field(&info, "cmdstat_set").expect("cmdstat_set");
        assert!(set.starts_with("calls=2,usec="), "{set}");
        assert!(set.contains(",usec_per_call="), "{set}");
        assert!(set.ends_with(",rejected_calls=0,failed_calls=0"), "{set}");
        let get = info_field(&info, "cmdstat_get").expect("cmdstat_get");
        assert!(get.starts_with("calls=1,"), "{get}");
        assert!(get.ends_with("rejected_calls=1,failed_calls=0"), "{get}");
        let incr = info_field(&info, "cmdstat_incr").expect("cmdstat_incr");
        assert!(incr.ends_with("rejected_calls=0,failed_calls=1"), "{incr}");
        assert!(info_field(&info, "cmdstat_client|id").is_some(), "{info}");
        let errs = c.s(&["INFO", "errorstats"]);
        assert_eq!(
            info_field(&errs, "errorstat_ERR"),
            Some("count=3"),
            "{errs}"
        );
        assert_eq!(info_field(&errs, "errorstat_WRONGTYPE"), Some("count=1"));
        let lat = c.s(&["INFO", "latencystats"]);
        let p = info_field(&lat, "latency_percentiles_usec_set").expect("set latency");
        let keys: Vec<&str> = p
            .split(',')
            .map(|f| f.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(keys, ["p50", "p99", "p99.9"], "{p}");
        assert!(p.split(',').all(|f| f
            .split_once('=')
            .is_some_and(|(_, v)| v.parse::<f64>().is_ok_and(|v| v >= 1.0))));
        let all = c.s(&["INFO", "all"]);
        for sec in [
            "# Commandstats",
            "# Errorstats",
            "# Latencystats",
            "# Server",
        ] {
            assert!(all.contains(sec), "INFO all lacks {sec}");
        }
        assert!(!c.s(&["INFO"]).contains("# Commandstats"));
        // LATENCY HISTOGRAM: cumulative counts per power-of-two microseconds.
        let h = c.s(&["LATENCY", "HISTOGRAM", "set", "nosuch"]);
        assert!(
            h.starts_with(
                "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n*"
            ),
            "{h}"
        );
        assert_eq!(c.s(&["LATENCY", "HISTOGRAM", "nosuch"]), "*0\r\n");
        c.cmd(&["CONFIG", "RESETSTAT"]);
        let info = c.s(&["INFO", "commandstats"]);
        assert!(info_field(&info, "cmdstat_set").is_none(), "{info}");
        assert!(info_field(&c.s(&["INFO", "errorstats"]), "errorstat_ERR").is_none());
    }
}

#[test]
fn latency_monitor_latest_history_reset() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    assert_eq!(text(c.cmd(&["LATENCY", "LATEST"])), "*0\r\n");
    assert_eq!(text(c.cmd(&["LATENCY", "HISTORY", "command"])), "*0\r\n");
    assert_eq!(text(c.cmd(&["LATENCY", "RESET"])), ":0\r\n");
    assert!(text(c.cmd(&["LATENCY", "HELP"])).starts_with("*13\r\n"));
    assert_eq!(
        text(c.cmd(&["LATENCY", "HISTORY"])),
        "-ERR wrong number of arguments for 'latency|history' command\r\n"
    );
    // A 1 ms threshold: sorting 20000 elements takes longer.
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let mut args = vec!["RPUSH".to_string(), "big".to_string()];
    args.extend((0..20_000).map(|i| (i * 7919 % 20_000).to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&a);
    for _ in 0..5 {
        c.cmd(&["SORT", "big"]);
    }
    let latest = text(c.cmd(&["LATENCY", "LATEST"]));
    assert!(latest.contains("$7\r\ncommand\r\n"), "{latest}");
    let hist = text(c.cmd(&["LATENCY", "HISTORY", "command"]));
    assert!(hist.starts_with("*") && !hist.starts_with("*0"), "{hist}");
    assert_eq!(
        text(c.cmd(&["LATENCY", "RESET", "command", "nosuch"])),
        ":1\r\n"
    );
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    assert!(!text(c.cmd(&["LATENCY", "LATEST"])).contains("$7\r\ncommand\r\n"));
    c.cmd(&["LATENCY", "RESET"]);
    assert_eq!(text(c.cmd(&["LATENCY", "LATEST"])), "*0\r\n");
}

#[test]
fn client_list_fields_in_redis_order() {
    let s = Server::strata(&[]);
    let mut c = s.client(true);
    c.cmd(&["SELECT", "3"]);
    let line = c.s(&["CLIENT", "INFO"]);
    let body = line.split_once("\r\n").map_or("", |(_, b)| b).trim_end();
    let keys: Vec<&str> = body
        .split(' ')
        .map(|f| f.split('=').next().unwrap_or(""))
        .collect();
    let want = [
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
        "lib-name",
        "lib-ver",
    ];
    assert_eq!(keys, want, "{body}");
    for f in [
        "db=3 ",
        "sub=0 ",
        "psub=0 ",
        "multi=-1 ",
        "omem=0 ",
        "flags=N ",
        "cmd=client|info ",
        "age=",
        "idle=",
    ] {
        assert!(body.contains(f), "{f} in {body}");
    }
    let fd: i64 = body
        .split(' ')
        .find_map(|f| f.strip_prefix("fd="))
        .and_then(|v| v.parse().ok())
        .expect("fd");
    assert!(fd > 2, "{body}");
    std::thread::sleep(Duration::from_millis(2100));
    let mut other = s.raw();
    let list = text(other.cmd(&["CLIENT", "LIST"]));
    let mine = list
        .lines()
        .find(|l| l.contains("db=3"))
        .expect("the first client");
    let age: u64 = mine
        .split(' ')
        .find_map(|f| f.strip_prefix("age="))
        .and_then(|v| v.parse().ok())
        .expect("age");
    assert!(age >= 2, "{mine}");
    assert!(mine.contains("idle=2") || mine.contains("idle=3"), "{mine}");
}

#[test]
fn client_pause_write_holds_writes_not_reads() {
    let s = Server::strata(&[]);
    let mut admin = s.raw();
    let mut c = s.client(true);
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(
        text(admin.cmd(&["CLIENT", "PAUSE", "10", "FOO"])),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "PAUSE", "-1"])),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "PAUSE", "x"])),
        "-ERR timeout is not an integer or out of range\r\n"
    );
    // WRITE: reads proceed, the write waits for UNPAUSE.
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "20000", "WRITE"]),
        b"+OK\r\n"
    );
    let t = Instant::now();
    assert_eq!(c.s(&["GET", "k"]), "$1\r\nv\r\n");
    assert!(t.elapsed() < Duration::from_secs(2));
    let mut w = s.raw();
    let writer = std::thread::spawn(move || {
        let t = Instant::now();
        let r = w.cmd(&["SET", "k", "w"]);
        (r, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.s(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    let (r, took) = writer.join().expect("writer");
    assert_eq!(r, b"+OK\r\n");
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(c.s(&["GET", "k"]), "$1\r\nw\r\n");
    // The pause ends by itself; ALL holds reads too.
    admin.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]);
    let t = Instant::now();
    assert_eq!(c.s(&["SET", "k", "x"]), "+OK\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    admin.cmd(&["CLIENT", "PAUSE", "400"]);
    let t = Instant::now();
    assert_eq!(c.main.cmd(&["PING"]), b"+PONG\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn client_reply_off_skip_on() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    c.send(&crate::util::encode(&[b"CLIENT", b"REPLY", b"SKIP"]));
    c.send(&crate::util::encode(&[b"PING", b"a"]));
    assert_eq!(c.cmd(&["PING", "b"]), b"$1\r\nb\r\n");
    c.send(&crate::util::encode(&[b"CLIENT", b"REPLY", b"OFF"]));
    c.send(&crate::util::encode(&[b"SET", b"k", b"v"]));
    c.send(&crate::util::encode(&[b"PING", b"x"]));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_eq!(
        text(c.cmd(&["CLIENT", "REPLY", "MAYBE"])),
        "-ERR syntax error\r\n"
    );
    // SKIP then ON: ON's reply is sent.
    c.send(&crate::util::encode(&[b"CLIENT", b"REPLY", b"SKIP"]));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), b"+OK\r\n");
}

#[test]
fn client_kill_filters() {
    let s = Server::strata(&[]);
    let mut admin = s.raw();
    let mut old = s.raw();
    let old_id = text(old.cmd(&["CLIENT", "ID"]));
    std::thread::sleep(Duration::from_millis(2100));
    let mut a = s.raw();
    let mut b = s.raw();
    let mut d = s.raw();
    let a_id = text(a.cmd(&["CLIENT", "ID"]));
    let a_id = a_id.trim_start_matches(':').trim();
    let b_addr = addr(&mut b);
    assert_eq!(
        text(admin.cmd(&["CLIENT", "KILL", "ID", "0"])),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "KILL", "TYPE", "foo"])),
        "-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "KILL", "USER", "nobody"])),
        "-ERR No such user 'nobody'\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "KILL", "SKIPME", "maybe"])),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        text(admin.cmd(&["CLIENT", "KILL", "1.2.3.4:5"])),
        "-ERR No such client\r\n"
    );
    for t in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(admin.cmd(&["CLIENT", "KILL", "TYPE", t]), b":0\r\n", "{t}");
    }
    // MAXAGE: only the client older than a second.
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "MAXAGE", "1"]), b":1\r\n");
    assert!(old.closed(), "{old_id}");
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", a_id]), b":1\r\n");
    assert!(a.closed());
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ADDR", &b_addr]), b":1\r\n");
    assert!(b.closed());
    let laddr = text(admin.cmd(&["CLIENT", "INFO"]))
        .split(' ')
        .find_map(|f| f.strip_prefix("laddr=").map(str::to_string))
        .expect("laddr");
    // LADDR matches every client here; SKIPME (default yes) spares the caller.
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default"]),
        b":1\r\n"
    );
    assert!(d.closed());
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "TYPE", "normal"]), b":0\r\n");
    // Killing itself: the reply may or may not get out before the close.
    let r = admin.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]);
    assert!(r == b":1\r\n" || r.is_empty(), "{r:?}");
    assert!(r.is_empty() || admin.closed());
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = Server::strata(&["--timeout", "1"]);
    let mut idle = s.raw();
    let mut monitor = s.raw();
    assert_eq!(monitor.cmd(&["MONITOR"]), b"+OK\r\n");
    assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
    let t = Instant::now();
    assert!(idle.closed());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(t.elapsed() >= Duration::from_millis(900));
    // A monitor is never timed out: it still receives lines.
    let mut c = s.raw();
    c.cmd(&["PING"]);
    assert!(text(monitor.reply()).contains("\"PING\""));
    assert!(text(monitor.reply()).contains("\"PING\""));
}
