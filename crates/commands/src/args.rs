//! Parsing of command arguments with Redis's strictness (string2ll, string2ld).

use bytes::Bytes;

use crate::error::CmdError;

/// Parses an integer exactly as Redis's `string2ll`: optional `-`, no `+`, no spaces, no
/// leading zeros, within i64.
pub fn parse_i64(b: &[u8]) -> Result<i64, CmdError> {
    parse_i64_opt(b).ok_or(CmdError::NotInteger)
}

/// `parse_i64` without the error.
pub fn parse_i64_opt(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a float with no surrounding spaces and no NaN (blocking timeouts).
pub fn parse_f64_opt(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty()
        || s.len() > 5000
        || s.starts_with(|c: char| c.is_ascii_whitespace())
        || s.ends_with(|c: char| c.is_ascii_whitespace())
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// The exponent of a C float literal, starting just after its `e` or `p` marker at `s[at..]`:
/// an optional sign, then decimal digits. Returns the signed value (its magnitude saturating at
/// `cap`) and the index past the digits; None when no digit follows, where `strtod` leaves the
/// marker unconsumed.
pub(crate) fn float_exponent(s: &[u8], at: usize, cap: i64) -> Option<(i64, usize)> {
    let (neg, mut k) = match s.get(at) {
        Some(b'-') => (true, at + 1),
        Some(b'+') => (false, at + 1),
        _ => (false, at),
    };
    if !s.get(k).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut e = 0i64;
    while let Some(c) = s.get(k).filter(|c| c.is_ascii_digit()) {
        e = e
            .saturating_mul(10)
            .saturating_add(i64::from(c - b'0'))
            .min(cap);
        k += 1;
    }
    Some((if neg { -e } else { e }, k))
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// An argument as (lossy) UTF-8, for error messages and config values.
pub fn text(arg: &Bytes) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64_opt(b"0"), Some(0));
        assert_eq!(parse_i64_opt(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_opt(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b"9223372036854775808"[..],
            b"+1",
            b" 1",
            b"01",
            b"-0",
            b"",
            b"-",
            b"1a",
            b"1.0",
        ] {
            assert_eq!(
                parse_i64_opt(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64_opt(b"1.5e3"), Some(1500.0));
        assert_eq!(parse_f64_opt(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64_opt(b"nan"), None);
        assert_eq!(parse_f64_opt(b" 1"), None);
    }
}
