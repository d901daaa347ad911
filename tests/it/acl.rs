//! Access control: ACL SETUSER/GETUSER/LIST against redis-server, AUTH, NOPERM for commands,
//! categories and key patterns, ACL DELUSER, the aclfile across restarts and protected mode.

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use crate::util::{have_redis, Raw, Server};

fn s(r: &mut Raw, args: &[&str]) -> String {
    String::from_utf8_lossy(&r.cmd(args)).into_owned()
}

const NOPERM_KEYS: &str =
    "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Requests whose replies must be byte-identical with redis-server 7.0.
const SCRIPT: &[&[&str]] = &[
    &["ACL", "SETUSER", "bob"],
    &[
        "ACL", "SETUSER", "alice", "on", ">pw", "~k*", "%R~r*", "&ch*", "+get",
    ],
    &[
        "ACL",
        "SETUSER",
        "z",
        "on",
        "nopass",
        "+@all",
        "-get",
        "~a",
        "%W~b",
        "%RW~c",
        "allchannels",
    ],
    &[
        "ACL", "SETUSER", "y", "nopass", "~a", "~a", "+@all", "-@all",
    ],
    &["ACL", "SETUSER", "w", ">a", ">b", ">a", "<b", "+config|get"],
    &[
        "ACL",
        "SETUSER",
        "v",
        "reset",
        "#ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
    ],
    &["ACL", "SETUSER", "c1", "+@all", "-@admin", "-@dangerous"],
    &[
        "ACL", "SETUSER", "c2", "-@all", "+@write", "+@read", "-@write", "+@write",
    ],
    &[
        "ACL", "SETUSER", "c3", "+@read", "-get", "+@string", "-lpush",
    ],
    &[
        "ACL",
        "SETUSER",
        "c4",
        "allcommands",
        "-@keyspace",
        "-@list",
        "+lpush",
    ],
    &["ACL", "GETUSER", "c1"],
    &["ACL", "GETUSER", "c2"],
    &["ACL", "GETUSER", "c3"],
    &["ACL", "GETUSER", "c4"],
    &["ACL", "DELUSER", "c1", "c2", "c3", "c4"],
    &["ACL", "SETUSER", "e", "#abc"],
    &["ACL", "SETUSER", "e", "~*", "~x"],
    &["ACL", "SETUSER", "e", "&*", "&x"],
    &["ACL", "SETUSER", "e", "<nope"],
    &["ACL", "SETUSER", "e", "+nosuchcommand"],
    &["ACL", "SETUSER", "e", "+@nosuchcategory"],
    &["ACL", "SETUSER", "e", "+config|nope"],
    &["ACL", "SETUSER", "e", "bogus"],
    &["ACL", "SETUSER", "a b"],
    &["ACL", "GETUSER", "e"],
    &["ACL", "GETUSER", "bob"],
    &["ACL", "GETUSER", "alice"],
    &["ACL", "GETUSER", "z"],
    &["ACL", "GETUSER", "w"],
    &["ACL", "GETUSER", "v"],
    &["ACL", "GETUSER", "default"],
    &["ACL", "LIST"],
    &["ACL", "USERS"],
    &["ACL", "WHOAMI"],
    &["ACL", "CAT"],
    &["ACL", "CAT", "nope"],
    &["ACL", "DELUSER", "default"],
    &["ACL", "DELUSER", "bob", "nobody", "y"],
    &["ACL", "GENPASS", "0"],
    &["ACL", "GENPASS", "5000"],
    &["ACL", "DRYRUN", "alice", "get", "k1"],
    &["ACL", "DRYRUN", "alice", "get", "x"],
    &["ACL", "DRYRUN", "alice", "set", "k1", "v"],
    &["ACL", "DRYRUN", "alice", "set", "r1", "v"],
    &["ACL", "DRYRUN", "nobody", "get", "x"],
    &["ACL", "LOAD"],
    &["ACL", "SAVE"],
    &["ACL", "LIST"],
    &["AUTH", "alice", "nope"],
    &["AUTH", "bob", ""],
    &["AUTH", "z", "anything"],
    &["ACL", "WHOAMI"],
];

#[test]
fn acl_replies_match_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed: skipping");
        return;
    }
    let strata = Server::strata(&[]);
    let redis = Server::redis();
    let (mut a, mut b) = (strata.raw(), redis.raw());
    for req in SCRIPT {
        let (x, y) = (s(&mut a, req), s(&mut b, req));
        assert_eq!(x, y, "{req:?}");
    }
}

#[test]
fn genpass_and_help() {
    let s0 = Server::strata(&[]);
    let mut r = s0.raw();
    let p = s(&mut r, &["ACL", "GENPASS"]);
    assert_eq!(p.len(), "$64\r\n".len() + 64 + 2, "{p}");
    assert_eq!(
        s(&mut r, &["ACL", "GENPASS", "5"]).len(),
        "$2\r\n".len() + 4
    );
    assert!(s(&mut r, &["ACL", "HELP"]).contains("+WHOAMI\r\n"));
}

