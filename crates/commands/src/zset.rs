//! Sorted-set commands (ZADD, ZRANGE, ...): a member record and a score-index record per member.
//!
//! A member's record in the sub family holds its score (`score_bits`, 8 bytes); the score
//! family holds one empty record per member under `score_bits(score) | member`, which is
//! Redis's order (score, then member bytes). Ranges by score and by lex seek in the score
//! index and read only what they return; ranges by rank seek from the nearer end and skip
//! (there is no order-statistics tree, so ZRANK, ZCOUNT and ZLEXCOUNT count by iterating).
//!
//! Element reads do not see writes staged earlier in the same command, so handlers that touch
//! a member twice (ZADD z 1 a 2 a) keep an overlay of what they staged.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use rand::Rng;
use strata_keyspace::{score_bits, score_from_bits, Coll, CollHeader, CollRead, Kind, Txn};
use strata_resp::Reply;

use crate::args::{is, parse_i64, parse_i64_opt};
use crate::cfloat;
use crate::ctx::{with_txn, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::hash::elems_of;
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// Result of a helper.
type Res<T> = Result<T, CmdError>;

/// Opens `key` as a sorted set: None when missing, `WrongType` for another type.
fn open(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Res<Option<Coll>> {
    match t.coll(db, key, Kind::ZSet)? {
        CollRead::Missing => Ok(None),
        CollRead::WrongType => Err(CmdError::WrongType),
        CollRead::Found(c) => Ok(Some(c)),
    }
}

/// [`open`] for reads: a missing key counts as a keyspace miss (and raises `keymiss`).
fn open_read(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Res<Option<Coll>> {
    if t.lookup(db, key)?.is_none() {
        return Ok(None);
    }
    open(t, db, key)
}

/// A score-index suffix decoded into its member and score.
fn decode(suffix: Bytes) -> (Bytes, f64) {
    let score = score_from_bits(&suffix);
    let member = suffix.slice(suffix.len().min(8)..);
    (member, score)
}

/// Stages the removal of `member` (with its current `score`) and updates the header.
fn remove_member(t: &mut Txn<'_>, c: &mut Coll, member: &[u8], score: f64) {
    t.elem_del(c, member);
    t.score_del(c, score, member);
    c.h.len = c.h.len.saturating_sub(1);
    c.h.bytes = c.h.bytes.saturating_sub(member.len() as u64 + 8);
}

/// Pops up to `count` members from the low (`max == false`) or high end of the sorted set at
/// `key`, staging the writes in `t`. Ok(None) when the key does not exist; Err(CmdError::WrongType) for another type.
pub(crate) fn zpop(
    t: &mut Txn<'_>,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, CmdError> {
    let Some(mut c) = open(t, db, key)? else {
        return Ok(None);
    };
    if count == 0 {
        return Ok(Some(Vec::new()));
    }
    let page = t.score_range(&c, None, None, max, count)?;
    let out: Vec<(Bytes, f64)> = page.into_iter().map(|(s, _)| decode(s)).collect();
    for (m, s) in &out {
        remove_member(t, &mut c, m, *s);
    }
    t.coll_save(&c)?;
    t.note_pops(&c, out.len() as u64);
    if !out.is_empty() {
        notify_zset(t, db, &c, if max { "zpopmax" } else { "zpopmin" });
    }
    Ok(Some(out))
}

/// Queues a sorted-set command's event, and `del` when it emptied the set.
fn notify_zset(t: &mut Txn<'_>, db: usize, c: &Coll, event: &'static str) {
    t.notify(ev::ZSET, event, db, &c.key);
    if c.h.len == 0 {
        t.notify(ev::GENERIC, "del", db, &c.key);
    }
}

/// A score as Redis replies it in RESP2 (a bulk string: "1", "1.5", "inf", "-inf", "0.10000000000000001" — %.17g semantics).
pub(crate) fn fmt_score(score: f64) -> Bytes {
    // Whole scores (counters, timestamps, ranks) print as integers under `%.17g` up to 1e17;
    // `g17`'s correctly rounded route through 17 digits cost more than the rest of a ZPOPMIN.
    // -0 keeps its sign there, so it takes the long way.
    if score.fract() == 0.0 && score.abs() < 1e15 && !(score == 0.0 && score.is_sign_negative()) {
        return Bytes::copy_from_slice(itoa::Buffer::new().format(score as i64).as_bytes());
    }
    Bytes::from(g17(score))
}

/// C's `%.17g`.
fn g17(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // 17 significant digits, correctly rounded: d.dddddddddddddddde<exp>.
    let sci = format!("{:.16e}", v.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let body = if (-4..17).contains(&exp) {
        let s = if exp >= 0 {
            let split = (exp as usize + 1).min(digits.len());
            format!("{}.{}", &digits[..split], &digits[split..])
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        };
        strip_zeros(&s)
    } else {
        let m = strip_zeros(&format!("{}.{}", &digits[..1], &digits[1..]));
        format!(
            "{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    };
    format!("{sign}{body}")
}

/// Removes trailing fractional zeros and a trailing point.
fn strip_zeros(s: &str) -> String {
    if !s.contains('.') {
        return s.to_string();
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Redis 7.0's `zset-max-listpack-entries`: more members make a skiplist.
const MAX_LISTPACK_ENTRIES: u64 = 128;
/// Redis 7.0's `zset-max-listpack-value`: a longer member makes a skiplist.
const MAX_LISTPACK_VALUE: usize = 64;
/// Records read per storage call when walking.
const PAGE: usize = 1024;

/// The score-index suffix of a member.
fn suffix(score: f64, member: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + member.len());
    v.extend_from_slice(&score_bits(score));
    v.extend_from_slice(member);
    v
}

/// The order-preserving bits of a score as an integer.
fn bits(score: f64) -> u64 {
    u64::from_be_bytes(score_bits(score))
}

/// The stored score of a member, if it is one.
fn get_score(t: &Txn<'_>, c: &Coll, member: &[u8]) -> Res<Option<f64>> {
    Ok(t.elem_get(c, member)?.map(|v| score_from_bits(&v)))
}

/// Stages `member` at `score` (`old`: its current score, if a member) and updates the header.
fn put_member(t: &mut Txn<'_>, c: &mut Coll, member: &[u8], old: Option<f64>, score: f64) {
    match old {
        Some(o) => t.score_del(c, o, member),
        None => {
            c.h.len += 1;
            c.h.bytes += member.len() as u64 + 8;
            if c.h.len > MAX_LISTPACK_ENTRIES || member.len() > MAX_LISTPACK_VALUE {
                c.h.flags |= CollHeader::BIG;
            }
        }
    }
    t.elem_write(c, member, &score_bits(score), old.is_some());
    t.score_put(c, score, member);
}

/// A half-open range of score-index suffixes (None: open end).
#[derive(Debug, Clone, Default)]
struct Span {
    from: Option<Vec<u8>>,
    to: Option<Vec<u8>>,
}

impl Span {
    /// The whole index.
    fn all() -> Span {
        Span::default()
    }

    /// Whether the range is certainly empty.
    fn is_empty(&self) -> bool {
        matches!((&self.from, &self.to), (Some(a), Some(b)) if a >= b)
    }
}

/// Walks the score index over `span`, forward or reversed, skipping `skip` entries and
/// returning up to `take`, reading pages of at most [`PAGE`] records.
fn walk(
    t: &Txn<'_>,
    c: &Coll,
    span: &Span,
    reverse: bool,
    mut skip: usize,
    take: usize,
) -> Res<Vec<(Bytes, f64)>> {
    let mut out = Vec::new();
    if span.is_empty() || take == 0 {
        return Ok(out);
    }
    let (mut lo, mut hi) = (span.from.clone(), span.to.clone());
    loop {
        let want = skip.saturating_add(take - out.len()).min(PAGE);
        let page = t.score_range(c, lo.as_deref(), hi.as_deref(), reverse, want)?;
        let n = page.len();
        if let Some((last, _)) = page.last() {
            if reverse {
                hi = Some(last.to_vec());
            } else {
                let mut l = last.to_vec();
                l.push(0);
                lo = Some(l);
            }
        }
        for (s, _) in page {
            if skip > 0 {
                skip -= 1;
            } else if out.len() < take {
                out.push(decode(s));
            }
        }
        if n < want || out.len() >= take {
            return Ok(out);
        }
    }
}

/// Number of score-index entries in `span`.
fn count(t: &Txn<'_>, c: &Coll, span: &Span) -> Res<u64> {
    let mut n = 0u64;
    if span.is_empty() {
        return Ok(0);
    }
    let mut lo = span.from.clone();
    loop {
        let page = t.score_range(c, lo.as_deref(), span.to.as_deref(), false, PAGE)?;
        n += page.len() as u64;
        match page.last() {
            Some((last, _)) if page.len() == PAGE => {
                let mut l = last.to_vec();
                l.push(0);
                lo = Some(l);
            }
            _ => return Ok(n),
        }
    }
}

/// The members at forward ranks `lo..=hi` (valid ranks), in forward order, read from the
/// nearer end.
fn by_rank(t: &Txn<'_>, c: &Coll, lo: u64, hi: u64) -> Res<Vec<(Bytes, f64)>> {
    let len = c.h.len;
    let n = usize::try_from(hi - lo + 1).unwrap_or(usize::MAX);
    let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    if lo <= len.saturating_sub(1).saturating_sub(hi) {
        walk(t, c, &Span::all(), false, to_usize(lo), n)
    } else {
        let mut v = walk(t, c, &Span::all(), true, to_usize(len - 1 - hi), n)?;
        v.reverse();
        Ok(v)
    }
}

/// Redis's start/end normalization of a rank range; None when empty.
fn rank_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    };
    let mut end = if end < 0 {
        len.saturating_add(end)
    } else {
        end
    };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as u64, end as u64))
}

/// A member and its score as reply items.
fn push_item(out: &mut Vec<Reply>, m: &Bytes, s: f64, withscores: bool) {
    out.push(Reply::Bulk(m.clone()));
    if withscores {
        out.push(Reply::Bulk(fmt_score(s)));
    }
}

/// Flat `[member, score?, ...]` reply.
fn items_reply(items: &[(Bytes, f64)], withscores: bool) -> Reply {
    let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
    for (m, s) in items {
        push_item(&mut out, m, *s, withscores);
    }
    Reply::Array(out)
}

/// Writes `items` (distinct members) as a fresh sorted set at `dst`, replacing whatever is
/// there; no items deletes `dst`. Returns the count. `event` is the command's name, raised on
/// `dst` (or `del` when an existing `dst` was deleted).
fn store(
    t: &mut Txn<'_>,
    db: usize,
    dst: &[u8],
    items: &[(Bytes, f64)],
    event: &'static str,
) -> Res<Reply> {
    let mut d = t.coll_new(db, dst, Kind::ZSet);
    for (m, s) in items {
        put_member(t, &mut d, m, None, *s);
    }
    if items.is_empty() {
        if t.delete(db, dst)? {
            t.notify(ev::GENERIC, "del", db, dst);
        }
    } else {
        t.coll_save(&d)?;
        t.notify(ev::ZSET, event, db, dst);
    }
    Ok(Reply::Int(items.len() as i64))
}

/// The integer reply of a length.
fn int(n: u64) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Float parsing (strtod's rules as Redis applies them)
// ---------------------------------------------------------------------------------------------

/// Redis's `getDoubleFromObject`: a whole, non-empty number, no leading space, no NaN, no
/// overflow or underflow.
fn parse_score_opt(b: &[u8]) -> Option<f64> {
    if b.first().is_none_or(|&c| cfloat::is_c_space(c)) {
        return None;
    }
    let r = cfloat::strtod(b);
    let out_of_range = r.erange && (r.value.is_infinite() || r.value == 0.0);
    (r.used == b.len() && !r.value.is_nan() && !out_of_range).then_some(r.value)
}

/// A score argument (`ERR value is not a valid float`).
fn parse_score(b: &[u8]) -> Res<f64> {
    parse_score_opt(b).ok_or(CmdError::NotFloat)
}

/// One end of a score range as `zslParseRange` reads it: `(` for exclusive, strtod's rules
/// (leading spaces and the empty string allowed), no NaN.
fn parse_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (ex, rest) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    // C's end pointer stays at the start when nothing converts: only "" reads as 0 then.
    let r = cfloat::strtod(rest);
    let whole = if r.used == 0 {
        rest.is_empty()
    } else {
        r.used == rest.len()
    };
    (whole && !r.value.is_nan()).then_some((r.value, ex))
}

/// A score range `[min, max]` with exclusive ends.
#[derive(Debug, Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    /// Parses `min max` (`ERR min or max is not a float`).
    fn parse(min: &[u8], max: &[u8]) -> Res<ScoreRange> {
        match (parse_bound(min), parse_bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
                min,
                minex,
                max,
                maxex,
            }),
            _ => Err(CmdError::err("min or max is not a float")),
        }
    }

    /// The score-index span of the range.
    fn span(&self) -> Span {
        let lo = bits(self.min);
        let lo = if self.minex { lo.saturating_add(1) } else { lo };
        let hi = bits(self.max);
        let to = if self.maxex {
            Some(hi)
        } else {
            hi.checked_add(1)
        };
        Span {
            from: Some(lo.to_be_bytes().to_vec()),
            to: to.map(|v| v.to_be_bytes().to_vec()),
        }
    }
}

