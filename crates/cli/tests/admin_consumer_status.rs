//! `ferrocket admin consumerStatus` and `queryMsgById -g -d` against a real standalone: the
//! broker passes the requests on to a consumer connected over remoting, which answers as a
//! Java client does.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::ferrocket;
use ferrocket_protocol::body::consumer_running_info::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo, SubscriptionKey,
};
use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, SubscriptionData,
};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{Channel, ClientRequestHandler, RemotingClient};
use ferrocket_testkit::output_within;
use serde_json::Value;

const GROUP: &str = "StatusGroup";
const TOPIC: &str = "StatusTopic";
const CLIENT_ID: &str = "10.1.1.1@status";
const CALL: Duration = Duration::from_secs(10);

/// A member's running info: the group's subscription, and a thread dump when asked.
fn running_info(req: &RemotingCommand) -> ConsumerRunningInfo {
    let mut info = ConsumerRunningInfo::default();
    info.properties
        .insert("PROP_CONSUME_TYPE".into(), "CONSUME_PASSIVELY".into());
    info.subscription_set
        .insert(SubscriptionKey(SubscriptionData::tag(TOPIC, "*")));
    info.jstack = (req.ext("jstackEnable") == Some("true"))
        .then(|| "\"ConsumeMessageThread_1\" WAITING".to_string());
    info
}

/// What a Java consumer answers to the two admin requests (nothing to any other).
fn answer(req: &RemotingCommand) -> Option<RemotingCommand> {
    let body = if req.code == request::GET_CONSUMER_RUNNING_INFO {
        ferrocket_protocol::body::encode(&running_info(req))
    } else if req.code == request::CONSUME_MESSAGE_DIRECTLY {
        ferrocket_protocol::body::encode(&ConsumeMessageDirectlyResult {
            consume_result: Some(CMResult::CrSuccess),
            spent_time_mills: 2,
            ..Default::default()
        })
    } else {
        return None;
    };
    Some(RemotingCommand::response_to(req, response::SUCCESS).with_body(body))
}

fn answering_consumer() -> RemotingClient {
    let handler: ClientRequestHandler = Arc::new(|_ch: Channel, req: RemotingCommand| {
        let reply = answer(&req);
        Box::pin(async move { reply }) as _
    });
    RemotingClient::with_handler(handler)
}

fn heartbeat() -> RemotingCommand {
    let data = HeartbeatData {
        client_id: CLIENT_ID.into(),
        producer_data_set: Vec::new(),
        consumer_data_set: vec![ConsumerData {
            group_name: GROUP.into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: vec![SubscriptionData::tag(TOPIC, "*")],
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        without_sub: false,
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(ferrocket_protocol::body::encode(&data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_status_and_direct_consumption() {
    let server = common::standalone().start();
    let broker = format!("127.0.0.1:{}", server.broker_port);
    let consumer = answering_consumer();
    let r = consumer.invoke(&broker, heartbeat(), CALL).await.unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let mut send = RemotingCommand::request(request::SEND_MESSAGE_V2).with_body(&b"direct"[..]);
    SendMessageRequestHeader::new("status_producer", TOPIC).encode_v2(&mut send.ext_fields);
    let r = consumer.invoke(&broker, send, CALL).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let msg_id = r.ext("msgId").unwrap().to_string();

    let namesrv = server.namesrv.clone();
    let dir = server.dir().to_path_buf();
    let admin = move |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", &namesrv]);
        let (ok, out, err) = output_within(ferrocket(&all, &dir), Duration::from_secs(60));
        assert!(ok, "ferrocket {all:?} failed: {err}");
        out
    };
    let (out, detail, json, direct) = tokio::task::spawn_blocking(move || {
        (
            admin(&["consumerStatus", "-g", GROUP]),
            admin(&["consumerStatus", "-g", GROUP, "-i", CLIENT_ID, "-s"]),
            admin(&["consumerStatus", "-g", GROUP, "-i", CLIENT_ID, "--json"]),
            admin(&["queryMsgById", "-i", &msg_id, "-g", GROUP, "-d", CLIENT_ID]),
        )
    })
    .await
    .unwrap();

    assert!(
        out.lines()
            .any(|l| l.contains(CLIENT_ID) && l.ends_with("OK")),
        "{out}"
    );
    assert!(
        out.contains("Same subscription in the same group of consumer"),
        "{out}"
    );
    assert!(
        detail.contains("CONSUME_PASSIVELY") && detail.contains(TOPIC),
        "{detail}"
    );
    assert!(
        detail.contains("\"ConsumeMessageThread_1\" WAITING"),
        "{detail}"
    );
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["subscriptionSet"][0]["topic"], TOPIC, "{json}");
    assert!(json.get("jstack").is_none(), "{json}");
    assert!(
        direct.contains("\"consumeResult\":\"CR_SUCCESS\""),
        "{direct}"
    );
}
