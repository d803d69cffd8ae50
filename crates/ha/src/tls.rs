//! TLS on the HA port, with the broker's remoting TLS settings (`tls.server.mode`, the server
//! certificate, `tls.enable`, ...): the rustls configurations are the ones
//! `ferrocket_remoting::tls` builds, driven over blocking sockets with `rustls::StreamOwned`
//! so the dedicated-thread design stays.
//!
//! The master decides per connection from the first byte, as the remoting port does: 0x16
//! starts a TLS ClientHello, while a classic slave starts with its 8-byte big-endian offset,
//! whose first byte is 0 for any offset below 2^56. The HA wire format inside TLS is unchanged.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_remoting::tls::{server_name, ServerTls, HANDSHAKE_MAGIC_CODE, HANDSHAKE_TIMEOUT};
use ferrocket_remoting::TlsMode;
use rustls::{ClientConnection, ServerConnection, StreamOwned};

/// The TLS side of an HA service: what the master accepts and how the slave connects.
#[derive(Clone, Default)]
pub struct HaTls {
    /// The broker's server TLS (its mode and certificate); `None` serves plaintext only and
    /// closes TLS handshakes, as `tls.server.mode=disabled` does.
    pub server: Option<Arc<ServerTls>>,
    /// The client configuration a slave connects to its master with; `None` is plaintext.
    /// The broker sets it when `TlsSettings::client_uses_tls()` holds.
    pub client: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for HaTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaTls")
            .field("server_mode", &self.server.as_ref().map(|s| s.mode()))
            .field("client_tls", &self.client.is_some())
            .finish()
    }
}

/// A master's TLS stream to one slave.
pub(crate) type ServerStream = StreamOwned<ServerConnection, TcpStream>;

/// A socket the slave reads and writes: plaintext or TLS.
pub(crate) trait HaStream: Read + Write + Send {}
impl<T: Read + Write + Send> HaStream for T {}

/// On the master: decides from the first byte whether `socket` is a TLS or a plaintext slave
/// and, for TLS, completes the handshake. `Ok(None)` is a plaintext slave to serve; `Err` is
/// the reason the connection is refused (already logged once). A slave that sends nothing
/// for `first_byte_timeout` (`haHousekeepingInterval`) is closed.
pub(crate) fn accept(
    socket: &TcpStream,
    tls: Option<&ServerTls>,
    peer: SocketAddr,
    first_byte_timeout: Duration,
) -> Result<Option<ServerStream>, String> {
    let mode = tls.map_or(TlsMode::Disabled, |t| t.mode());
    let mut first = [0u8; 1];
    let timeout = |d| {
        socket
            .set_read_timeout(Some(d))
            .map_err(|e| format!("cannot set a read timeout: {e}"))
    };
    timeout(first_byte_timeout)?;
    match socket.peek(&mut first) {
        Ok(1) => {}
        Ok(_) => return Err("the slave closed the connection".into()),
        Err(e) => {
            tracing::info!(slave = %peer, error = %e, "nothing from the slave; HA connection closed");
            return Err(format!("nothing from the slave: {e}"));
        }
    }
    let config = tls.and_then(|t| t.rustls_config());
    match (first[0] == HANDSHAKE_MAGIC_CODE, mode, config) {
        (false, TlsMode::Enforcing, _) => {
            tracing::warn!(slave = %peer, "plaintext HA connection while tls.server.mode is enforcing; closed");
            Err("plaintext slave refused: TLS is enforced".into())
        }
        (false, _, _) => Ok(None),
        (true, TlsMode::Permissive | TlsMode::Enforcing, Some(config)) => {
            timeout(HANDSHAKE_TIMEOUT)?;
            handshake_server(socket, config).map(Some).map_err(|e| {
                tracing::warn!(slave = %peer, error = %e, "HA TLS handshake failed; connection closed");
                format!("TLS handshake failed: {e}")
            })
        }
        (true, _, _) => {
            tracing::warn!(slave = %peer, "TLS HA connection while TLS is disabled on this broker; closed");
            Err("TLS slave refused: TLS is disabled".into())
        }
    }
}

fn handshake_server(
    socket: &TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<ServerStream> {
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, socket.try_clone()?);
    finish_handshake(&mut stream.conn, &mut stream.sock)?;
    Ok(stream)
}

/// On the slave: TLS over a connected `socket` to `addr` (`HOST:PORT`), handshake done.
pub(crate) fn connect(
    socket: TcpStream,
    config: Arc<rustls::ClientConfig>,
    addr: &str,
) -> io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let conn = ClientConnection::new(config, server_name(addr)?).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, socket);
    finish_handshake(&mut stream.conn, &mut stream.sock)?;
    Ok(stream)
}

/// Drives a handshake to its end within `HANDSHAKE_TIMEOUT` (each socket read and write is
/// bounded by the socket's own timeouts).
fn finish_handshake<C, D>(conn: &mut C, sock: &mut TcpStream) -> io::Result<()>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    D: rustls::SideData,
{
    let started = Instant::now();
    while conn.is_handshaking() {
        if started.elapsed() > HANDSHAKE_TIMEOUT {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "TLS handshake timed out",
            ));
        }
        conn.complete_io(sock)?;
    }
    // the last flight (e.g. the client's Finished) goes out now, not with the first write
    while conn.wants_write() {
        conn.write_tls(sock)?;
    }
    Ok(())
}
