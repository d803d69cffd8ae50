//! `ExpressionMessageFilter` for TAG subscriptions: matches consume-queue tag codes.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrocket_protocol::body::heartbeat::SubscriptionData;

/// Matches messages against a TAG subscription by their consume-queue tags code.
///
/// Hash collisions are left to the client, which re-checks the TAGS string.
#[derive(Debug, Clone)]
pub struct ExpressionMessageFilter {
    /// `None` subscribes to everything (`*`).
    codes: Option<Arc<BTreeSet<i32>>>,
}

impl ExpressionMessageFilter {
    /// A filter for `subscription` (TAG type).
    pub fn new(subscription: &SubscriptionData) -> Self {
        let codes = if subscription.is_all() {
            None
        } else if subscription.code_set.is_empty() {
            // some clients send only the tags; compute the codes as the Java client would
            Some(Arc::new(
                SubscriptionData::tag(&subscription.topic, &subscription.sub_string).code_set,
            ))
        } else {
            Some(Arc::new(subscription.code_set.clone()))
        };
        ExpressionMessageFilter { codes }
    }

    /// A filter that matches everything.
    pub fn match_all() -> Self {
        ExpressionMessageFilter { codes: None }
    }

    /// True when a message with this tags code matches.
    pub fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        match &self.codes {
            None => true,
            Some(codes) => codes.contains(&(tags_code as i32)),
        }
    }

    /// The codes that match (`None`: all), for waking parked pulls.
    pub fn codes(&self) -> Option<Arc<BTreeSet<i32>>> {
        self.codes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_by_tag_code() {
        let f = ExpressionMessageFilter::new(&SubscriptionData::tag("T", "TagA || TagB"));
        assert!(f.is_matched_by_consume_queue(2598919));
        assert!(f.is_matched_by_consume_queue(2598920));
        assert!(!f.is_matched_by_consume_queue(0));
        let all = ExpressionMessageFilter::new(&SubscriptionData::tag("T", "*"));
        assert!(all.is_matched_by_consume_queue(0));
        let mut bare = SubscriptionData::tag("T", "TagA");
        bare.code_set.clear();
        assert!(ExpressionMessageFilter::new(&bare).is_matched_by_consume_queue(2598919));
    }
}
