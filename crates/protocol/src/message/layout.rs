//! The stored-record layout (commit log, pull bodies) and its encoder.
//!
//! The store needs the record length before it takes the put lock and fills in the physical
//! offset, queue offset and store timestamp only inside it, so encoding is split into
//! [`StoredMessageLayout`] (sizes) and [`encode_stored_record_into`] (one pass into the
//! destination, typically the mapped file itself).

use std::net::{IpAddr, SocketAddr};

use super::error::MessageEncodeError;
use super::sys_flag::{BORNHOST_V6, STOREHOST_V6};
use super::{BLANK_MAGIC, MAGIC_V1, MAGIC_V2};

/// Bytes of every fixed field of a V1 record with IPv4 hosts and one-byte topic length.
pub const V1_FIXED_OVERHEAD: usize = 91;
/// The longest topic a V1 record can hold; longer ones use V2.
pub const V1_MAX_TOPIC_LEN: usize = 127;
/// The longest properties string a record can hold (signed short length).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;
/// The longest topic a V2 record can hold (signed short length).
pub const MAX_TOPIC_LEN: usize = i16::MAX as usize;

/// The record format, selected by the magic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageVersion {
    /// One-byte topic length.
    V1,
    /// Two-byte topic length.
    V2,
}

impl MessageVersion {
    /// The version RocketMQ stores a topic of `topic_len` bytes with.
    pub fn for_topic_len(topic_len: usize) -> Self {
        if topic_len > V1_MAX_TOPIC_LEN {
            MessageVersion::V2
        } else {
            MessageVersion::V1
        }
    }

    /// The version with this magic code.
    pub fn from_magic(magic: i32) -> Option<Self> {
        match magic {
            MAGIC_V1 => Some(MessageVersion::V1),
            MAGIC_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }

    /// The magic code written at offset 4.
    pub fn magic(self) -> i32 {
        match self {
            MessageVersion::V1 => MAGIC_V1,
            MessageVersion::V2 => MAGIC_V2,
        }
    }

    /// Size of the topic length field.
    pub fn topic_length_size(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }
}

/// Encoded size of a host: address bytes plus a 4-byte port.
pub fn host_len(v6: bool) -> usize {
    if v6 {
        20
    } else {
        8
    }
}

/// `sys_flag` with the IPv6 bits matching the two hosts.
pub fn sys_flag_for_hosts(sys_flag: i32, born_host: &SocketAddr, store_host: &SocketAddr) -> i32 {
    let mut f = sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
    if born_host.is_ipv6() {
        f |= BORNHOST_V6;
    }
    if store_host.is_ipv6() {
        f |= STOREHOST_V6;
    }
    f
}

/// The sizes of one stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMessageLayout {
    version: MessageVersion,
    born_v6: bool,
    store_v6: bool,
    body_len: usize,
    topic_len: usize,
    properties_len: usize,
    total_size: usize,
}

impl StoredMessageLayout {
    /// Checks the variable parts against the field widths and computes the total size.
    pub fn new(
        body_len: usize,
        topic_len: usize,
        properties_len: usize,
        born_v6: bool,
        store_v6: bool,
    ) -> Result<Self, MessageEncodeError> {
        if topic_len > MAX_TOPIC_LEN {
            return Err(MessageEncodeError::TopicTooLong(topic_len));
        }
        if properties_len > MAX_PROPERTIES_LEN {
            return Err(MessageEncodeError::PropertiesTooLong(properties_len));
        }
        let version = MessageVersion::for_topic_len(topic_len);
        // 74 bytes of fields whose width never varies
        let fixed = V1_FIXED_OVERHEAD - 2 * host_len(false) - 1
            + host_len(born_v6)
            + host_len(store_v6)
            + version.topic_length_size();
        let total_size = fixed + topic_len + properties_len;
        let total_size = total_size
            .checked_add(body_len)
            .filter(|t| *t <= i32::MAX as usize)
            .ok_or(MessageEncodeError::BodyTooLong(body_len))?;
        Ok(StoredMessageLayout {
            version,
            born_v6,
            store_v6,
            body_len,
            topic_len,
            properties_len,
            total_size,
        })
    }

    /// The whole record length (the TOTALSIZE field).
    pub fn total_size(&self) -> usize {
        self.total_size
    }

    /// The record version (V2 only for topics longer than 127 bytes).
    pub fn version(&self) -> MessageVersion {
        self.version
    }
}