/// One end of a lex range.
#[derive(Debug, Clone)]
enum Lex {
    /// `-`
    Min,
    /// `+`
    Max,
    /// `[member`
    Incl(Bytes),
    /// `(member`
    Excl(Bytes),
}

impl Lex {
    fn parse(b: &Bytes) -> Option<Lex> {
        match b.first() {
            Some(b'-') if b.len() == 1 => Some(Lex::Min),
            Some(b'+') if b.len() == 1 => Some(Lex::Max),
            Some(b'[') => Some(Lex::Incl(b.slice(1..))),
            Some(b'(') => Some(Lex::Excl(b.slice(1..))),
            _ => None,
        }
    }
}

/// A lex range `min max`.
#[derive(Debug, Clone)]
struct LexRange {
    min: Lex,
    max: Lex,
}

impl LexRange {
    /// Parses `min max` (`ERR min or max not valid string range item`).
    fn parse(min: &Bytes, max: &Bytes) -> Res<LexRange> {
        match (Lex::parse(min), Lex::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::err("min or max not valid string range item")),
        }
    }

    /// Whether `m` is at or past the lower end.
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= &x[..],
            Lex::Excl(x) => m > &x[..],
        }
    }

    /// Whether `m` is at or before the upper end.
    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::Max => true,
            Lex::Min => false,
            Lex::Incl(x) => m <= &x[..],
            Lex::Excl(x) => m < &x[..],
        }
    }

    /// Redis's check that `min` is not past `max`.
    fn ends_ordered(&self) -> bool {
        use std::cmp::Ordering;
        fn rank(l: &Lex) -> (u8, &[u8], bool) {
            match l {
                Lex::Min => (0, b"", false),
                Lex::Incl(x) => (1, x, false),
                Lex::Excl(x) => (1, x, true),
                Lex::Max => (2, b"", false),
            }
        }
        let (a, b) = (rank(&self.min), rank(&self.max));
        match (a.0, a.1).cmp(&(b.0, b.1)) {
            Ordering::Greater => false,
            Ordering::Equal => !(a.2 || b.2),
            Ordering::Less => true,
        }
    }

    /// The members in range (reversed: from the top), skipping `skip` and taking `take`.
    /// When every member has the same score (Redis's contract for lex ranges) this seeks in
    /// the score index; otherwise it replays Redis's listpack walk over the whole set, so even
    /// out-of-contract sets answer as Redis's small encoding does.
    fn select(
        &self,
        t: &Txn<'_>,
        c: &Coll,
        rev: bool,
        skip: usize,
        take: usize,
    ) -> Res<Vec<(Bytes, f64)>> {
        if take == 0 || !self.ends_ordered() {
            return Ok(Vec::new());
        }
        if let Some(span) = self.span(t, c)? {
            return walk(t, c, &span, rev, skip, take);
        }
        let all = walk(t, c, &Span::all(), false, 0, usize::MAX)?;
        let (Some(first), Some(last)) = (all.first(), all.last()) else {
            return Ok(Vec::new());
        };
        if !self.gte_min(&last.0) || !self.lte_max(&first.0) {
            return Ok(Vec::new());
        }
        let out = if rev {
            let Some(e) = all.iter().rposition(|(m, _)| self.lte_max(m)) else {
                return Ok(Vec::new());
            };
            if !self.gte_min(&all[e].0) {
                return Ok(Vec::new());
            }
            all[..=e]
                .iter()
                .rev()
                .skip(skip)
                .take_while(|(m, _)| self.gte_min(m))
                .take(take)
                .cloned()
                .collect()
        } else {
            let Some(s) = all.iter().position(|(m, _)| self.gte_min(m)) else {
                return Ok(Vec::new());
            };
            if !self.lte_max(&all[s].0) {
                return Ok(Vec::new());
            }
            all[s..]
                .iter()
                .skip(skip)
                .take_while(|(m, _)| self.lte_max(m))
                .take(take)
                .cloned()
                .collect()
        };
        Ok(out)
    }

    /// How many members are in range (ZLEXCOUNT).
    fn count(&self, t: &Txn<'_>, c: &Coll) -> Res<u64> {
        if !self.ends_ordered() {
            return Ok(0);
        }
        match self.span(t, c)? {
            Some(span) => count(t, c, &span),
            None => Ok(self.select(t, c, false, 0, usize::MAX)?.len() as u64),
        }
    }

    /// The score-index span when all members share one score (the lowest equals the
    /// highest); None otherwise or when the set is empty.
    fn span(&self, t: &Txn<'_>, c: &Coll) -> Res<Option<Span>> {
        let Some((_, s0)) = walk(t, c, &Span::all(), false, 0, 1)?.pop() else {
            return Ok(None);
        };
        let Some((_, s1)) = walk(t, c, &Span::all(), true, 0, 1)?.pop() else {
            return Ok(None);
        };
        if bits(s0) != bits(s1) {
            return Ok(None);
        }
        let empty = Span {
            from: Some(vec![1]),
            to: Some(vec![0]),
        };
        let key = |m: &[u8], next: bool| {
            let mut k = suffix(s0, m);
            if next {
                k.push(0);
            }
            k
        };
        let from = match &self.min {
            Lex::Min => None,
            Lex::Max => return Ok(Some(empty)),
            Lex::Incl(m) => Some(key(m, false)),
            Lex::Excl(m) => Some(key(m, true)),
        };
        let to = match &self.max {
            Lex::Max => None,
            Lex::Min => return Ok(Some(empty)),
            Lex::Incl(m) => Some(key(m, true)),
            Lex::Excl(m) => Some(key(m, false)),
        };
        Ok(Some(Span { from, to }))
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK
// ---------------------------------------------------------------------------------------------

/// ZADD's options.
#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]` → the number of
/// members added (CH: added or changed), or with INCR the new score (nil when not applied).
fn zadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while let Some(a) = args.get(i) {
        let flag = match () {
            _ if is(a, "nx") => &mut f.nx,
            _ if is(a, "xx") => &mut f.xx,
            _ if is(a, "gt") => &mut f.gt,
            _ if is(a, "lt") => &mut f.lt,
            _ if is(a, "ch") => &mut f.ch,
            _ if is(a, "incr") => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let rest = &args[i.min(args.len())..];
    if rest.is_empty() || rest.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        pairs.push((parse_score(&p[0])?, &p[1]));
    }
    add_generic(ctx, args, f, &pairs)
}

/// `ZINCRBY key increment member` → the new score.
fn zincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let incr = parse_score(&args[2])?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_generic(ctx, args, f, &[(incr, &args[3])])
}

