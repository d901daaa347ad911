//! RESP hot paths: request framing and reply encoding.
//!
//! The chunked 100k-argument MSET guards against quadratic rescanning: its
//! time per byte must match the pipelined-SET case, not grow with request size.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use strata_resp::{Limits, Reply, RequestDecoder};

fn encode_request(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn pipelined_sets() -> Vec<u8> {
    let value = [b'v'; 128];
    let mut out = Vec::new();
    for i in 0..16 {
        let key = format!("key:{i:03}");
        encode_request(&mut out, &[b"SET", key.as_bytes(), &value]);
    }
    out
}

/// `MSET key:0 value key:1 value ...` with `pairs` pairs.
fn mset_request(pairs: usize) -> Vec<u8> {
    let keys: Vec<String> = (0..pairs).map(|i| format!("key:{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"MSET"];
    for k in &keys {
        args.push(k.as_bytes());
        args.push(b"value");
    }
    let mut out = Vec::new();
    encode_request(&mut out, &args);
    out
}

fn decode_pipelined(c: &mut Criterion) {
    let input = pipelined_sets();
    let mut group = c.benchmark_group("resp_decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("pipelined_16_set_128b", |b| {
        let mut dec = RequestDecoder::new(Limits::default());
        b.iter_batched_ref(
            || BytesMut::from(&input[..]),
            |buf| {
                let mut n = 0;
                while let Ok(Some(req)) = dec.decode(buf) {
                    n += req.len();
                    black_box(req);
                }
                assert_eq!(n, 48);
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn decode_chunked_mset(c: &mut Criterion) {
    let input = mset_request(50_000);
    let mut group = c.benchmark_group("resp_decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("mset_100k_args_1024b_chunks", |b| {
        let mut dec = RequestDecoder::new(Limits::default());
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(4096);
            let mut got = None;
            for chunk in input.chunks(1024) {
                buf.extend_from_slice(chunk);
                if let Ok(Some(req)) = dec.decode(&mut buf) {
                    got = Some(req);
                }
            }
            assert_eq!(got.map(|r| r.len()), Some(100_001));
        });
    });
    group.finish();
}

/// The baseline the decoder replaces: a stateless decoder (redis-protocol's) called again on
/// the whole buffer after every chunk, as a naive server loop would. Quadratic in request size,
/// so it runs on a tenth of the request.
fn decode_chunked_mset_rescanning(c: &mut Criterion) {
    let mut group = c.benchmark_group("resp_decode");
    group.sample_size(10);
    for pairs in [1_000usize, 5_000] {
        let input = mset_request(pairs);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(
            format!(
                "rescan_baseline_mset_{}k_args_1024b_chunks",
                2 * pairs / 1000
            ),
            |b| {
                b.iter(|| {
                    let mut buf = BytesMut::with_capacity(4096);
                    let mut done = false;
                    for chunk in input.chunks(1024) {
                        buf.extend_from_slice(chunk);
                        if let Ok(Some(frame)) =
                            redis_protocol::resp2::decode::decode_bytes_mut(&mut buf)
                        {
                            black_box(frame);
                            done = true;
                        }
                    }
                    assert!(done);
                });
            },
        );
        let mut dec = RequestDecoder::new(Limits::default());
        group.bench_function(
            format!("strata_mset_{}k_args_1024b_chunks", 2 * pairs / 1000),
            |b| {
                b.iter(|| {
                    let mut buf = BytesMut::with_capacity(4096);
                    let mut got = None;
                    for chunk in input.chunks(1024) {
                        buf.extend_from_slice(chunk);
                        if let Ok(Some(req)) = dec.decode(&mut buf) {
                            got = Some(req);
                        }
                    }
                    assert_eq!(got.map(|r| r.len()), Some(2 * pairs + 1));
                });
            },
        );
    }
    group.finish();
}

fn encode_array(c: &mut Criterion) {
    let reply = Reply::Array(
        (0..100)
            .map(|_| Reply::Bulk(Bytes::from_static(&[b'x'; 128])))
            .collect(),
    );
    let mut group = c.benchmark_group("resp_encode");
    group.throughput(Throughput::Bytes(reply.encoded_len() as u64));
    group.bench_function("array_100_bulk_128b", |b| {
        let mut out = BytesMut::with_capacity(reply.encoded_len());
        b.iter(|| {
            out.clear();
            black_box(&reply).encode(&mut out);
            black_box(out.len());
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    decode_pipelined,
    encode_array,
    decode_chunked_mset,
    decode_chunked_mset_rescanning
);
criterion_main!(benches);
