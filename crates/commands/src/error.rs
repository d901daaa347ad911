//! Every error a command can answer with, and its Redis text, in one place.

use strata_keyspace::StorageError;
use strata_resp::Reply;

/// A typed command failure; `reply()` turns it into Redis's exact wire text.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// `ERR syntax error`
    #[error("ERR syntax error")]
    Syntax,
    /// `ERR value is not an integer or out of range`
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// `ERR value is not a valid float`
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// `ERR increment or decrement would overflow`
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// `ERR increment would produce NaN or Infinity`
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// `WRONGTYPE ...`
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// `ERR no such key`
    #[error("ERR no such key")]
    NoSuchKey,
    /// `ERR DB index is out of range`
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// `ERR invalid expire time in 'set' command`
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    /// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// `ERR offset is out of range`
    #[error("ERR offset is out of range")]
    OffsetOutOfRange,
    /// `ERR wrong number of arguments for 'x' command`
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    /// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand {
        /// The subcommand as typed.
        sub: String,
        /// The container command, upper case.
        cmd: String,
    },
    /// A write refused at the data cap, in Redis's words.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    /// `NOAUTH Authentication required.`
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    /// A disk write failed: the server refuses writes, as Redis does after an AOF write error.
    #[error("MISCONF Errors writing to the data directory: {0}")]
    Storage(#[from] StorageError),
    /// Any other Redis error, with its prefix (`ERR ...`, `NOPROTO ...`).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    /// An `ERR`-prefixed error with free text.
    pub fn err(text: impl std::fmt::Display) -> CmdError {
        CmdError::Other(format!("ERR {text}"))
    }

    /// The wire reply.
    pub fn reply(&self) -> Reply {
        Reply::error(self.to_string())
    }

    /// The error code: the first word of the text (for INFO errorstats).
    pub fn code(&self) -> String {
        self.to_string()
            .split(' ')
            .next()
            .unwrap_or("ERR")
            .to_string()
    }
}

/// Result of a command handler.
pub type CmdResult = Result<Reply, CmdError>;
