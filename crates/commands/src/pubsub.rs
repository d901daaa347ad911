//! Pub/sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, SSUBSCRIBE,
//! SUNSUBSCRIBE, SPUBLISH and PUBSUB.
//!
//! The registry and the delivery of messages live in the server (behind [`Host`]); these
//! handlers parse arguments and build Redis's confirmation replies. A (un)subscribe with several
//! channels answers one confirmation array per channel: all but the last go to
//! `Session::pre_replies`, which the connection sends before the command's own reply.
//!
//! In RESP2 a client with any subscription is in subscribed mode, where the connection allows
//! only the commands [`subscribed_mode_reply`] lets through.

use bytes::Bytes;
use strata_resp::Reply;

use crate::ctx::{Ctx, Host, Session, SubKind};
use crate::error::CmdResult;
use crate::table::flags::{FAST, LOADING, NOSCRIPT, PUBSUB, STALE};
use crate::table::{cmd, container, CommandDef, Keys};
use crate::CmdError;

/// The commands a RESP2 client in subscribed mode may run.
const ALLOWED: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

/// For a RESP2 client in subscribed mode: the reply that replaces running `args` (PING's
/// `pong` array, or the error for a command not allowed there), or None to run it normally
/// (allowed commands, and requests whose resolution fails, which `execute` answers).
pub fn subscribed_mode_reply(session: &mut Session, args: &[Bytes]) -> Option<Reply> {
    let def = crate::resolve(session, args).ok()?;
    if def.name == "ping" {
        let arg = args.get(1).cloned().unwrap_or_default();
        return Some(Reply::Array(vec![
            Reply::bulk(Bytes::from_static(b"pong")),
            Reply::Bulk(arg),
        ]));
    }
    if ALLOWED.contains(&def.name) {
        return None;
    }
    let mut full = def.name.to_string();
    if !def.subcommands.is_empty() {
        let sub = args.get(1)?;
        let found = def.subcommands.iter().find(|c| {
            c.name
                .split_once('|')
                .is_some_and(|(_, s)| sub.eq_ignore_ascii_case(s.as_bytes()))
        })?;
        full = found.name.to_string();
    }
    Some(Reply::error(format!(
        "ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )))
}

fn confirm(kind: &'static [u8], name: Option<Bytes>, count: usize) -> Reply {
    Reply::Array(vec![
        Reply::bulk(Bytes::from_static(kind)),
        name.map_or(Reply::Null, Reply::Bulk),
        Reply::Int(count as i64),
    ])
}

/// Turns one confirmation per channel into pre-replies plus the command's reply.
fn answer(ctx: &mut Ctx<'_, '_>, mut replies: Vec<Reply>) -> CmdResult {
    let last = replies.pop().unwrap_or(Reply::NullArray);
    ctx.session.pre_replies.extend(replies);
    Ok(last)
}

fn sub(ctx: &mut Ctx<'_, '_>, args: &[Bytes], kind: SubKind, word: &'static [u8]) -> CmdResult {
    let id = ctx.session.id;
    let replies = args[1..]
        .iter()
        .map(|name| {
            let n = ctx.host.subscribe(id, kind, name);
            confirm(word, Some(name.clone()), n)
        })
        .collect();
    answer(ctx, replies)
}

fn unsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes], kind: SubKind, word: &'static [u8]) -> CmdResult {
    let id = ctx.session.id;
    let host: &dyn Host = ctx.host;
    let names = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        host.subscriptions(id, kind)
    };
    if names.is_empty() {
        let n = match kind {
            SubKind::Shard => host.subscriptions(id, SubKind::Shard).len(),
            _ => {
                host.subscriptions(id, SubKind::Channel).len()
                    + host.subscriptions(id, SubKind::Pattern).len()
            }
        };
        return Ok(confirm(word, None, n));
    }
    let replies = names
        .into_iter()
        .map(|name| {
            let n = host.unsubscribe(id, kind, &name);
            confirm(word, Some(name), n)
        })
        .collect();
    answer(ctx, replies)
}

fn subscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sub(ctx, args, SubKind::Channel, b"subscribe")
}

fn psubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sub(ctx, args, SubKind::Pattern, b"psubscribe")
}

fn ssubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sub(ctx, args, SubKind::Shard, b"ssubscribe")
}

fn unsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    unsub(ctx, args, SubKind::Channel, b"unsubscribe")
}

fn punsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    unsub(ctx, args, SubKind::Pattern, b"punsubscribe")
}

fn sunsubscribe(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    unsub(ctx, args, SubKind::Shard, b"sunsubscribe")
}

