//! The data cap and its eviction policies, end to end. (To be written.)
