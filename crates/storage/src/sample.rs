//! Random sampling of keys on disk, for eviction at the data cap.
//!
//! The data cap evicts keys that may never have been in memory, so every sample here is taken
//! from the on-disk families with a seek, never from the memory tier:
//!
//! - **Any key:** a seek into the `meta` range of a database at a probe drawn between the
//!   range's first and last keys (see [`probe_between`]), wrapping to the start when the probe
//!   falls past the last key.
//! - **Keys with a TTL:** a seek into the `ttl` range of a database at an expiry drawn uniformly
//!   between the earliest and the latest expiry of the range. The index is sorted by expiry, so
//!   the same family also yields the soonest expiries (`volatile-ttl`) with one seek.
//!
//! A seek lands on the first entry at or after the probe, so a key that follows a wide gap is
//! picked more often than one that follows a narrow gap; moving on by a random 0..8 entries
//! after the seek spreads that over the gap's neighbours. The samples are approximately, not
//! exactly, uniform, which is all an eviction policy needs (Redis's own sampling is
//! approximate too).
//!
//! A seek into a data set that lives on disk reads a block in every level, so one seek can
//! return a *run* of adjacent entries: the data cap evicts a few neighbours per seek rather
//! than paying a seek per key.
//!
//! The storage crate has no random number generator of its own: callers pass one in.

use bytes::Bytes;
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, DB};

use crate::codec::{db_end, parse_size_value, split_ttl_key, ttl_key};
use crate::{Cf, Result, Storage};

/// Probes never need to be longer than this: past it, a key's rank barely moves.
const MAX_PROBE: usize = 64;

/// A seek moves on by up to this many entries less one, so that the keys just after a wide gap
/// in the key space (which probes land on most) share that luck with their neighbours.
const SKIP_SPAN: u64 = 8;

/// A source of random numbers.
pub type Rnd<'a> = &'a mut dyn FnMut() -> u64;

/// A raw iterator over one database's range of a family.
type RangeIter<'a> = DBRawIteratorWithThreadMode<'a, DB>;

/// Read options bounded to `phys`'s range. They fill the block cache like any read: without it
/// every seek would read and decompress the index blocks again.
fn range_opts(phys: u16) -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_iterate_lower_bound(phys.to_be_bytes().to_vec());
    ro.set_iterate_upper_bound(db_end(phys));
    ro
}

/// A uniform draw between `a` and `b`, both included.
fn draw(rnd: Rnd<'_>, a: u64, b: u64) -> u64 {
    let (lo, hi) = (a.min(b), a.max(b));
    match (hi - lo).checked_add(1) {
        Some(span) => lo + rnd() % span,
        None => rnd(),
    }
}

/// A probe key drawn between `lo` and `hi` (`lo <= hi`): their common prefix, then a byte drawn
/// between their bytes at the first position where they differ, then bytes drawn from the range
/// of bytes that follow in either bound (so that keys such as `key:000123` are probed with
/// digits, not with bytes that sort past every key). The probe never sorts after `hi`.
pub fn probe_between(lo: &[u8], hi: &[u8], rnd: Rnd<'_>) -> Vec<u8> {
    let common = lo.iter().zip(hi).take_while(|(a, b)| a == b).count();
    let Some(&hi_byte) = hi.get(common) else {
        // `hi` is a prefix of `lo`, so (as lo <= hi) they are equal.
        return lo.to_vec();
    };
    let rest = lo[common..].iter().chain(&hi[common..]);
    let (amin, amax) = rest.fold((u8::MAX, 0), |(mn, mx), &b| (mn.min(b), mx.max(b)));
    let lo_byte = lo.get(common).copied().unwrap_or(amin).min(hi_byte);
    let len = lo.len().max(hi.len()).min(MAX_PROBE).max(common + 1);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&hi[..common]);
    out.push(draw(rnd, lo_byte.into(), hi_byte.into()) as u8);
    while out.len() < len {
        out.push(draw(rnd, amin.into(), amax.into()) as u8);
    }
    // Past `hi` the seek would wrap to the first key; `hi` itself is the fair landing place.
    if &out[..] > hi {
        return hi.to_vec();
    }
    out
}

