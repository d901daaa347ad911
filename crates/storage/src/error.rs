//! The storage layer's one error type. The server maps it to Redis error text in one place.

/// A failure below the keyspace: RocksDB itself, or a record that fails its checks.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB returned an error (I/O, disk full, corruption it detected).
    #[error("storage engine error: {0}")]
    Engine(#[from] rocksdb::Error),
    /// A record's checksum or layout did not verify: the bytes on disk are not what was written.
    #[error("corrupt record: {0}")]
    Corrupt(&'static str),
    /// Writes were refused because an earlier write failed; the server is read-only until restart.
    #[error("storage is read-only after a write error: {0}")]
    ReadOnly(String),
}

/// Shorthand for storage results.
pub type Result<T> = std::result::Result<T, StorageError>;
