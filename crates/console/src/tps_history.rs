//! `TpsHistory`: per-second put and get rates of the last five minutes, for the overview chart.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::stats::BrokerStatsManager;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

/// Points kept (one per second).
const POINTS: usize = 300;

/// One second of throughput.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TpsPoint {
    /// End of the second, ms since the epoch.
    pub time: i64,
    /// Messages stored per second.
    pub put_tps: f64,
    /// Messages delivered per second.
    pub get_tps: f64,
}

/// A ring of [`TpsPoint`]s.
#[derive(Default)]
pub struct TpsHistory {
    points: Mutex<VecDeque<TpsPoint>>,
}

impl TpsHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every point, oldest first.
    pub fn points(&self) -> Vec<TpsPoint> {
        self.points.lock().iter().copied().collect()
    }

    fn push(&self, p: TpsPoint) {
        let mut points = self.points.lock();
        if points.len() == POINTS {
            points.pop_front();
        }
        points.push_back(p);
    }

    /// Samples the broker's totals every second until `stop` changes.
    pub async fn run(
        self: Arc<Self>,
        stats: Arc<BrokerStatsManager>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let totals = || {
            (
                stats.put_total(),
                stats.get_total(),
                std::time::Instant::now(),
            )
        };
        let mut last = totals();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let now = totals();
            let secs = now.2.duration_since(last.2).as_secs_f64();
            if secs > 0.0 {
                self.push(TpsPoint {
                    time: ferrocket_protocol::util::now_millis(),
                    put_tps: now.0.saturating_sub(last.0) as f64 / secs,
                    get_tps: now.1.saturating_sub(last.1) as f64 / secs,
                });
            }
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_five_minutes() {
        let h = TpsHistory::new();
        for i in 0..(POINTS as i64 + 10) {
            h.push(TpsPoint {
                time: i,
                put_tps: i as f64,
                get_tps: 0.0,
            });
        }
        let points = h.points();
        assert_eq!(points.len(), POINTS);
        assert_eq!(points[0].time, 10);
        assert_eq!(points.last().unwrap().time, POINTS as i64 + 9);
    }
}
