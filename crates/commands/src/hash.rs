//! Hash commands (HSET, HGET, ...): one RocksDB record per field.

use crate::table::CommandDef;

/// The family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[];
