package org.ferrocket.failover.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP forwarder on loopback that a test can cut: {@link #cut()} closes every forwarded connection and
 * blackholes new ones (accepted, read and discarded, never answered, as behind a dropped route), so the
 * peer sees timeouts rather than refusals; {@link #stall()} blackholes the open connections too, leaving
 * them open (nobody learns of the cut from a closed connection); {@link #heal()} forwards again.
 */
public final class CutProxy implements AutoCloseable {
    private final ServerSocket server;
    private final String target;
    private final List<Socket> open = new ArrayList<>();
    private volatile boolean cut;
    private final Thread acceptor;

    /** Listens on a free loopback port and forwards to `target` ("host:port"). */
    public CutProxy(String target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(FreePorts.next(), 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "cut-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The proxy's own address, "127.0.0.1:PORT". */
    public String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** Closes every connection and blackholes new ones. */
    public void cut() {
        cut = true;
        closeAll();
    }

    /** Stops forwarding on every connection, open or new, without closing any. */
    public void stall() {
        cut = true;
    }

    /** Forwards new connections again (the blackholed ones are closed, so their peers reconnect). */
    public void heal() {
        cut = false;
        closeAll();
    }

    @Override
    public void close() throws IOException {
        cut = true;
        server.close();
        closeAll();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                track(client);
                if (cut) {
                    pump(client, null, "blackhole");
                    continue;
                }
                int colon = target.lastIndexOf(':');
                Socket upstream = new Socket();
                try {
                    upstream.connect(new InetSocketAddress(target.substring(0, colon),
                            Integer.parseInt(target.substring(colon + 1))), 2000);
                } catch (IOException e) {
                    client.close();
                    continue;
                }
                track(upstream);
                pump(client, upstream, "up");
                pump(upstream, client, "down");
            } catch (IOException e) {
                // closed server socket: the loop ends; a failed connection only loses that connection
            }
        }
    }

    private synchronized void track(Socket s) {
        open.add(s);
    }

    private synchronized void closeAll() {
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        open.clear();
    }

    /** Copies `from` to `to` (or discards when `to` is null) until either side closes. */
    private void pump(Socket from, Socket to, String direction) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to == null ? null : to.getOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (out != null && !cut) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException ignored) {
                // a closed socket ends the copy
            } finally {
                try {
                    from.close();
                    if (to != null) {
                        to.close();
                    }
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }, "cut-proxy-" + direction);
        t.setDaemon(true);
        t.start();
    }
}
