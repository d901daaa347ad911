//! Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//!
//! # Mechanics
//!
//! - **Queueing.** After MULTI, [`intercept`] (called by `execute` once the command resolved and
//!   passed the arity, auth and data-cap checks) queues every command except EXEC, DISCARD,
//!   MULTI, WATCH, QUIT and RESET, and answers `+QUEUED`. A command refused before it could be
//!   queued (unknown, wrong arity, `-OOM`...) flags the transaction ([`flag`]), and EXEC then
//!   answers `-EXECABORT`.
//! - **Isolation.** EXEC takes the keyspace exclusively for its thread
//!   (`Keyspace::isolated`): every other command waits at the keyspace gate, and the queued
//!   commands, run synchronously through `execute`, take no locks of their own. Blocking
//!   commands behave as their non-blocking forms (their timeout reply at once).
//! - **WATCH.** Each watched key registers a *shared* waiter in the keyspace's readiness
//!   registry (`strata_keyspace::Ready`); every committed change of the key (a write by any
//!   client, lazy or active expiry, eviction, FLUSHDB/FLUSHALL/SWAPDB of a db where it exists)
//!   fires it. WATCH also notes the key's expiry, so that EXEC sees a key whose TTL simply
//!   passed as changed, and whether the key was already expired (Redis 7.0's
//!   `watchedKey.expired`: removing such a key is no change). The key is read from disk, so
//!   cold keys are watched like hot ones. EXEC checks the waiters under isolation; UNWATCH,
//!   EXEC, DISCARD and RESET unregister them, and a closed connection's are forgotten by id.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use strata_keyspace::{Keyspace, Waiter};
use strata_resp::Reply;

use crate::ctx::{Ctx, Session};
use crate::error::{CmdError, CmdResult};
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// A client's MULTI state and watched keys.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Between MULTI and EXEC/DISCARD.
    active: bool,
    /// A command was refused while queuing: EXEC aborts.
    dirty: bool,
    /// EXEC is running the queue: the queue-time checks do not apply again.
    pub(crate) executing: bool,
    /// The queued commands, copied out of the read buffer.
    queue: Vec<Vec<Bytes>>,
    /// WATCHed keys.
    watches: Vec<Watch>,
}

impl MultiState {
    /// CLIENT LIST's `multi`: the number of queued commands inside MULTI, -1 outside.
    pub fn queued(&self) -> i64 {
        if self.active {
            self.queue.len() as i64
        } else {
            -1
        }
    }
}

/// One watched key.
#[derive(Debug)]
struct Watch {
    db: usize,
    key: Bytes,
    waiter: Arc<Waiter>,
    /// The key's expiry when it was watched (0: none, or absent).
    expire_ms: u64,
    /// Already past its TTL (but not yet removed) when it was watched.
    expired: bool,
}

/// Flags the transaction of a client in MULTI after a command was refused while queuing.
pub(crate) fn flag(session: &mut Session) {
    if session.multi.active {
        session.multi.dirty = true;
    }
}

