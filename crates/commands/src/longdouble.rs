//! Redis's 80-bit `long double` arithmetic, emulated exactly, for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis parses both operands with `strtold`, adds them in x87 extended precision (64-bit
//! mantissa) and prints `%.17Lf` without trailing zeros. The replies show that precision (0.1 +
//! 0.2 is `0.3`, but 1000.1 is `1000.09999999999999998`), so the same steps are done here with
//! exact big-integer arithmetic: correctly rounded parsing, a correctly rounded sum, and an exact
//! decimal expansion of the result.

use std::cmp::Ordering;

use crate::error::CmdError;

/// A non-negative big integer (little-endian 64-bit limbs, no high zero limbs).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of significant bits.
    fn bits(&self) -> u64 {
        self.0.last().map_or(0, |&top| {
            (self.0.len() as u64 - 1) * 64 + u64::from(64 - top.leading_zeros())
        })
    }

    fn bit(&self, i: u64) -> bool {
        let w = usize::try_from(i / 64).unwrap_or(usize::MAX);
        self.0.get(w).is_some_and(|x| (x >> (i % 64)) & 1 == 1)
    }

    fn set_bit(&mut self, i: u64) {
        let w = usize::try_from(i / 64).unwrap_or(0);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let w = usize::try_from(i / 64).unwrap_or(usize::MAX);
        let b = i % 64;
        self.0.iter().take(w).any(|&x| x != 0)
            || (b > 0 && self.0.get(w).is_some_and(|&x| x & ((1u64 << b) - 1) != 0))
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for x in self.0.iter_mut() {
            let v = u128::from(*x) * u128::from(m) + carry;
            *x = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u64) {
        let mut carry = u128::from(a);
        for x in self.0.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = u128::from(*x) + carry;
            *x = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let w = usize::try_from(n / 64).unwrap_or(0);
        let b = n % 64;
        let mut out = vec![0u64; w];
        let mut carry = 0u64;
        for &x in &self.0 {
            if b == 0 {
                out.push(x);
            } else {
                out.push((x << b) | carry);
                carry = x >> (64 - b);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        let mut r = Big(out);
        r.trim();
        r
    }

    fn shr(&self, n: u64) -> Big {
        let w = usize::try_from(n / 64).unwrap_or(usize::MAX);
        let b = n % 64;
        let Some(src) = self.0.get(w..) else {
            return Big::zero();
        };
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let hi = if b > 0 {
                src.get(i + 1).map_or(0, |&x| x << (64 - b))
            } else {
                0
            };
            out.push((src[i] >> b) | hi);
        }
        let mut r = Big(out);
        r.trim();
        r
    }

    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    fn add(&self, o: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(o.0.len()) + 1);
        let mut carry = 0u128;
        for i in 0..self.0.len().max(o.0.len()) {
            let v = u128::from(self.0.get(i).copied().unwrap_or(0))
                + u128::from(o.0.get(i).copied().unwrap_or(0))
                + carry;
            out.push(v as u64);
            carry = v >> 64;
        }
        if carry > 0 {
            out.push(carry as u64);
        }
        Big(out)
    }

    /// `self - o`, for `self >= o`.
    fn sub(&self, o: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = false;
        for (i, &x) in self.0.iter().enumerate() {
            let y = o.0.get(i).copied().unwrap_or(0);
            let (d1, b1) = x.overflowing_sub(y);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            out.push(d2);
            borrow = b1 || b2;
        }
        let mut r = Big(out);
        r.trim();
        r
    }

    /// `floor(self / d)` and whether the remainder is non-zero (`d` non-zero).
    fn div(&self, d: &Big) -> (Big, bool) {
        let mut rem = self.clone();
        let mut q = Big::zero();
        let qbits = self.bits().saturating_sub(d.bits()) + 1;
        for i in (0..qbits).rev() {
            let s = d.shl(i);
            if rem.cmp(&s) != Ordering::Less {
                rem = rem.sub(&s);
                q.set_bit(i);
            }
        }
        q.trim();
        (q, !rem.is_zero())
    }

    fn pow10(mut n: u64) -> Big {
        let mut b = Big::from_u64(1);
        while n >= 19 {
            b.mul_small(10u64.pow(19));
            n -= 19;
        }
        b.mul_small(10u64.pow(u32::try_from(n).unwrap_or(0)));
        b
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut chunks = Vec::new();
        let mut cur = self.clone();
        while !cur.is_zero() {
            let mut rem = 0u128;
            for x in cur.0.iter_mut().rev() {
                let v = (rem << 64) | u128::from(*x);
                *x = (v / u128::from(CHUNK)) as u64;
                rem = v % u128::from(CHUNK);
            }
            cur.trim();
            chunks.push(rem as u64);
        }
        let mut s = String::new();
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&c.to_string());
            } else {
                s.push_str(&format!("{c:019}"));
            }
        }
        s
    }
}

/// An x87 extended-precision value: `mant × 2^exp` (mant 0 for zero), or an infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ld {
    Num { neg: bool, mant: u64, exp: i64 },
    Inf(bool),
}

