//! `ferrocket bench`.

/// Arguments of `ferrocket bench`.
#[derive(clap::Args)]
pub struct BenchArgs {}

/// Runs `ferrocket bench`.
pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket bench is not implemented yet")
}