/// The fields of one stored record, borrowing its variable parts.
#[derive(Debug, Clone, Copy)]
pub struct StoredRecord<'a> {
    /// Masked CRC32 of `body`.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Consume-queue offset.
    pub queue_offset: i64,
    /// Commit-log offset of this record.
    pub physical_offset: i64,
    /// System flag; the IPv6 bits are derived from the hosts when encoding.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Delivery attempts so far.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message (transaction commit/rollback records).
    pub prepared_transaction_offset: i64,
    /// Body bytes (stored as given, possibly compressed).
    pub body: &'a [u8],
    /// Topic, UTF-8.
    pub topic: &'a [u8],
    /// Encoded properties string.
    pub properties: &'a [u8],
}

impl StoredRecord<'_> {
    /// This record's sizes.
    pub fn layout(&self) -> Result<StoredMessageLayout, MessageEncodeError> {
        StoredMessageLayout::new(
            self.body.len(),
            self.topic.len(),
            self.properties.len(),
            self.born_host.is_ipv6(),
            self.store_host.is_ipv6(),
        )
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    // Callers check the total length first, so these never run past the buffer.
    fn put(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }

    fn put_i32(&mut self, v: i32) {
        self.put(&v.to_be_bytes());
    }

    fn put_i64(&mut self, v: i64) {
        self.put(&v.to_be_bytes());
    }

    fn put_host(&mut self, host: &SocketAddr) {
        match host.ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.put_i32(host.port() as i32);
    }
}

/// Writes `rec` at the start of `dst` and returns its length.
pub fn encode_stored_record_into(
    dst: &mut [u8],
    rec: &StoredRecord<'_>,
) -> Result<usize, MessageEncodeError> {
    let layout = rec.layout()?;
    encode_with_layout(dst, rec, &layout)
}

/// Like [`encode_stored_record_into`] with a layout computed earlier from the same record.
pub fn encode_with_layout(
    dst: &mut [u8],
    rec: &StoredRecord<'_>,
    layout: &StoredMessageLayout,
) -> Result<usize, MessageEncodeError> {
    let consistent = layout.body_len == rec.body.len()
        && layout.topic_len == rec.topic.len()
        && layout.properties_len == rec.properties.len()
        && layout.born_v6 == rec.born_host.is_ipv6()
        && layout.store_v6 == rec.store_host.is_ipv6();
    let layout = if consistent { *layout } else { rec.layout()? };
    let total = layout.total_size;
    if dst.len() < total {
        return Err(MessageEncodeError::BufferTooSmall {
            needed: total,
            available: dst.len(),
        });
    }
    let mut w = Writer {
        buf: &mut dst[..total],
        pos: 0,
    };
    w.put_i32(total as i32);
    w.put_i32(layout.version.magic());
    w.put_i32(rec.body_crc);
    w.put_i32(rec.queue_id);
    w.put_i32(rec.flag);
    w.put_i64(rec.queue_offset);
    w.put_i64(rec.physical_offset);
    w.put_i32(sys_flag_for_hosts(
        rec.sys_flag,
        &rec.born_host,
        &rec.store_host,
    ));
    w.put_i64(rec.born_timestamp);
    w.put_host(&rec.born_host);
    w.put_i64(rec.store_timestamp);
    w.put_host(&rec.store_host);
    w.put_i32(rec.reconsume_times);
    w.put_i64(rec.prepared_transaction_offset);
    w.put_i32(rec.body.len() as i32);
    w.put(rec.body);
    match layout.version {
        MessageVersion::V1 => w.put(&[rec.topic.len() as u8]),
        MessageVersion::V2 => w.put(&(rec.topic.len() as i16).to_be_bytes()),
    }
    w.put(rec.topic);
    w.put(&(rec.properties.len() as i16).to_be_bytes());
    w.put(rec.properties);
    debug_assert_eq!(w.pos, total);
    Ok(total)
}

/// Writes the 8-byte end-of-file BLANK header (`size = blank_len`, BLANK magic).
pub fn encode_blank_record_into(
    dst: &mut [u8],
    blank_len: i32,
) -> Result<usize, MessageEncodeError> {
    if dst.len() < 8 {
        return Err(MessageEncodeError::BufferTooSmall {
            needed: 8,
            available: dst.len(),
        });
    }
    dst[..4].copy_from_slice(&blank_len.to_be_bytes());
    dst[4..8].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    Ok(8)
}
