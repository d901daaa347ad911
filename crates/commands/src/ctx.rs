//! What a handler sees: the keyspace, its client's session, and the server behind a trait.

use std::time::Instant;

use bytes::Bytes;
use strata_keyspace::{Group, Keyspace, Txn};

use crate::error::CmdError;
use crate::table::CommandDef;

/// Per-connection state that commands read and change.
#[derive(Debug)]
pub struct Session {
    /// CLIENT ID.
    pub id: u64,
    /// Selected logical database.
    pub db: usize,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Passed AUTH (or no password is set).
    pub authenticated: bool,
    /// The user AUTH named.
    pub user: String,
    /// Protocol version chosen with HELLO (always 2 for now).
    pub resp: u8,
    /// CLIENT SETINFO lib-name.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO lib-ver.
    pub lib_ver: Option<Bytes>,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// Set by QUIT: close after the reply is written.
    pub close_after_reply: bool,
    /// Set by SHUTDOWN: close without writing the reply, as Redis does.
    pub drop_reply: bool,
    /// When the connection was accepted.
    pub created: Instant,
    /// Set by a blocking command that found nothing: the connection waits, then reruns it.
    pub block: Option<Block>,
    /// Set by the connection while it reruns a blocked command after its keys changed.
    pub block_retry: bool,
    /// MULTI queue and WATCHed keys (see `transaction`).
    pub multi: crate::transaction::MultiState,
    /// The user's ACL snapshot (None until the first command refreshes it).
    pub acl: Option<std::sync::Arc<crate::acl::users::User>>,
    /// The ACL generation `acl` was taken at.
    pub acl_gen: u64,
    /// Set by MONITOR: the connection streams every command from then on.
    pub monitor: bool,
    /// CLIENT REPLY OFF: no replies are sent.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: the next command's reply is not sent (nor SKIP's own).
    pub reply_skip: bool,
    /// Replies sent before the command's own (SUBSCRIBE's confirmations but the last).
    pub pre_replies: Vec<strata_resp::Reply>,
    /// The last command run and not yet published to the client registry (empty: none). The
    /// connection publishes the session once per batch of requests ([`Host::client_update`]):
    /// no other client can observe it in the middle of a batch anyway, as in Redis, where one
    /// client's pipeline runs before the next client's.
    pub last_cmd: &'static str,
    /// The command the previous request resolved to: a pipeline usually repeats one command,
    /// and comparing its name costs less than the table lookup.
    pub last_def: Option<&'static crate::CommandDef>,
}

/// What a blocked client waits for (see `strata_keyspace::Ready`).
#[derive(Debug, Clone)]
pub struct Block {
    /// Keys of the selected db whose change may let the command complete.
    pub keys: Vec<Bytes>,
    /// When to give up (None: never).
    pub deadline: Option<Instant>,
    /// The reply at the deadline (a nil array or a nil bulk).
    pub timeout_reply: strata_resp::Reply,
}

impl Session {
    /// A fresh session; `authenticated` when the server has no password.
    pub fn new(id: u64, authenticated: bool) -> Session {
        Session {
            id,
            db: 0,
            name: None,
            authenticated,
            user: "default".into(),
            resp: 2,
            lib_name: None,
            lib_ver: None,
            no_evict: false,
            close_after_reply: false,
            drop_reply: false,
            created: Instant::now(),
            block: None,
            block_retry: false,
            multi: Default::default(),
            acl: None,
            acl_gen: 0,
            monitor: false,
            reply_off: false,
            reply_skip: false,
            pre_replies: Vec::new(),
            last_cmd: "",
            last_def: None,
        }
    }
}

