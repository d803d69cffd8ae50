//! `HAService`: the replication side of a broker, master or slave, with its accept loop
//! (RocketMQ `AcceptSocketService`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ferrocket_remoting::acceptor::AcceptErrors;
use ferrocket_store::{BrokerRole, DefaultMessageStore};
use parking_lot::{Mutex, RwLock};

use crate::autoswitch::connection::SlaveSide;
use crate::autoswitch::{self, AutoSwitchListener, AutoSwitchShared, EpochFile};
use crate::error::HaError;
use crate::group_transfer::{GroupTransferHandle, TransferState};
use crate::ha_client::{self, ClientConfig, ClientSignal};
use crate::ha_connection::{ConnectionConfig, HAConnection};
use crate::runtime_stats::{ClientRuntimeInfo, ClientStats, ConnectionRuntimeInfo};
use crate::tls::HaTls;

/// Most slave connections one master serves at once; more are closed on accept.
pub const MAX_SLAVE_CONNECTIONS: usize = 64;

/// The replication service of one broker.
pub struct HAService {
    store: Arc<DefaultMessageStore>,
    role: BrokerRole,
    transfer: Arc<TransferState>,
    /// The master's HA address a slave connects to (`haMasterAddress` or the name server's
    /// `haServerAddr`).
    master_address: Arc<RwLock<Option<String>>>,
    client_signal: Arc<ClientSignal>,
    /// The slave's HA client figures (`haStatus`).
    client_stats: Arc<ClientStats>,
    connections: Arc<Mutex<Vec<Arc<HAConnection>>>>,
    local_addr: Mutex<Option<SocketAddr>>,
    /// The broker's TLS settings for this port and for the slave's connection.
    tls: Mutex<HaTls>,
    /// Controller mode: the auto-switch protocol's state; `None` runs classic HA.
    auto_switch: Option<Arc<AutoSwitchShared>>,
    stopped: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The runtime that reads the reports of plaintext classic connections (the one
    /// [`HAService::start`] was called on); without one they have a thread each.
    runtime: Mutex<Option<tokio::runtime::Handle>>,
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
    /// slave-acknowledgement waiter. Nothing listens until [`HAService::start`].
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
            Arc::downgrade(&store),
            Box::new(move || weak.upgrade().map_or(0, |s| s.get_max_phy_offset())),
        ));
        let auto_switch = match config.ha_auto_switch_broker_id {
            None => None,
            Some(id) => {
                let epochs =
                    EpochFile::open(&config.store_path_root_dir).map_err(HaError::Epoch)?;
                Some(Arc::new(AutoSwitchShared {
                    local_broker_id: id,
                    sync_from_last_file: config.sync_from_last_file,
                    async_learner: config.async_learner,
                    epochs: Arc::new(epochs),
                    listener: RwLock::new(None),
                    confirm_offset: std::sync::atomic::AtomicI64::new(-1),
                }))
            }
        };
        let service = Arc::new(HAService {
            auto_switch,
            store,
            role,
            transfer,
            master_address: Arc::new(RwLock::new(fixed_master)),
            client_signal: Arc::new(ClientSignal::default()),
            client_stats: Arc::new(ClientStats::default()),
            connections: Arc::new(Mutex::new(Vec::new())),
            local_addr: Mutex::new(None),
            tls: Mutex::new(HaTls::default()),
            stopped: Arc::new(AtomicBool::new(false)),
            threads: Mutex::new(Vec::new()),
            runtime: Mutex::new(None),
        });
        if role == BrokerRole::SyncMaster {
            service
                .store
                .set_slave_ack_waiter(Arc::new(service.group_transfer()));
        }
        Ok(service)
    }

    /// Listens for slaves on `listen` (`bindAddress:haListenPort`; port 0 picks one) and, on a
    /// slave, starts replicating from the master address, plaintext only. Returns the bound
    /// address.
    pub fn start(self: &Arc<Self>, listen: &str) -> Result<SocketAddr, HaError> {
        self.start_with_tls(listen, HaTls::default())
    }

    /// [`HAService::start`] with the broker's TLS settings: slaves are accepted as
    /// `tls.server` decides, and a slave connects with `tls.client` when set.
    pub fn start_with_tls(
        self: &Arc<Self>,
        listen: &str,
        tls: HaTls,
    ) -> Result<SocketAddr, HaError> {
        let client_tls = tls.client.clone();
        *self.tls.lock() = tls;
        *self.runtime.lock() = tokio::runtime::Handle::try_current().ok();
        let bind_err = |source| HaError::Bind {
            addr: listen.to_string(),
            source,
        };
        let listener = TcpListener::bind(listen).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        *self.local_addr.lock() = Some(local);
        tracing::info!(listen = %local, role = %self.role, "HA service listening");
        let this = self.clone();
        self.spawn("HAAcceptService", move || this.accept_loop(listener))?;
        if self.role == BrokerRole::Slave {
            let cfg = self.store.config();
            let client_cfg = ClientConfig {
                heartbeat_interval: Duration::from_millis(cfg.ha_send_heartbeat_interval.max(1)),
                housekeeping_interval: Duration::from_millis(cfg.ha_housekeeping_interval.max(1)),
            };
            let (store, addr, signal, stats) = (
                self.store.clone(),
                self.master_address.clone(),
                self.client_signal.clone(),
                self.client_stats.clone(),
            );
            match self.auto_switch.clone() {
                None => self.spawn("HAClient", move || {
                    ha_client::run(store, addr, signal, client_cfg, client_tls, stats)
                })?,
                Some(shared) => self.spawn("AutoSwitchHAClient", move || {
                    let session = |socket| {
                        autoswitch::client::Session::new(
                            &store, socket, client_cfg, &stats, &shared,
                        )
                        .run(&signal)
                    };
                    ha_client::connect_loop(
                        &store, &addr, &signal, client_cfg, client_tls, &stats, session,
                    )
                })?,
            }
        }
        Ok(local)
    }

    fn spawn(&self, name: &'static str, f: impl FnOnce() + Send + 'static) -> Result<(), HaError> {
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .map_err(|source| HaError::Thread { name, source })?;
        self.threads.lock().push(handle);
        Ok(())
    }

    fn connection_config(&self) -> ConnectionConfig {
        let cfg = self.store.config();
        ConnectionConfig {
            heartbeat_interval: Duration::from_millis(cfg.ha_send_heartbeat_interval.max(1)),
            housekeeping_interval: Duration::from_millis(cfg.ha_housekeeping_interval.max(1)),
            transfer_batch_size: cfg.ha_transfer_batch_size.max(1),
            mapped_file_size: cfg.mapped_file_size_commit_log as i64,
        }
    }

    fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let next_id = AtomicU64::new(1);
        let mut errors = AcceptErrors::new("HA", listener.local_addr().ok());
        for socket in listener.incoming() {
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            let socket = match socket {
                Ok(s) => s,
                Err(e) => {
                    std::thread::sleep(errors.failed(&e));
                    continue;
                }
            };
            errors.accepted();
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.serve(id, socket) {
                tracing::warn!(error = %e, "cannot serve an HA connection");
            }
        }
    }

    /// Starts the two halves of a new slave connection.
    fn serve(self: &Arc<Self>, id: u64, socket: TcpStream) -> std::io::Result<()> {
        let peer = socket.peer_addr()?;
        if self.connections.lock().len() >= MAX_SLAVE_CONNECTIONS {
            tracing::warn!(slave = %peer, limit = MAX_SLAVE_CONNECTIONS, "too many HA connections; closing the new one");
            return Ok(());
        }
        socket.set_nodelay(true)?;
        let server_tls = self.tls.lock().server.clone();
        let side = self.auto_switch.clone().map(SlaveSide::new);
        let slave_id = side.as_ref().map_or_else(
            || Arc::new(std::sync::atomic::AtomicI64::new(-1)),
            |s| s.slave_id.clone(),
        );
        let conn = HAConnection::new(id, socket, peer, server_tls, side);
        tracing::info!(slave = %peer, "HA connection accepted");
        self.connections.lock().push(conn.clone());
        self.transfer
            .add_connection(id, conn.slave_ack_offset.clone(), slave_id);
        self.transfer.add_stream(conn.clone());
        let cfg = self.connection_config();
        let (c, store, transfer) = (conn.clone(), self.store.clone(), self.transfer.clone());
        let runtime = self.runtime.lock().clone();
        let reader = std::thread::Builder::new()
            .name("HAReadSocketService".into())
            .spawn(move || {
                let Ok(plaintext) = c.accept_slave(cfg) else {
                    return;
                };
                match runtime {
                    // classic plaintext reports are read on the runtime (ha_connection.rs)
                    Some(rt) if plaintext && c.auto_switch.is_none() => {
                        rt.spawn(c.read_reports_async(store, transfer, cfg));
                    }
                    _ => c.run_half(HAConnection::read_reports, &store, &transfer, cfg),
                }
            });
        let (c, store, transfer) = (conn.clone(), self.store.clone(), self.transfer.clone());
        let connections = self.connections.clone();
        let writer = std::thread::Builder::new()
            .name("HAWriteSocketService".into())
            .spawn(move || {
                c.run_half(HAConnection::write_frames, &store, &transfer, cfg);
                transfer.remove_connection(c.id);
                connections.lock().retain(|x| x.id != c.id);
            });
        if reader.is_err() || writer.is_err() {
            conn.close();
            self.transfer.remove_connection(id);
            self.connections.lock().retain(|x| x.id != id);
            return Err(std::io::Error::other("cannot start the connection threads"));
        }
        Ok(())
    }

    /// Stops listening, closes every connection and the client, and waits for the threads.
    pub fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.client_signal.stop();
        if let Some(addr) = *self.local_addr.lock() {
            // unblock the accept loop
            let wake = if addr.ip().is_unspecified() {
                SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            } else {
                addr
            };
            let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        }
        for c in self.connections.lock().drain(..) {
            c.close();
        }
        self.transfer.wakeup_all();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }

    /// The bound HA address, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.local_addr.lock()
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
            self.client_signal.wakeup();
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

    /// Each connected slave's address and acknowledged offset (-1 before its first report).
    pub fn slave_acks(&self) -> Vec<(SocketAddr, i64)> {
        self.connections
            .lock()
            .iter()
            .map(|c| (c.peer, c.slave_ack_offset.load(Ordering::Acquire)))
            .collect()
    }

    /// Each connected slave's figures for `haStatus`, in connection order.
    pub fn connection_runtime_info(&self) -> Vec<ConnectionRuntimeInfo> {
        self.connections
            .lock()
            .iter()
            .map(|c| c.runtime_info())
            .collect()
    }

    /// The slave's HA client figures for `haStatus` (default values on a master).
    pub fn client_runtime_info(&self) -> ClientRuntimeInfo {
        let s = &self.client_stats;
        ClientRuntimeInfo {
            master_address: self.master_address(),
            last_read_timestamp: s.last_read_timestamp.load(Ordering::Acquire),
            last_write_timestamp: s.last_write_timestamp.load(Ordering::Acquire),
            transferred_byte_in_second: s.flow.transferred_byte_in_second(),
        }
    }

    /// Controller mode: the epoch file this service replicates with (`None` on classic HA).
    pub fn epoch_file(&self) -> Option<Arc<EpochFile>> {
        self.auto_switch.as_ref().map(|a| a.epochs.clone())
    }

    /// Controller mode: who receives the slaves' acknowledgements, answers the confirm
    /// offset and reopens the store for a truncation (ignored on classic HA).
    pub fn set_auto_switch_listener(&self, listener: Arc<dyn AutoSwitchListener>) {
        if let Some(a) = &self.auto_switch {
            *a.listener.write() = Some(listener);
        }
    }

    /// Controller mode, as slave: the master's last confirm offset, capped at the local
    /// CommitLog end (-1 before the first frame, and on classic HA).
    pub fn slave_confirm_offset(&self) -> i64 {
        self.auto_switch
            .as_ref()
            .map_or(-1, |a| a.confirm_offset.load(Ordering::Acquire))
    }

    /// What a SYNC_MASTER send waits on for a slave acknowledgement.
    pub fn group_transfer(&self) -> GroupTransferHandle {
        GroupTransferHandle {
            state: self.transfer.clone(),
        }
    }
}
