//! `ferrocket standalone`.

/// Arguments of `ferrocket standalone`.
#[derive(clap::Args)]
pub struct StandaloneArgs {}

/// Runs `ferrocket standalone`.
pub async fn run(_args: StandaloneArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket standalone is not implemented yet")
}
