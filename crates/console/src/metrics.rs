//! GET /metrics: Prometheus text exposition (format 0.0.4) of the broker's counters, latency
//! histograms, consumer lag (computed from the offsets at scrape time) and store disk usage.

use crate::broker_view::BrokerView;
use ferrocket_broker::processor::admin_broker_processor::ha_runtime_info;
use ferrocket_broker::stats::TopicCountersSnapshot;
use ferrocket_store::HistogramSnapshot;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::TextEncoder;

use crate::api::groups::lag_by_group;
use crate::disk_usage;

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Picks one counter out of a topic's snapshot.
type CounterOf = fn(&TopicCountersSnapshot) -> u64;

/// A family of `kind` with its help text and no samples yet.
fn family(name: &str, kind: MetricType, help: &str) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help.to_string());
    f.set_field_type(kind);
    f
}

/// A sample labelled `labels` (no labels for a broker-wide value).
fn sample(labels: &[(&str, &str)]) -> Metric {
    let mut m = Metric::default();
    let pairs = labels
        .iter()
        .map(|(name, value)| {
            let mut l = LabelPair::default();
            l.set_name(name.to_string());
            l.set_value(value.to_string());
            l
        })
        .collect();
    m.set_label(pairs);
    m
}

/// Adds a counter sample to `f`.
fn add_counter(f: &mut MetricFamily, labels: &[(&str, &str)], value: u64) {
    let mut m = sample(labels);
    let mut c = Counter::default();
    c.set_value(value as f64);
    m.set_counter(c);
    f.mut_metric().push(m);
}

/// Adds a gauge sample to `f`.
fn add_gauge(f: &mut MetricFamily, labels: &[(&str, &str)], value: f64) {
    let mut m = sample(labels);
    let mut g = Gauge::default();
    g.set_value(value);
    m.set_gauge(g);
    f.mut_metric().push(m);
}

/// A one-sample gauge family.
fn gauge(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut f = family(name, MetricType::GAUGE, help);
    add_gauge(&mut f, &[], value);
    f
}

/// A histogram family from a latency snapshot kept in microseconds, exposed in seconds.
fn histogram(name: &str, help: &str, h: &HistogramSnapshot) -> MetricFamily {
    let mut f = family(name, MetricType::HISTOGRAM, help);
    let mut ph = Histogram::default();
    let buckets = h
        .cumulative
        .iter()
        .map(|(bound_micros, count)| {
            let mut b = Bucket::default();
            b.set_upper_bound(*bound_micros as f64 / 1e6);
            b.set_cumulative_count(*count);
            b
        })
        .collect();
    ph.set_bucket(buckets);
    // the encoder adds the `+Inf` bucket from the sample count
    ph.set_sample_count(h.count);
    ph.set_sample_sum(h.sum_micros as f64 / 1e6);
    let mut m = Metric::default();
    m.set_histogram(ph);
    f.mut_metric().push(m);
    f
}

/// Every metric family, read from the broker at scrape time.
pub fn collect(b: &BrokerView) -> Vec<MetricFamily> {
    let mut out = Vec::with_capacity(16);
    let stats = &b.stats;
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
        let mut f = family(name, MetricType::COUNTER, help);
        for (t, c) in &topics {
            add_counter(&mut f, &[("topic", t)], value(c));
        }
        out.push(f);
    }

    let mut put = family(
        "ferrocket_broker_messages_put_total",
        MetricType::COUNTER,
        "Messages stored, all topics.",
    );
    add_counter(&mut put, &[], stats.put_total());
    out.push(put);
    let mut get = family(
        "ferrocket_broker_messages_get_total",
        MetricType::COUNTER,
        "Messages delivered, all topics.",
    );
    add_counter(&mut get, &[], stats.get_total());
    out.push(get);

    out.push(histogram(
        "ferrocket_send_latency_seconds",
        "Time to handle a send request, from decoding to the stored answer.",
        &stats.send_latency().snapshot(),
    ));
    out.push(histogram(
        "ferrocket_pull_latency_seconds",
        "Time to read a pull's messages from the store (time a long poll waits is not included).",
        &stats.pull_latency().snapshot(),
    ));
    out.push(histogram(
        "ferrocket_store_flush_latency_seconds",
        "Time of CommitLog flushes that wrote data to disk.",
        &b.store.flush_latency().snapshot(),
    ));

    let mut lag = family("ferrocket_consumer_lag_messages", MetricType::GAUGE, "Messages not consumed yet, by consumer group (broker max offset minus committed offset, over the group's queues).");
    for (group, messages) in lag_by_group(b) {
        add_gauge(&mut lag, &[("group", &group)], messages as f64);
    }
    out.push(lag);

    out.extend(store_gauges(b));
    out.extend(ha_gauges(b));
    out
}

