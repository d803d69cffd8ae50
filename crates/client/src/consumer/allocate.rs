//! Queue allocation strategies (`AllocateMessageQueueStrategy`).

use ferrocket_protocol::body::queue::MessageQueue;

/// Decides which queues one consumer of a group takes.
pub trait AllocateMessageQueueStrategy: Send + Sync {
    /// The strategy's name, as Java reports it.
    fn name(&self) -> &'static str;

    /// The queues `current_cid` takes; `mq_all` and `cid_all` must be sorted.
    fn allocate(
        &self,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue>;
}

/// Contiguous, near-equal ranges; the first `n mod c` consumers take one queue more
/// (`AllocateMessageQueueAveragely`, the default of Java and Go clients).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateMessageQueueAveragely;

impl AllocateMessageQueueStrategy for AllocateMessageQueueAveragely {
    fn name(&self) -> &'static str {
        "AVG"
    }

    fn allocate(
        &self,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        ferrocket_protocol::body::queue::allocate_averagely(current_cid, mq_all, cid_all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n)
            .map(|q| MessageQueue::new("T", "broker-a", q))
            .collect()
    }

    fn cids(c: usize) -> Vec<String> {
        (0..c).map(|i| format!("127.0.0.1@{i}")).collect()
    }

    fn ids(v: &[MessageQueue]) -> Vec<i32> {
        v.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn documented_example_eight_queues_three_consumers() {
        let (mq, cid) = (queues(8), cids(3));
        let s = AllocateMessageQueueAveragely;
        assert_eq!(ids(&s.allocate(&cid[0], &mq, &cid)), [0, 1, 2]);
        assert_eq!(ids(&s.allocate(&cid[1], &mq, &cid)), [3, 4, 5]);
        assert_eq!(ids(&s.allocate(&cid[2], &mq, &cid)), [6, 7]);
    }

    #[test]
    fn more_consumers_than_queues_leaves_the_last_ones_idle() {
        let (mq, cid) = (queues(2), cids(4));
        let s = AllocateMessageQueueAveragely;
        assert_eq!(ids(&s.allocate(&cid[0], &mq, &cid)), [0]);
        assert_eq!(ids(&s.allocate(&cid[1], &mq, &cid)), [1]);
        assert!(s.allocate(&cid[2], &mq, &cid).is_empty());
        assert!(s.allocate(&cid[3], &mq, &cid).is_empty());
        assert!(s.allocate("unknown", &mq, &cid).is_empty());
    }

    #[test]
    fn every_split_is_a_disjoint_cover() {
        let s = AllocateMessageQueueAveragely;
        for n in 1..=17 {
            for c in 1..=6 {
                let (mq, cid) = (queues(n), cids(c));
                let mut seen = BTreeSet::new();
                let mut sizes = Vec::new();
                for me in &cid {
                    let got = s.allocate(me, &mq, &cid);
                    sizes.push(got.len());
                    for q in got {
                        assert!(seen.insert(q), "queue given twice (n={n}, c={c})");
                    }
                }
                assert_eq!(seen.len(), n as usize, "n={n}, c={c}");
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "uneven split {sizes:?}");
            }
        }
    }
}
