package org.ferrocket.interop.support;

import java.util.Map;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

/**
 * Sends single remoting commands with the official client's Netty transport, bypassing the producer's
 * client-side validation. Headers are plain ext fields, so the code compiles against both client lines
 * (their header classes live in different packages).
 */
public final class RawRemoting implements AutoCloseable {
    /** RequestCode.SEND_MESSAGE. */
    public static final int SEND_MESSAGE = 10;
    /** RequestCode.GET_ROUTEINFO_BY_TOPIC. */
    public static final int GET_ROUTEINFO_BY_TOPIC = 105;
    /** ResponseCode.SUCCESS. */
    public static final int SUCCESS = 0;
    /** ResponseCode.SYSTEM_ERROR. */
    public static final int SYSTEM_ERROR = 1;
    /** ResponseCode.MESSAGE_ILLEGAL. */
    public static final int MESSAGE_ILLEGAL = 13;
    /** ResponseCode.TOPIC_NOT_EXIST. */
    public static final int TOPIC_NOT_EXIST = 17;
    /** ResponseCode.INVALID_PARAMETER (5.x). */
    public static final int INVALID_PARAMETER = 29;

    private final NettyRemotingClient client;

    /** Opens a transport (connections are made lazily per address). */
    public RawRemoting() {
        this(null);
    }

    /** Opens a transport whose requests pass through the hook (e.g. AclClientRPCHook); null for none. */
    public RawRemoting(RPCHook hook) {
        client = new NettyRemotingClient(new NettyClientConfig());
        if (hook != null) {
            client.registerRPCHook(hook);
        }
        client.start();
    }

    /** Sends a request with the given ext fields and body and returns the response. */
    public RemotingCommand invoke(String address, int code, Map<String, String> extFields, byte[] body)
            throws Exception {
        RemotingCommand request = RemotingCommand.createRequestCommand(code, null);
        extFields.forEach(request::addExtField);
        if (body != null) {
            request.setBody(body);
        }
        return client.invokeSync(address, request, 10_000);
    }

    /** Asks the name server for a topic's route; returns the response code (0 = route exists). */
    public int routeResponseCode(String nameServer, String topic) throws Exception {
        return invoke(nameServer, GET_ROUTEINFO_BY_TOPIC, Map.of("topic", topic), null).getCode();
    }

    @Override
    public void close() {
        client.shutdown();
    }
}
