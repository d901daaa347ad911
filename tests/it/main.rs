//! Strata's integration tests: one binary (RocksDB links once) that starts the real
//! `strata-server` on free ports with temporary data dirs.

mod cap;
mod clients;
mod config;
mod coverage;
mod differential;
mod durability;
mod introspection;
mod protocol;
mod tiering;
mod util;