/// Which clients CLIENT KILL targets; every given field must match.
#[derive(Debug, Default, Clone)]
pub struct KillFilter {
    /// `ID`.
    pub id: Option<u64>,
    /// `ADDR` (or the legacy single-argument form).
    pub addr: Option<String>,
    /// `LADDR`.
    pub laddr: Option<String>,
    /// `USER`.
    pub user: Option<String>,
    /// `SKIPME`, default yes.
    pub skip_me: bool,
    /// `TYPE`: `normal`, `pubsub`, `master` or `replica` (None: any).
    pub kind: Option<String>,
    /// `MAXAGE`: only clients connected longer than this many seconds.
    pub max_age: Option<u64>,
}

/// The server's side of the commands that are about the server rather than the data. The server
/// crate implements it; the commands crate never sees a socket.
pub trait Host: Send + Sync {
    /// `(name, value)` pairs of the config keys matching a glob, in table order.
    fn config_get(&self, pattern: &[u8]) -> Vec<(String, String)>;
    /// Applies CONFIG SET pairs atomically: all or none.
    fn config_set(&self, pairs: &[(String, String)]) -> Result<(), CmdError>;
    /// CONFIG REWRITE.
    fn config_rewrite(&self) -> Result<(), CmdError>;
    /// CONFIG RESETSTAT.
    fn config_resetstat(&self);
    /// The INFO text for the requested sections (empty: the default set).
    fn info(&self, sections: &[String]) -> String;
    /// The password AUTH checks against, if any.
    fn requirepass(&self) -> Option<String>;
    /// CLIENT LIST lines (all clients, or those ids).
    fn client_list(&self, ids: Option<&[u64]>) -> String;
    /// Publishes the session's current state (name, db, last command) to the client registry.
    fn client_update(&self, session: &Session, cmd: &str);
    /// CLIENT KILL: returns how many clients were closed.
    fn client_kill(&self, me: u64, filter: &KillFilter) -> usize;
    /// SHUTDOWN: begins a clean stop.
    fn shutdown(&self);
    /// CLIENT UNBLOCK: ends a blocked client's wait, with its timeout reply or (`error`) an
    /// UNBLOCKED error. Returns whether that client was blocked.
    fn client_unblock(&self, _id: u64, _error: bool) -> bool {
        false
    }
    /// The ACL user store (hosts without one share a process-wide store).
    fn acl(&self) -> &crate::acl::users::Acl {
        crate::acl::fallback()
    }
    /// Runs `f`, a walk of the data that the request does not bound (KEYS, a big collection's
    /// copy), where it does not hold up other connections: the server runs it off its async
    /// worker. By default, here.
    fn off_worker(&self, f: &mut dyn FnMut()) {
        f()
    }
    /// CLIENT PAUSE for `ms` milliseconds: all commands, or (`all` false) writes only.
    fn client_pause(&self, _ms: u64, _all: bool) {}
    /// CLIENT UNPAUSE.
    fn client_unpause(&self) {}
    /// SLOWLOG GET: the newest `count` entries (all when None), as Redis replies them.
    fn slowlog_get(&self, _count: Option<usize>) -> strata_resp::Reply {
        strata_resp::Reply::Array(Vec::new())
    }
    /// SLOWLOG LEN.
    fn slowlog_len(&self) -> usize {
        0
    }
    /// SLOWLOG RESET.
    fn slowlog_reset(&self) {}
    /// LATENCY LATEST.
    fn latency_latest(&self) -> strata_resp::Reply {
        strata_resp::Reply::Array(Vec::new())
    }
    /// LATENCY HISTORY event.
    fn latency_history(&self, _event: &[u8]) -> strata_resp::Reply {
        strata_resp::Reply::Array(Vec::new())
    }
    /// LATENCY RESET [event ...]: how many events were reset.
    fn latency_reset(&self, _events: &[Bytes]) -> usize {
        0
    }
    /// LATENCY HISTOGRAM [command ...].
    fn latency_histogram(&self, _commands: &[Bytes]) -> strata_resp::Reply {
        strata_resp::Reply::Array(Vec::new())
    }
    /// PUBLISH: delivers `message` to the channel's and the matching patterns' subscribers.
    /// Returns how many received it.
    fn publish(&self, _channel: &[u8], _message: &[u8]) -> usize {
        0
    }
    /// SPUBLISH: delivers `message` to the shard channel's subscribers; returns how many.
    fn spublish(&self, _channel: &[u8], _message: &[u8]) -> usize {
        0
    }
    /// Subscribes client `id`; returns its subscription count afterwards (channels plus
    /// patterns, or shard channels for [`SubKind::Shard`]).
    fn subscribe(&self, _id: u64, _kind: SubKind, _name: &Bytes) -> usize {
        0
    }
    /// Unsubscribes client `id`; returns its subscription count afterwards, as `subscribe`.
    fn unsubscribe(&self, _id: u64, _kind: SubKind, _name: &[u8]) -> usize {
        0
    }
    /// Client `id`'s current subscriptions of a kind.
    fn subscriptions(&self, _id: u64, _kind: SubKind) -> Vec<Bytes> {
        Vec::new()
    }
    /// PUBSUB CHANNELS / SHARDCHANNELS: active channels of a kind (`Channel` or `Shard`)
    /// matching the glob (all when `None`).
    fn pubsub_channels(&self, _kind: SubKind, _pattern: Option<&[u8]>) -> Vec<Bytes> {
        Vec::new()
    }
    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel.
    fn pubsub_numsub(&self, _kind: SubKind, _channel: &[u8]) -> usize {
        0
    }
    /// PUBSUB NUMPAT: patterns subscribed to by any client.
    fn pubsub_numpat(&self) -> usize {
        0
    }
}

