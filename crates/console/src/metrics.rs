//! GET /metrics: Prometheus text exposition (format 0.0.4) of the broker's counters, latency
//! histograms, consumer lag (computed from the offsets at scrape time) and store disk usage.

use std::fmt::Write;

use ferrocket_broker::stats::TopicCountersSnapshot;
use ferrocket_broker::BrokerController;
use ferrocket_store::HistogramSnapshot;

use crate::api::groups::lag_by_group;
use crate::disk_usage;

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Picks one counter out of a topic's snapshot.
type CounterOf = fn(&TopicCountersSnapshot) -> u64;

/// Escapes a label value (`\`, `"` and newlines).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    header(out, name, "histogram", help);
    for (bound_micros, count) in &h.cumulative {
        let le = *bound_micros as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum_micros as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Renders every metric.
pub fn render(b: &BrokerController) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let stats = b.broker_stats_manager();
    let topics = stats.topic_stats().snapshot();

    let per_topic: [(&str, &str, CounterOf); 4] = [
        (
            "ferrocket_messages_in_total",
            "Messages stored, by topic.",
            |c| c.messages_in,
        ),
        (
            "ferrocket_bytes_in_total",
            "Bytes of stored records, by topic.",
            |c| c.bytes_in,
        ),
        (
            "ferrocket_messages_out_total",
            "Messages delivered to consumers by pulls, by topic.",
            |c| c.messages_out,
        ),
        (
            "ferrocket_bytes_out_total",
            "Bytes of records delivered to consumers by pulls, by topic.",
            |c| c.bytes_out,
        ),
    ];
    for (name, help, value) in per_topic {
        header(&mut out, name, "counter", help);
        for (t, c) in &topics {
            let _ = writeln!(out, "{name}{{topic=\"{}\"}} {}", label(t), value(c));
        }
    }

    header(
        &mut out,
        "ferrocket_broker_messages_put_total",
        "counter",
        "Messages stored, all topics.",
    );
    let _ = writeln!(
        out,
        "ferrocket_broker_messages_put_total {}",
        stats.put_total()
    );
    header(
        &mut out,
        "ferrocket_broker_messages_get_total",
        "counter",
        "Messages delivered, all topics.",
    );
    let _ = writeln!(
        out,
        "ferrocket_broker_messages_get_total {}",
        stats.get_total()
    );

    histogram(
        &mut out,
        "ferrocket_send_latency_seconds",
        "Time to handle a send request, from decoding to the stored answer.",
        &stats.send_latency().snapshot(),
    );
    histogram(
        &mut out,
        "ferrocket_pull_latency_seconds",
        "Time to read a pull's messages from the store (time a long poll waits is not included).",
        &stats.pull_latency().snapshot(),
    );
    histogram(
        &mut out,
        "ferrocket_store_flush_latency_seconds",
        "Time of CommitLog flushes that wrote data to disk.",
        &b.message_store().flush_latency().snapshot(),
    );

    header(&mut out, "ferrocket_consumer_lag_messages", "gauge", "Messages not consumed yet, by consumer group (broker max offset minus committed offset, over the group's queues).");
    for (group, lag) in lag_by_group(b) {
        let _ = writeln!(
            out,
            "ferrocket_consumer_lag_messages{{group=\"{}\"}} {lag}",
            label(&group)
        );
    }

    let disk = disk_usage::measure(b.message_store_config());
    header(
        &mut out,
        "ferrocket_store_disk_used_bytes",
        "gauge",
        "Disk space allocated by the store, by part (commitlog, consumequeue, total).",
    );
    let _ = writeln!(
        out,
        "ferrocket_store_disk_used_bytes{{part=\"commitlog\"}} {}",
        disk.commit_log_bytes
    );
    let _ = writeln!(
        out,
        "ferrocket_store_disk_used_bytes{{part=\"consumequeue\"}} {}",
        disk.consume_queue_bytes
    );
    let _ = writeln!(
        out,
        "ferrocket_store_disk_used_bytes{{part=\"total\"}} {}",
        disk.total_bytes
    );
    header(
        &mut out,
        "ferrocket_store_disk_used_ratio",
        "gauge",
        "Used fraction of the file system holding the CommitLog (-1 if unknown).",
    );
    let _ = writeln!(
        out,
        "ferrocket_store_disk_used_ratio {}",
        disk.filesystem_used_ratio
    );
    let store = b.message_store();
    header(
        &mut out,
        "ferrocket_store_commitlog_max_offset_bytes",
        "gauge",
        "CommitLog offset just past the newest record.",
    );
    let _ = writeln!(
        out,
        "ferrocket_store_commitlog_max_offset_bytes {}",
        store.get_max_phy_offset()
    );
    header(
        &mut out,
        "ferrocket_store_commitlog_unflushed_bytes",
        "gauge",
        "CommitLog bytes written but not flushed yet.",
    );
    let _ = writeln!(
        out,
        "ferrocket_store_commitlog_unflushed_bytes {}",
        (store.get_max_phy_offset() - store.get_flushed_phy_offset()).max(0)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn histogram_lines() {
        let h = ferrocket_store::LatencyHistogram::new();
        h.observe(std::time::Duration::from_millis(3));
        let mut out = String::new();
        histogram(&mut out, "x_seconds", "help", &h.snapshot());
        assert!(out.contains("x_seconds_bucket{le=\"0.0025\"} 0\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_count 1\n"), "{out}");
    }
}
