//! Protocol errors, worded exactly as Redis words them.
//!
//! Clients and test suites match on these strings, so the `Display` text is
//! byte-for-byte what Redis 7 sends after its `-ERR ` prefix.

use bytes::{BufMut, Bytes, BytesMut};

use crate::reply::Reply;

/// A malformed or oversized request. After any of these the connection must be
/// closed: Redis replies (unless [`ProtocolError::closes_silently`]) and then
/// drops the client, and the decoder's view of the buffer is no longer defined.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A `*` header line had no `\r` within the first 64 KiB.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    /// The `*` count was not an integer or exceeded `i32::MAX`.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// An unauthenticated client declared more than 10 arguments.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// An argument did not start with `$`; holds the offending byte.
    #[error("Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedDollar(u8),
    /// A `$` header line had no `\r` within the first 64 KiB.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// The `$` length was not an integer, negative, or above `proto_max_bulk_len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An unauthenticated client declared an argument longer than 16384 bytes.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// An inline command had no `\n` within the first 64 KiB.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// An inline command had an unterminated quote, or a closing quote not
    /// followed by whitespace.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// The pending, still incomplete request outgrew `query_buffer_limit`.
    #[error("Closing client that reached max query buffer length")]
    QueryBufferLimit,
}

impl ProtocolError {
    /// True when Redis drops the client without sending any reply
    /// (query-buffer-limit overflow).
    pub fn closes_silently(&self) -> bool {
        matches!(self, ProtocolError::QueryBufferLimit)
    }

    /// The `-ERR ...` reply Redis sends for this error.
    ///
    /// Unlike formatting `Display`, this keeps a non-ASCII byte in
    /// [`ProtocolError::ExpectedDollar`] raw, exactly as Redis's `%c` does.
    pub fn to_reply(&self) -> Reply {
        match self {
            ProtocolError::ExpectedDollar(b) => {
                let mut text = BytesMut::with_capacity(40);
                text.put_slice(b"ERR Protocol error: expected '$', got '");
                text.put_u8(*b);
                text.put_u8(b'\'');
                Reply::Error(text.freeze())
            }
            other => Reply::Error(Bytes::from(format!("ERR {other}"))),
        }
    }
}