/// The three pub/sub namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubKind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

/// Collections from this many elements are walked off the worker: reading or copying one
/// costs a few microseconds per element, against about 8 us to hand the worker's connections
/// over.
pub(crate) const OFF_WORKER_ELEMS: u64 = 1000;

/// Runs walks of the data that the request does not bound (KEYS, whole big collections) where
/// they do not hold up other connections ([`Host::off_worker`]); in place inside a pipeline
/// group.
#[derive(Clone, Copy)]
pub(crate) struct OffWorker<'s>(Option<&'s dyn Host>);

impl OffWorker<'_> {
    /// Runs `f` off the worker.
    pub(crate) fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let Some(host) = self.0 else {
            return f();
        };
        let mut f = Some(f);
        let mut out = None;
        host.off_worker(&mut || {
            if let Some(f) = f.take() {
                out = Some(f());
            }
        });
        match (out, f.take()) {
            (Some(v), _) => v,
            // A host that did not call it.
            (None, Some(f)) => f(),
            (None, None) => unreachable!("the closure keeps what it ran"),
        }
    }

    /// Runs `f`, a walk of `elems` elements: off the worker from [`OFF_WORKER_ELEMS`] up.
    pub(crate) fn run_for<T>(self, elems: u64, f: impl FnOnce() -> T) -> T {
        if elems >= OFF_WORKER_ELEMS {
            self.run(f)
        } else {
            f()
        }
    }
}

/// A handler's context: `'a` is the keyspace's (and its locks'), `'s` this request's.
pub struct Ctx<'a, 's> {
    /// The shared keyspace.
    pub ks: &'a Keyspace,
    /// This client's state.
    pub session: &'s mut Session,
    /// The server.
    pub host: &'s dyn Host,
    /// The command being run (set by the dispatcher).
    pub cmd: &'static CommandDef,
    /// Highest storage sequence this client wrote; the server waits for it under
    /// `appendfsync always` before flushing replies.
    pub write_seq: u64,
    /// The open pipeline group (`crate::group`), when the command may join it.
    pub(crate) group: Option<Box<Group<'a>>>,
    /// Why committing the group failed, if it did: the members' replies are then void.
    pub(crate) group_failed: Option<strata_keyspace::StorageError>,
}

impl<'a, 's> Ctx<'a, 's> {
    /// The selected database.
    pub fn db(&self) -> usize {
        self.session.db
    }