/// Values reach 2^16384 only as infinity.
const LD_MAX_EXP: i64 = 16384;
/// The smallest denormal is 2^-16445.
const LD_MIN_EXP: i64 = -16445;

const LD_ZERO: Ld = Ld::Num {
    neg: false,
    mant: 0,
    exp: 0,
};

/// Rounds `q × 2^e` (plus a non-zero tail below `q` when `sticky`) to a 64-bit mantissa, half
/// to even. With `sticky`, `q` must carry more than 64 bits.
fn ld_round(neg: bool, q: &Big, sticky: bool, e: i64) -> Ld {
    let bits = q.bits();
    if bits == 0 {
        return Ld::Num {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let (mant, exp) = if bits <= 64 {
        (q.shl(64 - bits).low_u64(), e - (64 - bits) as i64)
    } else {
        let drop = bits - 64;
        let mut m = q.shr(drop).low_u64();
        let mut ex = e + drop as i64;
        let half = q.bit(drop - 1);
        let rest = sticky || q.any_below(drop - 1);
        if half && (rest || m & 1 == 1) {
            match m.checked_add(1) {
                Some(v) => m = v,
                None => {
                    m = 1 << 63;
                    ex += 1;
                }
            }
        }
        (m, ex)
    };
    if exp + 64 > LD_MAX_EXP {
        return Ld::Inf(neg);
    }
    Ld::Num { neg, mant, exp }
}

/// An f64 as a long double (exact).
fn ld_from_f64(v: f64) -> Ld {
    if v.is_infinite() {
        return Ld::Inf(v < 0.0);
    }
    let bits = v.to_bits();
    let neg = bits >> 63 == 1;
    let e = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if e == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), e - 1075)
    };
    ld_round(neg, &Big::from_u64(m), false, e)
}

/// Redis's `string2ld`: `strtold` over the whole string, no leading space, no NaN, no range
/// error (overflow, or underflow to zero). None when Redis rejects the string.
fn ld_parse(s: &[u8]) -> Option<Ld> {
    if s.is_empty() || s.len() >= 5 * 1024 || s[0].is_ascii_whitespace() || s[0] == 0x0b {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(Ld::Inf(neg));
    }
    if lower.starts_with(b"0x") {
        let h = crate::cfloat::parse_hex(&body[2..]);
        let (v, used) = (h.value, h.used);
        let digit = |i: usize| body.get(i).is_some_and(u8::is_ascii_hexdigit);
        // strtold reads "0x" with no hex digit after it as a 0 followed by junk.
        if !(digit(2) || (body.get(2) == Some(&b'.') && digit(3)))
            || used + 2 != body.len()
            || !v.is_finite()
            || (v == 0.0
                && body[2..]
                    .iter()
                    .any(|c| c.is_ascii_hexdigit() && *c != b'0'))
        {
            return None;
        }
        return Some(ld_from_f64(if neg { -v } else { v }));
    }
    // Decimal: digits [. digits] [e [sign] digits], all of it.
    let mut digits = Big::zero();
    let mut ndigits = 0usize;
    let mut frac = 0i64;
    let mut i = 0;
    let mut seen_point = false;
    while let Some(&c) = body.get(i) {
        if c.is_ascii_digit() {
            ndigits += 1;
            if !(digits.is_zero() && c == b'0') {
                digits.mul_small(10);
                digits.add_small(u64::from(c - b'0'));
            }
            if seen_point {
                frac += 1;
            }
        } else if c == b'.' && !seen_point {
            seen_point = true;
        } else {
            break;
        }
        i += 1;
    }
    if ndigits == 0 {
        return None;
    }
    let mut exp = 0i64;
    if let Some(b'e' | b'E') = body.get(i) {
        (exp, i) = crate::args::float_exponent(body, i + 1, 1_000_000)?;
    }
    if i != body.len() {
        return None;
    }
    if digits.is_zero() {
        return Some(Ld::Num {
            neg,
            mant: 0,
            exp: 0,
        });
    }
    let e10 = exp - frac;
    // Rough magnitude: beyond the range, strtold reports ERANGE.
    let magnitude = digits.to_decimal().len() as i64 + e10;
    if magnitude > 4934 {
        return None;
    }
    if magnitude < -4953 {
        return None;
    }
    let v = if e10 >= 0 {
        let mut n = digits;
        let p = Big::pow10(e10.unsigned_abs());
        n = mul_big(&n, &p);
        ld_round(neg, &n, false, 0)
    } else {
        let den = Big::pow10(e10.unsigned_abs());
        let k = (66 + den.bits()).saturating_sub(digits.bits());
        let (q, sticky) = digits.shl(k).div(&den);
        ld_round(neg, &q, sticky, -(k as i64))
    };
    match v {
        Ld::Inf(_) => None,
        // Below half the smallest denormal, strtold underflows to zero.
        Ld::Num { exp, .. } if exp + 63 < LD_MIN_EXP - 1 => None,
        v => Some(v),
    }
}

