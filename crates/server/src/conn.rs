//! One client connection.
//!
//! # Mechanics
//! Read what the socket has, decode every complete request in the buffer, run them in order
//! into one output buffer, then, if any of them wrote, write the WAL buffer out once (or under
//! `appendfsync always` wait once for the group fsync), then send all the replies in one write.
//! A protocol error is answered and closes the connection, as in Redis.
//!
//! Consecutive requests that may share a storage commit (`strata_commands::groupable`) are held
//! back as a run and executed together when the run ends (at the end of the buffer, before any
//! other request, and at `MAX_MEMBERS` commands): one RocksDB write for the run instead of one
//! per command (`strata_keyspace::Group`). Their replies are produced in order as before.
//!
//! A blocking command (BLPOP...) that finds nothing sets `Session::block`: the replies before it
//! are sent, the connection waits in [`wait_blocked`] (requests that arrive meanwhile stay
//! buffered), then sends its reply and goes on with the buffered requests.
//!
//! Commands run on the async worker: memory hits and WAL appends are short. Cold reads are
//! RocksDB point lookups. Walks the request does not bound (KEYS, whole big collections) run
//! off the worker ([`off_worker`]); the connection then yields before its next request.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use strata_commands::{flags, Session};
use strata_keyspace::Waiter;
use strata_resp::{Limits, Reply, RequestDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Shared;

const READ_CHUNK: usize = 16 * 1024;

/// Redis's reply to a non-loopback client in protected mode, word for word.
const PROTECTED_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// The settings a connection consults on every round, re-read only when the configuration's
/// generation moves (a string lookup per round is measurable at a million requests a second).
struct Settings {
    generation: u64,
    /// `timeout`: seconds a client may stay idle (0: for ever).
    idle: u64,
    limits: Limits,
}

impl Settings {
    fn load(s: &Shared) -> Settings {
        Settings {
            generation: s.config.generation(),
            idle: s.config.get_u64("timeout"),
            limits: Limits {
                proto_max_bulk_len: s.config.get_u64("proto-max-bulk-len"),
                query_buffer_limit: s.config.get_u64("client-query-buffer-limit") as usize,
            },
        }
    }

    /// Re-reads the settings if the configuration changed; returns whether it did.
    fn refresh(&mut self, s: &Shared) -> bool {
        if s.config.generation() == self.generation {
            return false;
        }
        *self = Settings::load(s);
        true
    }
}

/// Why a connection closes when the WAL could not be written: its replies are withheld.
const WAL_FAILED: &str = "WAL write failed: reply withheld";

/// Why a connection closes when a pipeline group's write failed: its replies are withheld.
const GROUP_FAILED: &str = "write of a pipelined group failed: replies withheld";

/// A request held back in a run of groupable requests.
struct Held {
    args: Vec<bytes::Bytes>,
    def: &'static strata_commands::CommandDef,
    obs: crate::observe::Before,
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
    if shared.config.get("protected-mode") == "yes"
        && !addr.ip().to_canonical().is_loopback()
        && shared.acl.default_nopass()
    {
        let _ = sock.write_all(PROTECTED_DENIED).await;
        shared.open.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    let _ = sock.set_nodelay(true);
    let client = shared.clients.add(addr, laddr);
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        client.meta.lock().fd = i64::from(sock.as_raw_fd());
    }
    tracing::debug!(id = client.id, %addr, "client connected");
    let reason = serve(&mut sock, &shared, &client).await;
    shared.pubsub.detach(client.id);
    tracing::debug!(id = client.id, %addr, reason, "client closed");
    let _ = sock.shutdown().await;
    // The client's WATCHes (its blocked pops unregistered themselves).
    shared.ks.ready().forget(client.id);
    shared.clients.remove(client.id);
    shared.open.fetch_sub(1, Ordering::AcqRel);
}

async fn serve(
    sock: &mut TcpStream,
    shared: &Shared,
    client: &crate::clients::Client,
) -> &'static str {
    let mut session = Session::new(client.id, shared.acl.default_auto_auth());
    let mut settings = Settings::load(shared);
    let mut decoder = RequestDecoder::new(settings.limits);
    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let ks = &*shared.ks;
    // After a blocked command completes, the requests already buffered run before reading more.
    let mut buffered = false;
    let mut write_seq = 0;
    let mailbox = shared.pubsub.attach(client.id, client.kill.clone());
    // Made once and polled again on every wait, rather than made and dropped per request: each
    // registers with its notifier under a lock on first poll and leaves it under the lock when
    // dropped, which cost about as much as a GET's own work.
    let mut killed = std::pin::pin!(client.kill.cancelled());
    let mut mail = std::pin::pin!(mailbox.notify.notified());
    // Requests held back to run as one group; empty between reads, kept for its allocation.
    let mut run: Vec<Held> = Vec::new();
    // Set once the client sent MONITOR: every command's line arrives here.
    let mut monitor_rx: Option<tokio::sync::broadcast::Receiver<bytes::Bytes>> = None;
    loop {
        // The waits below poll the socket first, so a client that always has a request ready
        // would see its kill only when tokio's cooperative budget runs out: check it here.
        if client.kill.is_cancelled() {
            return "killed";
        }
        // A member of this worker's open group may wait for it from another worker.
        strata_keyspace::commit_worker_group_if_waited();
        decoder.set_authenticated(session.authenticated);
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        if !std::mem::take(&mut buffered) {
            // Monitors and subscribers are never timed out, as in Redis.
            let idle = match monitor_rx {
                Some(_) => 0,
                None if mailbox.subscribed() => 0,
                None => settings.idle,
            };
            let mut monitor_line = None;
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
            // The socket first: a read that is ready then costs no poll of the other waits,
            // each a lock on its notifier (kills are checked at the top of the loop).
            let n = tokio::select! {
                biased;
                r = read => match r {
                    Ok(0) => return "eof",
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return "idle timeout",
                    Err(_) => return "read error",
                },
                _ = killed.as_mut() => return "killed",
                _ = mail.as_mut() => {
                    mail.set(mailbox.notify.notified());
                    0
                }
                line = crate::observe::next_line(&mut monitor_rx) => {
                    monitor_line = Some(line);
                    0
                }
            };
            if let Some(line) = monitor_line {
                out.extend_from_slice(&line);
                crate::observe::drain(&mut monitor_rx, &mut out);
            }
            shared.stats.net_in.fetch_add(n as u64, Ordering::Relaxed);
        }

        let mut close = false;
        let mut blocked = None;
        // Runs the held requests (see `run_held`); a failed write ends the connection. Only the
        // last run of a read may leave its group open on the worker, and gives a ticket.
        macro_rules! run_held {
            ($leave_open:expr) => {
                match run_held(
                    shared,
                    client,
                    &mut session,
                    &mut run,
                    &mut out,
                    &mut write_seq,
                    $leave_open,
                ) {
                    Ok(ticket) => ticket,
                    Err(reason) => return reason,
                }
            };
        }
        loop {
            let args = match decoder.decode(&mut inbuf) {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(e) => {
                    run_held!(false);
                    if !e.closes_silently() {
                        e.to_reply().encode(&mut out);
                    }
                    tracing::debug!(id = client.id, error = %e, "protocol error");
                    close = true;
                    break;
                }
            };
            if mailbox.subscribed() && session.resp == 2 {
                if let Some(r) = strata_commands::pubsub::subscribed_mode_reply(&mut session, &args)
                {
                    if matches!(r, Reply::Error(_)) {
                        shared.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    r.encode(&mut out);
                    continue;
                }
            }
            let mut resolved = strata_commands::prepare(shared, &mut session, &args);
            let mut obs = crate::observe::before(&resolved, &args);
            if let Ok(def) = resolved {
                if monitor_rx.is_none()
                    && !mailbox.subscribed()
                    && strata_commands::groupable(ks, &session, def)
                    && !shared.observe.must_wait(obs.def)
                {
                    run.push(Held { args, def, obs });
                    if run.len() >= strata_keyspace::MAX_MEMBERS {
                        run_held!(false);
                    }
                    continue;
                }
            }
            run_held!(false);
            let mut started = std::time::Instant::now();
            if shared.observe.must_wait(obs.def) {
                // CLIENT PAUSE: send the replies so far, then hold this command back.
                if let Err(reason) = durable(ks.storage(), None, write_seq).await {
                    return reason;
                }
                if !out.is_empty() && sock.write_all(&out).await.is_err() {
                    return "write error";
                }
                out.clear();
                tokio::select! {
                    _ = shared.observe.wait_pause(obs.def) => {}
                    _ = killed.as_mut() => return "killed",
                }
                // Permissions may have changed while it waited.
                resolved = strata_commands::prepare(shared, &mut session, &args);
                started = std::time::Instant::now();
            }
            // CLIENT REPLY SKIP given by the previous command applies to this one.
            let skipping = std::mem::take(&mut session.reply_skip);
            let keyspace = flags::READONLY | flags::WRITE | flags::MAY_REPLICATE;
            let (reply, seq) =
                if monitor_rx.is_some() && obs.def.is_some_and(|d| d.flags & keyspace != 0) {
                    obs.rejected = true;
                    (
                        Reply::error("ERR Replica can't interact with the keyspace"),
                        0,
                    )
                } else {
                    strata_commands::execute_resolved(ks, &mut session, shared, &args, resolved)
                };
            obs.took = started.elapsed();
            shared
                .observe
                .after(&obs, &session, &client.addr, &args, &reply);
            let suppress = session.reply_off
                || session.reply_skip
                || (skipping && obs.def.is_none_or(|d| d.name != "client|reply"));
            if session.monitor != monitor_rx.is_some() {
                monitor_rx = session.monitor.then(|| shared.observe.subscribe());
                client.meta.lock().monitor = session.monitor;
            }
            if matches!(&reply, Reply::Simple(r) if &r[..] == b"RESET") {
                shared.pubsub.unsubscribe_all(client.id);
            }
            shared.stats.count_command(&reply);
            write_seq = write_seq.max(seq);
            if session.drop_reply {
                return "shutdown";
            }
            if let Some(b) = session.block.take() {
                blocked = Some((args, b));
                break;
            }
            let pre = std::mem::take(&mut session.pre_replies);
            if !suppress {
                pre.iter().for_each(|r| r.encode(&mut out));
                reply.encode(&mut out);
            }
            decoder.set_authenticated(session.authenticated);
            if session.close_after_reply {
                close = true;
                break;
            }
        }
        // After a command ran off the worker, this thread may have left the runtime: no group is
        // left open on it (nothing would commit it), and its slot lets go of the keyspace.
        let left_worker = LEFT_WORKER.take();
        let ticket = run_held!(!left_worker);
        if left_worker {
            strata_keyspace::commit_worker_group();
        }
        let last = std::mem::take(&mut session.last_cmd);
        if !last.is_empty() {
            shared.clients.update(&session, last);
        }
        {
            let mut m = client.meta.lock();
            m.qbuf = inbuf.len();
            m.qbuf_free = inbuf.capacity() - inbuf.len();
        }
        if let Err(reason) = durable(ks.storage(), ticket, write_seq).await {
            return reason;
        }
        write_seq = 0;
        if mailbox.take_into(&mut out) {
            // A keyspace notification must not reach a subscriber before the write it reports
            // is in the WAL, as Redis writes its AOF before any client's output.
            let storage = ks.storage();
            if storage.flush_wal_to(storage.written_seq()).is_err() {
                return WAL_FAILED;
            }
        }
        if !out.is_empty() {
            shared
                .stats
                .net_out
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            tokio::select! {
                biased;
                r = sock.write_all(&out) => if r.is_err() {
                    return "write error";
                },
                _ = killed.as_mut() => return "killed",
            }
            mailbox.written();
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
        if settings.refresh(shared) {
            decoder.set_limits(settings.limits);
        }
        if left_worker {
            // This thread handed its worker over (`off_worker`) and may no longer be one. The
            // next request must not run here: a group it left open on this thread would never
            // be committed. Back to the runtime, which polls the connection on a worker.
            tokio::task::yield_now().await;
        }
    }
}

thread_local! {
    /// Set when a command ran off the worker on this thread ([`off_worker`]); the connection
    /// takes it at the end of the read.
    static LEFT_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, a walk the request does not bound (`Host::off_worker`: KEYS, a big collection's
/// copy), off the async worker: tokio hands the worker's other connections to another thread
/// meanwhile. Nothing may wait on this thread while it runs, so the group other connections
/// left open on it commits first; afterwards the thread may no longer be a worker, so it stops
/// counting as busy for the `always` fsync (see `Storage::thread_left_runtime`), and the
/// connection leaves no group open on it.
pub(crate) fn off_worker<R>(storage: &strata_storage::Storage, f: impl FnOnce() -> R) -> R {
    strata_keyspace::commit_worker_group();
    let r = tokio::task::block_in_place(f);
    storage.thread_left_runtime();
    LEFT_WORKER.set(true);
    r
}

/// Executes the held run of groupable requests (one storage write for all of them), appends
/// their replies and raises `write_seq` to what must be made durable. With `leave_open` (the
/// last run of a read) the write may be left to the worker's open group, whose ticket is
/// returned: settle it before the replies go out. A failed write closes the connection with no
/// reply, as a failed WAL write does.
fn run_held(
    shared: &Shared,
    client: &crate::clients::Client,
    session: &mut Session,
    run: &mut Vec<Held>,
    out: &mut BytesMut,
    write_seq: &mut u64,
    leave_open: bool,
) -> Result<Option<strata_keyspace::Ticket>, &'static str> {
    if run.is_empty() {
        return Ok(None);
    }
    // Inline up to a typical pipeline's run: at -P 1 a run is one command, and a heap vector
    // was an allocation per request.
    let items: smallvec::SmallVec<[(&[bytes::Bytes], &'static strata_commands::CommandDef); 16]> =
        run.iter().map(|h| (&h.args[..], h.def)).collect();
    let result = strata_commands::execute_group(&shared.ks, session, shared, &items, leave_open);
    drop(items);
    let (replies, seq, ticket) = result.map_err(|e| {
        tracing::warn!(id = client.id, error = %e, "{GROUP_FAILED}");
        GROUP_FAILED
    })?;
    for (mut h, (reply, took)) in run.drain(..).zip(replies) {
        h.obs.took = took;
        shared
            .observe
            .after(&h.obs, session, &client.addr, &h.args, &reply);
        shared.stats.count_command(&reply);
        // CLIENT REPLY SKIP given just before the run applies to its first command.
        let skipping = std::mem::take(&mut session.reply_skip);
        if !(session.reply_off || skipping) {
            reply.encode(out);
        }
    }
    *write_seq = (*write_seq).max(seq);
    Ok(ticket)
}

/// Makes the writes up to `seq` (0: none), and those of the open group `ticket` stands for, as
/// durable as `appendfsync` asks, before their replies go out: written to storage, in the OS's
/// hands (one WAL write for the whole reply batch), and under `always` on stable storage (one
/// group fsync). A failed write closes the connection unanswered.
async fn durable(
    storage: &strata_storage::Storage,
    ticket: Option<strata_keyspace::Ticket>,
    mut seq: u64,
) -> Result<(), &'static str> {
    if ticket.is_none() && (seq == 0 || (!storage.must_wait_for(seq) && storage.wal_flushed(seq))) {
        return Ok(());
    }
    // Let the other connections ready on this worker run their commands first: they join the
    // group this connection's commands left open (one storage write for all of them), and the
    // one WAL write (or fsync) below covers theirs too, as Redis writes its AOF buffer once per
    // turn of its event loop rather than once per client.
    tokio::task::yield_now().await;
    if let Some(t) = ticket {
        seq = seq.max(t.settle().await.map_err(|()| GROUP_FAILED)?);
    }
    if seq == 0 {
        return Ok(());
    }
    if storage.must_wait_for(seq) {
        storage.request_sync();
        let mut rx = storage.synced_watch();
        let _ = rx.wait_for(|s| *s >= seq).await;
        return Ok(());
    }
    storage.flush_wal_to(seq).map_err(|_| WAL_FAILED)
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
