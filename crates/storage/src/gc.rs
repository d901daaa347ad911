//! Reclaims the elements of collection versions that no longer exist.
//!
//! DEL, an overwrite or an expiry of a collection writes only its metadata record, so it is O(1)
//! whatever the collection's size. The element records of the old version stay behind until a
//! compaction passes over them; this filter then asks the metadata family whether their version
//! is still the key's current one, and drops them when it is not. Versions are never reused, so
//! an element whose version is not current can never become visible again.

use std::ffi::{CStr, CString};
use std::sync::{Arc, OnceLock, Weak};

use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::DB;

use crate::codec::{meta_key, split_elem_key, CollHeader, Kind, Record};
use crate::{now_ms, Cf};

/// Filled in once the database is open (the factory is built before it).
pub(crate) type DbSlot = Arc<OnceLock<Weak<DB>>>;

pub(crate) struct ElemGcFactory {
    pub db: DbSlot,
    name: CString,
}

impl ElemGcFactory {
    pub fn new(db: DbSlot) -> Self {
        ElemGcFactory {
            db,
            name: c"strata.elements".to_owned(),
        }
    }
}

impl CompactionFilterFactory for ElemGcFactory {
    type Filter = ElemGc;

    fn create(&mut self, _ctx: CompactionFilterContext) -> ElemGc {
        ElemGc {
            db: self.db.get().and_then(Weak::upgrade),
            last: None,
            name: self.name.clone(),
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// One compaction's filter. Elements of one version are adjacent, so the decision for the
/// previous prefix is kept and most records cost no lookup.
pub(crate) struct ElemGc {
    /// Held for one compaction; `Storage`'s drop waits for compactions before closing.
    db: Option<Arc<DB>>,
    last: Option<(Vec<u8>, bool)>,
    name: CString,
}

impl ElemGc {
    fn is_current(db: &DB, phys: u16, key: &[u8], version: u64) -> bool {
        let Some(meta) = db.cf_handle(Cf::Meta.name()) else {
            return true;
        };
        match db.get_pinned_cf(meta, meta_key(phys, key)) {
            Ok(Some(raw)) => match Record::decode(&raw) {
                Ok(rec) if rec.kind == Kind::String => false,
                Ok(rec) => {
                    let expired = rec.expire_ms != 0 && rec.expire_ms <= now_ms();
                    CollHeader::decode(&rec.body).map_or(true, |h| h.version == version) && !expired
                }
                // Never drop data on a record we cannot read.
                Err(_) => true,
            },
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

impl CompactionFilter for ElemGc {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        let Some(db) = &self.db else {
            return Decision::Keep;
        };
        if let Some((prefix, keep)) = &self.last {
            if key.starts_with(prefix) {
                return if *keep {
                    Decision::Keep
                } else {
                    Decision::Remove
                };
            }
        }
        let Some((phys, ukey, version)) = split_elem_key(key) else {
            return Decision::Keep;
        };
        let keep = Self::is_current(db, phys, ukey, version);
        self.last = Some((key[..14 + ukey.len()].to_vec(), keep));
        if keep {
            Decision::Keep
        } else {
            Decision::Remove
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}