/// Replication: on a master each connected slave's lag and transfer rate and the in-sync
/// count; on a slave its HA client's receive rate and last read (its lag is the master's view
/// of it).
fn ha_gauges(b: &BrokerView) -> Vec<MetricFamily> {
    let info = ha_runtime_info(&b.admin);
    if !info.master {
        let client = &info.ha_client_runtime_info;
        return vec![
            gauge(
                "ferrocket_ha_client_received_bytes_per_second",
                "On a slave: CommitLog bytes received from the master in the last complete second.",
                client.transferred_byte_in_second as f64,
            ),
            gauge(
                "ferrocket_ha_client_last_read_timestamp_seconds",
                "On a slave: when bytes last came from the master (Unix time; 0 while not connected).",
                client.last_read_timestamp as f64 / 1000.0,
            ),
        ];
    }
    let mut lag = family(
        "ferrocket_ha_slave_lag_bytes",
        MetricType::GAUGE,
        "CommitLog bytes a connected slave is behind this master (master max offset minus the slave's acknowledged offset), by slave connection.",
    );
    let mut rate = family(
        "ferrocket_ha_slave_transfer_bytes_per_second",
        MetricType::GAUGE,
        "Bytes sent to a connected slave in the last complete second, by slave connection.",
    );
    for c in &info.ha_connection_info {
        add_gauge(&mut lag, &[("slave", &c.addr)], c.diff as f64);
        add_gauge(
            &mut rate,
            &[("slave", &c.addr)],
            c.transferred_byte_in_second as f64,
        );
    }
    vec![
        lag,
        rate,
        gauge(
            "ferrocket_ha_slaves_connected",
            "Slaves connected to this master's HA port.",
            info.ha_connection_info.len() as f64,
        ),
        gauge(
            "ferrocket_ha_slaves_in_sync",
            "Connected slaves within haMaxGapNotInSync of this master.",
            f64::from(info.in_sync_slave_nums),
        ),
    ]
}

/// Disk usage and CommitLog offsets.
fn store_gauges(b: &BrokerView) -> Vec<MetricFamily> {
    let disk = disk_usage::measure(&b.store_config);
    let mut used = family(
        "ferrocket_store_disk_used_bytes",
        MetricType::GAUGE,
        "Disk space allocated by the store, by part (commitlog, consumequeue, total).",
    );
    add_gauge(
        &mut used,
        &[("part", "commitlog")],
        disk.commit_log_bytes as f64,
    );
    add_gauge(
        &mut used,
        &[("part", "consumequeue")],
        disk.consume_queue_bytes as f64,
    );
    add_gauge(&mut used, &[("part", "total")], disk.total_bytes as f64);
    let store = &b.store;
    vec![
        used,
        gauge(
            "ferrocket_store_disk_used_ratio",
            "Used fraction of the file system holding the CommitLog (-1 if unknown).",
            disk.filesystem_used_ratio,
        ),
        gauge(
            "ferrocket_store_commitlog_max_offset_bytes",
            "CommitLog offset just past the newest record.",
            store.get_max_phy_offset() as f64,
        ),
        gauge(
            "ferrocket_store_commitlog_unflushed_bytes",
            "CommitLog bytes written but not flushed yet.",
            (store.get_max_phy_offset() - store.get_flushed_phy_offset()).max(0) as f64,
        ),
    ]
}

/// Renders every metric in the Prometheus text format (0.0.4); families without samples
/// (no topic or group yet) are left out.
pub fn render(b: &BrokerView) -> String {
    let families: Vec<MetricFamily> = collect(b)
        .into_iter()
        .filter(|f| !f.get_metric().is_empty())
        .collect();
    TextEncoder::new()
        .encode_to_string(&families)
        .unwrap_or_else(|e| format!("# cannot encode the metrics: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(families: &[MetricFamily]) -> String {
        TextEncoder::new().encode_to_string(families).unwrap()
    }

    #[test]
    fn label_values_are_escaped() {
        let mut f = family("x_total", MetricType::COUNTER, "help");
        add_counter(&mut f, &[("topic", "a\"b\\c\nd")], 1);
        let out = text(&[f]);
        assert!(
            out.contains("x_total{topic=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn histogram_lines() {
        let h = ferrocket_store::LatencyHistogram::new();
        h.observe(std::time::Duration::from_millis(3));
        let out = text(&[histogram("x_seconds", "help", &h.snapshot())]);
        assert!(out.contains("# TYPE x_seconds histogram\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.0025\"} 0\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_count 1\n"), "{out}");
    }
}
