//! List commands (LPUSH, LRANGE, ..., and the blocking BLPOP family).

use crate::table::CommandDef;

/// The family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[];
