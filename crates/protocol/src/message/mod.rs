//! Messages and their encodings: the properties string, the stored record layout (commit log
//! and pull bodies, V1/V2 magic, IPv4/IPv6 hosts) and batch send bodies.
//!
//! Everything here is pure and total: decoders check every length against the input before
//! using it and return an error instead of panicking.

mod batch;
mod decoder;
mod error;
mod ext;
mod layout;
mod properties;
pub mod property;
pub mod sys_flag;
pub mod unique_id;

#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use batch::{decode_batch_body, encode_batch_body, BatchMessage};
pub use decoder::{
    decode_message, decode_message_with, decode_messages, decode_messages_bytes,
    decode_messages_with, encode_message_ext, encode_message_ext_into, inflate_body, parse_record,
    peek_record_header, DecodeOptions, RecordView, DEFAULT_MAX_INFLATED_BODY_SIZE,
};
pub use error::{MessageDecodeError, MessageEncodeError};
pub use ext::MessageExt;
pub use layout::{
    encode_blank_record_into, encode_stored_record_into, encode_with_layout, host_len,
    sys_flag_for_hosts, MessageVersion, StoredMessageLayout, StoredRecord, MAX_PROPERTIES_LEN,
    MAX_TOPIC_LEN, V1_FIXED_OVERHEAD, V1_MAX_TOPIC_LEN,
};
pub use properties::{
    find_property, find_property_bytes, properties_to_string, property_pairs, string_to_properties,
    write_properties, Properties, PropertyFinder,
};

/// Magic code of a V1 record (one-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA320A7u32 as i32;
/// Magic code of a V2 record (two-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA320ABu32 as i32;
/// Magic code of the end-of-file BLANK record.
pub const BLANK_MAGIC: i32 = 0xCBD43194u32 as i32;
/// Bytes of a BLANK record header; a commit-log file always keeps room for one.
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;

/// Position of MAGICCODE in a record.
pub const MAGIC_POSITION: usize = 4;
/// Position of BODYCRC in a record.
pub const BODY_CRC_POSITION: usize = 8;
/// Position of QUEUEID in a record.
pub const QUEUE_ID_POSITION: usize = 12;
/// Position of FLAG in a record.
pub const FLAG_POSITION: usize = 16;
/// Position of QUEUEOFFSET in a record.
pub const QUEUE_OFFSET_POSITION: usize = 20;
/// Position of PHYSICALOFFSET in a record.
pub const PHYSICAL_OFFSET_POSITION: usize = 28;
/// Position of SYSFLAG in a record.
pub const SYS_FLAG_POSITION: usize = 36;
/// Position of BORNTIMESTAMP in a record.
pub const BORN_TIMESTAMP_POSITION: usize = 40;
/// Position of STORETIMESTAMP in a record whose born host is IPv4.
pub const STORE_TIMESTAMP_POSITION: usize = 56;

/// A message as a producer sends it (RocketMQ `Message`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// User flag, opaque to the broker.
    pub flag: i32,
    /// Properties (tags, keys, unique key, ...).
    pub properties: Properties,
    /// Body bytes.
    pub body: Bytes,
}

impl Message {
    /// A message of `topic` with `body` and no properties.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            flag: 0,
            properties: Properties::new(),
            body: body.into(),
        }
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// Sets property `name`.
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(name, value);
    }

    /// Removes property `name`, returning its value.
    pub fn remove_property(&mut self, name: &str) -> Option<String> {
        self.properties.remove(name)
    }

    /// The TAGS property.
    pub fn tags(&self) -> Option<&str> {
        self.property(property::TAGS)
    }

    /// Sets the TAGS property.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        self.set_property(property::TAGS, tags);
    }

    /// The KEYS property (several keys separated by one space).
    pub fn keys(&self) -> Option<&str> {
        self.property(property::KEYS)
    }

    /// The individual keys of the KEYS property.
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        self.keys()
            .unwrap_or("")
            .split(property::KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }

    /// Sets KEYS to `keys` joined by one space.
    pub fn set_keys<I, S>(&mut self, keys: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_string())
            .collect::<Vec<_>>()
            .join(property::KEY_SEPARATOR);
        self.set_property(property::KEYS, joined);
    }

    /// The client-generated unique id (UNIQ_KEY).
    pub fn unique_key(&self) -> Option<&str> {
        self.property(property::UNIQ_KEY)
    }

    /// Sets UNIQ_KEY.
    pub fn set_unique_key(&mut self, id: impl Into<String>) {
        self.set_property(property::UNIQ_KEY, id);
    }

    /// The DELAY level, 0 when absent or malformed.
    pub fn delay_time_level(&self) -> i32 {
        self.property(property::DELAY)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Sets the DELAY level.
    pub fn set_delay_time_level(&mut self, level: i32) {
        self.set_property(property::DELAY, level.to_string());
    }

    /// Whether the producer waits for the store (WAIT is anything but "false").
    pub fn wait_store_msg_ok(&self) -> bool {
        self.property(property::WAIT) != Some("false")
    }

    /// Sets WAIT.
    pub fn set_wait_store_msg_ok(&mut self, wait: bool) {
        self.set_property(property::WAIT, if wait { "true" } else { "false" });
    }

    /// The transaction id property.
    pub fn transaction_id(&self) -> Option<&str> {
        self.property(property::TRANSACTION_ID)
    }

    /// The encoded properties string.
    pub fn properties_string(&self) -> String {
        properties_to_string(&self.properties)
    }
}