/// Redis's `zsetAdd` loop over `pairs`.
fn add_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    f: AddFlags,
    pairs: &[(f64, &Bytes)],
) -> CmdResult {
    let key = &args[1];
    with_txn(ctx, args, |t, db| {
        let mut c = match open(t, db, key)? {
            Some(c) => c,
            None if f.xx => {
                return Ok(if f.incr { Reply::Null } else { Reply::Int(0) });
            }
            None => t.coll_new(db, key, Kind::ZSet),
        };
        let mut seen: HashMap<&Bytes, Option<f64>> = HashMap::new();
        let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
        let mut newscore = 0.0;
        for &(score, m) in pairs {
            let cur = match seen.get(m) {
                Some(s) => *s,
                None => get_score(t, &c, m)?,
            };
            match cur {
                Some(cur) => {
                    if f.nx {
                        continue;
                    }
                    let score = if f.incr { score + cur } else { score };
                    if score.is_nan() {
                        return Err(CmdError::err("resulting score is not a number (NaN)"));
                    }
                    if (f.lt && score >= cur) || (f.gt && score <= cur) {
                        continue;
                    }
                    processed += 1;
                    newscore = score;
                    if score != cur {
                        put_member(t, &mut c, m, Some(cur), score);
                        seen.insert(m, Some(score));
                        updated += 1;
                    }
                }
                None => {
                    if f.xx {
                        continue;
                    }
                    put_member(t, &mut c, m, None, score);
                    seen.insert(m, Some(score));
                    added += 1;
                    processed += 1;
                    newscore = score;
                }
            }
        }
        if added + updated > 0 {
            t.coll_save(&c)?;
            t.notify(ev::ZSET, if f.incr { "zincr" } else { "zadd" }, db, key);
        }
        Ok(if f.incr {
            if processed > 0 {
                Reply::Bulk(fmt_score(newscore))
            } else {
                Reply::Null
            }
        } else if f.ch {
            Reply::Int(added + updated)
        } else {
            Reply::Int(added)
        })
    })
}

