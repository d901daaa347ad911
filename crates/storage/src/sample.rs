//! Random sampling of keys on disk, for eviction at the data cap. (Stub: to be implemented.)
