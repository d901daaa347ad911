//! The SET family: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SRANDMEMBER, SPOP, SMOVE,
//! SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE and SSCAN, with Redis
//! 7.0's replies.
//!
//! A set is a collection: one element record per member (suffix: the member, value empty). The
//! header's `bytes` counts the members' lengths. Redis 7.0 keeps a set as an intset while every
//! member is an integer and there are at most 512 of them: [`CollHeader::NOT_INT`] records that
//! a non-integer member was added and [`CollHeader::BIG`] that the set grew past 512, so OBJECT
//! ENCODING reports `hashtable` from then on, as Redis does (it never converts back).
//!
//! Multi-key commands lock all their keys in one transaction. The STORE variants read every
//! source first, then write the destination as a fresh collection (or delete it when the result
//! is empty).

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use strata_keyspace::{Coll, CollHeader, Kind, Txn};
use strata_resp::Reply;

use crate::args::{is, parse_i64, parse_i64_opt};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::hash::{
    all_elems, arg, arity, bulks, empty_scan, open, open_read, parse_rand_count, parse_scan_cursor,
    parse_scan_opts, random_elems, rest, scan_page, with_keys, with_txn,
};
use crate::int;
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// Redis 7.0's `set-max-intset-entries`.
const MAX_INTSET_ENTRIES: u64 = 512;

/// Whether Redis's intset would hold `m` (`string2ll` accepts it).
fn is_int(m: &[u8]) -> bool {
    parse_i64_opt(m).is_some()
}

/// Stages the addition of a member not in the set, keeping the header exact.
pub(crate) fn stage_add(t: &mut Txn<'_>, c: &mut Coll, m: &[u8]) {
    t.elem_put(c, m, b"");
    c.h.len += 1;
    c.h.bytes += m.len() as u64;
    if !is_int(m) {
        c.h.flags |= CollHeader::NOT_INT;
    }
    if c.h.len > MAX_INTSET_ENTRIES {
        c.h.flags |= CollHeader::BIG;
    }
}

/// Stages the removal of a member in the set, keeping the header exact.
fn stage_rem(t: &mut Txn<'_>, c: &mut Coll, m: &[u8]) {
    t.elem_del(c, m);
    c.h.len = c.h.len.saturating_sub(1);
    c.h.bytes = c.h.bytes.saturating_sub(m.len() as u64);
}

/// The members of a set, in byte order.
fn members(t: &Txn<'_>, c: &Coll) -> Result<Vec<Bytes>, CmdError> {
    Ok(all_elems(t, c)?.into_iter().map(|(m, _)| m).collect())
}

/// Whether `m` is a member (storage view).
fn has(t: &Txn<'_>, c: &Coll, m: &[u8]) -> Result<bool, CmdError> {
    Ok(t.elem_get(c, m)?.is_some())
}

// ---------------------------------------------------------------------------------------------
// Single-key commands
// ---------------------------------------------------------------------------------------------

/// `SADD key member [member ...]` → `:n` members added.
fn sadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        let mut c = match open(t, db, key, Kind::Set)? {
            Some(c) => c,
            None => t.coll_new(db, key, Kind::Set),
        };
        let mut seen: HashSet<&Bytes> = HashSet::new();
        let mut n = 0u64;
        for m in rest(args, 2) {
            if !seen.insert(m) || has(t, &c, m)? {
                continue;
            }
            stage_add(t, &mut c, m);
            n += 1;
        }
        if n > 0 {
            t.coll_save(&c)?;
            t.notify(ev::SET, "sadd", db, key);
        }
        int(n)
    })
}

/// Queues a set command's event, and `del` when it emptied the set.
fn notify_set(t: &mut Txn<'_>, db: usize, c: &Coll, event: &'static str) {
    t.notify(ev::SET, event, db, &c.key);
    if c.h.len == 0 {
        t.notify(ev::GENERIC, "del", db, &c.key);
    }
}

