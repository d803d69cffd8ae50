//! The queue in front of the CommitLog writer thread.
//!
//! Every put is appended by one dedicated thread (RocketMQ runs its puts on the send thread
//! pool, one thread by default, never on a Netty I/O thread). An append can stall while it holds
//! the put lock: a page fault on a page the kernel has to write back first, a slow `pwrite`, a
//! segment still being created. On an async worker that stall would also stop every connection
//! the worker serves, so the sends pipelined behind it could be neither read nor shed with
//! SYSTEM_BUSY (BrokerFastFailure). On this thread it stops only the appends; the connections
//! keep reading and answering.
//!
//! Puts that arrive while the thread appends are taken together on its next turn, so a busy
//! broker pays one wake-up per batch rather than per message. The queue is bounded: past
//! [`MAX_QUEUED_PUTS`] a put is refused, as RocketMQ refuses sends while its page cache is busy.

use parking_lot::{Condvar, Mutex};

/// Puts the writer thread may have queued. The send queue in front of the store
/// (`sendThreadPoolQueueCapacity`, 10,000 by default) admits fewer; the bound covers the
/// store's other writers too (delay, transactions, POP revive, timers).
pub(crate) const MAX_QUEUED_PUTS: usize = 16_384;

/// Puts handed from async tasks to the writer thread.
pub(crate) struct PutQueue<T> {
    state: Mutex<QueueState<T>>,
    cv: Condvar,
}

struct QueueState<T> {
    jobs: Vec<T>,
    /// The writer thread is waiting on the condition variable (only then is a wake-up needed).
    sleeping: bool,
    stopped: bool,
}

impl<T> Default for PutQueue<T> {
    fn default() -> Self {
        PutQueue {
            state: Mutex::new(QueueState {
                jobs: Vec::new(),
                sleeping: false,
                stopped: false,
            }),
            cv: Condvar::new(),
        }
    }
}

impl<T> PutQueue<T> {
    /// Queues `job` for the writer thread; gives it back when the queue is full or stopped.
    pub(crate) fn submit(&self, job: T) -> Result<(), T> {
        let mut st = self.state.lock();
        if st.stopped || st.jobs.len() >= MAX_QUEUED_PUTS {
            return Err(job);
        }
        st.jobs.push(job);
        let wake = std::mem::take(&mut st.sleeping);
        drop(st);
        if wake {
            self.cv.notify_one();
        }
        Ok(())
    }

    /// The writer thread: moves every queued put into `batch` (waiting for one if there is
    /// none); false once the queue is stopped and empty.
    pub(crate) fn take_into(&self, batch: &mut Vec<T>) -> bool {
        debug_assert!(batch.is_empty(), "the previous batch was not finished");
        let mut st = self.state.lock();
        while st.jobs.is_empty() {
            if st.stopped {
                return false;
            }
            // `submit` and `stop` change the state under this lock before they notify: no
            // wake-up is lost, and an idle writer needs no timer
            st.sleeping = true;
            self.cv.wait(&mut st);
            st.sleeping = false;
        }
        // swap keeps both vectors' capacity: no allocation per batch in the steady state
        std::mem::swap(&mut st.jobs, batch);
        true
    }

    /// Refuses new puts; the writer thread appends what is queued, then ends.
    pub(crate) fn stop(&self) {
        self.state.lock().stopped = true;
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn puts_queued_while_the_writer_works_are_taken_in_one_batch_and_stop_drains() {
        let q = Arc::new(PutQueue::default());
        for i in 0..3 {
            q.submit(i).unwrap();
        }
        let mut batch = Vec::new();
        assert!(q.take_into(&mut batch));
        assert_eq!(batch, vec![0, 1, 2]);
        batch.clear();
        q.submit(7).unwrap();
        q.stop();
        assert_eq!(q.submit(8), Err(8), "a stopped queue takes nothing");
        assert!(
            q.take_into(&mut batch),
            "what was queued before stop is appended"
        );
        assert_eq!(batch, vec![7]);
        batch.clear();
        assert!(!q.take_into(&mut batch));
    }

    #[test]
    fn a_full_queue_gives_the_put_back() {
        let q = PutQueue::default();
        for i in 0..MAX_QUEUED_PUTS {
            q.submit(i).unwrap();
        }
        assert_eq!(q.submit(usize::MAX), Err(usize::MAX));
    }

    #[test]
    fn a_sleeping_writer_wakes_for_a_put() {
        let q = Arc::new(PutQueue::default());
        let writer = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut batch = Vec::new();
                let mut seen = Vec::new();
                while q.take_into(&mut batch) {
                    seen.append(&mut batch);
                }
                seen
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        q.submit(1).unwrap();
        q.submit(2).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        q.stop();
        assert_eq!(writer.join().unwrap(), vec![1, 2]);
    }
}
