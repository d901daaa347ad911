//! Replies and their RESP2 encoding.
//!
//! Command handlers build a [`Reply`] value; the connection encodes it into its
//! write buffer. Encoding reserves the exact size once and writes integers with
//! `itoa`, so it allocates nothing beyond the output buffer.

use bytes::{BufMut, Bytes, BytesMut};

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Status reply, `+OK`.
    Simple(Bytes),
    /// Error reply: the full text including its prefix, e.g.
    /// `ERR unknown command ...` or `WRONGTYPE ...`.
    Error(Bytes),
    /// Integer reply, `:42`.
    Int(i64),
    /// Bulk string reply, `$3\r\nfoo`.
    Bulk(Bytes),
    /// Null bulk string, `$-1`.
    Null,
    /// Null array, `*-1`.
    NullArray,
    /// Array of replies.
    Array(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple(Bytes::from_static(b"OK"))
    }

    /// A status reply from static text.
    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply; `s` includes the prefix (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(s: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(s.into()))
    }

    /// A bulk string reply.
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    /// Appends the RESP2 encoding to `out`.
    ///
    /// `\r` and `\n` inside simple and error text become spaces, as Redis's
    /// `addReplyErrorFormat` does, so a reply can never break the framing.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.encode_inner(out);
    }

    /// Exact number of bytes [`Reply::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Reply::Simple(b) | Reply::Error(b) => b.len() + 3,
            Reply::Int(n) => itoa::Buffer::new().format(*n).len() + 3,
            Reply::Bulk(b) => itoa::Buffer::new().format(b.len()).len() + b.len() + 5,
            Reply::Null | Reply::NullArray => 5,
            Reply::Array(items) => {
                itoa::Buffer::new().format(items.len()).len()
                    + 3
                    + items.iter().map(Reply::encoded_len).sum::<usize>()
            }
        }
    }

    fn encode_inner(&self, out: &mut BytesMut) {
        match self {
            Reply::Simple(text) => put_line(out, b'+', text),
            Reply::Error(text) => put_line(out, b'-', text),
            Reply::Int(n) => put_header(out, b':', itoa::Buffer::new().format(*n)),
            Reply::Bulk(b) => {
                put_header(out, b'$', itoa::Buffer::new().format(b.len()));
                out.put_slice(b);
                out.put_slice(b"\r\n");
            }
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                put_header(out, b'*', itoa::Buffer::new().format(items.len()));
                for item in items {
                    item.encode_inner(out);
                }
            }
        }
    }
}

/// Appends `-<text>\r\n`, blanking any `\r`/`\n` in `text`. Lets the server
/// report a protocol error without building a [`Reply`]; `text` includes the
/// prefix, e.g. `ERR Protocol error: invalid bulk length`.
pub fn encode_error_line(out: &mut BytesMut, text: &str) {
    out.reserve(text.len() + 3);
    put_line(out, b'-', text.as_bytes());
}

fn put_header(out: &mut BytesMut, kind: u8, digits: &str) {
    out.put_u8(kind);
    out.put_slice(digits.as_bytes());
    out.put_slice(b"\r\n");
}

fn put_line(out: &mut BytesMut, kind: u8, text: &[u8]) {
    out.put_u8(kind);
    for (i, part) in text.split(|&b| b == b'\r' || b == b'\n').enumerate() {
        if i > 0 {
            out.put_u8(b' ');
        }
        out.put_slice(part);
    }
    out.put_slice(b"\r\n");
}

impl From<i64> for Reply {
    fn from(n: i64) -> Reply {
        Reply::Int(n)
    }
}

impl From<Bytes> for Reply {
    fn from(b: Bytes) -> Reply {
        Reply::Bulk(b)
    }
}

impl From<Option<Bytes>> for Reply {
    /// `Some` becomes a bulk string, `None` a null bulk string.
    fn from(b: Option<Bytes>) -> Reply {
        b.map_or(Reply::Null, Reply::Bulk)
    }
}

impl From<Vec<Reply>> for Reply {
    fn from(items: Vec<Reply>) -> Reply {
        Reply::Array(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply) -> Vec<u8> {
        let mut out = BytesMut::new();
        r.encode(&mut out);
        assert_eq!(out.len(), r.encoded_len(), "encoded_len of {r:?}");
        out.to_vec()
    }

    #[test]
    fn scalars() {
        assert_eq!(enc(&Reply::ok()), b"+OK\r\n");
        assert_eq!(enc(&Reply::simple("PONG")), b"+PONG\r\n");
        assert_eq!(enc(&Reply::Int(0)), b":0\r\n");
        assert_eq!(enc(&Reply::from(-42)), b":-42\r\n");
        assert_eq!(enc(&Reply::Int(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(enc(&Reply::bulk("foo")), b"$3\r\nfoo\r\n");
        assert_eq!(enc(&Reply::bulk(Bytes::new())), b"$0\r\n\r\n");
        assert_eq!(enc(&Reply::bulk(&b"a\r\nb"[..])), b"$4\r\na\r\nb\r\n");
        assert_eq!(enc(&Reply::Null), b"$-1\r\n");
        assert_eq!(enc(&Reply::NullArray), b"*-1\r\n");
        assert_eq!(enc(&Reply::from(None::<Bytes>)), b"$-1\r\n");
        assert_eq!(
            enc(&Reply::from(Some(Bytes::from_static(b"v")))),
            b"$1\r\nv\r\n"
        );
        assert_eq!(enc(&Reply::Array(vec![])), b"*0\r\n");
    }

    #[test]
    fn errors_are_single_line() {
        assert_eq!(
            enc(&Reply::error("ERR unknown command 'x'")),
            b"-ERR unknown command 'x'\r\n"
        );
        assert_eq!(enc(&Reply::error("ERR a\r\nb\nc\r")), b"-ERR a  b c \r\n");
        assert_eq!(
            enc(&Reply::Simple(Bytes::from_static(b"a\nb"))),
            b"+a b\r\n"
        );
        let mut out = BytesMut::new();
        encode_error_line(&mut out, "ERR Protocol error: invalid bulk length");
        assert_eq!(&out[..], b"-ERR Protocol error: invalid bulk length\r\n");
        out.clear();
        encode_error_line(&mut out, "WRONGTYPE x\ny");
        assert_eq!(&out[..], b"-WRONGTYPE x y\r\n");
    }

    #[test]
    fn nested_arrays() {
        let r = Reply::from(vec![
            Reply::Int(1),
            Reply::Array(vec![Reply::bulk("a"), Reply::Null, Reply::NullArray]),
            Reply::Array(vec![]),
            Reply::error("WRONGTYPE bad"),
            Reply::from(Bytes::from_static(b"xyz")),
        ]);
        assert_eq!(
            enc(&r),
            &b"*5\r\n:1\r\n*3\r\n$1\r\na\r\n$-1\r\n*-1\r\n*0\r\n-WRONGTYPE bad\r\n$3\r\nxyz\r\n"[..]
        );
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = BytesMut::from(&b"+OK\r\n"[..]);
        Reply::Int(7).encode(&mut out);
        assert_eq!(&out[..], b"+OK\r\n:7\r\n");
    }
}
