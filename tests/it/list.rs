//! Integration tests of the list family (normal and cold mode).
