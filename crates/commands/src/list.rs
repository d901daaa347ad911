//! The LIST family: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LINDEX, LSET, LRANGE, LTRIM,
//! LREM, LINSERT, LPOS, LMOVE, RPOPLPUSH and LMPOP, with Redis 7's replies and error texts. The
//! blocking forms live in `blocking.rs` and share the helpers here.
//!
//! # Layout
//! Item `i` (0-based from the head) is the element record `list_index(head + i)`; the header
//! keeps `[head, tail)`, the length and the items' bytes. Pushes and pops at either end touch
//! one record each; LINDEX and LSET one record; LRANGE reads exactly its range. LREM, LINSERT
//! rewrite only the shifted side of the list (the shorter of the two), as an O(n) operation.

use bytes::Bytes;
use strata_keyspace::{list_index, Coll, CollRead, Kind, Txn};
use strata_resp::Reply;

use crate::args::{is, parse_i64, parse_i64_opt};
use crate::ctx::{with_txn, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by the blocking commands)
// ---------------------------------------------------------------------------------------------

/// Runs `f` in a transaction over `keys` of the selected db and commits it (also when `f` fails
/// with a reply error: only lazy-expiry deletes can be staged then). A storage failure discards
/// the transaction.
pub(crate) fn with_keys<'a, T>(
    ctx: &mut Ctx<'a, '_>,
    keys: &[&Bytes],
    f: impl FnOnce(&mut Txn<'a>, usize) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let db = ctx.db();
    let locks: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    let t = ctx.ks.txn(&locks);
    ctx.finish(t, f)
}

