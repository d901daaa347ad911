//! Pub/sub through the real binary: fan-out over many connections, patterns, shard channels,
//! PUBSUB introspection, subscribed-mode restrictions, RESET, the output limit that disconnects
//! a subscriber that never reads, and a byte-for-byte comparison with redis-server.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{encode, have_redis, Raw, Server};

fn send(c: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&encode(&a));
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn confirm(kind: &str, name: Option<&str>, n: usize) -> String {
    let name = name.map_or("$-1\r\n".to_string(), bulk);
    format!("*3\r\n{}{name}:{n}\r\n", bulk(kind))
}

fn message(ch: &str, msg: &str) -> String {
    format!("*3\r\n{}{}{}", bulk("message"), bulk(ch), bulk(msg))
}

fn pmessage(pat: &str, ch: &str, msg: &str) -> String {
    format!(
        "*4\r\n{}{}{}{}",
        bulk("pmessage"),
        bulk(pat),
        bulk(ch),
        bulk(msg)
    )
}

#[test]
fn fan_out_to_many_subscribers_in_publish_order() {
    let s = Server::strata(&[]);
    let mut subs: Vec<Raw> = (0..40).map(|_| s.raw()).collect();
    let mut psubs: Vec<Raw> = (0..10).map(|_| s.raw()).collect();
    for c in &mut subs {
        assert_eq!(
            text(c.cmd(&["SUBSCRIBE", "news", "other"])),
            confirm("subscribe", Some("news"), 1)
        );
        assert_eq!(text(c.reply()), confirm("subscribe", Some("other"), 2));
    }
    for c in &mut psubs {
        assert_eq!(
            text(c.cmd(&["PSUBSCRIBE", "n*s"])),
            confirm("psubscribe", Some("n*s"), 1)
        );
    }
    let mut publ = s.raw();
    for i in 0..100 {
        let n = text(publ.cmd(&["PUBLISH", "news", &format!("m{i}")]));
        assert_eq!(n, ":50\r\n");
    }
    assert_eq!(text(publ.cmd(&["PUBLISH", "nobody", "x"])), ":0\r\n");
    for c in &mut subs {
        for i in 0..100 {
            assert_eq!(text(c.reply()), message("news", &format!("m{i}")));
        }
    }
    for c in &mut psubs {
        for i in 0..100 {
            assert_eq!(text(c.reply()), pmessage("n*s", "news", &format!("m{i}")));
        }
    }
    // A client that subscribed to both a channel and a matching pattern gets both, channel first.
    let mut both = s.raw();
    send(&mut both, &["SUBSCRIBE", "news"]);
    both.reply();
    send(&mut both, &["PSUBSCRIBE", "*"]);
    assert_eq!(text(both.reply()), confirm("psubscribe", Some("*"), 2));
    assert_eq!(text(publ.cmd(&["PUBLISH", "news", "z"])), ":52\r\n");
    assert_eq!(text(both.reply()), message("news", "z"));
    assert_eq!(text(both.reply()), pmessage("*", "news", "z"));
    // Closing subscribers drops their subscriptions.
    drop(subs);
    let deadline = Instant::now() + Duration::from_secs(10);
    while text(publ.cmd(&["PUBSUB", "NUMSUB", "news"])) != "*2\r\n$4\r\nnews\r\n:1\r\n" {
        assert!(
            Instant::now() < deadline,
            "closed subscribers stayed subscribed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn concurrent_publishers_keep_each_publishers_order() {
    let s = Server::strata(&[]);
    let mut sub = s.raw();
    assert_eq!(
        text(sub.cmd(&["SUBSCRIBE", "c"])),
        confirm("subscribe", Some("c"), 1)
    );
    let port = s.port;
    let threads: Vec<_> = (0..4)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Raw::try_connect(port).expect("connect");
                for i in 0..200 {
                    assert_eq!(c.cmd(&["PUBLISH", "c", &format!("{p}:{i}")]), b":1\r\n");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("publisher");
    }
    let mut next = [0usize; 4];
    for _ in 0..800 {
        let m = text(sub.reply());
        let body = m.rsplit("\r\n").nth(1).expect("payload").to_string();
        let (p, i) = body.split_once(':').expect("p:i");
        let p: usize = p.parse().expect("p");
        assert_eq!(i.parse::<usize>().expect("i"), next[p], "out of order: {m}");
        next[p] += 1;
    }
}

#[test]
fn patterns_and_shard_channels_are_separate() {
    let s = Server::strata(&[]);
    let mut p = s.raw();
    let mut sh = s.raw();
    let mut publ = s.raw();
    send(&mut p, &["PSUBSCRIBE", "h?llo", "x[ab]*"]);
    assert_eq!(text(p.reply()), confirm("psubscribe", Some("h?llo"), 1));
    assert_eq!(text(p.reply()), confirm("psubscribe", Some("x[ab]*"), 2));
    assert_eq!(
        text(sh.cmd(&["SSUBSCRIBE", "hello"])),
        confirm("ssubscribe", Some("hello"), 1)
    );
    assert_eq!(text(publ.cmd(&["PUBLISH", "hallo", "1"])), ":1\r\n");
    assert_eq!(text(publ.cmd(&["PUBLISH", "xc", "no"])), ":0\r\n");
    assert_eq!(text(publ.cmd(&["PUBLISH", "xbz", "2"])), ":1\r\n");
    // PUBLISH does not reach shard subscribers; SPUBLISH reaches neither patterns nor channels.
    assert_eq!(text(publ.cmd(&["PUBLISH", "hello", "3"])), ":1\r\n");
    assert_eq!(text(publ.cmd(&["SPUBLISH", "hello", "4"])), ":1\r\n");
    assert_eq!(text(publ.cmd(&["SPUBLISH", "hallo", "5"])), ":0\r\n");
    assert_eq!(text(p.reply()), pmessage("h?llo", "hallo", "1"));
    assert_eq!(text(p.reply()), pmessage("x[ab]*", "xbz", "2"));
    assert_eq!(text(p.reply()), pmessage("h?llo", "hello", "3"));
    assert_eq!(
        text(sh.reply()),
        format!("*3\r\n{}{}{}", bulk("smessage"), bulk("hello"), bulk("4"))
    );
    assert_eq!(
        text(p.cmd(&["PUNSUBSCRIBE", "h?llo"])),
        confirm("punsubscribe", Some("h?llo"), 1)
    );
    assert_eq!(text(publ.cmd(&["PUBLISH", "hallo", "6"])), ":0\r\n");
    assert_eq!(
        text(sh.cmd(&["SUNSUBSCRIBE"])),
        confirm("sunsubscribe", Some("hello"), 0)
    );
    assert_eq!(
        text(sh.cmd(&["SUNSUBSCRIBE"])),
        confirm("sunsubscribe", None, 0)
    );
    // Out of subscribed mode again.
    assert_eq!(text(sh.cmd(&["GET", "k"])), "$-1\r\n");
}

#[test]
fn pubsub_introspection() {
    let s = Server::strata(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let mut q = s.raw();
    send(&mut a, &["SUBSCRIBE", "ch1", "ch2", "other"]);
    for _ in 0..3 {
        a.reply();
    }
    send(&mut b, &["SUBSCRIBE", "ch1"]);
    b.reply();
    send(&mut b, &["PSUBSCRIBE", "ch*", "x*"]);
    b.reply();
    b.reply();
    send(&mut a, &["PSUBSCRIBE", "ch*"]);
    a.reply();
    send(&mut a, &["SSUBSCRIBE", "s1", "s2"]);
    a.reply();
    a.reply();
    let mut chans: Vec<String> = text(q.cmd(&["PUBSUB", "CHANNELS"]))
        .split("\r\n")
        .filter(|l| !l.starts_with(['*', '$']) && !l.is_empty())
        .map(str::to_string)
        .collect();
    chans.sort();
    assert_eq!(chans, ["ch1", "ch2", "other"]);
    let ch = text(q.cmd(&["PUBSUB", "CHANNELS", "ch?"]));
    assert!(
        ch.starts_with("*2\r\n") && ch.contains("ch1") && ch.contains("ch2"),
        "{ch}"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "CHANNELS", "o*"])),
        "*1\r\n$5\r\nother\r\n"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "NUMSUB", "ch1", "ch2", "none"])),
        "*6\r\n$3\r\nch1\r\n:2\r\n$3\r\nch2\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(text(q.cmd(&["PUBSUB", "NUMSUB"])), "*0\r\n");
    assert_eq!(text(q.cmd(&["PUBSUB", "NUMPAT"])), ":2\r\n");
    let sc = text(q.cmd(&["PUBSUB", "SHARDCHANNELS"]));
    assert!(
        sc.starts_with("*2\r\n") && sc.contains("s1") && sc.contains("s2"),
        "{sc}"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "SHARDCHANNELS", "*2"])),
        "*1\r\n$2\r\ns2\r\n"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "SHARDNUMSUB", "s1", "zz"])),
        "*4\r\n$2\r\ns1\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
    );
    let info = text(q.cmd(&["INFO", "stats"]));
    for f in [
        "pubsub_channels:3\r\n",
        "pubsub_patterns:2\r\n",
        "pubsubshard_channels:2\r\n",
    ] {
        assert!(info.contains(f), "INFO stats lacks {f}: {info}");
    }
    let help = text(q.cmd(&["PUBSUB", "HELP"]));
    assert!(help.starts_with("*14\r\n+PUBSUB <subcommand>"), "{help}");
    assert_eq!(
        text(q.cmd(&["PUBSUB", "CHANNELS", "a", "b"])),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "NUMPAT", "x"])),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        text(q.cmd(&["PUBSUB", "NOPE"])),
        "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"
    );
    // Unsubscribing everything empties the registry.
    send(&mut a, &["RESET"]);
    let mut resets = 0;
    while resets == 0 {
        if text(a.reply()) == "+RESET\r\n" {
            resets += 1;
        }
    }
    send(&mut b, &["UNSUBSCRIBE"]);
    assert_eq!(text(b.reply()), confirm("unsubscribe", Some("ch1"), 2));
    send(&mut b, &["PUNSUBSCRIBE"]);
    let first = text(b.reply());
    assert!(first.ends_with(":1\r\n"), "{first}");
    let last = text(b.reply());
    assert!(last.ends_with(":0\r\n"), "{last}");
    assert_eq!(text(q.cmd(&["PUBSUB", "NUMPAT"])), ":0\r\n");
    assert_eq!(text(q.cmd(&["PUBSUB", "CHANNELS"])), "*0\r\n");
    assert_eq!(text(q.cmd(&["PUBSUB", "SHARDCHANNELS"])), "*0\r\n");
}

