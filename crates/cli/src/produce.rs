//! `ferrocket produce`.

/// Arguments of `ferrocket produce`.
#[derive(clap::Args)]
pub struct ProduceArgs {}

/// Runs `ferrocket produce`.
pub async fn run(_args: ProduceArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket produce is not implemented yet")
}
