//! The pub/sub registry: channels, patterns and shard channels → subscriber connections.
//!
//! # Delivery
//! Every connection has a [`Mailbox`]. PUBLISH encodes the message once per receiver straight
//! into the receiver's mailbox buffer (under the mailbox's mutex, so one subscriber sees messages
//! in publish order) and wakes its connection task, which moves the buffer into its output and
//! writes it.
//!
//! # Output limit
//! A mailbox counts what is queued plus what its connection took but has not finished writing.
//! Past `client-output-buffer-limit pubsub`'s hard limit, or past the soft limit for longer than
//! its seconds, the mailbox is closed (nothing more is queued), its subscriptions are dropped and
//! the connection is killed, as Redis disconnects a slow subscriber.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use strata_commands::glob::glob_match;
use strata_commands::SubKind;
use strata_resp::Reply;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The pubsub class of `client-output-buffer-limit`, in bytes and seconds (0: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimit {
    /// Disconnect at once past this many pending bytes.
    pub hard: u64,
    /// Disconnect when past this many bytes for `soft_seconds`.
    pub soft: u64,
    /// See `soft`.
    pub soft_seconds: u64,
}

#[derive(Default)]
struct MailboxInner {
    /// Encoded messages not yet taken by the connection.
    buf: BytesMut,
    /// Bytes the connection took and is still writing.
    writing: usize,
    /// Since when the pending size has been over the soft limit.
    soft_since: Option<Instant>,
    /// This client's subscriptions.
    channels: HashSet<Bytes>,
    patterns: HashSet<Bytes>,
    shard: HashSet<Bytes>,
}

/// One connection's queue of messages and its subscriptions.
pub struct Mailbox {
    id: u64,
    inner: Mutex<MailboxInner>,
    /// Wakes the connection when a message is queued.
    pub notify: Notify,
    kill: CancellationToken,
    closed: AtomicBool,
    /// Any subscription at all (the connection is in subscribed mode).
    subscribed: AtomicBool,
}

impl Mailbox {
    /// Whether the client has any subscription (RESP2 subscribed mode).
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Moves the queued messages into `out` and charges them as being written until
    /// [`Mailbox::written`]. Returns whether there was anything.
    pub fn take_into(&self, out: &mut BytesMut) -> bool {
        let mut m = self.inner.lock();
        if m.buf.is_empty() {
            return false;
        }
        m.writing += m.buf.len();
        out.extend_from_slice(&m.buf);
        m.buf.clear();
        if m.buf.capacity() > 64 * 1024 {
            m.buf = BytesMut::new();
        }
        true
    }

    /// The connection finished writing what it took.
    pub fn written(&self) {
        let mut m = self.inner.lock();
        m.writing = 0;
        if m.buf.is_empty() {
            m.soft_since = None;
        }
    }

    fn update_flag(&self, m: &MailboxInner) {
        let any = !(m.channels.is_empty() && m.patterns.is_empty() && m.shard.is_empty());
        self.subscribed.store(any, Ordering::Release);
    }

    /// Queues one encoded message, or closes the client when it takes the pending output
    /// past the limit (then nothing more is queued for it).
    fn push(&self, msg: &[u8], limit: OutputLimit) -> Over {
        if self.closed.load(Ordering::Acquire) {
            return Over::Closed;
        }
        let mut m = self.inner.lock();
        m.buf.extend_from_slice(msg);
        let pending = (m.buf.len() + m.writing) as u64;
        let over = if limit.hard > 0 && pending > limit.hard {
            Some("hard")
        } else if limit.soft > 0 && pending > limit.soft {
            let since = *m.soft_since.get_or_insert_with(Instant::now);
            (since.elapsed() >= Duration::from_secs(limit.soft_seconds)).then_some("soft")
        } else {
            m.soft_since = None;
            None
        };
        if let Some(which) = over {
            m.buf = BytesMut::new();
            drop(m);
            self.closed.store(true, Ordering::Release);
            tracing::warn!(
                id = self.id,
                pending,
                limit = which,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits (pubsub)"
            );
            self.kill.cancel();
            return Over::JustClosed;
        }
        drop(m);
        self.notify.notify_one();
        Over::No
    }
}

enum Over {
    No,
    JustClosed,
    Closed,
}

type Subs = HashMap<Bytes, HashMap<u64, Arc<Mailbox>>>;

/// The server-wide registry.
#[derive(Default)]
pub struct PubSub {
    mailboxes: Mutex<HashMap<u64, Arc<Mailbox>>>,
    channels: RwLock<Subs>,
    patterns: RwLock<Subs>,
    shard: RwLock<Subs>,
    limit: Mutex<OutputLimit>,
    /// Messages delivered (one per receiver).
    pub delivered: AtomicU64,
}

impl PubSub {
    /// Sets the pubsub output limit.
    pub fn set_limit(&self, l: OutputLimit) {
        *self.limit.lock() = l;
    }

    fn table(&self, kind: SubKind) -> &RwLock<Subs> {
        match kind {
            SubKind::Channel => &self.channels,
            SubKind::Pattern => &self.patterns,
            SubKind::Shard => &self.shard,
        }
    }

    /// A new connection's mailbox.
    pub fn attach(&self, id: u64, kill: CancellationToken) -> Arc<Mailbox> {
        let mb = Arc::new(Mailbox {
            id,
            inner: Mutex::new(MailboxInner::default()),
            notify: Notify::new(),
            kill,
            closed: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
        });
        self.mailboxes.lock().insert(id, mb.clone());
        mb
    }

    /// A closing connection: drops its subscriptions and mailbox.
    pub fn detach(&self, id: u64) {
        self.unsubscribe_all(id);
        self.mailboxes.lock().remove(&id);
    }

    /// Drops every subscription of client `id` (RESET, disconnect).
    pub fn unsubscribe_all(&self, id: u64) {
        let Some(mb) = self.mailbox(id) else { return };
        let (c, p, s) = {
            let mut m = mb.inner.lock();
            let r = (
                std::mem::take(&mut m.channels),
                std::mem::take(&mut m.patterns),
                std::mem::take(&mut m.shard),
            );
            mb.update_flag(&m);
            r
        };
        for (kind, names) in [
            (SubKind::Channel, c),
            (SubKind::Pattern, p),
            (SubKind::Shard, s),
        ] {
            if names.is_empty() {
                continue;
            }
            let mut t = self.table(kind).write();
            for n in names {
                remove_sub(&mut t, &n, id);
            }
        }
    }

    fn mailbox(&self, id: u64) -> Option<Arc<Mailbox>> {
        self.mailboxes.lock().get(&id).cloned()
    }

    /// Subscribes; returns the client's count for the kind (see `Host::subscribe`).
    pub fn subscribe(&self, id: u64, kind: SubKind, name: &Bytes) -> usize {
        let Some(mb) = self.mailbox(id) else { return 0 };
        // Table first, then the mailbox's set: `unsubscribe_all` takes them in the other order
        // but never holds both locks at once.
        let mut t = self.table(kind).write();
        let mut m = mb.inner.lock();
        let set = m.set_mut(kind);
        if set.insert(name.clone()) {
            t.entry(name.clone()).or_default().insert(id, mb.clone());
        }
        mb.update_flag(&m);
        count(&m, kind)
    }

    /// Unsubscribes; returns the client's count for the kind.
    pub fn unsubscribe(&self, id: u64, kind: SubKind, name: &[u8]) -> usize {
        let Some(mb) = self.mailbox(id) else { return 0 };
        let mut t = self.table(kind).write();
        let mut m = mb.inner.lock();
        let set = m.set_mut(kind);
        if set.remove(name) {
            remove_sub(&mut t, name, id);
        }
        mb.update_flag(&m);
        count(&m, kind)
    }

    /// Client `id`'s subscriptions of a kind.
    pub fn subscriptions(&self, id: u64, kind: SubKind) -> Vec<Bytes> {
        let Some(mb) = self.mailbox(id) else {
            return Vec::new();
        };
        let m = mb.inner.lock();
        let set = m.set(kind);
        set.iter().cloned().collect()
    }

    /// PUBLISH (or SPUBLISH with `shard`): returns the number of receivers.
    pub fn publish(&self, shard: bool, channel: &[u8], message: &[u8]) -> usize {
        let limit = *self.limit.lock();
        let chan = Bytes::copy_from_slice(channel);
        let msg = Bytes::copy_from_slice(message);
        let mut n = 0;
        let mut dead = Vec::new();
        let mut deliver = |mb: &Arc<Mailbox>, encoded: &[u8]| match mb.push(encoded, limit) {
            Over::No => n += 1,
            Over::JustClosed => dead.push(mb.id),
            Over::Closed => {}
        };
        if shard {
            let reply = Reply::Array(vec![
                Reply::bulk(Bytes::from_static(b"smessage")),
                Reply::bulk(chan.clone()),
                Reply::bulk(msg.clone()),
            ]);
            let reply = encoded(&reply);
            if let Some(subs) = self.shard.read().get(channel) {
                subs.values().for_each(|mb| deliver(mb, &reply[..]));
            }
        } else {
            let reply = Reply::Array(vec![
                Reply::bulk(Bytes::from_static(b"message")),
                Reply::bulk(chan.clone()),
                Reply::bulk(msg.clone()),
            ]);
            let reply = encoded(&reply);
            if let Some(subs) = self.channels.read().get(channel) {
                subs.values().for_each(|mb| deliver(mb, &reply[..]));
            }
            let pats = self.patterns.read();
            for (pat, subs) in pats.iter() {
                if !glob_match(pat, channel, false) {
                    continue;
                }
                let reply = Reply::Array(vec![
                    Reply::bulk(Bytes::from_static(b"pmessage")),
                    Reply::bulk(pat.clone()),
                    Reply::bulk(chan.clone()),
                    Reply::bulk(msg.clone()),
                ]);
                let reply = encoded(&reply);
                subs.values().for_each(|mb| deliver(mb, &reply[..]));
            }
        }
        for id in dead {
            self.unsubscribe_all(id);
        }
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Client `id`'s numbers of channels, patterns and shard channels (CLIENT LIST `sub`,
    /// `psub`, `ssub`; any non-zero: flag `P` and CLIENT KILL TYPE pubsub).
    pub fn client_counts(&self, id: u64) -> (usize, usize, usize) {
        self.mailbox(id).map_or((0, 0, 0), |mb| {
            let m = mb.inner.lock();
            (m.channels.len(), m.patterns.len(), m.shard.len())
        })
    }

    /// Client `id`'s pub/sub output not yet written: queued plus being written (CLIENT LIST
    /// `omem`).
    pub fn pending_output(&self, id: u64) -> usize {
        self.mailbox(id).map_or(0, |mb| {
            let m = mb.inner.lock();
            m.buf.len() + m.writing
        })
    }

    /// Active channels (or shard channels) matching `pattern`.
    pub fn channels(&self, kind: SubKind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.table(kind)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel.
    pub fn numsub(&self, kind: SubKind, channel: &[u8]) -> usize {
        self.table(kind).read().get(channel).map_or(0, HashMap::len)
    }

    /// Number of distinct active channels, patterns or shard channels.
    pub fn count(&self, kind: SubKind) -> usize {
        self.table(kind).read().len()
    }
}

fn encoded(r: &Reply) -> BytesMut {
    let mut b = BytesMut::with_capacity(r.encoded_len());
    r.encode(&mut b);
    b
}

impl MailboxInner {
    fn set(&self, kind: SubKind) -> &HashSet<Bytes> {
        match kind {
            SubKind::Channel => &self.channels,
            SubKind::Pattern => &self.patterns,
            SubKind::Shard => &self.shard,
        }
    }

    fn set_mut(&mut self, kind: SubKind) -> &mut HashSet<Bytes> {
        match kind {
            SubKind::Channel => &mut self.channels,
            SubKind::Pattern => &mut self.patterns,
            SubKind::Shard => &mut self.shard,
        }
    }
}

fn count(m: &MailboxInner, kind: SubKind) -> usize {
    match kind {
        SubKind::Shard => m.shard.len(),
        _ => m.channels.len() + m.patterns.len(),
    }
}

fn remove_sub(t: &mut Subs, name: &[u8], id: u64) {
    if let Some(subs) = t.get_mut(name) {
        subs.remove(&id);
        if subs.is_empty() {
            t.remove(name);
        }
    }
}

/// The classes of `client-output-buffer-limit`, in the order CONFIG GET shows them.
const CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];
const DEFAULT_LIMITS: [[u64; 3]; 3] = [
    [0, 0, 0],
    [256 << 20, 64 << 20, 60],
    [32 << 20, 8 << 20, 60],
];

/// Checks a `client-output-buffer-limit` value (`<class> <hard> <soft> <seconds>` repeated;
/// classes `normal`, `replica`/`slave`, `pubsub`) and returns the canonical text: all three
/// classes with byte counts, those not given taking their defaults (the configuration prepends
/// the current value, so a change keeps the classes it does not name).
pub fn normalise_output_limits(v: &str) -> Result<String, String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut vals = DEFAULT_LIMITS;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "replica" | "slave" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = crate::config::parse_memory(w[1]);
        let soft = crate::config::parse_memory(w[2]);
        let secs = w[3].parse::<u64>().ok();
        let (Some(hard), Some(soft), Some(secs)) = (hard, soft, secs) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        vals[class] = [hard, soft, secs];
    }
    Ok(CLASSES
        .iter()
        .zip(vals)
        .map(|(c, [h, s, t])| format!("{c} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The pubsub class of a canonical `client-output-buffer-limit` value.
pub fn pubsub_limit(v: &str) -> OutputLimit {
    let w: Vec<&str> = v.split_whitespace().collect();
    let num = |i: usize| w.get(i).and_then(|x| x.parse().ok()).unwrap_or(0);
    match w.iter().position(|x| *x == "pubsub") {
        Some(i) => OutputLimit {
            hard: num(i + 1),
            soft: num(i + 2),
            soft_seconds: num(i + 3),
        },
        None => OutputLimit::default(),
    }
}