/// `SREM key member [member ...]` → `:n` members removed; the key goes with its last member.
fn srem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, key, Kind::Set)? else {
            return int(0);
        };
        let mut seen: HashSet<&Bytes> = HashSet::new();
        let mut n = 0u64;
        for m in rest(args, 2) {
            if !seen.insert(m) || !has(t, &c, m)? {
                continue;
            }
            stage_rem(t, &mut c, m);
            n += 1;
        }
        if n > 0 {
            t.coll_save(&c)?;
            notify_set(t, db, &c, "srem");
        }
        int(n)
    })
}

/// `SCARD key` → `:members`.
fn scard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        int(open_read(t, db, key, Kind::Set)?.map_or(0, |c| c.h.len))
    })
}

/// `SISMEMBER key member` → `:1` or `:0`.
fn sismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, m] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Set)? else {
            return int(0);
        };
        int(i64::from(has(t, &c, m)?))
    })
}

/// `SMISMEMBER key member [member ...]` → an array of `:1`/`:0`.
fn smismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    with_txn(ctx, args, |t, db| {
        let c = open_read(t, db, key, Kind::Set)?;
        let mut out = Vec::new();
        for m in rest(args, 2) {
            let found = match &c {
                Some(c) => has(t, c, m)?,
                None => false,
            };
            out.push(Reply::Int(i64::from(found)));
        }
        Ok(Reply::Array(out))
    })
}

/// `SMEMBERS key` → every member.
fn smembers(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    let off_worker = ctx.off_worker();
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Set)? else {
            return Ok(Reply::Array(Vec::new()));
        };
        off_worker.run_for(c.len(), || Ok(bulks(members(t, &c)?)))
    })
}

/// `SRANDMEMBER key [count]`: without count a random member or nil; with a positive count up
/// to `count` distinct members, with a negative one `-count` members that may repeat.
fn srandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = args.get(2).map(|a| parse_rand_count(a)).transpose()?;
    with_txn(ctx, args, |t, db| {
        let c = open_read(t, db, key, Kind::Set)?;
        let Some(c) = c else {
            return Ok(match count {
                Some(_) => Reply::Array(Vec::new()),
                None => Reply::Null,
            });
        };
        let picked = random_elems(t, &c, count.unwrap_or(1))?
            .into_iter()
            .map(|(m, _)| m);
        match count {
            None => Ok(picked.into_iter().next().map_or(Reply::Null, Reply::Bulk)),
            Some(_) => Ok(bulks(picked)),
        }
    })
}

/// `SPOP key [count]`: removes and returns a random member (nil when missing) or up to `count`
/// distinct ones (an array).
fn spop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(a) => {
            let n = parse_i64(a)
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?;
            Some(n)
        }
        None => None,
    };
    with_txn(ctx, args, |t, db| {
        let Some(mut c) = open(t, db, key, Kind::Set)? else {
            return Ok(match count {
                Some(_) => Reply::Array(Vec::new()),
                None => Reply::Null,
            });
        };
        if count == Some(0) {
            return Ok(Reply::Array(Vec::new()));
        }
        let picked: Vec<Bytes> = random_elems(t, &c, count.unwrap_or(1))?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        for m in &picked {
            stage_rem(t, &mut c, m);
        }
        t.coll_save(&c)?;
        t.note_pops(&c, picked.len() as u64);
        notify_set(t, db, &c, "spop");
        Ok(match count {
            Some(_) => bulks(picked),
            None => picked.into_iter().next().map_or(Reply::Null, Reply::Bulk),
        })
    })
}

/// `SMOVE source destination member` → `:1` if moved, `:0` if `member` is not in `source`.
fn smove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, src, dst, m] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| {
        let Some(mut s) = open(t, db, src, Kind::Set)? else {
            return int(0);
        };
        let d = open(t, db, dst, Kind::Set)?;
        if src == dst {
            return int(i64::from(has(t, &s, m)?));
        }
        if !has(t, &s, m)? {
            return int(0);
        }
        let mut d = match d {
            Some(d) => d,
            None => t.coll_new(db, dst, Kind::Set),
        };
        let in_dst = has(t, &d, m)?;
        stage_rem(t, &mut s, m);
        t.coll_save(&s)?;
        notify_set(t, db, &s, "srem");
        if !in_dst {
            stage_add(t, &mut d, m);
            t.coll_save(&d)?;
            t.notify(ev::SET, "sadd", db, dst);
        }
        int(1)
    })
}

