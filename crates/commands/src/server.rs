//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, COMMAND, CONFIG, SHUTDOWN,
//! and TIER, Strata's own command for the memory tier.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use strata_keyspace::Tier;
use strata_resp::Reply;

use crate::args::{is, text};
use crate::connection::help;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::table::{self, cmd, container, flags, flags::*, CommandDef, Keys};

fn info(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|a| text(a).to_ascii_lowercase())
        .collect();
    Ok(Reply::bulk(ctx.host.info(&sections)))
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::int(ctx.ks.dbsize(ctx.db()))
}

/// FLUSHDB and FLUSHALL take `[ASYNC|SYNC]`; both are O(1) here (range deletes), so the mode
/// only needs validating.
fn flush_mode(args: &[Bytes]) -> Result<(), CmdError> {
    match args.get(1) {
        None => Ok(()),
        Some(m) if args.len() == 2 && (is(m, "ASYNC") || is(m, "SYNC")) => Ok(()),
        Some(_) => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let seq = ctx.ks.exclusive().flush_db(ctx.db())?;
    ctx.write_seq = ctx.write_seq.max(seq);
    Ok(Reply::ok())
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let seq = ctx.ks.exclusive().flush_all()?;
    ctx.write_seq = ctx.write_seq.max(seq);
    Ok(Reply::ok())
}

fn swapdb(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let parse = |a: &Bytes, what: &str| {
        crate::args::parse_i64_opt(a)
            .ok_or_else(|| CmdError::err(format!("invalid {what} DB index")))
            .and_then(|n| {
                if n < 0 || n as usize >= ctx.ks.databases() {
                    Err(CmdError::DbIndexOutOfRange)
                } else {
                    Ok(n as usize)
                }
            })
    };
    let (a, b) = (parse(&args[1], "first")?, parse(&args[2], "second")?);
    let seq = ctx.ks.exclusive().swap_db(a, b)?;
    ctx.write_seq = ctx.write_seq.max(seq);
    Ok(Reply::ok())
}

fn time(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(d.as_secs().to_string()),
        Reply::bulk(d.subsec_micros().to_string()),
    ]))
}

fn lastsave(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    // Every write is durable on commit; "last save" is now.
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    crate::int(d.as_secs())
}

// ---- COMMAND ------------------------------------------------------------------------------------

fn flag_names(c: &CommandDef) -> Reply {
    Reply::Array(
        flags::NAMES
            .iter()
            .filter(|(f, _)| c.has(*f))
            .map(|&(_, n)| Reply::simple(n))
            .collect(),
    )
}

fn command_info_of(c: &CommandDef) -> Reply {
    let simple_all =
        |v: Vec<&'static str>| Reply::Array(v.into_iter().map(Reply::simple).collect());
    Reply::Array(vec![
        Reply::bulk(c.name),
        Reply::Int(c.arity as i64),
        flag_names(c),
        Reply::Int(c.keys.first as i64),
        Reply::Int(c.keys.last as i64),
        Reply::Int(c.keys.step as i64),
        simple_all(c.acl_categories()),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(c.subcommands.iter().map(command_info_of).collect()),
    ])
}

fn command_docs_of(c: &CommandDef) -> Reply {
    let mut v = vec![
        Reply::bulk("summary"),
        Reply::bulk(c.summary),
        Reply::bulk("since"),
        Reply::bulk(c.since),
        Reply::bulk("group"),
        Reply::bulk(c.group),
    ];
    if !c.subcommands.is_empty() {
        v.push(Reply::bulk("subcommands"));
        v.push(Reply::Array(
            c.subcommands
                .iter()
                .flat_map(|s| [Reply::bulk(s.name), command_docs_of(s)])
                .collect(),
        ));
    }
    Reply::Array(v)
}

fn command(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 1 {
        return Ok(Reply::Array(
            table::all().into_iter().map(command_info_of).collect(),
        ));
    }
    // Subcommands are routed by the container; a bare COMMAND has its own handler.
    Err(CmdError::Syntax)
}

fn command_count(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::int(table::table().len())
}

fn command_info(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return Ok(Reply::Array(
            table::all().into_iter().map(command_info_of).collect(),
        ));
    }
    Ok(Reply::Array(
        args[2..]
            .iter()
            .map(|n| table::lookup(n).map_or(Reply::NullArray, command_info_of))
            .collect(),
    ))
}

fn command_docs(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let defs: Vec<&CommandDef> = if args.len() == 2 {
        table::all()
    } else {
        args[2..].iter().filter_map(|n| table::lookup(n)).collect()
    };
    Ok(Reply::Array(
        defs.into_iter()
            .flat_map(|c| [Reply::bulk(c.name), command_docs_of(c)])
            .collect(),
    ))
}

