//! RESP handling end to end: inline commands, pipelining, limits and malformed input. The
//! server answers as Redis does and keeps serving other clients.

use crate::util::{encode, Server};

#[test]
fn inline_commands_and_pipelining() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    c.send(b"PING\r\nSET k \"a b\"\r\nGET k\n");
    assert_eq!(c.reply(), b"+PONG\r\n");
    assert_eq!(c.reply(), b"+OK\r\n");
    assert_eq!(c.reply(), b"$3\r\na b\r\n");
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend(encode(&[b"INCR", b"n"]));
        let _ = i;
    }
    c.send(&batch);
    for i in 1..=100 {
        assert_eq!(c.reply(), format!(":{i}\r\n").into_bytes());
    }
}

#[test]
fn protocol_errors_answer_and_close_but_server_stays_up() {
    let s = Server::strata(&["--proto-max-bulk-len", "1mb"]);
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$99999999999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$2000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"SET \"a\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, want) in cases {
        let mut c = s.raw();
        c.send(input);
        assert_eq!(
            c.reply(),
            want.to_vec(),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(c.closed(), "connection closes after a protocol error");
    }
    assert_eq!(s.raw().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn command_errors_keep_the_connection() {
    let s = Server::strata(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd(&["NOPE", "a"]),
        b"-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n"
    );
    assert_eq!(
        c.cmd(&["GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "-1"]),
        b"-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    let time = String::from_utf8_lossy(&c.cmd(&["TIME"])).into_owned();
    assert!(time.starts_with("*2\r\n$10\r\n"), "{time}");
    assert!(c.cmd(&["LASTSAVE"]).starts_with(b":"));
    assert_eq!(c.cmd(&["QUIT"]), b"+OK\r\n");
    assert!(c.closed(), "QUIT closes after its reply");
}

#[test]
fn garbage_never_kills_the_server() {
    let s = Server::strata(&[]);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..200 {
        let mut c = s.raw();
        let mut junk = Vec::new();
        for _ in 0..64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let b = (seed >> 33) as u8;
            junk.push(match b % 8 {
                0 => b'*',
                1 => b'$',
                2 => b'\r',
                3 => b'\n',
                4 => b'-',
                _ => b,
            });
        }
        c.send(&junk);
        c.send(b"\r\n");
    }
    assert_eq!(s.raw().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn huge_mset_in_small_chunks_is_accepted() {
    let s = Server::strata(&[]);
    let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
    for i in 0..20_000 {
        args.push(format!("k{i}").into_bytes());
        args.push(b"v".to_vec());
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let req = encode(&refs);
    let mut c = s.raw();
    for chunk in req.chunks(512) {
        c.send(chunk);
    }
    assert_eq!(c.reply(), b"+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), b":20000\r\n");
}

#[test]
fn maxclients_is_enforced() {
    let s = Server::strata(&["--maxclients", "2"]);
    let _a = s.raw();
    let mut b = s.raw();
    assert_eq!(b.cmd(&["PING"]), b"+PONG\r\n");
    let mut c = s.raw();
    assert_eq!(c.reply(), b"-ERR max number of clients reached\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client_silently() {
    let s = Server::strata(&["--client-query-buffer-limit", "1mb"]);
    let mut c = s.raw();
    c.send(b"*2\r\n$3\r\nGET\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..24 {
        // The server may close mid-stream; later writes then fail, which is the point.
        if std::io::Write::write_all(&mut c.writer(), &chunk).is_err() {
            break;
        }
    }
    assert!(c.closed(), "a client past the query buffer limit is closed");
    assert_eq!(s.raw().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn unauthenticated_clients_get_tight_limits() {
    let s = Server::strata(&["--requirepass", "pw"]);
    let mut c = s.raw();
    c.send(b"*20\r\n");
    assert_eq!(
        c.reply(),
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    let mut d = s.raw();
    assert_eq!(d.cmd(&["AUTH", "pw"]), b"+OK\r\n");
    let big = "x".repeat(20_000);
    assert_eq!(d.cmd(&["SET", "k", &big]), b"+OK\r\n");
}
