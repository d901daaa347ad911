//! Warm-up after a restart: loading a database's keys into the memory tier in the background,
//! so that the tier is complete again (see `hot`, *Completeness*) when the data set fits it.
//! The server runs it only with `hot-warmup yes`: by default start-up never loads the data set.
//!
//! A restart serves requests at once from disk; meanwhile the warm-up pages through the
//! database's metadata records. For each key it takes the key's lock, and unless memory already
//! holds the key (a command loaded or wrote it), reads the key's current record and caches it;
//! a record the page showed but that has since gone is skipped. Expired records are cached too,
//! so that the command that next touches one removes it with exact counters, as it would from
//! disk.
//!
//! Why the tier is then complete: a key on disk when the warm-up ends was either on disk when
//! its page was read, so the warm-up found it in memory or cached it under its lock, or written
//! later, by a command that put it in memory after its write. Either way it left memory since
//! only through a departure (the evictor, TIER DROP, the admission ceiling), and every
//! departure changes the state word the warm-up compares at the end. A warm-up that would take
//! the tier past most of its budget stops and leaves the map incomplete.

use bytes::Bytes;

use crate::hot::charge;
use crate::{Keyspace, Result};

/// Keys read per page of the metadata scan.
const PAGE: usize = 256;

/// The part of the budget a warm-up may fill: it must not wake the evictor, whose first
/// departure would undo it.
const FILL_NUM: u64 = 9;
const FILL_DEN: u64 = 10;

/// A guess at a cached key's cost beyond its logical bytes (entry, headers, size classes), for
/// the check before a warm-up starts. The check per key is exact.
const PER_KEY_GUESS: u64 = 96;

/// How a warm-up of one database ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmOutcome {
    /// The map holds every key of the database.
    Complete {
        /// Keys read from disk (the others were in memory already).
        loaded: u64,
    },
    /// The map was complete already, or the database is empty.
    NothingToDo,
    /// The data set does not fit the part of the budget a warm-up may fill.
    TooBig,
    /// An entry left the map while it ran, or loading would have passed the budget.
    Abandoned {
        /// Keys read from disk; they stay cached.
        loaded: u64,
    },
}

impl Keyspace {
    /// Loads physical database `phys` into the memory tier and declares its map complete, when
    /// the data set fits (see the module notes). Blocks: run it on a blocking thread.
    pub fn warm_up(&self, phys: u16) -> Result<WarmOutcome> {
        let (hot, storage) = (&self.hot, &self.storage);
        let Some(state) = hot.incomplete_state(phys) else {
            return Ok(WarmOutcome::NothingToDo);
        };
        let keys = storage.key_count(phys);
        if keys == 0 {
            return Ok(WarmOutcome::NothingToDo);
        }
        let room = hot.budget() / FILL_DEN * FILL_NUM;
        let guess = storage.data_bytes(phys) + keys * PER_KEY_GUESS;
        if hot.used_bytes() as u64 + guess > room {
            return Ok(WarmOutcome::TooBig);
        }
        let mut loaded = 0;
        let mut after: Option<Bytes> = None;
        loop {
            let (page, last) = storage.scan(phys, after.as_deref(), PAGE)?;
            for (key, _) in &page {
                if hot.incomplete_state(phys) != Some(state) {
                    return Ok(WarmOutcome::Abandoned { loaded });
                }
                let Some(_locks) = self.lock_one(phys, key) else {
                    return Ok(WarmOutcome::Abandoned { loaded });
                };
                if hot.peek(phys, key).is_some() {
                    continue;
                }
                let Some(rec) = storage.get(phys, key)? else {
                    continue;
                };
                if hot.used_bytes() as u64 + charge(key, &rec) as u64 > room {
                    return Ok(WarmOutcome::Abandoned { loaded });
                }
                hot.put(phys, key, &rec);
                loaded += 1;
            }
            if last {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
        }
        Ok(if hot.set_complete_if(phys, state) {
            WarmOutcome::Complete { loaded }
        } else {
            WarmOutcome::Abandoned { loaded }
        })
    }
}
