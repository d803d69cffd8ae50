package org.ferrocket.failover.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * Finds loopback ports that are free right now, never handing out the same one twice in a JVM. They are taken
 * below Linux's ephemeral range (32768 and up): these tests start brokers late and restart them on the same
 * ports, and an outgoing connection's local port must not take a broker's port in between.
 */
public final class FreePorts {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();
    private static final int LOW = 20_000;
    private static final int HIGH = 32_000;
    private static final java.util.Random RANDOM = new java.util.Random();

    private FreePorts() {
    }

    /**
     * Returns a free port whose neighbours (port - 2, port + 1) are free as well, so a broker that also opens
     * RocketMQ's VIP port or HA port would not collide with another test's server.
     */
    public static synchronized int next() {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = LOW + RANDOM.nextInt(HIGH - LOW);
            if (HANDED_OUT.contains(port) || HANDED_OUT.contains(port - 2)
                    || HANDED_OUT.contains(port + 1) || HANDED_OUT.contains(port + 2)
                    || !isFree(port) || !isFree(port - 2) || !isFree(port + 1)) {
                continue;
            }
            HANDED_OUT.add(port);
            return port;
        }
        throw new IllegalStateException("no free loopback port found");
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
