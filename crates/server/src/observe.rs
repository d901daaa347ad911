//! Observability: per-command statistics and latency histograms (INFO commandstats,
//! latencystats, errorstats, LATENCY HISTOGRAM), the slow log, the latency monitor, MONITOR's
//! stream and CLIENT PAUSE.
//!
//! The connection calls [`before`] and [`Observe::after`] around each command it reads, so the
//! commands EXEC runs are not recorded one by one (EXEC is), and a command queued inside MULTI
//! is not recorded when queued. Everything here is lock-light: per-command counters are atomics
//! in a `DashMap`, the settings are atomics, and the slow log, error and latency-event tables
//! are only locked when there is something to record.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use strata_commands::{flags, CmdError, CommandDef, Session};
use strata_resp::Reply;
use tokio::sync::broadcast;

use crate::config::Config;

/// Histogram buckets: values below 32 µs exactly, then 16 sub-buckets per power of two.
const BUCKETS: usize = 32 + 59 * 16;

fn bucket(us: u64) -> usize {
    if us < 32 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize;
    let sub = ((us >> (e - 4)) & 15) as usize;
    32 + (e - 5) * 16 + sub
}

/// Lowest and highest value of a bucket.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < 32 {
        return (i as u64, i as u64);
    }
    let e = (i - 32) / 16 + 5;
    let sub = ((i - 32) % 16) as u64;
    let lo = (16 + sub) << (e - 4);
    (lo, lo + (1u64 << (e - 4)) - 1)
}

/// One command's counters.
struct CmdStat {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    hist: Box<[AtomicU64]>,
}

