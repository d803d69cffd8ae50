//! `ferrocket namesrv`.

/// Arguments of `ferrocket namesrv`.
#[derive(clap::Args)]
pub struct NamesrvArgs {}

/// Runs `ferrocket namesrv`.
pub async fn run(_args: NamesrvArgs) -> anyhow::Result<()> {
    anyhow::bail!("ferrocket namesrv is not implemented yet")
}
