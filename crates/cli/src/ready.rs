//! The single stdout line that tells scripts a server can take clients.

use std::io::Write;

/// Prints `line` to stdout and flushes, so a reader on a pipe sees it at once.
pub fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    // stdout closed by the parent is not a reason to stop serving
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    tracing::info!("{line}");
}