// ---------------------------------------------------------------------------------------------
// Set algebra
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Reads `keys` as sets (missing: None); WRONGTYPE if any is another type, checked over every
/// key before anything else, as Redis does.
fn read_sets(t: &mut Txn<'_>, db: usize, keys: &[Bytes]) -> Result<Vec<Option<Coll>>, CmdError> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(open_read(t, db, k, Kind::Set)?);
    }
    Ok(out)
}

/// The result of `op` over `sets`, in byte order. `limit` (0: none) stops an intersection
/// early.
fn compute(
    t: &Txn<'_>,
    op: Op,
    sets: &[Option<Coll>],
    limit: usize,
) -> Result<Vec<Bytes>, CmdError> {
    match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(Vec::new());
            }
            let mut cs: Vec<&Coll> = sets.iter().flatten().collect();
            cs.sort_by_key(|c| c.h.len);
            let Some((first, others)) = cs.split_first() else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for m in members(t, first)? {
                let mut all = true;
                for o in others {
                    if !has(t, o, &m)? {
                        all = false;
                        break;
                    }
                }
                if all {
                    out.push(m);
                    if limit > 0 && out.len() >= limit {
                        break;
                    }
                }
            }
            out.sort();
            Ok(out)
        }
        Op::Union => {
            let mut acc = BTreeSet::new();
            for c in sets.iter().flatten() {
                acc.extend(members(t, c)?);
            }
            Ok(acc.into_iter().collect())
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Ok(Vec::new());
            };
            let mut acc: BTreeSet<Bytes> = members(t, first)?.into_iter().collect();
            for c in sets.iter().skip(1).flatten() {
                if acc.is_empty() {
                    break;
                }
                if c.key == first.key {
                    acc.clear();
                    break;
                }
                if (c.h.len as usize) < acc.len() {
                    for m in members(t, c)? {
                        acc.remove(&m);
                    }
                } else {
                    let mut keep = BTreeSet::new();
                    for m in acc {
                        if !has(t, c, &m)? {
                            keep.insert(m);
                        }
                    }
                    acc = keep;
                }
            }
            Ok(acc.into_iter().collect())
        }
    }
}

/// SINTER, SUNION, SDIFF: `KEY key [key ...]` → the members.
fn algebra(ctx: &mut Ctx<'_, '_>, args: &[Bytes], op: Op) -> CmdResult {
    let keys = rest(args, 1);
    let off_worker = ctx.off_worker();
    with_txn(ctx, args, |t, db| {
        let sets = read_sets(t, db, keys)?;
        off_worker.run_for(total_len(&sets), || Ok(bulks(compute(t, op, &sets, 0)?)))
    })
}

/// The members of `sets` together: how much an operation over them may read.
fn total_len(sets: &[Option<Coll>]) -> u64 {
    sets.iter().flatten().map(Coll::len).sum()
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: `destination key [key ...]` → `:size of the result`,
/// which replaces `destination` (deleted when empty).
fn algebra_store(ctx: &mut Ctx<'_, '_>, args: &[Bytes], op: Op) -> CmdResult {
    let dst = arg(args, 1)?;
    let keys = rest(args, 2);
    let off_worker = ctx.off_worker();
    with_txn(ctx, args, |t, db| {
        let sets = read_sets(t, db, keys)?;
        let result = off_worker.run_for(total_len(&sets), || compute(t, op, &sets, 0))?;
        // Opening the destination once settles its lazy expiry before the overwrite.
        let existed = t.get(db, dst)?.is_some();
        let mut c = t.coll_new(db, dst, Kind::Set);
        for m in &result {
            stage_add(t, &mut c, m);
        }
        t.coll_save(&c)?;
        if !result.is_empty() {
            let event = match op {
                Op::Inter => "sinterstore",
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            t.notify(ev::SET, event, db, dst);
        } else if existed {
            t.notify(ev::GENERIC, "del", db, dst);
        }
        int(result.len())
    })
}

fn sinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Op::Inter)
}

fn sunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Op::Union)
}

