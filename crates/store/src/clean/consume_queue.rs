//! CleanConsumeQueueService: once the CommitLog starts later, deletes ConsumeQueue segments whose
//! entries all point before that start and moves each queue's min offset past them; then, as
//! RocketMQ does, the index files whose entries all point before it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::default_message_store::StoreInner;

/// One run: clean every queue against the CommitLog's current min offset, if it moved.
pub(super) fn run(inner: &StoreInner) {
    let min_phy = inner.commit_log.min_offset();
    let last = &inner.clean.last_physical_min_offset;
    if min_phy <= last.load(Ordering::Acquire) {
        return;
    }
    last.store(min_phy, Ordering::Release);
    let pause = Duration::from_millis(inner.config.delete_consume_queue_files_interval);
    for cq in inner.consume_queues.all() {
        let deleted = cq.delete_expired_file(min_phy);
        if deleted > 0 {
            tracing::info!(
                topic = cq.topic(),
                queue_id = cq.queue_id(),
                deleted,
                min_offset = cq.min_offset_in_queue(),
                "deleted expired consume queue files"
            );
            if !pause.is_zero() && inner.signal.wait(pause) {
                return;
            }
        }
    }
    inner.index_service.delete_expired_file(min_phy);
}