/// `ZREM key member [member ...]` → how many were removed.
fn zrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Ok(Reply::Int(0));
        };
        // A member named twice is removed once: the transaction's reads do not see its own
        // staged removals. A set, not a search of the list: ZREM of 50,000 members took 1.4 s.
        let mut seen: HashSet<&Bytes> = HashSet::new();
        let mut gone = 0;
        for m in &args[2..] {
            if !seen.insert(m) {
                continue;
            }
            if let Some(s) = get_score(t, &c, m)? {
                remove_member(t, &mut c, m, s);
                gone += 1;
            }
        }
        if gone > 0 {
            t.coll_save(&c)?;
            notify_zset(t, db, &c, "zrem");
        }
        Ok(Reply::Int(gone))
    })
}

/// `ZCARD key` → the number of members.
fn zcard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    with_txn(ctx, args, |t, db| {
        Ok(int(open_read(t, db, &args[1])?.map_or(0, |c| c.h.len)))
    })
}

/// `ZSCORE key member` → the score, or nil.
fn zscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Null);
        };
        Ok(get_score(t, &c, &args[2])?.map_or(Reply::Null, |s| Reply::Bulk(fmt_score(s))))
    })
}

/// `ZMSCORE key member [member ...]` → a score or nil per member.
fn zmscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    with_txn(ctx, args, |t, db| {
        let c = open_read(t, db, &args[1])?;
        let mut out = Vec::with_capacity(args.len() - 2);
        for m in &args[2..] {
            let s = match &c {
                Some(c) => get_score(t, c, m)?,
                None => None,
            };
            out.push(s.map_or(Reply::Null, |s| Reply::Bulk(fmt_score(s))));
        }
        Ok(Reply::Array(out))
    })
}

