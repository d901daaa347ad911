//! Observability commands: SLOWLOG, LATENCY and MONITOR. The server keeps the data (see
//! `strata_server::observe`); these parse arguments and ask the host.

use bytes::Bytes;
use strata_resp::Reply;

use crate::args::{parse_i64_opt, text};
use crate::connection::help;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::table::{cmd, container, flags::*, CommandDef, Keys};

fn sub_syntax(args: &[Bytes], parent: &str) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {parent} HELP.",
        text(&args[1])
    ))
}

/// # Format
/// `SLOWLOG GET [count]` (default 10, -1 for all)
fn slowlog_get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(sub_syntax(args, "SLOWLOG"));
    }
    let count = match args.get(2) {
        None => Some(10),
        Some(a) => match parse_i64_opt(a) {
            Some(-1) => None,
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("count should be greater than or equal to -1")),
        },
    };
    Ok(ctx.host.slowlog_get(count))
}

fn slowlog_len(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    crate::int(ctx.host.slowlog_len())
}

fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.host.slowlog_reset();
    Ok(Reply::ok())
}

fn slowlog_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ])
}

fn latency_latest(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    Ok(ctx.host.latency_latest())
}

fn latency_history(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    Ok(ctx.host.latency_history(&args[2]))
}

fn latency_reset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    crate::int(ctx.host.latency_reset(&args[2..]))
}

fn latency_histogram(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    Ok(ctx.host.latency_histogram(&args[2..]))
}

fn latency_help(_: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    help(&[
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ])
}

/// MONITOR: the connection streams every later command (see the server's `conn.rs`).
fn monitor(ctx: &mut Ctx<'_, '_>, _: &[Bytes]) -> CmdResult {
    ctx.session.monitor = true;
    Ok(Reply::ok())
}

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

static SLOWLOG: &[CommandDef] = &[
    cmd(
        "slowlog|get",
        -2,
        ADMIN | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.2.12",
        "Returns the slow log's entries.",
        slowlog_get,
    ),
    cmd(
        "slowlog|len",
        2,
        ADMIN | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.2.12",
        "Returns the number of entries in the slow log.",
        slowlog_len,
    ),
    cmd(
        "slowlog|reset",
        2,
        ADMIN | LOADING | STALE,
        Keys::NONE,
        "server",
        "2.2.12",
        "Clears all entries from the slow log.",
        slowlog_reset,
    ),
    cmd(
        "slowlog|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "6.2.0",
        "Show helpful text about the different subcommands",
        slowlog_help,
    ),
];

static LATENCY: &[CommandDef] = &[
    cmd(
        "latency|latest",
        2,
        ADM,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns the latest latency samples for all events.",
        latency_latest,
    ),
    cmd(
        "latency|history",
        3,
        ADM,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns timestamp-latency samples for an event.",
        latency_history,
    ),
    cmd(
        "latency|reset",
        -2,
        ADM,
        Keys::NONE,
        "server",
        "2.8.13",
        "Resets the latency data for one or more events.",
        latency_reset,
    ),
    cmd(
        "latency|histogram",
        -2,
        ADM,
        Keys::NONE,
        "server",
        "7.0.0",
        "Returns the cumulative distribution of latencies of a subset or all commands.",
        latency_histogram,
    ),
    cmd(
        "latency|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        "server",
        "2.8.13",
        "Returns helpful text about the different subcommands.",
        latency_help,
    ),
];

/// The observability family's registration block.
pub static COMMANDS: &[CommandDef] = &[
    container(
        "slowlog",
        0,
        "server",
        "2.2.12",
        "A container for slow log commands.",
        SLOWLOG,
    ),
    container(
        "latency",
        0,
        "server",
        "2.8.13",
        "A container for latency diagnostics commands.",
        LATENCY,
    ),
    cmd(
        "monitor",
        1,
        ADM,
        Keys::NONE,
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        monitor,
    ),
];

#[cfg(test)]
mod tests {
    use crate::tests::{err, ok, Env};
    use strata_resp::Reply;

    #[test]
    fn argument_errors() {
        let mut env = Env::new();
        assert_eq!(
            env.run(&["SLOWLOG", "GET", "-2"]),
            err("ERR count should be greater than or equal to -1")
        );
        assert_eq!(
            env.run(&["SLOWLOG", "GET", "x"]),
            err("ERR count should be greater than or equal to -1")
        );
        assert_eq!(
            env.run(&["SLOWLOG", "GET", "1", "2"]),
            err("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
        );
        assert_eq!(env.run(&["SLOWLOG", "RESET"]), ok());
        assert_eq!(
            env.run(&["LATENCY", "HISTORY"]),
            err("ERR wrong number of arguments for 'latency|history' command")
        );
        assert!(matches!(env.run(&["LATENCY", "HELP"]), Reply::Array(a) if a.len() == 13));
        assert!(matches!(env.run(&["SLOWLOG", "HELP"]), Reply::Array(a) if a.len() == 12));
        assert_eq!(env.run(&["MONITOR"]), ok());
    }
}
