//! Set commands (SADD, SMEMBERS, ...): one RocksDB record per member.

use crate::table::CommandDef;

/// The family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[];