/// `ZRANK key member` → its rank from the lowest score, or nil.
fn zrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// `ZREVRANK key member` → its rank from the highest score, or nil.
fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// Counts the members before (or after) the member's index entry.
fn rank_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], rev: bool) -> CmdResult {
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Null);
        };
        let m = &args[2];
        let Some(s) = get_score(t, &c, m)? else {
            return Ok(Reply::Null);
        };
        let key = suffix(s, m);
        let span = if rev {
            let mut from = key;
            from.push(0);
            Span {
                from: Some(from),
                to: None,
            }
        } else {
            Span {
                from: None,
                to: Some(key),
            }
        };
        Ok(int(count(t, &c, &span)?))
    })
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and its relatives
// ---------------------------------------------------------------------------------------------

/// How a ZRANGE-like command selects members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
fn zrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, None, None)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]` → the count stored.
fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 2, true, None, None)
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, Some(By::Rank), Some(true))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, Some(By::Score), Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`.
fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, Some(By::Score), Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`.
fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, Some(By::Lex), Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`.
fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, 1, false, Some(By::Lex), Some(true))
}

/// Redis's `zrangeGenericCommand`: `start` is the index of the source key; `by`/`rev` are
/// fixed by the legacy commands and chosen by options for ZRANGE and ZRANGESTORE.
fn range_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    start: usize,
    is_store: bool,
    mut by: Option<By>,
    mut rev: Option<bool>,
) -> CmdResult {
    let key = &args[start];
    let name = ctx.cmd.name;
    let (mut min_i, mut max_i) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !is_store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if by.is_none() && is(a, "bylex") {
            by = Some(By::Lex);
        } else if by.is_none() && is(a, "byscore") {
            by = Some(By::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let by = by.unwrap_or(By::Rank);
    if limit != -1 && by == By::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && by != By::Rank {
        std::mem::swap(&mut min_i, &mut max_i);
    }
    enum Sel {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let sel = match by {
        By::Rank => Sel::Rank(parse_i64(&args[min_i])?, parse_i64(&args[max_i])?),
        By::Score => Sel::Score(ScoreRange::parse(&args[min_i], &args[max_i])?),
        By::Lex => Sel::Lex(LexRange::parse(&args[min_i], &args[max_i])?),
    };
    let off_worker = ctx.off_worker();
    let run = |t: &mut Txn<'_>, db: usize| -> Res<Reply> {
        let items = match open_read(t, db, key)? {
            None => Vec::new(),
            Some(c) => {
                let skip_take = || -> Option<(usize, usize)> {
                    if offset < 0 || limit == 0 {
                        return None;
                    }
                    let take = if limit < 0 {
                        usize::MAX
                    } else {
                        usize::try_from(limit).unwrap_or(usize::MAX)
                    };
                    Some((usize::try_from(offset).unwrap_or(usize::MAX), take))
                };
                match &sel {
                    Sel::Rank(s, e) => match rank_range(*s, *e, c.h.len) {
                        None => Vec::new(),
                        Some((lo, hi)) => {
                            let (lo, hi) = if rev {
                                (c.h.len - 1 - hi, c.h.len - 1 - lo)
                            } else {
                                (lo, hi)
                            };
                            // From the nearer end: the walk reads up to the far rank.
                            let walked = (hi + 1).min(c.h.len - lo);
                            let mut v = off_worker.run_for(walked, || by_rank(t, &c, lo, hi))?;
                            if rev {
                                v.reverse();
                            }
                            v
                        }
                    },
                    Sel::Score(r) => match skip_take() {
                        None => Vec::new(),
                        Some((skip, take)) => walk(t, &c, &r.span(), rev, skip, take)?,
                    },
                    Sel::Lex(r) => match skip_take() {
                        Some((skip, take)) => r.select(t, &c, rev, skip, take)?,
                        None => Vec::new(),
                    },
                }
            }
        };
        if is_store {
            store(t, db, &args[1], &items, name)
        } else {
            Ok(items_reply(&items, withscores))
        }
    };
    with_txn(ctx, args, run)
}

/// `ZCOUNT key min max` → the number of members with a score in the range.
fn zcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let r = ScoreRange::parse(&args[2], &args[3])?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Int(0));
        };
        Ok(int(count(t, &c, &r.span())?))
    })
}

/// `ZLEXCOUNT key min max` → the number of members in the lex range.
fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&args[2], &args[3])?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Int(0));
        };
        Ok(int(r.count(t, &c)?))
    })
}

/// `ZREMRANGEBYRANK key start stop` → how many were removed.
fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (s, e) = (parse_i64(&args[2])?, parse_i64(&args[3])?);
    remrange(ctx, args, |t, c| match rank_range(s, e, c.h.len) {
        Some((lo, hi)) => by_rank(t, c, lo, hi),
        None => Ok(Vec::new()),
    })
}

/// `ZREMRANGEBYSCORE key min max` → how many were removed.
fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let r = ScoreRange::parse(&args[2], &args[3])?;
    remrange(ctx, args, |t, c| {
        walk(t, c, &r.span(), false, 0, usize::MAX)
    })
}

/// `ZREMRANGEBYLEX key min max` → how many were removed.
fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&args[2], &args[3])?;
    remrange(ctx, args, |t, c| r.select(t, c, false, 0, usize::MAX))
}

/// Removes the members `select` picks.
fn remrange(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    select: impl FnOnce(&Txn<'_>, &Coll) -> Res<Vec<(Bytes, f64)>>,
) -> CmdResult {
    let name = ctx.cmd.name;
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Ok(Reply::Int(0));
        };
        let items = select(t, &c)?;
        for (m, s) in &items {
            remove_member(t, &mut c, m, *s);
        }
        if !items.is_empty() {
            t.coll_save(&c)?;
            notify_zset(t, db, &c, name);
        }
        Ok(Reply::Int(items.len() as i64))
    })
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP
// ---------------------------------------------------------------------------------------------

