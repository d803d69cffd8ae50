//! The `ServerConfig` keys (RocketMQ's `NettyServerConfig`) of a broker or name server
//! properties file: the limits of a listening remoting port.

use ferrocket_remoting::ServerConfig;

use super::keys::{at_least, config_keys, integer, ConfigKey};

/// Every `ServerConfig` key Ferrocket reads, with its parser.
pub const SERVER_KEYS: &[ConfigKey<ServerConfig>] = config_keys!(ServerConfig;
    "serverChannelMaxIdleTimeSeconds" => channel_max_idle_time_seconds: integer::<u64>,
    "serverFrameReadTimeoutMillis" => frame_read_timeout_millis: integer::<u64>,
    "serverMaxConnections" => max_connections: integer::<usize>,
    "serverPartialFrameBytesLimit" => partial_frame_bytes_limit: at_least(64usize * 1024),
    "serverMaxRequestsPerConnection" => max_requests_per_connection: at_least(1usize),
);