fn mul_big(a: &Big, b: &Big) -> Big {
    let mut out = vec![0u64; a.0.len() + b.0.len() + 1];
    for (i, &x) in a.0.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &y) in b.0.iter().enumerate() {
            let v = u128::from(out[i + j]) + u128::from(x) * u128::from(y) + carry;
            out[i + j] = v as u64;
            carry = v >> 64;
        }
        let mut k = i + b.0.len();
        while carry > 0 {
            let v = u128::from(out[k]) + carry;
            out[k] = v as u64;
            carry = v >> 64;
            k += 1;
        }
    }
    let mut r = Big(out);
    r.trim();
    r
}

/// The correctly rounded sum; None for NaN (opposite infinities).
fn ld_add(a: Ld, b: Ld) -> Option<Ld> {
    let (
        Ld::Num {
            neg: na,
            mant: ma,
            exp: ea,
        },
        Ld::Num {
            neg: nb,
            mant: mb,
            exp: eb,
        },
    ) = (a, b)
    else {
        return match (a, b) {
            (Ld::Inf(x), Ld::Inf(y)) if x != y => None,
            (Ld::Inf(x), _) | (_, Ld::Inf(x)) => Some(Ld::Inf(x)),
            _ => None,
        };
    };
    if ma == 0 && mb == 0 {
        return Some(Ld::Num {
            neg: na && nb,
            mant: 0,
            exp: 0,
        });
    }
    if ma == 0 {
        return Some(b);
    }
    if mb == 0 {
        return Some(a);
    }
    let e = ea.min(eb);
    let x = Big::from_u64(ma).shl((ea - e).unsigned_abs());
    let y = Big::from_u64(mb).shl((eb - e).unsigned_abs());
    let (neg, sum) = if na == nb {
        (na, x.add(&y))
    } else {
        match x.cmp(&y) {
            Ordering::Equal => return Some(LD_ZERO),
            Ordering::Greater => (na, x.sub(&y)),
            Ordering::Less => (nb, y.sub(&x)),
        }
    };
    Some(ld_round(neg, &sum, false, e))
}

/// `ld2string(LD_STR_HUMAN)`: `%.17Lf`, trailing zeros (and a bare point) dropped, `-0` as `0`.
fn ld_human(v: Ld) -> String {
    let (neg, mant, exp) = match v {
        Ld::Inf(n) => return if n { "-inf".into() } else { "inf".into() },
        Ld::Num { neg, mant, exp } => (neg, mant, exp),
    };
    let sign = if neg { "-" } else { "" };
    if exp >= 0 {
        let int = Big::from_u64(mant).shl(exp.unsigned_abs()).to_decimal();
        return trim_human(format!("{sign}{int}"));
    }
    let mut n = Big::from_u64(mant);
    n = mul_big(&n, &Big::pow10(17));
    let sh = exp.unsigned_abs();
    let mut q = n.shr(sh);
    if n.bit(sh - 1) && (n.any_below(sh - 1) || q.low_u64() & 1 == 1) {
        q.add_small(1);
    }
    let mut digits = q.to_decimal();
    while digits.len() < 18 {
        digits.insert(0, '0');
    }
    let (int, frac) = digits.split_at(digits.len() - 17);
    trim_human(format!("{sign}{int}.{frac}"))
}

/// Drops trailing fractional zeros (and the point), and turns `-0` into `0`.
fn trim_human(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// HINCRBYFLOAT's value: `current + increment` as Redis computes and prints it. Errors as
/// Redis: the increment (`value is not a valid float`, `value is NaN or Infinity`), the stored
/// value (`hash value is not a float`), the result (`increment would produce NaN or Infinity`).
/// `current` None is a missing field (0).
pub(crate) fn hincrbyfloat_value(current: Option<&[u8]>, incr: &[u8]) -> Result<String, CmdError> {
    let by = ld_parse(incr).ok_or(CmdError::NotFloat)?;
    if matches!(by, Ld::Inf(_)) {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let old = match current {
        Some(v) => ld_parse(v).ok_or_else(|| CmdError::err("hash value is not a float"))?,
        None => LD_ZERO,
    };
    match ld_add(old, by) {
        Some(v @ Ld::Num { .. }) => Ok(ld_human(v)),
        _ => Err(CmdError::NanOrInfinity),
    }
}

/// INCRBYFLOAT's value: `current + increment` as Redis computes and prints it. Both operands
/// must parse (`value is not a valid float`, Redis's `getLongDoubleFromObjectOrReply`); an
/// infinite or NaN result is `increment would produce NaN or Infinity`. `current` None is a
/// missing key (0).
pub(crate) fn incrbyfloat_value(current: Option<&[u8]>, incr: &[u8]) -> Result<String, CmdError> {
    let old = match current {
        Some(v) => ld_parse(v).ok_or(CmdError::NotFloat)?,
        None => LD_ZERO,
    };
    let by = ld_parse(incr).ok_or(CmdError::NotFloat)?;
    match ld_add(old, by) {
        Some(v @ Ld::Num { .. }) => Ok(ld_human(v)),
        _ => Err(CmdError::NanOrInfinity),
    }
}
