//! SORT and SORT_RO over lists, sets and sorted sets, as Redis 7.0's `sortCommandGeneric`.
//!
//! `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC]
//! [ALPHA] [STORE destination]` (SORT_RO: no STORE).
//!
//! - Numeric sorting parses each weight as C's `strtod` does (leading spaces, hex, `inf`; a
//!   trailing byte, NaN or a range error fails the command with `ERR One or more scores can't be
//!   converted into double`); equal weights are ordered by the elements' bytes.
//! - A BY pattern without `*` (`nosort`) skips sorting: lists and sorted sets keep their order
//!   (reversed by DESC, LIMIT taken directly), sets come in member byte order, and are sorted
//!   ALPHA when stored (as Redis does for determinism).
//! - Patterns substitute the element for the first `*`; `key->field` reads a hash field; `#` is
//!   the element itself. A key of the wrong type reads as missing.
//! - STORE replaces the destination with a list of the result (deleting it when empty) and
//!   replies with its length.
//!
//! Pattern keys are arbitrary keys, known only once the source is read: the source is read once
//! to compute them, then the command runs in a transaction that locks the source, the
//! destination and every pattern key (re-reading the source; if it changed so that new pattern
//! keys appear, the lock set is widened and the read retried a few times).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use bytes::Bytes;
use strata_keyspace::{list_index, Kind, Txn};
use strata_resp::Reply;

use crate::args::{is, parse_i64};
use crate::cfloat;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::hash::{all_elems, arg, elems_of, open, with_keys};
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// Parsed options.
#[derive(Debug, Default, Clone)]
struct SortOpts {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    by: Option<Bytes>,
    dontsort: bool,
    gets: Vec<Bytes>,
}

