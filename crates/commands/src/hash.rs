//! The HASH family: HSET, HSETNX, HGET, HMGET, HMSET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN, with Redis 7.0's replies.
//!
//! A hash is a collection: one element record per field (suffix: the field, value: the value).
//! The header's `bytes` counts `field.len() + value.len()` over the fields. [`CollHeader::BIG`]
//! is set where Redis 7.0 converts a listpack hash to a hashtable (more than 128 fields, or a
//! field or value longer than 64 bytes written), and never cleared.
//!
//! Element reads see storage only, not writes staged earlier in the same command, so handlers
//! that may write one field twice (`HSET h f 1 f 2`) track what they staged themselves.
//!
//! This module also holds the helpers the SET and SORT families share: opening a collection by
//! type, running a transaction that commits lazy-expiry deletes even when the command fails,
//! and the collection SCAN.

use std::collections::HashMap;

use bytes::Bytes;
use rand::seq::IndexedRandom;
use rand::Rng;
use strata_keyspace::{Coll, CollHeader, CollRead, Kind, Record, Txn};
use strata_resp::Reply;

use crate::args::{is, parse_i64, parse_i64_opt};
pub(crate) use crate::ctx::with_txn;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::int;
pub(crate) use crate::keys::parse_cursor as parse_scan_cursor;
use crate::longdouble::hincrbyfloat_value;
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// Redis 7.0's `hash-max-listpack-entries`.
const MAX_LISTPACK_ENTRIES: u64 = 128;
/// Redis 7.0's `hash-max-listpack-value`.
const MAX_LISTPACK_VALUE: usize = 64;

// ---------------------------------------------------------------------------------------------
// Helpers shared with the set and sort families
// ---------------------------------------------------------------------------------------------

/// The arity error of the running command.
pub(crate) fn arity(ctx: &Ctx<'_, '_>) -> CmdError {
    CmdError::Arity(ctx.cmd.name.to_string())
}

/// Runs `f` in a transaction over `keys` and commits it (see [`Ctx::finish`]).
pub(crate) fn with_keys<'a, T>(
    ctx: &mut Ctx<'a, '_>,
    keys: &[(usize, &[u8])],
    f: impl FnOnce(&mut Txn<'a>, usize) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let t = ctx.ks.txn(keys);
    ctx.finish(t, f)
}

/// Opens `key` as a collection of `kind` for writing: None when missing, WRONGTYPE for another
/// type.
pub(crate) fn open(
    t: &mut Txn<'_>,
    db: usize,
    key: &[u8],
    kind: Kind,
) -> Result<Option<Coll>, CmdError> {
    match t.coll(db, key, kind)? {
        CollRead::Missing => Ok(None),
        CollRead::WrongType => Err(CmdError::WrongType),
        CollRead::Found(c) => Ok(Some(c)),
    }
}

/// Like [`open`], counting a keyspace hit or miss (for reads).
pub(crate) fn open_read(
    t: &mut Txn<'_>,
    db: usize,
    key: &[u8],
    kind: Kind,
) -> Result<Option<Coll>, CmdError> {
    if t.lookup(db, key)?.is_none() {
        return Ok(None);
    }
    open(t, db, key, kind)
}

/// How many elements the collection at `key` holds (0 for a string or a missing key): what
/// reading it whole walks. Not a lookup: the read that follows counts the hit or miss (and
/// raises `keymiss`) once, as Redis does.
pub(crate) fn elems_of(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Result<u64, CmdError> {
    Ok(t.get(db, key)?.map_or(0, |rec| elems_in(&rec)))
}

/// How many elements `rec` holds: its header's count for a collection, 0 for a string.
pub(crate) fn elems_in(rec: &Record) -> u64 {
    match rec.kind {
        Kind::String => 0,
        _ => CollHeader::decode(&rec.body).map_or(0, |h| h.len),
    }
}

/// Every element of a collection, `(suffix, value)` in suffix byte order.
pub(crate) fn all_elems(t: &Txn<'_>, c: &Coll) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    Ok(t.elems(c, None, None, false, usize::MAX)?)
}

/// Argument `i` (the arity check guarantees it; a syntax error rather than a panic if not).
pub(crate) fn arg(args: &[Bytes], i: usize) -> Result<&Bytes, CmdError> {
    args.get(i).ok_or(CmdError::Syntax)
}

/// Arguments from `i` on.
pub(crate) fn rest(args: &[Bytes], i: usize) -> &[Bytes] {
    args.get(i..).unwrap_or_default()
}

/// An array of bulk strings.
pub(crate) fn bulks<I: IntoIterator<Item = Bytes>>(items: I) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// `*2 $1 0 *0`: the reply of a SCAN over a missing key.
pub(crate) fn empty_scan() -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(b"0")),
        Reply::Array(Vec::new()),
    ])
}

