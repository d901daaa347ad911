//! Sorted-set commands (ZADD, ZRANGE, ...): a member record and a score-index record per member.

use crate::table::CommandDef;

/// The family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[];
