//! Column families as a closed set, with their names in one table.

/// Every column family Strata opens. Adding one here is the only way to add one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// `phys_db | key` → type, expiry, size and (for strings) the value.
    Meta,
    /// `phys_db | key | version | field` → element records of collections.
    Sub,
    /// `phys_db | key | version | score | member`: the score order of sorted sets.
    Score,
    /// `phys_db | expire_ms | key` → logical size: active expiry and volatile sampling.
    Ttl,
    /// Exact counters (merge operands) and small server records such as the db map.
    Stats,
}

impl Cf {
    /// All families, in the order they are opened.
    pub const ALL: [Cf; 5] = [Cf::Meta, Cf::Sub, Cf::Score, Cf::Ttl, Cf::Stats];

    /// The on-disk name of the family.
    pub const fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Sub => "sub",
            Cf::Score => "score",
            Cf::Ttl => "ttl",
            Cf::Stats => "stats",
        }
    }
}
