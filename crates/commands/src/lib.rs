//! Strata's commands: the command table and one module per command family.
//!
//! Each family file ends with a registration block (`pub static COMMANDS`), so a family reads
//! whole in one file and the table is data that `COMMAND INFO` and `COMMAND DOCS` are built from.
//! Handlers parse their arguments, then apply them through one keyspace transaction.

mod acl;
pub mod args;
mod blocking;
mod cfloat;
mod connection;
mod ctx;
pub mod error;
pub mod glob;
mod group;
mod hash;
mod keys;
mod list;
mod longdouble;
pub mod notify;
mod observe;
pub mod pubsub;
mod server;
mod set;
mod sort;
mod string;
pub mod table;
mod transaction;
mod zset;

use bytes::Bytes;
use strata_resp::Reply;

pub use acl::users::{Acl, User};
pub use acl::{load_file as acl_load_file, save_file as acl_save_file};
pub use connection::REDIS_VERSION;
pub use ctx::{Block, Ctx, Host, KillFilter, Session, SubKind};
pub use error::{CmdError, CmdResult};
pub use group::{execute_group, groupable, RunResult};
pub use table::{flags, lookup, CommandDef};

/// Redis's reply to an unknown command: the name and up to the first arguments, quoted.
pub fn unknown_command(args: &[Bytes]) -> CmdError {
    let clip = |b: &Bytes| String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned();
    let name = args.first().map(clip).unwrap_or_default();
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        rest.push_str(&format!("'{}' ", clip(a)));
    }
    CmdError::Other(format!(
        "ERR unknown command '{name}', with args beginning with: {rest}"
    ))
}

/// Resolves a command and checks its arity and the client's right to run it. Errors are the
/// replies Redis sends before running anything (also used by MULTI to queue commands).
pub fn resolve(session: &mut Session, args: &[Bytes]) -> Result<&'static CommandDef, CmdError> {
    let name = args.first().ok_or(CmdError::Syntax)?;
    let def = match session.last_def {
        Some(d) if name.eq_ignore_ascii_case(d.name.as_bytes()) => d,
        _ => lookup(name).ok_or_else(|| unknown_command(args))?,
    };
    session.last_def = Some(def);
    if !session.authenticated && !def.has(flags::NO_AUTH) {
        return Err(CmdError::NoAuth);
    }
    if !def.arity_ok(args.len()) {
        return Err(CmdError::Arity(def.name.to_string()));
    }
    acl::check(session, def, args)?;
    Ok(def)
}

/// Resolves a request as `execute` does: brings the session's ACL user up to date, then
/// [`resolve`]. The connection calls it first when it needs the command before running it
/// (CLIENT PAUSE, MONITOR, statistics), then [`execute_resolved`].
pub fn prepare(
    host: &dyn Host,
    session: &mut Session,
    args: &[Bytes],
) -> Result<&'static CommandDef, CmdError> {
    acl::refresh(host, session);
    resolve(session, args)
}

/// Runs one request and returns its reply. Never panics on client input.
pub fn execute(
    ks: &strata_keyspace::Keyspace,
    session: &mut Session,
    host: &dyn Host,
    args: &[Bytes],
) -> (Reply, u64) {
    let resolved = prepare(host, session, args);
    execute_resolved(ks, session, host, args, resolved)
}

/// Runs a request that [`prepare`] resolved (so the table lookup and the permission check are
/// done once per command).
pub fn execute_resolved(
    ks: &strata_keyspace::Keyspace,
    session: &mut Session,
    host: &dyn Host,
    args: &[Bytes],
    resolved: Result<&'static CommandDef, CmdError>,
) -> (Reply, u64) {
    let def = match resolved {
        Ok(d) => d,
        Err(e) => {
            if matches!(&e, CmdError::Other(m) if m.starts_with("NOPERM")) {
                acl::log_denial(host, session, args);
            }
            transaction::flag(session);
            return (e.reply(), 0);
        }
    };
    let mut ctx = Ctx {
        ks,
        session,
        host,
        cmd: def,
        write_seq: 0,
        group: None,
        group_failed: None,
    };
    let reply = run(&mut ctx, args, def);
    (reply, ctx.write_seq)
}

/// Runs a resolved command in `ctx`: the data-cap check, MULTI's queueing, then its handler.
pub(crate) fn run(ctx: &mut Ctx<'_, '_>, args: &[Bytes], def: &'static CommandDef) -> Reply {
    ctx.cmd = def;
    // EXEC's queued commands were checked when queued (and EXEC checks the cap once).
    if def.has(flags::DENYOOM) && !ctx.session.multi.executing {
        // What the command may add at most: its arguments, the keys and values it writes.
        let growth: u64 = args[1..].iter().map(|a| a.len() as u64).sum();
        if ctx.ks.check_cap(growth).is_err() {
            transaction::flag(ctx.session);
            return CmdError::Oom.reply();
        }
    }
    if let Some(r) = transaction::intercept(ctx.ks, ctx.session, def, args) {
        ctx.session.last_cmd = def.name;
        return r;
    }
    let reply = match (def.handler)(ctx, args) {
        Ok(r) => r,
        Err(e) => e.reply(),
    };
    ctx.session.last_cmd = def.name;
    reply
}

/// Handler of container commands: finds the subcommand and checks its arity.
pub(crate) fn dispatch_sub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let parent = ctx.cmd;
    let sub = &args[1];
    let Some(def) = parent.effective(args) else {
        return Err(CmdError::UnknownSubcommand {
            sub: String::from_utf8_lossy(sub).into_owned(),
            cmd: parent.name.to_ascii_uppercase(),
        });
    };
    if !def.arity_ok(args.len()) {
        return Err(CmdError::Arity(def.name.to_string()));
    }
    ctx.cmd = def;
    (def.handler)(ctx, args)
}

/// Integer reply helper.
pub(crate) fn int(n: impl TryInto<i64>) -> CmdResult {
    Ok(Reply::Int(n.try_into().unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests;
