//! An admin tool's requests to a v5 consumer, against the real binary: GET_CONSUMER_RUNNING_INFO
//! with `jstackEnable` reaches the consumer as a PrintThreadStackTraceCommand on its Telemetry
//! stream and CONSUME_MESSAGE_DIRECTLY as a VerifyMessageCommand; the consumer's answers come
//! back to the admin tool as the remoting response.

mod common;

use std::time::Duration;

use common::*;
use ferrocket_protocol::body::consumer_running_info::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo,
};
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_proxy::v2::*;
use ferrocket_remoting::RemotingClient;
use tonic::Streaming;

const GROUP: &str = "GrpcAdminGroup";
const CALL: Duration = Duration::from_secs(15);

fn consumer_settings() -> Settings {
    consumer_settings_of(ClientType::PushConsumer, GROUP, "TagA")
}

async fn next_command(inbound: &mut Streaming<TelemetryCommand>) -> telemetry_command::Command {
    tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("the server writes a command")
        .unwrap()
        .expect("a command")
        .command
        .expect("with content")
}

fn answer(status: Code, command: telemetry_command::Command) -> TelemetryCommand {
    TelemetryCommand {
        status: Some(Status {
            code: status as i32,
            message: String::new(),
        }),
        command: Some(command),
    }
}

fn running_info(client_id: &str, jstack: bool) -> RemotingCommand {
    RemotingCommand::request(rq::GET_CONSUMER_RUNNING_INFO)
        .with_ext("consumerGroup", GROUP)
        .with_ext("clientId", client_id)
        .with_ext("jstackEnable", jstack)
}

/// Stores a message over remoting; returns its offset message id.
async fn store(admin: &RemotingClient, broker: &str, body: &[u8]) -> String {
    let h = SendMessageRequestHeader::new("admin_test_producer", TOPIC);
    let mut cmd = RemotingCommand::request(rq::SEND_MESSAGE_V2).with_body(body.to_vec());
    h.encode_v2(&mut cmd.ext_fields);
    let r = admin.invoke(broker, cmd, CALL).await.unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    r.ext("msgId").unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requests_reach_a_v5_consumer_on_telemetry() {
    let server = start("");
    let broker = server.standalone.broker.clone();
    let mut client = plain_client(server.grpc_port).await;
    let id = "admin-consumer@1@1";
    let (tx, mut inbound) = open_telemetry(&mut client, id, consumer_settings()).await;
    let admin = RemotingClient::new();

    // without a thread dump the settings answer at once
    let r = admin
        .invoke(&broker, running_info(id, false), CALL)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let info: ConsumerRunningInfo = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
    let sub = &info.subscription_set.iter().next().unwrap().0;
    assert_eq!(
        (sub.topic.as_str(), sub.sub_string.as_str()),
        (TOPIC, "TagA")
    );
    assert!(info.jstack.is_none());

    let call = tokio::spawn({
        let (admin, broker) = (admin.clone(), broker.clone());
        async move { admin.invoke(&broker, running_info(id, true), CALL).await }
    });
    let telemetry_command::Command::PrintThreadStackTraceCommand(print) =
        next_command(&mut inbound).await
    else {
        panic!("expected PrintThreadStackTraceCommand");
    };
    let trace = ThreadStackTrace {
        nonce: print.nonce,
        thread_stack_trace: Some("\"main\" RUNNABLE".to_string()),
    };
    let reply = answer(
        Code::Ok,
        telemetry_command::Command::ThreadStackTrace(trace),
    );
    tx.send(reply).await.unwrap();
    let r = call.await.unwrap().unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let info: ConsumerRunningInfo = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(info.jstack.as_deref(), Some("\"main\" RUNNABLE"));

    let msg_id = store(&admin, &broker, b"verify me").await;
    let direct = RemotingCommand::request(rq::CONSUME_MESSAGE_DIRECTLY)
        .with_ext("consumerGroup", GROUP)
        .with_ext("clientId", id)
        .with_ext("msgId", &msg_id)
        .with_ext("topic", TOPIC);
    let call = tokio::spawn({
        let (admin, broker) = (admin.clone(), broker.clone());
        async move { admin.invoke(&broker, direct, CALL).await }
    });
    let telemetry_command::Command::VerifyMessageCommand(verify) = next_command(&mut inbound).await
    else {
        panic!("expected VerifyMessageCommand");
    };
    let message = verify.message.expect("the message");
    assert_eq!(message.body.as_ref(), b"verify me");
    assert_eq!(message.topic.unwrap().name, TOPIC);
    let result = VerifyMessageResult {
        nonce: verify.nonce,
    };
    let reply = answer(
        Code::FailedToConsumeMessage,
        telemetry_command::Command::VerifyMessageResult(result),
    );
    tx.send(reply).await.unwrap();
    let r = call.await.unwrap().unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let result: ConsumeMessageDirectlyResult = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(result.consume_result, Some(CMResult::CrLater));

    // a closed stream leaves the group
    drop(tx);
    drop(inbound);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = admin
            .invoke(&broker, running_info(id, false), CALL)
            .await
            .unwrap();
        if r.code == response::SYSTEM_ERROR {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer still online"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
