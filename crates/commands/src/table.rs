//! The command table: name, arity, flags and key positions of every command, as Redis keeps them.
//! `COMMAND`, `COMMAND INFO`, `COMMAND DOCS`, the arity check and key locking all read it.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::ctx::Ctx;
use crate::error::CmdResult;

/// A command handler: parses its arguments, then applies them.
pub type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> CmdResult;

/// Command flags, as `COMMAND INFO` names them.
pub mod flags {
    /// Modifies the keyspace.
    pub const WRITE: u32 = 1;
    /// Reads the keyspace only.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use (refused at the data cap).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub related.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 6;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 7;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 8;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 9;
    /// May propagate to replicas.
    pub const MAY_REPLICATE: u32 = 1 << 10;
    /// Touches the keyspace without declaring keys.
    pub const NO_MANDATORY_KEYS: u32 = 1 << 11;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 12;
    /// Not shown in MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 13;
    /// Not recorded in the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 14;
    /// Allowed while the server is busy.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Strata's own, not shown by COMMAND: reads and writes nothing but its keys' records
    /// through its transaction, so a pipeline may commit it together with its neighbours
    /// (`crate::group`).
    pub const GROUP: u32 = 1 << 16;

    /// Names in `COMMAND INFO` order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are: `first..=last` stepping by `step` (Redis's legacy key spec).
/// `last` is -1 for "to the end". All zero: no keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// Index of the first key argument.
    pub first: i32,
    /// Index of the last, negative from the end.
    pub last: i32,
    /// Distance between keys.
    pub step: i32,
}

impl Keys {
    /// No keys.
    pub const NONE: Keys = Keys {
        first: 0,
        last: 0,
        step: 0,
    };
    /// One key at index 1.
    pub const ONE: Keys = Keys {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Two keys at 1 and 2 (RENAME, LMOVE, SMOVE, LCS, ...).
    pub const TWO: Keys = Keys {
        first: 1,
        last: 2,
        step: 1,
    };
    /// One key at index 2, after a subcommand (`TIER WHERE key`).
    pub const SUB_ONE: Keys = Keys {
        first: 2,
        last: 2,
        step: 1,
    };
    /// Every argument from 1 on.
    pub const ALL: Keys = Keys {
        first: 1,
        last: -1,
        step: 1,
    };

    /// The key arguments of `args` (which includes the command name).
    pub fn of<'a>(&self, args: &'a [Bytes]) -> SmallVec<[&'a Bytes; 4]> {
        if self.first <= 0 || self.step <= 0 {
            return SmallVec::new();
        }
        let n = args.len() as i32;
        let last = if self.last < 0 {
            n + self.last
        } else {
            self.last.min(n - 1)
        };
        (self.first..=last)
            .step_by(self.step as usize)
            .filter_map(|i| args.get(i as usize))
            .collect()
    }
}

/// One row of the table.
#[derive(Debug)]
pub struct CommandDef {
    /// Lower-case name (`config|get` for a subcommand).
    pub name: &'static str,
    /// Redis arity: n means exactly n arguments with the name, -n at least n.
    pub arity: i32,
    /// `flags::*` bits.
    pub flags: u32,
    /// Key positions.
    pub keys: Keys,
    /// Redis command group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// One-line summary for `COMMAND DOCS`.
    pub summary: &'static str,
    /// First Redis version with the command.
    pub since: &'static str,
    /// The implementation (containers dispatch to their subcommands).
    pub handler: Handler,
    /// Subcommands, for containers such as CONFIG.
    pub subcommands: &'static [CommandDef],
}

impl CommandDef {
    /// Whether `args` (name included) satisfy the arity.
    pub fn arity_ok(&self, n: usize) -> bool {
        let n = n as i32;
        if self.arity >= 0 {
            n == self.arity
        } else {
            n >= -self.arity
        }
    }

