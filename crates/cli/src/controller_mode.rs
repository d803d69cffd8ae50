//! `ferrocket broker` with `enableControllerMode=true`: the controller decides the broker's id
//! and role. The broker runs in the role it was given; when the controller elects another
//! master (this broker, or a new one for this slave) the broker is closed cleanly and reopened
//! in its new role, re-registering with the name servers under its new id (0 as master).

use std::sync::Arc;

use anyhow::Context;
use ferrocket_broker::controller_mode::{
    BrokerMember, InSyncStateSetWaiter, ReplicasManager, ReplicationListener, RoleAssignment,
};
use ferrocket_broker::BrokerController;
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use ferrocket_store::BrokerRole;

use crate::broker::{start_broker, stop_broker};
use crate::config::BrokerSettings;
use crate::signals::ShutdownSignals;

/// Why a broker in one role stopped.
enum Stop {
    Signal(&'static str),
    RoleChanged,
    /// As slave: the HA handshake found the local log diverging from the master's.
    Truncate(i64),
}

/// Runs the broker under the controller until SIGINT or SIGTERM.
pub async fn run(
    settings: BrokerSettings,
    config_file: Option<std::path::PathBuf>,
    mut signals: ShutdownSignals,
) -> anyhow::Result<()> {
    let b = &settings.broker;
    anyhow::ensure!(
        b.listen_port != 0,
        "enableControllerMode=true needs a fixed listenPort: controllers know brokers by address"
    );
    let member = BrokerMember {
        cluster_name: b.broker_cluster_name.clone(),
        broker_name: b.broker_name.clone(),
        broker_address: format!("{}:{}", b.broker_ip1.trim(), b.listen_port),
        store_root: settings.store.store_path_root_dir.clone(),
    };
    let manager = ReplicasManager::start(b.controller_mode.clone(), member)
        .await
        .context("controller mode start-up failed")?;
    let mut roles = manager.subscribe();
    let mut truncations = manager.subscribe_truncations();
    let mut announced = false;
    loop {
        let assignment = roles.borrow_and_update().clone();
        truncations.borrow_and_update();
        let mut role_settings = in_role(&settings, &assignment);
        role_settings.store.truncate_commit_log_at = store_cut(&manager, &assignment).await;
        let broker = start_broker(role_settings, config_file.clone()).await?;
        attach(&manager, &broker);
        let follower = follow_elected_master(&broker, &assignment);
        manager.role_started(&assignment).await;
        let console = crate::console::start_console(&broker).await;
        let grpc = crate::grpc::start_grpc(&broker).await;
        if !announced {
            announced = true;
            crate::ready::announce(&format!(
                "Ferrocket broker is ready: broker {}, controller mode, broker id {}, {}",
                crate::broker::advertised_addr(&broker),
                assignment.broker_id,
                role_name(&assignment)
            ));
        }
        let stop = loop {
            tokio::select! {
                name = signals.recv() => break Stop::Signal(name),
                changed = roles.changed() => {
                    if changed.is_err() || assignment.role_changed(&roles.borrow()) {
                        break Stop::RoleChanged;
                    }
                }
                changed = truncations.changed(), if !assignment.is_master() => {
                    let at = *truncations.borrow_and_update();
                    if let (Ok(()), Some(at)) = (changed, at) {
                        break Stop::Truncate(at);
                    }
                }
            }
        };
        if let Some(f) = &follower {
            f.abort();
        }
        if let Some(c) = &console {
            c.shutdown();
        }
        if let Some(g) = &grpc {
            g.shutdown();
        }
        if let Stop::Signal(name) = stop {
            tracing::info!("{name} received, shutting down");
            manager.shutdown();
            return stop_broker(&broker).await;
        }
        let next = roles.borrow().clone();
        reopen(&manager, &broker, stop, &assignment, &next).await?;
    }
}

/// Closes the broker for a reopen: in a new role, or cut where its log diverges.
async fn reopen(
    manager: &ReplicasManager,
    broker: &BrokerController,
    stop: Stop,
    from: &RoleAssignment,
    to: &RoleAssignment,
) -> anyhow::Result<()> {
    match stop {
        Stop::Truncate(at) => tracing::warn!(
            offset = at,
            "reopening the broker to cut its commit log where it diverges from the master's"
        ),
        _ => tracing::info!(
            from = role_name(from),
            to = role_name(to),
            master_epoch = to.master_epoch,
            "reopening the broker in its new role"
        ),
    }
    stop_broker(broker).await?;
    manager.detach_store();
    if let Stop::Truncate(at) = stop {
        // the next open takes it back with `take_truncation`
        manager.request_truncation(at);
    }
    Ok(())
}

/// Where a slave's CommitLog is cut when its store opens: where the HA handshake of the
/// previous open found it diverging from the master's (if that is why the broker reopens), and
/// where the master's epochs, asked over the remoting port before opening, say it diverges (so
/// that the usual case needs no second reopen); the lower of the two. Never on a master.
async fn store_cut(manager: &ReplicasManager, assignment: &RoleAssignment) -> Option<i64> {
    let asked = manager.take_truncation();
    if assignment.is_master() {
        return None;
    }
    let compared = match assignment.master_address {
        Some(_) => manager.truncation_point(assignment).await,
        None => None,
    };
    match (asked, compared) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// The settings of the broker in `assignment`'s role: the name server id (0 as master), and
/// the store role. A master waits for its slaves' acknowledgement (SYNC_MASTER) when
/// `allAckInSyncStateSet` or `inSyncReplicas > 1` asks for it. A slave learns its master's HA
/// address from the name servers, as a classic slave does.
fn in_role(settings: &BrokerSettings, assignment: &RoleAssignment) -> BrokerSettings {
    let mut s = settings.clone();
    s.broker.broker_id = assignment.name_server_broker_id();
    s.broker.controller_mode.registration_state_version = i64::from(assignment.master_epoch);
    let cm = &s.broker.controller_mode;
    s.store.broker_role = if !assignment.is_master() {
        BrokerRole::Slave
    } else if cm.all_ack_in_sync_state_set || cm.in_sync_replicas > 1 {
        BrokerRole::SyncMaster
    } else {
        BrokerRole::AsyncMaster
    };
    if !assignment.is_master() {
        s.store.ha_master_address = None;
    }
    // replicate with RocketMQ 5's auto-switch HA protocol, under the controller's id
    s.store.ha_auto_switch_broker_id = Some(assignment.broker_id as i64);
    // a master takes sends only once its epoch is recorded (`ReplicasManager::role_started`)
    s.store.puts_fenced_at_open = assignment.is_master();
    s
}

/// The broker's store feeds the heartbeats, its dispatcher hands the controller-mode codes to
/// the manager, and a master's sends are gated by the sync state set.
fn attach(manager: &Arc<ReplicasManager>, broker: &Arc<BrokerController>) {
    let ha = broker.ha_service();
    manager.attach_store(broker.message_store(), ha.epoch_file());
    ha.set_auto_switch_listener(Arc::new(ReplicationListener::new(
        Arc::downgrade(manager),
        ha.group_transfer(),
    )));
    let weak = Arc::downgrade(manager);
    broker.set_controller_mode_handler(Arc::new(move |cmd| match weak.upgrade() {
        Some(m) => m.handle(cmd),
        None => RemotingCommand::error_to(cmd, response::SYSTEM_ERROR, "shutting down"),
    }));
    if broker.message_store_config().broker_role == BrokerRole::SyncMaster {
        broker
            .message_store()
            .set_slave_ack_waiter(Arc::new(InSyncStateSetWaiter {
                manager: Arc::downgrade(manager),
                replication: ha.group_transfer(),
            }));
    }
}

/// How often a slave checks that its name servers name the elected master.
const MASTER_FOLLOW_PERIOD: std::time::Duration = std::time::Duration::from_millis(500);

/// As slave: copy only the master the controllers elected. The HA address comes from the name
/// servers' registration answer, which lags an election (the new master may register after
/// this slave did, and a deposed master cut off from the controllers still registers as
/// master), so the slave re-registers until the answer names the elected master rather than
/// waiting for the next `registerNameServerPeriod`.
fn follow_elected_master(
    broker: &Arc<BrokerController>,
    assignment: &RoleAssignment,
) -> Option<tokio::task::JoinHandle<()>> {
    if assignment.is_master() {
        broker.expect_master(None);
        return None;
    }
    let master = assignment.master_address.clone()?;
    broker.expect_master(Some(master.clone()));
    let broker = Arc::downgrade(broker);
    Some(tokio::spawn(async move {
        loop {
            let Some(b) = broker.upgrade() else { return };
            if b.master_addr().as_deref() != Some(master.as_str()) || b.master_ha_addr().is_none() {
                b.register_broker_all().await;
            }
            drop(b);
            tokio::time::sleep(MASTER_FOLLOW_PERIOD).await;
        }
    }))
}

fn role_name(a: &RoleAssignment) -> &'static str {
    match (a.is_master(), a.master_broker_id) {
        (true, _) => "master",
        (false, Some(_)) => "slave",
        (false, None) => "slave without a master",
    }
}