#[test]
fn subscribed_mode_allows_only_pubsub_ping_quit_reset() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    assert_eq!(text(c.cmd(&["SET", "k", "v"])), "+OK\r\n");
    assert_eq!(
        text(c.cmd(&["SUBSCRIBE", "a"])),
        confirm("subscribe", Some("a"), 1)
    );
    let denied = |name: &str| {
        format!("-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
    };
    assert_eq!(text(c.cmd(&["GET", "k"])), denied("get"));
    assert_eq!(text(c.cmd(&["publish", "a", "x"])), denied("publish"));
    assert_eq!(
        text(c.cmd(&["CONFIG", "GET", "port"])),
        denied("config|get")
    );
    // Resolution errors come first, as in Redis.
    assert!(text(c.cmd(&["NOSUCH"])).starts_with("-ERR unknown command 'NOSUCH'"));
    assert_eq!(
        text(c.cmd(&["GET"])),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(text(c.cmd(&["PING"])), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        text(c.cmd(&["ping", "hi"])),
        "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        text(c.cmd(&["SSUBSCRIBE", "s"])),
        confirm("ssubscribe", Some("s"), 1)
    );
    assert_eq!(
        text(c.cmd(&["UNSUBSCRIBE"])),
        confirm("unsubscribe", Some("a"), 0)
    );
    // Still subscribed to a shard channel.
    assert_eq!(text(c.cmd(&["GET", "k"])), denied("get"));
    // RESET leaves subscribed mode and drops every subscription.
    assert_eq!(text(c.cmd(&["RESET"])), "+RESET\r\n");
    assert_eq!(text(c.cmd(&["GET", "k"])), "$1\r\nv\r\n");
    assert_eq!(text(c.cmd(&["PING"])), "+PONG\r\n");
    let mut q = s.raw();
    assert_eq!(text(q.cmd(&["SPUBLISH", "s", "x"])), ":0\r\n");
    // QUIT is allowed and closes.
    assert_eq!(
        text(c.cmd(&["PSUBSCRIBE", "p*"])),
        confirm("psubscribe", Some("p*"), 1)
    );
    assert_eq!(text(c.cmd(&["QUIT"])), "+OK\r\n");
    assert!(c.closed());
}

/// Reads until the server closes the connection; false if it is still open at the deadline.
fn drained_to_eof(c: &mut Raw, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let w = c.writer();
    let _ = w.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sock = w.try_clone().expect("clone");
    let mut buf = vec![0u8; 1 << 20];
    while Instant::now() < deadline {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_past_the_hard_limit() {
    let s = Server::strata(&["--client-output-buffer-limit", "pubsub", "4mb", "0", "0"]);
    let mut admin = s.raw();
    assert_eq!(
        text(admin.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])),
        "*2\r\n$26\r\nclient-output-buffer-limit\r\n$59\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 4194304 0 0\r\n"
    );
    let mut slow = s.raw();
    assert_eq!(
        text(slow.cmd(&["SUBSCRIBE", "ch"])),
        confirm("subscribe", Some("ch"), 1)
    );
    let mut fast = s.raw();
    assert_eq!(
        text(fast.cmd(&["SUBSCRIBE", "ch"])),
        confirm("subscribe", Some("ch"), 1)
    );
    let received = Arc::new(AtomicUsize::new(0));
    const N: usize = 1000;
    let payload = "x".repeat(64 * 1024);
    let reader = {
        let received = received.clone();
        let payload = payload.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                let m = fast.reply();
                assert_eq!(
                    m,
                    message("ch", &format!("{i:06}{payload}")).into_bytes(),
                    "message {i}"
                );
                received.fetch_add(1, Ordering::SeqCst);
            }
            fast
        })
    };
    let mut publ = s.raw();
    let mut counts = Vec::new();
    for i in 0..N {
        // Keep the reading subscriber close behind, so only the silent one can overflow.
        while received.load(Ordering::SeqCst) + 8 < i {
            std::thread::sleep(Duration::from_millis(1));
        }
        counts.push(text(publ.cmd(&[
            "PUBLISH",
            "ch",
            &format!("{i:06}{payload}"),
        ])));
    }
    let _fast = reader
        .join()
        .expect("the reading subscriber got every message in order");
    assert_eq!(counts[0], ":2\r\n");
    assert_eq!(
        counts[N - 1],
        ":1\r\n",
        "the silent subscriber was never dropped"
    );
    assert!(drained_to_eof(&mut slow, Duration::from_secs(10)));
    assert_eq!(
        text(admin.cmd(&["PUBSUB", "NUMSUB", "ch"])),
        "*2\r\n$2\r\nch\r\n:1\r\n"
    );
    // CONFIG SET takes Redis's syntax; other classes keep their values.
    assert_eq!(
        text(admin.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 0 0"
        ])),
        "+OK\r\n"
    );
    assert!(
        text(admin.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]))
            .contains("normal 1048576 0 0 slave 268435456 67108864 60 pubsub 4194304 0 0")
    );
    assert!(text(admin.cmd(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "pubsub 1mb 0"
    ]))
    .starts_with("-ERR CONFIG SET failed"));
}

