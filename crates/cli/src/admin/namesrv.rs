//! wipeWritePerm, addWritePerm.

use std::fmt::Write as _;

use ferrocket_client::admin::MQAdminExt;
use serde_json::json;

use super::output::{line, Report};

/// `wipeWritePerm` / `addWritePerm` options.
#[derive(clap::Args)]
pub struct WritePermArgs {
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
}

pub(super) async fn write_perm(
    admin: &MQAdminExt,
    a: WritePermArgs,
    add: bool,
) -> anyhow::Result<Report> {
    let broker = a.broker_name.trim();
    let verb = if add { "add" } else { "wipe" };
    let mut text = String::new();
    let mut rows = Vec::new();
    let mut failed = false;
    for ns in admin.namesrv_addrs().to_vec() {
        let r = if add {
            admin.add_write_perm_of_broker(&ns, broker).await
        } else {
            admin.wipe_write_perm_of_broker(&ns, broker).await
        };
        match r {
            Ok(count) => {
                line!(
                    text,
                    "{verb} write perm of broker[{broker}] in name server[{ns}] OK, {count}"
                );
                rows.push(json!({"nameServer": ns, "ok": true, "topicCount": count}));
            }
            Err(e) => {
                failed = true;
                line!(
                    text,
                    "{verb} write perm of broker[{broker}] in name server[{ns}] Failed"
                );
                rows.push(json!({"nameServer": ns, "ok": false, "error": e.to_string()}));
            }
        }
    }
    if failed {
        print!("{text}");
        anyhow::bail!("{verb}WritePerm failed on at least one name server");
    }
    Ok(Report::new(
        text,
        json!({"brokerName": broker, "results": rows}),
    ))
}
