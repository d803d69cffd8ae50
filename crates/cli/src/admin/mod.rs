//! `ferrocket admin <command>`: the operator commands of RocketMQ's mqadmin, with its command
//! names, option letters and table columns, plus `--json` for scripts.

mod cluster;
mod consumer;
mod group;
mod message;
mod namesrv;
mod offset;
mod output;
mod topic;
mod trace;

use std::time::Duration;

use clap::Subcommand;
use ferrocket_client::admin::MQAdminExt;

pub use output::Report;

/// Arguments of `ferrocket admin`.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// Name server address(es), `;`-separated (mqadmin's -n).
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876",
        global = true
    )]
    pub namesrv: String,
    /// Connect over TLS (any server certificate is trusted, as RocketMQ's clients do).
    #[arg(long, global = true)]
    pub tls: bool,
    /// Print the result as JSON instead of mqadmin's table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Timeout of each remote call, in milliseconds.
    #[arg(long = "timeoutMillis", default_value_t = 5000, global = true)]
    pub timeout_millis: u64,
    /// Account to sign requests with (servers with aclEnable=true).
    #[command(flatten)]
    pub credentials: crate::credentials::CredentialArgs,
    /// The mqadmin command.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The mqadmin commands Ferrocket implements.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// List the brokers of every cluster.
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterListArgs),
    /// Print a broker's runtime statistics.
    #[command(name = "brokerStatus")]
    BrokerStatus(cluster::BrokerStatusArgs),
    /// Print a broker's replication state (mqadmin 5.x haStatus).
    #[command(name = "haStatus")]
    HaStatus(cluster::HaStatusArgs),
    /// Print a broker's settings.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(cluster::GetBrokerConfigArgs),
    /// Change one broker setting.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(cluster::UpdateBrokerConfigArgs),
    /// List all topics.
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// Create or update a topic.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete a topic from the brokers and the name servers.
    #[command(name = "deleteTopic")]
    DeleteTopic(topic::DeleteTopicArgs),
    /// Print a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRouteArgs),
    /// Print a topic's offsets per queue.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicStatusArgs),
    /// Create or update a subscription group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Delete a subscription group.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup(group::DeleteSubGroupArgs),
    /// Print a consumer group's progress per queue.
    #[command(name = "consumerProgress")]
    ConsumerProgress(group::ConsumerProgressArgs),
    /// Print a consumer group's members and subscriptions.
    #[command(name = "consumerConnection")]
    ConsumerConnection(group::ConsumerConnectionArgs),
    /// Print what a consumer group's members report about themselves.
    #[command(name = "consumerStatus")]
    ConsumerStatus(consumer::ConsumerStatusArgs),
    /// Print a producer group's connections.
    #[command(name = "producerConnection")]
    ProducerConnection(group::ProducerConnectionArgs),
    /// Print a message by its offset message id.
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryMsgByIdArgs),
    /// List messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryMsgByKeyArgs),
    /// Print a message by its unique key (client message id).
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKeyArgs),
    /// Print a message's trace (producer and consumer records in the trace topic).
    #[command(name = "queryMsgTraceById")]
    QueryMsgTraceById(trace::QueryMsgTraceByIdArgs),
    /// Print the message at a queue offset.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(message::QueryMsgByOffsetArgs),
    /// Print every message of a topic.
    #[command(name = "printMsg")]
    PrintMsg(message::PrintMsgArgs),
    /// Send one message.
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessageArgs),
    /// Read messages of a topic without committing offsets.
    #[command(name = "consumeMessage")]
    ConsumeMessage(message::ConsumeMessageArgs),
    /// Move a consumer group to the first message stored at or after a time.
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(offset::ResetOffsetByTimeArgs),
    /// Move a consumer group to the end of each queue.
    #[command(name = "skipAccumulatedMessage")]
    SkipAccumulatedMessage(offset::SkipAccumulatedMessageArgs),
    /// Make a broker read-only in every name server.
    #[command(name = "wipeWritePerm")]
    WipeWritePerm(namesrv::WritePermArgs),
    /// Give a broker its write permission back in every name server.
    #[command(name = "addWritePerm")]
    AddWritePerm(namesrv::WritePermArgs),
}

/// Runs `ferrocket admin`.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let admin = MQAdminExt::new(&args.namesrv, Duration::from_millis(args.timeout_millis))?
        .with_credentials(args.credentials.credentials()?)
        .with_tls(args.tls)?;
    let result = dispatch(&admin, args.command).await;
    admin.shutdown().await;
    result?.print(args.json)
}

async fn dispatch(admin: &MQAdminExt, command: AdminCommand) -> anyhow::Result<Report> {
    use AdminCommand as C;
    match command {
        C::ClusterList(a) => cluster::cluster_list(admin, a).await,
        C::BrokerStatus(a) => cluster::broker_status(admin, a).await,
        C::HaStatus(a) => cluster::ha_status(admin, a).await,
        C::GetBrokerConfig(a) => cluster::get_broker_config(admin, a).await,
        C::UpdateBrokerConfig(a) => cluster::update_broker_config(admin, a).await,
        C::TopicList(a) => topic::topic_list(admin, a).await,
        C::UpdateTopic(a) => topic::update_topic(admin, a).await,
        C::DeleteTopic(a) => topic::delete_topic(admin, a).await,
        C::TopicRoute(a) => topic::topic_route(admin, a).await,
        C::TopicStatus(a) => topic::topic_status(admin, a).await,
        C::UpdateSubGroup(a) => group::update_sub_group(admin, a).await,
        C::DeleteSubGroup(a) => group::delete_sub_group(admin, a).await,
        C::ConsumerProgress(a) => group::consumer_progress(admin, a).await,
        C::ConsumerConnection(a) => group::consumer_connection(admin, a).await,
        C::ConsumerStatus(a) => consumer::consumer_status(admin, a).await,
        C::ProducerConnection(a) => group::producer_connection(admin, a).await,
        C::QueryMsgById(a) => message::query_msg_by_id(admin, a).await,
        C::QueryMsgByKey(a) => message::query_msg_by_key(admin, a).await,
        C::QueryMsgByUniqueKey(a) => message::query_msg_by_unique_key(admin, a).await,
        C::QueryMsgTraceById(a) => trace::query_msg_trace_by_id(admin, a).await,
        C::QueryMsgByOffset(a) => message::query_msg_by_offset(admin, a).await,
        C::PrintMsg(a) => message::print_msg(admin, a).await,
        C::SendMessage(a) => message::send_message(admin, a).await,
        C::ConsumeMessage(a) => message::consume_message(admin, a).await,
        C::ResetOffsetByTime(a) => offset::reset_offset_by_time(admin, a).await,
        C::SkipAccumulatedMessage(a) => offset::skip_accumulated_message(admin, a).await,
        C::WipeWritePerm(a) => namesrv::write_perm(admin, a, false).await,
        C::AddWritePerm(a) => namesrv::write_perm(admin, a, true).await,
    }
}