/// # Format
/// `COMMAND LIST [FILTERBY <MODULE name | ACLCAT category | PATTERN pattern>]`
fn command_list(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let all = table::all();
    let names: Vec<&CommandDef> = match args.len() {
        2 => all,
        5 if is(&args[2], "FILTERBY") => {
            let v = &args[4];
            if is(&args[3], "MODULE") {
                Vec::new()
            } else if is(&args[3], "ACLCAT") {
                let cat = format!("@{}", text(v).to_ascii_lowercase());
                all.into_iter()
                    .filter(|c| c.acl_categories().contains(&cat.as_str()))
                    .collect()
            } else if is(&args[3], "PATTERN") {
                all.into_iter()
                    .filter(|c| crate::glob::glob_match(v, c.name.as_bytes(), true))
                    .collect()
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Array(
        names.into_iter().map(|c| Reply::bulk(c.name)).collect(),
    ))
}

fn command_getkeys(_: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let rest = &args[2..];
    let def = table::lookup(&rest[0]).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if !def.arity_ok(rest.len()) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = def.keys.of(rest);
    if keys.is_empty() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    Ok(Reply::Array(
        keys.into_iter().map(|k| Reply::Bulk(k.clone())).collect(),
    ))
}

fn command_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Print this help.",
    ])
}

/// COMMAND is a container that also runs bare; route by argument count.
fn command_entry(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 1 {
        return command(ctx, args);
    }
    crate::dispatch_sub(ctx, args)
}

// ---- CONFIG -------------------------------------------------------------------------------------

fn config_get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut out: Vec<(String, String)> = Vec::new();
    for pat in &args[2..] {
        for (k, v) in ctx.host.config_get(pat) {
            if !out.iter().any(|(seen, _)| *seen == k) {
                out.push((k, v));
            }
        }
    }
    Ok(Reply::Array(
        out.into_iter()
            .flat_map(|(k, v)| [Reply::bulk(k), Reply::bulk(v)])
            .collect(),
    ))
}

fn config_set(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Arity("config|set".into()));
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks_exact(2)
        .map(|p| (text(&p[0]).to_ascii_lowercase(), text(&p[1])))
        .collect();
    ctx.host.config_set(&pairs)?;
    Ok(Reply::ok())
}

fn config_rewrite(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.host.config_rewrite()?;
    Ok(Reply::ok())
}

fn config_resetstat(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.host.config_resetstat();
    Ok(Reply::ok())
}

fn config_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    ])
}

