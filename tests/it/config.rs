//! Configuration end to end: file plus flags, CONFIG GET/SET/REWRITE, AUTH.

use crate::util::Server;

#[test]
fn config_file_flags_get_set_and_rewrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("strata.conf");
    std::fs::write(&conf, "# my settings\nhot-memory 64mb\ntimeout 0\n").expect("write");
    let s = Server::strata(&[&conf.to_string_lossy(), "--maxmemory", "10mb"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "hot-memory"]),
        b"*2\r\n$10\r\nhot-memory\r\n$8\r\n67108864\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "timeout", "30", "appendfsync", "always"]),
        b"+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "appendfsync"]),
        b"*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", "1"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "nosuch", "1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    let all = String::from_utf8_lossy(&c.cmd(&["CONFIG", "GET", "*"])).into_owned();
    assert!(all.contains("eviction-policy") && all.contains("maxmemory-policy"));
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&conf).expect("read");
    assert!(text.starts_with("# my settings\n"), "{text}");
    assert!(
        text.contains("timeout 30")
            && text.contains("appendfsync always")
            && text.contains("max-data-size 10485760")
    );
}

#[test]
fn requirepass_and_auth() {
    let s = Server::strata(&["--requirepass", "sekret"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["GET", "a"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "sekret"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), b"$-1\r\n");
    let mut d = s.raw();
    assert_eq!(d.cmd(&["AUTH", "default", "sekret"]), b"+OK\r\n");
    assert_eq!(d.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn bad_config_fails_fast() {
    let out = std::process::Command::new(crate::util::strata_bin())
        .args(["--port", "notaport"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FATAL CONFIG"));
}
