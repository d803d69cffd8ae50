//! `BrokerStatsManager`: message totals and rates for GET_BROKER_RUNTIME_INFO, plus the
//! per-topic counters and latency histograms the metrics endpoint exposes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferrocket_store::{LatencyHistogram, PutMessageResult};
use parking_lot::Mutex;

use super::topic_stats::TopicStatsTable;

/// Interval between rate samples.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// Samples kept: enough for a 600 s window.
const SAMPLES: usize = 61;

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    put: u64,
    get: u64,
}

/// Counts stored and delivered messages and derives rates over 10 s, 60 s and 600 s.
pub struct BrokerStatsManager {
    msg_put_total: AtomicU64,
    msg_get_total: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
    topics: TopicStatsTable,
    send_latency: LatencyHistogram,
    pull_latency: LatencyHistogram,
}

/// Records the time from its creation to its drop into a histogram.
pub struct LatencyTimer<'a> {
    histogram: &'a LatencyHistogram,
    started: Instant,
}

impl Drop for LatencyTimer<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed());
    }
}

impl Default for BrokerStatsManager {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerStatsManager {
    /// Zero counters.
    pub fn new() -> Self {
        let mut samples = VecDeque::with_capacity(SAMPLES);
        samples.push_back(Sample {
            at: Instant::now(),
            put: 0,
            get: 0,
        });
        BrokerStatsManager {
            msg_put_total: AtomicU64::new(0),
            msg_get_total: AtomicU64::new(0),
            samples: Mutex::new(samples),
            topics: TopicStatsTable::default(),
            send_latency: LatencyHistogram::new(),
            pull_latency: LatencyHistogram::new(),
        }
    }

    /// Counts a put's stored messages and bytes for `topic` (nothing when it failed).
    pub fn on_put(&self, topic: &str, result: &PutMessageResult) {
        if result.is_ok() {
            self.topics.get(topic).add_put_result(result);
        }
    }

    /// Counts messages and bytes a pull delivered from `topic`.
    pub fn on_get(&self, topic: &str, messages: usize, bytes: usize) {
        if messages > 0 {
            self.topics
                .get(topic)
                .add_out(messages as u64, bytes as u64);
        }
    }

    /// Times a send request until the returned guard drops.
    pub fn send_timer(&self) -> LatencyTimer<'_> {
        LatencyTimer {
            histogram: &self.send_latency,
            started: Instant::now(),
        }
    }

    /// Times a pull's store read until the returned guard drops.
    pub fn pull_timer(&self) -> LatencyTimer<'_> {
        LatencyTimer {
            histogram: &self.pull_latency,
            started: Instant::now(),
        }
    }

    /// Per-topic counters.
    pub fn topic_stats(&self) -> &TopicStatsTable {
        &self.topics
    }

    /// Send request latency.
    pub fn send_latency(&self) -> &LatencyHistogram {
        &self.send_latency
    }

    /// Pull store-read latency (time a long poll is parked is not included).
    pub fn pull_latency(&self) -> &LatencyHistogram {
        &self.pull_latency
    }

    /// `n` messages stored.
    pub fn inc_put(&self, n: u64) {
        self.msg_put_total.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` messages delivered to consumers.
    pub fn inc_get(&self, n: u64) {
        self.msg_get_total.fetch_add(n, Ordering::Relaxed);
    }

    /// Messages stored since start.
    pub fn put_total(&self) -> u64 {
        self.msg_put_total.load(Ordering::Relaxed)
    }

    /// Messages delivered since start.
    pub fn get_total(&self) -> u64 {
        self.msg_get_total.load(Ordering::Relaxed)
    }

    /// Records one sample; called every [`SAMPLE_INTERVAL`].
    pub fn sample(&self) {
        let s = Sample {
            at: Instant::now(),
            put: self.put_total(),
            get: self.get_total(),
        };
        let mut samples = self.samples.lock();
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back(s);
    }

    /// `"tps10 tps60 tps600"` for stored messages, the format mqadmin parses.
    pub fn put_tps(&self) -> String {
        self.tps(|s| s.put, self.put_total())
    }

    /// `"tps10 tps60 tps600"` for delivered messages.
    pub fn get_transferred_tps(&self) -> String {
        self.tps(|s| s.get, self.get_total())
    }

    fn tps(&self, value: impl Fn(&Sample) -> u64, now_value: u64) -> String {
        let samples = self.samples.lock();
        let now = Instant::now();
        let rate = |window: Duration| {
            let base = samples
                .iter()
                .find(|s| now.duration_since(s.at) <= window)
                .or(samples.back());
            match base {
                Some(b) => {
                    let secs = now.duration_since(b.at).as_secs_f64();
                    if secs < 0.001 {
                        0.0
                    } else {
                        (now_value.saturating_sub(value(b))) as f64 / secs
                    }
                }
                None => 0.0,
            }
        };
        format!(
            "{:.2} {:.2} {:.2}",
            rate(Duration::from_secs(10)),
            rate(Duration::from_secs(60)),
            rate(Duration::from_secs(600))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_three_rates() {
        let s = BrokerStatsManager::new();
        s.inc_put(5);
        s.inc_get(2);
        s.sample();
        let tps = s.put_tps();
        assert_eq!(tps.split(' ').count(), 3);
        for part in tps.split(' ') {
            assert!(part.parse::<f64>().is_ok(), "{tps}");
        }
        assert_eq!(s.put_total(), 5);
        assert_eq!(s.get_total(), 2);
    }
}
