//! Group commit of pipelined commands (see `strata_keyspace::Group` for the mechanism and what
//! keeps it correct).
//!
//! The connection hands over a run of consecutive requests that [`groupable`] admitted. Each
//! still runs as a command of its own (its checks, its handler, its reply), but the storage
//! write of the run happens once, at the end, before any reply leaves. A command joins the group
//! only when nothing else could observe the delay between its commit and the group's:
//! - the command is flagged `GROUP`: it touches only its keys' records, through its transaction;
//! - no keyspace events are enabled (commands publish theirs after their commit, which a group
//!   would move before the write);
//! - there is no data cap (the cap's check counts committed bytes, and its eviction takes locks);
//! - the client is not inside MULTI.
//!
//! Anything else in the run first commits the group, then runs as usual.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_keyspace::{Keyspace, StorageError};
use strata_resp::Reply;

use crate::ctx::{Ctx, Host, Session};
use crate::table::{flags, CommandDef};

/// Whether `def` may share a storage commit with its neighbours in a pipeline right now.
pub fn groupable(ks: &Keyspace, session: &Session, def: &CommandDef) -> bool {
    def.has(flags::GROUP)
        && ks.events().flags() == 0
        && ks.cap_settings().0 == 0
        && session.multi.queued() < 0
}

/// The replies of a run, each with the time its command took, and the storage sequence to wait
/// for; or why the run's storage write failed, when none of its replies may be sent.
pub type RunResult = Result<(Vec<(Reply, Duration)>, u64), StorageError>;

/// Runs `run` (resolved requests, in order) with one storage write for the commands that may
/// share it. Every command's reply is final only when this returns `Ok`.
pub fn execute_group(
    ks: &Keyspace,
    session: &mut Session,
    host: &dyn Host,
    run: &[(&[Bytes], &'static CommandDef)],
) -> RunResult {
    let mut replies = Vec::with_capacity(run.len());
    let Some(&(_, first)) = run.first() else {
        return Ok((replies, 0));
    };
    let mut ctx = Ctx {
        ks,
        session,
        host,
        cmd: first,
        write_seq: 0,
        group: None,
        group_failed: None,
    };
    let mut group = Some(ks.group());
    let mut started = Instant::now();
    for &(args, def) in run {
        // The group rides in the context while commands may join it, and waits outside it,
        // committed and holding nothing, while one that may not runs.
        if groupable(ks, ctx.session, def) {
            if ctx.group.is_none() {
                ctx.group = group.take();
            }
        } else if ctx.group.is_some() {
            ctx.commit_group();
            group = ctx.group.take();
        }
        let reply = crate::run(&mut ctx, args, def);
        let now = Instant::now();
        replies.push((reply, now - started));
        started = now;
    }
    ctx.commit_group();
    if let Some(e) = ctx.group_failed {
        return Err(e);
    }
    Ok((replies, ctx.write_seq))
}
