//! The STRING family: GET, SET and its variants (SETNX, SETEX, PSETEX, GETSET), MGET, MSET,
//! MSETNX, GETDEL, GETEX, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE, the integer counters,
//! INCRBYFLOAT and LCS, with Redis 7's replies and error texts.
//!
//! Every handler parses its arguments first, then runs one keyspace transaction: it reads and
//! type-checks the keys, stages writes only once nothing can fail any more, and commits. Where
//! Redis reports some errors only after looking at the key (GETEX's expire value, LCS options,
//! INCRBYFLOAT's increment), the parse result is kept and its error raised at the same point, so
//! error precedence matches Redis too.
//!
//! TTL rules follow Redis: SET (without KEEPTTL), SETEX, PSETEX, GETSET and MSET replace the
//! value and drop any TTL; APPEND, SETRANGE, INCR* and INCRBYFLOAT modify the value in place and
//! keep it.

use bytes::{Bytes, BytesMut};
use strata_keyspace::{Kind, Record};
use strata_resp::Reply;

use crate::args::{is, parse_i64};
use crate::ctx::{with_txn, Ctx, Host};
use crate::error::{CmdError, CmdResult};
use crate::longdouble::incrbyfloat_value;
use crate::notify::event_class as ev;
use crate::table::{cmd, flags::*, CommandDef, Keys};

/// Redis's default `proto-max-bulk-len`: the largest string a command may build.
const DEFAULT_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// The smallest `proto-max-bulk-len` Redis accepts; strings up to this size never need a config
/// lookup.
const MIN_MAX_BULK_LEN: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The arity error of the running command (for shapes the table's arity cannot express).
fn arity(ctx: &Ctx<'_, '_>) -> CmdError {
    CmdError::Arity(ctx.cmd.name.to_string())
}

/// Passes a string record (or nothing) through; any other kind is `WRONGTYPE`.
fn string(rec: Option<Record>) -> Result<Option<Record>, CmdError> {
    match rec {
        Some(r) if r.kind != Kind::String => Err(CmdError::WrongType),
        r => Ok(r),
    }
}

/// A string record.
fn string_record(body: Bytes, expire_ms: u64) -> Record {
    Record {
        kind: Kind::String,
        expire_ms,
        body,
    }
}

/// A bulk reply, or nil.
fn bulk_or_nil(body: Option<Bytes>) -> Reply {
    body.map_or(Reply::Null, Reply::Bulk)
}

/// An integer reply from a length.
fn len_reply(n: usize) -> Reply {
    Reply::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The configured `proto-max-bulk-len` (Redis's default when the host does not know it).
fn max_bulk_len(host: &dyn Host) -> u64 {
    host.config_get(b"proto-max-bulk-len")
        .into_iter()
        .find(|(k, _)| k == "proto-max-bulk-len")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_BULK_LEN)
}

/// Redis's `checkStringLength`: refuses to build a string longer than `proto-max-bulk-len`.
/// Sizes under the smallest legal limit are accepted without asking the host.
fn check_len(host: &dyn Host, size: u64) -> Result<(), CmdError> {
    if size > MIN_MAX_BULK_LEN && size > max_bulk_len(host) {
        return Err(CmdError::StringTooLong);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Expiry options shared by SET, SETEX, PSETEX and GETEX
// ---------------------------------------------------------------------------------------------

/// The unit and base of an expiry argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Relative seconds.
    Ex,
    /// Relative milliseconds.
    Px,
    /// Absolute Unix seconds.
    ExAt,
    /// Absolute Unix milliseconds.
    PxAt,
}

impl Unit {
    /// The option keyword this unit is given with, if `opt` is one.
    fn of(opt: &[u8]) -> Option<Unit> {
        [
            ("EX", Unit::Ex),
            ("PX", Unit::Px),
            ("EXAT", Unit::ExAt),
            ("PXAT", Unit::PxAt),
        ]
        .into_iter()
        .find(|(kw, _)| is(opt, kw))
        .map(|(_, u)| u)
    }
}

/// An expiry option whose value is validated when the command reaches the point where Redis
/// validates it (`getExpireMillisecondsOrReply`).
#[derive(Debug, Clone, Copy)]
struct Expire<'a> {
    unit: Unit,
    arg: &'a Bytes,
}

impl Expire<'_> {
    /// The absolute expiry in Unix ms. Non-integers are `NotInteger`; values <= 0 and
    /// overflows are "invalid expire time in '<cmd>' command".
    fn at(&self, cmd: &'static str, now: u64) -> Result<u64, CmdError> {
        let invalid = || CmdError::InvalidExpire(cmd);
        let v = parse_i64(self.arg)?;
        let seconds = matches!(self.unit, Unit::Ex | Unit::ExAt);
        if v <= 0 || (seconds && v > i64::MAX / 1000) {
            return Err(invalid());
        }
        let ms = if seconds { v * 1000 } else { v };
        let ms = match self.unit {
            Unit::Ex | Unit::Px => {
                let now = i64::try_from(now).map_err(|_| invalid())?;
                ms.checked_add(now).ok_or_else(invalid)?
            }
            Unit::ExAt | Unit::PxAt => ms,
        };
        u64::try_from(ms).map_err(|_| invalid())
    }
}

/// The options of SET (`set`) or GETEX (`!set`), accepted exactly as Redis's
/// `parseExtendedStringArgumentsOrReply` accepts them: any order, repeats of the same option
/// allowed (the last expiry value wins), conflicting ones a syntax error.
#[derive(Debug, Default)]
struct ExtOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<Expire<'a>>,
}

