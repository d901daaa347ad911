//! One client connection.
//!
//! # Mechanics
//! Read what the socket has, decode every complete request in the buffer, run them in order
//! into one output buffer, wait once for the WAL fsync if `appendfsync always` and any of them
//! wrote, then send all the replies in one write. A protocol error is answered and closes the
//! connection, as in Redis.
//!
//! A blocking command (BLPOP...) that finds nothing sets `Session::block`: the replies before it
//! are sent, the connection waits in [`wait_blocked`] (requests that arrive meanwhile stay
//! buffered), then sends its reply and goes on with the buffered requests.
//!
//! Commands run on the async worker: memory hits and WAL appends are short. Cold reads are
//! RocksDB point lookups; scans (KEYS) block the worker for their duration (to be moved off it).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use strata_commands::Session;
use strata_keyspace::Waiter;
use strata_resp::{Limits, Reply, RequestDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Shared;

const READ_CHUNK: usize = 16 * 1024;

fn limits(s: &Shared) -> Limits {
    Limits {
        proto_max_bulk_len: s.config.get_u64("proto-max-bulk-len"),
        query_buffer_limit: s.config.get_u64("client-query-buffer-limit") as usize,
    }
}

/// Serves one connection until it closes, is killed, or the server shuts down.
pub(crate) async fn handle(
    mut sock: TcpStream,
    addr: SocketAddr,
    laddr: SocketAddr,
    shared: Arc<Shared>,
) {
    let open = shared.open.fetch_add(1, Ordering::AcqRel) + 1;
    if open as u64 > shared.config.get_u64("maxclients") {
        shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
        let _ = sock
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        shared.open.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let _ = sock.set_nodelay(true);
    let client = shared.clients.add(addr, laddr);
    tracing::debug!(id = client.id, %addr, "client connected");
    let reason = serve(&mut sock, &shared, &client).await;
    tracing::debug!(id = client.id, %addr, reason, "client closed");
    let _ = sock.shutdown().await;
    shared.clients.remove(client.id);
    shared.open.fetch_sub(1, Ordering::AcqRel);
}

async fn serve(
    sock: &mut TcpStream,
    shared: &Shared,
    client: &crate::clients::Client,
) -> &'static str {
    let mut session = Session::new(client.id, shared.config.get("requirepass").is_empty());
    let mut decoder = RequestDecoder::new(limits(shared));
    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let ks = &*shared.ks;
    // After a blocked command completes, the requests already buffered run before reading more.
    let mut buffered = false;
    let mut write_seq = 0;
    loop {
        decoder.set_authenticated(session.authenticated);
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        if !std::mem::take(&mut buffered) {
            let idle = shared.config.get_u64("timeout");
            let read = async {
                if idle == 0 {
                    sock.read_buf(&mut inbuf).await
                } else {
                    match tokio::time::timeout(Duration::from_secs(idle), sock.read_buf(&mut inbuf))
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle")),
                    }
                }
            };
            let n = tokio::select! {
                r = read => match r {
                    Ok(0) => return "eof",
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return "idle timeout",
                    Err(_) => return "read error",
                },
                _ = client.kill.cancelled() => return "killed",
            };
            shared.stats.net_in.fetch_add(n as u64, Ordering::Relaxed);
        }

        let mut close = false;
        let mut blocked = None;
        loop {
            let args = match decoder.decode(&mut inbuf) {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(e) => {
                    if !e.closes_silently() {
                        e.to_reply().encode(&mut out);
                    }
                    tracing::debug!(id = client.id, error = %e, "protocol error");
                    close = true;
                    break;
                }
            };
            let (reply, seq) = strata_commands::execute(ks, &mut session, shared, &args);
            shared.stats.commands.fetch_add(1, Ordering::Relaxed);
            if matches!(reply, Reply::Error(_)) {
                shared.stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            write_seq = write_seq.max(seq);
            if session.drop_reply {
                return "shutdown";
            }
            if let Some(b) = session.block.take() {
                blocked = Some((args, b));
                break;
            }
            reply.encode(&mut out);
            decoder.set_authenticated(session.authenticated);
            if session.close_after_reply {
                close = true;
                break;
            }
        }
        client.meta.lock().qbuf = inbuf.len();
        if write_seq > 0 && ks.storage().must_wait_for(write_seq) {
            let mut rx = ks.storage().synced_watch();
            let _ = rx.wait_for(|s| *s >= write_seq).await;
        }
        write_seq = 0;
        if !out.is_empty() {
            shared
                .stats
                .net_out
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            if sock.write_all(&out).await.is_err() {
                return "write error";
            }
            out.clear();
            if out.capacity() > 4 * READ_CHUNK {
                out = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        if close {
            return "closed by command or protocol error";
        }
        if let Some((args, block)) = blocked {
            let (reply, seq) =
                match wait_blocked(sock, &mut inbuf, shared, client, &mut session, &args, block)
                    .await
                {
                    Ok(r) => r,
                    Err(reason) => return reason,
                };
            reply.encode(&mut out);
            write_seq = seq;
            buffered = true;
        }
        decoder.set_limits(limits(shared));
    }
}

/// Waits while a blocking command has nothing to take: until one of its keys changes and a
/// rerun of the command completes, its deadline, CLIENT UNBLOCK, a kill or shutdown, or the
/// peer closing. Requests that arrive meanwhile are buffered, not run. Returns the command's
/// reply and the storage sequence it wrote, or why the connection must close.
async fn wait_blocked(
    sock: &mut TcpStream,
    inbuf: &mut BytesMut,
    shared: &Shared,
    client: &crate::clients::Client,
    session: &mut Session,
    args: &[bytes::Bytes],
    block: strata_commands::Block,
) -> Result<(Reply, u64), &'static str> {
    let ks = &*shared.ks;
    let keys: Vec<(usize, bytes::Bytes)> =
        block.keys.iter().map(|k| (session.db, k.clone())).collect();
    let waiter = Waiter::new(client.id, true);
    *client.unblock.lock() = None;
    client.blocked.store(true, Ordering::SeqCst);
    ks.ready().register(&waiter, &keys);
    // A write may have landed between the first attempt and the registration: retry once.
    waiter.wake();
    let deadline = async {
        match block.deadline {
            Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let max_buffered = shared.config.get_u64("client-query-buffer-limit") as usize;
    let mut write_seq = 0;
    let result = loop {
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            _ = client.kill.cancelled() => break Err("killed"),
            _ = client.unblock_wake.notified() => match client.unblock.lock().take() {
                Some(true) => {
                    break Ok(Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
                }
                Some(false) => break Ok(block.timeout_reply.clone()),
                None => {}
            },
            _ = waiter.notified() => {
                waiter.take_fired();
                session.block_retry = true;
                let (reply, seq) = strata_commands::execute(ks, session, shared, args);
                session.block_retry = false;
                write_seq = write_seq.max(seq);
                if session.block.take().is_none() {
                    if matches!(reply, Reply::Error(_)) {
                        shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    break Ok(reply);
                }
            }
            _ = &mut deadline => break Ok(block.timeout_reply.clone()),
            r = sock.read_buf(inbuf), if inbuf.len() < max_buffered.max(1) => match r {
                Ok(0) => break Err("eof"),
                Ok(n) => {
                    shared.stats.net_in.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(_) => break Err("read error"),
            },
        }
    };
    ks.ready().unregister(&waiter, &keys);
    client.blocked.store(false, Ordering::SeqCst);
    result.map(|r| (r, write_seq))
}