/// The user key of a raw meta key, or None for a key outside `phys` (never expected).
fn user_key(phys: u16, raw: &[u8]) -> Option<&[u8]> {
    raw.strip_prefix(&phys.to_be_bytes()[..])
}

impl Storage {
    fn range_iter(&self, cf: Cf, phys: u16) -> RangeIter<'_> {
        self.db.raw_iterator_cf_opt(self.cf(cf), range_opts(phys))
    }

    /// The first and last raw keys of `phys`'s range in `cf`, or None when it is empty.
    fn range_ends(&self, cf: Cf, phys: u16) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let mut it = self.range_iter(cf, phys);
        it.seek(phys.to_be_bytes());
        let Some(first) = it.key().map(<[u8]>::to_vec) else {
            it.status()?;
            return Ok(None);
        };
        it.seek_to_last();
        let last = it.key().map_or_else(|| first.clone(), <[u8]>::to_vec);
        it.status()?;
        Ok(Some((first, last)))
    }

    /// Up to `n` consecutive entries of `phys`'s range of `cf`, starting `skip` entries past
    /// the first one at or after `probe`, and wrapping to the range's first entry when that
    /// start is past the last one. A run ends at the end of the range.
    fn seek_run(
        &self,
        cf: Cf,
        phys: u16,
        probe: &[u8],
        skip: u64,
        n: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut it = self.range_iter(cf, phys);
        it.seek(probe);
        for _ in 0..skip {
            if !it.valid() {
                break;
            }
            it.next();
        }
        if !it.valid() {
            it.status()?;
            it.seek(phys.to_be_bytes());
        }
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            out.push((k.to_vec(), v.to_vec()));
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// The first and last keys of `phys` (None: no keys), the bounds of [`Storage::sample_keys`].
    pub fn key_bounds(&self, phys: u16) -> Result<Option<(Bytes, Bytes)>> {
        Ok(self.range_ends(Cf::Meta, phys)?.and_then(|(a, b)| {
            let a = Bytes::copy_from_slice(user_key(phys, &a)?);
            let b = Bytes::copy_from_slice(user_key(phys, &b)?);
            Some((a, b))
        }))
    }

    /// The earliest and latest expiry in `phys`'s ttl index (None: no key has a TTL), the bounds
    /// of [`Storage::sample_ttls`].
    pub fn ttl_bounds(&self, phys: u16) -> Result<Option<(u64, u64)>> {
        Ok(self.range_ends(Cf::Ttl, phys)?.and_then(|(a, b)| {
            let (lo, _) = split_ttl_key(&a)?;
            let (hi, _) = split_ttl_key(&b)?;
            Some((lo, hi.max(lo)))
        }))
    }

    /// A run of up to `n` adjacent keys of `phys` at a random place, found with one seek at a
    /// probe drawn between `bounds` (from [`Storage::key_bounds`]; stale bounds only skew the
    /// draw). Reaches keys that are on disk only. Empty when `phys` has no keys.
    pub fn sample_keys(
        &self,
        phys: u16,
        bounds: (&[u8], &[u8]),
        n: usize,
        rnd: Rnd<'_>,
    ) -> Result<Vec<Bytes>> {
        let (lo, hi) = if bounds.0 <= bounds.1 {
            bounds
        } else {
            (bounds.1, bounds.0)
        };
        let mut probe = phys.to_be_bytes().to_vec();
        probe.extend_from_slice(&probe_between(lo, hi, &mut *rnd));
        let run = self.seek_run(Cf::Meta, phys, &probe, rnd() % SKIP_SPAN, n)?;
        Ok(run
            .iter()
            .filter_map(|(k, _)| user_key(phys, k).map(Bytes::copy_from_slice))
            .collect())
    }

    /// A run of up to `n` adjacent entries of `phys`'s ttl index at a random place, `(key,
    /// expire_ms, logical size)`, found with one seek at an expiry drawn between `bounds` (from
    /// [`Storage::ttl_bounds`]). Empty when no key of `phys` has a TTL.
    pub fn sample_ttls(
        &self,
        phys: u16,
        bounds: (u64, u64),
        n: usize,
        rnd: Rnd<'_>,
    ) -> Result<Vec<(Bytes, u64, u64)>> {
        let at = draw(&mut *rnd, bounds.0, bounds.1);
        let probe = ttl_key(phys, at, b"");
        let run = self.seek_run(Cf::Ttl, phys, &probe, rnd() % SKIP_SPAN, n)?;
        Ok(run
            .iter()
            .filter_map(|(k, v)| {
                let (exp, key) = split_ttl_key(k)?;
                Some((Bytes::copy_from_slice(key), exp, parse_size_value(v)))
            })
            .collect())
    }

    /// A random key of `phys` (None: it has none). Three seeks; callers that sample many keys
    /// keep the bounds and call [`Storage::sample_keys`].
    pub fn random_key(&self, phys: u16, rnd: Rnd<'_>) -> Result<Option<Bytes>> {
        match self.key_bounds(phys)? {
            Some((lo, hi)) => Ok(self.sample_keys(phys, (&lo, &hi), 1, rnd)?.pop()),
            None => Ok(None),
        }
    }

    /// A random entry of `phys`'s ttl index (None: no key has a TTL).
    pub fn random_ttl_entry(&self, phys: u16, rnd: Rnd<'_>) -> Result<Option<(Bytes, u64, u64)>> {
        match self.ttl_bounds(phys)? {
            Some(b) => Ok(self.sample_ttls(phys, b, 1, rnd)?.pop()),
            None => Ok(None),
        }
    }

    /// The first `limit` entries of `phys`'s ttl index, soonest expiry first, at or after
    /// `from_ms`: `(key, expire_ms, logical size)`.
    pub fn soonest_ttl(
        &self,
        phys: u16,
        from_ms: u64,
        limit: usize,
    ) -> Result<Vec<(Bytes, u64, u64)>> {
        let mut it = self.range_iter(Cf::Ttl, phys);
        it.seek(ttl_key(phys, from_ms, b""));
        let mut out = Vec::new();
        while out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if let Some((exp, key)) = split_ttl_key(k) {
                out.push((Bytes::copy_from_slice(key), exp, parse_size_value(v)));
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{Kind, Prev, Record, StorageOptions};

    /// A deterministic xorshift, so that the tests do not depend on luck.
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed.max(1);
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn put(s: &Storage, phys: u16, key: &[u8], expire_ms: u64) {
        let rec = Record {
            kind: Kind::String,
            expire_ms,
            body: Bytes::from_static(b"v"),
        };
        let mut b = s.batch();
        b.put(phys, key, &rec, key.len() as u64 + 1, None);
        b.commit().expect("commit");
    }

    #[test]
    fn probes_stay_between_their_bounds() {
        let mut rnd = xorshift(7);
        for (lo, hi) in [
            (&b"key:000000"[..], &b"key:099999"[..]),
            (b"", b"zzz"),
            (b"a", b"a"),
            (b"a", b"ab"),
            (b"\x00", b"\xff\xff"),
        ] {
            for _ in 0..200 {
                let p = probe_between(lo, hi, &mut rnd);
                assert!(&p[..] <= hi && p.len() <= MAX_PROBE.max(hi.len()), "{p:?}");
            }
        }
        // Numeric keys are probed with digits, so every leading digit is reached.
        let mut firsts = [0u32; 10];
        for _ in 0..1000 {
            let p = probe_between(b"key:000000", b"key:999999", &mut rnd);
            assert!(p[4..].iter().all(u8::is_ascii_digit), "{p:?}");
            firsts[(p[4] - b'0') as usize] += 1;
        }
        assert!(firsts.iter().all(|&n| n > 50), "{firsts:?}");
    }

    #[test]
    fn key_samples_cover_the_range_and_stay_in_their_db() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Storage::open(&StorageOptions::new(dir.path())).expect("open");
        for i in 0..1000u32 {
            put(&s, 1, format!("key:{i:06}").as_bytes(), 0);
        }
        // Neighbours that a sloppy bound would pick up: db 0's last key, db 2's empty key.
        put(&s, 0, b"\xff\xff", 0);
        put(&s, 2, b"", 0);
        assert_eq!(
            s.key_bounds(1).expect("bounds"),
            Some((Bytes::from("key:000000"), Bytes::from("key:000999")))
        );
        assert_eq!(
            s.key_bounds(2).expect("bounds"),
            Some((Bytes::new(), Bytes::new()))
        );
        assert_eq!(s.key_bounds(3).expect("bounds"), None);
        assert_eq!(s.random_key(3, &mut xorshift(1)).expect("sample"), None);
        let mut rnd = xorshift(99);
        let mut seen: HashMap<Bytes, u32> = HashMap::new();
        for _ in 0..2000 {
            let k = s.random_key(1, &mut rnd).expect("sample").expect("a key");
            assert!(k.starts_with(b"key:"), "{k:?}");
            *seen.entry(k).or_default() += 1;
        }
        assert!(seen.len() > 600, "only {} distinct keys", seen.len());
        assert!(
            seen.values().all(|&n| n < 40),
            "a key is picked far too often"
        );
        assert_eq!(
            s.random_key(2, &mut rnd).expect("sample"),
            Some(Bytes::new())
        );
        // Runs are adjacent keys in order, and end with the range.
        let bounds = s.key_bounds(1).expect("bounds").expect("keys");
        for _ in 0..100 {
            let run = s
                .sample_keys(1, (&bounds.0, &bounds.1), 4, &mut rnd)
                .expect("sample");
            assert!(!run.is_empty() && run.len() <= 4);
            let first: u32 = std::str::from_utf8(&run[0][4..])
                .expect("utf8")
                .parse()
                .expect("number");
            for (i, k) in run.iter().enumerate() {
                assert_eq!(k, &Bytes::from(format!("key:{:06}", first + i as u32)));
            }
            assert!(run.len() == 4 || first + run.len() as u32 == 1000);
        }
    }

    #[test]
    fn ttl_samples_find_only_volatile_keys_and_soonest_come_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Storage::open(&StorageOptions::new(dir.path())).expect("open");
        assert_eq!(s.ttl_bounds(0).expect("bounds"), None);
        for i in 0..100u64 {
            put(&s, 0, format!("p{i}").as_bytes(), 0);
            put(&s, 0, format!("v{i}").as_bytes(), 1_000_000 + i * 10);
        }
        put(&s, 1, b"other", 5);
        assert_eq!(
            s.ttl_bounds(0).expect("bounds"),
            Some((1_000_000, 1_000_990))
        );
        let mut rnd = xorshift(3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let (k, exp, size) = s
                .random_ttl_entry(0, &mut rnd)
                .expect("sample")
                .expect("an entry");
            assert!(k.starts_with(b"v") && exp >= 1_000_000 && size == k.len() as u64 + 1);
            seen.insert(k);
        }
        assert!(seen.len() > 80, "only {} distinct keys", seen.len());
        let first = s.soonest_ttl(0, 0, 3).expect("soonest");
        let exps: Vec<u64> = first.iter().map(|e| e.1).collect();
        assert_eq!(exps, vec![1_000_000, 1_000_010, 1_000_020]);
        assert_eq!(first[0].0, Bytes::from("v0"));
        assert_eq!(s.soonest_ttl(0, 1_000_985, 10).expect("soonest").len(), 1);
        // Deleted entries are not sampled.
        let mut b = s.batch();
        for i in 0..99u64 {
            let key = format!("v{i}");
            b.delete(
                0,
                key.as_bytes(),
                Prev {
                    expire_ms: 1_000_000 + i * 10,
                    size: key.len() as u64 + 1,
                },
            );
        }
        b.commit().expect("commit");
        for _ in 0..20 {
            let e = s.random_ttl_entry(0, &mut rnd).expect("sample");
            assert_eq!(e.map(|e| e.0), Some(Bytes::from("v99")));
        }
    }
}