impl<'a> ExtOpts<'a> {
    fn parse(opts: &'a [Bytes], set: bool) -> Result<Self, CmdError> {
        let mut o = ExtOpts::default();
        let mut i = 0;
        while let Some(opt) = opts.get(i) {
            if set && is(opt, "NX") && !o.xx {
                o.nx = true;
            } else if set && is(opt, "XX") && !o.nx {
                o.xx = true;
            } else if set && is(opt, "GET") {
                o.get = true;
            } else if set && is(opt, "KEEPTTL") && o.expire.is_none() {
                o.keepttl = true;
            } else if !set && is(opt, "PERSIST") && o.expire.is_none() {
                o.persist = true;
            } else {
                let unit = Unit::of(opt).ok_or(CmdError::Syntax)?;
                let arg = opts.get(i + 1).ok_or(CmdError::Syntax)?;
                if o.keepttl || o.persist || o.expire.is_some_and(|e| e.unit != unit) {
                    return Err(CmdError::Syntax);
                }
                o.expire = Some(Expire { unit, arg });
                i += 1;
            }
            i += 1;
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------------
// SET, SETNX, SETEX, PSETEX
// ---------------------------------------------------------------------------------------------

/// The existence condition of a SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    /// Only if the key does not exist.
    Nx,
    /// Only if the key exists.
    Xx,
}

/// What a SET does to the key's TTL.
#[derive(Debug, Clone, Copy)]
enum Ttl<'a> {
    /// Drop it (plain SET).
    Clear,
    /// Keep it (KEEPTTL).
    Keep,
    /// Set a new one.
    Set(Expire<'a>),
}

/// A parsed SET-like request.
#[derive(Debug)]
struct SetArgs<'a> {
    key: &'a Bytes,
    value: &'a Bytes,
    cond: Cond,
    ttl: Ttl<'a>,
    /// Reply with the old value (SET ... GET).
    get: bool,
}

impl<'a> SetArgs<'a> {
    /// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]`
    fn parse(args: &'a [Bytes]) -> Result<Self, CmdError> {
        let (Some(key), Some(value)) = (args.get(1), args.get(2)) else {
            return Err(CmdError::Arity("set".into()));
        };
        let o = ExtOpts::parse(args.get(3..).unwrap_or_default(), true)?;
        let cond = match (o.nx, o.xx) {
            (true, _) => Cond::Nx,
            (_, true) => Cond::Xx,
            _ => Cond::Always,
        };
        let ttl = match (o.expire, o.keepttl) {
            (Some(e), _) => Ttl::Set(e),
            (None, true) => Ttl::Keep,
            (None, false) => Ttl::Clear,
        };
        Ok(SetArgs {
            key,
            value,
            cond,
            ttl,
            get: o.get,
        })
    }
}

/// What a SET did.
struct SetDone {
    /// The value was written (the condition held).
    written: bool,
    /// With GET: the old value.
    old: Option<Bytes>,
}

/// Redis's `setGenericCommand`: validate the expiry, read the old value if GET was asked
/// (WRONGTYPE aborts), check NX/XX, then write. An absolute expiry already in the past deletes
/// the key, which is what Redis's write-then-expire amounts to.
fn set_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    sa: &SetArgs<'_>,
) -> Result<SetDone, CmdError> {
    let name = ctx.cmd.name;
    let done = with_txn(ctx, args, |t, db| {
        let now = t.now();
        let expire_at = match sa.ttl {
            Ttl::Set(e) => Some(e.at(name, now)?),
            Ttl::Clear | Ttl::Keep => None,
        };
        // Without GET only the key's existence and expiry matter: no copy of its value.
        let (found, cur_expire, old) = if sa.get {
            let cur = string(t.lookup(db, sa.key)?)?;
            let expire = cur.as_ref().map_or(0, |r| r.expire_ms);
            (cur.is_some(), expire, cur.map(|r| r.body))
        } else {
            let cur = t.meta(db, sa.key)?;
            (cur.is_some(), cur.map_or(0, |m| m.expire_ms), None)
        };
        if (sa.cond == Cond::Nx && found) || (sa.cond == Cond::Xx && !found) {
            return Ok(SetDone {
                written: false,
                old,
            });
        }
        let expire_ms = match (sa.ttl, expire_at) {
            (_, Some(at)) => at,
            (Ttl::Keep, None) => cur_expire,
            _ => 0,
        };
        if expire_ms != 0 && expire_ms <= now {
            t.delete(db, sa.key)?;
        } else {
            t.put(db, sa.key, string_record(sa.value.clone(), expire_ms))?;
        }
        Ok(SetDone { written: true, old })
    })?;
    if done.written {
        ctx.notify(ev::STRING, "set", sa.key);
        if matches!(sa.ttl, Ttl::Set(_)) {
            ctx.notify(ev::GENERIC, "expire", sa.key);
        }
    }
    Ok(done)
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]`
///
/// Replies OK (nil when NX/XX stopped it), or with GET the old value (nil if none).
fn set(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let sa = SetArgs::parse(args)?;
    let done = set_generic(ctx, args, &sa)?;
    Ok(if sa.get {
        bulk_or_nil(done.old)
    } else if done.written {
        Reply::ok()
    } else {
        Reply::Null
    })
}

/// # Format
/// `SETNX key value` — 1 if set, 0 if the key existed.
fn setnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, value] = args else {
        return Err(arity(ctx));
    };
    let sa = SetArgs {
        key,
        value,
        cond: Cond::Nx,
        ttl: Ttl::Clear,
        get: false,
    };
    let done = set_generic(ctx, args, &sa)?;
    Ok(Reply::Int(i64::from(done.written)))
}

/// SETEX and PSETEX: `key ttl value`.
fn set_with_ttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes], unit: Unit) -> CmdResult {
    let [_, key, ttl, value] = args else {
        return Err(arity(ctx));
    };
    let sa = SetArgs {
        key,
        value,
        cond: Cond::Always,
        ttl: Ttl::Set(Expire { unit, arg: ttl }),
        get: false,
    };
    set_generic(ctx, args, &sa)?;
    Ok(Reply::ok())
}

/// # Format
/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    set_with_ttl(ctx, args, Unit::Ex)
}

/// # Format
/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    set_with_ttl(ctx, args, Unit::Px)
}

// ---------------------------------------------------------------------------------------------
// GET, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX
// ---------------------------------------------------------------------------------------------

/// `GET key`
fn get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key] = args else {
        return Err(arity(ctx));
    };
    if let Some(found) = ctx.ks.lookup_in_memory(ctx.db(), std::slice::from_ref(key)) {
        let rec = found.into_iter().next().flatten();
        return Ok(bulk_or_nil(string(rec)?.map(|r| r.body)));
    }
    with_txn(ctx, args, |t, db| {
        Ok(bulk_or_nil(string(t.lookup(db, key)?)?.map(|r| r.body)))
    })
}

/// # Format
/// `GETSET key value` — sets the value (dropping any TTL), replies with the old one.
fn getset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, value] = args else {
        return Err(arity(ctx));
    };
    let r = with_txn(ctx, args, |t, db| {
        let old = string(t.lookup(db, key)?)?;
        t.put(db, key, string_record(value.clone(), 0))?;
        Ok(bulk_or_nil(old.map(|r| r.body)))
    })?;
    ctx.notify(ev::STRING, "set", key);
    Ok(r)
}

/// # Format
/// `GETDEL key` — replies with the value and deletes the key.
fn getdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key] = args else {
        return Err(arity(ctx));
    };
    let r = with_txn(ctx, args, |t, db| {
        let Some(rec) = string(t.lookup(db, key)?)? else {
            return Ok(Reply::Null);
        };
        t.delete(db, key)?;
        Ok(Reply::Bulk(rec.body))
    })?;
    if r != Reply::Null {
        ctx.notify(ev::GENERIC, "del", key);
    }
    Ok(r)
}

/// What GETEX does to the TTL.
#[derive(Debug, Clone, Copy)]
enum GetExAction<'a> {
    /// Nothing: a plain GET.
    Keep,
    /// PERSIST: drop the TTL.
    Persist,
    /// EX / PX / EXAT / PXAT.
    Expire(Expire<'a>),
}

impl<'a> GetExAction<'a> {
    /// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
    /// PXAT unix-time-milliseconds | PERSIST]`
    fn parse(args: &'a [Bytes]) -> Result<Self, CmdError> {
        let o = ExtOpts::parse(args.get(2..).unwrap_or_default(), false)?;
        Ok(match (o.expire, o.persist) {
            (Some(e), _) => GetExAction::Expire(e),
            (None, true) => GetExAction::Persist,
            (None, false) => GetExAction::Keep,
        })
    }
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
///
/// Options are checked for syntax first; the expiry value only once the key is known to hold a
/// string (a missing key replies nil whatever the value). An absolute time in the past deletes
/// the key after replying with its value.
fn getex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let Some(key) = args.get(1) else {
        return Err(arity(ctx));
    };
    let action = GetExAction::parse(args)?;
    let name = ctx.cmd.name;
    let (r, event) = with_txn(ctx, args, |t, db| {
        let Some(rec) = string(t.lookup(db, key)?)? else {
            return Ok((Reply::Null, None));
        };
        let mut event = None;
        match action {
            GetExAction::Keep => {}
            GetExAction::Persist => {
                if rec.expire_ms != 0 {
                    t.put(db, key, string_record(rec.body.clone(), 0))?;
                    event = Some("persist");
                }
            }
            GetExAction::Expire(e) => {
                let at = e.at(name, t.now())?;
                if at <= t.now() {
                    t.delete(db, key)?;
                    event = Some("del");
                } else {
                    t.put(db, key, string_record(rec.body.clone(), at))?;
                    event = Some("expire");
                }
            }
        }
        Ok((Reply::Bulk(rec.body), event))
    })?;
    if let Some(e) = event {
        ctx.notify(ev::GENERIC, e, key);
    }
    Ok(r)
}

/// # Format
/// `MGET key [key ...]` — values in order; nil for missing keys and keys of other types.
fn mget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let string_or_nil = |r: Option<Record>| match r {
        Some(r) if r.kind == Kind::String => Reply::Bulk(r.body),
        _ => Reply::Null,
    };
    if let Some(found) = ctx
        .ks
        .lookup_in_memory(ctx.db(), args.get(1..).unwrap_or_default())
    {
        return Ok(Reply::Array(found.into_iter().map(string_or_nil).collect()));
    }
    with_txn(ctx, args, |t, db| {
        let mut out = Vec::with_capacity(args.len().saturating_sub(1));
        for key in args.iter().skip(1) {
            out.push(string_or_nil(t.lookup(db, key)?));
        }
        Ok(Reply::Array(out))
    })
}

/// The `key value` pairs of MSET / MSETNX; an odd count is an arity error.
fn pairs<'a>(
    ctx: &Ctx<'_, '_>,
    args: &'a [Bytes],
) -> Result<Vec<(&'a Bytes, &'a Bytes)>, CmdError> {
    let rest = args.get(1..).unwrap_or_default();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(arity(ctx));
    }
    Ok(rest
        .chunks_exact(2)
        .filter_map(|p| if let [k, v] = p { Some((k, v)) } else { None })
        .collect())
}

/// # Format
/// `MSET key value [key value ...]` — sets every pair atomically, dropping TTLs.
fn mset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(ctx, args)?;
    with_txn(ctx, args, |t, db| {
        for (k, v) in &pairs {
            t.put(db, k, string_record((*v).clone(), 0))?;
        }
        Ok(())
    })?;
    for (k, _) in pairs {
        ctx.notify(ev::STRING, "set", k);
    }
    Ok(Reply::ok())
}