/// `ZPOPMIN key [count]`.
fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// `ZPOPMAX key [count]`.
fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// ZPOPMIN/ZPOPMAX → a flat `[member, score, ...]` array.
fn pop_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        None => 1,
        Some(a) => match parse_i64_opt(a) {
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
    };
    with_txn(ctx, args, |t, db| {
        let items = zpop(t, db, &args[1], max, count)?.unwrap_or_default();
        Ok(items_reply(&items, true))
    })
}

/// A `numkeys` argument with Redis's range check and message.
fn numkeys(a: &[u8], msg: &str) -> Res<usize> {
    match parse_i64_opt(a) {
        Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::err(msg)),
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` → `[key, [[member, score], ...]]` from
/// the first non-empty key, or nil.
fn zmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = numkeys(&args[1], "numkeys should be greater than 0")?;
    let where_i = n.saturating_add(2);
    let Some(w) = args.get(where_i) else {
        return Err(CmdError::Syntax);
    };
    let max = if is(w, "min") {
        false
    } else if is(w, "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_i + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "count") && j + 1 < args.len() {
            count = Some(numkeys(&args[j + 1], "count should be greater than 0")?);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let count = count.unwrap_or(1);
    let keys: Vec<&Bytes> = args[2..where_i].iter().collect();
    crate::list::with_keys(ctx, &keys, |t, db| {
        for k in &keys {
            if let Some(items) = zpop(t, db, k, max, count)? {
                let pairs = items
                    .iter()
                    .map(|(m, s)| {
                        Reply::Array(vec![Reply::Bulk(m.clone()), Reply::Bulk(fmt_score(*s))])
                    })
                    .collect();
                return Ok(Reply::Array(vec![
                    Reply::Bulk((*k).clone()),
                    Reply::Array(pairs),
                ]));
            }
        }
        Ok(Reply::NullArray)
    })
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
// ---------------------------------------------------------------------------------------------

/// Which algebra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// How scores of a member in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: f64, v: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let s = acc + v;
                if s.is_nan() {
                    0.0
                } else {
                    s
                }
            }
            // As Redis compares: a NaN operand keeps the accumulator.
            Aggregate::Min => {
                if v < acc {
                    v
                } else {
                    acc
                }
            }
            Aggregate::Max => {
                if v > acc {
                    v
                } else {
                    acc
                }
            }
        }
    }
}

/// Every member of a sorted set (score order) or set (score 1), None when missing.
fn read_source(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Res<Option<Vec<(Bytes, f64)>>> {
    let Some(rec) = t.lookup(db, key)? else {
        return Ok(None);
    };
    match rec.kind {
        Kind::ZSet => match open(t, db, key)? {
            Some(c) => Ok(Some(walk(t, &c, &Span::all(), false, 0, usize::MAX)?)),
            None => Ok(None),
        },
        Kind::Set => {
            let CollRead::Found(c) = t.coll(db, key, Kind::Set)? else {
                return Ok(None);
            };
            let mut out = Vec::new();
            let mut from: Option<Vec<u8>> = None;
            loop {
                let page = t.elems(&c, from.as_deref(), None, false, PAGE)?;
                let n = page.len();
                if let Some((last, _)) = page.last() {
                    let mut l = last.to_vec();
                    l.push(0);
                    from = Some(l);
                }
                out.extend(page.into_iter().map(|(m, _)| (m, 1.0)));
                if n < PAGE {
                    return Ok(Some(out));
                }
            }
        }
        _ => Err(CmdError::WrongType),
    }
}

/// Sorts a result into Redis's order: score, then member bytes.
fn sort_items(items: &mut [(Bytes, f64)]) {
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
}

/// Redis's `zunionInterDiffGenericCommand`. `dst` is the destination index for the STORE
/// forms; `nk` the index of numkeys.
fn algebra(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    dst: Option<usize>,
    nk: usize,
    op: Op,
    card: bool,
) -> CmdResult {
    let setnum = parse_i64(&args[nk])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    let setnum = usize::try_from(setnum).unwrap_or(usize::MAX);
    if setnum > args.len() - (nk + 1) {
        return Err(CmdError::Syntax);
    }
    let srcs = &args[nk + 1..nk + 1 + setnum];
    let name = ctx.cmd.name;
    let mut keys: Vec<&Bytes> = srcs.iter().collect();
    if let Some(d) = dst {
        keys.push(&args[d]);
    }
    let off_worker = ctx.off_worker();
    crate::list::with_keys(ctx, &keys, |t, db| {
        let mut total = 0;
        for k in srcs {
            total += elems_of(t, db, k)?;
        }
        let inputs = off_worker.run_for(total, || -> Res<Vec<_>> {
            let mut inputs = Vec::with_capacity(setnum);
            for k in srcs {
                inputs.push(read_source(t, db, k)?.unwrap_or_default());
            }
            Ok(inputs)
        })?;
        // Options are parsed after the type checks, as Redis does.
        let mut weights = vec![1.0f64; setnum];
        let mut agg = Aggregate::Sum;
        let mut withscores = false;
        let mut limit = 0usize;
        let mut j = nk + 1 + setnum;
        while j < args.len() {
            let remaining = args.len() - j;
            let a = &args[j];
            if op != Op::Diff && !card && remaining > setnum && is(a, "weights") {
                for (i, w) in weights.iter_mut().enumerate() {
                    *w = parse_score_opt(&args[j + 1 + i])
                        .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                }
                j += 1 + setnum;
            } else if op != Op::Diff && !card && remaining >= 2 && is(a, "aggregate") {
                let v = &args[j + 1];
                agg = if is(v, "sum") {
                    Aggregate::Sum
                } else if is(v, "min") {
                    Aggregate::Min
                } else if is(v, "max") {
                    Aggregate::Max
                } else {
                    return Err(CmdError::Syntax);
                };
                j += 2;
            } else if dst.is_none() && !card && is(a, "withscores") {
                withscores = true;
                j += 1;
            } else if card && remaining >= 2 && is(a, "limit") {
                limit = match parse_i64_opt(&args[j + 1]) {
                    Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                    _ => return Err(CmdError::err("LIMIT can't be negative")),
                };
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        let weighted = |s: f64, w: f64| {
            let v = s * w;
            if v.is_nan() {
                0.0
            } else {
                v
            }
        };
        let mut result: Vec<(Bytes, f64)> = Vec::new();
        match op {
            Op::Union | Op::Inter => {
                // Smallest inputs first, as Redis orders them (this fixes the summation order).
                let mut order: Vec<usize> = (0..setnum).collect();
                order.sort_by_key(|&i| inputs[i].len());
                if op == Op::Union {
                    let mut index: HashMap<Bytes, usize> = HashMap::new();
                    for &i in &order {
                        for (m, s) in &inputs[i] {
                            let v = weighted(*s, weights[i]);
                            match index.get(m) {
                                Some(&at) => result[at].1 = agg.apply(result[at].1, v),
                                None => {
                                    index.insert(m.clone(), result.len());
                                    result.push((m.clone(), v));
                                }
                            }
                        }
                    }
                } else {
                    let maps: Vec<HashMap<&Bytes, f64>> = inputs
                        .iter()
                        .map(|v| v.iter().map(|(m, s)| (m, *s)).collect())
                        .collect();
                    let first = order[0];
                    'members: for (m, s) in &inputs[first] {
                        let mut acc = weighted(*s, weights[first]);
                        for &i in &order[1..] {
                            match maps[i].get(m) {
                                // Redis does not map NaN to 0 for the other inputs.
                                Some(&o) => acc = agg.apply(acc, o * weights[i]),
                                None => continue 'members,
                            }
                        }
                        result.push((m.clone(), acc));
                        if card && limit > 0 && result.len() >= limit {
                            break;
                        }
                    }
                }
            }
            Op::Diff => {
                let others: Vec<HashMap<&Bytes, ()>> = inputs[1..]
                    .iter()
                    .map(|v| v.iter().map(|(m, _)| (m, ())).collect())
                    .collect();
                result = inputs[0]
                    .iter()
                    .filter(|(m, _)| !others.iter().any(|o| o.contains_key(m)))
                    .cloned()
                    .collect();
            }
        }
        if card {
            return Ok(int(result.len() as u64));
        }
        sort_items(&mut result);
        match dst {
            Some(d) => store(t, db, &args[d], &result, name),
            None => Ok(items_reply(&result, withscores)),
        }
    })
}

/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
fn zunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, None, 1, Op::Union, false)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
fn zinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, None, 1, Op::Inter, false)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`.
fn zdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, None, 1, Op::Diff, false)
}

