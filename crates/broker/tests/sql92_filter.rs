//! SQL92 subscriptions end to end: a real broker over TCP, messages with user properties,
//! pulls carrying or relying on a SQL92 expression, and CHECK_CLIENT_CONFIG.

mod common;

use common::*;
use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

const TOPIC: &str = "SqlTopic";

/// Sends ten messages to queue 0: body `m{i}`, TAGS even/odd, property `n = i` except on
/// multiples of 4, which have no `n`.
async fn send_numbered(client: &RemotingClient, addr: &str) {
    for i in 0..10 {
        let mut h = SendMessageRequestHeader::new("sql_producer", TOPIC);
        h.queue_id = 0;
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        let mut props = format!("TAGS\u{1}{tag}\u{2}WAIT\u{1}true\u{2}");
        if i % 4 != 0 {
            props.push_str(&format!("n\u{1}{i}\u{2}"));
        }
        h.properties = Some(props);
        let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
        h.encode_v2(&mut cmd.ext_fields);
        cmd.body = bytes::Bytes::from(format!("m{i}"));
        let r = call(client, addr, cmd).await;
        assert_eq!(r.code, response::SUCCESS, "send: {:?}", r.remark);
    }
}

/// A pull of queue 0 with a SQL92 expression in the request.
fn sql_pull(group: &str, offset: i64, expression: &str) -> RemotingCommand {
    pull(group, TOPIC, 0, offset, SUBSCRIBE, Some(expression), 0)
        .with_ext("expressionType", "SQL92")
}

fn bodies(r: &RemotingCommand) -> Vec<String> {
    decode_records(&r.body)
        .into_iter()
        .map(|(_, _, body)| String::from_utf8(body).unwrap())
        .collect()
}

fn next_begin(r: &RemotingCommand) -> i64 {
    r.ext("nextBeginOffset").unwrap().parse().unwrap()
}

