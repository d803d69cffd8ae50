//! Messages as producers build them and consumers receive them.
//!
//! The types and encodings are `ferrocket_protocol::message`'s; this module adds what only a
//! client needs: builder-style setters, the UNIQ_KEY generator and a Java-style rendering.

/// UNIQ_KEY generation, shared with the broker.
pub use ferrocket_protocol::message::unique_id;

pub use ferrocket_protocol::message::{
    decode_messages_bytes, encode_batch_body, property, sys_flag, write_properties, DecodeOptions,
    Message, MessageDecodeError, MessageExt, Properties,
};

/// Builder-style setters for [`Message`] (Java's `new Message(topic, tags, keys, body)`).
pub trait MessageBuilder: Sized {
    /// Sets the tag.
    fn with_tags(self, tags: impl Into<String>) -> Self;
    /// Sets the business keys (several separated by one space).
    fn with_keys(self, keys: impl Into<String>) -> Self;
    /// Sets a user property.
    fn with_property(self, name: impl Into<String>, value: impl Into<String>) -> Self;
}

impl MessageBuilder for Message {
    fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.set_tags(tags);
        self
    }

    fn with_keys(mut self, keys: impl Into<String>) -> Self {
        self.set_property(property::KEYS, keys);
        self
    }

    fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_property(name, value);
        self
    }
}

/// Renders a received message like Java's `MessageExt.toString()` (body as its length).
pub fn describe(m: &MessageExt) -> String {
    let mut props = String::new();
    for (i, (k, v)) in m.message.properties.iter().enumerate() {
        if i > 0 {
            props.push_str(", ");
        }
        props.push_str(k);
        props.push('=');
        props.push_str(v);
    }
    format!(
        "MessageExt [queueId={}, storeSize={}, queueOffset={}, sysFlag={}, \
         bornTimestamp={}, bornHost=/{}, storeTimestamp={}, storeHost=/{}, msgId={}, \
         commitLogOffset={}, bodyCRC={}, reconsumeTimes={}, preparedTransactionOffset={}, \
         toString()=Message{{topic='{}', flag={}, properties={{{props}}}, bodyLength={}}}]",
        m.queue_id,
        m.store_size,
        m.queue_offset,
        m.sys_flag,
        m.born_timestamp,
        m.born_host,
        m.store_timestamp,
        m.store_host,
        m.unique_id(),
        m.commit_log_offset,
        m.body_crc,
        m.reconsume_times,
        m.prepared_transaction_offset,
        m.message.topic,
        m.message.flag,
        m.message.body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_system_properties() {
        let m = Message::new("T", "hi")
            .with_tags("TagA")
            .with_keys("k1 k2")
            .with_property("a", "b");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert_eq!(m.key_list().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(m.property("a"), Some("b"));
        let ext = MessageExt {
            message: m,
            queue_offset: 7,
            ..Default::default()
        };
        let s = describe(&ext);
        assert!(
            s.starts_with("MessageExt [queueId=0, storeSize=0, queueOffset=7"),
            "{s}"
        );
        assert!(
            s.contains("queueOffset=7") && s.contains("TAGS=TagA"),
            "{s}"
        );
    }
}
