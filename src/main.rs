//! `strata-server`: takes its arguments as `redis-server` does:
//! `strata-server [/path/to/strata.conf] [--port 6380] [--dir ./data] [--any-config-key value]`.

use clap::Parser;
use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

/// A Redis-compatible, durable, tiered storage server.
#[derive(Parser)]
#[command(
    name = "strata-server",
    version,
    after_help = "Examples:\n  strata-server\n  strata-server --port 7777 --dir /var/lib/strata\n  \
                  strata-server strata.conf --appendfsync always\n\nEvery key is documented in redis.conf.example."
)]
struct Cli {
    /// An optional config file (redis.conf syntax), then `--config-key value` overrides.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CONFIG] [--KEY VALUE"
    )]
    args: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    std::process::exit(strata_server::run(cli.args));
}
