//! `QueueLockManager`: one pop at a time per `topic@group@queueId`, so the offset a pop reads
//! from and the offset it commits cannot interleave with another pop of the same queue. A pop
//! that finds the queue locked skips it, as RocketMQ's does. Not persisted.

use std::collections::HashSet;

use parking_lot::Mutex;

/// The set of locked queue keys.
#[derive(Default)]
pub struct QueueLockManager {
    locked: Mutex<HashSet<String>>,
}

/// A held queue lock; dropping it unlocks.
pub struct QueueLock<'a> {
    manager: &'a QueueLockManager,
    key: String,
}

impl Drop for QueueLock<'_> {
    fn drop(&mut self) {
        self.manager.locked.lock().remove(&self.key);
    }
}

impl QueueLockManager {
    /// Locks `key`, or `None` when another pop holds it.
    pub fn try_lock(&self, key: String) -> Option<QueueLock<'_>> {
        if !self.locked.lock().insert(key.clone()) {
            return None;
        }
        Some(QueueLock { manager: self, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_locked_once() {
        let m = QueueLockManager::default();
        let first = m.try_lock("T@g@0".into()).unwrap();
        assert!(m.try_lock("T@g@0".into()).is_none());
        assert!(m.try_lock("T@g@1".into()).is_some());
        drop(first);
        assert!(m.try_lock("T@g@0".into()).is_some());
    }
}
