//! Per-key tier introspection end to end: TIER WHERE / INFO, MEMORY USAGE, and big values that
//! stay on disk (`hot-max-object-size`).

use crate::util::Server;

fn int(reply: &[u8]) -> i64 {
    String::from_utf8_lossy(reply)
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("integer reply")
}

#[test]
fn values_above_hot_max_object_size_are_served_from_disk() {
    let s = Server::strata(&["--hot-max-object-size", "1kb"]);
    let mut c = s.raw();
    let big = "b".repeat(4000);
    assert_eq!(c.cmd(&["SET", "big", &big]), b"+OK\r\n");
    assert_eq!(c.cmd(&["SET", "small", "s"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["TIER", "WHERE", "big"]), b"$4\r\ndisk\r\n");
    assert_eq!(c.cmd(&["TIER", "WHERE", "small"]), b"$6\r\nmemory\r\n");
    assert_eq!(
        c.cmd(&["GET", "big"]),
        format!("$4000\r\n{big}\r\n").into_bytes()
    );
    assert_eq!(
        c.cmd(&["TIER", "WHERE", "big"]),
        b"$4\r\ndisk\r\n",
        "a read does not cache it either"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "hot-max-object-size", "1mb"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["GET", "big"]).len(), 4000 + 9);
    assert_eq!(c.cmd(&["TIER", "WHERE", "big"]), b"$6\r\nmemory\r\n");
}

#[test]
fn memory_usage_and_tier_info_through_the_server() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["SET", "k", "v".repeat(100).as_str(), "EX", "100"]),
        b"+OK\r\n"
    );
    let warm = int(&c.cmd(&["MEMORY", "USAGE", "k"]));
    assert!(warm > 101, "{warm}");
    let info = String::from_utf8_lossy(&c.cmd(&["TIER", "INFO", "k"])).into_owned();
    assert!(
        info.contains("memory\r\n") && info.contains("disk_bytes"),
        "{info}"
    );
    assert_eq!(int(&c.cmd(&["TIER", "DROP", "k"])), 1);
    assert_eq!(
        int(&c.cmd(&["MEMORY", "USAGE", "k"])),
        warm,
        "MEMORY USAGE does not depend on the tier"
    );
    let info = String::from_utf8_lossy(&c.cmd(&["TIER", "INFO", "k"])).into_owned();
    assert!(
        info.starts_with("*6\r\n$4\r\ntier\r\n$4\r\ndisk\r\n$12\r\nmemory_bytes\r\n:0\r\n"),
        "{info}"
    );
    assert_eq!(c.cmd(&["TIER", "INFO", "nokey"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "nokey"]), b"$-1\r\n");
}
