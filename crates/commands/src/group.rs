//! Group commit of pipelined commands (see `strata_keyspace::Group` for the mechanism and what
//! keeps it correct).
//!
//! The connection hands over a run of consecutive requests that [`groupable`] admitted. Each
//! still runs as a command of its own (its checks, its handler, its reply), but the storage
//! write of the run happens once, at the end, before any reply leaves. A command joins the group
//! only when nothing else could observe the delay between its commit and the group's:
//! - the command is flagged `GROUP`: it touches only its keys' records and their collections'
//!   elements, through its transaction (which reads the elements the group's earlier members
//!   staged);
//! - no keyspace events are enabled (commands publish theirs after their commit, which a group
//!   would move before the write);
//! - there is no data cap (the cap's check counts committed bytes, and its eviction takes locks);
//! - the client is not inside MULTI.
//!
//! Anything else in the run first commits the group, then runs as usual.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_keyspace::{Keyspace, StorageError, Ticket};
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

/// The replies of a run, each with the time its command took, the storage sequence to wait
/// for, and the ticket of the group left open on the worker with the run's last commands
/// (settle it before sending the replies); or why the run's storage write failed, when none of
/// its replies may be sent.
pub type RunResult = Result<(Vec<(Reply, Duration)>, u64, Option<Ticket>), StorageError>;

/// Runs `run` (resolved requests, in order) with one storage write for the commands that may
/// share it. Every command's reply is final only when this returns `Ok` and its ticket, if
/// any, settled `Ok`.
///
/// With `leave_open` (the run ends what the connection read, so the connection will wait only
/// for this write before replying) the group stays open on the worker for the connections that
/// run next there (see `strata_keyspace::Group`); otherwise it commits before this returns, so
/// that the connection's next command sees the run's writes.
pub fn execute_group(
    ks: &Arc<Keyspace>,
    session: &mut Session,
    host: &dyn Host,
    run: &[(&[Bytes], &'static CommandDef)],
    leave_open: bool,
) -> RunResult {
    let Some(&(_, first)) = run.first() else {
        return Ok((Vec::new(), 0, None));
    };
    let (out, ticket) = ks.with_worker_group(|ks, slot| {
        let mut replies = Vec::with_capacity(run.len());
        let mut ctx = Ctx {
            ks,
            session,
            host,
            cmd: first,
            write_seq: 0,
            group: None,
            group_failed: None,
        };
        // The worker's open group, joined by earlier connections' commands, or a new one.
        let mut group = Some(slot.take().unwrap_or_else(|| ks.group()));
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
        if !leave_open || ctx.group_failed.is_some() {
            ctx.commit_group();
        }
        *slot = ctx.group.take().or(group);
        match ctx.group_failed {
            Some(e) => Err(e),
            None => Ok((replies, ctx.write_seq)),
        }
    });
    let (replies, seq) = out?;
    Ok((replies, seq, ticket))
}
