//! C's `strtod` as glibc implements it. Redis hands scores, range bounds and SORT weights to
//! `strtod` and then judges the result (bytes left over, NaN, `errno == ERANGE`) differently in
//! each place, so this module reports what `strtod` reports and leaves the judging to callers.

use crate::args::float_exponent;

/// What `strtod` returns for the longest prefix of its input that it accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CDouble {
    /// The value, signed; ±inf on overflow, 0 when nothing was converted.
    pub value: f64,
    /// Bytes consumed, leading white space and sign included; 0 when nothing was converted
    /// (C's end pointer is then the start of the input, not past the white space).
    pub used: usize,
    /// `errno == ERANGE`: the value overflowed, or underflowed inexactly to zero or a subnormal.
    pub erange: bool,
}

/// C's `isspace` in the C locale.
pub(crate) fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C's `strtod` over `s`: leading white space, a sign, then `inf`/`infinity`, `nan`, a hex
/// float after `0x`, or a decimal, all case-insensitive.
pub(crate) fn strtod(s: &[u8]) -> CDouble {
    const NONE: CDouble = CDouble {
        value: 0.0,
        used: 0,
        erange: false,
    };
    let mut i = s.iter().position(|&c| !is_c_space(c)).unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let body = &s[i..];
    let sign = |v: f64| if neg { -v } else { v };
    let starts = |kw: &[u8]| {
        body.get(..kw.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(kw))
    };
    let (value, used, erange) = if starts(b"inf") {
        let n = if starts(b"infinity") { 8 } else { 3 };
        (f64::INFINITY, n, false)
    } else if starts(b"nan") {
        // Every caller rejects NaN, so the optional "(chars)" after it is not consumed.
        (f64::NAN, 3, false)
    } else if starts(b"0x")
        && (body.get(2).is_some_and(u8::is_ascii_hexdigit)
            || (body.get(2) == Some(&b'.') && body.get(3).is_some_and(u8::is_ascii_hexdigit)))
    {
        let h = parse_hex(&body[2..]);
        // A tiny result is exact when no set bit of the mantissa falls below 2^-1074.
        let tiny = h.nonzero && (h.value == 0.0 || h.value.is_subnormal());
        let erange = h.value.is_infinite() || (tiny && h.low_bit < -1074);
        (h.value, h.used + 2, erange)
    } else {
        match parse_dec(body) {
            // A decimal that is exactly a subnormal needs hundreds of digits: a tiny decimal
            // result is taken as inexact.
            Some((v, n, nonzero)) => (
                v,
                n,
                v.is_infinite() || (nonzero && (v == 0.0 || v.is_subnormal())),
            ),
            None => return NONE,
        }
    };
    CDouble {
        value: sign(value),
        used: i + used,
        erange,
    }
}

/// A decimal prefix: `(value, bytes used, mantissa had a non-zero digit)`; None when there is
/// no digit at all (no conversion).
fn parse_dec(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut i = 0;
    let mut digits = 0;
    let mut nonzero = false;
    let mut run = |i: &mut usize| {
        while let Some(c) = s.get(*i).filter(|c| c.is_ascii_digit()) {
            nonzero |= *c != b'0';
            digits += 1;
            *i += 1;
        }
    };
    run(&mut i);
    if s.get(i) == Some(&b'.') {
        i += 1;
        run(&mut i);
    }
    if digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        if let Some((_, k)) = float_exponent(s, i + 1, i64::MAX) {
            i = k;
        }
    }
    // Rust's parser rounds correctly, as glibc's does.
    let v: f64 = std::str::from_utf8(&s[..i]).ok()?.parse().ok()?;
    Some((v, i, nonzero))
}

/// A hexadecimal float after its `0x`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HexFloat {
    pub value: f64,
    /// Bytes used (after the `0x`).
    pub used: usize,
    /// Whether a mantissa digit is non-zero.
    pub nonzero: bool,
    /// The binary exponent of the mantissa's lowest set bit, exponent applied.
    low_bit: i64,
}

/// Hex digits, an optional fraction, an optional binary exponent (`p`).
pub(crate) fn parse_hex(s: &[u8]) -> HexFloat {
    let mut i = 0;
    let mut v = 0.0f64;
    let mut scale = 0i64;
    let mut low_bit = i64::MAX;
    let val = |c: u8| char::from(c).to_digit(16);
    let mut fraction = false;
    loop {
        match s.get(i) {
            Some(b'.') if !fraction => fraction = true,
            Some(&c) => match val(c) {
                Some(d) => {
                    v = v * 16.0 + f64::from(d);
                    if fraction {
                        scale -= 4;
                    }
                    // Weights relative to the last digit read; shifted below once all are known.
                    low_bit = if d != 0 {
                        i64::from(d.trailing_zeros())
                    } else {
                        low_bit.saturating_add(4)
                    };
                }
                None => break,
            },
            None => break,
        }
        i += 1;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        if let Some((e, k)) = float_exponent(s, i + 1, 100_000) {
            scale += e;
            i = k;
        }
    }
    // In two steps, so that a result near the subnormal range is rounded once, not flushed to
    // zero by a power of two that is itself out of range.
    let exp = i32::try_from(scale.clamp(-100_000, 100_000)).unwrap_or(0);
    HexFloat {
        value: v * 2f64.powi(exp / 2) * 2f64.powi(exp - exp / 2),
        used: i,
        nonzero: low_bit != i64::MAX,
        low_bit: low_bit.saturating_add(scale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> (f64, usize, bool) {
        let r = strtod(s.as_bytes());
        (r.value, r.used, r.erange)
    }

    #[test]
    fn prefixes_and_end_pointer() {
        assert_eq!(c(" 1.5x"), (1.5, 4, false));
        assert_eq!(c("-.5e-1"), (-0.05, 6, false));
        assert_eq!(c("1e"), (1.0, 1, false));
        assert_eq!(c("1e+"), (1.0, 1, false));
        assert_eq!(c("0x"), (0.0, 1, false));
        assert_eq!(c("0X10"), (16.0, 4, false));
        assert_eq!(c("0x.8"), (0.5, 4, false));
        assert_eq!(c("0x1P3"), (8.0, 5, false));
        assert_eq!(c("infinit"), (f64::INFINITY, 3, false));
        assert_eq!(c("-Infinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(c("   "), (0.0, 0, false));
        assert_eq!(c(".e1"), (0.0, 0, false));
        assert!(strtod(b"nan").value.is_nan());
    }

    #[test]
    fn erange_as_glibc_reports_it() {
        assert_eq!(c("1e309"), (f64::INFINITY, 5, true));
        assert_eq!(c("1e-400"), (0.0, 6, true));
        // Subnormal: inexact from a decimal, exact (no ERANGE) from a short hex mantissa.
        assert!(c("1e-320").2);
        assert!(!c("0x1p-1070").2);
        assert!(!c("0x1p-1074").2);
        assert!(c("0x1p-1075").2);
        assert!(c("0x3p-1075").2);
        assert!(!c("0x2p-1075").2);
        assert!(!c("0x0.0008p-1061").2);
        assert_eq!(c("0x2p-1075").0, 2f64.powi(-537) * 2f64.powi(-537));
        assert!(c("0x1p-2000").2);
        assert!(c("0x1p2000").2);
        assert!(!c("0x0p-2000").2);
        assert!(!c("0e-999").2);
    }
}