/// # Format
/// `MSETNX key value [key value ...]` — 1 and sets every pair if none of the keys exists
/// (whatever its type), else 0 and sets nothing.
fn msetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(ctx, args)?;
    let set = with_txn(ctx, args, |t, db| {
        for (k, _) in &pairs {
            if t.get(db, k)?.is_some() {
                return Ok(false);
            }
        }
        for (k, v) in &pairs {
            t.put(db, k, string_record((*v).clone(), 0))?;
        }
        Ok(true)
    })?;
    if set {
        for (k, _) in pairs {
            ctx.notify(ev::STRING, "set", k);
        }
    }
    Ok(Reply::Int(i64::from(set)))
}

// ---------------------------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE / SUBSTR, SETRANGE
// ---------------------------------------------------------------------------------------------

/// # Format
/// `APPEND key value` — the new length; creates the key, keeps an existing TTL.
fn append(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, value] = args else {
        return Err(arity(ctx));
    };
    let host = ctx.host;
    let r = with_txn(ctx, args, |t, db| {
        let Some(rec) = string(t.get(db, key)?)? else {
            t.put(db, key, string_record(value.clone(), 0))?;
            return Ok(len_reply(value.len()));
        };
        let total = rec.body.len().saturating_add(value.len());
        check_len(host, u64::try_from(total).unwrap_or(u64::MAX))?;
        let mut buf = BytesMut::with_capacity(total);
        buf.extend_from_slice(&rec.body);
        buf.extend_from_slice(value);
        t.put(db, key, string_record(buf.freeze(), rec.expire_ms))?;
        Ok(len_reply(total))
    })?;
    ctx.notify(ev::STRING, "append", key);
    Ok(r)
}

/// `STRLEN key` — 0 for a missing key.
fn strlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key] = args else {
        return Err(arity(ctx));
    };
    with_txn(ctx, args, |t, db| match t.lookup_meta(db, key)? {
        Some(m) if m.kind != Kind::String => Err(CmdError::WrongType),
        m => Ok(len_reply(m.map_or(0, |m| m.body_len))),
    })
}

/// The inclusive `start..=end` substring of `s` with Redis 7's index rules: negatives count
/// from the end, both clamp into the string, and an empty range yields "".
fn substring(s: &Bytes, start: i64, end: i64) -> Bytes {
    if start < 0 && end < 0 && start > end {
        return Bytes::new();
    }
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    let start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    }
    .max(0);
    let end = if end < 0 {
        len.saturating_add(end)
    } else {
        end
    }
    .max(0)
    .min(len - 1);
    match (usize::try_from(start), usize::try_from(end)) {
        (Ok(a), Ok(b)) if a <= b && b < s.len() => s.slice(a..=b),
        _ => Bytes::new(),
    }
}

/// # Format
/// `GETRANGE key start end` (and the older `SUBSTR key start end`) — "" for a missing key.
fn getrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, start, end] = args else {
        return Err(arity(ctx));
    };
    let (start, end) = (parse_i64(start)?, parse_i64(end)?);
    with_txn(ctx, args, |t, db| {
        let body = string(t.lookup(db, key)?)?
            .map(|r| r.body)
            .unwrap_or_default();
        Ok(Reply::Bulk(substring(&body, start, end)))
    })
}

/// # Format
/// `SETRANGE key offset value` — overwrites from `offset`, zero-padding as needed; replies
/// with the new length. An empty value writes nothing (a missing key stays missing, reply 0).
fn setrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, offset, value] = args else {
        return Err(arity(ctx));
    };
    let offset = usize::try_from(parse_i64(offset)?).map_err(|_| CmdError::OffsetOutOfRange)?;
    let host = ctx.host;
    let r = with_txn(ctx, args, |t, db| {
        let cur = string(t.get(db, key)?)?;
        if value.is_empty() {
            return Ok(len_reply(cur.map_or(0, |r| r.body.len())));
        }
        let end = offset
            .checked_add(value.len())
            .ok_or(CmdError::StringTooLong)?;
        check_len(host, u64::try_from(end).unwrap_or(u64::MAX))?;
        let (old, expire_ms) = cur.map_or((Bytes::new(), 0), |r| (r.body, r.expire_ms));
        let mut buf = BytesMut::with_capacity(old.len().max(end));
        buf.extend_from_slice(&old);
        if buf.len() < end {
            buf.resize(end, 0);
        }
        let dst = buf.get_mut(offset..end).ok_or(CmdError::OffsetOutOfRange)?;
        dst.copy_from_slice(value);
        let total = buf.len();
        t.put(db, key, string_record(buf.freeze(), expire_ms))?;
        Ok(len_reply(total))
    })?;
    if !value.is_empty() {
        ctx.notify(ev::STRING, "setrange", key);
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT
// ---------------------------------------------------------------------------------------------

/// Adds `delta` to the integer at `key` (0 if missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx<'_, '_>, args: &[Bytes], delta: i64) -> CmdResult {
    let Some(key) = args.get(1) else {
        return Err(arity(ctx));
    };
    let r = with_txn(ctx, args, |t, db| {
        let cur = string(t.get(db, key)?)?;
        let (old, expire_ms) = match &cur {
            Some(r) => (parse_i64(&r.body)?, r.expire_ms),
            None => (0, 0),
        };
        let new = old.checked_add(delta).ok_or(CmdError::Overflow)?;
        t.put(
            db,
            key,
            // itoa rather than `to_string`: no formatter machinery on every INCR.
            string_record(
                Bytes::copy_from_slice(itoa::Buffer::new().format(new).as_bytes()),
                expire_ms,
            ),
        )?;
        Ok(Reply::Int(new))
    })?;
    ctx.notify(ev::STRING, "incrby", key);
    Ok(r)
}

/// `INCR key`
fn incr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, args, 1)
}

/// `DECR key`
fn decr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, args, -1)
}

/// `INCRBY key increment` — the increment is checked before the key.
fn incrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, _, by] = args else {
        return Err(arity(ctx));
    };
    let by = parse_i64(by)?;
    incr_by(ctx, args, by)
}

/// `DECRBY key decrement` — `i64::MIN` cannot be negated and is refused up front.
fn decrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, _, by] = args else {
        return Err(arity(ctx));
    };
    let by = parse_i64(by)?;
    let delta = by
        .checked_neg()
        .ok_or_else(|| CmdError::err("decrement would overflow"))?;
    incr_by(ctx, args, delta)
}

/// # Format
/// `INCRBYFLOAT key increment` — replies with the new value as a bulk string; keeps the TTL.
/// Redis checks the key's type, then its value, then the increment: so does this.
fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let [_, key, by] = args else {
        return Err(arity(ctx));
    };
    let r = with_txn(ctx, args, |t, db| {
        let cur = string(t.get(db, key)?)?;
        let expire_ms = cur.as_ref().map_or(0, |r| r.expire_ms);
        let body = Bytes::from(incrbyfloat_value(cur.as_ref().map(|r| &r.body[..]), by)?);
        t.put(db, key, string_record(body.clone(), expire_ms))?;
        Ok(Reply::Bulk(body))
    })?;
    ctx.notify(ev::STRING, "incrbyfloat", key);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------------------

/// Parsed LCS options.
#[derive(Debug, Default)]
struct LcsArgs {
    /// LEN: reply with the length only.
    len: bool,
    /// IDX: reply with the matching ranges.
    idx: bool,
    /// MINMATCHLEN: shortest range reported (negatives count as 0).
    min_match_len: u64,
    /// WITHMATCHLEN: add each range's length.
    with_match_len: bool,
}

