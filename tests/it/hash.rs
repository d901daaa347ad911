//! Integration tests of the hash family (normal and cold mode).
