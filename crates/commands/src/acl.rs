//! Access control: the ACL command family, and the glue that checks each command against the
//! session's user (see [`users`] for the store and the rules engine).

pub(crate) mod users;

use std::sync::Arc;

use bytes::Bytes;
use strata_resp::Reply;

use crate::args::{is, parse_i64_opt, text};
use crate::ctx::{Ctx, Host, Session};
use crate::error::{CmdError, CmdResult};
use crate::table::{self, cmd, container, flags::*, CommandDef, Keys};
use users::{Acl, Denied, User, CATEGORIES};

/// The store used by hosts that keep none of their own (unit tests).
pub(crate) fn fallback() -> &'static Acl {
    static A: std::sync::OnceLock<Acl> = std::sync::OnceLock::new();
    A.get_or_init(Acl::new)
}

/// Brings the session's user snapshot up to date when any user changed. A user that no longer
/// exists (ACL DELUSER, ACL LOAD) gets no permissions and the connection closes.
pub(crate) fn refresh(host: &dyn Host, session: &mut Session) {
    let acl = host.acl();
    let g = acl.generation();
    if session.acl_gen == g {
        return;
    }
    session.acl_gen = g;
    session.acl = Some(match acl.get(&session.user) {
        Some(u) => u,
        None => {
            session.close_after_reply = true;
            Arc::new(User::new(&session.user))
        }
    });
}