fn sql_heartbeat(group: &str, expression: &str, version: i64) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: format!("{group}@client"),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: vec![SubscriptionData {
                topic: TOPIC.into(),
                sub_string: expression.into(),
                expression_type: "SQL92".into(),
                sub_version: version,
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(ferrocket_protocol::body::encode(&data))
}

fn check_client_config(expression_type: &str, expression: &str) -> RemotingCommand {
    let body = serde_json::json!({
        "clientId": "127.0.0.1@check",
        "group": "sql_group",
        "subscriptionData": {
            "topic": TOPIC,
            "subString": expression,
            "expressionType": expression_type,
            "subVersion": 1,
            "tagsSet": [],
            "codeSet": [],
            "classFilterMode": false
        }
    });
    RemotingCommand::request(request::CHECK_CLIENT_CONFIG)
        .with_body(serde_json::to_vec(&body).unwrap())
}

fn filtering_broker_config() -> ferrocket_broker::BrokerConfig {
    ferrocket_broker::BrokerConfig {
        enable_property_filter: true,
        ..broker_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_return_only_matching_messages_and_move_past_the_rest() {
    let b = TestBroker::start_with(filtering_broker_config()).await;
    let client = RemotingClient::new();
    send_numbered(&client, &b.addr).await;

    let r = call(
        &client,
        &b.addr,
        sql_pull("g1", 0, "n BETWEEN 2 AND 7 AND TAGS = 'odd'"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["m3", "m5", "m7"]);
    assert_eq!(
        next_begin(&r),
        10,
        "the scan moved past every filtered message"
    );

    // missing properties: `n IS NULL` selects them, a comparison never does
    let r = call(&client, &b.addr, sql_pull("g1", 0, "n IS NULL")).await;
    assert_eq!(bodies(&r), ["m0", "m4", "m8"]);
    let r = call(&client, &b.addr, sql_pull("g1", 0, "n <> 3")).await;
    assert_eq!(bodies(&r), ["m1", "m2", "m5", "m6", "m7", "m9"]);
    let r = call(
        &client,
        &b.addr,
        sql_pull("g1", 0, "TAGS IN ('even') AND NOT (n > 5)"),
    )
    .await;
    assert_eq!(bodies(&r), ["m2"]);

    // nothing left that matches: NO_MATCHED_MSG (pull again at once from nextBeginOffset)
    let r = call(&client, &b.addr, sql_pull("g1", 8, "n = 3")).await;
    assert_eq!(r.code, response::PULL_RETRY_IMMEDIATELY);
    assert!(r.body.is_empty());
    assert_eq!(next_begin(&r), 10);
    let r = call(&client, &b.addr, sql_pull("g1", 10, "n = 3")).await;
    assert_eq!(r.code, response::PULL_NOT_FOUND);

    // an expression that does not compile
    let r = call(&client, &b.addr, sql_pull("g1", 0, "n BETWEEN")).await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert_eq!(
        r.remark.as_deref(),
        Some("parse the consumer's subscription failed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_subscription_filters_pulls_without_one() {
    let b = TestBroker::start_with(filtering_broker_config()).await;
    let client = RemotingClient::new();
    send_numbered(&client, &b.addr).await;

    let hb = call(&client, &b.addr, sql_heartbeat("g2", "n > 6", 5)).await;
    assert_eq!(hb.code, response::SUCCESS);
    let mut registered_pull = pull("g2", TOPIC, 0, 0, 0, None, 0).with_ext("subVersion", 5);
    let r = call(&client, &b.addr, registered_pull.clone()).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["m7", "m9"]);

    // a newer subscription replaces the selector
    call(&client, &b.addr, sql_heartbeat("g2", "n < 2", 6)).await;
    registered_pull = registered_pull.with_ext("subVersion", 6);
    let r = call(&client, &b.addr, registered_pull).await;
    assert_eq!(bodies(&r), ["m1"]);

    // a subscription that does not compile is never registered
    call(&client, &b.addr, sql_heartbeat("g3", "n >", 1)).await;
    let r = call(
        &client,
        &b.addr,
        pull("g3", TOPIC, 0, 0, 0, None, 0).with_ext("subVersion", 1),
    )
    .await;
    assert_eq!(r.code, response::FILTER_DATA_NOT_EXIST);
    assert_eq!(
        r.remark.as_deref(),
        Some("The broker's consumer filter data is not exist!Your expression may be wrong!")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_pull_wakes_for_a_matching_message() {
    let b = TestBroker::start_with(filtering_broker_config()).await;
    let client = RemotingClient::new();
    send_numbered(&client, &b.addr).await;
    let parked = {
        let client = client.clone();
        let addr = b.addr.clone();
        tokio::spawn(async move {
            let cmd = pull(
                "g4",
                TOPIC,
                0,
                10,
                SUSPEND_AND_SUBSCRIBE,
                Some("n >= 100"),
                20_000,
            )
            .with_ext("expressionType", "SQL92");
            call(&client, &addr, cmd).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut h = SendMessageRequestHeader::new("sql_producer", TOPIC);
    h.queue_id = 0;
    h.properties = Some("n\u{1}100\u{2}WAIT\u{1}true\u{2}".into());
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
    h.encode_v2(&mut cmd.ext_fields);
    cmd.body = bytes::Bytes::from_static(b"late");
    assert_eq!(call(&client, &b.addr, cmd).await.code, response::SUCCESS);
    let r = parked.await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(bodies(&r), ["late"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_client_config_validates_sql92() {
    let b = TestBroker::start_with(filtering_broker_config()).await;
    let client = RemotingClient::new();
    let r = call(
        &client,
        &b.addr,
        check_client_config("SQL92", "a = 1 AND b IS NOT NULL"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = call(&client, &b.addr, check_client_config("TAG", "*")).await;
    assert_eq!(r.code, response::SUCCESS);
    let r = call(&client, &b.addr, check_client_config("SQL92", "a = = 1")).await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED);
    let remark = r.remark.unwrap();
    assert!(
        remark.starts_with(
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \" \"=\" \"= \"\" at line 1, column 5."
        ),
        "{remark}"
    );
    let r = call(
        &client,
        &b.addr,
        check_client_config("SQL92", "a BETWEEN 5 AND 1"),
    )
    .await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert!(r.remark.unwrap().contains("Illegal values of between"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_enable_property_filter_sql92_is_refused_as_rocketmq_does() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let expected = "The broker does not support consumer to filter message by SQL92";
    let r = call(&client, &b.addr, check_client_config("SQL92", "a = 1")).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some(expected));
    let r = call(&client, &b.addr, check_client_config("TAG", "*")).await;
    assert_eq!(r.code, response::SUCCESS);

    send_numbered(&client, &b.addr).await;
    let r = call(&client, &b.addr, sql_pull("g5", 0, "n > 1")).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some(expected));
}