/// [`open`] for reads: a missing key counts as a keyspace miss (and raises `keymiss`).
fn open_read(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Result<Option<Coll>, CmdError> {
    if t.lookup(db, key)?.is_none() {
        return Ok(None);
    }
    open(t, db, key)
}

/// Opens `key` as a list: None when missing, `WRONGTYPE` for another type.
pub(crate) fn open(t: &mut Txn<'_>, db: usize, key: &[u8]) -> Result<Option<Coll>, CmdError> {
    match t.coll(db, key, Kind::List)? {
        CollRead::Missing => Ok(None),
        CollRead::WrongType => Err(CmdError::WrongType),
        CollRead::Found(c) => Ok(Some(c)),
    }
}

/// The element suffix of item `i` (0-based from the head).
fn at(c: &Coll, i: u64) -> [u8; 8] {
    list_index(c.h.head.wrapping_add(i))
}

/// Ranges up to this many items are read by point reads rather than an iterator (LPOP, RPOP,
/// LINDEX-sized reads).
const POINT_READS: usize = 4;

/// Items `[from, to)` (0-based from the head), head first.
fn read_range(t: &Txn<'_>, c: &Coll, from: u64, to: u64) -> Result<Vec<Bytes>, CmdError> {
    if from >= to {
        return Ok(Vec::new());
    }
    let n = usize::try_from(to - from).unwrap_or(usize::MAX);
    if n <= POINT_READS {
        // Items sit at consecutive indexes: a few point reads (answered by the memtable's bloom
        // filter and the block cache) cost less than opening an iterator. A gap would be
        // corruption; the iterator below then reads what is there.
        let mut items = Vec::with_capacity(n);
        for i in from..to {
            match t.elem_get(c, &at(c, i))? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        if items.len() == n {
            return Ok(items);
        }
    }
    let items = t.elems(c, Some(&at(c, from)), Some(&at(c, to)), false, n)?;
    Ok(items.into_iter().map(|(_, v)| v).collect())
}

/// Every item, head first.
fn read_all(t: &Txn<'_>, c: &Coll) -> Result<Vec<Bytes>, CmdError> {
    read_range(t, c, 0, c.h.len)
}

/// Stages `items` pushed one by one at the head (`left`) or the tail.
pub(crate) fn push(t: &mut Txn<'_>, c: &mut Coll, items: &[Bytes], left: bool) {
    for item in items {
        if left {
            c.h.head -= 1;
            t.elem_put(c, &list_index(c.h.head), item);
        } else {
            t.elem_put(c, &list_index(c.h.tail), item);
            c.h.tail += 1;
        }
        c.h.len += 1;
        c.h.bytes += item.len() as u64;
    }
}

/// Stages the removal of up to `n` items from the head (`left`) or the tail and returns them in
/// pop order.
pub(crate) fn pop(
    t: &mut Txn<'_>,
    c: &mut Coll,
    left: bool,
    n: u64,
) -> Result<Vec<Bytes>, CmdError> {
    let n = n.min(c.h.len);
    read_ahead(t, c, left, n)?;
    let mut items = if left {
        read_range(t, c, 0, n)?
    } else {
        read_range(t, c, c.h.len - n, c.h.len)?
    };
    if left {
        for i in 0..n {
            t.elem_del(c, &at(c, i));
        }
        c.h.head += n;
    } else {
        for i in c.h.len - n..c.h.len {
            t.elem_del(c, &at(c, i));
        }
        c.h.tail -= n;
        items.reverse();
    }
    c.h.len -= n;
    c.h.bytes =
        c.h.bytes
            .saturating_sub(items.iter().map(|b| b.len() as u64).sum());
    Ok(items)
}

/// Items a pop in a pipeline group reads ahead for the group's next pops of the list, at most.
const READ_AHEAD: u64 = 32;

/// Bytes of items read ahead at most (by the list's mean item size).
const READ_AHEAD_BYTES: u64 = 256 << 10;

/// Before a pop of `n` items in a pipeline group that already popped this end of the list,
/// reads the items that the next pops would take into the group's overlay with one iterator
/// (`Txn::read_ahead`), so that a run of LPOPs or RPOPs does not pay a point read each. The
/// first pop of a group reads only its own items: a lone pop would waste the iterator.
fn read_ahead(t: &Txn<'_>, c: &Coll, left: bool, n: u64) -> Result<(), CmdError> {
    if !t.is_grouped() || n == 0 || n > POINT_READS as u64 || c.h.len <= n {
        return Ok(());
    }
    // The item just past this end (the last one an earlier pop of the group took from it), and
    // the item this pop takes first. Read ahead when an earlier pop took the one, and no read
    // ahead holds the other yet.
    let (popped, next) = if left {
        (at(c, u64::MAX), at(c, 0))
    } else {
        (list_index(c.h.tail), list_index(c.h.tail.wrapping_sub(1)))
    };
    if !matches!(t.elem_staged(c, &popped), Some(None)) || t.elem_staged(c, &next).is_some() {
        return Ok(());
    }
    let mean = c.h.bytes / c.h.len;
    let ahead = READ_AHEAD.min(c.h.len).min(READ_AHEAD_BYTES / mean.max(1)) as usize;
    if ahead <= n as usize {
        return Ok(());
    }
    if left {
        t.read_ahead(c, Some(&at(c, 0)), Some(&at(c, ahead as u64)), false, ahead)?;
    } else {
        let from = at(c, c.h.len - ahead as u64);
        t.read_ahead(c, Some(&from), Some(&list_index(c.h.tail)), true, ahead)?;
    }
    Ok(())
}

/// Stages the change of the list from `old` (its current items) to `new`, rewriting only the
/// side that moves: the items after the common prefix, or those before the common suffix.
fn rewrite(t: &mut Txn<'_>, c: &mut Coll, old: &[Bytes], new: &[Bytes]) {
    let p = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let s = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(old.len().min(new.len()) - p);
    let (olen, nlen) = (old.len() as u64, new.len() as u64);
    if nlen - p as u64 <= nlen - s as u64 {
        // Keep the head: rewrite from the first difference, drop what is past the new end.
        for (i, item) in new.iter().enumerate().skip(p) {
            t.elem_put(c, &at(c, i as u64), item);
        }
        for i in nlen..olen {
            t.elem_del(c, &at(c, i));
        }
        c.h.tail = c.h.head + nlen;
    } else {
        // Keep the tail: the new head moves, rewrite up to the common suffix.
        let new_head = c.h.tail - nlen;
        let keep = new.len() - s;
        for (i, item) in new.iter().enumerate().take(keep) {
            t.elem_put(c, &list_index(new_head + i as u64), item);
        }
        let mut i = c.h.head;
        while i < new_head {
            t.elem_del(c, &list_index(i));
            i += 1;
        }
        c.h.head = new_head;
    }
    c.h.len = nlen;
    c.h.bytes = new.iter().map(|b| b.len() as u64).sum();
}

/// An array of bulk strings.
pub(crate) fn bulks(items: Vec<Bytes>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

/// `LEFT` or `RIGHT` (true for LEFT); anything else is a syntax error.
pub(crate) fn side(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "LEFT") {
        Ok(true)
    } else if is(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Pops one item from `src` and pushes it to `dst` (LMOVE and its blocking forms). Returns None
/// when `src` is missing. `skip_wrong_src` makes a non-list source read as missing (a blocked
/// client retrying, as Redis 7.0 only serves it from a list).
pub(crate) fn lmove_in(
    t: &mut Txn<'_>,
    db: usize,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
    skip_wrong_src: bool,
) -> Result<Option<Bytes>, CmdError> {
    let s = match open(t, db, src) {
        Err(CmdError::WrongType) if skip_wrong_src => return Ok(None),
        r => r?,
    };
    let Some(mut s) = s else {
        return Ok(None);
    };
    let push_event = if to_left { "lpush" } else { "rpush" };
    let pop_event = if from_left { "lpop" } else { "rpop" };
    if src == dst {
        let v = pop(t, &mut s, from_left, 1)?;
        push(t, &mut s, &v, to_left);
        t.coll_save(&s)?;
        t.notify(ev::LIST, push_event, db, dst);
        t.notify(ev::LIST, pop_event, db, src);
        return Ok(v.into_iter().next());
    }
    let d = open(t, db, dst)?;
    let v = pop(t, &mut s, from_left, 1)?;
    let mut d = d.unwrap_or_else(|| t.coll_new(db, dst, Kind::List));
    push(t, &mut d, &v, to_left);
    t.coll_save(&s)?;
    t.coll_save(&d)?;
    t.notify(ev::LIST, push_event, db, dst);
    t.notify(ev::LIST, pop_event, db, src);
    if s.h.len == 0 {
        t.notify(ev::GENERIC, "del", db, src);
    }
    Ok(v.into_iter().next())
}

/// Queues a list command's event, and `del` when it emptied the list.
fn notify_list(t: &mut Txn<'_>, db: usize, c: &Coll, event: &'static str) {
    t.notify(ev::LIST, event, db, &c.key);
    if c.h.len == 0 {
        t.notify(ev::GENERIC, "del", db, &c.key);
    }
}

/// Parsed `numkeys key... LEFT|RIGHT [COUNT n]` of LMPOP and BLMPOP (`rest` starts at numkeys).
pub(crate) struct MPop {
    /// The keys, in order.
    pub keys: Vec<Bytes>,
    /// LEFT.
    pub left: bool,
    /// COUNT (1 by default).
    pub count: u64,
}

/// Parses the arguments of LMPOP (and, with `side` reading MIN|MAX, ZMPOP) from numkeys on,
/// with Redis's checks in Redis's order.
pub(crate) fn parse_mpop(
    rest: &[Bytes],
    side: fn(&[u8]) -> Result<bool, CmdError>,
) -> Result<MPop, CmdError> {
    let numkeys = match parse_i64_opt(&rest[0]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    let where_idx = numkeys.saturating_add(1);
    if where_idx >= rest.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let left = side(&rest[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < rest.len() {
        if count.is_none() && is(&rest[j], "COUNT") && j + 1 < rest.len() {
            j += 1;
            match parse_i64_opt(&rest[j]) {
                Some(n) if n > 0 => count = Some(n as u64),
                _ => return Err(CmdError::err("count should be greater than 0")),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(MPop {
        keys: rest[1..where_idx].to_vec(),
        left,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list of `keys`: `[key, [items]]`, or None when all are
/// missing. A key of another type is `WRONGTYPE` (or skipped with `skip_wrong`).
pub(crate) fn mpop_in(
    t: &mut Txn<'_>,
    db: usize,
    keys: &[Bytes],
    left: bool,
    count: u64,
    skip_wrong: bool,
) -> Result<Option<Reply>, CmdError> {
    for k in keys {
        let c = match open(t, db, k) {
            Err(CmdError::WrongType) if skip_wrong => continue,
            r => r?,
        };
        if let Some(mut c) = c {
            let items = pop(t, &mut c, left, count)?;
            t.coll_save(&c)?;
            notify_list(t, db, &c, if left { "lpop" } else { "rpop" });
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(k.clone()),
                bulks(items),
            ])));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

fn push_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    left: bool,
    only_existing: bool,
) -> CmdResult {
    let key = args[1].clone();
    let n = with_txn(ctx, args, |t, db| {
        let mut c = match open(t, db, &key)? {
            Some(c) => c,
            None if only_existing => return Ok(0),
            None => t.coll_new(db, &key, Kind::List),
        };
        push(t, &mut c, &args[2..], left);
        t.coll_save(&c)?;
        t.notify(ev::LIST, if left { "lpush" } else { "rpush" }, db, &key);
        Ok(c.h.len)
    })?;
    crate::int(n)
}

fn lpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, true)
}

fn pop_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], left: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Arity(ctx.cmd.name.to_string()));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64_opt(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
    };
    let key = args[1].clone();
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &key)? else {
            return Ok(if count.is_some() {
                Reply::NullArray
            } else {
                Reply::Null
            });
        };
        let items = pop(t, &mut c, left, count.unwrap_or(1))?;
        t.coll_save(&c)?;
        if !items.is_empty() {
            notify_list(t, db, &c, if left { "lpop" } else { "rpop" });
        }
        Ok(match count {
            Some(_) => bulks(items),
            None => items.into_iter().next().map_or(Reply::Null, Reply::Bulk),
        })
    })
}

fn lpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}

fn rpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

fn llen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let n = with_txn(ctx, args, |t, db| {
        Ok(open_read(t, db, &args[1])?.map_or(0, |c| c.h.len))
    })?;
    crate::int(n)
}

/// A Redis index (negative from the end) as an offset from the head, if in range.
fn resolve_index(index: i64, len: u64) -> Option<u64> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i as u64)
}