/// Commands that run at once even inside MULTI (Redis's `processCommand`).
fn runs_in_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Called by `execute` for every resolved command: queues it inside MULTI (the `+QUEUED`
/// reply), and clears the transaction state before RESET. None: run the command.
pub(crate) fn intercept(
    ks: &Keyspace,
    session: &mut Session,
    def: &'static CommandDef,
    args: &[Bytes],
) -> Option<Reply> {
    if def.name == "reset" {
        discard_state(ks, session);
        return None;
    }
    if !session.multi.active {
        return None;
    }
    // Over the cap, Redis 7.0 refuses every command while queuing (not only denyoom ones,
    // which `execute` already checked with their size), but never EXEC, DISCARD or QUIT.
    let exempt = matches!(def.name, "exec" | "discard" | "quit");
    if !exempt && !def.has(DENYOOM) && ks.check_cap(0).is_err() {
        flag(session);
        return Some(CmdError::Oom.reply());
    }
    if runs_in_multi(def.name) {
        return None;
    }
    let copy = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    session.multi.queue.push(copy);
    Some(Reply::simple("QUEUED"))
}

/// Leaves MULTI and forgets the queue and the watches.
fn discard_state(ks: &Keyspace, session: &mut Session) {
    let m = &mut session.multi;
    m.active = false;
    m.dirty = false;
    m.queue = Vec::new();
    unwatch_all(ks, m);
}

fn unwatch_all(ks: &Keyspace, m: &mut MultiState) {
    for w in m.watches.drain(..) {
        ks.ready().unregister(&w.waiter, &[(w.db, w.key.clone())]);
    }
}

fn multi(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    let m = &mut ctx.session.multi;
    if m.active {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    m.active = true;
    m.dirty = false;
    m.queue.clear();
    Ok(Reply::ok())
}

fn discard(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    if !ctx.session.multi.active {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    discard_state(ctx.ks, ctx.session);
    Ok(Reply::ok())
}

fn watch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if ctx.session.multi.active {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.db();
    let ks = ctx.ks;
    let phys = ks.storage().phys(db);
    // A key already watched is not watched twice. A set, not a search of the list per key:
    // WATCH of 50,000 keys took 1.3 s (Redis 7.0's search takes 6.8 s).
    let mut watched: HashSet<(usize, Bytes)> = (ctx.session.multi.watches.iter())
        .map(|w| (w.db, w.key.clone()))
        .collect();
    for key in &args[1..] {
        let m = &mut ctx.session.multi;
        if !watched.insert((db, key.clone())) {
            continue;
        }
        let key = Bytes::copy_from_slice(key);
        let waiter = Waiter::new(ctx.session.id, false);
        // Registered before the read: a change racing with WATCH is seen as a change.
        ks.ready().register(&waiter, &[(db, key.clone())]);
        let w = Watch {
            db,
            key,
            waiter,
            expire_ms: 0,
            expired: false,
        };
        let rec = match phys {
            Some(p) => ks.storage().get(p, &w.key),
            None => Ok(None),
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                ks.ready().unregister(&w.waiter, &[(w.db, w.key.clone())]);
                return Err(e.into());
            }
        };
        let mut w = w;
        if let Some(r) = rec {
            w.expire_ms = r.expire_ms;
            w.expired = !strata_keyspace::live(&r, strata_keyspace::now_ms());
        }
        m.watches.push(w);
    }
    Ok(Reply::ok())
}

fn unwatch(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.ks, &mut ctx.session.multi);
    Ok(Reply::ok())
}

/// Whether a watched key changed since WATCH. Called while the keyspace is isolated.
fn touched(ks: &Keyspace, watches: &[Watch]) -> bool {
    let now = strata_keyspace::now_ms();
    watches.iter().any(|w| {
        if w.waiter.take_fired() {
            if !w.expired {
                return true;
            }
            // A key that was already expired: its removal is no change, anything else is.
            let st = ks.storage();
            let absent = st
                .phys(w.db)
                .is_none_or(|p| matches!(st.get(p, &w.key), Ok(None)));
            return !absent;
        }
        !w.expired && w.expire_ms != 0 && w.expire_ms <= now
    })
}

fn exec(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    if !ctx.session.multi.active {
        return Err(CmdError::err("EXEC without MULTI"));
    }
    let queue = std::mem::take(&mut ctx.session.multi.queue);
    let dirty = ctx.session.multi.dirty;
    // Redis rejects EXEC itself at the cap when it would run a denyoom command.
    let mut denyoom = false;
    let mut growth = 0u64;
    for args in &queue {
        if crate::lookup(&args[0]).is_some_and(|d| d.has(DENYOOM)) {
            denyoom = true;
            growth += args[1..].iter().map(|a| a.len() as u64).sum::<u64>();
        }
    }
    if denyoom && ctx.ks.check_cap(growth).is_err() {
        discard_state(ctx.ks, ctx.session);
        return Err(CmdError::Other(format!(
            "EXECABORT Transaction discarded because of: {}",
            CmdError::Oom
        )));
    }
    if dirty {
        discard_state(ctx.ks, ctx.session);
        return Err(CmdError::Other(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    let ks = ctx.ks;
    let _iso = ks.isolated();
    let changed = touched(ks, &ctx.session.multi.watches);
    discard_state(ks, ctx.session);
    if changed {
        return Ok(Reply::NullArray);
    }
    ctx.session.multi.executing = true;
    let mut replies = Vec::with_capacity(queue.len());
    for args in &queue {
        let (mut reply, seq) = crate::execute(ks, ctx.session, ctx.host, args);
        ctx.write_seq = ctx.write_seq.max(seq);
        if let Some(b) = ctx.session.block.take() {
            // A client in a transaction cannot block: the command's "nothing there" reply.
            let name = args[0].to_ascii_lowercase();
            reply = if name == b"brpoplpush" || name == b"blmove" {
                Reply::Null
            } else {
                b.timeout_reply
            };
        }
        replies.push(reply);
    }
    ctx.session.multi.executing = false;
    Ok(Reply::Array(replies))
}

/// The transactions family's registration block.
pub static COMMANDS: &[CommandDef] = &[
    cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Keys::NONE,
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        multi,
    ),
    cmd(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        Keys::NONE,
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    ),
    cmd(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Keys::NONE,
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        discard,
    ),
    cmd(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Keys::ALL,
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Keys::NONE,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];
