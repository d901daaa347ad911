//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO and CLIENT.

use bytes::Bytes;
use strata_resp::Reply;

use crate::args::{is, parse_i64_opt, text};
use crate::ctx::{Ctx, KillFilter};
use crate::error::{CmdError, CmdResult};
use crate::table::{cmd, container, flags::*, CommandDef, Keys};

/// The Redis version Strata's semantics follow; clients check it for feature support.
pub const REDIS_VERSION: &str = "7.2.4";

/// # Format
/// `PING [message]`
fn ping(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(CmdError::Arity("ping".into())),
    }
}

fn echo(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(args[1].clone()))
}

fn quit(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.session.close_after_reply = true;
    Ok(Reply::ok())
}

fn reset(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    let s = &mut *ctx.session;
    s.db = 0;
    s.resp = 2;
    s.name = None;
    s.no_evict = false;
    s.monitor = false;
    s.reply_off = false;
    s.reply_skip = false;
    crate::acl::reset_session(ctx.host, s);
    Ok(Reply::simple("RESET"))
}

fn select(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ctx.session.db = ctx.db_index(&args[1])?;
    Ok(Reply::ok())
}

/// Checks a user and password against the ACL users (`requirepass` is the default user's).
fn check_auth(ctx: &mut Ctx<'_, '_>, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    crate::acl::authenticate(ctx, user, pass)
}

/// # Format
/// `AUTH [username] password`
fn auth(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {
            if crate::acl::default_nopass(ctx.host) {
                return Err(CmdError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            check_auth(ctx, b"default", &args[1])?;
        }
        3 => check_auth(ctx, &args[1], &args[2])?,
        _ => return Err(CmdError::Syntax),
    }
    Ok(Reply::ok())
}

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut i = 1;
    if let Some(v) = args.get(1) {
        let ver = parse_i64_opt(v)
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        if ver != 2 {
            // RESP3 is not spoken yet; Redis answers versions it lacks with NOPROTO.
            return Err(CmdError::Other(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
        i = 2;
    }
    let mut name = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(&args[i], "AUTH") && more >= 2 {
            check_auth(ctx, &args[i + 1], &args[i + 2])?;
            i += 3;
        } else if is(&args[i], "SETNAME") && more >= 1 {
            name = Some(valid_name(&args[i + 1])?);
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                text(&args[i])
            )));
        }
    }
    if !ctx.session.authenticated {
        return Err(CmdError::Other("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if let Some(n) = name {
        ctx.session.name = n;
    }
    ctx.session.resp = 2;
    Ok(Reply::Array(vec![
        Reply::bulk("server"),
        Reply::bulk("redis"),
        Reply::bulk("version"),
        Reply::bulk(REDIS_VERSION),
        Reply::bulk("proto"),
        Reply::Int(2),
        Reply::bulk("id"),
        Reply::Int(ctx.session.id as i64),
        Reply::bulk("mode"),
        Reply::bulk("standalone"),
        Reply::bulk("role"),
        Reply::bulk("master"),
        Reply::bulk("modules"),
        Reply::Array(vec![]),
    ]))
}

/// Redis allows names of printable ASCII without spaces; an empty name clears it.
fn valid_name(n: &Bytes) -> Result<Option<Bytes>, CmdError> {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(if n.is_empty() { None } else { Some(n.clone()) })
}

fn client_id(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::int(ctx.session.id)
}

fn client_setname(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ctx.session.name = valid_name(&args[2])?;
    Ok(Reply::ok())
}

fn client_getname(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    Ok(ctx.session.name.clone().map_or(Reply::Null, Reply::Bulk))
}

/// # Format
/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`
fn client_list(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ctx.host.client_update(ctx.session, "client|list");
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "TYPE") && i + 1 < args.len() {
            let t = &args[i + 1];
            if !["normal", "master", "replica", "pubsub", "slave"]
                .iter()
                .any(|k| is(t, k))
            {
                return Err(CmdError::err(format!("Unknown client type '{}'", text(t))));
            }
            if !is(t, "normal") {
                return Ok(Reply::bulk(""));
            }
            i += 2;
        } else if is(&args[i], "ID") && i + 1 < args.len() {
            let mut v = Vec::new();
            for a in &args[i + 1..] {
                match parse_i64_opt(a) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return Err(CmdError::err("Invalid client ID")),
                }
            }
            ids = Some(v);
            i = args.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(Reply::bulk(ctx.host.client_list(ids.as_deref())))
}

fn client_info(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.host.client_update(ctx.session, "client|info");
    Ok(Reply::bulk(ctx.host.client_list(Some(&[ctx.session.id]))))
}

/// # Format
/// `CLIENT KILL ip:port` or `CLIENT KILL <ID id|ADDR ip:port|LADDR ip:port|USER name|SKIPME yes/no> ...`
fn client_kill(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 3 {
        let f = KillFilter {
            addr: Some(text(&args[2])),
            skip_me: false,
            ..Default::default()
        };
        return match ctx.host.client_kill(ctx.session.id, &f) {
            0 => Err(CmdError::err("No such client")),
            _ => Ok(Reply::ok()),
        };
    }
    let mut f = KillFilter {
        skip_me: true,
        ..Default::default()
    };
    let mut i = 2;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        let key = &args[i];
        if is(key, "ID") {
            match parse_i64_opt(v) {
                Some(n) if n > 0 => f.id = Some(n as u64),
                _ => return Err(CmdError::err("client-id should be greater than 0")),
            }
        } else if is(key, "ADDR") {
            f.addr = Some(text(v));
        } else if is(key, "LADDR") {
            f.laddr = Some(text(v));
        } else if is(key, "USER") {
            if ctx.host.acl().get(&text(v)).is_none() {
                return Err(CmdError::err(format!("No such user '{}'", text(v))));
            }
            f.user = Some(text(v));
        } else if is(key, "MAXAGE") {
            match parse_i64_opt(v) {
                Some(n) if n >= 0 => f.max_age = Some(n as u64),
                _ => return Err(CmdError::NotInteger),
            }
        } else if is(key, "SKIPME") {
            f.skip_me = match () {
                _ if is(v, "yes") => true,
                _ if is(v, "no") => false,
                _ => return Err(CmdError::Syntax),
            };
        } else if is(key, "TYPE") {
            let kind = text(v).to_ascii_lowercase();
            f.kind = Some(match kind.as_str() {
                "normal" | "pubsub" | "master" => kind,
                "replica" | "slave" => "replica".into(),
                _ => return Err(CmdError::err(format!("Unknown client type '{}'", text(v)))),
            });
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    crate::int(ctx.host.client_kill(ctx.session.id, &f))
}

/// # Format
/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`
fn client_unblock(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::err(
            "unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
        ));
    }
    let id = parse_i64_opt(&args[2]).ok_or(CmdError::NotInteger)?;
    let error = match args.get(3) {
        None => false,
        Some(m) if is(m, "TIMEOUT") => false,
        Some(m) if is(m, "ERROR") => true,
        Some(_) => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let done = u64::try_from(id).is_ok_and(|id| ctx.host.client_unblock(id, error));
    crate::int(i64::from(done))
}