fn lindex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let index = parse_i64(&args[2])?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Null);
        };
        let Some(i) = resolve_index(index, c.h.len) else {
            return Ok(Reply::Null);
        };
        Ok(t.elem_get(&c, &at(&c, i))?.map_or(Reply::Null, Reply::Bulk))
    })
}

fn lset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let index = parse_i64(&args[2])?;
    let value = &args[3];
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Err(CmdError::NoSuchKey);
        };
        let Some(i) = resolve_index(index, c.h.len) else {
            return Err(CmdError::err("index out of range"));
        };
        let old = t.elem_get(&c, &at(&c, i))?.map_or(0, |v| v.len() as u64);
        t.elem_put(&c, &at(&c, i), value);
        c.h.bytes = c.h.bytes.saturating_sub(old) + value.len() as u64;
        t.coll_save(&c)?;
        t.notify(ev::LIST, "lset", db, &args[1]);
        Ok(Reply::ok())
    })
}

/// Redis's start/end normalisation of LRANGE and LTRIM: `[start, end)` offsets, or None when
/// the range is empty.
fn resolve_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 {
        start.saturating_add(len).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start > end || start >= len {
        return None;
    }
    let end = end.min(len - 1);
    Some((start as u64, end as u64 + 1))
}

fn lrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Reply::Array(Vec::new()));
        };
        Ok(match resolve_range(start, end, c.h.len) {
            Some((from, to)) => bulks(read_range(t, &c, from, to)?),
            None => Reply::Array(Vec::new()),
        })
    })
}

