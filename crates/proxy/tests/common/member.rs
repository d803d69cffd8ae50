//! A v5 consumer of [`TOPIC`] in one group, for the tests of receives, acks and what happens
//! to a consumer's messages when it leaves.

use std::time::{Duration, Instant};

use ferrocket_proxy::v2::messaging_service_client::MessagingServiceClient;
use ferrocket_proxy::v2::*;
use tonic::transport::Channel;

use super::*;

/// The system properties of a received message.
pub fn props(m: &Message) -> &SystemProperties {
    m.system_properties.as_ref().expect("system properties")
}

/// A v5 consumer of [`TOPIC`] in one group, its Telemetry stream open until dropped.
pub struct Member {
    pub client: MessagingServiceClient<Channel>,
    pub id: String,
    pub group: String,
    /// The invisible duration of its receives without `auto_renew`; 10 s unless changed.
    pub invisible_ms: i64,
    /// Its Telemetry stream; `None` closes it.
    pub telemetry: Option<tokio::sync::mpsc::Sender<TelemetryCommand>>,
}

impl Member {
    pub async fn join(port: u16, group: &str, name: &str, client_type: ClientType) -> Member {
        let mut client = plain_client(port).await;
        let id = format!("{name}@renew@1");
        let settings = consumer_settings_of(client_type, group, "*");
        let (telemetry, _inbound) = open_telemetry(&mut client, &id, settings).await;
        Member {
            client,
            id,
            group: group.to_string(),
            invisible_ms: 10_000,
            telemetry: Some(telemetry),
        }
    }

    /// One receive of at most one message: a push consumer's (`auto_renew`, no invisible
    /// duration) or a simple consumer's with [`Self::invisible_ms`].
    pub async fn receive_one(
        &mut self,
        auto_renew: bool,
        long_polling_ms: i64,
    ) -> (Code, Vec<Message>) {
        let request = ReceiveMessageRequest {
            group: topic(&self.group),
            message_queue: every_queue(),
            filter_expression: None,
            batch_size: 1,
            invisible_duration: millis(self.invisible_ms).filter(|_| !auto_renew),
            auto_renew,
            long_polling_timeout: millis(long_polling_ms),
            attempt_id: None,
        };
        let mut call = super::request(&self.id, request);
        call.set_timeout(Duration::from_secs(30));
        let mut stream = self
            .client
            .receive_message(call)
            .await
            .unwrap()
            .into_inner();
        let (mut code, mut messages) = (Code::Unspecified, Vec::new());
        while let Some(answer) = stream.message().await.unwrap() {
            match answer.content {
                Some(receive_message_response::Content::Status(s)) => {
                    code = Code::try_from(s.code).unwrap();
                }
                Some(receive_message_response::Content::Message(m)) => messages.push(m),
                _ => {}
            }
        }
        (code, messages)
    }

    /// Receives until a message comes or `within` passes.
    pub async fn first_message(&mut self, auto_renew: bool, within: Duration) -> Option<Message> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let (_, mut got) = self.receive_one(auto_renew, 1_000).await;
            if let Some(m) = got.pop() {
                return Some(m);
            }
        }
        None
    }

    /// Receives (without `auto_renew`) within `within` and checks that the message is
    /// `message_id`, delivered for the `attempt`th time.
    pub async fn expect_delivery(
        &mut self,
        within: Duration,
        message_id: &str,
        attempt: i32,
    ) -> Message {
        let m = self.first_message(false, within).await;
        let m = m.unwrap_or_else(|| panic!("{message_id} is not delivered within {within:?}"));
        assert_eq!(props(&m).message_id, message_id, "{m:?}");
        assert_eq!(props(&m).delivery_attempt, Some(attempt), "{m:?}");
        m
    }

    pub async fn ack(&mut self, m: &Message, receipt_handle: &str) -> AckMessageResponse {
        let request = AckMessageRequest {
            group: topic(&self.group),
            topic: topic(TOPIC),
            entries: vec![AckMessageEntry {
                message_id: props(m).message_id.clone(),
                receipt_handle: receipt_handle.to_string(),
                lite_topic: None,
            }],
        };
        let call = super::request(&self.id, request);
        self.client.ack_message(call).await.unwrap().into_inner()
    }

    /// ChangeInvisibleDuration of `m`, named by `receipt_handle`, to `invisible_ms` from now.
    pub async fn change_invisible(
        &mut self,
        m: &Message,
        receipt_handle: &str,
        invisible_ms: i64,
    ) -> ChangeInvisibleDurationResponse {
        let id = &props(m).message_id;
        let request = change_invisible_request(&self.group, receipt_handle, id, invisible_ms);
        let call = super::request(&self.id, request);
        let answer = self.client.change_invisible_duration(call).await;
        answer.unwrap().into_inner()
    }

    pub async fn terminate(&mut self) -> NotifyClientTerminationResponse {
        let request = NotifyClientTerminationRequest {
            group: topic(&self.group),
        };
        let call = super::request(&self.id, request);
        let answer = self.client.notify_client_termination(call).await;
        answer.unwrap().into_inner()
    }
}
