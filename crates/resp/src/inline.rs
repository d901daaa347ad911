//! Inline commands: the `telnet`-friendly form `SET k "v w"\r\n`.
//!
//! Splitting is a port of Redis's `sdssplitargs`, quirks included (a quote may
//! open mid-token, `\v`/`\f` are skipped between tokens but do not end one,
//! unknown escapes in double quotes yield the escaped byte), because scripts
//! that talk to Redis by hand rely on it. Unquoted tokens are zero-copy slices
//! of the line.

use bytes::Bytes;

use crate::error::ProtocolError;

/// C `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(b: Option<&u8>) -> Option<u8> {
    match b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits one inline line (without its line terminator) into arguments using
/// Redis's `sdssplitargs` rules.
///
/// Whitespace separates arguments; `"double quotes"` understand `\n \r \t \b
/// \a \\ \"` and `\xHH`; `'single quotes'` understand only `\'`; a closing
/// quote must be followed by whitespace or the end of the line. Like the C
/// original, the line ends at its first NUL byte. A blank line yields no
/// arguments.
pub fn split_args(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    // sdssplitargs works on a C string: a NUL ends the input.
    let s = line.split(|&b| b == 0).next().unwrap_or_default();
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while s.get(p).is_some_and(|&b| is_space(b)) {
            p += 1;
        }
        if p >= s.len() {
            return Ok(args);
        }
        let start = p;
        let mut owned: Option<Vec<u8>> = None; // Some once a quote opened
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = s.get(p).copied();
            if in_dq {
                let cur = owned.get_or_insert_with(Vec::new);
                match c {
                    Some(b'\\') if s.get(p + 1) == Some(&b'x') => {
                        match (hex_val(s.get(p + 2)), hex_val(s.get(p + 3))) {
                            (Some(hi), Some(lo)) => {
                                cur.push(hi * 16 + lo);
                                p += 3;
                            }
                            _ => {
                                cur.push(b'x');
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if p + 1 < s.len() => {
                        p += 1;
                        cur.push(match s.get(p).copied().unwrap_or_default() {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if s.get(p + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        args.push(Bytes::from(owned.take().unwrap_or_default()));
                        p += 1;
                        break;
                    }
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b) => cur.push(b),
                }
            } else if in_sq {
                let cur = owned.get_or_insert_with(Vec::new);
                match c {
                    Some(b'\\') if s.get(p + 1) == Some(&b'\'') => {
                        cur.push(b'\'');
                        p += 1;
                    }
                    Some(b'\'') => {
                        if s.get(p + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        args.push(Bytes::from(owned.take().unwrap_or_default()));
                        p += 1;
                        break;
                    }
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b) => cur.push(b),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        // No quote was seen: the token is a plain slice.
                        args.push(line.slice(start..p));
                        if c.is_some() {
                            p += 1;
                        }
                        break;
                    }
                    Some(q @ (b'"' | b'\'')) => {
                        owned = Some(s.get(start..p).unwrap_or_default().to_vec());
                        in_dq = q == b'"';
                        in_sq = q == b'\'';
                    }
                    Some(_) => {}
                }
            }
            if p < s.len() {
                p += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        split_args(&Bytes::copy_from_slice(s)).map(|v| v.into_iter().map(|b| b.to_vec()).collect())
    }

    fn ok(s: &[u8]) -> Vec<Vec<u8>> {
        match split(s) {
            Ok(v) => v,
            Err(e) => panic!("{:?} failed: {e}", String::from_utf8_lossy(s)),
        }
    }

    fn v(items: &[&[u8]]) -> Vec<Vec<u8>> {
        items.iter().map(|i| i.to_vec()).collect()
    }

    #[test]
    fn plain_tokens() {
        assert_eq!(ok(b"set a b"), v(&[b"set", b"a", b"b"]));
        assert_eq!(ok(b"  get\t\tkey  "), v(&[b"get", b"key"]));
        assert!(ok(b"").is_empty());
        assert!(ok(b" \t \x0b\x0c ").is_empty());
    }

    #[test]
    fn brief_example() {
        assert_eq!(
            ok(br#"set "a b" 'c\'d' "\x41""#),
            v(&[b"set", b"a b", b"c'd", b"A"])
        );
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(ok(br#""\n\r\t\b\a\\\"\z""#), v(&[b"\n\r\t\x08\x07\\\"z"]));
        assert_eq!(ok(br#""\x4g""#), v(&[b"x4g"]));
        assert_eq!(ok(br#""\xff\x00""#), v(&[b"\xff\x00"]));
        assert_eq!(ok(br#""""#), v(&[b""]));
        assert_eq!(ok(br#""a'b""#), v(&[b"a'b"]));
    }

    #[test]
    fn single_quote_escapes() {
        assert_eq!(ok(br"'a\nb'"), v(&[br"a\nb"]));
        assert_eq!(ok(br"'it\'s'"), v(&[b"it's"]));
        assert_eq!(ok(br#"'a"b'"#), v(&[b"a\"b"]));
        assert_eq!(ok(b"''"), v(&[b""]));
    }

    #[test]
    fn quote_opening_mid_token_joins_prefix() {
        assert_eq!(ok(br#"ab"c d" e"#), v(&[b"abc d", b"e"]));
        assert_eq!(ok(br"x'y z'"), v(&[b"xy z"]));
    }

    #[test]
    fn vertical_tab_does_not_end_a_token() {
        assert_eq!(ok(b"a\x0bb c"), v(&[b"a\x0bb", b"c"]));
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(ok(b"get a\0b c"), v(&[b"get", b"a"]));
    }

    #[test]
    fn unbalanced_quotes() {
        for bad in [
            &br#"set "abc"#[..],
            br"set 'abc",
            br#""a"b"#,
            br"'a'b",
            br#""abc\"#,
            br#""abc\""#,
            br"'abc\'",
        ] {
            assert_eq!(split(bad), Err(ProtocolError::UnbalancedQuotes), "{bad:?}");
        }
        assert_eq!(
            ProtocolError::UnbalancedQuotes.to_string(),
            "Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn closing_quote_followed_by_space_ok() {
        assert_eq!(ok(b"\"a\"\tb"), v(&[b"a", b"b"]));
        assert_eq!(ok(b"'a'\x0bb"), v(&[b"a", b"b"]));
    }
}
