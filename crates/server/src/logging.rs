//! Structured logs through `tracing`, with Redis's `loglevel` names and `logfile`.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{filter::LevelFilter, reload, Registry};

use crate::config::Config;

/// Changes the level at run time (CONFIG SET loglevel).
pub(crate) struct Handle(Option<reload::Handle<LevelFilter, Registry>>);

fn level(name: &str) -> LevelFilter {
    match name {
        "debug" => LevelFilter::DEBUG,
        "verbose" | "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

impl Handle {
    pub(crate) fn set_level(&self, name: &str) {
        if let Some(h) = &self.0 {
            let _ = h.modify(|f| *f = level(name));
        }
    }
}

/// Installs the global subscriber: stdout, or `logfile` when set.
pub(crate) fn init(c: &Config) -> Result<Handle, String> {
    let (filter, handle) = reload::Layer::new(level(&c.get("loglevel")));
    let file = c.get("logfile");
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let result = if file.is_empty() {
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init()
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .map_err(|e| format!("Can't open the log file {file}: {e}"))?;
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt.with_ansi(false).with_writer(std::sync::Mutex::new(f)))
            .try_init()
    };
    // A subscriber may already be installed (tests that run several servers in one process).
    Ok(Handle(result.ok().map(|_| handle)))
}