/// A random count argument as Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`.
pub(crate) fn parse_rand_count(a: &[u8]) -> Result<i64, CmdError> {
    let n = parse_i64(a)?;
    if n == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    if n < -MAX_RANDOM_REPLY {
        return Err(CmdError::err("value is out of range"));
    }
    Ok(n)
}

/// The most items a negative HRANDFIELD/SRANDMEMBER count may ask for. Redis has no limit (it
/// builds the reply until the client's output buffer limit drops the client); Strata refuses
/// larger counts rather than building a reply that cannot fit in memory.
pub(crate) const MAX_RANDOM_REPLY: i64 = 10_000_000;

/// The parsed tail of HSCAN/SSCAN: `[MATCH pattern] [COUNT count]`.
pub(crate) struct ScanOpts<'a> {
    pub pattern: Option<&'a Bytes>,
    pub count: usize,
}

/// Parses the options of a collection SCAN as Redis's `scanGenericCommand` (no TYPE).
pub(crate) fn parse_scan_opts(opts: &[Bytes]) -> Result<ScanOpts<'_>, CmdError> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
    };
    let mut i = 0;
    while let Some(a) = opts.get(i) {
        match opts.get(i + 1) {
            Some(v) if is(a, "count") => {
                let n = parse_i64(v)?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            }
            Some(v) if is(a, "match") => o.pattern = Some(v),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    // `*` matches everything, the empty element included (Redis skips matching for it).
    o.pattern = o.pattern.filter(|p| &p[..] != b"*");
    Ok(o)
}

/// One page of a collection SCAN (HSCAN, SSCAN).
///
/// Small collections (Redis's listpack and intset encodings, i.e. without
/// [`CollHeader::BIG`]) are returned whole with cursor 0, whatever the cursor, as Redis does.
/// Big ones are walked in element byte order, COUNT elements per page: the cursor is a handle
/// in the SCAN cursor table naming the last element returned, and the next page resumes strictly
/// after it. An unknown handle restarts from the beginning (elements may repeat, none is
/// skipped). Returns `(next cursor, matching elements)`.
pub(crate) fn scan_page(
    t: &Txn<'_>,
    c: &Coll,
    cursor: u64,
    opts: &ScanOpts<'_>,
) -> Result<(u64, Vec<(Bytes, Bytes)>), CmdError> {
    let keep = |s: &Bytes| opts.pattern.is_none_or(|p| glob_match(p, s, false));
    if c.h.flags & CollHeader::BIG == 0 {
        let all = all_elems(t, c)?;
        return Ok((0, all.into_iter().filter(|(s, _)| keep(s)).collect()));
    }
    let from = crate::keys::cursors::resume_after(cursor);
    let limit = opts.count.max(1);
    let page = t.elems(c, from.as_deref(), None, false, limit)?;
    let next = match page.last() {
        Some((s, _)) if page.len() == limit => crate::keys::cursors::put(s.clone()),
        _ => 0,
    };
    Ok((next, page.into_iter().filter(|(s, _)| keep(s)).collect()))
}

// ---------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------

/// Fields written to a hash within one command: what storage holds is read once per field,
/// then the staged state is tracked here.
struct HashWriter {
    c: Coll,
    staged: HashMap<Bytes, Option<usize>>,
}

impl HashWriter {
    /// Opens `key` as a hash (or a new one).
    fn open(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Result<HashWriter, CmdError> {
        let c = match open(t, db, key, Kind::Hash)? {
            Some(c) => c,
            None => t.coll_new(db, key, Kind::Hash),
        };
        Ok(HashWriter {
            c,
            staged: HashMap::new(),
        })
    }

    /// The length of the field's current value, if it exists.
    fn current(&self, t: &Txn<'_>, field: &Bytes) -> Result<Option<usize>, CmdError> {
        if let Some(s) = self.staged.get(field) {
            return Ok(*s);
        }
        Ok(t.elem_get(&self.c, field)?.map(|v| v.len()))
    }

    /// Stages `field = value`; returns whether the field is new.
    fn set(&mut self, t: &mut Txn<'_>, field: &Bytes, value: &[u8]) -> Result<bool, CmdError> {
        let old = self.current(t, field)?;
        let h = &mut self.c.h;
        match old {
            Some(n) => h.bytes = h.bytes.saturating_sub((field.len() + n) as u64),
            None => h.len += 1,
        }
        h.bytes += (field.len() + value.len()) as u64;
        if field.len() > MAX_LISTPACK_VALUE || value.len() > MAX_LISTPACK_VALUE {
            h.flags |= CollHeader::BIG;
        }
        if h.len > MAX_LISTPACK_ENTRIES {
            h.flags |= CollHeader::BIG;
        }
        t.elem_write(&self.c, field, value, old.is_some());
        self.staged.insert(field.clone(), Some(value.len()));
        Ok(old.is_none())
    }

    /// Stages the removal of `field`; returns whether it existed.
    fn del(&mut self, t: &mut Txn<'_>, field: &Bytes) -> Result<bool, CmdError> {
        let Some(n) = self.current(t, field)? else {
            return Ok(false);
        };
        let h = &mut self.c.h;
        h.len = h.len.saturating_sub(1);
        h.bytes = h.bytes.saturating_sub((field.len() + n) as u64);
        t.elem_del(&self.c, field);
        self.staged.insert(field.clone(), None);
        Ok(true)
    }

    fn save(&self, t: &mut Txn<'_>) -> Result<(), CmdError> {
        Ok(t.coll_save(&self.c)?)
    }
}

/// `HSET key field value [field value ...]` → `:n` new fields;
/// `HMSET key field value [field value ...]` → `+OK`.
fn hset_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], hmset: bool) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(arity(ctx));
    }
    let key = arg(args, 1)?;
    let n = with_txn(ctx, args, |t, db| {
        let mut w = HashWriter::open(t, db, key)?;
        let mut added = 0u64;
        for pair in rest(args, 2).chunks_exact(2) {
            if w.set(t, &pair[0], &pair[1])? {
                added += 1;
            }
        }
        w.save(t)?;
        Ok(added)
    })?;
    ctx.notify(ev::HASH, "hset", key);
    if hmset {
        Ok(Reply::ok())
    } else {
        int(n)
    }
}

