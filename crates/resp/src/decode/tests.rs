use super::*;
use crate::error::ProtocolError as E;

type Reqs = Vec<Vec<Vec<u8>>>;

fn limits() -> Limits {
    Limits::default()
}

/// Feeds `chunks` one by one, draining every complete request after each.
fn feed(dec: &mut RequestDecoder, chunks: &[&[u8]]) -> Result<(Reqs, BytesMut), E> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(req) = dec.decode(&mut buf)? {
            out.push(req.iter().map(|a| a.to_vec()).collect());
        }
    }
    Ok((out, buf))
}

fn decode_all(input: &[u8]) -> Result<Reqs, E> {
    feed(&mut RequestDecoder::new(limits()), &[input]).map(|(r, _)| r)
}

fn unauth_decode(input: &[u8]) -> Result<Reqs, E> {
    let mut dec = RequestDecoder::new(limits());
    dec.set_authenticated(false);
    feed(&mut dec, &[input]).map(|(r, _)| r)
}

fn req(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

fn encode_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn simple_multibulk() {
    assert_eq!(
        decode_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
        Ok(vec![req(&[b"SET", b"k", b""])])
    );
}

#[test]
fn binary_payload_with_crlf_inside() {
    let input = encode_request(&[b"SET", b"k", b"a\r\nb\0c\r"]);
    assert_eq!(
        decode_all(&input),
        Ok(vec![req(&[b"SET", b"k", b"a\r\nb\0c\r"])])
    );
}

#[test]
fn pipelined_mixed_requests() {
    let mut input = encode_request(&[b"PING"]);
    input.extend_from_slice(b"*0\r\n*-1\r\n\r\n  \t \n");
    input.extend_from_slice(b"GET \"a b\"\r\n");
    input.extend_from_slice(&encode_request(&[b"ECHO", b"x"]));
    input.extend_from_slice(b"ping\n");
    assert_eq!(
        decode_all(&input),
        Ok(vec![
            req(&[b"PING"]),
            req(&[b"GET", b"a b"]),
            req(&[b"ECHO", b"x"]),
            req(&[b"ping"]),
        ])
    );
}

#[test]
fn every_split_point_matches_one_shot() {
    let mut pipelined = encode_request(&[b"SET", b"key:1", b"value\r\nwith crlf"]);
    pipelined.extend_from_slice(b"*0\r\n");
    pipelined.extend_from_slice(b"set \"a b\" 'c\\'d' \"\\x41\"\r\n");
    pipelined.extend_from_slice(&encode_request(&[b"MGET", b"a", b"", b"c"]));
    let samples: Vec<Vec<u8>> = vec![
        encode_request(&[b"PING"]),
        encode_request(&[b"SET", b"k", b"v"]),
        b"*1\r\n$3\r\nfoo\r\n\r\n\r\nGET k\n".to_vec(),
        pipelined,
    ];
    for input in &samples {
        let expected = decode_all(input).expect("valid sample");
        assert!(!expected.is_empty());
        for k in 0..=input.len() {
            let (a, b) = input.split_at(k);
            let (got, rest) = feed(&mut RequestDecoder::new(limits()), &[a, b]).expect("valid");
            assert_eq!(
                got,
                expected,
                "split at {k} of {:?}",
                String::from_utf8_lossy(input)
            );
            assert!(rest.is_empty());
        }
        // And byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (got, _) = feed(&mut RequestDecoder::new(limits()), &bytes).expect("valid");
        assert_eq!(got, expected);
    }
}

#[test]
fn incomplete_returns_none_and_keeps_bytes() {
    let mut dec = RequestDecoder::new(limits());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"*2\r\n$3\r\nGET\r\n$1\r");
    buf.extend_from_slice(b"\nk\r\n");
    let args = dec.decode(&mut buf).expect("ok").expect("complete");
    assert_eq!(
        args,
        vec![Bytes::from_static(b"GET"), Bytes::from_static(b"k")]
    );
    assert!(buf.is_empty());
    assert_eq!(dec.decode(&mut buf), Ok(None));
}