    /// Where this command's walks of the data run ([`OffWorker`]); taken before a transaction
    /// borrows the context.
    pub(crate) fn off_worker(&self) -> OffWorker<'s> {
        // A command in a pipeline group stays: other connections' members of an open group
        // wait for this thread to commit it, which a thread that left the runtime would not do.
        OffWorker(self.group.is_none().then_some(self.host))
    }

    /// Locks the keys the table says `args` carries, in the selected database. A grouped
    /// command joins its group; if it cannot take its locks without waiting, the group is
    /// committed first and the command locks as usual.
    pub fn txn(&mut self, args: &[Bytes]) -> Txn<'a> {
        let db = self.session.db;
        let keys: smallvec::SmallVec<[(usize, &[u8]); 4]> = self
            .cmd
            .keys
            .of(args)
            .into_iter()
            .map(|k| (db, &k[..]))
            .collect();
        let ks = self.ks;
        if let Some(g) = self.group.as_mut() {
            if let Some(t) = ks.txn_in(g, &keys) {
                return t;
            }
            self.commit_group();
        }
        ks.txn(&keys)
    }

    /// Writes what the group holds and releases its locks.
    pub(crate) fn commit_group(&mut self) {
        if let Some(g) = self.group.as_mut() {
            match g.commit() {
                Ok(seq) => self.write_seq = self.write_seq.max(seq),
                Err(e) => self.group_failed = Some(e),
            }
        }
    }

    /// Runs `f` in `t` and commits it. The commit also happens when `f` fails with a reply
    /// error: handlers stage no write before their last check, so the only staged changes then
    /// are lazy-expiry deletes, which must reach disk. A storage failure discards the
    /// transaction instead, so a half-built batch never commits.
    pub fn finish<T>(
        &mut self,
        mut t: Txn<'a>,
        f: impl FnOnce(&mut Txn<'a>, usize) -> Result<T, CmdError>,
    ) -> Result<T, CmdError> {
        let out = f(&mut t, self.db());
        if matches!(out, Err(CmdError::Storage(_))) {
            return out;
        }
        self.commit(t)?;
        out
    }

    /// Commits a transaction and remembers its sequence for the durability wait. A group
    /// member's work goes to its group, which commits later.
    pub fn commit(&mut self, t: Txn<'a>) -> Result<(), CmdError> {
        if t.is_grouped() {
            if let Some(g) = self.group.as_mut() {
                g.absorb(t);
                return Ok(());
            }
        }
        let seq = t.commit()?;
        self.write_seq = self.write_seq.max(seq);
        Ok(())
    }

    /// Raises keyspace event `event` of `class` (a `notify::event_class` bit) for `key` in the
    /// selected db. Call it after the commit. One check when the class is off.
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.notify_db(class, event, self.session.db, key);
    }

    /// [`Ctx::notify`] for a key of another db (MOVE, COPY ... DB).
    pub fn notify_db(&self, class: u32, event: &str, db: usize, key: &[u8]) {
        let flags = self.ks.events().flags();
        if flags & class != 0 {
            crate::notify::publish(self.host, flags, db, event, key);
        }
    }

    /// Parses a database index argument.
    pub fn db_index(&self, arg: &[u8]) -> Result<usize, CmdError> {
        let n = crate::args::parse_i64_opt(arg)
            .ok_or_else(|| CmdError::err("value is not an integer or out of range"))?;
        if n < 0 || n as usize >= self.ks.databases() {
            return Err(CmdError::DbIndexOutOfRange);
        }
        Ok(n as usize)
    }
}

/// Runs `f` in a transaction over the keys the command table names in `args`, and commits it
/// (see [`Ctx::finish`]). Every family's handlers go through it.
pub(crate) fn with_txn<'a, T>(
    ctx: &mut Ctx<'a, '_>,
    args: &[Bytes],
    f: impl FnOnce(&mut Txn<'a>, usize) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let t = ctx.txn(args);
    ctx.finish(t, f)
}
