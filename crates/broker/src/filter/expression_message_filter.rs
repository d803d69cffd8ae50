//! `ExpressionMessageFilter`: TAG subscriptions match consume-queue tag codes, SQL92
//! subscriptions match each stored message's properties.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrocket_filter::{PropertiesContext, Selector};
use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::message::parse_record;
use ferrocket_store::MessageFilter;

/// Matches messages against a subscription.
///
/// TAG: by the consume-queue tags code; hash collisions are left to the client, which
/// re-checks the TAGS string. SQL92: every tags code passes, then the selector is evaluated
/// against the properties of the stored record (the tag is the `TAGS` property).
#[derive(Debug, Clone)]
pub struct ExpressionMessageFilter {
    /// `None` subscribes to every tag (`*`, and every SQL92 subscription).
    codes: Option<Arc<BTreeSet<i32>>>,
    /// The compiled selector of a SQL92 subscription.
    selector: Option<Arc<Selector>>,
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
        ExpressionMessageFilter {
            codes,
            selector: None,
        }
    }

    /// A filter for a SQL92 subscription compiled to `selector`.
    pub fn sql92(selector: Arc<Selector>) -> Self {
        ExpressionMessageFilter {
            codes: None,
            selector: Some(selector),
        }
    }

    /// A filter that matches everything.
    pub fn match_all() -> Self {
        ExpressionMessageFilter {
            codes: None,
            selector: None,
        }
    }

    /// True when a message with this tags code matches.
    pub fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        match &self.codes {
            None => true,
            Some(codes) => codes.contains(&(tags_code as i32)),
        }
    }

    /// True when the stored record matches; TAG filters decided everything by tags code.
    ///
    /// A record whose properties cannot be read, or whose evaluation fails (say a
    /// non-numeric property compared with a number), does not match, as in RocketMQ.
    pub fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        let Some(selector) = &self.selector else {
            return true;
        };
        match parse_record(record) {
            Ok(view) => selector.matches(&PropertiesContext::new(view.properties)),
            Err(e) => {
                tracing::warn!(error = %e, "record unreadable for the SQL92 filter");
                false
            }
        }
    }

    /// The codes that match (`None`: all), for waking parked pulls.
    pub fn codes(&self) -> Option<Arc<BTreeSet<i32>>> {
        self.codes.clone()
    }
}

impl MessageFilter for ExpressionMessageFilter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        ExpressionMessageFilter::is_matched_by_consume_queue(self, tags_code)
    }

    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        ExpressionMessageFilter::is_matched_by_commit_log(self, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::message::{encode_message_ext, Message, MessageExt};

    #[test]
    fn matches_by_tag_code() {
        let f = ExpressionMessageFilter::new(&SubscriptionData::tag("T", "TagA || TagB"));
        assert!(f.is_matched_by_consume_queue(2598919));
        assert!(f.is_matched_by_consume_queue(2598920));
        assert!(!f.is_matched_by_consume_queue(0));
        assert!(f.is_matched_by_commit_log(b"not even a record"));
        let all = ExpressionMessageFilter::new(&SubscriptionData::tag("T", "*"));
        assert!(all.is_matched_by_consume_queue(0));
        let mut bare = SubscriptionData::tag("T", "TagA");
        bare.code_set.clear();
        assert!(ExpressionMessageFilter::new(&bare).is_matched_by_consume_queue(2598919));
    }

    fn record(props: &[(&str, &str)]) -> Vec<u8> {
        let mut message = Message::new("T", "body".to_string());
        for (k, v) in props {
            message.set_property(*k, *v);
        }
        let m = MessageExt {
            message,
            born_host: "127.0.0.1:5000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            ..Default::default()
        };
        encode_message_ext(&m).unwrap()
    }

    #[test]
    fn sql92_matches_the_stored_properties() {
        let selector = Arc::new(ferrocket_filter::compile("TAGS = 'A' AND n > 5").unwrap());
        let f = ExpressionMessageFilter::sql92(selector);
        assert!(f.is_matched_by_consume_queue(12345), "no tag prefilter");
        assert!(f.codes().is_none());
        assert!(f.is_matched_by_commit_log(&record(&[("TAGS", "A"), ("n", "6")])));
        assert!(!f.is_matched_by_commit_log(&record(&[("TAGS", "A"), ("n", "5")])));
        assert!(!f.is_matched_by_commit_log(&record(&[("TAGS", "B"), ("n", "6")])));
        assert!(!f.is_matched_by_commit_log(&record(&[("TAGS", "A")])));
        assert!(!f.is_matched_by_commit_log(&record(&[("TAGS", "A"), ("n", "x")])));
        assert!(!f.is_matched_by_commit_log(b"garbage"));
    }
}
