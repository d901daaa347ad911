//! The blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and
//! BZMPOP.
//!
//! Each first runs its non-blocking form. When nothing is there it sets `Session::block` (the
//! keys to wait on, the deadline and the timeout reply) and the connection waits: it registers
//! the client in the keyspace's readiness registry (`strata_keyspace::Ready`), and on a signal
//! reruns the command with `Session::block_retry` set; a rerun that finds nothing blocks again.
//! Clients blocked on a key are served in the order they blocked. On a rerun a key of the wrong
//! type reads as empty, as Redis 7.0 serves blocked clients only from keys of their type.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_resp::Reply;

use crate::args::{is, parse_f64_opt};
use crate::ctx::{Block, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::list::{bulks, lmove_in, mpop_in, parse_mpop, side, with_keys};
use crate::table::{cmd, flags::*, CommandDef, Keys};
use crate::zset::{fmt_score, zpop};

/// Parses a timeout in seconds (fractions allowed) as Redis's `getTimeoutFromObjectOrReply`:
/// None blocks forever (0).
fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let v = parse_f64_opt(arg)
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    let ms = v * 1000.0;
    // C's conversion of an out-of-range double to long long yields LLONG_MIN.
    let tval = if ms.is_finite() && ms.abs() < 9.2e18 {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if tval < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let now = strata_keyspace::now_ms() as i64;
    if tval > i64::MAX - now {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(match tval {
        0 if v > 0.0 => Some(Duration::from_millis(1)),
        0 => None,
        n => Some(Duration::from_millis(n as u64)),
    })
}

/// Asks the connection to block on `keys` until `timeout` (None: forever).
fn block(ctx: &mut Ctx<'_, '_>, keys: Vec<Bytes>, timeout: Option<Duration>) -> CmdResult {
    ctx.session.block = Some(Block {
        keys,
        deadline: timeout.and_then(|d| Instant::now().checked_add(d)),
        timeout_reply: Reply::NullArray,
    });
    // The reply of a client that cannot block (and what the connection sends at the deadline).
    Ok(Reply::NullArray)
}

/// Whether this run is a blocked client's rerun (clears the flag).
fn retrying(ctx: &mut Ctx<'_, '_>) -> bool {
    ctx.session.block = None;
    ctx.session.block_retry
}

fn bpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes], left: bool) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let retry = retrying(ctx);
    let keys = &args[1..args.len() - 1];
    let refs: Vec<&Bytes> = keys.iter().collect();
    let r = with_keys(ctx, &refs, |t, db| mpop_in(t, db, keys, left, 1, retry))?;
    match r {
        // [key, [item]] → [key, item]
        Some(Reply::Array(mut kv)) => {
            let items = kv.pop();
            if let Some(Reply::Array(mut items)) = items {
                kv.extend(items.pop());
            }
            Ok(Reply::Array(kv))
        }
        Some(other) => Ok(other),
        None => block(ctx, keys.to_vec(), timeout),
    }
}

fn blpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, false)
}

fn bmove(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    from_left: bool,
    to_left: bool,
    timeout: Option<Duration>,
) -> CmdResult {
    let retry = retrying(ctx);
    let (src, dst) = (args[1].clone(), args[2].clone());
    let v = with_keys(ctx, &[&src, &dst], |t, db| {
        lmove_in(t, db, &src, &dst, from_left, to_left, retry)
    })?;
    match v {
        Some(v) => Ok(Reply::Bulk(v)),
        None => block(ctx, vec![src], timeout),
    }
}

fn blmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let from_left = side(&args[3])?;
    let to_left = side(&args[4])?;
    let timeout = parse_timeout(&args[5])?;
    bmove(ctx, args, from_left, to_left, timeout)
}

fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&args[3])?;
    bmove(ctx, args, false, true, timeout)
}

fn blmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let p = parse_mpop(&args[2..], side)?;
    let timeout = parse_timeout(&args[1])?;
    let retry = retrying(ctx);
    let refs: Vec<&Bytes> = p.keys.iter().collect();
    let r = with_keys(ctx, &refs, |t, db| {
        mpop_in(t, db, &p.keys, p.left, p.count, retry)
    })?;
    match r {
        Some(r) => Ok(r),
        None => block(ctx, p.keys, timeout),
    }
}

