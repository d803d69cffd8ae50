//! 1,000 topics and 1,000 consumer groups (with committed offsets): the lists are filtered and
//! paginated on the server with the right totals, and `/metrics` reports every group's lag.

mod common;

use common::{get_json, http, metric, Standalone};
use serde_json::{json, Map, Value};

const N: usize = 1000;

/// The broker's own config files, as a broker that had these topics and groups left them.
fn config_files() -> Vec<(&'static str, String)> {
    let mut topics = Map::new();
    let mut groups = Map::new();
    let mut offsets = Map::new();
    for i in 0..N {
        let t = format!("scale-topic-{i:04}");
        let g = format!("scale-group-{i:04}");
        topics.insert(
            t.clone(),
            json!({"topicName": t, "readQueueNums": 2, "writeQueueNums": 2, "perm": 6}),
        );
        groups.insert(g.clone(), json!({"groupName": g, "consumeEnable": true}));
        offsets.insert(format!("{t}@{g}"), json!({"0": 0, "1": 0}));
    }
    vec![
        (
            "config/topics.json",
            json!({"topicConfigTable": topics}).to_string(),
        ),
        (
            "config/subscriptionGroup.json",
            json!({"subscriptionGroupTable": groups}).to_string(),
        ),
        (
            "config/consumerOffset.json",
            json!({"offsetTable": offsets}).to_string(),
        ),
    ]
}

#[test]
fn thousand_topics_and_groups_are_paginated() {
    let server = Standalone::start_with_files("", &config_files());
    let url = server.url().to_string();

    let page = get_json(&format!("{url}/api/topics?q=scale-topic-&page=20&size=50"));
    assert_eq!(page["total"], N, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert_eq!(items[0]["topic"], "scale-topic-0950");
    assert_eq!(items[49]["topic"], "scale-topic-0999");
    let past = get_json(&format!("{url}/api/topics?q=scale-topic-&page=21&size=50"));
    assert_eq!(past["total"], N);
    assert!(past["items"].as_array().unwrap().is_empty());
    let all = get_json(&format!("{url}/api/topics?size=10"));
    assert!(all["total"].as_u64().unwrap() >= N as u64);
    assert_eq!(all["items"].as_array().unwrap().len(), 10);
    let one = get_json(&format!("{url}/api/topics?q=SCALE-TOPIC-0042"));
    assert_eq!(one["total"], 1);
    let system = get_json(&format!("{url}/api/topics?kind=system&q=scale"));
    assert_eq!(system["total"], 0);

    let groups = get_json(&format!("{url}/api/groups?q=scale-group-&page=3&size=100"));
    assert_eq!(groups["total"], N, "{groups}");
    let items = groups["items"].as_array().unwrap();
    assert_eq!(items.len(), 100);
    assert_eq!(items[0]["group"], "scale-group-0200");
    assert_eq!(items[0]["online"], false);
    assert_eq!(items[0]["topics"], json!(["scale-topic-0200"]));
    assert_eq!(items[0]["lag"], 0);

    let overview = get_json(&format!("{url}/api/overview"));
    assert!(overview["topicCount"].as_u64().unwrap() >= N as u64);
    assert!(overview["groupCount"].as_u64().unwrap() >= N as u64);

    let (status, m) = http("GET", &format!("{url}/metrics"), None);
    assert_eq!(status, 200);
    let lag_series = m
        .lines()
        .filter(|l| l.starts_with("ferrocket_consumer_lag_messages{group=\"scale-group-"))
        .count();
    assert_eq!(lag_series, N);
    assert_eq!(
        metric(
            &m,
            "ferrocket_consumer_lag_messages{group=\"scale-group-0500\"}"
        ),
        Some(0.0)
    );

    // a page size above the limit is capped, not refused
    let capped = get_json(&format!("{url}/api/topics?q=scale-topic-&size=100000"));
    assert_eq!(capped["size"], 500);
    assert_eq!(capped["items"].as_array().unwrap().len(), 500);
    let bad: Value =
        serde_json::from_str(&http("GET", &format!("{url}/api/topics?page=x"), None).1).unwrap();
    assert!(bad["error"].as_str().unwrap().contains("page"), "{bad}");
}
