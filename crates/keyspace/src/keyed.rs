//! A transaction's per-key entries (its pending states, its reads), found by key.
//!
//! Most commands touch a key or two, and a search of a short list beats any hash. But an MSET
//! or DEL of 50,000 keys searched every key before each one, twice: 4 s of a worker, with every
//! other client waiting. Past [`INDEX_FROM`] entries the list gets a hash index of positions.

use hashbrown::HashTable;

/// Entries searched without an index; past it, every entry is indexed.
const INDEX_FROM: usize = 32;

/// What an entry is keyed by: its physical db and key.
pub(crate) trait KeyOf {
    fn key_of(&self) -> (u16, &[u8]);
}

/// A list of entries with lookup by key. Entries are only appended, replaced in place or
/// cleared all at once, so an indexed position stays valid.
pub(crate) struct Keyed<T> {
    items: Vec<T>,
    /// Made when the list first grows past [`INDEX_FROM`] (every transaction makes lists, few
    /// need this), then kept, emptied, with the list.
    index: Option<Index>,
}

/// Positions in a [`Keyed`] list: none while the list is short, else all of them.
struct Index {
    table: HashTable<usize>,
    hasher: ahash::RandomState,
}

impl Index {
    fn hash(&self, (phys, key): (u16, &[u8])) -> u64 {
        self.hasher.hash_one((phys, key))
    }
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            items: Vec::new(),
            index: None,
        }
    }
}

impl<T: KeyOf> Keyed<T> {
    /// The index, if the list is long enough to have one.
    fn built(&self) -> Option<&Index> {
        self.index.as_ref().filter(|ix| !ix.table.is_empty())
    }

    /// The position of the entry of `key` in `phys`. Callers keep one entry per key, or
    /// (a group's reads, taken in from its members) equal ones.
    pub(crate) fn position(&self, phys: u16, key: &[u8]) -> Option<usize> {
        let Some(ix) = self.built() else {
            return self.items.iter().rposition(|e| e.key_of() == (phys, key));
        };
        let items = &self.items;
        ix.table
            .find(ix.hash((phys, key)), |&i| items[i].key_of() == (phys, key))
            .copied()
    }

    /// The entry of `key` in `phys`.
    pub(crate) fn get(&self, phys: u16, key: &[u8]) -> Option<&T> {
        self.position(phys, key).map(|i| &self.items[i])
    }

    /// The entry of `key` in `phys`, to change in place.
    pub(crate) fn get_mut(&mut self, phys: u16, key: &[u8]) -> Option<&mut T> {
        self.position(phys, key).map(|i| &mut self.items[i])
    }

    /// Appends `item`, indexing it (or the whole list, when it just grew past the threshold).
    pub(crate) fn push(&mut self, item: T) {
        self.items.push(item);
        if self.built().is_none() && self.items.len() <= INDEX_FROM {
            return;
        }
        let ix = self.index.get_or_insert_with(|| Index {
            table: HashTable::new(),
            hasher: ahash::RandomState::new(),
        });
        let items = &self.items;
        for i in ix.table.len()..items.len() {
            let h = ix.hash(items[i].key_of());
            let hasher = &ix.hasher;
            ix.table
                .insert_unique(h, i, |&j| hasher.hash_one(items[j].key_of()));
        }
    }

    /// Moves `other`'s entries after these, leaving `other` empty. Into an empty list it swaps
    /// the two, so a group's first member's containers become the group's.
    pub(crate) fn append(&mut self, other: &mut Keyed<T>) {
        if self.items.is_empty() {
            std::mem::swap(self, other);
            return;
        }
        for item in other.drain() {
            self.push(item);
        }
    }
}

impl<T> Keyed<T> {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// Takes every entry out, in order.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, T> {
        self.forget();
        self.items.drain(..)
    }

    pub(crate) fn clear(&mut self) {
        self.forget();
        self.items.clear();
    }

    fn forget(&mut self) {
        if let Some(ix) = &mut self.index {
            ix.table.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E(u16, Vec<u8>, u32);

    impl KeyOf for E {
        fn key_of(&self) -> (u16, &[u8]) {
            (self.0, &self.1)
        }
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    /// Lookups agree with a search of the list below and above the threshold, through
    /// replacements in place, appends (into an empty list and a full one) and clears.
    #[test]
    fn lookups_match_a_search_at_every_size() {
        let mut k: Keyed<E> = Keyed::default();
        for n in 0..200 {
            for i in 0..n.min(50) {
                assert_eq!(k.get(0, &key(i)).map(|e| e.2), Some(i as u32));
                assert!(k.get(1, &key(i)).is_none(), "another db's key");
            }
            assert!(k.get(0, &key(n)).is_none());
            k.push(E(0, key(n), n as u32));
        }
        if let Some(e) = k.get_mut(0, &key(150)) {
            e.2 = 7;
        }
        assert_eq!(k.get(0, &key(150)).map(|e| e.2), Some(7));
        let mut other: Keyed<E> = Keyed::default();
        for n in 200..260 {
            other.push(E(0, key(n), n as u32));
        }
        k.append(&mut other);
        assert_eq!(other.len(), 0);
        assert_eq!(k.len(), 260);
        assert!((0..260).all(|n| k.position(0, &key(n)).is_some()));
        assert_eq!(k.get(0, &key(259)).map(|e| e.2), Some(259));
        let mut empty: Keyed<E> = Keyed::default();
        empty.append(&mut k);
        assert_eq!(empty.get(0, &key(10)).map(|e| e.2), Some(10));
        assert_eq!(empty.drain().count(), 260);
        assert!(empty.get(0, &key(10)).is_none());
        empty.push(E(0, key(1), 1));
        assert_eq!(empty.get(0, &key(1)).map(|e| e.2), Some(1));
        empty.clear();
        assert!(empty.get(0, &key(1)).is_none());
    }
}
