//! Strata's integration tests: one binary (RocksDB links once) that starts the real
//! `strata-server` on free ports with temporary data dirs.

mod acl;
mod blocking;
mod cap;
mod clients;
mod config;
mod coverage;
mod differential;
mod durability;
mod hash;
mod introspection;
mod list;
mod notify;
mod observe;
mod pipeline;
mod protocol;
mod pubsub;
mod set;
mod sort;
mod tiering;
mod transaction;
mod util;
mod zset;
