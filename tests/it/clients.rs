//! Real clients: the `redis` crate and `redis-cli`, warm and cold.

use redis::Commands;

use crate::util::Server;

#[test]
fn redis_crate_round_trips_in_both_modes() {
    for cold in [false, true] {
        let s = Server::strata(&[]);
        let mut admin = s.raw();
        let mut con = s.redis_conn();
        let mut drop_hot = || {
            if cold {
                admin.cmd(&["TIER", "DROP"]);
            }
        };
        let _: () = con.set("greeting", "hello").expect("set");
        drop_hot();
        let v: String = con.get("greeting").expect("get");
        assert_eq!(v, "hello");
        drop_hot();
        let n: i64 = con.incr("counter", 5).expect("incr");
        assert_eq!(n, 5);
        drop_hot();
        let _: () = con.set_ex("temp", "x", 100).expect("setex");
        drop_hot();
        let ttl: i64 = con.ttl("temp").expect("ttl");
        assert!((99..=100).contains(&ttl));
        drop_hot();
        let vals: Vec<Option<String>> = con.mget(&["greeting", "missing"]).expect("mget");
        assert_eq!(vals, vec![Some("hello".to_string()), None]);
        let keys: Vec<String> = con
            .scan_match("g*")
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("scan items");
        assert_eq!(keys, vec!["greeting".to_string()]);
        let size: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
        assert_eq!(size, 3);
        let err = con
            .incr::<_, _, i64>("greeting", 1)
            .expect_err("not an integer");
        assert!(
            err.to_string()
                .contains("value is not an integer or out of range"),
            "{err}"
        );
    }
}

#[test]
fn redis_cli_works_unchanged() {
    let s = Server::strata(&[]);
    assert_eq!(s.cli(&["PING"]).trim(), "PONG");
    assert_eq!(s.cli(&["SET", "k", "v v"]).trim(), "OK");
    assert_eq!(s.cli(&["GET", "k"]).trim(), "v v");
    assert_eq!(s.cli(&["--no-raw", "GET", "nope"]).trim(), "(nil)");
    assert!(s.cli(&["INFO", "server"]).contains("redis_version:"));
    assert_eq!(s.cli(&["TIER", "WHERE", "k"]).trim(), "memory");
    assert_eq!(s.cli(&["TIER", "DROP"]).trim(), "1");
    assert_eq!(s.cli(&["TIER", "WHERE", "k"]).trim(), "disk");
    assert_eq!(s.cli(&["GET", "k"]).trim(), "v v");
    let listed = s.cli(&["--scan", "--pattern", "*"]);
    assert_eq!(listed.trim(), "k");
    assert_eq!(
        s.cli(&["CLIENT", "SETNAME", "x y"]).trim(),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
}

#[test]
fn client_list_kill_and_names() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "alpha"]), b"+OK\r\n");
    let list = String::from_utf8_lossy(&b.cmd(&["CLIENT", "LIST"])).into_owned();
    assert!(
        list.contains("name=alpha") && list.contains("cmd=client|list"),
        "{list}"
    );
    let id = String::from_utf8_lossy(&a.cmd(&["CLIENT", "ID"]))
        .trim()
        .trim_start_matches(':')
        .to_string();
    assert_eq!(b.cmd(&["CLIENT", "KILL", "ID", &id]), b":1\r\n");
    assert!(a.closed());
}

/// A client that always has a request ready (its socket never drains) still learns of its kill.
#[test]
fn client_kill_stops_a_client_that_never_pauses() {
    let s = Server::strata(&[]);
    let mut admin = s.raw();
    let mut flood = s.raw();
    let id = String::from_utf8_lossy(&flood.cmd(&["CLIENT", "ID"]))
        .trim()
        .trim_start_matches(':')
        .to_string();
    let mut w = flood.writer().try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        let burst = crate::util::encode(&[b"PING"]).repeat(2000);
        while std::io::Write::write_all(&mut w, &burst).is_ok() {}
    });
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        // Drain replies so that the server's writes never wait either; returns at EOF.
        while !flood.reply().is_empty() {}
        let _ = closed_tx.send(());
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &id]), b":1\r\n");
    assert!(
        closed_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .is_ok(),
        "the flooding client was not disconnected"
    );
    reader.join().expect("reader");
    writer.join().expect("writer");
}