/// The definition whose permissions apply: the subcommand of a container.
fn effective(def: &'static CommandDef, args: &[Bytes]) -> Option<&'static CommandDef> {
    def.effective(args)
}

/// The permission check of `resolve`: nearly free for unrestricted users.
pub(crate) fn check(
    session: &Session,
    def: &'static CommandDef,
    args: &[Bytes],
) -> Result<(), CmdError> {
    match &session.acl {
        Some(u) if !u.unrestricted => match denial(u, def, args) {
            Some(d) => Err(CmdError::Other(d.message())),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn denial(u: &User, def: &'static CommandDef, args: &[Bytes]) -> Option<Denied> {
    let d = effective(def, args)?;
    u.check(d, args).err()
}

/// Records a refused command in the ACL log (called on the error path only).
pub(crate) fn log_denial(host: &dyn Host, session: &Session, args: &[Bytes]) {
    let Some(u) = &session.acl else { return };
    let Some(def) = args.first().and_then(|n| table::lookup(n)) else {
        return;
    };
    let Some(d) = denial(u, def, args) else {
        return;
    };
    let (reason, object) = match d {
        Denied::Command(c) => ("command", c),
        Denied::Key(k) => ("key", String::from_utf8_lossy(&k).into_owned()),
        Denied::Channel(c) => ("channel", String::from_utf8_lossy(&c).into_owned()),
    };
    host.acl().log(
        reason,
        "toplevel",
        object,
        session.user.clone(),
        client_info(host, session),
    );
}

fn client_info(host: &dyn Host, session: &Session) -> String {
    host.client_list(Some(&[session.id])).trim_end().to_string()
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH / HELLO AUTH: checks the credentials against the store and switches the session's user.
pub(crate) fn authenticate(
    ctx: &mut Ctx<'_, '_>,
    user: &[u8],
    pass: &[u8],
) -> Result<(), CmdError> {
    let acl = ctx.host.acl();
    match acl.authenticate(user, pass) {
        Some(u) => {
            ctx.session.authenticated = true;
            ctx.session.user = u.name.clone();
            ctx.session.acl = Some(u);
            ctx.session.acl_gen = acl.generation();
            Ok(())
        }
        None => {
            acl.log(
                "auth",
                "toplevel",
                "AUTH".into(),
                String::from_utf8_lossy(user).into_owned(),
                client_info(ctx.host, ctx.session),
            );
            Err(CmdError::Other(WRONGPASS.into()))
        }
    }
}

/// Puts a session back on the default user (RESET).
pub(crate) fn reset_session(host: &dyn Host, session: &mut Session) {
    session.user = "default".into();
    session.authenticated = host.acl().default_auto_auth();
    session.acl = None;
    session.acl_gen = 0;
}

/// Whether AUTH with only a password is refused (the default user has `nopass`).
pub(crate) fn default_nopass(host: &dyn Host) -> bool {
    host.acl().default_nopass()
}

fn aclfile(ctx: &Ctx<'_, '_>) -> Result<String, CmdError> {
    ctx.host
        .config_get(b"aclfile")
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CmdError::err("This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."))
}

/// Reads an aclfile into a store (server start and ACL LOAD).
pub fn load_file(acl: &Acl, path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}"))?;
    acl.load_text(&text, path)
}

/// Writes every user to an aclfile, atomically (temp file and rename).
pub fn save_file(acl: &Acl, path: &str) -> Result<(), String> {
    let mut text = acl.list().join("\n");
    text.push('\n');
    let tmp = format!("{path}.tmp-{}", std::process::id());
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("There was an error trying to save the ACLs. Please check the server logs for more information ({e})"))
}

fn valid_username(name: &[u8]) -> Result<String, CmdError> {
    if name.iter().any(|&c| c == b' ' || c == 0) {
        return Err(CmdError::err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// # Format
/// `ACL SETUSER username [rule ...]`
fn setuser(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let name = valid_username(&args[2])?;
    ctx.host
        .acl()
        .setuser(&name, &args[3..])
        .map_err(CmdError::err)?;
    Ok(Reply::ok())
}

fn getuser(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some(u) = ctx.host.acl().get(&text(&args[2])) else {
        return Ok(Reply::Null);
    };
    let mut flags = vec![Reply::bulk(if u.enabled { "on" } else { "off" })];
    if u.nopass {
        flags.push(Reply::bulk("nopass"));
    }
    if let Some(p) = u.payload {
        flags.push(Reply::bulk(p));
    }
    Ok(Reply::Array(vec![
        Reply::bulk("flags"),
        Reply::Array(flags),
        Reply::bulk("passwords"),
        Reply::Array(u.passwords.iter().map(|p| Reply::bulk(p.clone())).collect()),
        Reply::bulk("commands"),
        Reply::bulk(u.describe_commands()),
        Reply::bulk("keys"),
        Reply::bulk(u.describe_keys()),
        Reply::bulk("channels"),
        Reply::bulk(u.describe_channels()),
        Reply::bulk("selectors"),
        Reply::Array(vec![]),
    ]))
}

/// # Format
/// `ACL DELUSER username [username ...]`
fn deluser(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let names: Vec<String> = args[2..].iter().map(text).collect();
    if names.iter().any(|n| n == "default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let n = ctx.host.acl().deluser(&names);
    for name in &names {
        let f = crate::ctx::KillFilter {
            user: Some(name.clone()),
            skip_me: false,
            ..Default::default()
        };
        ctx.host.client_kill(ctx.session.id, &f);
    }
    crate::int(n)
}

fn list(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        ctx.host.acl().list().into_iter().map(Reply::bulk).collect(),
    ))
}

fn users(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        ctx.host
            .acl()
            .users()
            .iter()
            .map(|u| Reply::bulk(u.name.clone()))
            .collect(),
    ))
}

fn whoami(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    Ok(Reply::bulk(ctx.session.user.clone()))
}

/// # Format
/// `ACL CAT [category]`
fn cat(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some(c) = args.get(2) else {
        return Ok(Reply::Array(
            CATEGORIES.iter().map(|c| Reply::bulk(*c)).collect(),
        ));
    };
    let name = text(c).to_ascii_lowercase();
    if !CATEGORIES.contains(&name.as_str()) {
        return Err(CmdError::err(format!("Unknown category '{}'", text(c))));
    }
    Ok(Reply::Array(
        users::category_commands(&name)
            .into_iter()
            .map(Reply::bulk)
            .collect(),
    ))
}

fn load(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    let path = aclfile(ctx)?;
    load_file(ctx.host.acl(), &path).map_err(CmdError::err)?;
    Ok(Reply::ok())
}

fn save(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    let path = aclfile(ctx)?;
    save_file(ctx.host.acl(), &path).map_err(CmdError::err)?;
    Ok(Reply::ok())
}

/// # Format
/// `ACL GENPASS [bits]`
fn genpass(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let bits = match args.get(2) {
        None => 256,
        Some(b) => match parse_i64_opt(b) {
            Some(n) if (1..=4096).contains(&n) => n as usize,
            _ => return Err(CmdError::err("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")),
        },
    };
    let chars = bits.div_ceil(4);
    let mut s = String::with_capacity(chars);
    while s.len() < chars {
        let b: u8 = rand::random();
        s.push_str(&format!("{b:02x}"));
    }
    s.truncate(chars);
    Ok(Reply::bulk(s))
}

/// # Format
/// `ACL LOG [count | RESET]`
fn log(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut count = 10;
    if let Some(a) = args.get(2) {
        if is(a, "RESET") {
            ctx.host.acl().log_reset();
            return Ok(Reply::ok());
        }
        match parse_i64_opt(a) {
            Some(n) if n >= 0 => count = n as usize,
            _ => return Err(CmdError::NotInteger),
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Ok(Reply::Array(
        ctx.host
            .acl()
            .log_entries(count)
            .into_iter()
            .map(|e| {
                let age = now.saturating_sub(e.ctime_ms) as f64 / 1000.0;
                Reply::Array(vec![
                    Reply::bulk("count"),
                    Reply::Int(e.count as i64),
                    Reply::bulk("reason"),
                    Reply::bulk(e.reason),
                    Reply::bulk("context"),
                    Reply::bulk(e.context),
                    Reply::bulk("object"),
                    Reply::bulk(e.object),
                    Reply::bulk("username"),
                    Reply::bulk(e.username),
                    Reply::bulk("age-seconds"),
                    Reply::bulk(format!("{age:.3}")),
                    Reply::bulk("client-info"),
                    Reply::bulk(e.client_info),
                ])
            })
            .collect(),
    ))
}

/// # Format
/// `ACL DRYRUN username command [arg ...]`
fn dryrun(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let name = text(&args[2]);
    let Some(u) = ctx.host.acl().get(&name) else {
        return Err(CmdError::err(format!("User '{name}' not found")));
    };
    let cmd_args = &args[3..];
    let Some(def) = table::lookup(&cmd_args[0]) else {
        return Err(CmdError::err(format!(
            "Command '{}' not found",
            text(&cmd_args[0])
        )));
    };
    if !def.arity_ok(cmd_args.len()) {
        return Err(CmdError::Arity(def.name.to_string()));
    }
    Ok(match denial(&u, def, cmd_args) {
        None => Reply::ok(),
        Some(Denied::Command(c)) => Reply::bulk(format!(
            "This user has no permissions to run the '{c}' command"
        )),
        Some(Denied::Key(k)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(&k)
        )),
        Some(Denied::Channel(c)) => Reply::bulk(format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(&c)
        )),
    })
}

fn help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::connection::help(&[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ])
}

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const PLAIN: u32 = NOSCRIPT | LOADING | STALE;

static ACL: &[CommandDef] = &[
    cmd(
        "acl|cat",
        -2,
        PLAIN,
        Keys::NONE,
        "server",
        "6.0.0",
        "Lists the ACL categories, or the commands inside a category.",
        cat,
    ),
    cmd(
        "acl|deluser",
        -3,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Deletes ACL users, and terminates their connections.",
        deluser,
    ),
    cmd(
        "acl|dryrun",
        -4,
        ADM,
        Keys::NONE,
        "server",
        "7.0.0",
        "Simulates the execution of a command by a user, without executing the command.",
        dryrun,
    ),
    cmd(
        "acl|genpass",
        -2,
        PLAIN,
        Keys::NONE,
        "server",
        "6.0.0",
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        genpass,
    ),
    cmd(
        "acl|getuser",
        3,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Lists the ACL rules of a user.",
        getuser,
    ),
    cmd(
        "acl|list",
        2,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Dumps the effective rules in ACL file format.",
        list,
    ),
    cmd(
        "acl|load",
        2,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Reloads the rules from the configured ACL file.",
        load,
    ),
    cmd(
        "acl|log",
        -2,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Lists recent security events generated due to ACL rules.",
        log,
    ),
    cmd(
        "acl|save",
        2,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Saves the effective ACL rules in the configured ACL file.",
        save,
    ),
    cmd(
        "acl|setuser",
        -3,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Creates and modifies an ACL user and its rules.",
        setuser,
    ),
    cmd(
        "acl|users",
        2,
        ADM,
        Keys::NONE,
        "server",
        "6.0.0",
        "Lists all ACL users.",
        users,
    ),
    cmd(
        "acl|whoami",
        2,
        PLAIN,
        Keys::NONE,
        "server",
        "6.0.0",
        "Returns the authenticated username of the current connection.",
        whoami,
    ),
    cmd(
        "acl|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "6.0.0",
        "Returns helpful text about the different subcommands.",
        help,
    ),
];

/// The ACL family's registration block.
pub static COMMANDS: &[CommandDef] = &[container(
    "acl",
    0,
    "server",
    "6.0.0",
    "A container for Access List Control commands.",
    ACL,
)];