fn publish(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    crate::int(ctx.host.publish(&args[1], &args[2]))
}

fn spublish(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    crate::int(ctx.host.spublish(&args[1], &args[2]))
}

fn channels_of(ctx: &mut Ctx<'_, '_>, args: &[Bytes], kind: SubKind) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let pattern = args.get(2).map(|p| &p[..]);
    Ok(Reply::Array(
        ctx.host
            .pubsub_channels(kind, pattern)
            .into_iter()
            .map(Reply::Bulk)
            .collect(),
    ))
}

fn numsub_of(ctx: &mut Ctx<'_, '_>, args: &[Bytes], kind: SubKind) -> CmdResult {
    let mut out = Vec::with_capacity(2 * args.len().saturating_sub(2));
    for c in &args[2..] {
        out.push(Reply::Bulk(c.clone()));
        out.push(Reply::Int(ctx.host.pubsub_numsub(kind, c) as i64));
    }
    Ok(Reply::Array(out))
}

fn pubsub_channels(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    channels_of(ctx, args, SubKind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    channels_of(ctx, args, SubKind::Shard)
}

fn pubsub_numsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, SubKind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    numsub_of(ctx, args, SubKind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::int(ctx.host.pubsub_numpat())
}

fn pubsub_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::connection::help(&[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ])
}

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTRO: u32 = PUBSUB | LOADING | STALE;

static PUBSUB_SUBS: &[CommandDef] = &[
    cmd(
        "pubsub|channels",
        -2,
        INTRO,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        pubsub_channels,
    ),
    cmd(
        "pubsub|numpat",
        2,
        INTRO,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        pubsub_numpat,
    ),
    cmd(
        "pubsub|numsub",
        -2,
        INTRO,
        Keys::NONE,
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        pubsub_numsub,
    ),
    cmd(
        "pubsub|shardchannels",
        -2,
        INTRO,
        Keys::NONE,
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        pubsub_shardchannels,
    ),
    cmd(
        "pubsub|shardnumsub",
        -2,
        INTRO,
        Keys::NONE,
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        pubsub_shardnumsub,
    ),
    cmd(
        "pubsub|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "pubsub",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        pubsub_help,
    ),
];

/// Shard channels sit where keys do (Redis's key specs), for cluster slot routing.
const SHARD_ALL: Keys = Keys::ALL;

/// Registration block.
pub static COMMANDS: &[CommandDef] = &[
    cmd(
        "subscribe",
        -2,
        SUB,
        Keys::NONE,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    cmd(
        "unsubscribe",
        -1,
        SUB,
        Keys::NONE,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    ),
    cmd(
        "psubscribe",
        -2,
        SUB,
        Keys::NONE,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe,
    ),
    cmd(
        "punsubscribe",
        -1,
        SUB,
        Keys::NONE,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe,
    ),
    cmd(
        "publish",
        3,
        INTRO | FAST,
        Keys::NONE,
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    cmd(
        "ssubscribe",
        -2,
        SUB,
        SHARD_ALL,
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe,
    ),
    cmd(
        "sunsubscribe",
        -1,
        SUB,
        SHARD_ALL,
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        sunsubscribe,
    ),
    cmd(
        "spublish",
        3,
        INTRO | FAST,
        Keys::ONE,
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        spublish,
    ),
    container(
        "pubsub",
        0,
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        PUBSUB_SUBS,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn subscribed_mode_filter() {
        let mut s = Session::new(1, true);
        assert_eq!(
            subscribed_mode_reply(&mut s, &args(&["SUBSCRIBE", "a"])),
            None
        );
        assert_eq!(subscribed_mode_reply(&mut s, &args(&["quit"])), None);
        assert_eq!(subscribed_mode_reply(&mut s, &args(&["RESET"])), None);
        // Unknown commands and arity errors are left to `execute`.
        assert_eq!(subscribed_mode_reply(&mut s, &args(&["NOPE"])), None);
        assert_eq!(subscribed_mode_reply(&mut s, &args(&["GET"])), None);
        assert_eq!(
            subscribed_mode_reply(&mut s, &args(&["PING", "x"])),
            Some(Reply::Array(vec![
                Reply::bulk(Bytes::from_static(b"pong")),
                Reply::bulk(Bytes::from_static(b"x")),
            ]))
        );
        assert_eq!(
            subscribed_mode_reply(&mut s, &args(&["OBJECT", "ENCODING", "k"])),
            Some(Reply::error(
                "ERR Can't execute 'object|encoding': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ))
        );
    }
}