#[test]
fn arguments_are_zero_copy_slices() {
    let input = encode_request(&[b"SET", b"key", b"value"]);
    let mut buf = BytesMut::from(&input[..]);
    let base = buf.as_ptr() as usize;
    let args = RequestDecoder::new(limits())
        .decode(&mut buf)
        .expect("ok")
        .expect("complete");
    for a in &args {
        let p = a.as_ptr() as usize;
        assert!(p >= base && p + a.len() <= base + input.len());
    }
}

#[test]
fn hundred_thousand_args_in_seven_byte_chunks() {
    const N: usize = 100_000;
    let mut input = format!("*{}\r\n$4\r\nMSET\r\n", N + 1).into_bytes();
    for i in 0..N {
        let a = format!("k{i}");
        input.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut dec = RequestDecoder::new(limits());
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in input.chunks(7) {
        buf.extend_from_slice(chunk);
        while let Some(r) = dec.decode(&mut buf).expect("valid") {
            got.push(r);
        }
    }
    assert_eq!(got.len(), 2);
    let mset = &got[0];
    assert_eq!(mset.len(), N + 1);
    assert_eq!(&mset[0][..], b"MSET");
    for (i, a) in mset[1..].iter().enumerate() {
        assert_eq!(a, format!("k{i}").as_bytes());
    }
    assert_eq!(got[1], vec![Bytes::from_static(b"PING")]);
    assert!(buf.is_empty());
}

#[test]
fn error_texts() {
    let cases: &[(E, &str)] = &[
        (
            E::TooBigMbulkCount,
            "Protocol error: too big mbulk count string",
        ),
        (
            E::InvalidMultibulkLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            E::UnauthenticatedMultibulkLength,
            "Protocol error: unauthenticated multibulk length",
        ),
        (
            E::ExpectedDollar(b':'),
            "Protocol error: expected '$', got ':'",
        ),
        (
            E::TooBigBulkCount,
            "Protocol error: too big bulk count string",
        ),
        (E::InvalidBulkLength, "Protocol error: invalid bulk length"),
        (
            E::UnauthenticatedBulkLength,
            "Protocol error: unauthenticated bulk length",
        ),
        (E::TooBigInline, "Protocol error: too big inline request"),
        (
            E::UnbalancedQuotes,
            "Protocol error: unbalanced quotes in request",
        ),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), *text);
        assert!(!e.closes_silently());
        let mut out = BytesMut::new();
        e.to_reply().encode(&mut out);
        assert_eq!(&out[..], format!("-ERR {text}\r\n").as_bytes());
    }
    assert!(E::QueryBufferLimit.closes_silently());
}

#[test]
fn expected_dollar_reply_keeps_raw_byte() {
    let mut out = BytesMut::new();
    E::ExpectedDollar(0xff).to_reply().encode(&mut out);
    assert_eq!(
        &out[..],
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
    // A newline byte is blanked like Redis's addReplyErrorFormat does.
    let mut out = BytesMut::new();
    E::ExpectedDollar(b'\n').to_reply().encode(&mut out);
    assert_eq!(&out[..], b"-ERR Protocol error: expected '$', got ' '\r\n");
}

#[test]
fn invalid_multibulk_lengths() {
    for bad in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*+1\r\n",
        b"*01\r\n",
        b"*-0\r\n",
        b"*1 \r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999\r\n",
        b"*999999999999999999999999\r\n",
    ] {
        assert_eq!(decode_all(bad), Err(E::InvalidMultibulkLength), "{bad:?}");
    }
    // i32::MAX itself is accepted (and waits for arguments).
    assert_eq!(decode_all(b"*2147483647\r\n"), Ok(vec![]));
}

