//! `MessageQueue` and the bodies that list queues.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One queue of a topic on one broker; ordered as Java's `MessageQueue.compareTo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl MessageQueue {
    /// A queue.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
}

impl std::fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    pub only_this_broker: bool,
    pub mq_set: BTreeSet<MessageQueue>,
}

/// LOCK_BATCH_MQ response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

/// `AllocateMessageQueueAveragely`: contiguous, near-equal ranges of the sorted `mq_all` for the
/// sorted `cid_all`, the first `n mod c` consumers taking one queue more; nothing for a consumer
/// not in `cid_all`. Shared by the clients and the broker's QUERY_ASSIGNMENT.
pub fn allocate_averagely(
    current_cid: &str,
    mq_all: &[MessageQueue],
    cid_all: &[String],
) -> Vec<MessageQueue> {
    let Some(index) = cid_all.iter().position(|c| c == current_cid) else {
        return Vec::new();
    };
    if mq_all.is_empty() {
        return Vec::new();
    }
    let n = mq_all.len();
    let c = cid_all.len();
    let m = n % c;
    let average = if n <= c {
        1
    } else if m > 0 && index < m {
        n / c + 1
    } else {
        n / c
    };
    let start = if m > 0 && index < m {
        index * average
    } else {
        index * average + m
    };
    if start >= n {
        return Vec::new();
    }
    let range = average.min(n - start);
    mq_all[start..start + range].to_vec()
}
