//! `ferrocket consume`.

/// Arguments of `ferrocket consume`.
#[derive(clap::Args)]
pub struct ConsumeArgs {}

/// Runs `ferrocket consume`.
pub async fn run(_args: ConsumeArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket consume is not implemented yet")
}
