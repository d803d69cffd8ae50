//! `TelemetryClients`: the open Telemetry streams, by client id, and the producers reached
//! through them.
//!
//! A Telemetry stream is the only way the server can speak first to a v5 client. When a
//! producer sends its Settings, it is registered with the broker's `ProducerManager` as a
//! member of each topic's producer group (a v5 producer's group is its topic, as on Apache's
//! proxy), so the broker's transaction check reaches it: the check becomes a
//! RecoverOrphanedTransactionCommand on the stream, and the client answers with an
//! EndTransaction from SOURCE_SERVER_CHECK. A consumer joins the broker's `ConsumerManager`
//! under its group the same way, for the admin requests addressed to it (see
//! [`crate::consumer_client`]).

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_broker::client::{
    ConsumerManager, ProducerClient, ProducerClientError, ProducerManager,
};
use ferrocket_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferrocket_protocol::message::{property, MessageExt};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::activity::consumer::to_v2_message;
use crate::consumer_client::{consumer_of, GrpcConsumerClient, PendingAnswers};
use crate::transaction::{TransactionData, TransactionDataManager};
use crate::v2::settings::PubSub;
use crate::v2::telemetry_command::Command;
use crate::v2::{ClientType, RecoverOrphanedTransactionCommand, Settings, TelemetryCommand};

/// What the server writes on one client's Telemetry stream.
pub type TelemetrySender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

struct Stream {
    sender: TelemetrySender,
    /// The producer groups the client was registered in.
    producer_groups: Vec<String>,
    /// Whether the client was registered as a consumer.
    consumer: bool,
}

/// The clients with an open Telemetry stream.
pub struct TelemetryClients {
    streams: Mutex<HashMap<String, Stream>>,
    producers: Arc<ProducerManager>,
    consumers: Arc<ConsumerManager>,
    transactions: Arc<TransactionDataManager>,
    pending: Arc<PendingAnswers>,
}

impl TelemetryClients {
    /// An empty table whose producers join `producers` and consumers `consumers`; check-backs
    /// record their transaction in `transactions`.
    pub fn new(
        producers: Arc<ProducerManager>,
        consumers: Arc<ConsumerManager>,
        transactions: Arc<TransactionDataManager>,
    ) -> Self {
        TelemetryClients {
            streams: Mutex::new(HashMap::new()),
            producers,
            consumers,
            transactions,
            pending: Arc::new(PendingAnswers::default()),
        }
    }

    /// A client's answer to a command the server sent (ThreadStackTrace, VerifyMessageResult)
    /// completes the request waiting for it; false when `command` is no such answer.
    pub fn on_answer(&self, command: &TelemetryCommand) -> bool {
        self.pending.on_answer(command)
    }

    /// Registers a consumer's stream under its group (after it left the one it was in).
    fn register_consumer(
        &self,
        client_id: &str,
        settings: &Settings,
        sender: &TelemetrySender,
    ) -> bool {
        self.consumers.unregister_client(client_id);
        let Some((group, info)) = consumer_of(settings) else {
            return false;
        };
        let client = GrpcConsumerClient {
            client_id: client_id.to_string(),
            sender: sender.clone(),
            info,
            pending: self.pending.clone(),
        };
        self.consumers.register_client(&group, Arc::new(client));
        true
    }

    /// `client_id` sent `settings` on the stream written by `sender`: the stream becomes the
    /// client's, and a producer joins the producer group of each topic it publishes to.
    pub fn on_settings(&self, client_id: &str, settings: &Settings, sender: &TelemetrySender) {
        let producer_groups: Vec<String> = match (&settings.client_type, &settings.pub_sub) {
            (Some(t), Some(PubSub::Publishing(p))) if *t == ClientType::Producer as i32 => {
                p.topics.iter().map(|t| t.name.clone()).collect()
            }
            _ => Vec::new(),
        };
        let client: Arc<dyn ProducerClient> = Arc::new(GrpcProducerClient {
            client_id: client_id.to_string(),
            sender: sender.clone(),
            transactions: self.transactions.clone(),
        });
        // settings sent again may name other topics: the client leaves the groups it left
        self.producers.unregister_client(client_id);
        for group in &producer_groups {
            self.producers.register_client(group, client.clone());
        }
        let consumer = self.register_consumer(client_id, settings, sender);
        self.streams.lock().insert(
            client_id.to_string(),
            Stream {
                sender: sender.clone(),
                producer_groups,
                consumer,
            },
        );
    }

    /// The stream written by `sender` ended: the client is forgotten unless it opened a newer
    /// stream meanwhile.
    pub fn on_closed(&self, client_id: &str, sender: &TelemetrySender) {
        let mut streams = self.streams.lock();
        let current = streams
            .get(client_id)
            .is_some_and(|s| s.sender.same_channel(sender));
        if current {
            if let Some(stream) = streams.remove(client_id) {
                if !stream.producer_groups.is_empty() {
                    self.producers.unregister_client(client_id);
                }
                if stream.consumer {
                    self.consumers.unregister_client(client_id);
                }
            }
        }
    }

    /// The stream of `client_id`, if it is open.
    pub fn sender(&self, client_id: &str) -> Option<TelemetrySender> {
        let streams = self.streams.lock();
        let stream = streams.get(client_id)?;
        (!stream.sender.is_closed()).then(|| stream.sender.clone())
    }
}

/// A v5 producer as the broker sees it: its Telemetry stream.
struct GrpcProducerClient {
    client_id: String,
    sender: TelemetrySender,
    transactions: Arc<TransactionDataManager>,
}

impl ProducerClient for GrpcProducerClient {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn is_active(&self) -> bool {
        !self.sender.is_closed()
    }

    fn check_transaction_state(
        &self,
        header: CheckTransactionStateRequestHeader,
        message: MessageExt,
    ) -> Result<(), ProducerClientError> {
        let transaction_id = header
            .transaction_id
            .clone()
            .or_else(|| header.msg_id.clone())
            .unwrap_or_default();
        let group = message
            .message
            .property(property::PGROUP)
            .unwrap_or(&message.message.topic)
            .to_string();
        self.transactions.add(
            &group,
            &transaction_id,
            TransactionData {
                tran_state_table_offset: header.tran_state_table_offset,
                commit_log_offset: header.commit_log_offset,
            },
        );
        let command = TelemetryCommand {
            status: None,
            command: Some(Command::RecoverOrphanedTransactionCommand(
                RecoverOrphanedTransactionCommand {
                    message: Some(to_v2_message(message)),
                    transaction_id,
                },
            )),
        };
        // never wait on a slow client: a check that does not fit is asked again next round
        self.sender
            .try_send(Ok(command))
            .map_err(|e| ProducerClientError {
                client_id: self.client_id.clone(),
                reason: e.to_string(),
            })
    }
}