/// `MIN` or `MAX` (true for MAX); anything else is a syntax error.
fn min_max(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "MIN") {
        Ok(false)
    } else if is(arg, "MAX") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Members popped from a sorted set, with their scores.
type Popped = Vec<(Bytes, f64)>;

/// Pops from the first non-empty sorted set of `keys`: `(key, [(member, score)])`.
fn zpop_first(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    max: bool,
    count: usize,
    retry: bool,
) -> Result<Option<(Bytes, Popped)>, CmdError> {
    let refs: Vec<&Bytes> = keys.iter().collect();
    with_keys(ctx, &refs, |t, db| {
        for k in keys {
            match zpop(t, db, k, max, count) {
                Err(CmdError::WrongType) if retry => continue,
                Err(e) => return Err(e),
                Ok(Some(items)) if !items.is_empty() => return Ok(Some((k.clone(), items))),
                Ok(_) => continue,
            }
        }
        Ok(None)
    })
}

fn bzpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes], max: bool) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let retry = retrying(ctx);
    let keys = &args[1..args.len() - 1];
    match zpop_first(ctx, keys, max, 1, retry)? {
        Some((k, items)) => {
            let mut out = vec![Reply::Bulk(k)];
            if let Some((m, s)) = items.into_iter().next() {
                out.push(Reply::Bulk(m));
                out.push(Reply::Bulk(fmt_score(s)));
            }
            Ok(Reply::Array(out))
        }
        None => block(ctx, keys.to_vec(), timeout),
    }
}

fn bzpopmin(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, true)
}

fn bzmpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CmdResult {
    let p = parse_mpop(&args[2..], min_max)?;
    let timeout = parse_timeout(&args[1])?;
    let retry = retrying(ctx);
    let count = usize::try_from(p.count).unwrap_or(usize::MAX);
    match zpop_first(ctx, &p.keys, p.left, count, retry)? {
        Some((k, items)) => Ok(Reply::Array(vec![
            Reply::Bulk(k),
            Reply::Array(
                items
                    .into_iter()
                    .map(|(m, s)| bulks(vec![m, fmt_score(s)]))
                    .collect(),
            ),
        ])),
        None => block(ctx, p.keys, timeout),
    }
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// Every argument but the first and the last (the timeout).
const ALL_BUT_TIMEOUT: Keys = Keys {
    first: 1,
    last: -2,
    step: 1,
};

/// The family's rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandDef] = &[
    cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_TIMEOUT, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop),
    cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_TIMEOUT, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop),
    cmd("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, Keys::TWO, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    cmd("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, Keys::TWO, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    cmd("blmpop", -5, WRITE | BLOCKING, Keys::NONE, "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
    cmd("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, ALL_BUT_TIMEOUT, "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmin),
    cmd("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, ALL_BUT_TIMEOUT, "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped.", bzpopmax),
    cmd("bzmpop", -5, WRITE | BLOCKING, Keys::NONE, "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzmpop),
];

#[cfg(test)]
mod tests {
    use super::parse_timeout;
    use std::time::Duration;

    #[test]
    fn timeouts_as_redis() {
        assert_eq!(parse_timeout(b"0").ok(), Some(None));
        assert_eq!(
            parse_timeout(b"0.5").ok(),
            Some(Some(Duration::from_millis(500)))
        );
        assert_eq!(
            parse_timeout(b"0.0001").ok(),
            Some(Some(Duration::from_millis(1)))
        );
        assert_eq!(parse_timeout(b"-0.0001").ok(), Some(None));
        for (arg, msg) in [
            (&b"x"[..], "ERR timeout is not a float or out of range"),
            (b"nan", "ERR timeout is not a float or out of range"),
            (b" 1", "ERR timeout is not a float or out of range"),
            (b"-1", "ERR timeout is negative"),
            (b"inf", "ERR timeout is negative"),
            (b"1e400", "ERR timeout is negative"),
        ] {
            assert_eq!(
                parse_timeout(arg).err().map(|e| e.to_string()).as_deref(),
                Some(msg),
                "{arg:?}"
            );
        }
    }
}
