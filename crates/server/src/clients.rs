//! The registry of connected clients, for CLIENT LIST, CLIENT KILL, maxclients and INFO.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use strata_commands::{KillFilter, Session};
use tokio_util::sync::CancellationToken;

/// What CLIENT LIST shows of a connection, refreshed after each command.
#[derive(Debug, Default, Clone)]
pub struct ClientMeta {
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Selected db.
    pub db: usize,
    /// Last command's table name.
    pub cmd: String,
    /// Authenticated user.
    pub user: String,
    /// CLIENT SETINFO values.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO values.
    pub lib_ver: Option<Bytes>,
    /// Bytes waiting in the query buffer.
    pub qbuf: usize,
    /// Free capacity of the query buffer.
    pub qbuf_free: usize,
    /// The socket's file descriptor.
    pub fd: i64,
    /// In MONITOR mode.
    pub monitor: bool,
    /// Commands queued in MULTI (-1: not in MULTI).
    pub multi: i64,
    /// Bytes of replies waiting to be written.
    pub omem: usize,
}

/// A client's subscription counts: channels, patterns, shard channels.
pub type SubCounts<'a> = &'a dyn Fn(u64) -> (usize, usize, usize);

/// One connected client.
pub struct Client {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// When it connected.
    pub created: Instant,
    /// Last command time.
    pub last_active: Mutex<Instant>,
    /// Mutable details.
    pub meta: Mutex<ClientMeta>,
    /// Cancelled by CLIENT KILL or shutdown: the connection task closes.
    pub kill: CancellationToken,
    /// Waiting in a blocking command.
    pub blocked: AtomicBool,
    /// CLIENT UNBLOCK's request for a blocked client: `Some(true)` for ERROR.
    pub unblock: Mutex<Option<bool>>,
    /// Wakes a blocked client for CLIENT UNBLOCK.
    pub unblock_wake: tokio::sync::Notify,
}

/// All clients.
#[derive(Default)]
pub struct Clients {
    /// Looked up on every command (client bookkeeping): aHash, not SipHash.
    map: DashMap<u64, Arc<Client>, ahash::RandomState>,
    next_id: AtomicU64,
}

impl Clients {
    /// Registers a new connection and returns it.
    pub fn add(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<Client> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let c = Arc::new(Client {
            id,
            addr,
            laddr,
            created: now,
            last_active: Mutex::new(now),
            meta: Mutex::new(ClientMeta {
                user: "default".into(),
                multi: -1,
                fd: -1,
                ..Default::default()
            }),
            kill: CancellationToken::new(),
            blocked: AtomicBool::new(false),
            unblock: Mutex::new(None),
            unblock_wake: tokio::sync::Notify::new(),
        });
        self.map.insert(id, c.clone());
        c
    }

    /// Unregisters a closed connection.
    pub fn remove(&self, id: u64) {
        self.map.remove(&id);
    }

    /// Connected clients.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Copies the session's visible state into the registry.
    pub fn update(&self, s: &Session, cmd: &str) {
        if let Some(c) = self.map.get(&s.id) {
            *c.last_active.lock() = Instant::now();
            let mut m = c.meta.lock();
            m.name.clone_from(&s.name);
            m.db = s.db;
            m.multi = s.multi.queued();
            m.cmd.clear();
            m.cmd.push_str(cmd);
            m.user.clone_from(&s.user);
            m.lib_name.clone_from(&s.lib_name);
            m.lib_ver.clone_from(&s.lib_ver);
        }
    }

    /// CLIENT LIST text, in id order.
    pub fn list(
        &self,
        ids: Option<&[u64]>,
        subs: SubCounts<'_>,
        omem: &dyn Fn(u64) -> usize,
    ) -> String {
        let mut all: Vec<Arc<Client>> = self
            .map
            .iter()
            .filter(|c| ids.is_none_or(|ids| ids.contains(&c.id)))
            .map(|c| c.value().clone())
            .collect();
        all.sort_by_key(|c| c.id);
        all.iter()
            .map(|c| line(c, subs(c.id), omem(c.id)))
            .collect()
    }

    /// CLIENT KILL: cancels every matching client.
    pub fn kill(&self, me: u64, f: &KillFilter, subs: SubCounts<'_>) -> usize {
        let mut n = 0;
        for c in self.map.iter() {
            let user = c.meta.lock().user.clone();
            let (s, p, ss) = subs(c.id);
            let kind = if s + p + ss > 0 { "pubsub" } else { "normal" };
            let hit = f.id.is_none_or(|id| id == c.id)
                && f.kind.as_ref().is_none_or(|k| k == kind)
                && f.max_age
                    .is_none_or(|a| a == 0 || c.created.elapsed().as_secs() > a)
                && f.addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
                && f.laddr.as_ref().is_none_or(|a| *a == c.laddr.to_string())
                && f.user.as_ref().is_none_or(|u| *u == user)
                && !(f.skip_me && c.id == me);
            if hit {
                c.kill.cancel();
                n += 1;
            }
        }
        n
    }

    /// CLIENT UNBLOCK: asks client `id`, if blocked, to stop waiting. Returns whether it was.
    pub fn unblock(&self, id: u64, error: bool) -> bool {
        let Some(c) = self.map.get(&id) else {
            return false;
        };
        if !c.blocked.load(Ordering::SeqCst) {
            return false;
        }
        *c.unblock.lock() = Some(error);
        c.unblock_wake.notify_one();
        true
    }

    /// Clients waiting in a blocking command (INFO's `blocked_clients`).
    pub fn blocked(&self) -> usize {
        self.map
            .iter()
            .filter(|c| c.blocked.load(Ordering::Relaxed))
            .count()
    }

    /// Closes every client (shutdown).
    pub fn kill_all(&self) {
        for c in self.map.iter() {
            c.kill.cancel();
        }
    }
}

fn text(b: &Option<Bytes>) -> String {
    b.as_ref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// One CLIENT LIST line, with Redis 7.2's fields in Redis's order.
fn line(c: &Client, (sub, psub, ssub): (usize, usize, usize), omem: usize) -> String {
    let mut m = c.meta.lock().clone();
    m.omem = m.omem.max(omem);
    let idle = c.last_active.lock().elapsed().as_secs();
    let mut flags = String::new();
    if m.monitor {
        flags.push('O');
    }
    if sub + psub + ssub > 0 {
        flags.push('P');
    }
    if m.multi >= 0 {
        flags.push('x');
    }
    if c.blocked.load(Ordering::Relaxed) {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={sub} psub={psub} ssub={ssub} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp=2 lib-name={} lib-ver={}\n",
        c.id,
        c.addr,
        c.laddr,
        m.fd,
        text(&m.name),
        c.created.elapsed().as_secs(),
        idle,
        flags,
        m.db,
        m.multi,
        m.qbuf,
        m.qbuf_free,
        m.omem,
        m.qbuf + m.qbuf_free + m.omem,
        if m.cmd.is_empty() { "NULL" } else { &m.cmd },
        m.user,
        text(&m.lib_name),
        text(&m.lib_ver),
    )
}