#[test]
fn auth_and_permissions() {
    for cold in [false, true] {
        let srv = Server::strata(&[]);
        let mut admin = srv.raw();
        assert_eq!(
            s(
                &mut admin,
                &[
                    "ACL",
                    "SETUSER",
                    "u",
                    "on",
                    ">p",
                    "~k*",
                    "%R~r*",
                    "+get",
                    "+set",
                    "+@hash",
                    "+acl|whoami",
                ]
            ),
            "+OK\r\n"
        );
        assert_eq!(s(&mut admin, &["SET", "r1", "x"]), "+OK\r\n");
        let mut c = srv.client(cold);
        assert_eq!(c.s(&["AUTH", "u", "wrong"]), WRONGPASS);
        assert_eq!(c.s(&["AUTH", "nobody", "p"]), WRONGPASS);
        assert_eq!(c.s(&["AUTH", "u", "p"]), "+OK\r\n");
        assert_eq!(c.s(&["ACL", "WHOAMI"]), "$1\r\nu\r\n");
        assert_eq!(c.s(&["SET", "k1", "v"]), "+OK\r\n");
        assert_eq!(c.s(&["GET", "k1"]), "$1\r\nv\r\n");
        assert_eq!(c.s(&["GET", "r1"]), "$1\r\nx\r\n");
        assert_eq!(c.s(&["SET", "r1", "y"]), NOPERM_KEYS);
        assert_eq!(c.s(&["GET", "other"]), NOPERM_KEYS);
        assert_eq!(c.s(&["HSET", "kh", "f", "v"]), ":1\r\n");
        assert_eq!(c.s(&["HSET", "h", "f", "v"]), NOPERM_KEYS);
        assert_eq!(
            c.s(&["DEL", "k1"]),
            "-NOPERM this user has no permissions to run the 'del' command\r\n"
        );
        assert_eq!(
            c.s(&["CONFIG", "GET", "port"]),
            "-NOPERM this user has no permissions to run the 'config|get' command\r\n"
        );
        assert_eq!(
            c.s(&["ACL", "LIST"]),
            "-NOPERM this user has no permissions to run the 'acl|list' command\r\n"
        );
        // Changes apply at once to authenticated clients.
        assert_eq!(s(&mut admin, &["ACL", "SETUSER", "u", "-get"]), "+OK\r\n");
        assert_eq!(
            c.s(&["GET", "k1"]),
            "-NOPERM this user has no permissions to run the 'get' command\r\n"
        );
        assert_eq!(s(&mut admin, &["ACL", "SETUSER", "u", "+@read"]), "+OK\r\n");
        assert_eq!(c.s(&["GET", "k1"]), "$1\r\nv\r\n");
        assert_eq!(c.s(&["STRLEN", "k1"]), ":1\r\n");
        // The log records the denials, newest first.
        let log = s(&mut admin, &["ACL", "LOG", "1"]);
        assert!(log.contains("$6\r\nreason\r\n$7\r\ncommand\r\n"), "{log}");
        assert!(log.contains("$6\r\nobject\r\n$3\r\nget\r\n"), "{log}");
        let all = s(&mut admin, &["ACL", "LOG"]);
        assert!(all.contains("$3\r\nkey\r\n"), "{all}");
        assert!(all.contains("$4\r\nauth\r\n"), "{all}");
        assert_eq!(s(&mut admin, &["ACL", "LOG", "RESET"]), "+OK\r\n");
        assert_eq!(s(&mut admin, &["ACL", "LOG"]), "*0\r\n");
        // A disabled user cannot authenticate.
        assert_eq!(s(&mut admin, &["ACL", "SETUSER", "u", "off"]), "+OK\r\n");
        assert_eq!(c.s(&["AUTH", "u", "p"]), WRONGPASS);
        // RESET goes back to the default user.
        assert_eq!(c.s(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.s(&["ACL", "WHOAMI"]), "$7\r\ndefault\r\n");
    }
}

#[test]
fn requirepass_is_the_default_users_password() {
    let srv = Server::strata(&["--requirepass", "pw"]);
    let mut r = srv.raw();
    assert!(s(&mut r, &["GET", "x"]).starts_with("-NOAUTH"));
    assert_eq!(s(&mut r, &["AUTH", "bad"]), WRONGPASS);
    assert_eq!(s(&mut r, &["AUTH", "default", "bad"]), WRONGPASS);
    assert_eq!(s(&mut r, &["AUTH", "pw"]), "+OK\r\n");
    let list = s(&mut r, &["ACL", "LIST"]);
    // sha256("pw")
    assert!(
        list.contains("user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all"),
        "{list}"
    );
    let mut h = srv.raw();
    assert!(s(&mut h, &["HELLO", "2", "AUTH", "default", "pw"]).starts_with("*14\r\n"));
    assert_eq!(s(&mut r, &["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    let mut fresh = srv.raw();
    assert_eq!(s(&mut fresh, &["GET", "x"]), "$-1\r\n");
    assert!(s(&mut fresh, &["AUTH", "x"]).starts_with("-ERR AUTH <password> called without"));
}

#[test]
fn deluser_closes_that_users_clients() {
    let srv = Server::strata(&[]);
    let mut admin = srv.raw();
    assert_eq!(
        s(
            &mut admin,
            &["ACL", "SETUSER", "tmp", "on", "nopass", "+@all", "~*"]
        ),
        "+OK\r\n"
    );
    let mut c = srv.raw();
    assert_eq!(s(&mut c, &["AUTH", "tmp", "any"]), "+OK\r\n");
    assert_eq!(s(&mut c, &["PING"]), "+PONG\r\n");
    assert_eq!(
        s(&mut admin, &["ACL", "DELUSER", "default"]),
        "-ERR The 'default' user cannot be removed\r\n"
    );
    assert_eq!(s(&mut admin, &["ACL", "DELUSER", "tmp", "nope"]), ":1\r\n");
    assert_eq!(c.cmd(&["PING"]), b"");
    assert_eq!(s(&mut admin, &["ACL", "USERS"]), "*1\r\n$7\r\ndefault\r\n");
}

#[test]
fn aclfile_saved_and_loaded_at_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("users.acl");
    std::fs::write(&path, "user default on nopass ~* &* +@all\n").expect("write");
    let p = path.to_string_lossy().into_owned();
    let mut srv = Server::strata(&["--aclfile", &p]);
    let mut r = srv.raw();
    assert_eq!(
        s(
            &mut r,
            &["ACL", "SETUSER", "keep", "on", ">secret", "~app:*", "+get"]
        ),
        "+OK\r\n"
    );
    assert_eq!(s(&mut r, &["ACL", "SAVE"]), "+OK\r\n");
    let saved = std::fs::read_to_string(&path).expect("read");
    assert!(saved.contains("user keep on #"), "{saved}");
    srv.restart();
    let mut r = srv.raw();
    let mut c = srv.raw();
    assert_eq!(s(&mut c, &["AUTH", "keep", "secret"]), "+OK\r\n");
    assert_eq!(s(&mut c, &["GET", "app:1"]), "$-1\r\n");
    assert_eq!(s(&mut c, &["GET", "other"]), NOPERM_KEYS);
    // ACL LOAD replaces the users with the file's.
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser other on nopass -@all +ping\n",
    )
    .expect("write");
    assert_eq!(s(&mut r, &["ACL", "LOAD"]), "+OK\r\n");
    assert_eq!(
        s(&mut r, &["ACL", "USERS"]),
        "*2\r\n$7\r\ndefault\r\n$5\r\nother\r\n"
    );
    std::fs::write(&path, "nonsense\n").expect("write");
    assert!(s(&mut r, &["ACL", "LOAD"]).starts_with("-ERR "));
    assert_eq!(
        s(&mut r, &["ACL", "USERS"]),
        "*2\r\n$7\r\ndefault\r\n$5\r\nother\r\n"
    );
}

/// A local address that is not loopback, if the machine has one.
fn outside_ip() -> Option<std::net::IpAddr> {
    let u = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    u.connect("192.0.2.200:9").ok()?;
    let ip = u.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn protected_mode() {
    let srv = Server::strata(&[]);
    let mut r = srv.raw();
    assert_eq!(
        s(&mut r, &["CONFIG", "GET", "protected-mode"]),
        "*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n"
    );
    // Loopback clients are served.
    assert_eq!(s(&mut r, &["PING"]), "+PONG\r\n");
    let Some(ip) = outside_ip() else {
        eprintln!("no non-loopback interface: skipping the DENIED check");
        return;
    };
    let bind = format!("127.0.0.1 {ip}");
    let srv = Server::strata(&["--bind", &bind]);
    let read_all = || {
        let mut sock = TcpStream::connect((ip, srv.port)).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let _ = std::io::Write::write_all(&mut sock, b"PING\r\n");
        let mut out = Vec::new();
        let _ = sock.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let denied = read_all();
    assert!(
        denied.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."),
        "{denied}"
    );
    assert!(denied.ends_with("accepting connections from the outside.\r\n"));
    let mut r = srv.raw();
    assert_eq!(
        s(&mut r, &["CONFIG", "SET", "protected-mode", "no"]),
        "+OK\r\n"
    );
    assert_eq!(read_all(), "+PONG\r\n");
    assert_eq!(
        s(&mut r, &["CONFIG", "SET", "protected-mode", "yes"]),
        "+OK\r\n"
    );
    assert_eq!(
        s(&mut r, &["CONFIG", "SET", "requirepass", "pw"]),
        "+OK\r\n"
    );
    assert!(read_all().starts_with("-NOAUTH"));
}
