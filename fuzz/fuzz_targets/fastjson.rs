//! The reader for fastjson text (bare map keys) and the JSON bodies built on it: errors,
//! never panics; text that is already standard JSON reads exactly as serde_json reads it.
#![no_main]

use ferrocket_protocol::body::{self, heartbeat, queue, route, topic};
use ferrocket_protocol::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let normalized = json::normalize(data);
    let lenient = serde_json::from_slice::<serde_json::Value>(&normalized);
    if let Ok(strict) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(
            lenient.expect("standard JSON stays readable"),
            strict,
            "normalizing standard JSON changed it"
        );
    }
    let _ = json::from_slice::<route::TopicRouteData>(data);
    let _ = json::from_slice::<route::ClusterInfo>(data);
    let _ = json::from_slice::<heartbeat::HeartbeatData>(data);
    let _ = json::from_slice::<heartbeat::ConsumerIdList>(data);
    let _ = json::from_slice::<queue::LockBatchRequestBody>(data);
    let _ = json::from_slice::<topic::TopicConfigSerializeWrapper>(data);
    let _ = json::from_slice::<topic::RegisterBrokerBody>(data);
    let _ = json::from_slice::<topic::TopicList>(data);
    let _ = json::from_slice::<topic::KvTable>(data);
    let _ = body::decode::<route::TopicRouteData>(data);
    let _ = body::decode::<heartbeat::HeartbeatData>(data);
});
