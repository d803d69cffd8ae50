//! `RebalanceImpl`'s decision: which queues of a topic this consumer should own.

use std::collections::BTreeSet;

use ferrocket_protocol::body::queue::MessageQueue;

use super::allocate::AllocateMessageQueueStrategy;

/// The queues of one topic allocated to `current_cid` (`rebalanceByTopic`, clustering mode):
/// both lists are sorted first, as every member of the group must see the same order.
pub fn allocate_for_topic(
    strategy: &dyn AllocateMessageQueueStrategy,
    current_cid: &str,
    mq_set: &BTreeSet<MessageQueue>,
    cid_all: &[String],
) -> BTreeSet<MessageQueue> {
    let mq_all: Vec<MessageQueue> = mq_set.iter().cloned().collect();
    let mut cids = cid_all.to_vec();
    cids.sort();
    cids.dedup();
    strategy
        .allocate(current_cid, &mq_all, &cids)
        .into_iter()
        .collect()
}

/// What changes when moving from `owned` to `wanted`: (added, removed).
pub fn diff(
    owned: &BTreeSet<MessageQueue>,
    wanted: &BTreeSet<MessageQueue>,
) -> (Vec<MessageQueue>, Vec<MessageQueue>) {
    let added = wanted.difference(owned).cloned().collect();
    let removed = owned.difference(wanted).cloned().collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::allocate::AllocateMessageQueueAveragely;

    #[test]
    fn unsorted_consumer_ids_give_the_same_answer_everywhere() {
        let mqs: BTreeSet<_> = (0..4)
            .flat_map(|q| {
                [
                    MessageQueue::new("T", "b", q),
                    MessageQueue::new("T", "a", q),
                ]
            })
            .collect();
        let a = allocate_for_topic(
            &AllocateMessageQueueAveragely,
            "c1",
            &mqs,
            &["c2".into(), "c1".into()],
        );
        let b = allocate_for_topic(
            &AllocateMessageQueueAveragely,
            "c2",
            &mqs,
            &["c1".into(), "c2".into(), "c2".into()],
        );
        assert_eq!(a.len(), 4);
        assert!(
            a.iter().all(|q| q.broker_name == "a"),
            "first half of the sorted list"
        );
        assert!(a.is_disjoint(&b));
        assert_eq!(a.len() + b.len(), 8);
    }

    #[test]
    fn diff_reports_added_and_removed() {
        let q = |i| MessageQueue::new("T", "a", i);
        let owned: BTreeSet<_> = [q(0), q(1)].into();
        let wanted: BTreeSet<_> = [q(1), q(2)].into();
        let (added, removed) = diff(&owned, &wanted);
        assert_eq!(added, [q(2)]);
        assert_eq!(removed, [q(0)]);
    }
}
