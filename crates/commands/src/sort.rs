//! SORT and SORT_RO over lists, sets and sorted sets.

use crate::table::CommandDef;

/// The family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[];