fn hset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    hset_generic(ctx, args, false)
}

fn hmset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    hset_generic(ctx, args, true)
}

/// `HSETNX key field value` → `:1` if set, `:0` if the field exists. As in Redis, long
/// arguments convert the hash even when the field exists.
fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field, value] = args else {
        return Err(arity(ctx));
    };
    let set = with_txn(ctx, args, |t, db| {
        let mut w = HashWriter::open(t, db, key)?;
        if w.current(t, field)?.is_some() {
            let long = field.len() > MAX_LISTPACK_VALUE || value.len() > MAX_LISTPACK_VALUE;
            if long && w.c.h.flags & CollHeader::BIG == 0 {
                w.c.h.flags |= CollHeader::BIG;
                w.save(t)?;
            }
            return Ok(false);
        }
        w.set(t, field, value)?;
        w.save(t)?;
        Ok(true)
    })?;
    if set {
        ctx.notify(ev::HASH, "hset", key);
    }
    int(u8::from(set))
}

/// `HDEL key field [field ...]` → `:n` fields removed; the key goes when its last field does.
fn hdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    let (n, emptied) = with_txn(ctx, args, |t, db| {
        let Some(c) = open(t, db, key, Kind::Hash)? else {
            return Ok((0u64, false));
        };
        let mut w = HashWriter {
            c,
            staged: HashMap::new(),
        };
        let mut n = 0u64;
        for f in rest(args, 2) {
            if w.del(t, f)? {
                n += 1;
            }
        }
        if n > 0 {
            w.save(t)?;
        }
        Ok((n, w.c.h.len == 0))
    })?;
    if n > 0 {
        ctx.notify(ev::HASH, "hdel", key);
        if emptied {
            ctx.notify(ev::GENERIC, "del", key);
        }
    }
    int(n)
}