fn ltrim(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Ok(Reply::ok());
        };
        let (from, to) = resolve_range(start, end, c.h.len).unwrap_or((0, 0));
        let len = c.h.len;
        let dropped_head = read_range(t, &c, 0, from.min(len))?;
        let dropped_tail = read_range(t, &c, to.max(from), len)?;
        for i in (0..from).chain(to.max(from)..len) {
            t.elem_del(&c, &at(&c, i));
        }
        let gone: u64 = dropped_head
            .iter()
            .chain(&dropped_tail)
            .map(|b| b.len() as u64)
            .sum();
        let kept = to.saturating_sub(from);
        c.h.head += from;
        c.h.tail = c.h.head + kept;
        c.h.len = kept;
        c.h.bytes = if kept == 0 {
            0
        } else {
            c.h.bytes.saturating_sub(gone)
        };
        t.coll_save(&c)?;
        notify_list(t, db, &c, "ltrim");
        Ok(Reply::ok())
    })
}

fn lrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let count = parse_i64(&args[2])?;
    let elem = &args[3];
    let removed = with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Ok(0u64);
        };
        let old = read_all(t, &c)?;
        let limit = if count == 0 {
            u64::MAX
        } else {
            count.unsigned_abs()
        };
        let mut keep = vec![true; old.len()];
        let mut removed = 0u64;
        let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
            Box::new((0..old.len()).rev())
        } else {
            Box::new(0..old.len())
        };
        for i in order {
            if removed == limit {
                break;
            }
            if old[i] == *elem {
                keep[i] = false;
                removed += 1;
            }
        }
        if removed > 0 {
            let new: Vec<Bytes> = old
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.clone())
                .collect();
            rewrite(t, &mut c, &old, &new);
            t.coll_save(&c)?;
            notify_list(t, db, &c, "lrem");
        }
        Ok(removed)
    })?;
    crate::int(removed)
}