#[test]
fn empty_multibulk_requests_are_skipped() {
    assert_eq!(decode_all(b"*0\r\n*-1\r\n*-100\r\n"), Ok(vec![]));
    let (reqs, rest) = feed(&mut RequestDecoder::new(limits()), &[b"*0\r\n*-1\r\n"]).expect("ok");
    assert!(reqs.is_empty());
    assert!(rest.is_empty());
}

#[test]
fn expected_dollar() {
    assert_eq!(decode_all(b"*1\r\n:5\r\n"), Err(E::ExpectedDollar(b':')));
    assert_eq!(
        decode_all(b"*2\r\n$1\r\na\r\n+x\r\n"),
        Err(E::ExpectedDollar(b'+'))
    );
    assert_eq!(decode_all(b"*1\r\n\r\n"), Err(E::ExpectedDollar(b'\r')));
    // Like Redis, the check waits for a complete line first.
    assert_eq!(decode_all(b"*1\r\n:5"), Ok(vec![]));
}

#[test]
fn invalid_bulk_lengths() {
    for bad in [
        &b"*1\r\n$-1\r\n"[..],
        b"*1\r\n$\r\n",
        b"*1\r\n$x\r\n",
        b"*1\r\n$01\r\n",
        b"*1\r\n$1a\r\n",
        b"*1\r\n$99999999999999999999\r\n",
        b"*1\r\n$9223372036854775807\r\n",
        b"*1\r\n$9223372036854775808\r\n",
        b"*1\r\n$536870913\r\n",
    ] {
        assert_eq!(decode_all(bad), Err(E::InvalidBulkLength), "{bad:?}");
    }
    // Exactly proto-max-bulk-len is fine (incomplete).
    assert_eq!(decode_all(b"*1\r\n$536870912\r\n"), Ok(vec![]));
}

#[test]
fn huge_lengths_with_unlimited_bulk_do_not_overflow() {
    let mut dec = RequestDecoder::new(Limits {
        proto_max_bulk_len: u64::MAX,
        query_buffer_limit: usize::MAX,
    });
    let (reqs, _) = feed(&mut dec, &[b"*1\r\n$9223372036854775807\r\n", b"abc"]).expect("ok");
    assert!(reqs.is_empty());
}

#[test]
fn unauthenticated_limits() {
    let ten: Vec<&[u8]> = vec![b"a"; 10];
    assert_eq!(unauth_decode(&encode_request(&ten)), Ok(vec![req(&ten)]));
    let eleven: Vec<&[u8]> = vec![b"a"; 11];
    assert_eq!(
        unauth_decode(&encode_request(&eleven)),
        Err(E::UnauthenticatedMultibulkLength)
    );
    assert_eq!(decode_all(&encode_request(&eleven)), Ok(vec![req(&eleven)]));

    let big = vec![b'x'; 16384];
    assert_eq!(
        unauth_decode(&encode_request(&[b"AUTH", &big])),
        Ok(vec![req(&[b"AUTH", &big])])
    );
    let bigger = vec![b'x'; 16385];
    assert_eq!(
        unauth_decode(&encode_request(&[b"AUTH", &bigger])),
        Err(E::UnauthenticatedBulkLength)
    );
    assert_eq!(
        unauth_decode(b"*1\r\n$16385\r\n"),
        Err(E::UnauthenticatedBulkLength)
    );
    // Invalid beats unauthenticated.
    assert_eq!(unauth_decode(b"*1\r\n$-5\r\n"), Err(E::InvalidBulkLength));
    // Inline requests are not capped.
    let line = format!("{}\r\n", vec!["a"; 20].join(" "));
    assert_eq!(unauth_decode(line.as_bytes()).map(|r| r[0].len()), Ok(20));

    let mut dec = RequestDecoder::new(limits());
    dec.set_authenticated(false);
    dec.set_authenticated(true);
    assert_eq!(
        feed(&mut dec, &[&encode_request(&eleven)]).map(|r| r.0.len()),
        Ok(1)
    );
}

