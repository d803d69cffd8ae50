//! `ClientHousekeepingService`: forgets clients whose connection closed or went silent.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_remoting::Channel;

use super::{ConsumerManager, ProducerManager};

/// How often silent channels are looked for (RocketMQ scans every 10 s).
pub const SCAN_INTERVAL: Duration = Duration::from_secs(10);

/// Removes dead clients from the consumer and producer tables.
pub struct ClientHousekeepingService {
    consumer_manager: Arc<ConsumerManager>,
    producer_manager: Arc<ProducerManager>,
    channel_expired_timeout: i64,
}

impl ClientHousekeepingService {
    /// A service dropping clients silent for `channel_expired_timeout` ms.
    pub fn new(
        consumer_manager: Arc<ConsumerManager>,
        producer_manager: Arc<ProducerManager>,
        channel_expired_timeout: u64,
    ) -> Self {
        ClientHousekeepingService {
            consumer_manager,
            producer_manager,
            channel_expired_timeout: channel_expired_timeout.min(i64::MAX as u64) as i64,
        }
    }

    /// A connection closed: its client leaves every group at once.
    pub fn on_channel_close(&self, channel: &Channel) {
        self.consumer_manager.do_channel_close_event(channel);
        self.producer_manager.do_channel_close_event(channel);
    }

    /// One scan for silent clients.
    pub fn scan_exception_channel(&self) {
        self.consumer_manager
            .scan_not_active_channel(self.channel_expired_timeout);
        self.producer_manager
            .scan_not_active_channel(self.channel_expired_timeout);
    }

    /// Scans every [`SCAN_INTERVAL`] until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(SCAN_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.scan_exception_channel();
        }
    }
}
