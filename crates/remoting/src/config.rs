//! `ServerConfig`: the limits every listening remoting port enforces (RocketMQ's `NettyServerConfig`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Limits of a remoting server. Every field is read from the broker's properties file (and
/// the name server's) under the RocketMQ-style key named in its doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `serverChannelMaxIdleTimeSeconds` (RocketMQ's key and default, 120): a connection with
    /// no traffic either way for this long is closed. 0 disables the check.
    pub channel_max_idle_time_seconds: u64,
    /// `serverFrameReadTimeoutMillis` (default 30 000): a frame whose first byte arrived must
    /// be complete within this time, or the connection is closed. 0 disables the check.
    pub frame_read_timeout_millis: u64,
    /// `serverMaxConnections`: connections beyond this are closed as soon as they are accepted.
    /// 0 (the default) derives the cap from the process's open-file limit, keeping
    /// [`FD_RESERVE`] descriptors for store files and outbound connections.
    pub max_connections: usize,
    /// `serverPartialFrameBytesLimit` (default 128 MiB): bytes buffered for frames that have
    /// started but not finished, across all connections of the server. A connection whose
    /// frame would exceed it is closed.
    pub partial_frame_bytes_limit: usize,
    /// `serverMaxRequestsPerConnection` (default 4096): requests of one connection being
    /// processed at once; the excess is answered SYSTEM_BUSY.
    pub max_requests_per_connection: usize,
}

/// Descriptors kept free for files and outbound connections when the connection cap is derived
/// from the open-file limit.
pub const FD_RESERVE: usize = 256;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            channel_max_idle_time_seconds: 120,
            frame_read_timeout_millis: 30_000,
            max_connections: 0,
            partial_frame_bytes_limit: 128 * 1024 * 1024,
            max_requests_per_connection: 4096,
        }
    }
}

impl ServerConfig {
    /// The idle timeout, if enabled.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.channel_max_idle_time_seconds > 0)
            .then(|| Duration::from_secs(self.channel_max_idle_time_seconds))
    }

    /// The deadline to finish a started frame, if enabled.
    pub fn frame_deadline(&self) -> Option<Duration> {
        (self.frame_read_timeout_millis > 0)
            .then(|| Duration::from_millis(self.frame_read_timeout_millis))
    }

    /// The connection cap in force: `max_connections`, or derived from the open-file limit.
    pub fn effective_max_connections(&self) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        match rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
            Some(limit) => (limit as usize).saturating_sub(FD_RESERVE).max(16),
            None => usize::MAX,
        }
    }
}

/// Bytes of partial frames buffered across the connections of one server.
#[derive(Debug)]
pub(crate) struct PartialFrameBudget {
    limit: usize,
    used: AtomicUsize,
}

impl PartialFrameBudget {
    pub(crate) fn new(limit: usize) -> Self {
        PartialFrameBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `n` bytes from the budget; false (and nothing taken) when that would exceed it.
    pub(crate) fn try_charge(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives `n` bytes back.
    pub(crate) fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes currently charged.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_what_would_exceed_it_and_takes_nothing() {
        let b = PartialFrameBudget::new(100);
        assert!(b.try_charge(60));
        assert!(!b.try_charge(41));
        assert_eq!(b.used(), 60);
        assert!(b.try_charge(40));
        b.release(100);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn defaults_are_rocketmq_s_and_the_cap_follows_the_fd_limit() {
        let c = ServerConfig::default();
        assert_eq!(c.idle_timeout(), Some(Duration::from_secs(120)));
        assert!(c.effective_max_connections() >= 16);
        let fixed = ServerConfig {
            max_connections: 10,
            channel_max_idle_time_seconds: 0,
            ..c
        };
        assert_eq!(fixed.effective_max_connections(), 10);
        assert_eq!(fixed.idle_timeout(), None);
    }
}