/// `ZUNIONSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Some(1), 2, Op::Union, false)
}

/// `ZINTERSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`.
fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Some(1), 2, Op::Inter, false)
}

/// `ZDIFFSTORE dst numkeys key [key ...]`.
fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Some(1), 2, Op::Diff, false)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]` → the intersection's size (up to LIMIT).
fn zintercard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, None, 1, Op::Inter, true)
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------------------------

/// `ZRANDMEMBER key [count [WITHSCORES]]`: one random member (nil when missing); a positive
/// count gives distinct members, a negative one may repeat.
fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return with_txn(ctx, args, |t, db| {
            let Some(c) = open_read(t, db, &args[1])? else {
                return Ok(Reply::Null);
            };
            if c.h.len == 0 {
                return Ok(Reply::Null);
            }
            let r = rand::rng().random_range(0..c.h.len);
            Ok(by_rank(t, &c, r, r)?
                .pop()
                .map_or(Reply::Null, |(m, _)| Reply::Bulk(m)))
        });
    }
    let n = match parse_i64_opt(&args[2]) {
        None => return Err(CmdError::NotInteger),
        Some(i64::MIN) => {
            return Err(CmdError::err(
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        Some(n) => n,
    };
    if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withscores")) {
        return Err(CmdError::Syntax);
    }
    let withscores = args.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("value is out of range"));
    }
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Array(Vec::new()));
        };
        if n == 0 || c.h.len == 0 {
            return Ok(Reply::Array(Vec::new()));
        }
        let all = walk(t, &c, &Span::all(), false, 0, usize::MAX)?;
        let mut rng = rand::rng();
        let want = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
        let picked: Vec<(Bytes, f64)> = if n < 0 {
            (0..want)
                .map(|_| all[rng.random_range(0..all.len())].clone())
                .collect()
        } else if want >= all.len() {
            // The whole set, highest score first, as Redis replies.
            let mut all = all;
            all.reverse();
            all
        } else {
            let mut all = all;
            for i in 0..want {
                let j = rng.random_range(i..all.len());
                all.swap(i, j);
            }
            all.truncate(want);
            all
        };
        Ok(items_reply(&picked, withscores))
    })
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]` → `[cursor, [member, score, ...]]`.
///
/// A small set (Redis's listpack) is returned whole in score order with cursor 0, as Redis
/// does. A big one is walked in member byte order, COUNT members a page; the cursor is a
/// handle to the last member returned (see SCAN's cursor table in keys.rs), so every member
/// present for the whole iteration is returned once.
fn zscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = crate::keys::parse_cursor(&args[2])?;
    with_txn(ctx, args, |t, db| {
        let empty = || Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(empty());
        };
        let mut count = 10i64;
        let mut pattern: Option<&Bytes> = None;
        let mut i = 3;
        while i < args.len() {
            if is(&args[i], "count") && i + 1 < args.len() {
                count = parse_i64(&args[i + 1])?;
                if count < 1 {
                    return Err(CmdError::Syntax);
                }
            } else if is(&args[i], "match") && i + 1 < args.len() {
                pattern = Some(&args[i + 1]);
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        let pattern = pattern.filter(|p| &p[..] != b"*");
        let keep = |m: &Bytes| pattern.is_none_or(|p| glob_match(p, m, false));
        let mut out = Vec::new();
        if c.h.flags & CollHeader::BIG == 0 {
            for (m, s) in walk(t, &c, &Span::all(), false, 0, usize::MAX)? {
                if keep(&m) {
                    out.push(Reply::Bulk(m));
                    out.push(Reply::Bulk(fmt_score(s)));
                }
            }
            return Ok(Reply::Array(vec![Reply::bulk("0"), Reply::Array(out)]));
        }
        let from = crate::keys::cursors::resume_after(cursor);
        let limit = usize::try_from(count).unwrap_or(usize::MAX);
        let page = t.elems(&c, from.as_deref(), None, false, limit)?;
        let next = match page.last() {
            Some((m, _)) if page.len() == limit => crate::keys::cursors::put(m.clone()),
            _ => 0,
        };
        for (m, v) in page {
            if keep(&m) {
                out.push(Reply::Bulk(m));
                out.push(Reply::Bulk(fmt_score(score_from_bits(&v))));
            }
        }
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(next.to_string())),
            Reply::Array(out),
        ]))
    })
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("zadd", -4, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", zincrby),
    cmd("zrem", -3, WRITE | FAST | GROUP, Keys::ONE, "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem),
    cmd("zcard", 2, READONLY | FAST | GROUP, Keys::ONE, "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", zcard),
    cmd("zscore", 3, READONLY | FAST | GROUP, Keys::ONE, "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", zscore),
    cmd("zmscore", -3, READONLY | FAST, Keys::ONE, "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", zmscore),
    cmd("zrank", 3, READONLY | FAST, Keys::ONE, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank),
    cmd("zrevrank", 3, READONLY | FAST, Keys::ONE, "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", zrevrank),
    cmd("zrange", -4, READONLY, Keys::ONE, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", zrange),
    cmd("zrangestore", -5, WRITE | DENYOOM, Keys::TWO, "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.", zrangestore),
    cmd("zrevrange", -4, READONLY, Keys::ONE, "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange),
    cmd("zrangebyscore", -4, READONLY, Keys::ONE, "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", zrangebyscore),
    cmd("zrevrangebyscore", -4, READONLY, Keys::ONE, "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore),
    cmd("zrangebylex", -4, READONLY, Keys::ONE, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", zrangebylex),
    cmd("zrevrangebylex", -4, READONLY, Keys::ONE, "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex),
    cmd("zcount", 4, READONLY | FAST, Keys::ONE, "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", zcount),
    cmd("zlexcount", 4, READONLY | FAST, Keys::ONE, "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount),
    cmd("zremrangebyrank", 4, WRITE, Keys::ONE, "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrangebyrank),
    cmd("zremrangebyscore", 4, WRITE, Keys::ONE, "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrangebyscore),
    cmd("zremrangebylex", 4, WRITE, Keys::ONE, "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrangebylex),
    cmd("zpopmin", -2, WRITE | FAST | GROUP, Keys::ONE, "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmin),
    cmd("zpopmax", -2, WRITE | FAST | GROUP, Keys::ONE, "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmax),
    cmd("zmpop", -4, WRITE, Keys::NONE, "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", zmpop),
    cmd("zunion", -3, READONLY, Keys::NONE, "sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", zunion),
    cmd("zunionstore", -4, WRITE | DENYOOM, Keys::ONE, "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.", zunionstore),
    cmd("zinter", -3, READONLY, Keys::NONE, "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.", zinter),
    cmd("zinterstore", -4, WRITE | DENYOOM, Keys::ONE, "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", zinterstore),
    cmd("zintercard", -3, READONLY, Keys::NONE, "sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", zintercard),
    cmd("zdiff", -3, READONLY, Keys::NONE, "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.", zdiff),
    cmd("zdiffstore", -4, WRITE | DENYOOM, Keys::ONE, "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", zdiffstore),
    cmd("zrandmember", -2, READONLY, Keys::ONE, "sorted-set", "6.2.0", "Returns one or more random members from a sorted set.", zrandmember),
    cmd("zscan", -3, READONLY, Keys::ONE, "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.", zscan),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        for (v, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789.0, "123456789"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0"),
            (3.0e-300, "3.0000000000000002e-300"),
        ] {
            assert_eq!(g17(v), s, "{v}");
            assert_eq!(fmt_score(v), s, "{v}");
        }
        for (v, s) in [
            (-0.0, "-0"),
            (-7.0, "-7"),
            (999_999_999_999_999.0, "999999999999999"),
            (1e15, "1000000000000000"),
            (-4503599627370497.0, "-4503599627370497"),
            (2.0f64.powi(60), "1.152921504606847e+18"),
        ] {
            assert_eq!(fmt_score(v), s, "{v}");
            assert_eq!(g17(v), s, "{v}");
        }
    }

    #[test]
    fn strtod_rules() {
        assert_eq!(parse_score_opt(b"1.5"), Some(1.5));
        assert_eq!(parse_score_opt(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score_opt(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score_opt(b"0x10"), Some(16.0));
        for bad in [
            &b"nan"[..],
            b"1e400",
            b"1e-400",
            b" 1",
            b"",
            b"1 ",
            b"abc",
            b"1.5x",
        ] {
            assert_eq!(
                parse_score_opt(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_bound(b"(1"), Some((1.0, true)));
        assert_eq!(parse_bound(b""), Some((0.0, false)));
        assert_eq!(parse_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_bound(b"nan"), None);
        assert_eq!(parse_bound(b"  "), None);
        assert_eq!(parse_bound(b"0x1p-2000"), Some((0.0, false)));
        assert_eq!(parse_score_opt(b"0x1p-2000"), None);
        assert_eq!(parse_score_opt(b"1e-320"), Some(1e-320));
    }

    #[test]
    fn rank_ranges() {
        assert_eq!(rank_range(0, -1, 3), Some((0, 2)));
        assert_eq!(rank_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(rank_range(2, 1, 3), None);
        assert_eq!(rank_range(3, 5, 3), None);
        assert_eq!(rank_range(0, -1, 0), None);
        assert_eq!(rank_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }
}
