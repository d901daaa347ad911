//! What the criterion benches share (a folder, so cargo does not take it for a bench).

use std::time::Duration;

use criterion::Criterion;

/// Short runs: each bench takes a few seconds on 2 cores, so `cargo bench` stays quick.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