/// # Format
/// `CLIENT PAUSE timeout [WRITE|ALL]`
fn client_pause(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let ms = parse_i64_opt(&args[2])
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let all = match args.len() {
        3 => true,
        4 if is(&args[3], "ALL") => true,
        4 if is(&args[3], "WRITE") => false,
        4 => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => return Err(CmdError::Syntax),
    };
    ctx.host.client_pause(ms as u64, all);
    Ok(Reply::ok())
}

fn client_unpause(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.host.client_unpause();
    Ok(Reply::ok())
}

/// # Format
/// `CLIENT REPLY ON|OFF|SKIP`: the connection drops the replies OFF and SKIP ask it to.
fn client_reply(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let s = &mut *ctx.session;
    if is(&args[2], "ON") {
        s.reply_off = false;
        s.reply_skip = false;
    } else if is(&args[2], "OFF") {
        s.reply_off = true;
    } else if is(&args[2], "SKIP") {
        s.reply_skip = !s.reply_off;
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(Reply::ok())
}

fn client_no_evict(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ctx.session.no_evict = on_off(&args[2])?;
    Ok(Reply::ok())
}

fn on_off(v: &[u8]) -> Result<bool, CmdError> {
    if is(v, "on") {
        Ok(true)
    } else if is(v, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_setinfo(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let v = &args[3];
    if v.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            text(&args[2]).to_ascii_lowercase()
        )));
    }
    if is(&args[2], "LIB-NAME") {
        ctx.session.lib_name = Some(v.clone());
    } else if is(&args[2], "LIB-VER") {
        ctx.session.lib_ver = Some(v.clone());
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            text(&args[2])
        )));
    }
    Ok(Reply::ok())
}

