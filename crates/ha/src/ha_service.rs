//! `HAService`: the replication side of a broker, master or slave.

use std::sync::Arc;

use ferrocket_store::{BrokerRole, DefaultMessageStore};
use parking_lot::RwLock;

use crate::error::HaError;
use crate::group_transfer::{GroupTransferHandle, TransferState};

/// The replication service of one broker.
pub struct HAService {
    store: Arc<DefaultMessageStore>,
    role: BrokerRole,
    transfer: Arc<TransferState>,
    /// The master's HA address a slave connects to (`haMasterAddress` or the name server's
    /// `haServerAddr`).
    master_address: Arc<RwLock<Option<String>>>,
}

impl std::fmt::Debug for HAService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HAService")
            .field("role", &self.role)
            .field("master_address", &*self.master_address.read())
            .field("push_to_slave_max_offset", &self.push_to_slave_max_offset())
            .finish()
    }
}

impl HAService {
    /// The HA service of `store`, in the store's `brokerRole`. A slave starts with the
    /// configured `haMasterAddress`, if any. On a SYNC_MASTER it installs itself as the store's
    /// slave-acknowledgement waiter.
    pub fn new(store: Arc<DefaultMessageStore>) -> Result<Arc<HAService>, HaError> {
        let config = store.config();
        let role = config.broker_role;
        let fixed_master = config
            .ha_master_address
            .clone()
            .filter(|_| role == BrokerRole::Slave);
        let weak = Arc::downgrade(&store);
        let transfer = Arc::new(TransferState::new(
            config.ha_max_gap_not_in_sync,
            Box::new(move || weak.upgrade().map_or(0, |s| s.get_max_phy_offset())),
        ));
        let service = Arc::new(HAService {
            store,
            role,
            transfer,
            master_address: Arc::new(RwLock::new(fixed_master)),
        });
        if role == BrokerRole::SyncMaster {
            service
                .store
                .set_slave_ack_waiter(Arc::new(service.group_transfer()));
        }
        Ok(service)
    }

    /// The role this service runs in.
    pub fn role(&self) -> BrokerRole {
        self.role
    }

    /// Sets the master HA address (`host:port`) a slave replicates from; `None` stops it from
    /// reconnecting. As in RocketMQ a live connection is kept: the new address is used on the
    /// next connect. Ignored on a master.
    pub fn update_master_address(&self, address: Option<String>) {
        if self.role != BrokerRole::Slave {
            return;
        }
        let address = address.filter(|a| !a.trim().is_empty());
        let mut current = self.master_address.write();
        if *current != address {
            tracing::info!(old = ?*current, new = ?address, "master HA address updated");
            *current = address;
        }
    }

    /// The master HA address a slave replicates from.
    pub fn master_address(&self) -> Option<String> {
        self.master_address.read().clone()
    }

    /// The highest CommitLog offset any slave acknowledged (`push2SlaveMaxOffset`).
    pub fn push_to_slave_max_offset(&self) -> i64 {
        self.transfer.push_to_slave_max_offset()
    }

    /// Slaves connected to this master.
    pub fn connection_count(&self) -> usize {
        self.transfer.connection_count()
    }

    /// Slaves within `haMaxGapNotInSync` of this master's CommitLog end.
    pub fn in_sync_slave_count(&self) -> usize {
        self.transfer.in_sync_slave_count()
    }

    /// What a SYNC_MASTER send waits on for a slave acknowledgement.
    pub fn group_transfer(&self) -> GroupTransferHandle {
        GroupTransferHandle {
            state: self.transfer.clone(),
        }
    }
}
