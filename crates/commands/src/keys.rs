//! The GENERIC (keyspace) command family: DEL, UNLINK, EXISTS, TYPE, the EXPIRE and TTL
//! families, PERSIST, RENAME, RENAMENX, COPY, MOVE, KEYS, SCAN, RANDOMKEY, TOUCH and OBJECT.
//!
//! Every handler works on [`Record`]s by their [`Kind`], so collections slot in later: where a
//! value is copied (COPY, RENAME, MOVE) only the metadata record is copied today, and the places
//! that will also have to copy element records are marked `// collections:`.
//!
//! # SCAN cursors
//! Keys are walked in storage byte order, so "where the last page ended" is a key, and keys can
//! be far longer than the 64-bit integer a cursor must be (clients parse it as a number, some as
//! an `i64`, JavaScript ones as a double). A cursor is therefore a handle: a process-wide table
//! maps a random id in `1..2^53` to the last key a page returned, and the next call resumes
//! strictly after that key. `0` starts and ends an iteration, as in Redis.
//!
//! - The table is bounded: at most [`cursors::MAX_ENTRIES`] handles and [`cursors::MAX_BYTES`]
//!   of remembered keys; the oldest handles are dropped first. Handles are not consumed on use,
//!   so a client may retry a page.
//! - A cursor the table does not know (dropped, from before a restart, or made up) restarts the
//!   walk from the beginning: the iteration may return keys again, but never skips one. SCAN
//!   promises "at least once", not "exactly once".
//! - A cursor is a position, not a database: it can be used with any database, and FLUSHDB or
//!   SWAPDB in the middle do not break it.
//! - Each call reads at most COUNT records (expired ones included, then filtered), so a page may
//!   be empty while the cursor is not 0, which Redis allows too.
//! - Every key present for the whole iteration is returned exactly once, unless its handle was
//!   dropped (then at least once): byte order is total and pages never overlap.
//!
//! With a MATCH pattern that starts with literal bytes (`user:*`), KEYS and SCAN only visit the
//! range of keys with that prefix. Otherwise KEYS and SCAN read the whole database, which takes
//! time on big databases (as in Redis, KEYS is not meant for production traffic); KEYS runs off
//! the worker (`Host::off_worker`), so other connections are served meanwhile.

use bytes::Bytes;
use strata_keyspace::{live, now_ms, CollHeader, Kind, Record, Txn};
use strata_resp::Reply;
use strata_storage::Storage;

use crate::args::{is, parse_i64, parse_i64_opt, text};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::hash::elems_in;
use crate::int;
use crate::notify::event_class as ev;
use crate::table::{cmd, container, flags::*, CommandDef, Keys};

/// Records read per storage page by KEYS and the RANDOMKEY fallback.
const PAGE: usize = 1024;

/// SCAN's default COUNT.
const SCAN_DEFAULT_COUNT: i64 = 10;

/// Redis's shared integers: OBJECT REFCOUNT reports them as never freed.
const SHARED_INTEGERS: i64 = 10_000;

/// Strings up to this length are `embstr` in Redis.
const EMBSTR_LIMIT: usize = 44;

/// Argument `i`, which the arity check guarantees; a syntax error rather than a panic if not.
fn arg(args: &[Bytes], i: usize) -> Result<&Bytes, CmdError> {
    args.get(i).ok_or(CmdError::Syntax)
}

/// Arguments from `i` on.
fn rest(args: &[Bytes], i: usize) -> &[Bytes] {
    args.get(i..).unwrap_or_default()
}

/// `ERR source and destination objects are the same`
fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// A database index argument as Redis's `getIntFromObjectOrReply` + `selectDb` read it.
fn db_arg(ctx: &Ctx<'_, '_>, a: &[u8]) -> Result<usize, CmdError> {
    let n = parse_i64(a)?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::NotInteger);
    }
    ctx.db_index(a)
}

fn bulk_str(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

// ---- existence and type ---------------------------------------------------------------------

/// `DEL key [key ...]` and `UNLINK key [key ...]` → `:n` keys removed.
fn del(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    let mut t = ctx.txn(args);
    let mut n = 0u64;
    for key in rest(args, 1) {
        // collections: delete element records too
        if t.delete(db, key)? {
            t.notify(ev::GENERIC, "del", db, key);
            n += 1;
        }
    }
    ctx.commit(t)?;
    int(n)
}

/// `EXISTS key [key ...]` → `:n`, a key named twice counted twice.
fn exists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    let mut t = ctx.txn(args);
    let mut n = 0u64;
    for key in rest(args, 1) {
        if t.lookup_meta(db, key)?.is_some() {
            n += 1;
        }
    }
    ctx.commit(t)?;
    int(n)
}

/// `TOUCH key [key ...]` → `:n` existing keys; marks them used.
fn touch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    exists(ctx, args)
}

/// `TYPE key` → `+string`, `+hash`, ... or `+none`.
fn type_cmd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    let key = arg(args, 1)?;
    let mut t = ctx.txn(args);
    let m = t.lookup_meta(db, key)?;
    ctx.commit(t)?;
    Ok(Reply::simple(m.map_or("none", |m| m.kind.type_name())))
}

// ---- expiry ---------------------------------------------------------------------------------

/// Conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireFlags {
    /// Redis's `parseExtendedExpireArgumentsOrReply`.
    fn parse(opts: &[Bytes]) -> Result<ExpireFlags, CmdError> {
        let mut f = ExpireFlags::default();
        for o in opts {
            if is(o, "nx") {
                f.nx = true;
            } else if is(o, "xx") {
                f.xx = true;
            } else if is(o, "gt") {
                f.gt = true;
            } else if is(o, "lt") {
                f.lt = true;
            } else {
                return Err(CmdError::err(format!("Unsupported option {}", text(o))));
            }
        }
        if f.nx && (f.xx || f.gt || f.lt) {
            return Err(CmdError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if f.gt && f.lt {
            return Err(CmdError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(f)
    }

    /// Whether the new absolute expiry `when` may replace `current` (0: no expiry, which GT
    /// and LT treat as an infinite TTL).
    fn allow(&self, current: u64, when: i64) -> bool {
        let cur = i64::try_from(current).unwrap_or(i64::MAX);
        if self.nx && current != 0 {
            return false;
        }
        if self.xx && current == 0 {
            return false;
        }
        if self.gt && (current == 0 || when <= cur) {
            return false;
        }
        if self.lt && current != 0 && when >= cur {
            return false;
        }
        true
    }
}

/// The EXPIRE family: `ms` when the argument is in milliseconds, `absolute` when it is a Unix
/// time rather than a delay.
///
/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]` (also PEXPIRE, EXPIREAT, PEXPIREAT) → `:1` when the
/// timeout was set, or the key deleted because the time is already past; `:0` when the key does
/// not exist or a condition failed.
fn expire_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    let db = ctx.db();
    let name = ctx.cmd.name;
    let key = arg(args, 1)?;
    let flags = ExpireFlags::parse(rest(args, 3))?;
    let mut when = parse_i64(arg(args, 2)?)?;
    if !ms {
        when = when
            .checked_mul(1000)
            .ok_or(CmdError::InvalidExpire(name))?;
    }
    let mut t = ctx.txn(args);
    let now = i64::try_from(t.now()).unwrap_or(i64::MAX);
    if !absolute {
        // Nothing is staged yet: an error here leaves the keyspace as it was.
        when = when.checked_add(now).ok_or(CmdError::InvalidExpire(name))?;
    }
    let Some(mut rec) = t.get(db, key)? else {
        ctx.commit(t)?;
        return int(0);
    };
    if !flags.allow(rec.expire_ms, when) {
        ctx.commit(t)?;
        return int(0);
    }
    let event = if when <= now {
        // collections: delete element records too
        t.delete(db, key)?;
        "del"
    } else {
        rec.expire_ms = when as u64;
        t.put(db, key, rec)?;
        "expire"
    };
    ctx.commit(t)?;
    ctx.notify(ev::GENERIC, event, key);
    int(1)
}

fn expire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, false)
}

fn pexpire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, false)
}

fn expireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, true)
}

fn pexpireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, true)
}

/// The TTL family → `:-2` for a missing key, `:-1` for a key without expiry, else the remaining
/// time (`absolute`: the expiry time) in ms or in seconds rounded as Redis does, `(ms+500)/1000`.
fn ttl_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    let db = ctx.db();
    let key = arg(args, 1)?;
    let mut t = ctx.txn(args);
    let m = t.lookup_meta(db, key)?;
    let now = i64::try_from(t.now()).unwrap_or(i64::MAX);
    ctx.commit(t)?;
    let Some(m) = m else { return int(-2) };
    if m.expire_ms == 0 {
        return int(-1);
    }
    let expire = i64::try_from(m.expire_ms).unwrap_or(i64::MAX);
    let ttl = if absolute {
        expire
    } else {
        expire.saturating_sub(now)
    }
    .max(0);
    int(if ms {
        ttl
    } else {
        ttl.saturating_add(500) / 1000
    })
}

fn ttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// `PERSIST key` → `:1` if a timeout was removed, `:0` otherwise.
fn persist(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    let key = arg(args, 1)?;
    let mut t = ctx.txn(args);
    let removed = match t.get(db, key)? {
        Some(mut rec) if rec.expire_ms != 0 => {
            rec.expire_ms = 0;
            t.put(db, key, rec)?;
            true
        }
        _ => false,
    };
    ctx.commit(t)?;
    if removed {
        ctx.notify(ev::GENERIC, "persist", key);
    }
    int(u8::from(removed))
}

// ---- moving values --------------------------------------------------------------------------

/// Stages `rec` (read from `src`) as the value of `dst`: RENAME, COPY and MOVE. A collection's
/// elements are copied one by one (O(n)), so a big one is copied off the worker.
fn copy_value(
    ctx: &Ctx<'_, '_>,
    t: &mut Txn<'_>,
    (src_db, src): (usize, &[u8]),
    (dst_db, dst): (usize, &[u8]),
    rec: Record,
) -> Result<(), CmdError> {
    ctx.off_worker()
        .run_for(elems_in(&rec), || t.put_copy(src_db, src, dst_db, dst, rec))?;
    Ok(())
}

/// RENAME and RENAMENX.
///
/// # Format
/// `RENAME key newkey` → `+OK`; `RENAMENX key newkey` → `:1`, or `:0` if `newkey` exists.
/// Both fail with `ERR no such key` when `key` does not exist; the TTL moves with the value.
fn rename_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], nx: bool) -> CmdResult {
    let db = ctx.db();
    let src = arg(args, 1)?;
    let dst = arg(args, 2)?;
    let mut t = ctx.txn(args);
    let Some(rec) = t.get(db, src)? else {
        ctx.commit(t)?;
        return Err(CmdError::NoSuchKey);
    };
    let reply = |moved: bool| {
        if nx {
            Reply::Int(i64::from(moved))
        } else {
            Reply::ok()
        }
    };
    if src == dst || (nx && t.get(db, dst)?.is_some()) {
        ctx.commit(t)?;
        return Ok(reply(false));
    }
    // Redis deletes the destination and adds it anew (a `new` event).
    t.delete(db, dst)?;
    copy_value(ctx, &mut t, (db, src), (db, dst), rec)?;
    t.delete(db, src)?;
    ctx.commit(t)?;
    ctx.notify(ev::GENERIC, "rename_from", src);
    ctx.notify(ev::GENERIC, "rename_to", dst);
    Ok(reply(true))
}

fn rename(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// COPY.
///
/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]` → `:1` when copied, `:0` when the
/// source does not exist or the destination does (without REPLACE). The TTL is copied too.
fn copy(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let src_db = ctx.db();
    let src = arg(args, 1)?;
    let dst = arg(args, 2)?;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while let Some(a) = args.get(i) {
        if is(a, "replace") {
            replace = true;
        } else if let (true, Some(n)) = (is(a, "db"), args.get(i + 1)) {
            dst_db = db_arg(ctx, n)?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if src_db == dst_db && src == dst {
        return Err(same_object());
    }
    let mut t = ctx.ks.txn(&[(src_db, src), (dst_db, dst)]);
    let Some(rec) = t.lookup(src_db, src)? else {
        ctx.commit(t)?;
        return int(0);
    };
    if !replace && t.get(dst_db, dst)?.is_some() {
        ctx.commit(t)?;
        return int(0);
    }
    if replace {
        // Redis deletes the destination and adds it anew (a `new` event).
        t.delete(dst_db, dst)?;
    }
    copy_value(ctx, &mut t, (src_db, src), (dst_db, dst), rec)?;
    ctx.commit(t)?;
    ctx.notify_db(ev::GENERIC, "copy_to", dst_db, dst);
    int(1)
}

/// MOVE.
///
/// # Format
/// `MOVE key db` → `:1` when moved, `:0` when the key does not exist or exists in `db`.
fn move_cmd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let src_db = ctx.db();
    let key = arg(args, 1)?;
    let dst_db = db_arg(ctx, arg(args, 2)?)?;
    if dst_db == src_db {
        return Err(same_object());
    }
    let mut t = ctx.ks.txn(&[(src_db, key), (dst_db, key)]);
    let Some(rec) = t.get(src_db, key)? else {
        ctx.commit(t)?;
        return int(0);
    };
    if t.get(dst_db, key)?.is_some() {
        ctx.commit(t)?;
        return int(0);
    }
    copy_value(ctx, &mut t, (src_db, key), (dst_db, key), rec)?;
    t.delete(src_db, key)?;
    ctx.commit(t)?;
    ctx.notify_db(ev::GENERIC, "move_from", src_db, key);
    ctx.notify_db(ev::GENERIC, "move_to", dst_db, key);
    int(1)
}

// ---- iteration ------------------------------------------------------------------------------

/// The literal bytes every key matching `pattern` starts with (case-sensitive matching).
fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    pattern.get(..end).unwrap_or_default()
}

/// One page of a walk over the keys of `phys` that start with `prefix`, in byte order: records
/// strictly after `after` (from the start of the prefix range when None or before it), about
/// `limit` of them. Expired records are included. Returns the records and whether the walk is
/// over.
fn walk_page(
    storage: &Storage,
    phys: u16,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<(Vec<(Bytes, Record)>, bool), CmdError> {
    let mut out = Vec::new();
    let start = match after {
        Some(a) if a >= prefix => Some(a),
        _ if prefix.is_empty() => None,
        _ => {
            // The walk resumes strictly after a key, so the prefix itself is read on its own.
            if let Some(rec) = storage.get(phys, prefix)? {
                out.push((Bytes::copy_from_slice(prefix), rec));
            }
            Some(prefix)
        }
    };
    let (page, mut done) = storage.scan(phys, start, limit.max(1))?;
    for (k, rec) in page {
        if !k.starts_with(prefix) {
            done = true;
            break;
        }
        out.push((k, rec));
    }
    Ok((out, done))
}

/// `KEYS pattern` → every live key of the selected database matching the glob, in byte order.
fn keys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pattern = arg(args, 1)?;
    let all = &pattern[..] == b"*";
    let storage = ctx.ks.storage();
    let Some(phys) = storage.phys(ctx.db()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let prefix = if all {
        &[][..]
    } else {
        literal_prefix(pattern)
    };
    let now = now_ms();
    // Every key of the database: off the worker, so that its other connections go on.
    ctx.off_worker().run(|| {
        let mut out = Vec::new();
        let mut after: Option<Bytes> = None;
        loop {
            let (page, done) = walk_page(storage, phys, prefix, after.as_deref(), PAGE)?;
            after = page.last().map(|(k, _)| k.clone());
            for (k, rec) in page {
                if live(&rec, now) && (all || glob_match(pattern, &k, false)) {
                    out.push(Reply::Bulk(k));
                }
            }
            if done || after.is_none() {
                break;
            }
        }
        Ok(Reply::Array(out))
    })
}

/// Parses a SCAN cursor as Redis's `strtoul` check does: optional sign (a minus wraps), decimal
/// digits, nothing else; the empty string reads as 0. HSCAN, SSCAN and ZSCAN use it too.
pub(crate) fn parse_cursor(a: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::err("invalid cursor");
    let (neg, digits) = match a.split_first() {
        None => return Ok(0),
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        Some(_) => (false, a),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(bad());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN.
///
/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]` → a two-element array: the next
/// cursor as a bulk decimal integer (`0` when the iteration is complete) and the keys of this
/// page. COUNT (default 10, must be ≥ 1) is how many records the page reads before filtering.
/// See the module documentation for the cursor design.
fn scan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(arg(args, 1)?)?;
    let mut count = SCAN_DEFAULT_COUNT;
    let mut pattern: Option<&Bytes> = None;
    let mut type_name: Option<&Bytes> = None;
    let mut i = 2;
    while let Some(a) = args.get(i) {
        let value = args.get(i + 1);
        match value {
            Some(v) if is(a, "count") => {
                count = parse_i64(v)?;
                if count < 1 {
                    return Err(CmdError::Syntax);
                }
            }
            Some(v) if is(a, "match") => pattern = Some(v),
            Some(v) if is(a, "type") => type_name = Some(v),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    // `*` matches everything (Redis skips matching too, which also lets it match the empty key).
    let pattern = pattern.filter(|p| &p[..] != b"*");
    let storage = ctx.ks.storage();
    let Some(phys) = storage.phys(ctx.db()) else {
        return Ok(Reply::Array(vec![bulk_str("0"), Reply::Array(Vec::new())]));
    };
    let after = if cursor == 0 {
        None
    } else {
        cursors::get(cursor)
    };
    let prefix = pattern.map_or(&[][..], |p| literal_prefix(p));
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    let (page, done) = walk_page(storage, phys, prefix, after.as_deref(), limit)?;
    let next = match page.last() {
        Some((k, _)) if !done => cursors::put(k.clone()),
        _ => 0,
    };
    let now = now_ms();
    let keys = page
        .into_iter()
        .filter(|(k, rec)| {
            live(rec, now)
                && pattern.is_none_or(|p| glob_match(p, k, false))
                && type_name.is_none_or(|t| t.eq_ignore_ascii_case(rec.kind.type_name().as_bytes()))
        })
        .map(|(k, _)| Reply::Bulk(k))
        .collect();
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(keys),
    ]))
}

/// The table of SCAN cursor handles (see the module documentation).
pub(crate) mod cursors {
    use std::collections::{HashMap, VecDeque};
    use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

    use bytes::Bytes;

    /// Most handles remembered.
    pub const MAX_ENTRIES: usize = 10_000;
    /// Most key bytes remembered (the newest handle is always kept).
    pub const MAX_BYTES: usize = 64 << 20;
    /// Handles stay below 2^53, exact as a double and positive as an i64.
    const ID_MASK: u64 = (1 << 53) - 1;

    #[derive(Default)]
    struct Table {
        keys: HashMap<u64, Bytes>,
        order: VecDeque<u64>,
        bytes: usize,
    }

    fn table() -> MutexGuard<'static, Table> {
        static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
        TABLE
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The key a handle resumes after, if the table still has it.
    pub fn get(id: u64) -> Option<Bytes> {
        table().keys.get(&id).cloned()
    }

    /// Where a collection SCAN resumes: strictly after the element handle `cursor` names (its
    /// bytes and a zero byte), or from the start for cursor 0 or a forgotten handle.
    pub fn resume_after(cursor: u64) -> Option<Vec<u8>> {
        if cursor == 0 {
            return None;
        }
        get(cursor).map(|a| {
            let mut v = a.to_vec();
            v.push(0);
            v
        })
    }

    /// Remembers `key` and returns its new handle (never 0).
    pub fn put(key: Bytes) -> u64 {
        let mut t = table();
        let id = loop {
            let id = rand::random::<u64>() & ID_MASK;
            if id != 0 && !t.keys.contains_key(&id) {
                break id;
            }
        };
        t.bytes += key.len();
        t.keys.insert(id, key);
        t.order.push_back(id);
        while t.order.len() > MAX_ENTRIES || (t.bytes > MAX_BYTES && t.order.len() > 1) {
            let Some(old) = t.order.pop_front() else {
                break;
            };
            if let Some(k) = t.keys.remove(&old) {
                t.bytes -= k.len();
            }
        }
        id
    }
}

/// `RANDOMKEY` → a random live key of the selected database, or nil when it has none.
fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    // Each probe that lands on an expired key deletes it, so repeated rounds make progress.
    for _ in 0..8 {
        if let Some(k) = ctx.ks.random_key(db)? {
            return Ok(Reply::Bulk(k));
        }
        if ctx.ks.dbsize(db) == 0 {
            return Ok(Reply::Null);
        }
    }
    // Mostly expired keys: take the first live one of a bounded walk.
    let storage = ctx.ks.storage();
    let Some(phys) = storage.phys(db) else {
        return Ok(Reply::Null);
    };
    let now = now_ms();
    let mut after: Option<Bytes> = None;
    for _ in 0..16 {
        let (page, done) = storage.scan(phys, after.as_deref(), PAGE)?;
        if let Some((k, _)) = page.iter().find(|(_, rec)| live(rec, now)) {
            return Ok(Reply::Bulk(k.clone()));
        }
        after = page.last().map(|(k, _)| k.clone());
        if done || after.is_none() {
            break;
        }
    }
    Ok(Reply::Null)
}

// ---- OBJECT ---------------------------------------------------------------------------------

/// The encoding Redis would report for a value.
fn encoding(rec: &Record) -> &'static str {
    match rec.kind {
        Kind::String if parse_i64_opt(&rec.body).is_some() => "int",
        Kind::String if rec.body.len() <= EMBSTR_LIMIT => "embstr",
        Kind::String => "raw",
        // Redis 7.0: lists are always quicklists; the others start small and convert once.
        Kind::List => "quicklist",
        kind => {
            let f = CollHeader::decode(&rec.body).map_or(CollHeader::BIG, |h| h.flags);
            match kind {
                _ if f & CollHeader::BIG != 0 => match kind {
                    Kind::ZSet => "skiplist",
                    _ => "hashtable",
                },
                Kind::Set if f & CollHeader::NOT_INT != 0 => "hashtable",
                Kind::Set => "intset",
                _ => "listpack",
            }
        }
    }
}

/// Reads the key of an OBJECT subcommand without marking it used, so that OBJECT never changes
/// what OBJECT IDLETIME reports.
fn object_lookup(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> Result<Option<Record>, CmdError> {
    Ok(ctx.ks.peek(ctx.db(), arg(args, 2)?)?)
}

/// `OBJECT ENCODING key` → bulk encoding name, or nil.
fn object_encoding(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    Ok(object_lookup(ctx, args)?.map_or(Reply::Null, |r| bulk_str(encoding(&r))))
}

/// `OBJECT REFCOUNT key` → `:1`, or `:2147483647` for Redis's shared integers 0..9999; nil for
/// a missing key.
fn object_refcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some(rec) = object_lookup(ctx, args)? else {
        return Ok(Reply::Null);
    };
    let shared = rec.kind == Kind::String
        && parse_i64_opt(&rec.body).is_some_and(|v| (0..SHARED_INTEGERS).contains(&v));
    Ok(Reply::Int(if shared { i64::from(i32::MAX) } else { 1 }))
}

/// `OBJECT IDLETIME key` → seconds since the key was last used while in memory (0 when it is
/// on disk only), or nil. Reads without marking the key used, as Redis does.
fn object_idletime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if object_lookup(ctx, args)?.is_none() {
        return Ok(Reply::Null);
    }
    let key = arg(args, 2)?;
    let ks = ctx.ks;
    let idle = ks
        .storage()
        .phys(ctx.db())
        .and_then(|p| ks.hot().idle_secs(p, key));
    int(idle.unwrap_or(0))
}

/// `OBJECT FREQ key` → nil for a missing key, else Redis's error: there is no LFU policy.
fn object_freq(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    if object_lookup(ctx, args)?.is_none() {
        return Ok(Reply::Null);
    }
    Err(CmdError::err(
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching \
         between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

/// `OBJECT HELP` → Redis's help lines as status replies.
fn object_help(_ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
    ];
    Ok(Reply::Array(
        LINES.iter().map(|&l| Reply::simple(l)).collect(),
    ))
}

// ---- registration ---------------------------------------------------------------------------

const G: &str = "generic";

const OBJECT_SUBCOMMANDS: &[CommandDef] = &[
    cmd(
        "object|encoding",
        3,
        READONLY,
        Keys::SUB_ONE,
        G,
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
        object_encoding,
    ),
    cmd(
        "object|freq",
        3,
        READONLY,
        Keys::SUB_ONE,
        G,
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
        object_freq,
    ),
    cmd(
        "object|help",
        2,
        LOADING | STALE,
        Keys::NONE,
        G,
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        object_help,
    ),
    cmd(
        "object|idletime",
        3,
        READONLY,
        Keys::SUB_ONE,
        G,
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
        object_idletime,
    ),
    cmd(
        "object|refcount",
        3,
        READONLY,
        Keys::SUB_ONE,
        G,
        "2.2.3",
        "Returns the reference count of a value of a key.",
        object_refcount,
    ),
];

/// The GENERIC family's rows.
pub static COMMANDS: &[CommandDef] = &[
    cmd("del", -2, WRITE | GROUP, Keys::ALL, G, "1.0.0", "Deletes one or more keys.", del),
    cmd("unlink", -2, WRITE | FAST | GROUP, Keys::ALL, G, "4.0.0", "Asynchronously deletes one or more keys.", del),
    cmd("exists", -2, READONLY | FAST | GROUP, Keys::ALL, G, "1.0.0", "Determines whether one or more keys exist.", exists),
    cmd("type", 2, READONLY | FAST | GROUP, Keys::ONE, G, "1.0.0", "Determines the type of value stored at a key.", type_cmd),
    cmd("expire", -3, WRITE | FAST | GROUP, Keys::ONE, G, "1.0.0", "Sets the expiration time of a key in seconds.", expire),
    cmd("pexpire", -3, WRITE | FAST | GROUP, Keys::ONE, G, "2.6.0", "Sets the expiration time of a key in milliseconds.", pexpire),
    cmd("expireat", -3, WRITE | FAST | GROUP, Keys::ONE, G, "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", expireat),
    cmd("pexpireat", -3, WRITE | FAST | GROUP, Keys::ONE, G, "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", pexpireat),
    cmd("ttl", 2, READONLY | FAST | GROUP, Keys::ONE, G, "1.0.0", "Returns the expiration time in seconds of a key.", ttl),
    cmd("pttl", 2, READONLY | FAST | GROUP, Keys::ONE, G, "2.6.0", "Returns the expiration time in milliseconds of a key.", pttl),
    cmd("expiretime", 2, READONLY | FAST | GROUP, Keys::ONE, G, "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", expiretime),
    cmd("pexpiretime", 2, READONLY | FAST | GROUP, Keys::ONE, G, "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", pexpiretime),
    cmd("persist", 2, WRITE | FAST | GROUP, Keys::ONE, G, "2.2.0", "Removes the expiration time of a key.", persist),
    cmd("rename", 3, WRITE, Keys::TWO, G, "1.0.0", "Renames a key and overwrites the destination.", rename),
    cmd("renamenx", 3, WRITE | FAST, Keys::TWO, G, "1.0.0", "Renames a key only when the target key name doesn't exist.", renamenx),
    cmd("copy", -3, WRITE | DENYOOM, Keys::TWO, G, "6.2.0", "Copies the value of a key to a new key.", copy),
    cmd("move", 3, WRITE | FAST, Keys::ONE, G, "1.0.0", "Moves a key to another database.", move_cmd),
    cmd("keys", 2, READONLY, Keys::NONE, G, "1.0.0", "Returns all key names that match a pattern.", keys),
    cmd("scan", -2, READONLY, Keys::NONE, G, "2.8.0", "Iterates over the key names in the database.", scan),
    cmd("randomkey", 1, READONLY, Keys::NONE, G, "1.0.0", "Returns a random key name from the database.", randomkey),
    cmd("touch", -2, READONLY | FAST | GROUP, Keys::ALL, G, "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", touch),
    container("object", 0, G, "2.2.3", "A container for object introspection commands.", OBJECT_SUBCOMMANDS),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use bytes::Bytes;
    use strata_keyspace::{now_ms, CollHeader, Kind, Record};
    use strata_resp::Reply;

    use crate::tests::{both, bulk, err, ok, Env};

    fn n(v: i64) -> Reply {
        Reply::Int(v)
    }

    fn arr(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| bulk(s)).collect())
    }

    fn simple(s: &str) -> Reply {
        Reply::Simple(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Stages a record directly, so these tests need no other command family. A collection
    /// gets an empty header (no elements).
    fn put_rec(env: &Env, db: usize, key: &str, kind: Kind, body: &str, expire_ms: u64) {
        let mut t = env.ks.txn(&[(db, key.as_bytes())]);
        let body = match kind {
            Kind::String => Bytes::copy_from_slice(body.as_bytes()),
            _ => CollHeader::default().encode(),
        };
        t.put(
            db,
            key.as_bytes(),
            Record {
                kind,
                expire_ms,
                body,
            },
        )
        .expect("put");
        t.commit().expect("commit");
    }

    fn set(env: &Env, key: &str, val: &str) {
        put_rec(env, env.session.db, key, Kind::String, val, 0);
    }

    fn set_px(env: &Env, key: &str, val: &str, ttl_ms: u64) {
        put_rec(
            env,
            env.session.db,
            key,
            Kind::String,
            val,
            now_ms() + ttl_ms,
        );
    }

    /// A key whose TTL passed (still on disk until something expires it).
    fn set_expired(env: &Env, key: &str) {
        put_rec(
            env,
            env.session.db,
            key,
            Kind::String,
            "gone",
            now_ms().saturating_sub(1000),
        );
    }

    fn get_rec(env: &Env, db: usize, key: &str) -> Option<Record> {
        let mut t = env.ks.txn(&[(db, key.as_bytes())]);
        let r = t.get(db, key.as_bytes()).expect("get");
        t.commit().expect("commit");
        r
    }

    fn int_of(r: &Reply) -> i64 {
        match r {
            Reply::Int(v) => *v,
            other => panic!("not an integer: {other:?}"),
        }
    }

    fn bulks(r: Reply) -> Vec<String> {
        match r {
            Reply::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    #[test]
    fn del_unlink_exists_touch() {
        both(|env| {
            set(env, "a", "1");
            set(env, "b", "2");
            set_expired(env, "x");
            assert_eq!(
                env.run(&["EXISTS", "a", "a", "b", "c", "x"]),
                n(3),
                "duplicates count"
            );
            assert_eq!(env.run(&["TOUCH", "a", "b", "c", "x"]), n(2));
            assert_eq!(
                env.run(&["DEL", "a", "a", "c", "x"]),
                n(1),
                "a key is deleted once"
            );
            assert_eq!(env.run(&["EXISTS", "a"]), n(0));
            assert_eq!(env.run(&["UNLINK", "b", "zz"]), n(1));
            assert_eq!(env.run(&["EXISTS", "b"]), n(0));
            assert_eq!(
                env.run(&["DEL"]),
                err("ERR wrong number of arguments for 'del' command")
            );
            assert_eq!(
                env.run(&["EXISTS"]),
                err("ERR wrong number of arguments for 'exists' command")
            );
        });
    }

    #[test]
    fn type_of_each_kind() {
        both(|env| {
            set(env, "s", "v");
            put_rec(env, 0, "h", Kind::Hash, "", 0);
            put_rec(env, 0, "l", Kind::List, "", 0);
            put_rec(env, 0, "st", Kind::Set, "", 0);
            put_rec(env, 0, "z", Kind::ZSet, "", 0);
            set_expired(env, "x");
            assert_eq!(env.run(&["TYPE", "s"]), simple("string"));
            assert_eq!(env.run(&["TYPE", "h"]), simple("hash"));
            assert_eq!(env.run(&["TYPE", "l"]), simple("list"));
            assert_eq!(env.run(&["TYPE", "st"]), simple("set"));
            assert_eq!(env.run(&["TYPE", "z"]), simple("zset"));
            assert_eq!(env.run(&["TYPE", "nope"]), simple("none"));
            assert_eq!(env.run(&["TYPE", "x"]), simple("none"));
        });
    }

    #[test]
    fn expire_sets_and_reads_ttl() {
        both(|env| {
            set(env, "k", "v");
            assert_eq!(env.run(&["TTL", "k"]), n(-1));
            assert_eq!(env.run(&["PTTL", "k"]), n(-1));
            assert_eq!(env.run(&["EXPIRETIME", "k"]), n(-1));
            assert_eq!(env.run(&["TTL", "missing"]), n(-2));
            assert_eq!(env.run(&["PEXPIRETIME", "missing"]), n(-2));
            assert_eq!(env.run(&["EXPIRE", "k", "100"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(100));
            let pttl = int_of(&env.run(&["PTTL", "k"]));
            assert!((99_000..=100_000).contains(&pttl), "{pttl}");
            assert_eq!(env.run(&["PEXPIRE", "k", "5000"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(5));
            assert_eq!(env.run(&["EXPIREAT", "k", "5000000000"]), n(1));
            assert_eq!(env.run(&["EXPIRETIME", "k"]), n(5_000_000_000));
            assert_eq!(env.run(&["PEXPIRETIME", "k"]), n(5_000_000_000_000));
            assert_eq!(env.run(&["PEXPIREAT", "k", "5000000000123"]), n(1));
            assert_eq!(env.run(&["PEXPIRETIME", "k"]), n(5_000_000_000_123));
            assert_eq!(env.run(&["EXPIRE", "missing", "100"]), n(0));
            assert_eq!(env.run(&["PEXPIREAT", "missing", "1"]), n(0));
            assert_eq!(env.run(&["EXISTS", "missing"]), n(0));
        });
    }

    #[test]
    fn ttl_rounds_like_redis() {
        both(|env| {
            set(env, "k", "v");
            env.run(&["PEXPIRE", "k", "2400"]);
            assert_eq!(env.run(&["TTL", "k"]), n(2));
            env.run(&["PEXPIRE", "k", "2600"]);
            assert_eq!(env.run(&["TTL", "k"]), n(3));
            env.run(&["PEXPIRE", "k", "400"]);
            assert_eq!(env.run(&["TTL", "k"]), n(0));
            env.run(&["PEXPIREAT", "k", "5000000000499"]);
            assert_eq!(env.run(&["EXPIRETIME", "k"]), n(5_000_000_000));
            env.run(&["PEXPIREAT", "k", "5000000000500"]);
            assert_eq!(env.run(&["EXPIRETIME", "k"]), n(5_000_000_001));
        });
    }

    #[test]
    fn expire_in_the_past_deletes() {
        both(|env| {
            set(env, "k", "v");
            assert_eq!(env.run(&["EXPIRE", "k", "-1"]), n(1));
            assert_eq!(env.run(&["EXISTS", "k"]), n(0));
            set(env, "k", "v");
            assert_eq!(env.run(&["PEXPIRE", "k", "0"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(-2));
            set(env, "k", "v");
            assert_eq!(env.run(&["EXPIREAT", "k", "1"]), n(1));
            assert_eq!(env.run(&["EXISTS", "k"]), n(0));
            set(env, "k", "v");
            assert_eq!(env.run(&["PEXPIREAT", "k", "-5"]), n(1));
            assert_eq!(env.run(&["EXISTS", "k"]), n(0));
            assert_eq!(env.run(&["DEL", "k"]), n(0));
        });
    }

    #[test]
    fn expire_errors() {
        both(|env| {
            set(env, "k", "v");
            let not_int = err("ERR value is not an integer or out of range");
            assert_eq!(env.run(&["EXPIRE", "k", "abc"]), not_int);
            assert_eq!(env.run(&["EXPIRE", "k", "1.5"]), not_int);
            assert_eq!(env.run(&["PEXPIRE", "k", " 1"]), not_int);
            assert_eq!(
                env.run(&["EXPIRE", "k", "9223372036854775807"]),
                err("ERR invalid expire time in 'expire' command")
            );
            assert_eq!(
                env.run(&["EXPIRE", "k", "-9223372036854775808"]),
                err("ERR invalid expire time in 'expire' command")
            );
            assert_eq!(
                env.run(&["PEXPIRE", "k", "9223372036854775807"]),
                err("ERR invalid expire time in 'pexpire' command")
            );
            assert_eq!(
                env.run(&["EXPIREAT", "k", "9223372036854775807"]),
                err("ERR invalid expire time in 'expireat' command")
            );
            assert_eq!(env.run(&["TTL", "k"]), n(-1), "errors change nothing");
            // PEXPIREAT has no base time to overflow with.
            assert_eq!(env.run(&["PEXPIREAT", "k", "9223372036854775807"]), n(1));
            assert_eq!(env.run(&["PEXPIRETIME", "k"]), n(i64::MAX));
            // Options are checked before the number and before the key.
            assert_eq!(
                env.run(&["EXPIRE", "k", "abc", "foo"]),
                err("ERR Unsupported option foo")
            );
            assert_eq!(
                env.run(&["EXPIRE", "missing", "10", "NX", "XX"]),
                err("ERR NX and XX, GT or LT options at the same time are not compatible")
            );
            for combo in [["nx", "gt"], ["lt", "nx"]] {
                assert_eq!(
                    env.run(&["EXPIRE", "k", "10", combo[0], combo[1]]),
                    err("ERR NX and XX, GT or LT options at the same time are not compatible")
                );
            }
            assert_eq!(
                env.run(&["PEXPIRE", "k", "10", "GT", "LT"]),
                err("ERR GT and LT options at the same time are not compatible")
            );
            assert_eq!(
                env.run(&["EXPIRE", "k"]),
                err("ERR wrong number of arguments for 'expire' command")
            );
        });
    }

    #[test]
    fn expire_option_matrix() {
        both(|env| {
            // No TTL: NX sets, XX does not, GT never (no TTL is infinite), LT does.
            set(env, "k", "v");
            assert_eq!(env.run(&["EXPIRE", "k", "100", "XX"]), n(0));
            assert_eq!(env.run(&["EXPIRE", "k", "100", "GT"]), n(0));
            assert_eq!(env.run(&["TTL", "k"]), n(-1));
            assert_eq!(env.run(&["EXPIRE", "k", "100", "NX"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(100));
            set(env, "k", "v");
            assert_eq!(env.run(&["EXPIRE", "k", "100", "lt"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(100));
            // With a TTL of 100 s.
            assert_eq!(env.run(&["EXPIRE", "k", "200", "NX"]), n(0));
            assert_eq!(env.run(&["EXPIRE", "k", "200", "XX"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(200));
            assert_eq!(env.run(&["EXPIRE", "k", "100", "GT"]), n(0));
            assert_eq!(env.run(&["EXPIRE", "k", "300", "GT"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(300));
            assert_eq!(env.run(&["EXPIRE", "k", "400", "LT"]), n(0));
            assert_eq!(env.run(&["EXPIRE", "k", "50", "LT"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(50));
            assert_eq!(env.run(&["EXPIRE", "k", "60", "XX", "GT"]), n(1));
            assert_eq!(env.run(&["EXPIRE", "k", "70", "XX", "LT"]), n(0));
            assert_eq!(env.run(&["TTL", "k"]), n(60));
            // Equal is neither greater nor less.
            assert_eq!(env.run(&["PEXPIREAT", "k", "5000000000000"]), n(1));
            assert_eq!(env.run(&["PEXPIREAT", "k", "5000000000000", "GT"]), n(0));
            assert_eq!(env.run(&["PEXPIREAT", "k", "5000000000000", "LT"]), n(0));
            // LT with a time in the past deletes.
            assert_eq!(env.run(&["EXPIRE", "k", "-10", "LT"]), n(1));
            assert_eq!(env.run(&["EXISTS", "k"]), n(0));
            // On a missing key every combination answers 0.
            for opt in ["NX", "XX", "GT", "LT"] {
                assert_eq!(env.run(&["EXPIRE", "missing", "10", opt]), n(0));
            }
        });
    }

    #[test]
    fn persist() {
        both(|env| {
            set(env, "k", "v");
            assert_eq!(env.run(&["PERSIST", "k"]), n(0));
            env.run(&["EXPIRE", "k", "100"]);
            assert_eq!(env.run(&["PERSIST", "k"]), n(1));
            assert_eq!(env.run(&["TTL", "k"]), n(-1));
            assert_eq!(env.run(&["PERSIST", "missing"]), n(0));
            set_expired(env, "x");
            assert_eq!(env.run(&["PERSIST", "x"]), n(0));
            assert_eq!(
                get_rec(env, 0, "k").map(|r| r.body),
                Some(Bytes::from_static(b"v"))
            );
        });
    }

    #[test]
    fn rename_and_renamenx() {
        both(|env| {
            assert_eq!(env.run(&["RENAME", "a", "b"]), err("ERR no such key"));
            assert_eq!(env.run(&["RENAMENX", "a", "b"]), err("ERR no such key"));
            assert_eq!(env.run(&["RENAME", "a", "a"]), err("ERR no such key"));
            set_px(env, "a", "1", 100_000);
            assert_eq!(env.run(&["RENAME", "a", "a"]), ok());
            assert_eq!(env.run(&["RENAMENX", "a", "a"]), n(0));
            assert_eq!(env.run(&["RENAME", "a", "b"]), ok());
            assert_eq!(env.run(&["EXISTS", "a"]), n(0));
            assert_eq!(
                env.run(&["TTL", "b"]),
                n(100),
                "the TTL moves with the value"
            );
            set(env, "c", "3");
            assert_eq!(env.run(&["RENAMENX", "b", "c"]), n(0));
            assert_eq!(
                get_rec(env, 0, "c").map(|r| r.body),
                Some(Bytes::from_static(b"3"))
            );
            assert_eq!(env.run(&["RENAMENX", "b", "d"]), n(1));
            assert_eq!(env.run(&["TTL", "d"]), n(100));
            // RENAME overwrites, TTL included (the destination had none).
            assert_eq!(env.run(&["RENAME", "d", "c"]), ok());
            assert_eq!(env.run(&["TTL", "c"]), n(100));
            assert_eq!(
                get_rec(env, 0, "c").map(|r| r.body),
                Some(Bytes::from_static(b"1"))
            );
            // A destination with a TTL loses it when the source has none.
            set(env, "e", "5");
            assert_eq!(env.run(&["RENAME", "e", "c"]), ok());
            assert_eq!(env.run(&["TTL", "c"]), n(-1));
            // Kinds move as they are.
            put_rec(env, 0, "h", Kind::Hash, "", 0);
            assert_eq!(env.run(&["RENAME", "h", "h2"]), ok());
            assert_eq!(env.run(&["TYPE", "h2"]), simple("hash"));
            set_expired(env, "x");
            assert_eq!(env.run(&["RENAME", "x", "y"]), err("ERR no such key"));
        });
    }

    #[test]
    fn copy_in_and_across_dbs() {
        both(|env| {
            set_px(env, "a", "1", 100_000);
            assert_eq!(
                env.run(&["COPY", "a", "a"]),
                err("ERR source and destination objects are the same")
            );
            assert_eq!(
                env.run(&["COPY", "a", "a", "DB", "0"]),
                err("ERR source and destination objects are the same")
            );
            assert_eq!(env.run(&["COPY", "missing", "a"]), n(0));
            assert_eq!(env.run(&["COPY", "a", "b"]), n(1));
            assert_eq!(env.run(&["TTL", "b"]), n(100));
            assert_eq!(env.run(&["TTL", "a"]), n(100), "the source stays");
            set(env, "c", "3");
            assert_eq!(env.run(&["COPY", "a", "c"]), n(0));
            assert_eq!(
                get_rec(env, 0, "c").map(|r| r.body),
                Some(Bytes::from_static(b"3"))
            );
            assert_eq!(env.run(&["COPY", "a", "c", "REPLACE"]), n(1));
            assert_eq!(
                get_rec(env, 0, "c").map(|r| r.body),
                Some(Bytes::from_static(b"1"))
            );
            // Another database: same name allowed.
            assert_eq!(env.run(&["COPY", "a", "a", "db", "1"]), n(1));
            assert_eq!(
                get_rec(env, 1, "a").map(|r| r.body),
                Some(Bytes::from_static(b"1"))
            );
            assert_eq!(env.run(&["COPY", "a", "a", "DB", "1"]), n(0));
            assert_eq!(env.run(&["COPY", "a", "a", "REPLACE", "DB", "1"]), n(1));
            env.session.db = 1;
            assert_eq!(env.run(&["TTL", "a"]), n(100));
            env.session.db = 0;
            // Errors, all before anything is written.
            assert_eq!(
                env.run(&["COPY", "a", "z", "DB", "99"]),
                err("ERR DB index is out of range")
            );
            assert_eq!(
                env.run(&["COPY", "a", "z", "DB", "-1"]),
                err("ERR DB index is out of range")
            );
            assert_eq!(
                env.run(&["COPY", "a", "z", "DB", "x"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(
                env.run(&["COPY", "a", "z", "DB", "4294967296"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(env.run(&["COPY", "a", "z", "DB"]), err("ERR syntax error"));
            assert_eq!(env.run(&["COPY", "a", "z", "FOO"]), err("ERR syntax error"));
            assert_eq!(env.run(&["EXISTS", "z"]), n(0));
            assert_eq!(
                env.run(&["COPY", "a"]),
                err("ERR wrong number of arguments for 'copy' command")
            );
        });
    }

    #[test]
    fn move_across_dbs() {
        both(|env| {
            set_px(env, "a", "1", 100_000);
            assert_eq!(
                env.run(&["MOVE", "a", "0"]),
                err("ERR source and destination objects are the same")
            );
            assert_eq!(
                env.run(&["MOVE", "a", "99"]),
                err("ERR DB index is out of range")
            );
            assert_eq!(
                env.run(&["MOVE", "a", "x"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(env.run(&["MOVE", "missing", "1"]), n(0));
            assert_eq!(env.run(&["MOVE", "a", "1"]), n(1));
            assert_eq!(env.run(&["EXISTS", "a"]), n(0));
            env.session.db = 1;
            assert_eq!(env.run(&["TTL", "a"]), n(100));
            set(env, "b", "in1");
            env.session.db = 0;
            set(env, "b", "in0");
            assert_eq!(env.run(&["MOVE", "b", "1"]), n(0), "exists in the target");
            assert_eq!(env.run(&["EXISTS", "b"]), n(1));
            assert_eq!(
                get_rec(env, 1, "b").map(|r| r.body),
                Some(Bytes::from_static(b"in1"))
            );
            set_expired(env, "x");
            assert_eq!(env.run(&["MOVE", "x", "1"]), n(0));
        });
    }

    #[test]
    fn keys_patterns() {
        both(|env| {
            for k in [
                "one", "two", "three", "four", "user:1", "user:2", "user:10", "user", "usex",
                "h[a]llo",
            ] {
                set(env, k, "v");
            }
            set_expired(env, "user:3");
            set_expired(env, "gone");
            env.session.db = 1;
            set(env, "other-db", "v");
            env.session.db = 0;
            assert_eq!(
                env.run(&["KEYS", "*"]),
                arr(&[
                    "four", "h[a]llo", "one", "three", "two", "user", "user:1", "user:10",
                    "user:2", "usex"
                ])
            );
            assert_eq!(
                env.run(&["KEYS", "user:*"]),
                arr(&["user:1", "user:10", "user:2"])
            );
            assert_eq!(env.run(&["KEYS", "user:?"]), arr(&["user:1", "user:2"]));
            assert_eq!(
                env.run(&["KEYS", "user*"]),
                arr(&["user", "user:1", "user:10", "user:2"])
            );
            assert_eq!(env.run(&["KEYS", "user"]), arr(&["user"]));
            assert_eq!(env.run(&["KEYS", "us[e-x]?"]), arr(&["user", "usex"]));
            assert_eq!(env.run(&["KEYS", "*o"]), arr(&["h[a]llo", "two"]));
            assert_eq!(env.run(&["KEYS", "t[^w]*"]), arr(&["three"]));
            assert_eq!(env.run(&["KEYS", "h\\[a\\]llo"]), arr(&["h[a]llo"]));
            assert_eq!(env.run(&["KEYS", "nothing*"]), arr(&[]));
            assert_eq!(env.run(&["KEYS", "ONE"]), arr(&[]), "case-sensitive");
            env.session.db = 2;
            assert_eq!(env.run(&["KEYS", "*"]), arr(&[]));
        });
    }

    #[test]
    fn keys_spans_many_pages() {
        let mut env = Env::new();
        for i in 0..2500 {
            set(&env, &format!("k{i:05}"), "v");
        }
        assert_eq!(bulks(env.run(&["KEYS", "*"])).len(), 2500);
        assert_eq!(bulks(env.run(&["KEYS", "k01*"])).len(), 1000);
        assert_eq!(bulks(env.run(&["KEYS", "*9"])).len(), 250);
    }

    /// Runs a SCAN iteration to the end; checks cursors are integers.
    fn scan_all(env: &mut Env, opts: &[&str]) -> (Vec<String>, usize) {
        let mut cursor = "0".to_string();
        let mut seen = Vec::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["SCAN", cursor.as_str()];
            args.extend_from_slice(opts);
            let reply = env.run(&args);
            calls += 1;
            assert!(calls < 10_000, "SCAN does not terminate");
            let Reply::Array(parts) = reply else {
                panic!("{reply:?}")
            };
            let [Reply::Bulk(next), keys] = &parts[..] else {
                panic!("{parts:?}")
            };
            let next = String::from_utf8_lossy(next).into_owned();
            let parsed: i64 = next.parse().expect("integer cursor");
            assert!(parsed >= 0);
            seen.extend(bulks(keys.clone()));
            if parsed == 0 {
                return (seen, calls);
            }
            cursor = next;
        }
    }

    #[test]
    fn scan_full_iteration_with_filters() {
        both(|env| {
            let mut strings = BTreeSet::new();
            for i in 0..120 {
                let k = format!("s:{i}");
                set(env, &k, "v");
                strings.insert(k);
            }
            for i in 0..30 {
                put_rec(env, 0, &format!("h:{i}"), Kind::Hash, "", 0);
            }
            for i in 0..10 {
                set_expired(env, &format!("s:x{i}"));
            }
            let (all, calls) = scan_all(env, &[]);
            assert_eq!(all.len(), 150, "each key exactly once");
            assert!(calls > 10, "default COUNT pages: {calls}");
            let (strs, _) = scan_all(env, &["TYPE", "STRING", "COUNT", "7"]);
            assert_eq!(strs.into_iter().collect::<BTreeSet<_>>(), strings);
            let (hashes, _) = scan_all(env, &["COUNT", "3", "TYPE", "hash"]);
            assert_eq!(hashes.len(), 30);
            assert!(hashes.iter().all(|k| k.starts_with("h:")));
            let (m, _) = scan_all(env, &["MATCH", "s:1?", "COUNT", "5"]);
            assert_eq!(m.len(), 10);
            let (m, _) = scan_all(env, &["MATCH", "*:1?", "COUNT", "5"]);
            assert_eq!(m.len(), 20);
            let (m, _) = scan_all(env, &["MATCH", "*", "COUNT", "1000"]);
            assert_eq!(m.len(), 150);
            let (none, _) = scan_all(env, &["TYPE", "stream"]);
            assert!(none.is_empty());
            let (none, _) = scan_all(env, &["MATCH", "s:x*"]);
            assert!(none.is_empty(), "expired keys are invisible");
            let (one_page, calls) = scan_all(env, &["COUNT", "1000"]);
            assert_eq!((one_page.len(), calls), (150, 1));
        });
    }

    #[test]
    fn scan_sees_stable_keys_despite_writes() {
        let mut env = Env::new();
        let mut stable = BTreeSet::new();
        for i in 0..200 {
            let k = format!("k{i:03}");
            set(&env, &k, "v");
            stable.insert(k);
        }
        let mut cursor = "0".to_string();
        let mut seen = BTreeSet::new();
        let mut round = 0;
        loop {
            let reply = env.run(&["SCAN", &cursor, "COUNT", "9"]);
            let Reply::Array(parts) = reply else { panic!() };
            let [Reply::Bulk(next), keys] = &parts[..] else {
                panic!()
            };
            seen.extend(bulks(keys.clone()));
            // Churn around the cursor: new keys before and after it, deletions of non-stable keys.
            round += 1;
            set(&env, &format!("a-new{round}"), "v");
            set(&env, &format!("z-new{round}"), "v");
            env.run(&["DEL", &format!("z-new{}", round - 1)]);
            cursor = String::from_utf8_lossy(next).into_owned();
            if cursor == "0" {
                break;
            }
        }
        assert!(stable.is_subset(&seen));
    }

    #[test]
    fn scan_errors_and_odd_cursors() {
        both(|env| {
            set(env, "a", "1");
            assert_eq!(
                env.run(&["SCAN", "0", "COUNT", "0"]),
                err("ERR syntax error")
            );
            assert_eq!(
                env.run(&["SCAN", "0", "COUNT", "-1"]),
                err("ERR syntax error")
            );
            assert_eq!(
                env.run(&["SCAN", "0", "COUNT", "x"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(env.run(&["SCAN", "0", "COUNT"]), err("ERR syntax error"));
            assert_eq!(env.run(&["SCAN", "0", "MATCH"]), err("ERR syntax error"));
            assert_eq!(
                env.run(&["SCAN", "0", "FOO", "bar"]),
                err("ERR syntax error")
            );
            assert_eq!(env.run(&["SCAN", "abc"]), err("ERR invalid cursor"));
            assert_eq!(env.run(&["SCAN", " 1"]), err("ERR invalid cursor"));
            assert_eq!(env.run(&["SCAN", "1x"]), err("ERR invalid cursor"));
            assert_eq!(
                env.run(&["SCAN", "18446744073709551616"]),
                err("ERR invalid cursor")
            );
            assert_eq!(
                env.run(&["SCAN", "abc", "COUNT", "0"]),
                err("ERR invalid cursor"),
                "cursor first"
            );
            assert_eq!(
                env.run(&["SCAN"]),
                err("ERR wrong number of arguments for 'scan' command")
            );
            let full = Reply::Array(vec![bulk("0"), arr(&["a"])]);
            // An unknown cursor restarts; the empty cursor reads as 0 like strtoul.
            assert_eq!(env.run(&["SCAN", "123456789"]), full);
            assert_eq!(env.run(&["SCAN", ""]), full);
            assert_eq!(env.run(&["SCAN", "+0"]), full);
            assert_eq!(env.run(&["SCAN", "18446744073709551615"]), full);
            env.session.db = 3;
            assert_eq!(
                env.run(&["SCAN", "0"]),
                Reply::Array(vec![bulk("0"), arr(&[])])
            );
        });
    }

    #[test]
    fn cursor_table_is_bounded() {
        let first = super::cursors::put(Bytes::from_static(b"first"));
        assert_eq!(
            super::cursors::get(first),
            Some(Bytes::from_static(b"first"))
        );
        for i in 0..super::cursors::MAX_ENTRIES + 10 {
            super::cursors::put(Bytes::from(format!("k{i}")));
        }
        assert_eq!(super::cursors::get(first), None, "oldest handle dropped");
    }

    #[test]
    fn parse_cursor_like_strtoul() {
        use super::parse_cursor;
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"007").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [&b"+"[..], b"-", b"1 ", b"0x1", b"18446744073709551616"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn randomkey() {
        both(|env| {
            assert_eq!(env.run(&["RANDOMKEY"]), Reply::Null);
            for i in 0..20 {
                set_expired(env, &format!("x{i}"));
            }
            assert_eq!(env.run(&["RANDOMKEY"]), Reply::Null, "only expired keys");
            set(env, "live", "v");
            for i in 0..20 {
                set_expired(env, &format!("y{i}"));
            }
            for _ in 0..5 {
                assert_eq!(env.run(&["RANDOMKEY"]), bulk("live"));
            }
            // DEL of an expired key answers 0 (and purges it, so probes stop landing on it).
            let ys: Vec<String> = (0..20).map(|i| format!("y{i}")).collect();
            let mut del: Vec<&str> = vec!["DEL"];
            del.extend(ys.iter().map(String::as_str));
            assert_eq!(env.run(&del), n(0));
            // Far from "live" in byte order, so that random probes land on both.
            set(env, "zz", "v");
            let mut seen = BTreeSet::new();
            for _ in 0..200 {
                if let Reply::Bulk(b) = env.run(&["RANDOMKEY"]) {
                    seen.insert(b);
                }
            }
            assert_eq!(seen.len(), 2, "{seen:?}");
            assert_eq!(
                env.run(&["RANDOMKEY", "x"]),
                err("ERR wrong number of arguments for 'randomkey' command")
            );
        });
    }

    #[test]
    fn object_subcommands() {
        both(|env| {
            set(env, "int", "12345");
            set(env, "small", "7");
            set(env, "neg", "-3");
            set(env, "notint", "012");
            set(env, "emb", &"e".repeat(44));
            set(env, "raw", &"r".repeat(45));
            put_rec(env, 0, "h", Kind::Hash, "", 0);
            assert_eq!(env.run(&["OBJECT", "ENCODING", "int"]), bulk("int"));
            assert_eq!(env.run(&["object", "encoding", "neg"]), bulk("int"));
            assert_eq!(env.run(&["OBJECT", "ENCODING", "notint"]), bulk("embstr"));
            assert_eq!(env.run(&["OBJECT", "ENCODING", "emb"]), bulk("embstr"));
            assert_eq!(env.run(&["OBJECT", "ENCODING", "raw"]), bulk("raw"));
            assert_eq!(env.run(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
            assert_eq!(env.run(&["OBJECT", "ENCODING", "missing"]), Reply::Null);
            assert_eq!(env.run(&["OBJECT", "REFCOUNT", "small"]), n(2_147_483_647));
            assert_eq!(env.run(&["OBJECT", "REFCOUNT", "int"]), n(1));
            assert_eq!(env.run(&["OBJECT", "REFCOUNT", "neg"]), n(1));
            assert_eq!(env.run(&["OBJECT", "REFCOUNT", "raw"]), n(1));
            assert_eq!(env.run(&["OBJECT", "REFCOUNT", "missing"]), Reply::Null);
            assert_eq!(env.run(&["OBJECT", "IDLETIME", "raw"]), n(0));
            assert_eq!(env.run(&["OBJECT", "IDLETIME", "missing"]), Reply::Null);
            assert_eq!(env.run(&["OBJECT", "FREQ", "missing"]), Reply::Null);
            assert_eq!(
                env.run(&["OBJECT", "FREQ", "raw"]),
                err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
            );
            set_expired(env, "x");
            assert_eq!(env.run(&["OBJECT", "ENCODING", "x"]), Reply::Null);
            assert_eq!(env.run(&["OBJECT", "IDLETIME", "x"]), Reply::Null);
            assert_eq!(
                env.run(&["OBJECT", "ENCODING"]),
                err("ERR wrong number of arguments for 'object|encoding' command")
            );
            assert_eq!(
                env.run(&["OBJECT", "HELP", "x"]),
                err("ERR wrong number of arguments for 'object|help' command")
            );
            assert_eq!(
                env.run(&["OBJECT", "foo", "k"]),
                err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")
            );
            let Reply::Array(help) = env.run(&["OBJECT", "help"]) else {
                panic!()
            };
            assert_eq!(help.len(), 15);
            assert_eq!(
                help[0],
                simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
            );
            assert_eq!(help[14], simple("    Print this help."));
        });
    }

    #[test]
    fn object_does_not_touch_or_load() {
        let mut env = Env::new();
        set(&env, "k", "v");
        let hits = env.ks.stats.hits.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(env.run(&["OBJECT", "IDLETIME", "k"]), n(0));
        assert_eq!(
            env.ks.stats.hits.load(std::sync::atomic::Ordering::Relaxed),
            hits + 1
        );
        assert_eq!(
            env.ks.tier_of(0, b"k").expect("tier"),
            strata_keyspace::Tier::Memory
        );
        env.ks.drop_hot(Some(0), &[]);
        assert_eq!(env.run(&["OBJECT", "IDLETIME", "k"]), n(0));
        assert_eq!(env.run(&["OBJECT", "ENCODING", "k"]), bulk("embstr"));
        assert_eq!(env.run(&["OBJECT", "REFCOUNT", "k"]), n(1));
        assert_eq!(
            env.ks.tier_of(0, b"k").expect("tier"),
            strata_keyspace::Tier::Disk,
            "OBJECT loads nothing"
        );
    }

    #[test]
    fn table_rows() {
        for name in [
            "del",
            "unlink",
            "exists",
            "type",
            "expire",
            "pexpire",
            "expireat",
            "pexpireat",
            "ttl",
            "pttl",
            "expiretime",
            "pexpiretime",
            "persist",
            "rename",
            "renamenx",
            "copy",
            "move",
            "keys",
            "scan",
            "randomkey",
            "touch",
            "object",
        ] {
            let def = crate::lookup(name.as_bytes()).expect(name);
            assert_eq!(def.group, "generic");
        }
        let copy = crate::lookup(b"COPY").expect("copy");
        let args: Vec<Bytes> = ["COPY", "a", "b", "DB", "1"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        assert_eq!(copy.keys.of(&args).len(), 2);
    }
}
