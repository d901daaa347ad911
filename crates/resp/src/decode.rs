//! Incremental request framing, a port of Redis 7's `processMultibulkBuffer`
//! and `processInlineBuffer`.
//!
//! Requests arrive in arbitrary fragments, so the decoder remembers how far it
//! has validated the pending request (current offset, arguments left, length
//! of the argument being read, where the line-terminator search stopped).
//! Every call resumes there, so a request is scanned once in total however it
//! is chunked. Nothing is taken off the buffer until a request is complete;
//! then the whole frame is split off and frozen once, and each argument is a
//! zero-copy slice of it.
//!
//! Redis's own quirks are kept on purpose: header lines end at the first `\r`
//! and the byte after it is skipped unchecked, the two bytes after a bulk
//! payload are skipped unchecked, and (because Redis uses `strchr`) a NUL byte
//! before a line terminator makes the line look unterminated.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::inline::split_args;

/// Longest header or inline line Redis waits for (`PROTO_INLINE_MAX_SIZE`).
const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Argument-count cap for clients that still have to authenticate.
const UNAUTH_MAX_ARGS: i64 = 10;
/// Argument-length cap for clients that still have to authenticate.
const UNAUTH_MAX_BULK: i64 = 16 * 1024;
/// Redis never preallocates more argv slots than this up front.
const MAX_PREALLOC_ARGS: usize = 1024;
/// Above this the offsets vector is dropped rather than kept for reuse.
const KEEP_ARGS_CAPACITY: usize = 4096;

/// Size limits applied while framing requests (Redis's `proto-max-bulk-len`
/// and `client-query-buffer-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted `$` argument length.
    pub proto_max_bulk_len: u64,
    /// Largest buffered, still incomplete request before the client is dropped.
    pub query_buffer_limit: usize,
}

impl Default for Limits {
    /// Redis's defaults: 512 MiB arguments, 1 GiB query buffer.
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: 512 * 1024 * 1024,
            query_buffer_limit: 1024 * 1024 * 1024,
        }
    }
}

/// Where the decoder is within the pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// At the first byte of a request.
    Start,
    /// Looking for the `\n` that ends an inline request.
    Inline,
    /// Looking for the `\r` that ends the `*<count>` line.
    MultiHeader,
    /// Reading `$<len>\r\n<payload>\r\n` arguments.
    MultiArgs,
}

/// Outcome of one step on the front of the buffer.
enum Step {
    Request(Vec<Bytes>),
    /// An empty request was consumed; go on with the next one.
    Skipped,
    Incomplete,
}

/// Frames client requests out of a connection's read buffer.
///
/// Feed it the same `BytesMut` on every call, appending newly read bytes to
/// the end; it keeps offsets into that buffer between calls.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    authenticated: bool,
    phase: Phase,
    /// Offset of the next unparsed byte of the pending multibulk request.
    pos: usize,
    /// Offset where the search for the current line terminator resumes.
    scan: usize,
    /// Arguments of the multibulk request not yet read.
    remaining: usize,
    /// Length of the argument whose payload is awaited, once its header is read.
    bulk_len: Option<usize>,
    /// Payload ranges of the arguments read so far.
    args: Vec<(usize, usize)>,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new(Limits::default())
    }
}

impl RequestDecoder {
    /// A decoder for an authenticated client (no unauthenticated caps).
    pub fn new(limits: Limits) -> Self {
        RequestDecoder {
            limits,
            authenticated: true,
            phase: Phase::Start,
            pos: 0,
            scan: 0,
            remaining: 0,
            bulk_len: None,
            args: Vec::new(),
        }
    }

