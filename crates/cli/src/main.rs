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
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = server_worker_threads(&cli.command) {
        builder.worker_threads(workers);
    }
    let runtime = builder.enable_all().build()?;
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

/// Environment variable that sets the number of runtime worker threads (tokio's own).
const WORKER_THREADS_ENV: &str = "TOKIO_WORKER_THREADS";

/// Runtime worker threads of a server command (name server, controller, broker, standalone): one
/// fewer than the cores, at least one, unless `TOKIO_WORKER_THREADS` says otherwise; `None` for the
/// client commands and with the variable set (tokio then takes its value, or one per core).
///
/// A broker keeps a core's worth of work off the runtime: the CommitLog writer thread appends every
/// put and the flush, reput and index threads follow it. With a worker per core those threads and
/// the workers outnumber the cores, and every send woke a parked worker or the writer (on 2 cores:
/// 1.1 futex calls and context switches per message). One worker fewer cut the broker's CPU per
/// 1 KB send by about 30 % on 2 cores (docs/PERFORMANCE.md, "CommitLog writer thread, the
/// connection task again, mimalloc").
fn server_worker_threads(command: &Command) -> Option<usize> {
    let server = matches!(
        command,
        Command::Namesrv(_) | Command::Controller(_) | Command::Broker(_) | Command::Standalone(_)
    );
    if !server || std::env::var_os(WORKER_THREADS_ENV).is_some() {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Some(cores.saturating_sub(1).max(1))
}