#[test]
fn too_big_header_lines() {
    let mut input = b"*".to_vec();
    input.resize(INLINE_MAX_SIZE, b'1');
    assert_eq!(decode_all(&input), Ok(vec![]));
    input.push(b'1');
    assert_eq!(decode_all(&input), Err(E::TooBigMbulkCount));

    let mut input = b"*1\r\n$".to_vec();
    input.resize(4 + INLINE_MAX_SIZE, b'1');
    assert_eq!(decode_all(&input), Ok(vec![]));
    input.push(b'1');
    assert_eq!(decode_all(&input), Err(E::TooBigBulkCount));
}

#[test]
fn too_big_inline() {
    let mut input = vec![b'a'; INLINE_MAX_SIZE];
    assert_eq!(decode_all(&input), Ok(vec![]));
    input.push(b'a');
    assert_eq!(decode_all(&input), Err(E::TooBigInline));
    // A long line is fine once its newline is in the buffer.
    let mut long = vec![b'a'; 100_000];
    long.extend_from_slice(b" b\r\n");
    assert_eq!(decode_all(&long).map(|r| r[0].len()), Ok(2));
    // Fed in chunks, the limit trips before the newline arrives.
    let chunks: Vec<&[u8]> = long.chunks(4096).collect();
    assert_eq!(
        feed(&mut RequestDecoder::new(limits()), &chunks).map(|r| r.0),
        Err(E::TooBigInline)
    );
}

#[test]
fn inline_requests() {
    assert_eq!(
        decode_all(b"set \"a b\" 'c\\'d' \"\\x41\"\r\n"),
        Ok(vec![req(&[b"set", b"a b", b"c'd", b"A"])])
    );
    assert_eq!(decode_all(b"PING\n"), Ok(vec![req(&[b"PING"])]));
    assert_eq!(decode_all(b"PING\r\r\n"), Ok(vec![req(&[b"PING"])]));
    assert_eq!(
        decode_all(b"\r\n\n   \r\nPING\r\n"),
        Ok(vec![req(&[b"PING"])])
    );
    assert_eq!(decode_all(b"set \"abc\r\n"), Err(E::UnbalancedQuotes));
    assert_eq!(decode_all(b"PING"), Ok(vec![]));
}

#[test]
fn redis_quirks_are_kept() {
    // Header lines end at '\r'; the following byte is skipped unchecked.
    assert_eq!(decode_all(b"*1\rX$3\rXfoo\r\n"), Ok(vec![req(&[b"foo"])]));
    // The two bytes after a payload are skipped unchecked.
    assert_eq!(decode_all(b"*1\r\n$3\r\nfooXY"), Ok(vec![req(&[b"foo"])]));
    // strchr stops at NUL: such a line never looks terminated.
    assert_eq!(decode_all(b"get a\0b\r\n"), Ok(vec![]));
    assert_eq!(decode_all(b"*1\0\r\n"), Ok(vec![]));
    let mut input = b"get a\0".to_vec();
    input.resize(INLINE_MAX_SIZE + 1, b'\n');
    assert_eq!(decode_all(&input), Err(E::TooBigInline));
}

#[test]
fn query_buffer_limit() {
    let mut dec = RequestDecoder::new(Limits {
        query_buffer_limit: 100,
        ..Limits::default()
    });
    let mut input = b"*1\r\n$1000\r\n".to_vec();
    input.resize(90, b'x');
    assert_eq!(feed(&mut dec, &[&input]).map(|r| r.0), Ok(vec![]));
    input.resize(101, b'x');
    let err = feed(&mut dec, &[&input]).map(|r| r.0);
    assert_eq!(err, Err(E::QueryBufferLimit));
    assert!(E::QueryBufferLimit.closes_silently());

    // Complete requests in a large buffer are fine.
    let mut dec = RequestDecoder::new(Limits {
        query_buffer_limit: 10,
        ..Limits::default()
    });
    let input = encode_request(&[b"SET", b"key", b"a long enough value"]);
    assert_eq!(feed(&mut dec, &[&input]).map(|r| r.0.len()), Ok(1));
}

