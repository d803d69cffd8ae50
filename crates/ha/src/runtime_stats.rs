//! What `mqadmin haStatus` (GET_BROKER_HA_STATUS) shows about replication, measured by the HA
//! threads themselves: plain atomics they bump as they read and write, which a status request
//! only loads (RocketMQ keeps the same figures in `FlowMonitor`, `HAConnection` and `HAClient`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Bytes moved per wall-clock second (RocketMQ `FlowMonitor.getTransferredByteInSecond`).
///
/// RocketMQ runs a thread per connection that swaps a counter every second; here the thread
/// that moves the bytes rolls the one-second window itself when it notices a new second, so
/// no thread is needed. A reader sees the last complete second's total, or 0 once a whole
/// second passed without a transfer. Races between a roll and an add move a few bytes between
/// two adjacent seconds; the figure is a rate for operators, not an account.
#[derive(Debug, Default)]
pub struct FlowMonitor {
    /// The second (since the epoch) `current` counts.
    second: AtomicI64,
    /// Bytes in `second` so far.
    current: AtomicI64,
    /// Bytes in the second before `second` (0 when it had none).
    previous: AtomicI64,
}

impl FlowMonitor {
    /// Counts `bytes` moved now.
    pub fn add(&self, bytes: usize) {
        self.add_at(bytes as i64, now_millis() / 1000);
    }

    fn add_at(&self, bytes: i64, now_second: i64) {
        let second = self.second.load(Ordering::Acquire);
        if second != now_second
            && self
                .second
                .compare_exchange(second, now_second, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let finished = self.current.swap(0, Ordering::AcqRel);
            let previous = if now_second == second + 1 {
                finished
            } else {
                0
            };
            self.previous.store(previous, Ordering::Release);
        }
        self.current.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Bytes moved in the last complete second.
    pub fn transferred_byte_in_second(&self) -> i64 {
        self.in_second_at(now_millis() / 1000)
    }

    fn in_second_at(&self, now_second: i64) -> i64 {
        let second = self.second.load(Ordering::Acquire);
        if second == now_second {
            self.previous.load(Ordering::Acquire)
        } else if second + 1 == now_second {
            self.current.load(Ordering::Acquire)
        } else {
            0
        }
    }
}

/// The slave's HA client, as `HAClientRuntimeInfo` reports it.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Last bytes read from the master, ms since the epoch; 0 while not connected (RocketMQ
    /// clears it when the connection closes and sets it when one opens).
    pub(crate) last_read_timestamp: AtomicI64,
    /// Last offset report written to the master, ms since the epoch.
    pub(crate) last_write_timestamp: AtomicI64,
    /// Bytes received from the master.
    pub(crate) flow: FlowMonitor,
}

/// A snapshot of the slave's HA client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientRuntimeInfo {
    /// The master's HA address the client uses.
    pub master_address: Option<String>,
    /// Last bytes read from the master, ms since the epoch (0: not connected).
    pub last_read_timestamp: i64,
    /// Last offset report to the master, ms since the epoch (0: never).
    pub last_write_timestamp: i64,
    /// Bytes received in the last complete second.
    pub transferred_byte_in_second: i64,
}

/// A snapshot of one slave connection, seen from the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRuntimeInfo {
    /// The slave's socket address (its ephemeral port, as RocketMQ shows it).
    pub addr: SocketAddr,
    /// The slave's last report (-1 before the first one).
    pub slave_ack_offset: i64,
    /// Where the next frame to this slave starts (-1 before streaming starts).
    pub transfer_from_where: i64,
    /// Bytes sent to this slave in the last complete second.
    pub transferred_byte_in_second: i64,
    /// Last frame (data or heartbeat) written to this slave, ms since the epoch.
    pub last_write_timestamp: i64,
    /// Last report read from this slave, ms since the epoch.
    pub last_read_timestamp: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_last_complete_second() {
        let m = FlowMonitor::default();
        m.add_at(100, 10);
        m.add_at(50, 10);
        // during second 10 the last complete second (9) had nothing
        assert_eq!(m.in_second_at(10), 0);
        // in second 11 second 10 is complete
        assert_eq!(m.in_second_at(11), 150);
        m.add_at(7, 11);
        assert_eq!(m.in_second_at(11), 150);
        assert_eq!(m.in_second_at(12), 7);
        // an idle second reads 0
        assert_eq!(m.in_second_at(13), 0);
        // a gap drops the old total
        m.add_at(1, 20);
        assert_eq!(m.in_second_at(20), 0);
        assert_eq!(m.in_second_at(21), 1);
    }
}
