//! Integration tests of the set family (normal and cold mode).
