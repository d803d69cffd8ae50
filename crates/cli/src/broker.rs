//! `ferrocket broker`.

/// Arguments of `ferrocket broker`.
#[derive(clap::Args)]
pub struct BrokerArgs {}

/// Runs `ferrocket broker`.
pub async fn run(_args: BrokerArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket broker is not implemented yet")
}
