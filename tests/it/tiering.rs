//! Hot-tier budget and idle eviction, end to end. (To be written.)