fn linsert(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let after = if is(&args[2], "AFTER") {
        true
    } else if is(&args[2], "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (pivot, elem) = (&args[3], &args[4]);
    let n = with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, &args[1])? else {
            return Ok(0i64);
        };
        let old = read_all(t, &c)?;
        let Some(pos) = old.iter().position(|v| v == pivot) else {
            return Ok(-1);
        };
        let at_pos = if after { pos + 1 } else { pos };
        let mut new = old.clone();
        new.insert(at_pos, elem.clone());
        rewrite(t, &mut c, &old, &new);
        t.coll_save(&c)?;
        t.notify(ev::LIST, "linsert", db, &args[1]);
        Ok(c.h.len as i64)
    })?;
    crate::int(n)
}

fn lpos(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let elem = &args[2];
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if is(&args[j], "RANK") && more {
            j += 1;
            rank = parse_i64(&args[j])?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(&args[j], "COUNT") && more {
            j += 1;
            match parse_i64_opt(&args[j]) {
                Some(n) if n >= 0 => count = Some(n as u64),
                _ => return Err(CmdError::err("COUNT can't be negative")),
            }
        } else if is(&args[j], "MAXLEN") && more {
            j += 1;
            match parse_i64_opt(&args[j]) {
                Some(n) if n >= 0 => maxlen = n as u64,
                _ => return Err(CmdError::err("MAXLEN can't be negative")),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let from_tail = rank < 0;
    // Redis compares `matches >= rank`; a rank of LONG_MIN stays negative and takes the first.
    let skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let want = match count {
        Some(0) => u64::MAX,
        Some(n) => n,
        None => 1,
    };
    let found = with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, &args[1])? else {
            return Ok(Vec::new());
        };
        let len = c.h.len;
        let limit = if maxlen == 0 { len } else { maxlen.min(len) };
        let mut found = Vec::new();
        let mut matches = 0u64;
        let mut scanned = 0u64;
        const CHUNK: u64 = 1024;
        while scanned < limit && (found.len() as u64) < want {
            let n = CHUNK.min(limit - scanned);
            let (lo, hi) = if from_tail {
                (len - scanned - n, len - scanned)
            } else {
                (scanned, scanned + n)
            };
            let mut items: Vec<(u64, Bytes)> = (lo..hi).zip(read_range(t, &c, lo, hi)?).collect();
            if from_tail {
                items.reverse();
            }
            for (i, v) in items {
                if v == *elem {
                    matches += 1;
                    if matches > skip {
                        found.push(i);
                        if found.len() as u64 >= want {
                            break;
                        }
                    }
                }
            }
            scanned += n;
        }
        Ok(found)
    })?;
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(|i| Reply::Int(i as i64)).collect()),
        None => found.first().map_or(Reply::Null, |&i| Reply::Int(i as i64)),
    })
}