/// `HINCRBY key field increment` → `:new value`.
fn hincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field, by] = args else {
        return Err(arity(ctx));
    };
    let by = parse_i64(by)?;
    let r = with_txn(ctx, args, |t, db| {
        let mut w = HashWriter::open(t, db, key)?;
        let old = match t.elem_get(&w.c, field)? {
            Some(v) => {
                parse_i64_opt(&v).ok_or_else(|| CmdError::err("hash value is not an integer"))?
            }
            None => 0,
        };
        let new = old.checked_add(by).ok_or(CmdError::Overflow)?;
        w.set(t, field, new.to_string().as_bytes())?;
        w.save(t)?;
        int(new)
    })?;
    ctx.notify(ev::HASH, "hincrby", key);
    Ok(r)
}

/// `HINCRBYFLOAT key field increment` → the new value as a bulk string (see [`format_human`]).
fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field, by] = args else {
        return Err(arity(ctx));
    };
    // The increment is checked before the key, as in Redis.
    hincrbyfloat_value(None, by)?;
    let r = with_txn(ctx, args, |t, db| {
        let mut w = HashWriter::open(t, db, key)?;
        let old = t.elem_get(&w.c, field)?;
        let body = Bytes::from(hincrbyfloat_value(old.as_deref(), by)?);
        w.set(t, field, &body)?;
        w.save(t)?;
        Ok(Reply::Bulk(body))
    })?;
    ctx.notify(ev::HASH, "hincrbyfloat", key);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/// `HGET key field` → the value or nil.
fn hget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Hash)? else {
            return Ok(Reply::Null);
        };
        Ok(t.elem_get(&c, field)?.into())
    })
}

/// `HMGET key field [field ...]` → an array of values or nils.
fn hmget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        let c = open_read(t, db, key, Kind::Hash)?;
        let mut out = Vec::new();
        for f in rest(args, 2) {
            out.push(match &c {
                Some(c) => t.elem_get(c, f)?.into(),
                None => Reply::Null,
            });
        }
        Ok(Reply::Array(out))
    })
}

/// `HLEN key` → `:fields`.
fn hlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        int(open_read(t, db, key, Kind::Hash)?.map_or(0, |c| c.h.len))
    })
}

/// `HSTRLEN key field` → `:length of the value` (0 when missing).
fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Hash)? else {
            return int(0);
        };
        int(t.elem_get(&c, field)?.map_or(0, |v| v.len()))
    })
}

/// `HEXISTS key field` → `:1` or `:0`.
fn hexists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, field] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Hash)? else {
            return int(0);
        };
        int(i64::from(t.elem_get(&c, field)?.is_some()))
    })
}

/// What HKEYS, HVALS and HGETALL return of each field.
#[derive(Clone, Copy)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn hgetall_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], part: Part) -> CmdResult {
    let key = arg(args, 1)?;
    let off_worker = ctx.off_worker();
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Hash)? else {
            return Ok(Reply::Array(Vec::new()));
        };
        off_worker.run_for(c.len(), || {
            let mut out = Vec::new();
            for (f, v) in all_elems(t, &c)? {
                match part {
                    Part::Keys => out.push(Reply::Bulk(f)),
                    Part::Vals => out.push(Reply::Bulk(v)),
                    Part::Both => {
                        out.push(Reply::Bulk(f));
                        out.push(Reply::Bulk(v));
                    }
                }
            }
            Ok(Reply::Array(out))
        })
    })
}

/// `HKEYS key` → every field.
fn hkeys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, args, Part::Keys)
}

/// `HVALS key` → every value.
fn hvals(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, args, Part::Vals)
}

/// `HGETALL key` → field, value, field, value, ...
fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, args, Part::Both)
}

/// `HRANDFIELD key [count [WITHVALUES]]`.
///
/// Without count: a random field or nil. With a positive count: up to `count` distinct fields
/// (the whole hash when count ≥ its size); with a negative one: exactly `-count` fields, which
/// may repeat. WITHVALUES interleaves the values.
fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    let mut count: Option<i64> = None;
    let mut withvalues = false;
    if let Some(c) = args.get(2) {
        let n = parse_rand_count(c)?;
        if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withvalues")) {
            return Err(CmdError::Syntax);
        }
        if args.len() == 4 {
            withvalues = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return Err(CmdError::err("value is out of range"));
            }
        }
        count = Some(n);
    }
    with_txn(ctx, args, |t, db| {
        let c = open_read(t, db, key, Kind::Hash)?;
        let Some(count) = count else {
            let Some(c) = c else {
                return Ok(Reply::Null);
            };
            return Ok(random_elems(t, &c, 1)?
                .into_iter()
                .next()
                .map_or(Reply::Null, |(f, _)| Reply::Bulk(f)));
        };
        let Some(c) = c else {
            return Ok(Reply::Array(Vec::new()));
        };
        if count == 0 {
            return Ok(Reply::Array(Vec::new()));
        }
        let mut out = Vec::new();
        for (f, v) in random_elems(t, &c, count)? {
            out.push(Reply::Bulk(f));
            if withvalues {
                out.push(Reply::Bulk(v));
            }
        }
        Ok(Reply::Array(out))
    })
}