fn sdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra(ctx, args, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    algebra_store(ctx, args, Op::Diff)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]` → `:size of the intersection` (at most
/// `limit` when it is not 0).
fn sintercard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let numkeys_err = || CmdError::err("numkeys should be greater than 0");
    let numkeys = parse_i64(arg(args, 1)?).map_err(|_| numkeys_err())?;
    if numkeys < 1 {
        return Err(numkeys_err());
    }
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > args.len() - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let keys = &args[2..2 + numkeys];
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while let Some(opt) = args.get(i) {
        match args.get(i + 1) {
            Some(v) if is(opt, "limit") => {
                let n = parse_i64(v)
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
                limit = usize::try_from(n).unwrap_or(usize::MAX);
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    let db = ctx.db();
    let locks: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    let off_worker = ctx.off_worker();
    with_keys(ctx, &locks, |t, db| {
        let sets = read_sets(t, db, keys)?;
        let inter = off_worker.run_for(total_len(&sets), || compute(t, Op::Inter, &sets, limit))?;
        int(inter.len())
    })
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]` → `[next cursor, [member, ...]]` (see
/// `hash::scan_page` for the cursor).
fn sscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let key = arg(args, 1)?;
    let cursor = parse_scan_cursor(arg(args, 2)?)?;
    with_txn(ctx, args, |t, db| {
        let Some(c) = open_read(t, db, key, Kind::Set)? else {
            return Ok(empty_scan());
        };
        let opts = parse_scan_opts(rest(args, 3))?;
        let (next, page) = scan_page(t, &c, cursor, &opts)?;
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(next.to_string())),
            bulks(page.into_iter().map(|(m, _)| m)),
        ]))
    })
}

const G: &str = "set";

/// SINTERCARD declares no fixed key positions (numkeys); it locks its keys itself.
const NUMKEYS: Keys = Keys::NONE;

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("sadd", -3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, G, "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd),
    cmd("srem", -3, WRITE | FAST | GROUP, Keys::ONE, G, "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem),
    cmd("scard", 2, READONLY | FAST | GROUP, Keys::ONE, G, "1.0.0", "Returns the number of members in a set.", scard),
    cmd("sismember", 3, READONLY | FAST | GROUP, Keys::ONE, G, "1.0.0", "Determines whether a member belongs to a set.", sismember),
    cmd("smismember", -3, READONLY | FAST, Keys::ONE, G, "6.2.0", "Determines whether multiple members belong to a set.", smismember),
    cmd("smembers", 2, READONLY, Keys::ONE, G, "1.0.0", "Returns all members of a set.", smembers),
    cmd("srandmember", -2, READONLY, Keys::ONE, G, "1.0.0", "Get one or multiple random members from a set", srandmember),
    cmd("spop", -2, WRITE | FAST | GROUP, Keys::ONE, G, "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop),
    cmd("smove", 4, WRITE | FAST, Keys::TWO, G, "1.0.0", "Moves a member from one set to another.", smove),
    cmd("sinter", -2, READONLY, Keys::ALL, G, "1.0.0", "Returns the intersect of multiple sets.", sinter),
    cmd("sintercard", -3, READONLY, NUMKEYS, G, "7.0.0", "Returns the number of members of the intersect of multiple sets.", sintercard),
    cmd("sinterstore", -3, WRITE | DENYOOM, Keys::ALL, G, "1.0.0", "Stores the intersect of multiple sets in a key.", sinterstore),
    cmd("sunion", -2, READONLY, Keys::ALL, G, "1.0.0", "Returns the union of multiple sets.", sunion),
    cmd("sunionstore", -3, WRITE | DENYOOM, Keys::ALL, G, "1.0.0", "Stores the union of multiple sets in a key.", sunionstore),
    cmd("sdiff", -2, READONLY, Keys::ALL, G, "1.0.0", "Returns the difference of multiple sets.", sdiff),
    cmd("sdiffstore", -3, WRITE | DENYOOM, Keys::ALL, G, "1.0.0", "Stores the difference of multiple sets in a key.", sdiffstore),
    cmd("sscan", -3, READONLY, Keys::ONE, G, "2.8.0", "Iterates over members of a set.", sscan),
];