#[test]
fn set_limits_applies() {
    let mut dec = RequestDecoder::new(limits());
    dec.set_limits(Limits {
        proto_max_bulk_len: 3,
        ..Limits::default()
    });
    assert_eq!(
        feed(&mut dec, &[b"*1\r\n$4\r\nabcd\r\n"]).map(|r| r.0),
        Err(E::InvalidBulkLength)
    );
    assert_eq!(
        feed(&mut dec, &[b"*1\r\n$3\r\nabc\r\n"]).map(|r| r.0.len()),
        Ok(1)
    );
}

#[test]
fn replaced_buffer_does_not_panic() {
    let mut dec = RequestDecoder::new(limits());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nab"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    let mut other = BytesMut::from(&b"*1"[..]);
    assert_eq!(dec.decode(&mut other), Ok(None));
    let mut empty = BytesMut::new();
    assert_eq!(dec.decode(&mut empty), Ok(None));
    let mut fresh = BytesMut::from(&encode_request(&[b"PING"])[..]);
    assert_eq!(
        dec.decode(&mut fresh),
        Ok(Some(vec![Bytes::from_static(b"PING")]))
    );
}

#[test]
fn string2ll_matches_redis() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"-1"), Some(-1));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"+1",
        b" 1",
        b"1 ",
        b"9223372036854775808",
        b"-9223372036854775809",
    ] {
        assert_eq!(string2ll(bad), None, "{bad:?}");
    }
}

/// Tiny deterministic LCG so the fuzz loops need no extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn fuzz_never_panics() {
    const ALPHABET: &[u8] = b"*$\r\n\r\n0123456789-+ \"'\\x\0:abcAB\xff";
    let mut rng = Lcg(0x5eed);
    for round in 0..4000 {
        let len = rng.below(200) as usize;
        let biased = round % 2 == 0;
        let input: Vec<u8> = (0..len)
            .map(|_| {
                if biased {
                    ALPHABET[rng.below(ALPHABET.len() as u64) as usize]
                } else {
                    rng.below(256) as u8
                }
            })
            .collect();
        let mut dec = RequestDecoder::new(Limits {
            proto_max_bulk_len: if round % 3 == 0 { u64::MAX } else { 1000 },
            query_buffer_limit: if round % 5 == 0 { 64 } else { usize::MAX },
        });
        dec.set_authenticated(round % 7 != 0);
        let mut buf = BytesMut::new();
        let mut rest = &input[..];
        'outer: while !rest.is_empty() {
            let n = (rng.below(16) as usize + 1).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            buf.extend_from_slice(chunk);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(args)) => assert!(!args.is_empty()),
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
        }
    }
}

#[test]
fn fuzz_well_formed_matches_redis_protocol() {
    use redis_protocol::resp2::{decode::decode_bytes_mut, types::BytesFrame};
    let mut rng = Lcg(42);
    for _ in 0..500 {
        let nargs = rng.below(6) as usize + 1;
        let args: Vec<Vec<u8>> = (0..nargs)
            .map(|_| (0..rng.below(40)).map(|_| rng.below(256) as u8).collect())
            .collect();
        let arg_refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
        let input = encode_request(&arg_refs);

        let mut oracle_buf = BytesMut::from(&input[..]);
        let oracle = match decode_bytes_mut(&mut oracle_buf) {
            Ok(Some((BytesFrame::Array(frames), _, _))) => frames
                .into_iter()
                .map(|f| match f {
                    BytesFrame::BulkString(b) => b.to_vec(),
                    other => panic!("unexpected frame {other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("oracle failed: {other:?}"),
        };

        let cut = rng.below(input.len() as u64) as usize;
        let (a, b) = input.split_at(cut);
        let (got, rest) = feed(&mut RequestDecoder::new(limits()), &[a, b]).expect("valid");
        assert_eq!(got, vec![oracle]);
        assert!(rest.is_empty());
    }
}