#[test]
fn a_subscriber_past_the_soft_limit_for_its_seconds_is_disconnected() {
    let s = Server::strata(&["--client-output-buffer-limit", "pubsub", "0", "1mb", "1"]);
    let mut slow = s.raw();
    assert_eq!(
        text(slow.cmd(&["SUBSCRIBE", "ch"])),
        confirm("subscribe", Some("ch"), 1)
    );
    let mut publ = s.raw();
    let payload = "y".repeat(64 * 1024);
    let start = Instant::now();
    let mut over_at = None;
    loop {
        let n = text(publ.cmd(&["PUBLISH", "ch", &payload]));
        if n == ":0\r\n" {
            break;
        }
        assert_eq!(n, ":1\r\n");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never disconnected"
        );
        // Pending output passes 1mb once the socket buffers are full; from then on the client
        // must survive about a second.
        if over_at.is_none() && start.elapsed() > Duration::from_millis(500) {
            over_at = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        over_at.is_some_and(|t| t.elapsed() >= Duration::from_millis(400)),
        "disconnected before the soft limit's seconds passed"
    );
    assert!(drained_to_eof(&mut slow, Duration::from_secs(10)));
}

#[test]
fn subscribers_are_not_idle_timed_out() {
    let s = Server::strata(&["--timeout", "1"]);
    let mut sub = s.raw();
    let mut idle = s.raw();
    assert_eq!(
        text(sub.cmd(&["SUBSCRIBE", "ch"])),
        confirm("subscribe", Some("ch"), 1)
    );
    assert_eq!(text(idle.cmd(&["PING"])), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.closed(), "the idle normal client was not timed out");
    let mut publ = s.raw();
    assert_eq!(text(publ.cmd(&["PUBLISH", "ch", "still here"])), ":1\r\n");
    assert_eq!(text(sub.reply()), message("ch", "still here"));
}

