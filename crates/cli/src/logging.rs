//! Logging to stderr with `tracing-subscriber`.
//!
//! The filter comes from, first to last: `--log-level`, `RUST_LOG`, the broker config's `logLevel`,
//! then `info`. Lifecycle events (listening, registered, recovered, shutdown) log at info;
//! per-request and per-message detail is at debug and below, so info stays quiet under load.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The filter used when nothing else is given.
const DEFAULT_FILTER: &str = "info";

struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The flag or the environment chose the filter: the config file must not override it.
    fixed: bool,
}

static CONTROL: OnceLock<LogControl> = OnceLock::new();

/// Installs the global subscriber with the filter from `--log-level` (`cli_level`) or `RUST_LOG`.
pub fn init(cli_level: Option<&str>) {
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let mut problem = None;
    let mut parse = |what: &str, spec: &str| match EnvFilter::try_new(spec) {
        Ok(f) => Some(f),
        Err(e) => {
            problem = Some(format!(
                "ignoring {what} ({spec}: {e}); logging at {DEFAULT_FILTER}"
            ));
            None
        }
    };
    let chosen = match (cli_level, env.as_deref()) {
        (Some(level), _) => parse("--log-level", level),
        (None, Some(spec)) => parse("RUST_LOG", spec),
        (None, None) => None,
    };
    let fixed = chosen.is_some();
    let (filter, handle) =
        reload::Layer::new(chosen.unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER)));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // a closed stderr (the reader went away) must not turn a clean shutdown into a panic:
        // the subscriber would otherwise report the failed write with eprintln!, which panics
        .log_internal_errors(false);
    tracing_subscriber::registry().with(filter).with(fmt).init();
    let _ = CONTROL.set(LogControl { handle, fixed });
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// Applies the config file's `logLevel` unless `--log-level` or `RUST_LOG` already chose one.
/// The value was validated when the file was read.
pub fn apply_config_level(level: Option<&str>) {
    let (Some(level), Some(control)) = (level, CONTROL.get()) else {
        return;
    };
    if control.fixed {
        tracing::info!(
            log_level = level,
            "logLevel from the config file ignored: --log-level or RUST_LOG set the filter"
        );
        return;
    }
    match EnvFilter::try_new(level) {
        Ok(filter) => {
            if control.handle.reload(filter).is_ok() {
                tracing::info!(log_level = level, "log filter from the config file");
            }
        }
        Err(e) => tracing::warn!("ignoring logLevel ({level}: {e})"),
    }
}