fn lmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let from_left = side(&args[3])?;
    let to_left = side(&args[4])?;
    let (src, dst) = (args[1].clone(), args[2].clone());
    let v = with_txn(ctx, args, |t, db| {
        lmove_in(t, db, &src, &dst, from_left, to_left, false)
    })?;
    Ok(v.map_or(Reply::Null, Reply::Bulk))
}

fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (args[1].clone(), args[2].clone());
    let v = with_txn(ctx, args, |t, db| {
        lmove_in(t, db, &src, &dst, false, true, false)
    })?;
    Ok(v.map_or(Reply::Null, Reply::Bulk))
}

fn lmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let p = parse_mpop(&args[1..], side)?;
    let keys: Vec<&Bytes> = p.keys.iter().collect();
    let r = with_keys(ctx, &keys, |t, db| {
        mpop_in(t, db, &p.keys, p.left, p.count, false)
    })?;
    Ok(r.unwrap_or(Reply::NullArray))
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("lpush", -3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush),
    cmd("rpush", -3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", lpushx),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "list", "2.2.0", "Appends an element to a list only when the list exists.", rpushx),
    cmd("lpop", -2, WRITE | FAST | GROUP, Keys::ONE, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop),
    cmd("rpop", -2, WRITE | FAST | GROUP, Keys::ONE, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop),
    cmd("llen", 2, READONLY | FAST | GROUP, Keys::ONE, "list", "1.0.0", "Returns the length of a list.", llen),
    cmd("lindex", 3, READONLY | GROUP, Keys::ONE, "list", "1.0.0", "Returns an element from a list by its index.", lindex),
    cmd("lset", 4, WRITE | DENYOOM, Keys::ONE, "list", "1.0.0", "Sets the value of an element in a list by its index.", lset),
    cmd("lrange", 4, READONLY | GROUP, Keys::ONE, "list", "1.0.0", "Returns a range of elements from a list.", lrange),
    cmd("ltrim", 4, WRITE, Keys::ONE, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim),
    cmd("lrem", 4, WRITE, Keys::ONE, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", lrem),
    cmd("linsert", 5, WRITE | DENYOOM, Keys::ONE, "list", "2.2.0", "Inserts an element before or after another element in a list.", linsert),
    cmd("lpos", -3, READONLY, Keys::ONE, "list", "6.0.6", "Returns the index of matching elements in a list.", lpos),
    cmd("lmove", 5, WRITE | DENYOOM, Keys::TWO, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    cmd("rpoplpush", 3, WRITE | DENYOOM, Keys::TWO, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush),
    cmd("lmpop", -4, WRITE, Keys::NONE, "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop),
];

#[cfg(test)]
mod tests {
    use super::{resolve_index, resolve_range};

    #[test]
    fn index_and_range_normalisation() {
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_range(0, -1, 3), Some((0, 3)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 3)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(5, 10, 3), None);
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 3)));
    }
}
