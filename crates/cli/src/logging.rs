//! Logging to stderr with `tracing-subscriber`; the level comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Lifecycle events (listening, registered, shutdown) log at
/// info; per-request detail is at debug and below.
pub fn init() {
    let (filter, bad_directive) = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new("info"), Some(format!("{spec}: {e}"))),
        },
        _ => (EnvFilter::new("info"), None),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // a closed stderr (the reader went away) must not turn a clean shutdown into a panic:
        // the subscriber would otherwise report the failed write with eprintln!, which panics
        .log_internal_errors(false)
        .init();
    if let Some(problem) = bad_directive {
        tracing::warn!("ignoring RUST_LOG ({problem}); logging at info");
    }
}