impl SortOpts {
    fn parse(args: &[Bytes], readonly: bool) -> Result<SortOpts, CmdError> {
        let mut o = SortOpts {
            limit_count: -1,
            ..SortOpts::default()
        };
        let mut j = 2;
        while let Some(a) = args.get(j) {
            let left = args.len() - j - 1;
            if is(a, "asc") {
                o.desc = false;
            } else if is(a, "desc") {
                o.desc = true;
            } else if is(a, "alpha") {
                o.alpha = true;
            } else if is(a, "limit") && left >= 2 {
                o.limit_start = parse_i64(&args[j + 1])?;
                o.limit_count = parse_i64(&args[j + 2])?;
                j += 2;
            } else if !readonly && is(a, "store") && left >= 1 {
                o.store = Some(args[j + 1].clone());
                j += 1;
            } else if is(a, "by") && left >= 1 {
                let p = args[j + 1].clone();
                o.dontsort = star(&p).is_none();
                o.by = Some(p);
                j += 1;
            } else if is(a, "get") && left >= 1 {
                o.gets.push(args[j + 1].clone());
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

/// Where the C string (up to the first NUL) of `p` has its first `*`.
fn star(p: &[u8]) -> Option<usize> {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    p[..end].iter().position(|&b| b == b'*')
}

/// Whether `p` is the `#` pattern (as a C string).
fn is_hash_sign(p: &[u8]) -> bool {
    p.first() == Some(&b'#') && p.get(1).is_none_or(|&b| b == 0)
}

/// The key (and hash field) a pattern names for `subst`, as Redis's `lookupKeyByPattern`
/// builds them; None when the pattern has no `*` (or is `#`).
fn pattern_target(p: &[u8], subst: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    if is_hash_sign(p) {
        return None;
    }
    let s = star(p)?;
    let cend = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    let arrow = p[s + 1..cend]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| s + 1 + i)
        .filter(|&f| f + 2 < cend);
    let (field, fieldlen) = match arrow {
        Some(f) => (Some(p[f + 2..].to_vec()), p.len() - f - 2),
        None => (None, 0),
    };
    let postfix_len = p.len() - (s + 1) - if field.is_some() { fieldlen + 2 } else { 0 };
    let mut key = Vec::with_capacity(s + subst.len() + postfix_len);
    key.extend_from_slice(&p[..s]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&p[s + 1..s + 1 + postfix_len]);
    Some((key, field))
}

/// The value a pattern reads for `subst`: the element for `#`, a string key's value, a hash
/// field, or None.
fn lookup_pattern(
    t: &mut Txn<'_>,
    db: usize,
    p: &[u8],
    subst: &Bytes,
) -> Result<Option<Bytes>, CmdError> {
    if is_hash_sign(p) {
        return Ok(Some(subst.clone()));
    }
    let Some((key, field)) = pattern_target(p, subst) else {
        return Ok(None);
    };
    let Some(rec) = t.lookup(db, &key)? else {
        return Ok(None);
    };
    match field {
        Some(f) => {
            if rec.kind != Kind::Hash {
                return Ok(None);
            }
            let Some(c) = open(t, db, &key, Kind::Hash)? else {
                return Ok(None);
            };
            Ok(t.elem_get(&c, &f)?)
        }
        None if rec.kind == Kind::String => Ok(Some(rec.body)),
        None => Ok(None),
    }
}

/// A weight as SORT reads it with C's `strtod`: None when Redis reports a conversion error
/// (bytes left after the number, NaN, or ERANGE). Stops at a NUL byte as C does.
pub(crate) fn strtod_weight(b: &[u8]) -> Option<f64> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s = &b[..end];
    let r = cfloat::strtod(s);
    let rest = if r.used == 0 { s } else { &s[r.used..] };
    (rest.is_empty() && !r.erange && !r.value.is_nan()).then_some(r.value)
}

/// The source's elements in its native order (list order, member byte order, score order).
/// None when missing; WRONGTYPE for strings and hashes.
fn read_source(
    t: &mut Txn<'_>,
    db: usize,
    key: &[u8],
) -> Result<Option<(Kind, Vec<Bytes>)>, CmdError> {
    let Some(rec) = t.lookup(db, key)? else {
        return Ok(None);
    };
    let kind = rec.kind;
    if !matches!(kind, Kind::List | Kind::Set | Kind::ZSet) {
        return Err(CmdError::WrongType);
    }
    let Some(c) = open(t, db, key, kind)? else {
        return Ok(None);
    };
    let items = match kind {
        Kind::List => all_elems(t, &c)?.into_iter().map(|(_, v)| v).collect(),
        Kind::Set => all_elems(t, &c)?.into_iter().map(|(m, _)| m).collect(),
        _ => t
            .score_range(&c, None, None, false, usize::MAX)?
            .into_iter()
            .map(|(s, _)| s.slice(8.min(s.len())..))
            .collect(),
    };
    Ok(Some((kind, items)))
}

/// The pattern keys a SORT over `items` reads.
fn pattern_keys(o: &SortOpts, items: &[Bytes]) -> BTreeSet<Vec<u8>> {
    let mut pats: Vec<&Bytes> = o.gets.iter().collect();
    if let (Some(by), false) = (&o.by, o.dontsort) {
        pats.push(by);
    }
    let mut keys = BTreeSet::new();
    for item in items {
        for p in &pats {
            if let Some((k, _)) = pattern_target(p, item) {
                keys.insert(k);
            }
        }
    }
    keys
}

/// One element being sorted with its weight.
struct Entry {
    obj: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

/// Runs the sort in `t` (which holds the locks it needs). Returns the reply.
fn run(t: &mut Txn<'_>, db: usize, key: &[u8], mut o: SortOpts) -> CmdResult {
    let (kind, items) = read_source(t, db, key)?.unwrap_or((Kind::List, Vec::new()));
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let vlen = items.len() as i64;
    let mut start = o.limit_start.max(0).min(vlen);
    let count = o.limit_count.max(-1).min(vlen);
    let mut end = if count < 0 {
        vlen - 1
    } else {
        start + count - 1
    };
    if start >= vlen {
        start = vlen - 1;
        end = vlen - 2;
    }
    if end >= vlen {
        end = vlen - 1;
    }
    let ordered = matches!(kind, Kind::List | Kind::ZSet);
    let mut vector: Vec<Entry> = if ordered && o.dontsort {
        let take = usize::try_from(end - start + 1).unwrap_or(0);
        let skip = usize::try_from(start).unwrap_or(0);
        let picked: Vec<Bytes> = if o.desc {
            items.into_iter().rev().skip(skip).take(take).collect()
        } else {
            items.into_iter().skip(skip).take(take).collect()
        };
        end -= start;
        start = 0;
        picked
    } else {
        items
    }
    .into_iter()
    .map(|obj| Entry {
        obj,
        score: 0.0,
        cmp: None,
    })
    .collect();

    if !o.dontsort {
        let mut conversion_error = false;
        for e in vector.iter_mut() {
            let byval = match &o.by {
                Some(p) => match lookup_pattern(t, db, p, &e.obj)? {
                    Some(v) => v,
                    None => continue,
                },
                None => e.obj.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    e.cmp = Some(byval);
                }
            } else {
                match strtod_weight(&byval) {
                    Some(v) => e.score = v,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let by_pattern = o.by.is_some();
        let (alpha, desc) = (o.alpha, o.desc);
        vector.sort_by(|a, b| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.obj.cmp(&b.obj))
            } else if by_pattern {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.obj.cmp(&b.obj)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    let range: Vec<&Entry> = if end >= start {
        let s = usize::try_from(start).unwrap_or(0);
        let e = usize::try_from(end).unwrap_or(0);
        vector
            .get(s..=e)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for e in range {
        if o.gets.is_empty() {
            out.push(Some(e.obj.clone()));
        }
        for p in &o.gets {
            out.push(lookup_pattern(t, db, p, &e.obj)?);
        }
    }
    let Some(dst) = &o.store else {
        return Ok(Reply::Array(
            out.into_iter()
                .map(|v| v.map_or(Reply::Null, Reply::Bulk))
                .collect(),
        ));
    };
    let mut c = t.coll_new(db, dst, Kind::List);
    for v in &out {
        let item = v.as_deref().unwrap_or_default();
        t.elem_put(&c, &list_index(c.h.tail), item);
        c.h.tail += 1;
        c.h.len += 1;
        c.h.bytes += item.len() as u64;
    }
    if c.h.len == 0 {
        if t.delete(db, dst)? {
            t.notify(ev::GENERIC, "del", db, dst);
        }
    } else {
        t.coll_save(&c)?;
        t.notify(ev::LIST, "sortstore", db, dst);
    }
    Ok(Reply::Int(i64::try_from(out.len()).unwrap_or(i64::MAX)))
}

fn sort_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], readonly: bool) -> CmdResult {
    let key = arg(args, 1)?.clone();
    let o = SortOpts::parse(args, readonly)?;
    let db = ctx.db();
    let uses_patterns = o.gets.iter().any(|p| !is_hash_sign(p)) || (o.by.is_some() && !o.dontsort);
    let mut locked: BTreeSet<Vec<u8>> = BTreeSet::new();
    locked.insert(key.to_vec());
    if let Some(d) = &o.store {
        locked.insert(d.to_vec());
    }
    if uses_patterns {
        // A first read, under the source's lock only, to learn which keys the patterns name.
        let items = with_keys(ctx, &[(db, &key[..])], |t, db| {
            Ok(read_source(t, db, &key)?
                .map(|(_, v)| v)
                .unwrap_or_default())
        })?;
        locked.extend(pattern_keys(&o, &items));
    }
    let mut attempts = 0;
    let off_worker = ctx.off_worker();
    loop {
        attempts += 1;
        let lock_list: Vec<(usize, &[u8])> = locked.iter().map(|k| (db, &k[..])).collect();
        let result = with_keys(ctx, &lock_list, |t, db| {
            if uses_patterns && attempts < 4 {
                let items = read_source(t, db, &key)?
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                let need = pattern_keys(&o, &items);
                if !need.is_subset(&locked) {
                    return Ok(Err(need));
                }
            }
            let elems = elems_of(t, db, &key)?;
            off_worker
                .run_for(elems, || run(t, db, &key, o.clone()))
                .map(Ok)
        })?;
        match result {
            Ok(reply) => return Ok(reply),
            Err(need) => locked.extend(need),
        }
    }
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`.
fn sort(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]`.
fn sort_ro(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}

const G: &str = "generic";

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("sort", -2, WRITE | DENYOOM, Keys::ONE, G, "1.0.0", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", sort),
    cmd("sort_ro", -2, READONLY, Keys::ONE, G, "7.0.0", "Returns the sorted elements of a list, a set, or a sorted set.", sort_ro),
];

#[cfg(test)]
mod tests {
    use super::{pattern_target, strtod_weight};

    #[test]
    fn strtod_rules() {
        let ok = |s: &str, v: f64| assert_eq!(strtod_weight(s.as_bytes()), Some(v), "{s:?}");
        let bad = |s: &str| assert_eq!(strtod_weight(s.as_bytes()), None, "{s:?}");
        ok("", 0.0);
        ok(" 1", 1.0);
        ok("\t3", 3.0);
        ok("0x10", 16.0);
        ok("0x1p4", 16.0);
        ok("infinity", f64::INFINITY);
        ok("-inf", f64::NEG_INFINITY);
        ok("1e-300", 1e-300);
        ok("1e308", 1e308);
        ok("+5", 5.0);
        ok(".5", 0.5);
        ok("5.", 5.0);
        ok("-0", 0.0);
        ok("1\0abc", 1.0);
        ok("0x1p-1070", 2f64.powi(-1070));
        for s in [
            " 1 ", "1 ", "1e-320", "1e309", "nan", "1e", "0x", "abc", " ", "+", "-",
        ] {
            bad(s);
        }
    }

    #[test]
    fn patterns() {
        let t = |p: &str, s: &str| {
            pattern_target(p.as_bytes(), s.as_bytes()).map(|(k, f)| {
                (
                    String::from_utf8_lossy(&k).into_owned(),
                    f.map(|f| String::from_utf8_lossy(&f).into_owned()),
                )
            })
        };
        assert_eq!(t("w_*", "1"), Some(("w_1".into(), None)));
        assert_eq!(t("h_*->f", "1"), Some(("h_1".into(), Some("f".into()))));
        assert_eq!(t("h_*->", "1"), Some(("h_1->".into(), None)));
        assert_eq!(t("a->b*", "1"), Some(("a->b1".into(), None)));
        assert_eq!(t("nosort", "1"), None);
        assert_eq!(t("#", "1"), None);
        assert_eq!(
            t("x*y->z->w", "1"),
            Some(("x1y".into(), Some("z->w".into())))
        );
    }
}
