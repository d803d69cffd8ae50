//! consumerStatus: what the members of a consumer group report about themselves, asked
//! through the broker each is connected to (GET_CONSUMER_RUNNING_INFO).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrocket_client::admin::body::ConsumerRunningInfo;
use ferrocket_client::admin::MQAdminExt;
use serde_json::json;

use super::output::{line, version_desc, Report};

/// `consumerStatus` options.
#[derive(clap::Args)]
pub struct ConsumerStatusArgs {
    /// Consumer group name.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Print this member's running info in full (else one line per member).
    #[arg(short = 'i', long = "clientId")]
    client_id: Option<String>,
    /// Include the member's thread dump.
    #[arg(short = 's', long = "jstackEnable")]
    jstack: bool,
}

pub(super) async fn consumer_status(
    admin: &MQAdminExt,
    a: ConsumerStatusArgs,
) -> anyhow::Result<Report> {
    let group = a.group.trim();
    if let Some(client_id) = a.client_id.as_deref().map(str::trim) {
        let info = admin
            .get_consumer_running_info(group, client_id, a.jstack)
            .await?;
        return Ok(Report::new(
            format_info(&info),
            serde_json::to_value(&info)?,
        ));
    }
    let cc = admin.examine_consumer_connection_info(group, None).await?;
    let mut text = String::new();
    let mut members = BTreeMap::new();
    line!(
        text,
        "{:<5} {:<40} {:<12} {}",
        "#Index",
        "#ClientId",
        "#Version",
        "#Answer"
    );
    for (i, c) in cc.connection_set.iter().enumerate() {
        let answer = admin
            .get_consumer_running_info(group, &c.client_id, a.jstack)
            .await;
        let state = match &answer {
            Ok(_) => "OK".to_string(),
            Err(e) => format!("ERROR {e}"),
        };
        line!(
            text,
            "{:<5} {:<40} {:<12} {}",
            format!("{:03}", i + 1),
            c.client_id,
            version_desc(c.version),
            state
        );
        if let Ok(info) = answer {
            members.insert(c.client_id.clone(), info);
        }
    }
    let subscriptions: Vec<_> = members.values().map(|m| &m.subscription_set).collect();
    if subscriptions.windows(2).all(|w| w[0] == w[1]) {
        line!(text, "\nSame subscription in the same group of consumer");
    } else {
        line!(
            text,
            "\nWARN: Different subscription in the same group of consumer!!!"
        );
    }
    Ok(Report::new(text, json!(members)))
}

/// One member's running info as text: properties, subscriptions, queues, rates, threads.
fn format_info(info: &ConsumerRunningInfo) -> String {
    let mut text = String::new();
    line!(text, "#Consumer Properties#");
    for (k, v) in &info.properties {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        line!(text, "{k:<40}: {v}");
    }
    line!(text, "\n#Consumer Subscription#");
    for (i, s) in info.subscription_set.iter().enumerate() {
        let s = &s.0;
        line!(
            text,
            "{:03} Topic: {:<40} ClassFilter: {:<8} SubExpression: {}",
            i + 1,
            s.topic,
            s.class_filter_mode,
            s.sub_string
        );
    }
    line!(text, "\n#Consumer Offset#");
    line!(
        text,
        "{:<64} {:<32} {:<4} {:<20}",
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Consumer Offset"
    );
    for (mq, pq) in &info.mq_table {
        line!(
            text,
            "{:<64} {:<32} {:<4} {:<20}",
            mq.topic,
            mq.broker_name,
            mq.queue_id,
            pq.commit_offset
        );
    }
    line!(text, "\n#Consumer RT&TPS#");
    line!(
        text,
        "{:<64} {:>14} {:>14} {:>14} {:>14} {:>18} {:>25}",
        "#Topic",
        "#Pull RT",
        "#Pull TPS",
        "#Consume RT",
        "#ConsumeOK TPS",
        "#ConsumeFailed TPS",
        "#ConsumeFailedMsgsInHour"
    );
    for (topic, s) in &info.status_table {
        line!(
            text,
            "{:<64} {:>14.2} {:>14.2} {:>14.2} {:>14.2} {:>18.2} {:>25}",
            topic,
            s.pull_rt,
            s.pull_tps,
            s.consume_rt,
            s.consume_ok_tps,
            s.consume_failed_tps,
            s.consume_failed_msgs
        );
    }
    if let Some(jstack) = &info.jstack {
        line!(text, "\n#Consumer jstack#\n{jstack}");
    }
    text
}
