//! Maps keyed by `MessageQueue`, written with each key as a JSON string holding the queue object.
//!
//! fastjson writes such keys as bare objects (not valid JSON) but also reads the stringified
//! form, so standard JSON with string keys works with Java clients and mqadmin.

use std::collections::BTreeMap;

use super::queue::MessageQueue;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serializes the map with stringified `MessageQueue` keys.
pub fn serialize<S: Serializer, V: Serialize>(
    map: &BTreeMap<MessageQueue, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(map.len()))?;
    for (k, v) in map {
        let key = serde_json::to_string(k).map_err(serde::ser::Error::custom)?;
        m.serialize_entry(&key, v)?;
    }
    m.end()
}

/// Reads a map whose keys are stringified `MessageQueue` objects.
pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<MessageQueue, V>, D::Error> {
    let raw = BTreeMap::<String, V>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            crate::json::from_slice::<MessageQueue>(k.as_bytes())
                .map(|mq| (mq, v))
                .map_err(D::Error::custom)
        })
        .collect()
}