    /// The row a request runs: the named subcommand of a container (None when there is no such
    /// subcommand), or the command itself.
    pub fn effective(&'static self, args: &[Bytes]) -> Option<&'static CommandDef> {
        if self.subcommands.is_empty() {
            return Some(self);
        }
        let sub = args.get(1)?;
        self.subcommands.iter().find(|c| {
            c.name
                .split_once('|')
                .is_some_and(|(_, s)| sub.eq_ignore_ascii_case(s.as_bytes()))
        })
    }

    /// Whether a flag is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Redis ACL categories, derived from flags and group.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        use flags::*;
        let mut c = Vec::new();
        let group = match self.group {
            "string" => Some("@string"),
            "generic" => Some("@keyspace"),
            "connection" => Some("@connection"),
            "hash" => Some("@hash"),
            "list" => Some("@list"),
            "set" => Some("@set"),
            "sorted-set" => Some("@sortedset"),
            "pubsub" => Some("@pubsub"),
            "transactions" => Some("@transaction"),
            _ => None,
        };
        if self.has(WRITE) {
            c.push("@write");
        }
        if self.has(READONLY) && self.group != "connection" {
            c.push("@read");
        }
        if let Some(g) = group {
            c.push(g);
        }
        if self.has(ADMIN) {
            c.extend(["@admin", "@dangerous"]);
        }
        if self.has(BLOCKING) {
            c.push("@blocking");
        }
        c.push(if self.has(FAST) { "@fast" } else { "@slow" });
        // Categories Redis assigns by name, beyond what flags and group imply.
        if !self.subcommands.is_empty() {
            c = vec!["@slow"];
        }
        match self.name {
            "command" => c.push("@connection"),
            "dbsize" | "flushall" | "flushdb" | "swapdb" => c.insert(0, "@keyspace"),
            "sort" | "sort_ro" => {
                c.retain(|x| *x != "@keyspace");
                c.extend(["@set", "@sortedset", "@list"]);
            }
            "lastsave" | "latency|doctor" | "latency|graph" if !c.contains(&"@admin") => {
                c.push("@admin")
            }
            n if n.starts_with("command|") => c.push("@connection"),
            _ => {}
        }
        let dangerous = [
            "flushall",
            "flushdb",
            "info",
            "keys",
            "lastsave",
            "swapdb",
            "sort",
            "sort_ro",
            "latency|doctor",
            "latency|graph",
        ];
        if dangerous.contains(&self.name) && !c.contains(&"@dangerous") {
            c.push("@dangerous");
        }
        c
    }
}

/// Builds a row; keeps the family registration blocks to one line per command.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: Keys,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandDef {
    CommandDef {
        name,
        arity,
        flags,
        keys,
        group,
        summary,
        since,
        handler,
        subcommands: &[],
    }
}

/// A container command with subcommands.
pub const fn container(
    name: &'static str,
    flags: u32,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [CommandDef],
) -> CommandDef {
    CommandDef {
        name,
        arity: -2,
        flags,
        keys: Keys::NONE,
        group,
        summary,
        since,
        handler: crate::dispatch_sub,
        subcommands,
    }
}

/// Every family's registration block.
fn families() -> impl Iterator<Item = &'static CommandDef> {
    [
        crate::connection::COMMANDS,
        crate::server::COMMANDS,
        crate::string::COMMANDS,
        crate::keys::COMMANDS,
        crate::hash::COMMANDS,
        crate::set::COMMANDS,
        crate::list::COMMANDS,
        crate::blocking::COMMANDS,
        crate::zset::COMMANDS,
        crate::sort::COMMANDS,
        crate::pubsub::COMMANDS,
        crate::transaction::COMMANDS,
        crate::acl::COMMANDS,
        crate::observe::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

/// The table, by lower-case name.
pub fn table() -> &'static CommandMap {
    static TABLE: OnceLock<CommandMap> = OnceLock::new();
    TABLE.get_or_init(|| families().map(|c| (c.name, c)).collect())
}

/// The command table by name. The names are ours, not clients', so a fast unkeyed hash will do:
/// every request looks its command up here.
pub type CommandMap = HashMap<&'static str, &'static CommandDef, ahash::RandomState>;

/// Looks a command up by its name as typed.
pub fn lookup(name: &[u8]) -> Option<&'static CommandDef> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(std::str::from_utf8(lower).ok()?).copied()
}

/// Every command, sorted by name.
pub fn all() -> Vec<&'static CommandDef> {
    let mut v: Vec<_> = table().values().copied().collect();
    v.sort_by_key(|c| c.name);
    v
}
