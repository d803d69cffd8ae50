//! All consume queues, by topic and queue id (RocketMQ `ConsumeQueueStore`).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::allocate::MappedFileAllocator;

use crate::consume_queue::ConsumeQueue;
use crate::error::StoreError;

type QueueMap = HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>;

/// The consume queues under `{root}/consumequeue`.
pub struct ConsumeQueueTable {
    root: PathBuf,
    mapped_file_size: usize,
    table: RwLock<QueueMap>,
    allocator: OnceLock<Arc<MappedFileAllocator>>,
}

impl std::fmt::Debug for ConsumeQueueTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeQueueTable")
            .field("root", &self.root)
            .field("topics", &self.table.read().len())
            .finish()
    }
}

impl ConsumeQueueTable {
    /// An empty table rooted at `root`.
    pub fn new(root: impl Into<PathBuf>, mapped_file_size: usize) -> Self {
        ConsumeQueueTable {
            root: root.into(),
            mapped_file_size,
            table: RwLock::new(HashMap::new()),
            allocator: OnceLock::new(),
        }
    }

    /// Hands segment creation of every queue, present and future, to `allocator`.
    pub fn set_allocator(&self, allocator: Arc<MappedFileAllocator>) {
        let _ = self.allocator.set(allocator);
        for cq in self.all() {
            self.attach(&cq);
        }
    }

    fn attach(&self, cq: &ConsumeQueue) {
        if let Some(a) = self.allocator.get() {
            cq.mapped_file_queue().set_allocator(a.clone());
        }
    }

    /// Maps every `{topic}/{queueId}` directory found.
    pub fn load(&self) -> Result<(), StoreError> {
        let topics = match std::fs::read_dir(&self.root) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&self.root, e)),
        };
        let mut table = self.table.write();
        for topic_dir in topics {
            let topic_dir = topic_dir.map_err(|e| StoreError::io(&self.root, e))?;
            let Some(topic) = topic_dir.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !topic_dir.path().is_dir() {
                continue;
            }
            let queues = std::fs::read_dir(topic_dir.path())
                .map_err(|e| StoreError::io(topic_dir.path(), e))?;
            for queue_dir in queues {
                let queue_dir = queue_dir.map_err(|e| StoreError::io(topic_dir.path(), e))?;
                let Some(queue_id) = queue_dir
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                let cq = ConsumeQueue::new(&self.root, &topic, queue_id, self.mapped_file_size);
                cq.load()?;
                self.attach(&cq);
                table
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(cq));
            }
        }
        Ok(())
    }

    /// The queue, if it exists.
    pub fn find(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.table.read().get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created (in memory; files come with the first entry) if missing.
    pub fn find_or_create(&self, topic: &str, queue_id: i32) -> Arc<ConsumeQueue> {
        if let Some(cq) = self.find(topic, queue_id) {
            return cq;
        }
        let mut table = self.table.write();
        table
            .entry(topic.to_string())
            .or_default()
            .entry(queue_id)
            .or_insert_with(|| {
                let cq = ConsumeQueue::new(&self.root, topic, queue_id, self.mapped_file_size);
                self.attach(&cq);
                Arc::new(cq)
            })
            .clone()
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.table
            .read()
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    /// Every `(topic, queue id)`, sorted.
    pub fn topic_queues(&self) -> Vec<(String, i32)> {
        let mut v: Vec<(String, i32)> = self
            .table
            .read()
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |q| (t.clone(), *q)))
            .collect();
        v.sort();
        v
    }

    /// Removes a topic's queues from the table and deletes their files.
    pub fn delete_topic(&self, topic: &str) -> io::Result<bool> {
        let removed = self.table.write().remove(topic);
        let Some(queues) = removed else {
            return Ok(false);
        };
        for cq in queues.values() {
            cq.destroy()?;
        }
        match std::fs::remove_dir_all(self.root.join(topic)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(true)
    }

    /// Deletes every queue.
    pub fn destroy_all(&self) -> io::Result<()> {
        let topics: Vec<String> = self.table.read().keys().cloned().collect();
        for t in topics {
            self.delete_topic(&t)?;
        }
        Ok(())
    }
}

/// The queues a run of dispatched records went to, each looked up in the table once: records
/// of a few queues then skip the table's lock and topic hash. It holds the queues, so it lives
/// for one run (a topic deletion waits for the reput thread's run to end) or one recovery scan.
#[derive(Default)]
pub(crate) struct QueueCache {
    queues: Vec<Arc<ConsumeQueue>>,
}

impl QueueCache {
    /// Queues kept; past that the cache starts over (many queues: one table lookup per miss).
    const MAX_QUEUES: usize = 64;

    /// The queue, from the cache or the table (created if missing).
    pub(crate) fn find_or_create(
        &mut self,
        table: &ConsumeQueueTable,
        topic: &str,
        queue_id: i32,
    ) -> &ConsumeQueue {
        let cached = self
            .queues
            .iter()
            .position(|q| q.queue_id() == queue_id && q.topic() == topic);
        let at = match cached {
            Some(at) => at,
            None => {
                if self.queues.len() >= Self::MAX_QUEUES {
                    self.queues.clear();
                }
                self.queues.push(table.find_or_create(topic, queue_id));
                self.queues.len() - 1
            }
        };
        &self.queues[at]
    }
}
