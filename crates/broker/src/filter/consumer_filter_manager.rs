//! `ConsumerFilterManager`: the compiled SQL92 selector of each (topic, consumer group).
//!
//! Heartbeats register the selectors of their subscriptions; a pull that relies on the
//! registered subscription looks its selector up here instead of compiling it again.

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_filter::{FilterError, Selector};
use ferrocket_protocol::body::heartbeat::SubscriptionData;
use parking_lot::{Mutex, RwLock};

/// How many distinct expressions the compile cache keeps (`SelectorParser`'s parse cache).
const COMPILE_CACHE_SIZE: usize = 100;

/// A subscription's selector, compiled (`ConsumerFilterData`).
#[derive(Debug)]
pub struct ConsumerFilterData {
    /// Consumer group.
    pub consumer_group: String,
    /// Subscribed topic.
    pub topic: String,
    /// The expression as the client sent it.
    pub expression: String,
    /// `SQL92`.
    pub expression_type: String,
    /// The subscription's `subVersion`.
    pub client_version: i64,
    /// The compiled selector.
    pub compiled: Arc<Selector>,
}

/// Why an expression could not be compiled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CompileError {
    /// No filter of this type exists (only SQL92 does).
    #[error("The broker does not support filter type {0}")]
    UnsupportedType(String),
    /// The expression is not valid SQL92.
    #[error("{0}")]
    Invalid(#[from] FilterError),
}

/// The outcome of compiling one expression, kept so a bad one is not compiled again either.
type Compiled = Result<Arc<Selector>, CompileError>;

/// Compiled selectors per topic and group, plus a small compile cache.
#[derive(Default)]
pub struct ConsumerFilterManager {
    /// topic -> group -> filter data.
    filter_data_by_topic: RwLock<HashMap<String, HashMap<String, Arc<ConsumerFilterData>>>>,
    /// SQL92 expression -> compiled selector or the compile error.
    compile_cache: Mutex<HashMap<String, Compiled>>,
}

impl ConsumerFilterManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles `expression` of `expression_type` (`FilterFactory.get(type).compile`), caching
    /// the result: the Go client and lite pull consumers send the expression with every pull.
    pub fn compile(
        &self,
        expression_type: &str,
        expression: &str,
    ) -> Result<Arc<Selector>, CompileError> {
        if expression_type != ferrocket_filter::SQL92 {
            return Err(CompileError::UnsupportedType(expression_type.to_string()));
        }
        // looked up by &str: a pull that hits the cache allocates nothing
        if let Some(hit) = self.compile_cache.lock().get(expression) {
            return hit.clone();
        }
        let result = ferrocket_filter::compile(expression)
            .map(Arc::new)
            .map_err(CompileError::from);
        let mut cache = self.compile_cache.lock();
        if cache.len() >= COMPILE_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(expression.to_string(), result.clone());
        result
    }

    /// Registers the non-TAG subscriptions of a heartbeat (`register(group, subList)`).
    ///
    /// A subscription whose version is not newer than the registered one is left alone, so a
    /// steady stream of heartbeats compiles nothing. Expressions that do not compile are not
    /// registered; pulls relying on them get FILTER_DATA_NOT_EXIST, as in RocketMQ.
    pub fn register(&self, consumer_group: &str, subscriptions: &[SubscriptionData]) {
        for sub in subscriptions {
            if ferrocket_filter::is_tag_type(Some(&sub.expression_type))
                || sub.sub_string.is_empty()
            {
                continue;
            }
            let current = self
                .get(&sub.topic, consumer_group)
                .is_some_and(|old| old.client_version >= sub.sub_version);
            if current {
                continue;
            }
            match self.compile(&sub.expression_type, &sub.sub_string) {
                Ok(compiled) => {
                    let data = Arc::new(ConsumerFilterData {
                        consumer_group: consumer_group.to_string(),
                        topic: sub.topic.clone(),
                        expression: sub.sub_string.clone(),
                        expression_type: sub.expression_type.clone(),
                        client_version: sub.sub_version,
                        compiled,
                    });
                    tracing::info!(group = %consumer_group, topic = %sub.topic, expression = %sub.sub_string, "consumer filter registered");
                    self.filter_data_by_topic
                        .write()
                        .entry(sub.topic.clone())
                        .or_default()
                        .insert(consumer_group.to_string(), data);
                }
                Err(e) => {
                    tracing::warn!(group = %consumer_group, topic = %sub.topic, expression = %sub.sub_string, error = %e, "consumer filter does not compile");
                }
            }
        }
    }

    /// The registered filter of `consumer_group` on `topic`.
    pub fn get(&self, topic: &str, consumer_group: &str) -> Option<Arc<ConsumerFilterData>> {
        self.filter_data_by_topic
            .read()
            .get(topic)
            .and_then(|groups| groups.get(consumer_group))
            .cloned()
    }

    /// Drops every filter of a group that has no consumer left.
    pub fn unregister(&self, consumer_group: &str) {
        let mut table = self.filter_data_by_topic.write();
        for groups in table.values_mut() {
            groups.remove(consumer_group);
        }
        table.retain(|_, groups| !groups.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(topic: &str, expression: &str, version: i64) -> SubscriptionData {
        SubscriptionData {
            topic: topic.into(),
            sub_string: expression.into(),
            expression_type: "SQL92".into(),
            sub_version: version,
            ..Default::default()
        }
    }

    #[test]
    fn registers_newer_versions_only() {
        let m = ConsumerFilterManager::new();
        m.register(
            "g",
            &[sql("T", "a = 1", 10), SubscriptionData::tag("U", "*")],
        );
        assert_eq!(m.get("T", "g").unwrap().expression, "a = 1");
        assert!(
            m.get("U", "g").is_none(),
            "TAG subscriptions need no filter data"
        );
        m.register("g", &[sql("T", "a = 2", 10)]);
        assert_eq!(
            m.get("T", "g").unwrap().expression,
            "a = 1",
            "same version kept"
        );
        m.register("g", &[sql("T", "a = 2", 11)]);
        assert_eq!(m.get("T", "g").unwrap().expression, "a = 2");
        m.register("g", &[sql("T", "a = = 3", 12)]);
        assert_eq!(
            m.get("T", "g").unwrap().client_version,
            11,
            "invalid ones are ignored"
        );
        m.register("h", &[sql("V", "a = ", 1)]);
        assert!(m.get("V", "h").is_none());
        m.unregister("g");
        assert!(m.get("T", "g").is_none());
    }

    #[test]
    fn compile_caches_results_and_refuses_unknown_types() {
        let m = ConsumerFilterManager::new();
        let a = m.compile("SQL92", "a = 1").unwrap();
        let b = m.compile("SQL92", "a = 1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(matches!(
            m.compile("SQL92", "a ="),
            Err(CompileError::Invalid(_))
        ));
        assert!(matches!(
            m.compile("JAVA", "x"),
            Err(CompileError::UnsupportedType(_))
        ));
        for i in 0..(COMPILE_CACHE_SIZE * 2) {
            m.compile("SQL92", &format!("a = {i}")).unwrap();
        }
        assert!(m.compile_cache.lock().len() <= COMPILE_CACHE_SIZE);
    }
}
