package org.ferrocket.interop.replication;

import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.store.config.BrokerRole;
import org.apache.rocketmq.store.config.MessageStoreConfig;

/**
 * The Apache RocketMQ broker of the Maven Central jars in a JVM of its own, so that a test can kill it with
 * SIGKILL (a crash, not a shutdown) and start it again on the same store. Arguments: store directory, listen
 * port (the HA port is the next one), broker id, broker role, name server address, broker name, cluster.
 */
public final class ApacheBrokerMain {
    private ApacheBrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        Path store = Paths.get(args[0]);
        int port = Integer.parseInt(args[1]);
        long brokerId = Long.parseLong(args[2]);
        BrokerConfig brokerConfig = new BrokerConfig();
        brokerConfig.setBrokerName(args[5]);
        brokerConfig.setBrokerClusterName(args[6]);
        brokerConfig.setBrokerId(brokerId);
        brokerConfig.setNamesrvAddr(args[4]);
        brokerConfig.setBrokerIP1("127.0.0.1");
        brokerConfig.setBrokerIP2("127.0.0.1");
        brokerConfig.setRocketmqHome(store.toString());
        // a 5.x slave rejects every pull without it; a 4.9 slave serves pulls either way
        brokerConfig.setSlaveReadEnable(true);
        brokerConfig.setAutoCreateTopicEnable(false);
        NettyServerConfig serverConfig = new NettyServerConfig();
        serverConfig.setListenPort(port);
        MessageStoreConfig storeConfig = new MessageStoreConfig();
        storeConfig.setStorePathRootDir(store.toString());
        storeConfig.setStorePathCommitLog(store.resolve("commitlog").toString());
        storeConfig.setMappedFileSizeCommitLog(4 * 1024 * 1024);
        storeConfig.setMappedFileSizeConsumeQueue(30_000 * 20);
        storeConfig.setHaListenPort(port + 1);
        storeConfig.setBrokerRole(BrokerRole.valueOf(args[3]));
        BrokerController broker = new BrokerController(brokerConfig, serverConfig, new NettyClientConfig(), storeConfig);
        if (!broker.initialize()) {
            System.out.println("the Apache broker failed to initialize");
            System.exit(2);
        }
        broker.start();
        System.out.println("Apache RocketMQ broker " + brokerId + " at 127.0.0.1:" + port + " is ready");
        Thread.currentThread().join();
    }
}
