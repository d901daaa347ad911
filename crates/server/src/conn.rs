//! One client connection.
//!
//! # Mechanics
//! Read what the socket has, decode every complete request in the buffer, run them in order
//! into one output buffer, wait once for the WAL fsync if `appendfsync always` and any of them
//! wrote, then send all the replies in one write. A protocol error is answered and closes the
//! connection, as in Redis.
//!
//! Commands run on the async worker: memory hits and WAL appends are short. Cold reads are
//! RocksDB point lookups; scans (KEYS) block the worker for their duration (to be moved off it).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use strata_commands::Session;
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
    loop {
        decoder.set_authenticated(session.authenticated);
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
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

        let mut write_seq = 0;
        let mut close = false;
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
        decoder.set_limits(limits(shared));
    }
}