    /// Replaces the limits (e.g. after `CONFIG SET`); applies from the next check.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Unauthenticated clients get Redis's tighter limits (multibulk count > 10,
    /// bulk > 16384 rejected).
    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
    }

    /// Takes the next complete request off the front of `buf`.
    ///
    /// `Ok(None)`: need more bytes (nothing consumed that matters for
    /// correctness). Empty requests (`*0\r\n`, `*-1\r\n`, blank inline lines)
    /// are skipped silently. After an error the connection must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.pos > buf.len() || self.scan > buf.len() {
            // The caller swapped or truncated the buffer: start over.
            self.reset();
        }
        loop {
            let step = match self.phase {
                Phase::Start => match buf.first() {
                    None => Ok(Step::Incomplete),
                    Some(b'*') => {
                        self.phase = Phase::MultiHeader;
                        self.scan = 1;
                        continue;
                    }
                    Some(_) => {
                        self.phase = Phase::Inline;
                        continue;
                    }
                },
                Phase::Inline => self.step_inline(buf),
                Phase::MultiHeader => self.step_header(buf),
                Phase::MultiArgs => self.step_args(buf),
            };
            match step {
                Ok(Step::Request(args)) => {
                    self.reset();
                    return Ok(Some(args));
                }
                Ok(Step::Skipped) => self.reset(),
                Ok(Step::Incomplete) => {
                    if buf.len() > self.limits.query_buffer_limit {
                        self.reset();
                        return Err(ProtocolError::QueryBufferLimit);
                    }
                    return Ok(None);
                }
                Err(e) => {
                    self.reset();
                    return Err(e);
                }
            }
        }
    }

    fn reset(&mut self) {
        self.phase = Phase::Start;
        self.pos = 0;
        self.scan = 0;
        self.remaining = 0;
        self.bulk_len = None;
        if self.args.capacity() > KEEP_ARGS_CAPACITY {
            self.args = Vec::new();
        } else {
            self.args.clear();
        }
    }

    /// Finds the first `stop` byte at or after `self.scan`, the way `strchr`
    /// would: a NUL ends the search unsuccessfully. Records where to resume.
    fn find_line_end(&mut self, buf: &[u8], stop: u8) -> Option<usize> {
        let from = self.scan.min(buf.len());
        let tail = buf.get(from..).unwrap_or_default();
        match tail.iter().position(|&b| b == stop || b == 0) {
            Some(i) => {
                self.scan = from + i;
                (tail.get(i) == Some(&stop)).then_some(from + i)
            }
            None => {
                self.scan = buf.len();
                None
            }
        }
    }

    fn step_inline(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(nl) = self.find_line_end(buf, b'\n') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Step::Incomplete);
        };
        let end = match nl.checked_sub(1) {
            Some(cr) if buf.get(cr) == Some(&b'\r') => cr,
            _ => nl,
        };
        let line = buf.split_to(nl + 1).freeze().slice(..end);
        let args = split_args(&line)?;
        Ok(if args.is_empty() {
            Step::Skipped
        } else {
            Step::Request(args)
        })
    }

    fn step_header(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        let Some(cr) = self.find_line_end(buf, b'\r') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigMbulkCount);
            }
            return Ok(Step::Incomplete);
        };
        if cr + 2 > buf.len() {
            return Ok(Step::Incomplete);
        }
        let count = buf
            .get(1..cr)
            .and_then(string2ll)
            .filter(|&n| n <= i64::from(i32::MAX))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > UNAUTH_MAX_ARGS && !self.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        let next = cr + 2;
        let Ok(count) = usize::try_from(count) else {
            // Zero or negative: an empty request.
            buf.advance(next);
            return Ok(Step::Skipped);
        };
        if count == 0 {
            buf.advance(next);
            return Ok(Step::Skipped);
        }
        self.phase = Phase::MultiArgs;
        self.pos = next;
        self.scan = next;
        self.remaining = count;
        self.bulk_len = None;
        self.args.reserve(count.min(MAX_PREALLOC_ARGS));
        self.step_args(buf)
    }

    fn step_args(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let len = self.read_bulk_header(buf)?;
                    match len {
                        Some(len) => len,
                        None => return Ok(Step::Incomplete),
                    }
                }
            };
            let end = self
                .pos
                .checked_add(len)
                .ok_or(ProtocolError::InvalidBulkLength)?;
            match end.checked_add(2) {
                Some(next) if next <= buf.len() => {
                    self.args.push((self.pos, end));
                    self.pos = next;
                    self.scan = next;
                    self.bulk_len = None;
                    self.remaining -= 1;
                }
                Some(_) => return Ok(Step::Incomplete),
                None => return Err(ProtocolError::InvalidBulkLength),
            }
        }
        let frame = buf.split_to(self.pos).freeze();
        let args = self
            .args
            .iter()
            .map(|&(start, end)| frame.slice(start..end))
            .collect();
        Ok(Step::Request(args))
    }

    /// Parses the `$<len>\r\n` line at `self.pos`; `Ok(None)` if incomplete.
    fn read_bulk_header(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        self.scan = self.scan.max(self.pos);
        let Some(cr) = self.find_line_end(buf, b'\r') else {
            if buf.len() - self.pos > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigBulkCount);
            }
            return Ok(None);
        };
        if cr + 2 > buf.len() {
            return Ok(None);
        }
        match buf.get(self.pos) {
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
            None => return Ok(None),
        }
        let len = buf
            .get(self.pos + 1..cr)
            .and_then(string2ll)
            .filter(|&n| n >= 0 && n.unsigned_abs() <= self.limits.proto_max_bulk_len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        if len > UNAUTH_MAX_BULK && !self.authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        self.pos = cr + 2;
        self.scan = self.pos;
        self.bulk_len = Some(len);
        Ok(Some(len))
    }
}

/// Redis's `string2ll`: strict decimal, no `+`, no leading zeros, no `-0`,
/// fewer than 21 bytes, must fit an `i64`.
fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &d in rest {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests;