/// # Format
/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`
fn shutdown(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    for a in &args[1..] {
        if !["NOSAVE", "SAVE", "NOW", "FORCE", "ABORT"]
            .iter()
            .any(|k| is(a, k))
        {
            return Err(CmdError::Syntax);
        }
        if is(a, "ABORT") {
            return Err(CmdError::err("No shutdown in progress."));
        }
    }
    ctx.host.shutdown();
    // Redis closes the connection without a reply on success; the server does the same.
    ctx.session.close_after_reply = true;
    ctx.session.drop_reply = true;
    Ok(Reply::NullArray)
}

// ---- TIER ---------------------------------------------------------------------------------------

/// # Format
/// `TIER DROP [key ...]`: drops the keys (all keys of every db with none given) from memory.
fn tier_drop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = if args.len() == 2 {
        ctx.ks.drop_hot(None, &[])
    } else {
        ctx.ks.drop_hot(Some(ctx.db()), &args[2..])
    };
    crate::int(n)
}

/// # Format
/// `TIER WHERE key`: `memory` (and disk), `disk` (only), or nil for no such key.
fn tier_where(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    Ok(match ctx.ks.tier_of(ctx.db(), &args[2])? {
        Tier::Memory => Reply::bulk("memory"),
        Tier::Disk => Reply::bulk("disk"),
        Tier::Absent => Reply::Null,
    })
}

/// # Format
/// `TIER INFO key`: `tier`, `memory_bytes` and `disk_bytes` of a key, or nil for no such key.
fn tier_info(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some((tier, mem, disk)) = ctx.ks.tier_report(ctx.db(), &args[2])? else {
        return Ok(Reply::Null);
    };
    let name = if tier == Tier::Memory {
        "memory"
    } else {
        "disk"
    };
    Ok(Reply::Array(vec![
        Reply::bulk("tier"),
        Reply::bulk(name),
        Reply::bulk("memory_bytes"),
        Reply::Int(mem as i64),
        Reply::bulk("disk_bytes"),
        Reply::Int(disk as i64),
    ]))
}

// ---- MEMORY -------------------------------------------------------------------------------------

/// # Format
/// `MEMORY USAGE key [SAMPLES count]`: the bytes the key takes when held in memory.
fn memory_usage(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        3 => {}
        5 if is(&args[3], "SAMPLES") => {
            let n = crate::args::parse_i64(&args[4])?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    // Like Redis, MEMORY USAGE neither marks the key used nor, here, loads it into memory.
    let rec = ctx.ks.peek(ctx.db(), &args[2])?;
    Ok(rec.map_or(Reply::Null, |r| {
        Reply::Int(strata_keyspace::memory_usage(&args[2], &r) as i64)
    }))
}

fn memory_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value when held in memory.",
        "HELP",
        "    Print this help.",
    ])
}

fn tier_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "TIER <subcommand> [<arg> ...]. Subcommands are:",
        "DROP [<key> ...]",
        "    Drop the keys (every key of every db if none given) from memory. Data stays on disk.",
        "WHERE <key>",
        "    Return 'memory' if the key is cached in memory (and on disk), 'disk' if only on disk.",
        "INFO <key>",
        "    Return the key's tier and the bytes it takes in memory and on disk.",
        "HELP",
        "    Print this help.",
    ])
}

static COMMAND_SUBS: &[CommandDef] = &[
    cmd(
        "command|count",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns a count of commands.",
        command_count,
    ),
    cmd(
        "command|info",
        -2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        command_info,
    ),
    cmd(
        "command|docs",
        -2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        command_docs,
    ),
    cmd(
        "command|list",
        -2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns a list of command names.",
        command_list,
    ),
    cmd(
        "command|getkeys",
        -3,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        command_getkeys,
    ),
    cmd(
        "command|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        command_help,
    ),
];

static CONFIG_SUBS: &[CommandDef] = &[
    cmd(
        "config|get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        config_get,
    ),
    cmd(
        "config|set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        config_set,
    ),
    cmd(
        "config|rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        config_rewrite,
    ),
    cmd(
        "config|resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        config_resetstat,
    ),
    cmd(
        "config|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        config_help,
    ),
];

static TIER_SUBS: &[CommandDef] = &[
    cmd(
        "tier|drop",
        -2,
        ADMIN | LOADING | STALE,
        Keys {
            first: 2,
            last: -1,
            step: 1,
        },
        "server",
        "7.2.4",
        "Drops keys from the memory tier; data stays on disk.",
        tier_drop,
    ),
    cmd(
        "tier|where",
        3,
        READONLY | FAST,
        Keys::SUB_ONE,
        "server",
        "7.2.4",
        "Reports which tier holds a key.",
        tier_where,
    ),
    cmd(
        "tier|info",
        3,
        READONLY,
        Keys::SUB_ONE,
        "server",
        "7.2.4",
        "Reports a key's tier and its bytes in memory and on disk.",
        tier_info,
    ),
    cmd(
        "tier|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "7.2.4",
        "Returns helpful text about the different subcommands.",
        tier_help,
    ),
];

static MEMORY_SUBS: &[CommandDef] = &[
    cmd(
        "memory|usage",
        -3,
        READONLY,
        Keys::SUB_ONE,
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
        memory_usage,
    ),
    cmd(
        "memory|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        memory_help,
    ),
];

/// The server family's registration block.
pub static COMMANDS: &[CommandDef] = &[
    cmd(
        "info",
        -1,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        info,
    ),
    cmd(
        "dbsize",
        1,
        READONLY | FAST,
        Keys::NONE,
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize,
    ),
    cmd(
        "flushdb",
        -1,
        WRITE,
        Keys::NONE,
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        flushdb,
    ),
    cmd(
        "flushall",
        -1,
        WRITE,
        Keys::NONE,
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flushall,
    ),
    cmd(
        "swapdb",
        3,
        WRITE | FAST,
        Keys::NONE,
        "server",
        "4.0.0",
        "Swaps two Redis databases.",
        swapdb,
    ),
    cmd(
        "time",
        1,
        LOADING | STALE | FAST,
        Keys::NONE,
        "server",
        "2.6.0",
        "Returns the server time.",
        time,
    ),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        Keys::NONE,
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_AUTH,
        Keys::NONE,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
    CommandDef {
        arity: -1,
        handler: command_entry,
        ..container(
            "command",
            LOADING | STALE,
            "server",
            "2.8.13",
            "Returns detailed information about all commands.",
            COMMAND_SUBS,
        )
    },
    container(
        "config",
        0,
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        CONFIG_SUBS,
    ),
    container(
        "memory",
        0,
        "server",
        "4.0.0",
        "A container for memory diagnostics commands.",
        MEMORY_SUBS,
    ),
    container(
        "tier",
        0,
        "server",
        "7.2.4",
        "Strata: inspect and drop the memory tier.",
        TIER_SUBS,
    ),
];

#[cfg(test)]
mod tests {
    use crate::tests::{bulk, err, ok, Env};
    use strata_resp::Reply;

    #[test]
    fn command_introspection_comes_from_the_table() {
        let mut env = Env::new();
        assert!(matches!(env.run(&["COMMAND", "COUNT"]), Reply::Int(n) if n > 20));
        let Reply::Array(info) = env.run(&["COMMAND", "INFO", "get", "nosuch"]) else {
            panic!("array")
        };
        assert_eq!(info[1], Reply::NullArray);
        let Reply::Array(get) = &info[0] else {
            panic!("array")
        };
        assert_eq!(get[0], bulk("get"));
        assert_eq!(get[1], Reply::Int(2));
        assert_eq!(
            env.run(&["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"]),
            Reply::Array(vec![bulk("a"), bulk("b")])
        );
        assert_eq!(
            env.run(&["COMMAND", "GETKEYS", "ping"]),
            err("ERR The command has no key arguments")
        );
        assert_eq!(
            env.run(&["COMMAND", "GETKEYS", "get"]),
            err("ERR Invalid number of arguments specified for command")
        );
    }

    #[test]
    fn memory_usage_is_the_same_in_every_tier() {
        crate::tests::both(|env| {
            assert_eq!(env.run(&["SET", "k", "12345"]), ok());
            let Reply::Int(n) = env.run(&["MEMORY", "USAGE", "k"]) else {
                panic!("int")
            };
            assert!(n > 6, "{n}");
            assert_eq!(
                env.run(&["MEMORY", "USAGE", "k", "SAMPLES", "5"]),
                Reply::Int(n)
            );
            assert_eq!(env.run(&["MEMORY", "USAGE", "nokey"]), Reply::Null);
            assert_eq!(
                env.run(&["MEMORY", "USAGE", "k", "BAD"]),
                err("ERR syntax error")
            );
        });
    }

    #[test]
    fn tier_info_reports_bytes_per_tier() {
        let mut env = Env::new();
        assert_eq!(env.run(&["SET", "k", "v", "EX", "100"]), ok());
        let Reply::Array(warm) = env.run(&["TIER", "INFO", "k"]) else {
            panic!("array")
        };
        assert_eq!(warm[1], bulk("memory"));
        assert!(matches!(warm[3], Reply::Int(n) if n > 0));
        env.run(&["TIER", "DROP"]);
        let Reply::Array(cold) = env.run(&["TIER", "INFO", "k"]) else {
            panic!("array")
        };
        assert_eq!(
            (cold[1].clone(), cold[3].clone()),
            (bulk("disk"), Reply::Int(0))
        );
        assert_eq!(
            cold[5], warm[5],
            "disk bytes do not depend on the memory tier"
        );
        assert_eq!(env.run(&["TIER", "INFO", "nokey"]), Reply::Null);
    }

    #[test]
    fn flush_swap_dbsize_and_tier() {
        let mut env = Env::new();
        assert_eq!(env.run(&["SET", "a", "1"]), ok());
        assert_eq!(env.run(&["TIER", "WHERE", "a"]), bulk("memory"));
        assert_eq!(env.run(&["TIER", "DROP", "a"]), Reply::Int(1));
        assert_eq!(env.run(&["TIER", "WHERE", "a"]), bulk("disk"));
        assert_eq!(env.run(&["TIER", "WHERE", "nope"]), Reply::Null);
        assert_eq!(env.run(&["DBSIZE"]), Reply::Int(1));
        assert_eq!(env.run(&["SWAPDB", "0", "1"]), ok());
        assert_eq!(env.run(&["DBSIZE"]), Reply::Int(0));
        assert_eq!(
            env.run(&["SWAPDB", "0", "99"]),
            err("ERR DB index is out of range")
        );
        assert_eq!(
            env.run(&["SWAPDB", "x", "1"]),
            err("ERR invalid first DB index")
        );
        assert_eq!(env.run(&["SELECT", "1"]), ok());
        assert_eq!(env.run(&["FLUSHDB", "bad"]), err("ERR syntax error"));
        assert_eq!(env.run(&["FLUSHALL", "ASYNC"]), ok());
        assert_eq!(env.run(&["DBSIZE"]), Reply::Int(0));
    }
}
