//! RESP2 wire format for Strata: framing client requests and encoding replies.
//!
//! Kept free of I/O and storage so the exact Redis parsing rules (limits,
//! inline quoting, error texts) can be tested byte-for-byte in isolation. The
//! server owns the socket and the read buffer; it calls
//! [`RequestDecoder::decode`] after every read and [`Reply::encode`] for every
//! reply.

mod decode;
mod error;
mod inline;
mod reply;

pub use decode::{Limits, RequestDecoder};
pub use error::ProtocolError;
pub use inline::split_args;
pub use reply::{encode_error_line, Reply};