impl LcsArgs {
    /// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
    fn parse(args: &[Bytes]) -> Result<Self, CmdError> {
        let mut o = LcsArgs::default();
        let opts = args.get(3..).unwrap_or_default();
        let mut i = 0;
        while let Some(opt) = opts.get(i) {
            if is(opt, "IDX") {
                o.idx = true;
            } else if is(opt, "LEN") {
                o.len = true;
            } else if is(opt, "WITHMATCHLEN") {
                o.with_match_len = true;
            } else if let (true, Some(n)) = (is(opt, "MINMATCHLEN"), opts.get(i + 1)) {
                o.min_match_len = u64::try_from(parse_i64(n)?).unwrap_or(0);
                i += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        if o.len && o.idx {
            return Err(CmdError::err(
                "If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(o)
    }
}

/// One common run: inclusive ranges in `a` and `b`.
#[derive(Debug, Clone, Copy)]
struct Run {
    a: (usize, usize),
    b: (usize, usize),
}

impl Run {
    /// Its length in bytes.
    fn len(&self) -> u64 {
        u64::try_from(self.a.1 - self.a.0 + 1).unwrap_or(u64::MAX)
    }
}

/// The result of the LCS computation.
struct Lcs {
    /// The common subsequence (filled only when asked for).
    text: Vec<u8>,
    /// Its length.
    len: usize,
    /// The runs, last first, as Redis emits them (IDX only).
    runs: Vec<Run>,
}

/// What to compute beyond the length.
#[derive(Debug, Clone, Copy)]
struct LcsWant {
    /// The subsequence itself.
    text: bool,
    /// The runs (IDX), keeping those at least this long.
    runs: Option<u64>,
}

/// Redis's dynamic-programming LCS, including its backtracking order and run splitting, so
/// that IDX reports the same ranges. `limit` is the `proto-max-bulk-len` cap on the table.
fn compute_lcs(a: &[u8], b: &[u8], want: LcsWant, limit: u64) -> Result<Lcs, CmdError> {
    const LIMIT: usize = (u32::MAX - 1) as usize;
    if a.len() >= LIMIT || b.len() >= LIMIT {
        return Err(CmdError::err("String too long for LCS"));
    }
    let w = b.len() + 1;
    let cells = (a.len() + 1).checked_mul(w);
    let bytes = cells.and_then(|c| c.checked_mul(std::mem::size_of::<u32>()));
    let (Some(cells), Some(bytes)) = (cells, bytes) else {
        return Err(CmdError::err(
            "Insufficient memory, failed allocating transient memory for LCS",
        ));
    };
    if u64::try_from(bytes).unwrap_or(u64::MAX) > limit {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let mut tbl: Vec<u32> = Vec::new();
    if tbl.try_reserve_exact(cells).is_err() {
        return Err(CmdError::err(
            "Insufficient memory, failed allocating transient memory for LCS",
        ));
    }
    tbl.resize(cells, 0);
    for (i, &ca) in a.iter().enumerate() {
        for (j, &cb) in b.iter().enumerate() {
            let v = if ca == cb {
                tbl[i * w + j] + 1
            } else {
                tbl[i * w + j + 1].max(tbl[(i + 1) * w + j])
            };
            tbl[(i + 1) * w + j + 1] = v;
        }
    }
    let len = tbl[a.len() * w + b.len()] as usize;
    let mut out = Lcs {
        text: Vec::new(),
        len,
        runs: Vec::new(),
    };
    if !want.text && want.runs.is_none() {
        return Ok(out);
    }
    out.text = vec![0; len];
    let mut k = len;
    let (mut i, mut j) = (a.len(), b.len());
    let mut run: Option<Run> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            out.text[k - 1] = a[i - 1];
            match &mut run {
                None => {
                    run = Some(Run {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                Some(r) if r.a.0 == i && r.b.0 == j => {
                    r.a.0 -= 1;
                    r.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if run.is_some_and(|r| r.a.0 == 0 || r.b.0 == 0) {
                emit = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if tbl[(i - 1) * w + j] > tbl[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let (Some(r), Some(min)) = (run.take(), want.runs) {
                if r.len() >= min {
                    out.runs.push(r);
                }
            }
        }
    }
    Ok(out)
}

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
///
/// Missing keys count as empty strings; a key of another type is
/// "ERR The specified keys must contain string values" (checked before the options, as Redis
/// does). With IDX the RESP2 reply is `["matches", [[[a0, a1], [b0, b1] (, len)], ...], "len", n]`.
fn lcs(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let (Some(k1), Some(k2)) = (args.get(1), args.get(2)) else {
        return Err(arity(ctx));
    };
    let opts = LcsArgs::parse(args);
    let limit = max_bulk_len(ctx.host);
    let (a, b) = with_txn(ctx, args, |t, db| {
        let a = t.lookup(db, k1)?;
        let b = t.lookup(db, k2)?;
        if a.as_ref().is_some_and(|r| r.kind != Kind::String)
            || b.as_ref().is_some_and(|r| r.kind != Kind::String)
        {
            return Err(CmdError::err(
                "The specified keys must contain string values",
            ));
        }
        Ok((
            a.map(|r| r.body).unwrap_or_default(),
            b.map(|r| r.body).unwrap_or_default(),
        ))
    })?;
    let o = opts?;
    let want = LcsWant {
        text: !o.len && !o.idx,
        runs: o.idx.then_some(o.min_match_len),
    };
    let res = compute_lcs(&a, &b, want, limit)?;
    if o.idx {
        let int = len_reply;
        let matches = res
            .runs
            .iter()
            .map(|r| {
                let mut m = vec![
                    Reply::Array(vec![int(r.a.0), int(r.a.1)]),
                    Reply::Array(vec![int(r.b.0), int(r.b.1)]),
                ];
                if o.with_match_len {
                    m.push(Reply::Int(i64::try_from(r.len()).unwrap_or(i64::MAX)));
                }
                Reply::Array(m)
            })
            .collect();
        return Ok(Reply::Array(vec![
            Reply::bulk(Bytes::from_static(b"matches")),
            Reply::Array(matches),
            Reply::bulk(Bytes::from_static(b"len")),
            int(res.len),
        ]));
    }
    if o.len {
        return Ok(len_reply(res.len));
    }
    Ok(Reply::Bulk(Bytes::from(res.text)))
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// MSET and MSETNX: every other argument from 1 on is a key.
const PAIRS: Keys = Keys {
    first: 1,
    last: -1,
    step: 2,
};
/// The STRING family's rows of the command table.
pub static COMMANDS: &[CommandDef] = &[
    cmd("get", 2, READONLY | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Returns the string value of a key.", get),
    cmd("set", -3, WRITE | DENYOOM | GROUP, Keys::ONE, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    cmd("setnx", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", setnx),
    cmd("setex", 4, WRITE | DENYOOM | GROUP, Keys::ONE, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    cmd("psetex", 4, WRITE | DENYOOM | GROUP, Keys::ONE, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", psetex),
    cmd("getset", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", getset),
    cmd("getdel", 2, WRITE | FAST | GROUP, Keys::ONE, "string", "6.2.0", "Returns the string value of a key after deleting the key.", getdel),
    cmd("getex", -2, WRITE | FAST | GROUP, Keys::ONE, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", getex),
    cmd("mget", -2, READONLY | FAST | GROUP, Keys::ALL, "string", "1.0.0", "Atomically returns the string values of one or more keys.", mget),
    cmd("mset", -3, WRITE | DENYOOM | GROUP, PAIRS, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", mset),
    cmd("msetnx", -3, WRITE | DENYOOM | GROUP, PAIRS, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", msetnx),
    cmd("append", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", append),
    cmd("strlen", 2, READONLY | FAST | GROUP, Keys::ONE, "string", "2.2.0", "Returns the length of a string value.", strlen),
    cmd("getrange", 4, READONLY | GROUP, Keys::ONE, "string", "2.4.0", "Returns a substring of the string stored at a key.", getrange),
    cmd("substr", 4, READONLY | GROUP, Keys::ONE, "string", "1.0.0", "Returns a substring from a string value.", getrange),
    cmd("setrange", 4, WRITE | DENYOOM | GROUP, Keys::ONE, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", setrange),
    cmd("incr", 2, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    cmd("decr", 2, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", decr),
    cmd("incrby", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrby),
    cmd("decrby", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", decrby),
    cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST | GROUP, Keys::ONE, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrbyfloat),
    cmd("lcs", -3, READONLY | GROUP, Keys::TWO, "string", "7.0.0", "Finds the longest common substring.", lcs),
];

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use strata_keyspace::{now_ms, Kind, Record};
    use strata_resp::Reply;

    use crate::tests::{both, bulk, err, ok, Env};

    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    const NOT_INT: &str = "ERR value is not an integer or out of range";
    const SYNTAX: &str = "ERR syntax error";

    fn int(n: i64) -> Reply {
        Reply::Int(n)
    }

    fn nil() -> Reply {
        Reply::Null
    }

    fn arr(items: Vec<Reply>) -> Reply {
        Reply::Array(items)
    }

    /// The stored record of `key` in db 0, read straight from the keyspace.
    fn record(env: &Env, key: &str) -> Option<Record> {
        let mut t = env.ks.txn(&[(0, key.as_bytes())]);
        t.get(0, key.as_bytes()).expect("get")
    }

    /// The absolute expiry of `key` (0: none); panics if the key is missing.
    fn expire_of(env: &Env, key: &str) -> u64 {
        record(env, key).expect("key exists").expire_ms
    }

    /// Asserts `key` expires about `ms` from now.
    fn assert_ttl_near(env: &Env, key: &str, ms: u64) {
        let at = expire_of(env, key);
        let now = now_ms();
        assert!(
            at > now && at <= now + ms && at + 5_000 >= now + ms,
            "expire {at} vs now {now} + {ms}"
        );
    }

    /// Stores a hash-kind record at `key`, so string commands meet a wrong type.
    fn put_hash(env: &Env, key: &str) {
        let mut t = env.ks.txn(&[(0, key.as_bytes())]);
        let rec = Record {
            kind: Kind::Hash,
            expire_ms: 0,
            body: Bytes::from_static(b"hdr"),
        };
        t.put(0, key.as_bytes(), rec).expect("put");
        t.commit().expect("commit");
    }

    #[test]
    fn get_and_set() {
        both(|env| {
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert_eq!(env.run(&["SET", "k", "v1"]), ok());
            assert_eq!(env.run(&["GET", "k"]), bulk("v1"));
            assert_eq!(env.run(&["set", "k", "v2"]), ok());
            assert_eq!(env.run(&["GET", "k"]), bulk("v2"));
            assert_eq!(env.run(&["SET", "e", ""]), ok());
            assert_eq!(env.run(&["GET", "e"]), bulk(""));
            assert_eq!(
                env.run(&["SET", "k"]),
                err("ERR wrong number of arguments for 'set' command")
            );
            assert_eq!(
                env.run(&["GET", "k", "x"]),
                err("ERR wrong number of arguments for 'get' command")
            );
        });
    }

    #[test]
    fn binary_values_round_trip() {
        both(|env| {
            let v = Bytes::from_static(b"a\0b\r\n\xff");
            let set = [
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"bin"),
                v.clone(),
            ];
            assert_eq!(env.run_bytes(&set), ok());
            assert_eq!(
                env.run_bytes(&[Bytes::from_static(b"GET"), Bytes::from_static(b"bin")]),
                Reply::Bulk(v)
            );
        });
    }

    #[test]
    fn set_nx_xx_get_matrix() {
        both(|env| {
            assert_eq!(env.run(&["SET", "k", "1", "XX"]), nil());
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert_eq!(env.run(&["SET", "k", "1", "NX"]), ok());
            assert_eq!(env.run(&["SET", "k", "2", "NX"]), nil());
            assert_eq!(env.run(&["GET", "k"]), bulk("1"));
            assert_eq!(env.run(&["SET", "k", "2", "xx"]), ok());
            assert_eq!(env.run(&["GET", "k"]), bulk("2"));
            // GET replies with the old value, whether or not the write happened.
            assert_eq!(env.run(&["SET", "k", "3", "GET"]), bulk("2"));
            assert_eq!(env.run(&["SET", "new", "x", "GET"]), nil());
            assert_eq!(env.run(&["GET", "new"]), bulk("x"));
            assert_eq!(env.run(&["SET", "k", "4", "NX", "GET"]), bulk("3"));
            assert_eq!(env.run(&["GET", "k"]), bulk("3"));
            assert_eq!(env.run(&["SET", "nx", "1", "GET", "NX"]), nil());
            assert_eq!(env.run(&["GET", "nx"]), bulk("1"));
            assert_eq!(env.run(&["SET", "missing", "1", "XX", "GET"]), nil());
            assert_eq!(env.run(&["GET", "missing"]), nil());
            assert_eq!(env.run(&["SET", "k", "5", "XX", "GET"]), bulk("3"));
            assert_eq!(env.run(&["GET", "k"]), bulk("5"));
            // Repeats of the same flag are accepted, as in Redis.
            assert_eq!(
                env.run(&["SET", "k", "6", "GET", "GET", "XX", "XX"]),
                bulk("5")
            );
        });
    }

    #[test]
    fn set_syntax_errors() {
        both(|env| {
            for bad in [
                &["SET", "k", "v", "NX", "XX"][..],
                &["SET", "k", "v", "XX", "NX"],
                &["SET", "k", "v", "EX", "10", "PX", "100"],
                &["SET", "k", "v", "PX", "100", "EX", "10"],
                &["SET", "k", "v", "EX", "10", "EXAT", "10"],
                &["SET", "k", "v", "PXAT", "10", "PX", "10"],
                &["SET", "k", "v", "EX", "10", "KEEPTTL"],
                &["SET", "k", "v", "KEEPTTL", "EX", "10"],
                &["SET", "k", "v", "EX"],
                &["SET", "k", "v", "FOO"],
                &["SET", "k", "v", "PERSIST"],
                &["SET", "k", "v", "NX", "10"],
            ] {
                assert_eq!(env.run(bad), err(SYNTAX), "{bad:?}");
            }
            assert_eq!(env.run(&["GET", "k"]), nil());
        });
    }

    #[test]
    fn set_expire_errors() {
        both(|env| {
            let invalid = err("ERR invalid expire time in 'set' command");
            assert_eq!(env.run(&["SET", "k", "v", "EX", "0"]), invalid);
            assert_eq!(env.run(&["SET", "k", "v", "EX", "-1"]), invalid);
            assert_eq!(env.run(&["SET", "k", "v", "PX", "0"]), invalid);
            assert_eq!(env.run(&["SET", "k", "v", "EXAT", "0"]), invalid);
            assert_eq!(env.run(&["SET", "k", "v", "PXAT", "-5"]), invalid);
            // Seconds that overflow when turned into ms, or ms that overflow when added to now.
            assert_eq!(
                env.run(&["SET", "k", "v", "EX", "9223372036854776"]),
                invalid
            );
            assert_eq!(
                env.run(&["SET", "k", "v", "PX", "9223372036854775807"]),
                invalid
            );
            assert_eq!(env.run(&["SET", "k", "v", "EX", "abc"]), err(NOT_INT));
            assert_eq!(env.run(&["SET", "k", "v", "EX", "1.5"]), err(NOT_INT));
            assert_eq!(env.run(&["GET", "k"]), nil());
            // The expire is validated before the GET's type check.
            put_hash(env, "h");
            assert_eq!(env.run(&["SET", "h", "v", "GET", "EX", "0"]), invalid);
        });
    }

    #[test]
    fn set_ttl_behaviour() {
        both(|env| {
            assert_eq!(env.run(&["SET", "k", "v", "EX", "100"]), ok());
            assert_ttl_near(env, "k", 100_000);
            assert_eq!(env.run(&["SET", "k", "v", "PX", "50000"]), ok());
            assert_ttl_near(env, "k", 50_000);
            // Repeating EX is allowed; the last value wins.
            assert_eq!(env.run(&["SET", "k", "v", "EX", "1", "EX", "200"]), ok());
            assert_ttl_near(env, "k", 200_000);
            // KEEPTTL keeps it, a plain SET clears it.
            assert_eq!(env.run(&["SET", "k", "v2", "KEEPTTL"]), ok());
            assert_ttl_near(env, "k", 200_000);
            assert_eq!(env.run(&["GET", "k"]), bulk("v2"));
            assert_eq!(env.run(&["SET", "k", "v3"]), ok());
            assert_eq!(expire_of(env, "k"), 0);
            // KEEPTTL on a key without TTL, or a new key, sets none.
            assert_eq!(env.run(&["SET", "n", "v", "KEEPTTL"]), ok());
            assert_eq!(expire_of(env, "n"), 0);
            // Absolute times.
            let at = (now_ms() / 1000 + 1000).to_string();
            assert_eq!(env.run(&["SET", "k", "v", "EXAT", &at]), ok());
            assert_eq!(expire_of(env, "k"), (now_ms() / 1000 + 1000) * 1000);
            let pat = (now_ms() + 123_456).to_string();
            assert_eq!(env.run(&["SET", "k", "v", "PXAT", &pat]), ok());
            assert_eq!(expire_of(env, "k").to_string(), pat);
        });
    }

    #[test]
    fn set_with_past_absolute_time_deletes() {
        both(|env| {
            assert_eq!(env.run(&["SET", "k", "old"]), ok());
            assert_eq!(env.run(&["SET", "k", "v", "PXAT", "1"]), ok());
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert!(record(env, "k").is_none());
            assert_eq!(env.run(&["SET", "k", "v", "EXAT", "1"]), ok());
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert_eq!(env.run(&["SET", "k", "old"]), ok());
            assert_eq!(env.run(&["SET", "k", "v", "GET", "EXAT", "1"]), bulk("old"));
            assert_eq!(env.run(&["GET", "k"]), nil());
            // NX on an existing key still refuses before anything is deleted.
            assert_eq!(env.run(&["SET", "k", "keep"]), ok());
            assert_eq!(env.run(&["SET", "k", "v", "NX", "PXAT", "1"]), nil());
            assert_eq!(env.run(&["GET", "k"]), bulk("keep"));
        });
    }

    #[test]
    fn set_and_wrong_types() {
        both(|env| {
            put_hash(env, "h");
            assert_eq!(env.run(&["SET", "h", "v", "GET"]), err(WRONGTYPE));
            assert_eq!(record(env, "h").expect("still there").kind, Kind::Hash);
            assert_eq!(env.run(&["SETNX", "h", "v"]), int(0));
            assert_eq!(env.run(&["SET", "h", "v", "NX"]), nil());
            assert_eq!(env.run(&["GET", "h"]), err(WRONGTYPE));
            // A plain SET replaces a key of any type.
            assert_eq!(env.run(&["SET", "h", "v"]), ok());
            assert_eq!(env.run(&["GET", "h"]), bulk("v"));
        });
    }

    #[test]
    fn setnx_setex_psetex() {
        both(|env| {
            assert_eq!(env.run(&["SETNX", "k", "1"]), int(1));
            assert_eq!(env.run(&["SETNX", "k", "2"]), int(0));
            assert_eq!(env.run(&["GET", "k"]), bulk("1"));

            assert_eq!(env.run(&["SETEX", "k", "100", "v"]), ok());
            assert_eq!(env.run(&["GET", "k"]), bulk("v"));
            assert_ttl_near(env, "k", 100_000);
            assert_eq!(
                env.run(&["SETEX", "k", "0", "v"]),
                err("ERR invalid expire time in 'setex' command")
            );
            assert_eq!(
                env.run(&["SETEX", "k", "-10", "v"]),
                err("ERR invalid expire time in 'setex' command")
            );
            assert_eq!(env.run(&["SETEX", "k", "x", "v"]), err(NOT_INT));
            assert_eq!(
                env.run(&["SETEX", "k", "10"]),
                err("ERR wrong number of arguments for 'setex' command")
            );

            assert_eq!(env.run(&["PSETEX", "p", "5000", "v"]), ok());
            assert_ttl_near(env, "p", 5_000);
            assert_eq!(
                env.run(&["PSETEX", "p", "0", "v"]),
                err("ERR invalid expire time in 'psetex' command")
            );
            assert_eq!(env.run(&["GET", "p"]), bulk("v"));
        });
    }

    #[test]
    fn mget_mset_msetnx() {
        both(|env| {
            assert_eq!(env.run(&["MSET", "a", "1", "b", "2"]), ok());
            put_hash(env, "h");
            assert_eq!(
                env.run(&["MGET", "a", "h", "nope", "b"]),
                arr(vec![bulk("1"), nil(), nil(), bulk("2")])
            );
            assert_eq!(
                env.run(&["MSET", "a"]),
                err("ERR wrong number of arguments for 'mset' command")
            );
            assert_eq!(
                env.run(&["MSET", "a", "1", "b"]),
                err("ERR wrong number of arguments for 'mset' command")
            );
            assert_eq!(
                env.run(&["MSETNX", "x", "1", "y"]),
                err("ERR wrong number of arguments for 'msetnx' command")
            );
            assert_eq!(
                env.run(&["MGET"]),
                err("ERR wrong number of arguments for 'mget' command")
            );
            // Later pairs win.
            assert_eq!(env.run(&["MSET", "d", "1", "d", "2"]), ok());
            assert_eq!(env.run(&["GET", "d"]), bulk("2"));
            // MSET drops TTLs.
            assert_eq!(env.run(&["SET", "a", "1", "EX", "100"]), ok());
            assert_eq!(env.run(&["MSET", "a", "3"]), ok());
            assert_eq!(expire_of(env, "a"), 0);

            assert_eq!(env.run(&["MSETNX", "x", "1", "y", "2"]), int(1));
            assert_eq!(env.run(&["MSETNX", "y", "9", "z", "9"]), int(0));
            assert_eq!(
                env.run(&["MGET", "x", "y", "z"]),
                arr(vec![bulk("1"), bulk("2"), nil()])
            );
            // Any existing key blocks it, whatever its type.
            assert_eq!(env.run(&["MSETNX", "h", "9", "z", "9"]), int(0));
            assert_eq!(env.run(&["GET", "z"]), nil());
        });
    }

    #[test]
    fn getset_getdel() {
        both(|env| {
            assert_eq!(env.run(&["GETSET", "k", "1"]), nil());
            assert_eq!(env.run(&["GETSET", "k", "2"]), bulk("1"));
            assert_eq!(env.run(&["GET", "k"]), bulk("2"));
            assert_eq!(env.run(&["SET", "k", "3", "EX", "100"]), ok());
            assert_eq!(env.run(&["GETSET", "k", "4"]), bulk("3"));
            assert_eq!(expire_of(env, "k"), 0);

            assert_eq!(env.run(&["GETDEL", "k"]), bulk("4"));
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert_eq!(env.run(&["GETDEL", "k"]), nil());

            put_hash(env, "h");
            assert_eq!(env.run(&["GETSET", "h", "x"]), err(WRONGTYPE));
            assert_eq!(env.run(&["GETDEL", "h"]), err(WRONGTYPE));
            assert_eq!(record(env, "h").expect("kept").kind, Kind::Hash);
        });
    }

    #[test]
    fn getex_options() {
        both(|env| {
            assert_eq!(env.run(&["GETEX", "k"]), nil());
            // A missing key replies nil before the expire value is looked at.
            assert_eq!(env.run(&["GETEX", "k", "EX", "-1"]), nil());
            assert_eq!(env.run(&["GETEX", "k", "EX", "abc"]), nil());
            assert_eq!(env.run(&["SET", "k", "v"]), ok());
            assert_eq!(env.run(&["GETEX", "k"]), bulk("v"));
            assert_eq!(expire_of(env, "k"), 0);
            assert_eq!(env.run(&["GETEX", "k", "EX", "100"]), bulk("v"));
            assert_ttl_near(env, "k", 100_000);
            assert_eq!(env.run(&["GETEX", "k", "PX", "5000"]), bulk("v"));
            assert_ttl_near(env, "k", 5_000);
            let pat = (now_ms() + 77_000).to_string();
            assert_eq!(env.run(&["GETEX", "k", "PXAT", &pat]), bulk("v"));
            assert_eq!(expire_of(env, "k").to_string(), pat);
            assert_eq!(env.run(&["GETEX", "k"]), bulk("v"));
            assert_eq!(expire_of(env, "k").to_string(), pat);
            assert_eq!(env.run(&["GETEX", "k", "PERSIST"]), bulk("v"));
            assert_eq!(expire_of(env, "k"), 0);
            assert_eq!(env.run(&["GETEX", "k", "PERSIST", "PERSIST"]), bulk("v"));

            assert_eq!(
                env.run(&["GETEX", "k", "EX", "0"]),
                err("ERR invalid expire time in 'getex' command")
            );
            assert_eq!(env.run(&["GETEX", "k", "EX", "x"]), err(NOT_INT));
            for bad in [
                &["GETEX", "k", "EX", "10", "PERSIST"][..],
                &["GETEX", "k", "PERSIST", "EX", "10"],
                &["GETEX", "k", "EX", "10", "PX", "10"],
                &["GETEX", "k", "KEEPTTL"],
                &["GETEX", "k", "NX"],
                &["GETEX", "k", "GET"],
                &["GETEX", "k", "EX"],
                &["GETEX", "missing", "BOGUS"],
            ] {
                assert_eq!(env.run(bad), err(SYNTAX), "{bad:?}");
            }
            assert_eq!(expire_of(env, "k"), 0);

            // An absolute time in the past replies with the value, then deletes.
            assert_eq!(env.run(&["GETEX", "k", "EXAT", "1"]), bulk("v"));
            assert_eq!(env.run(&["GET", "k"]), nil());

            put_hash(env, "h");
            assert_eq!(env.run(&["GETEX", "h", "EX", "10"]), err(WRONGTYPE));
            assert_eq!(env.run(&["GETEX", "h", "EX", "0"]), err(WRONGTYPE));
        });
    }

    #[test]
    fn append_and_strlen() {
        both(|env| {
            assert_eq!(env.run(&["STRLEN", "k"]), int(0));
            assert_eq!(env.run(&["APPEND", "k", "Hello"]), int(5));
            assert_eq!(env.run(&["APPEND", "k", " World"]), int(11));
            assert_eq!(env.run(&["GET", "k"]), bulk("Hello World"));
            assert_eq!(env.run(&["STRLEN", "k"]), int(11));
            assert_eq!(env.run(&["APPEND", "k", ""]), int(11));
            assert_eq!(env.run(&["APPEND", "e", ""]), int(0));
            assert_eq!(env.run(&["GET", "e"]), bulk(""));
            // APPEND keeps the TTL.
            assert_eq!(env.run(&["SET", "t", "a", "EX", "100"]), ok());
            assert_eq!(env.run(&["APPEND", "t", "b"]), int(2));
            assert_ttl_near(env, "t", 100_000);
            put_hash(env, "h");
            assert_eq!(env.run(&["APPEND", "h", "x"]), err(WRONGTYPE));
            assert_eq!(env.run(&["STRLEN", "h"]), err(WRONGTYPE));
        });
    }

    #[test]
    fn getrange_and_substr() {
        both(|env| {
            assert_eq!(env.run(&["GETRANGE", "k", "0", "-1"]), bulk(""));
            assert_eq!(env.run(&["SET", "k", "This is a string"]), ok());
            for (start, end, want) in [
                ("0", "3", "This"),
                ("-3", "-1", "ing"),
                ("0", "-1", "This is a string"),
                ("10", "100", "string"),
                ("-1", "-5", ""),
                ("5", "3", ""),
                ("0", "-100", "T"),
                ("-100", "2", "Thi"),
                ("100", "200", ""),
                (
                    "-9223372036854775808",
                    "9223372036854775807",
                    "This is a string",
                ),
            ] {
                assert_eq!(
                    env.run(&["GETRANGE", "k", start, end]),
                    bulk(want),
                    "{start} {end}"
                );
                assert_eq!(
                    env.run(&["SUBSTR", "k", start, end]),
                    bulk(want),
                    "{start} {end}"
                );
            }
            assert_eq!(env.run(&["GETRANGE", "k", "a", "1"]), err(NOT_INT));
            assert_eq!(env.run(&["GETRANGE", "k", "0", "1.0"]), err(NOT_INT));
            assert_eq!(env.run(&["SET", "e", ""]), ok());
            assert_eq!(env.run(&["GETRANGE", "e", "0", "-1"]), bulk(""));
            put_hash(env, "h");
            assert_eq!(env.run(&["GETRANGE", "h", "0", "1"]), err(WRONGTYPE));
        });
    }

    #[test]
    fn setrange() {
        both(|env| {
            assert_eq!(env.run(&["SET", "k", "Hello World"]), ok());
            assert_eq!(env.run(&["SETRANGE", "k", "6", "Redis"]), int(11));
            assert_eq!(env.run(&["GET", "k"]), bulk("Hello Redis"));
            assert_eq!(env.run(&["SETRANGE", "pad", "3", "ab"]), int(5));
            assert_eq!(env.run(&["GET", "pad"]), bulk("\0\0\0ab"));
            assert_eq!(env.run(&["SETRANGE", "k", "0", "J"]), int(11));
            assert_eq!(env.run(&["GET", "k"]), bulk("Jello Redis"));
            assert_eq!(env.run(&["SETRANGE", "k", "13", "!"]), int(14));
            assert_eq!(env.run(&["GET", "k"]), bulk("Jello Redis\0\0!"));
            // Empty value: no write; a missing key stays missing.
            assert_eq!(env.run(&["SETRANGE", "none", "5", ""]), int(0));
            assert_eq!(env.run(&["GET", "none"]), nil());
            assert!(record(env, "none").is_none());
            assert_eq!(env.run(&["SETRANGE", "k", "100", ""]), int(14));
            assert_eq!(
                env.run(&["SETRANGE", "k", "-1", "x"]),
                err("ERR offset is out of range")
            );
            assert_eq!(env.run(&["SETRANGE", "k", "x", "x"]), err(NOT_INT));
            let too_long = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            assert_eq!(env.run(&["SETRANGE", "k", "536870911", "ab"]), too_long);
            assert_eq!(env.run(&["SETRANGE", "none", "536870912", "a"]), too_long);
            assert_eq!(
                env.run(&["SETRANGE", "none", "9223372036854775807", "a"]),
                too_long
            );
            assert!(record(env, "none").is_none());
            // SETRANGE keeps the TTL.
            assert_eq!(env.run(&["SET", "t", "abc", "PX", "90000"]), ok());
            assert_eq!(env.run(&["SETRANGE", "t", "1", "X"]), int(3));
            assert_ttl_near(env, "t", 90_000);
            put_hash(env, "h");
            assert_eq!(env.run(&["SETRANGE", "h", "0", "x"]), err(WRONGTYPE));
            assert_eq!(env.run(&["SETRANGE", "h", "0", ""]), err(WRONGTYPE));
        });
    }

    #[test]
    fn counters() {
        both(|env| {
            assert_eq!(env.run(&["INCR", "n"]), int(1));
            assert_eq!(env.run(&["INCR", "n"]), int(2));
            assert_eq!(env.run(&["DECR", "n"]), int(1));
            assert_eq!(env.run(&["INCRBY", "n", "10"]), int(11));
            assert_eq!(env.run(&["DECRBY", "n", "20"]), int(-9));
            assert_eq!(env.run(&["GET", "n"]), bulk("-9"));
            assert_eq!(env.run(&["DECR", "fresh"]), int(-1));
            assert_eq!(env.run(&["INCRBY", "n", "x"]), err(NOT_INT));
            assert_eq!(env.run(&["DECRBY", "n", "1.5"]), err(NOT_INT));
            for bad in [
                "abc",
                " 1",
                "1 ",
                "01",
                "+1",
                "1.0",
                "",
                "99999999999999999999",
            ] {
                assert_eq!(env.run(&["SET", "s", bad]), ok());
                assert_eq!(env.run(&["INCR", "s"]), err(NOT_INT), "{bad:?}");
            }
            assert_eq!(env.run(&["SET", "s", "-0"]), ok());
            assert_eq!(env.run(&["INCR", "s"]), err(NOT_INT));
            // Overflow.
            assert_eq!(env.run(&["SET", "m", "9223372036854775807"]), ok());
            assert_eq!(
                env.run(&["INCR", "m"]),
                err("ERR increment or decrement would overflow")
            );
            assert_eq!(env.run(&["GET", "m"]), bulk("9223372036854775807"));
            assert_eq!(env.run(&["SET", "m", "-9223372036854775808"]), ok());
            assert_eq!(
                env.run(&["DECR", "m"]),
                err("ERR increment or decrement would overflow")
            );
            assert_eq!(
                env.run(&["INCRBY", "m", "-1"]),
                err("ERR increment or decrement would overflow")
            );
            assert_eq!(env.run(&["INCRBY", "m", "9223372036854775807"]), int(-1));
            assert_eq!(
                env.run(&["DECRBY", "x", "-9223372036854775808"]),
                err("ERR decrement would overflow")
            );
            assert_eq!(
                env.run(&["DECRBY", "x", "-9223372036854775807"]),
                int(i64::MAX)
            );
            assert_eq!(
                env.run(&["INCRBY", "y", "-9223372036854775808"]),
                int(i64::MIN)
            );
            // Counters keep the TTL.
            assert_eq!(env.run(&["SET", "t", "5", "EX", "100"]), ok());
            assert_eq!(env.run(&["INCR", "t"]), int(6));
            assert_eq!(env.run(&["DECRBY", "t", "2"]), int(4));
            assert_ttl_near(env, "t", 100_000);
            put_hash(env, "h");
            assert_eq!(env.run(&["INCR", "h"]), err(WRONGTYPE));
            assert_eq!(env.run(&["DECRBY", "h", "1"]), err(WRONGTYPE));
            // The increment is parsed before the key is looked at.
            assert_eq!(env.run(&["INCRBY", "h", "x"]), err(NOT_INT));
        });
    }

    #[test]
    fn incrbyfloat() {
        both(|env| {
            let not_float = err("ERR value is not a valid float");
            assert_eq!(env.run(&["SET", "f", "10.50"]), ok());
            assert_eq!(env.run(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
            assert_eq!(env.run(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
            assert_eq!(env.run(&["GET", "f"]), bulk("5.6"));
            assert_eq!(env.run(&["SET", "f", "5.0e3"]), ok());
            assert_eq!(env.run(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
            assert_eq!(env.run(&["INCRBYFLOAT", "new", "3"]), bulk("3"));
            assert_eq!(env.run(&["INCRBYFLOAT", "new", "-3"]), bulk("0"));
            assert_eq!(env.run(&["INCRBYFLOAT", "f", "x"]), not_float);
            assert_eq!(env.run(&["INCRBYFLOAT", "f", " 1"]), not_float);
            assert_eq!(env.run(&["INCRBYFLOAT", "f", "nan"]), not_float);
            assert_eq!(
                env.run(&["INCRBYFLOAT", "f", "inf"]),
                err("ERR increment would produce NaN or Infinity")
            );
            // Past f64's range, as Redis's long double goes (the digits are Redis 7.0.15's).
            assert_eq!(env.run(&["SET", "big", "1.7e308"]), ok());
            let sum = env.run(&["INCRBYFLOAT", "big", "1.7e308"]);
            assert!(
                matches!(&sum, Reply::Bulk(b) if b.len() == 309 && b.starts_with(b"34000000000000000000627")),
                "{sum:?}"
            );
            assert_eq!(
                env.run(&["INCRBYFLOAT", "f", "0.1"]),
                bulk("5200.10000000000000009")
            );
            assert_eq!(
                env.run(&["INCRBYFLOAT", "f", "900"]),
                bulk("6100.10000000000000009")
            );
            assert_eq!(env.run(&["SET", "s", "abc"]), ok());
            assert_eq!(env.run(&["INCRBYFLOAT", "s", "1"]), not_float);
            // Keeps the TTL.
            assert_eq!(env.run(&["SET", "t", "1", "EX", "100"]), ok());
            assert_eq!(env.run(&["INCRBYFLOAT", "t", "0.5"]), bulk("1.5"));
            assert_ttl_near(env, "t", 100_000);
            // Type is checked before the increment.
            put_hash(env, "h");
            assert_eq!(env.run(&["INCRBYFLOAT", "h", "x"]), err(WRONGTYPE));
        });
    }

    #[test]
    fn lcs() {
        both(|env| {
            assert_eq!(
                env.run(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
                ok()
            );
            assert_eq!(env.run(&["LCS", "key1", "key2"]), bulk("mytext"));
            assert_eq!(env.run(&["LCS", "key1", "key2", "LEN"]), int(6));
            let range = |a: i64, b: i64| arr(vec![int(a), int(b)]);
            assert_eq!(
                env.run(&["LCS", "key1", "key2", "IDX"]),
                arr(vec![
                    bulk("matches"),
                    arr(vec![
                        arr(vec![range(4, 7), range(5, 8)]),
                        arr(vec![range(2, 3), range(0, 1)])
                    ]),
                    bulk("len"),
                    int(6),
                ])
            );
            assert_eq!(
                env.run(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"]),
                arr(vec![
                    bulk("matches"),
                    arr(vec![arr(vec![range(4, 7), range(5, 8)])]),
                    bulk("len"),
                    int(6)
                ])
            );
            assert_eq!(
                env.run(&[
                    "LCS",
                    "key1",
                    "key2",
                    "IDX",
                    "MINMATCHLEN",
                    "4",
                    "WITHMATCHLEN"
                ]),
                arr(vec![
                    bulk("matches"),
                    arr(vec![arr(vec![range(4, 7), range(5, 8), int(4)])]),
                    bulk("len"),
                    int(6)
                ])
            );
            assert_eq!(
                env.run(&[
                    "LCS",
                    "key1",
                    "key2",
                    "WITHMATCHLEN",
                    "IDX",
                    "MINMATCHLEN",
                    "-5"
                ]),
                arr(vec![
                    bulk("matches"),
                    arr(vec![
                        arr(vec![range(4, 7), range(5, 8), int(4)]),
                        arr(vec![range(2, 3), range(0, 1), int(2)])
                    ]),
                    bulk("len"),
                    int(6),
                ])
            );
            // Missing keys are empty strings.
            assert_eq!(env.run(&["LCS", "key1", "nope"]), bulk(""));
            assert_eq!(env.run(&["LCS", "nope", "nope2", "LEN"]), int(0));
            assert_eq!(
                env.run(&["LCS", "nope", "key1", "IDX"]),
                arr(vec![bulk("matches"), arr(vec![]), bulk("len"), int(0)])
            );
            assert_eq!(env.run(&["LCS", "key1", "key1"]), bulk("ohmytext"));
            // Errors.
            assert_eq!(
                env.run(&["LCS", "key1", "key2", "LEN", "IDX"]),
                err("ERR If you want both the length and indexes, please just use IDX.")
            );
            assert_eq!(env.run(&["LCS", "key1", "key2", "FOO"]), err(SYNTAX));
            assert_eq!(
                env.run(&["LCS", "key1", "key2", "MINMATCHLEN"]),
                err(SYNTAX)
            );
            assert_eq!(
                env.run(&["LCS", "key1", "key2", "MINMATCHLEN", "x"]),
                err(NOT_INT)
            );
            assert_eq!(
                env.run(&["LCS", "key1"]),
                err("ERR wrong number of arguments for 'lcs' command")
            );
            put_hash(env, "h");
            let bad_type = err("ERR The specified keys must contain string values");
            assert_eq!(env.run(&["LCS", "h", "key1"]), bad_type);
            assert_eq!(env.run(&["LCS", "key1", "h", "FOO"]), bad_type);
        });
    }

    #[test]
    fn lcs_matches_brute_force_length() {
        fn lcs_len(a: &[u8], b: &[u8]) -> usize {
            if a.is_empty() || b.is_empty() {
                return 0;
            }
            if a[0] == b[0] {
                return 1 + lcs_len(&a[1..], &b[1..]);
            }
            lcs_len(&a[1..], b).max(lcs_len(a, &b[1..]))
        }
        for (a, b) in [
            ("abcbdab", "bdcaba"),
            ("aaaa", "aa"),
            ("xyz", "abc"),
            ("abc", "abc"),
            ("banana", "atana"),
        ] {
            let res = super::compute_lcs(
                a.as_bytes(),
                b.as_bytes(),
                super::LcsWant {
                    text: true,
                    runs: Some(0),
                },
                u64::MAX,
            )
            .expect("lcs");
            assert_eq!(res.len, lcs_len(a.as_bytes(), b.as_bytes()), "{a} {b}");
            assert_eq!(res.text.len(), res.len);
            // The text is a subsequence of both inputs.
            for s in [a, b] {
                let mut it = s.bytes();
                assert!(res.text.iter().all(|c| it.any(|x| x == *c)), "{a} {b}");
            }
            // The runs cover exactly the LCS, and each matches in both strings.
            let total: u64 = res.runs.iter().map(|r| r.len()).sum();
            assert_eq!(total, res.len as u64);
            for r in &res.runs {
                assert_eq!(a.as_bytes()[r.a.0..=r.a.1], b.as_bytes()[r.b.0..=r.b.1]);
            }
        }
    }

    #[test]
    fn lcs_table_limit() {
        let e = super::compute_lcs(
            b"abcdef",
            b"abcdef",
            super::LcsWant {
                text: true,
                runs: None,
            },
            100,
        );
        assert_eq!(
            e.err().map(|e| e.to_string()),
            Some(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
                    .to_string()
            )
        );
    }

    #[test]
    fn expired_keys_read_as_missing() {
        both(|env| {
            assert_eq!(env.run(&["SET", "k", "v", "PX", "1"]), ok());
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(env.run(&["GET", "k"]), nil());
            assert_eq!(env.run(&["SET", "k", "v", "PX", "1"]), ok());
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(env.run(&["INCR", "k"]), int(1));
            assert_eq!(expire_of(env, "k"), 0);
            assert_eq!(env.run(&["SET", "a", "v", "PX", "1"]), ok());
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(env.run(&["APPEND", "a", "x"]), int(1));
            assert_eq!(env.run(&["SET", "b", "v", "PX", "1"]), ok());
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(env.run(&["SET", "b", "w", "NX"]), ok());
            assert_eq!(env.run(&["MSETNX", "b2", "1"]), int(1));
        });
    }

    #[test]
    fn table_rows() {
        use crate::table::{flags, lookup, Keys};
        let row = |name: &str| lookup(name.as_bytes()).expect(name);
        assert_eq!(row("SET").arity, -3);
        assert_eq!(
            row("set").flags,
            flags::WRITE | flags::DENYOOM | flags::GROUP
        );
        assert_eq!(
            row("get").flags,
            flags::READONLY | flags::FAST | flags::GROUP
        );
        assert_eq!(
            row("incr").flags,
            flags::WRITE | flags::DENYOOM | flags::FAST | flags::GROUP
        );
        assert_eq!(row("mget").keys, Keys::ALL);
        assert_eq!(
            row("mset").keys,
            Keys {
                first: 1,
                last: -1,
                step: 2
            }
        );
        assert_eq!(
            row("msetnx").keys,
            Keys {
                first: 1,
                last: -1,
                step: 2
            }
        );
        assert_eq!(
            row("lcs").keys,
            Keys {
                first: 1,
                last: 2,
                step: 1
            }
        );
        for name in [
            "get",
            "set",
            "setnx",
            "setex",
            "psetex",
            "getset",
            "getdel",
            "getex",
            "mget",
            "mset",
            "msetnx",
            "append",
            "strlen",
            "getrange",
            "substr",
            "setrange",
            "incr",
            "decr",
            "incrby",
            "decrby",
            "incrbyfloat",
            "lcs",
        ] {
            let r = row(name);
            assert_eq!(r.group, "string", "{name}");
            assert!(!r.summary.is_empty() && !r.since.is_empty(), "{name}");
        }
    }
}
