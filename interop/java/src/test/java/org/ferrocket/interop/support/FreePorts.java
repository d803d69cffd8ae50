package org.ferrocket.interop.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/** Finds loopback ports that are free right now, never handing out the same one twice in a JVM. */
public final class FreePorts {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private FreePorts() {
    }

    /**
     * Returns a free port whose neighbours (port - 2, port + 1) are free as well, so a broker that also opens
     * RocketMQ's VIP port or HA port would not collide with another test's server.
     */
    public static synchronized int next() {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = bindEphemeral();
            if (port < 1100 || port > 65000 || HANDED_OUT.contains(port) || HANDED_OUT.contains(port - 2)
                    || HANDED_OUT.contains(port + 1) || HANDED_OUT.contains(port + 2)
                    || !isFree(port - 2) || !isFree(port + 1)) {
                continue;
            }
            HANDED_OUT.add(port);
            return port;
        }
        throw new IllegalStateException("no free loopback port found");
    }

    private static int bindEphemeral() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
