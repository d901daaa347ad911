//! Integration tests of the zset family (normal and cold mode).