impl CmdStat {
    fn new() -> CmdStat {
        CmdStat {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            hist: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn counts(&self) -> Vec<u64> {
        self.hist
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// The value at percentile `p` (0..=100), as the highest value of its bucket.
fn percentile(counts: &[u64], p: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut cum = 0;
    for (i, c) in counts.iter().enumerate() {
        cum += c;
        if cum >= rank {
            return bucket_range(i).1.max(1);
        }
    }
    0
}

/// One slow log entry.
struct SlowEntry {
    id: u64,
    time: u64,
    micros: u64,
    args: Vec<Bytes>,
    addr: String,
    name: Bytes,
}

#[derive(Default)]
struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// A latency monitor event: up to 160 samples, one per second, and the all-time max.
#[derive(Default)]
struct LatencyEvent {
    samples: VecDeque<(u64, u64)>,
    max: u64,
}

#[derive(Default, Clone, Copy)]
struct Pause {
    until: Option<Instant>,
    all: bool,
}

/// What the connection learns about a request before running it.
pub(crate) struct Before {
    /// The command (the subcommand for containers), if it resolves.
    pub def: Option<&'static CommandDef>,
    /// The request is refused before running (unknown, arity, auth).
    pub rejected: bool,
    /// How long it ran: timed by its pipeline group's run (which ends later than it does), or
    /// by the connection when it runs alone. Decoding reads no clock.
    pub took: std::time::Duration,
}

/// Server-wide observability state.
pub struct Observe {
    /// Keyed by our own command names: aHash, not SipHash, on this per-command path.
    cmds: DashMap<&'static str, Arc<CmdStat>, ahash::RandomState>,
    errors: Mutex<BTreeMap<String, u64>>,
    slowlog: Mutex<SlowLog>,
    latency: Mutex<BTreeMap<&'static str, LatencyEvent>>,
    monitor: broadcast::Sender<Bytes>,
    paused: AtomicBool,
    pause: Mutex<Pause>,
    unpause: tokio::sync::Notify,
    slower_than: AtomicI64,
    max_len: AtomicU64,
    tracking: AtomicBool,
    monitor_threshold: AtomicU64,
}

impl Default for Observe {
    fn default() -> Self {
        Observe {
            cmds: DashMap::default(),
            errors: Mutex::new(BTreeMap::new()),
            slowlog: Mutex::new(SlowLog::default()),
            latency: Mutex::new(BTreeMap::new()),
            monitor: broadcast::channel(16 * 1024).0,
            paused: AtomicBool::new(false),
            pause: Mutex::new(Pause::default()),
            unpause: tokio::sync::Notify::new(),
            slower_than: AtomicI64::new(10_000),
            max_len: AtomicU64::new(128),
            tracking: AtomicBool::new(true),
            monitor_threshold: AtomicU64::new(0),
        }
    }
}

/// The table entry a request runs: the subcommand for a container.
fn sub_of(def: &'static CommandDef, args: &[Bytes]) -> Option<&'static CommandDef> {
    def.effective(args)
}

/// What the statistics need of a request before it runs, from its resolution
/// (`strata_commands::prepare`).
pub(crate) fn before(resolved: &Result<&'static CommandDef, CmdError>, args: &[Bytes]) -> Before {
    let (top, rejected) = match resolved {
        Ok(d) => (Some(*d), false),
        Err(_) => (args.first().and_then(|n| strata_commands::lookup(n)), true),
    };
    Before {
        def: top.and_then(|d| sub_of(d, args)),
        rejected,
        took: std::time::Duration::ZERO,
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Redis's `sdscatrepr`: a quoted string with C escapes.
pub fn repr(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'"');
    for &c in b {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Arguments as MONITOR and the slow log show them: AUTH's and HELLO ... AUTH's credentials
/// become `(redacted)`.
fn redacted(def: &CommandDef, args: &[Bytes]) -> Vec<Bytes> {
    let red = Bytes::from_static(b"(redacted)");
    let mut v = args.to_vec();
    match def.name {
        "auth" => v.iter_mut().skip(1).for_each(|a| *a = red.clone()),
        "hello" => {
            let mut i = 2;
            while i < v.len() {
                if v[i].eq_ignore_ascii_case(b"AUTH") {
                    for a in v.iter_mut().skip(i + 1).take(2) {
                        *a = red.clone();
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        _ => {}
    }
    v
}

fn float_text(f: f64) -> String {
    let s = format!("{f:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Observe {
    /// Reads the settings the per-command path uses (at start and after CONFIG SET).
    pub fn configure(&self, c: &Config) {
        let slower = c.get("slowlog-log-slower-than").parse().unwrap_or(-1);
        self.slower_than.store(slower, Ordering::Relaxed);
        self.max_len
            .store(c.get_u64("slowlog-max-len"), Ordering::Relaxed);
        self.tracking
            .store(c.get("latency-tracking") == "yes", Ordering::Relaxed);
        self.monitor_threshold
            .store(c.get_u64("latency-monitor-threshold"), Ordering::Relaxed);
        let max = self.max_len.load(Ordering::Relaxed) as usize;
        self.slowlog.lock().entries.truncate(max);
    }

    /// Whether a CLIENT PAUSE is in force.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Whether the current pause holds this command back.
    fn holds(&self, def: Option<&CommandDef>) -> Option<Instant> {
        let p = *self.pause.lock();
        let until = p.until?;
        if Instant::now() >= until {
            return None;
        }
        let writes = def.is_some_and(|d| d.has(flags::WRITE) || d.has(flags::MAY_REPLICATE));
        (p.all || writes).then_some(until)
    }

    /// Whether a command would wait for the pause.
    pub(crate) fn must_wait(&self, def: Option<&CommandDef>) -> bool {
        self.is_paused() && self.holds(def).is_some()
    }

    /// Waits while CLIENT PAUSE holds this command back.
    pub(crate) async fn wait_pause(&self, def: Option<&CommandDef>) {
        loop {
            let n = self.unpause.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            let Some(until) = self.holds(def) else {
                return;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(until)) => {}
                _ = n => {}
            }
        }
    }

    /// CLIENT PAUSE: the longer deadline and the stricter mode win, as in Redis.
    pub fn pause(&self, ms: u64, all: bool) {
        let mut p = self.pause.lock();
        let until = Instant::now() + Duration::from_millis(ms);
        let active = p.until.is_some_and(|u| u > Instant::now());
        if active {
            p.all |= all;
            p.until = p.until.max(Some(until));
        } else {
            *p = Pause {
                until: Some(until),
                all,
            };
        }
        self.paused.store(true, Ordering::Release);
        drop(p);
        self.unpause.notify_waiters();
    }

    /// CLIENT UNPAUSE.
    pub fn unpause(&self) {
        *self.pause.lock() = Pause::default();
        self.paused.store(false, Ordering::Release);
        self.unpause.notify_waiters();
    }

    /// A receiver of MONITOR lines.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.monitor.subscribe()
    }

    /// Records a finished command: statistics, errors, slow log, latency monitor and MONITOR.
    pub(crate) fn after(
        &self,
        b: &Before,
        session: &Session,
        addr: &std::net::SocketAddr,
        args: &[Bytes],
        reply: &Reply,
    ) {
        let elapsed = b.took;
        let us = elapsed.as_micros() as u64;
        let err = match reply {
            Reply::Error(e) => Some(e),
            _ => None,
        };
        if let Some(e) = err {
            let prefix = e[..e.len().min(32)]
                .iter()
                .position(|&c| c == b' ')
                .map_or("ERR".to_string(), |p| {
                    String::from_utf8_lossy(&e[..p]).into_owned()
                });
            *self.errors.lock().entry(prefix).or_insert(0) += 1;
        }
        let Some(def) = b.def else {
            return;
        };
        // Queued inside MULTI: not run yet (EXEC runs it; see the module notes).
        if matches!(reply, Reply::Simple(s) if &s[..] == b"QUEUED") {
            return;
        }
        let rejected = b.rejected || err.is_some_and(|e| e.starts_with(b"OOM "));
        let stat = match self.cmds.get(def.name) {
            Some(s) => s.clone(),
            None => self
                .cmds
                .entry(def.name)
                .or_insert_with(|| Arc::new(CmdStat::new()))
                .clone(),
        };
        if rejected {
            stat.rejected.fetch_add(1, Ordering::Relaxed);
            return;
        }
        stat.calls.fetch_add(1, Ordering::Relaxed);
        stat.usec.fetch_add(us, Ordering::Relaxed);
        if err.is_some() {
            stat.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.tracking.load(Ordering::Relaxed) {
            stat.hist[bucket(us.max(1))].fetch_add(1, Ordering::Relaxed);
        }
        let slower = self.slower_than.load(Ordering::Relaxed);
        if slower >= 0 && us >= slower as u64 && !def.has(flags::SKIP_SLOWLOG) {
            self.slowlog_add(def, session, addr, args, us);
        }
        let threshold = self.monitor_threshold.load(Ordering::Relaxed);
        let ms = us / 1000;
        if threshold > 0 && ms >= threshold {
            let event = if def.has(flags::FAST) {
                "fast-command"
            } else {
                "command"
            };
            self.latency_add(event, ms);
        }
        if self.monitor.receiver_count() > 0
            && !def.has(flags::ADMIN)
            && !def.has(flags::SKIP_MONITOR)
        {
            let now = unix_now();
            let mut line = format!(
                "+{}.{:06} [{} {}]",
                now.as_secs(),
                now.subsec_micros(),
                session.db,
                addr
            )
            .into_bytes();
            for a in redacted(def, args) {
                line.push(b' ');
                repr(&mut line, &a);
            }
            line.extend_from_slice(b"\r\n");
            let _ = self.monitor.send(Bytes::from(line));
        }
    }

    fn slowlog_add(
        &self,
        def: &CommandDef,
        session: &Session,
        addr: &std::net::SocketAddr,
        args: &[Bytes],
        us: u64,
    ) {
        let all = redacted(def, args);
        let mut shown = Vec::with_capacity(all.len().min(32));
        for (i, a) in all.iter().enumerate() {
            if i == 31 && all.len() > 32 {
                shown.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    all.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut t = a[..128].to_vec();
                t.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                shown.push(Bytes::from(t));
            } else {
                shown.push(a.clone());
            }
        }
        let max = self.max_len.load(Ordering::Relaxed) as usize;
        let mut log = self.slowlog.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(SlowEntry {
            id,
            time: unix_now().as_secs(),
            micros: us,
            args: shown,
            addr: addr.to_string(),
            name: session.name.clone().unwrap_or_default(),
        });
        log.entries.truncate(max);
    }

    fn latency_add(&self, event: &'static str, ms: u64) {
        let now = unix_now().as_secs();
        let mut map = self.latency.lock();
        let e = map.entry(event).or_default();
        e.max = e.max.max(ms);
        match e.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(ms),
            _ => {
                e.samples.push_back((now, ms));
                if e.samples.len() > 160 {
                    e.samples.pop_front();
                }
            }
        }
    }

    /// SLOWLOG GET.
    pub fn slowlog_get(&self, count: Option<usize>) -> Reply {
        let log = self.slowlog.lock();
        let n = count.unwrap_or(usize::MAX);
        Reply::Array(
            log.entries
                .iter()
                .take(n)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.time as i64),
                        Reply::Int(e.micros as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::bulk(e.addr.clone()),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect(),
        )
    }

    /// SLOWLOG LEN.
    pub fn slowlog_len(&self) -> usize {
        self.slowlog.lock().entries.len()
    }

    /// SLOWLOG RESET (ids keep counting, as in Redis).
    pub fn slowlog_reset(&self) {
        self.slowlog.lock().entries.clear();
    }

    /// LATENCY LATEST.
    pub fn latency_latest(&self) -> Reply {
        let map = self.latency.lock();
        Reply::Array(
            map.iter()
                .filter_map(|(name, e)| {
                    let last = e.samples.back()?;
                    Some(Reply::Array(vec![
                        Reply::bulk(*name),
                        Reply::Int(last.0 as i64),
                        Reply::Int(last.1 as i64),
                        Reply::Int(e.max as i64),
                    ]))
                })
                .collect(),
        )
    }

    /// LATENCY HISTORY event.
    pub fn latency_history(&self, event: &[u8]) -> Reply {
        let map = self.latency.lock();
        let found = map.iter().find(|(n, _)| n.as_bytes() == event);
        Reply::Array(found.map_or_else(Vec::new, |(_, e)| {
            e.samples
                .iter()
                .map(|(t, ms)| Reply::Array(vec![Reply::Int(*t as i64), Reply::Int(*ms as i64)]))
                .collect()
        }))
    }

    /// LATENCY RESET [event ...]: returns how many events were reset.
    pub fn latency_reset(&self, events: &[Bytes]) -> usize {
        let mut map = self.latency.lock();
        if events.is_empty() {
            let n = map.len();
            map.clear();
            return n;
        }
        let mut n = 0;
        for ev in events {
            let key = map.keys().find(|k| k.as_bytes() == &ev[..]).copied();
            if let Some(k) = key {
                map.remove(k);
                n += 1;
            }
        }
        n
    }

    fn sorted(&self) -> Vec<(&'static str, Arc<CmdStat>)> {
        let mut v: Vec<_> = self
            .cmds
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// LATENCY HISTOGRAM [command ...]: cumulative counts at power-of-two microseconds.
    pub fn latency_histogram(&self, names: &[Bytes]) -> Reply {
        let wanted: Vec<String> = names
            .iter()
            .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase())
            .collect();
        let mut out = Vec::new();
        for (name, st) in self.sorted() {
            let hit = wanted.is_empty()
                || wanted.iter().any(|w| {
                    name == w || name.split_once('|').is_some_and(|(parent, _)| parent == w)
                });
            let counts = st.counts();
            let total: u64 = counts.iter().sum();
            if !hit || total == 0 {
                continue;
            }
            let mut hist = Vec::new();
            let mut prev = 0;
            let mut cum = 0;
            let mut i = 0;
            for k in 0..64u32 {
                let edge = 1u64 << k;
                while i < counts.len() && bucket_range(i).0 <= edge {
                    cum += counts[i];
                    i += 1;
                }
                if cum > prev {
                    hist.push(Reply::Int(edge as i64));
                    hist.push(Reply::Int(cum as i64));
                    prev = cum;
                }
                if cum == total {
                    break;
                }
            }
            out.push(Reply::bulk(name));
            out.push(Reply::Array(vec![
                Reply::bulk("calls"),
                Reply::Int(total as i64),
                Reply::bulk("histogram_usec"),
                Reply::Array(hist),
            ]));
        }
        Reply::Array(out)
    }

    /// CONFIG RESETSTAT: command, error and latency statistics.
    pub fn reset_stats(&self) {
        self.cmds.clear();
        self.errors.lock().clear();
    }

    /// INFO commandstats.
    pub(crate) fn commandstats(&self, out: &mut String) {
        for (name, st) in self.sorted() {
            let calls = st.calls.load(Ordering::Relaxed);
            let usec = st.usec.load(Ordering::Relaxed);
            let rejected = st.rejected.load(Ordering::Relaxed);
            let failed = st.failed.load(Ordering::Relaxed);
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let per = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n"
            );
        }
    }

    /// INFO errorstats.
    pub(crate) fn errorstats(&self, out: &mut String) {
        for (prefix, n) in self.errors.lock().iter() {
            let _ = write!(out, "errorstat_{prefix}:count={n}\r\n");
        }
    }

    /// INFO latencystats.
    pub(crate) fn latencystats(&self, config: &Config, out: &mut String) {
        let ps: Vec<f64> = config
            .get("latency-tracking-info-percentiles")
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        for (name, st) in self.sorted() {
            let counts = st.counts();
            if counts.iter().all(|&c| c == 0) {
                continue;
            }
            let fields: Vec<String> = ps
                .iter()
                .map(|&p| format!("p{}={:.3}", float_text(p), percentile(&counts, p) as f64))
                .collect();
            let _ = write!(
                out,
                "latency_percentiles_usec_{name}:{}\r\n",
                fields.join(",")
            );
        }
    }
}

/// The next MONITOR line, or never when the client is not monitoring.
pub(crate) async fn next_line(rx: &mut Option<broadcast::Receiver<Bytes>>) -> Bytes {
    let Some(rx) = rx else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(b) => return b,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Appends the MONITOR lines already waiting.
pub(crate) fn drain(rx: &mut Option<broadcast::Receiver<Bytes>>, out: &mut bytes::BytesMut) {
    let Some(rx) = rx else {
        return;
    };
    loop {
        match rx.try_recv() {
            Ok(b) => out.extend_from_slice(&b),
            Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut last = 0;
        for v in [
            1u64,
            5,
            31,
            32,
            33,
            47,
            48,
            100,
            1000,
            65_535,
            1 << 40,
            u64::MAX,
        ] {
            let b = bucket(v);
            assert!(b < BUCKETS, "{v}");
            assert!(b >= last);
            let (lo, hi) = bucket_range(b);
            assert!(lo <= v && v <= hi, "{v} not in {lo}..={hi}");
            last = b;
        }
        let counts: Vec<u64> = (0..BUCKETS).map(|i| u64::from(i == bucket(10))).collect();
        assert_eq!(percentile(&counts, 50.0), 10);
    }

    #[test]
    fn repr_escapes_like_redis() {
        let mut v = Vec::new();
        repr(&mut v, b"a\"b\n\x01\\");
        assert_eq!(v, b"\"a\\\"b\\n\\x01\\\\\"");
        assert_eq!(float_text(99.9), "99.9");
        assert_eq!(float_text(50.0), "50");
    }
}