#[test]
fn reply_formats_match_redis() {
    if !have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let script: &[(usize, &[&str])] = &[
        (0, &["SUBSCRIBE", "a", "b", "a"]),
        (0, &["PSUBSCRIBE", "a*"]),
        (0, &["SSUBSCRIBE", "s"]),
        (1, &["PUBLISH", "a", "hello"]),
        (0, &["PING"]),
        (0, &["PING", "x"]),
        (1, &["SPUBLISH", "s", "sh"]),
        (0, &["GET", "x"]),
        (0, &["SET", "k", "v"]),
        (1, &["PUBSUB", "NUMSUB", "a", "zz"]),
        (1, &["PUBSUB", "NUMPAT"]),
        (1, &["PUBSUB", "CHANNELS", "a"]),
        (1, &["PUBSUB", "SHARDNUMSUB", "s"]),
        (1, &["PUBSUB", "HELP"]),
        (1, &["PUBSUB", "CHANNELS", "a", "b"]),
        (0, &["UNSUBSCRIBE", "b", "nope"]),
        (0, &["PUNSUBSCRIBE"]),
        (0, &["PUNSUBSCRIBE"]),
        (0, &["SUNSUBSCRIBE", "s"]),
        (0, &["SUNSUBSCRIBE"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["PING"]),
        (0, &["SUBSCRIBE"]),
        (1, &["PUBLISH", "a"]),
        (0, &["SUBSCRIBE", "q"]),
        (0, &["RESET"]),
        (0, &["PING"]),
        (1, &["PUBLISH", "q", "after-reset"]),
    ];
    let run = |srv: &Server| -> Vec<String> {
        let mut conns = [srv.raw(), srv.raw()];
        let mut out = Vec::new();
        for (i, args) in script {
            send(&mut conns[*i], args);
            // Read everything that arrives for both connections shortly after.
            std::thread::sleep(Duration::from_millis(50));
            for (j, c) in conns.iter_mut().enumerate() {
                let w = c.writer();
                let _ = w.set_nonblocking(true);
                let mut got = Vec::new();
                let mut buf = [0u8; 65536];
                let mut sock = w.try_clone().expect("clone");
                while let Ok(n) = sock.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let _ = w.set_nonblocking(false);
                out.push(format!("{args:?} conn{j}: {}", text(got)));
            }
        }
        out
    };
    let redis = Server::redis();
    let strata = Server::strata(&[]);
    let want = run(&redis);
    let got = run(&strata);
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w);
    }
}

#[test]
fn client_list_shows_a_slow_subscribers_pending_output() {
    let s = Server::strata(&[]);
    let mut slow = s.raw();
    assert_eq!(text(slow.cmd(&["CLIENT", "SETNAME", "slow"])), "+OK\r\n");
    assert_eq!(
        text(slow.cmd(&["SUBSCRIBE", "ch"])),
        confirm("subscribe", Some("ch"), 1)
    );
    let mut publ = s.raw();
    let payload = "x".repeat(64 * 1024);
    for _ in 0..200 {
        assert_eq!(text(publ.cmd(&["PUBLISH", "ch", &payload])), ":1\r\n");
    }
    let list = text(publ.cmd(&["CLIENT", "LIST"]));
    let line = list
        .lines()
        .find(|l| l.contains(" name=slow "))
        .unwrap_or_default();
    let omem: usize = line
        .split(' ')
        .find_map(|f| f.strip_prefix("omem="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // 12.5 MiB published; what the socket buffers did not take is pending in the server.
    assert!(omem > 1 << 20, "{line}");
    assert!(
        line.contains(" flags=P ") && line.contains(" sub=1 "),
        "{line}"
    );
}
