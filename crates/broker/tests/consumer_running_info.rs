//! GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY from an admin tool: the broker passes
//! them on to the consumer named by group and client id and relays its answer.

mod common;

use common::*;
use std::sync::Arc;

use ferrocket_broker::client::{ConsumerAnswer, ConsumerClient, ConsumerClientError};
use ferrocket_protocol::body::consumer_running_info::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo,
};
use ferrocket_protocol::body::heartbeat::MessageModel;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::message::{decode_message, MessageExt};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{Channel, ClientRequestHandler, RemotingClient};
use serde_json::Value;

/// A consumer that answers the running-info and direct-consumption requests as a Java client
/// does, telling in its answers what it was sent.
fn answering_consumer() -> RemotingClient {
    let handler: ClientRequestHandler = Arc::new(|_ch: Channel, req: RemotingCommand| {
        Box::pin(async move {
            let body = match req.code {
                request::GET_CONSUMER_RUNNING_INFO => {
                    let mut info = ConsumerRunningInfo::default();
                    info.properties.insert(
                        "consumerGroup".into(),
                        Value::from(req.ext("consumerGroup")?),
                    );
                    info.jstack = (req.ext("jstackEnable") == Some("true"))
                        .then(|| "\"main\" RUNNABLE".to_string());
                    ferrocket_protocol::body::encode(&info)
                }
                request::CONSUME_MESSAGE_DIRECTLY => {
                    let (message, _) = decode_message(&req.body).ok()?;
                    let result = ConsumeMessageDirectlyResult {
                        consume_result: Some(CMResult::CrSuccess),
                        remark: Some(format!(
                            "{} from {}",
                            String::from_utf8_lossy(&message.message.body),
                            req.ext("brokerName")?
                        )),
                        ..Default::default()
                    };
                    ferrocket_protocol::body::encode(&result)
                }
                _ => return None,
            };
            Some(RemotingCommand::response_to(&req, response::SUCCESS).with_body(body))
        }) as _
    });
    RemotingClient::with_handler(handler)
}

fn running_info(group: &str, client_id: &str, jstack: bool) -> RemotingCommand {
    RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO)
        .with_ext("consumerGroup", group)
        .with_ext("clientId", client_id)
        .with_ext("jstackEnable", jstack)
}

fn consume_directly(group: &str, client_id: &str, msg_id: &str) -> RemotingCommand {
    RemotingCommand::request(request::CONSUME_MESSAGE_DIRECTLY)
        .with_ext("consumerGroup", group)
        .with_ext("clientId", client_id)
        .with_ext("msgId", msg_id)
        .with_ext("topic", "RT")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remoting_consumer_answers_through_the_broker() {
    let b = TestBroker::start().await;
    let consumer = answering_consumer();
    let hb = heartbeat("rcg", "10.0.0.7@c", MessageModel::Clustering, &["RT"]);
    assert_eq!(call(&consumer, &b.addr, hb).await.code, response::SUCCESS);
    let admin = RemotingClient::new();

    let r = call(&admin, &b.addr, running_info("rcg", "10.0.0.7@c", true)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let info: ConsumerRunningInfo = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(info.properties["consumerGroup"], "rcg");
    assert_eq!(info.jstack.as_deref(), Some("\"main\" RUNNABLE"));

    let r = call(&admin, &b.addr, running_info("rcg", "10.0.0.9@gone", false)).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <rcg> <10.0.0.9@gone> not online")
    );

    let sent = call(&admin, &b.addr, send_v2("RT", 0, None, b"hello")).await;
    let msg_id = sent.ext("msgId").unwrap().to_string();
    let r = call(
        &admin,
        &b.addr,
        consume_directly("rcg", "10.0.0.7@c", &msg_id),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let result: ConsumeMessageDirectlyResult = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(result.consume_result, Some(CMResult::CrSuccess));
    let broker_name = b.broker.broker_config().broker_name.clone();
    assert_eq!(result.remark, Some(format!("hello from {broker_name}")));

    let r = call(&admin, &b.addr, consume_directly("rcg", "10.0.0.7@c", "00")).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
}

/// A consumer of another transport that answers at once.
struct FakeClient;

impl ConsumerClient for FakeClient {
    fn client_id(&self) -> &str {
        "grpc@1"
    }

    fn is_active(&self) -> bool {
        true
    }

    fn consumer_running_info(
        &self,
        jstack_enable: bool,
    ) -> Result<ConsumerAnswer<ConsumerRunningInfo>, ConsumerClientError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let info = ConsumerRunningInfo {
            jstack: jstack_enable.then(|| "stack".to_string()),
            ..Default::default()
        };
        let _ = tx.send(Ok(info));
        Ok(rx)
    }

    fn consume_message_directly(
        &self,
        message: MessageExt,
    ) -> Result<ConsumerAnswer<ConsumeMessageDirectlyResult>, ConsumerClientError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(Err(ConsumerClientError {
            code: response::NO_PERMISSION,
            remark: String::from_utf8_lossy(&message.message.body).into_owned(),
        }));
        Ok(rx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_of_another_transport_answers_through_the_broker() {
    let b = TestBroker::start().await;
    b.broker
        .consumer_manager()
        .register_client("gcg", Arc::new(FakeClient));
    let admin = RemotingClient::new();

    let r = call(&admin, &b.addr, running_info("gcg", "grpc@1", true)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let info: ConsumerRunningInfo = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(info.jstack.as_deref(), Some("stack"));

    let sent = call(&admin, &b.addr, send_v2("RT", 0, None, b"fifo")).await;
    let msg_id = sent.ext("msgId").unwrap().to_string();
    let r = call(&admin, &b.addr, consume_directly("gcg", "grpc@1", &msg_id)).await;
    assert_eq!(r.code, response::NO_PERMISSION);
    assert_eq!(r.remark.as_deref(), Some("fifo"));

    b.broker.consumer_manager().unregister_client("grpc@1");
    let r = call(&admin, &b.addr, running_info("gcg", "grpc@1", false)).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
}