fn client_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "    * MAXAGE <maxage>",
        "      Kill connections older than the specified age.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect the current client connection from eviction.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "HELP",
        "    Print this help.",
    ])
}

/// A HELP reply: an array of status lines.
pub(crate) fn help(lines: &[&'static str]) -> CmdResult {
    Ok(Reply::Array(
        lines.iter().map(|&l| Reply::simple(l)).collect(),
    ))
}

static CLIENT: &[CommandDef] = &[
    cmd(
        "client|id",
        2,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        client_id,
    ),
    cmd(
        "client|setname",
        3,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "2.6.9",
        "Sets the connection name.",
        client_setname,
    ),
    cmd(
        "client|getname",
        2,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        client_getname,
    ),
    cmd(
        "client|list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "2.4.0",
        "Lists open connections.",
        client_list,
    ),
    cmd(
        "client|info",
        2,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        client_info,
    ),
    cmd(
        "client|kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "2.4.0",
        "Terminates open connections.",
        client_kill,
    ),
    cmd(
        "client|unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
        client_unblock,
    ),
    cmd(
        "client|pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "3.0.0",
        "Suspends commands processing.",
        client_pause,
    ),
    cmd(
        "client|unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
        client_unpause,
    ),
    cmd(
        "client|reply",
        3,
        NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
        client_reply,
    ),
    cmd(
        "client|no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        client_no_evict,
    ),
    cmd(
        "client|setinfo",
        4,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
        client_setinfo,
    ),
    cmd(
        "client|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        client_help,
    ),
];

/// The connection family's registration block.
pub static COMMANDS: &[CommandDef] = &[
    cmd(
        "ping",
        -1,
        FAST,
        Keys::NONE,
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping,
    ),
    cmd(
        "echo",
        2,
        FAST,
        Keys::NONE,
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    cmd(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        Keys::NONE,
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit,
    ),
    cmd(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        Keys::NONE,
        "connection",
        "6.2.0",
        "Resets the connection.",
        reset,
    ),
    cmd(
        "select",
        2,
        LOADING | STALE | FAST,
        Keys::NONE,
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select,
    ),
    cmd(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        Keys::NONE,
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    cmd(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        Keys::NONE,
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        hello,
    ),
    container(
        "client",
        0,
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        CLIENT,
    ),
];

#[cfg(test)]
mod tests {
    use crate::tests::{bulk, err, ok, Env};
    use strata_resp::Reply;

    #[test]
    fn basics() {
        let mut env = Env::new();
        assert_eq!(env.run(&["PING"]), Reply::simple("PONG"));
        assert_eq!(env.run(&["ping", "hi"]), bulk("hi"));
        assert_eq!(
            env.run(&["PING", "a", "b"]),
            err("ERR wrong number of arguments for 'ping' command")
        );
        assert_eq!(env.run(&["ECHO", "x"]), bulk("x"));
        assert_eq!(env.run(&["SELECT", "15"]), ok());
        assert_eq!(
            env.run(&["SELECT", "16"]),
            err("ERR DB index is out of range")
        );
        assert_eq!(
            env.run(&["SELECT", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            env.run(&["CLIENT", "SETNAME", "a b"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(env.run(&["CLIENT", "SETNAME", "app"]), ok());
        assert_eq!(env.run(&["CLIENT", "GETNAME"]), bulk("app"));
        assert_eq!(
            env.run(&["CLIENT", "NOPE"]),
            err("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")
        );
        assert_eq!(
            env.run(&["CLIENT", "GETNAME", "x"]),
            err("ERR wrong number of arguments for 'client|getname' command")
        );
        assert_eq!(env.run(&["RESET"]), Reply::simple("RESET"));
        assert_eq!(env.run(&["CLIENT", "GETNAME"]), Reply::Null);
        assert_eq!(
            env.run(&["HELLO", "3"]),
            err("NOPROTO unsupported protocol version")
        );
        assert!(matches!(env.run(&["HELLO", "2"]), Reply::Array(a) if a.len() == 14));
        assert_eq!(env.run(&["AUTH", "x"]), err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    }
}
