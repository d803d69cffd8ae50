//! `ferrocket`: name server, broker, standalone mode, quickstart tools and benchmarks in one binary.

use clap::{Parser, Subcommand};

mod admin;
mod advertise;
mod allocator;
mod bench;
mod bench_topics;
mod broker;
mod config;
mod console;
mod consume;
mod controller;
mod controller_mode;
mod credentials;
mod grpc;
mod logging;
mod namesrv;
mod net;
mod produce;
mod properties;
mod ready;
mod signals;
mod standalone;

/// Ferrocket: a RocketMQ-compatible message broker.
#[derive(Parser)]
#[command(name = "ferrocket", version, about)]
struct Cli {
    /// Log filter (`info`, `debug`, `ferrocket_store=debug,info`); overrides `RUST_LOG` and the
    /// config file's `logLevel`.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a name server.
    Namesrv(namesrv::NamesrvArgs),
    /// Run a controller of RocketMQ 5's controller mode.
    Controller(controller::ControllerArgs),
    /// Run a broker.
    Broker(broker::BrokerArgs),
    /// Run a name server and a broker in one process with a local store.
    Standalone(standalone::StandaloneArgs),
    /// Send messages to a topic (quickstart producer).
    Produce(produce::ProduceArgs),
    /// Consume a topic in a group and print the messages (quickstart consumer).
    Consume(consume::ConsumeArgs),
    /// Measure produce or consume throughput and latency.
    Bench(bench::BenchArgs),
    /// Operate a cluster with mqadmin's commands (clusterList, updateTopic, ...).
    Admin(admin::AdminArgs),
    /// Read a password from standard input and print its hash for `consolePasswordHash`.
    ConsolePasswordHash,
}

fn main() -> anyhow::Result<()> {
    allocator::tune();
    let cli = Cli::parse();
    logging::init(cli.log_level.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Namesrv(a) => namesrv::run(a).await,
            Command::Controller(a) => controller::run(a).await,
            Command::Broker(a) => broker::run(a).await,
            Command::Standalone(a) => standalone::run(a).await,
            Command::Produce(a) => produce::run(a).await,
            Command::Consume(a) => consume::run(a).await,
            Command::Bench(a) => bench::run(a).await,
            Command::Admin(a) => admin::run(a).await,
            Command::ConsolePasswordHash => console::print_password_hash(),
        }
    })
}
