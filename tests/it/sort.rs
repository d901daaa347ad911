//! Integration tests of the sort family (normal and cold mode).
