//! Keyspace events (`notify-keyspace-events`): the enabled classes, and the sink the server
//! wires to PUBLISH.
//!
//! The keyspace raises the events only it sees: `expired` (lazy and active expiry, including
//! keys only on disk), `evicted` (the data cap), `new` (a key created) and `keymiss` (a read
//! lookup that found nothing). A transaction queues them and raises them after its commit, in
//! the order they happened, so an event never announces a change that did not reach disk.
//! Commands raise their own events after committing. When a class is off, the cost is one
//! atomic load and a bit test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Event class bits, as Redis numbers them (`NOTIFY_*` in server.h).
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key misses.
    pub const KEY_MISS: u32 = 1 << 11;
    /// Module key-loaded events (no flag character).
    pub const LOADED: u32 = 1 << 12;
    /// `d`: module key-type events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: new keys.
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Where events go: `(enabled flags, logical db, event name, key)`.
pub type Sink = dyn Fn(u32, usize, &str, &[u8]) + Send + Sync;

/// The enabled classes and the sink.
#[derive(Default)]
pub struct Events {
    flags: AtomicU32,
    sink: OnceLock<Box<Sink>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("flags", &self.flags())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// The enabled class bits.
    #[inline]
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Replaces the enabled class bits (CONFIG SET notify-keyspace-events).
    pub fn set_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Whether events of `class` are published.
    #[inline]
    pub fn enabled(&self, class: u32) -> bool {
        self.flags() & class != 0
    }

    /// Installs the sink (once; later calls are ignored).
    pub fn set_sink(&self, sink: Box<Sink>) {
        let _ = self.sink.set(sink);
    }

    /// Raises one event if its class is enabled.
    pub fn emit(&self, class: u32, db: usize, event: &str, key: &[u8]) {
        let flags = self.flags();
        if flags & class == 0 {
            return;
        }
        if let Some(sink) = self.sink.get() {
            sink(flags, db, event, key);
        }
    }
}

/// An event a transaction raises after its commit.
pub(crate) struct Queued {
    pub class: u32,
    pub event: &'static str,
    pub db: usize,
    pub key: bytes::Bytes,
}
