//! `--access-key` / `--secret-key`: sign every request as RocketMQ's `AclClientRPCHook` does,
//! for servers that run with `aclEnable=true`.

use ferrocket_client::SessionCredentials;

/// The account to sign requests with.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CredentialArgs {
    /// Access key of an account in the servers' plain_acl.yml; requests are then signed.
    #[arg(long = "access-key", env = "FERROCKET_ACCESS_KEY", global = true)]
    pub access_key: Option<String>,
    /// Secret key of that account.
    #[arg(
        long = "secret-key",
        env = "FERROCKET_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<String>,
}

impl CredentialArgs {
    /// The credentials, `None` when neither key is given; one without the other is an error.
    pub fn credentials(&self) -> anyhow::Result<Option<SessionCredentials>> {
        match (&self.access_key, &self.secret_key) {
            (None, None) => Ok(None),
            (Some(ak), Some(sk)) if !ak.is_empty() && !sk.is_empty() => {
                Ok(Some(SessionCredentials::new(ak, sk)))
            }
            _ => anyhow::bail!(
                "--access-key and --secret-key (or FERROCKET_ACCESS_KEY and FERROCKET_SECRET_KEY) go together"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        credentials: CredentialArgs,
    }

    #[test]
    fn both_keys_or_none() {
        let c = Cli::try_parse_from(["x", "--access-key", "RocketMQ", "--secret-key", "12345678"])
            .unwrap();
        let creds = c.credentials.credentials().unwrap().unwrap();
        assert_eq!(creds.access_key, "RocketMQ");
        assert_eq!(creds.secret_key, "12345678");
        let half = Cli::try_parse_from(["x", "--access-key", "RocketMQ"]).unwrap();
        assert!(half.credentials.credentials().is_err());
        let none = CredentialArgs::default();
        assert!(none.credentials().unwrap().is_none());
    }
}