/// Redis's random-count rule: `count > 0` picks `min(count, len)` distinct items (all of them,
/// in storage order, when count ≥ len), `count < 0` picks `-count` items with repetition.
pub(crate) fn random_pick<T>(all: &[T], count: i64) -> Vec<&T> {
    let mut rng = rand::rng();
    if all.is_empty() || count == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs();
        return (0..n)
            .map(|_| &all[rng.random_range(0..all.len())])
            .collect();
    }
    let n = usize::try_from(count).unwrap_or(usize::MAX);
    if n >= all.len() {
        return all.iter().collect();
    }
    all.choose_multiple(&mut rng, n).collect()
}

/// Random elements with [`random_pick`]'s count semantics. On a big collection a small count
/// is served by random seeks (O(log n) each, close to uniform), so SPOP and SRANDMEMBER on a
/// big set do not read it whole; otherwise every element is read once and the draw is exact.
pub(crate) fn random_elems(
    t: &Txn<'_>,
    c: &Coll,
    count: i64,
) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    // A draw walks up to SAMPLE_WALK elements per probe (and learning a sampler reads twice
    // that): worth it only when that is far less than reading the whole collection.
    let n = count.unsigned_abs();
    let per_draw = 4 * strata_keyspace::SAMPLE_WALK as u64;
    let sampler = match n.saturating_mul(per_draw) < c.len() {
        true => t.elem_sampler(c)?,
        false => None,
    };
    if let Some(sampler) = sampler {
        let mut out = Vec::with_capacity(n as usize);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..n * 8 + 16 {
            if out.len() as u64 == n {
                return Ok(out);
            }
            if let Some((k, v)) = t.random_elem(c, &sampler)? {
                if count < 0 || seen.insert(k.clone()) {
                    out.push((k, v));
                }
            }
        }
    }
    let all = all_elems(t, c)?;
    Ok(random_pick(&all, count).into_iter().cloned().collect())
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]` → `[next cursor, [field, value, ...]]`.
/// See [`scan_page`] for the cursor.
fn hscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Hash)? else {
            return Ok(empty_scan());
        };
        let opts = parse_scan_opts(rest(args, 3))?;
        let (next, page) = scan_page(t, &c, cursor, &opts)?;
        let mut items = Vec::with_capacity(page.len() * 2);
        for (f, v) in page {
            items.push(Reply::Bulk(f));
            items.push(Reply::Bulk(v));
        }
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(next.to_string())),
            Reply::Array(items),
        ]))
    })
}

const G: &str = "hash";

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("hset", -4, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, G, "2.0.0", "Creates or modifies the value of a field in a hash.", hset),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, Keys::ONE, G, "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, Keys::ONE, G, "2.0.0", "Sets the values of multiple fields.", hmset),
    cmd("hget", 3, READONLY | FAST | GROUP, Keys::ONE, G, "2.0.0", "Returns the value of a field in a hash.", hget),
    cmd("hmget", -3, READONLY | FAST, Keys::ONE, G, "2.0.0", "Returns the values of all fields in a hash.", hmget),
    cmd("hdel", -3, WRITE | FAST | GROUP, Keys::ONE, G, "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel),
    cmd("hlen", 2, READONLY | FAST | GROUP, Keys::ONE, G, "2.0.0", "Returns the number of fields in a hash.", hlen),
    cmd("hstrlen", 3, READONLY | FAST, Keys::ONE, G, "3.2.0", "Returns the length of the value of a field.", hstrlen),
    cmd("hexists", 3, READONLY | FAST, Keys::ONE, G, "2.0.0", "Determines whether a field exists in a hash.", hexists),
    cmd("hkeys", 2, READONLY, Keys::ONE, G, "2.0.0", "Returns all fields in a hash.", hkeys),
    cmd("hvals", 2, READONLY, Keys::ONE, G, "2.0.0", "Returns all values in a hash.", hvals),
    cmd("hgetall", 2, READONLY, Keys::ONE, G, "2.0.0", "Returns all fields and values in a hash.", hgetall),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, G, "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, Keys::ONE, G, "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    cmd("hrandfield", -2, READONLY, Keys::ONE, G, "6.2.0", "Returns one or more random fields from a hash.", hrandfield),
    cmd("hscan", -3, READONLY, Keys::ONE, G, "2.8.0", "Iterates over fields and values of a hash.", hscan),
];

#[cfg(test)]
mod tests {
    use crate::longdouble::hincrbyfloat_value;

    /// Replies of Redis 7.0.15's HINCRBYFLOAT (x86-64, long double), field by field.
    #[test]
    fn long_double_sums_match_redis() {
        let add = |cur: Option<&str>, by: &str| {
            hincrbyfloat_value(cur.map(str::as_bytes), by.as_bytes()).map_err(|e| e.to_string())
        };
        let ok = |cur: Option<&str>, by: &str, want: &str| {
            assert_eq!(add(cur, by).as_deref(), Ok(want), "{cur:?} + {by}");
        };
        ok(None, "0.1", "0.1");
        ok(Some("0.1"), "0.2", "0.3");
        ok(Some("10.5"), "0.1", "10.6");
        ok(None, "100.1", "100.1");
        ok(None, "1000.1", "1000.09999999999999998");
        ok(None, "123456.7", "123456.70000000000000284");
        ok(None, "12345678.9", "12345678.8999999999996362");
        ok(None, "1234567890.1", "1234567890.09999999997671694");
        ok(None, "99999999999.3", "99999999999.29999999701976776");
        ok(None, "123456789.123456789", "123456789.12345678899873747");
        ok(None, "1e-20", "0");
        ok(None, "1.5e-10", "0.00000000015");
        ok(None, "1e17", "100000000000000000");
        ok(Some("5"), "-5", "0");
        ok(Some("0"), "-0.0", "0");
        ok(None, "5.0e3", "5000");
        ok(Some("1e5"), "1", "100001");
        ok(None, "0x1p3", "8");
        ok(None, "0x1.8p1", "3");
        ok(None, "1e-18", "0");
        ok(None, "-1e-18", "0");
        ok(None, "-1e-17", "-0.00000000000000001");
        ok(None, "1.5e-17", "0.00000000000000002");
        ok(None, "0.000000000000000025", "0.00000000000000002");
        ok(None, "0.000000000000000015", "0.00000000000000002");
        ok(None, "3.0000000000000004", "3.0000000000000004");
        ok(Some("1.5"), "1e-30", "1.5");
        ok(Some("1005.5"), "-1e-17", "1005.5");
        ok(None, "12345678901234567890123", "12345678901234567889920");
        ok(Some("01"), "1", "2");
        ok(Some(".5"), "5.", "5.5");
        ok(None, "1e-4940", "0");
        ok(None, "3e-4951", "0");
        ok(Some("1e4000"), "-1e4000", "0");
        ok(
            Some("1.7976931348623157e308"),
            "1.7976931348623157e308",
            "359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768",
        );
        ok(
            None,
            "1e400",
            "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880",
        );
        let not_float = Err("ERR value is not a valid float".to_string());
        for bad in [
            "abc", "", " 1", "1 ", "nan", "1e", "1e5000", "1e-5000", "1.2.3", "--1",
        ] {
            assert_eq!(add(None, bad), not_float, "{bad:?}");
        }
        let nan_inf = Err("ERR value is NaN or Infinity".to_string());
        assert_eq!(add(None, "inf"), nan_inf);
        assert_eq!(add(None, "-infinity"), nan_inf);
        let bad_value = Err("ERR hash value is not a float".to_string());
        for bad in ["abc", " 2", "2 ", "1e-5000", ""] {
            assert_eq!(add(Some(bad), "1"), bad_value, "{bad:?}");
        }
        assert_eq!(
            add(Some("inf"), "1"),
            Err("ERR increment would produce NaN or Infinity".to_string())
        );
        assert_eq!(
            add(Some("1e4932"), "1e4932"),
            Err("ERR increment would produce NaN or Infinity".to_string())
        );
    }
}
