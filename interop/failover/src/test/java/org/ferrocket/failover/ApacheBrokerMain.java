package org.ferrocket.failover;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Properties;

import org.apache.rocketmq.broker.BrokerController;
import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.store.config.MessageStoreConfig;

/**
 * The Apache RocketMQ 5 broker of the Maven Central jars in a JVM of its own, so a test can kill it with SIGKILL
 * and start it again on the same store. Its only argument is a broker.conf, read the way Apache's BrokerStartup
 * reads one (every key goes to the broker, server and store configurations it names), so the Apache brokers take
 * the same keys as the Ferrocket ones in {@link BrokerSet}.
 */
public final class ApacheBrokerMain {
    private ApacheBrokerMain() {
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(Paths.get(args[0]))) {
            props.load(in);
        }
        BrokerConfig brokerConfig = new BrokerConfig();
        NettyServerConfig serverConfig = new NettyServerConfig();
        NettyClientConfig clientConfig = new NettyClientConfig();
        MessageStoreConfig storeConfig = new MessageStoreConfig();
        MixAll.properties2Object(props, brokerConfig);
        MixAll.properties2Object(props, serverConfig);
        MixAll.properties2Object(props, clientConfig);
        MixAll.properties2Object(props, storeConfig);
        // Everything the store keeps (commit log, epoch file, the broker id it was given) under storePathRootDir;
        // some of these default to paths under user.home.
        Path store = Paths.get(storeConfig.getStorePathRootDir());
        brokerConfig.setRocketmqHome(store.toString());
        storeConfig.setStorePathCommitLog(store.resolve("commitlog").toString());
        storeConfig.setStorePathEpochFile(store.resolve("epochFileCheckpoint").toString());
        storeConfig.setStorePathBrokerIdentity(store.resolve("brokerIdentity").toString());
        BrokerController broker = new BrokerController(brokerConfig, serverConfig, clientConfig, storeConfig);
        if (!broker.initialize()) {
            System.out.println("the Apache broker failed to initialize");
            System.exit(2);
        }
        broker.start();
        System.out.println("Apache RocketMQ broker " + brokerConfig.getBrokerName() + " at "
                + brokerConfig.getBrokerIP1() + ":" + serverConfig.getListenPort() + " (controller mode "
                + brokerConfig.isEnableControllerMode() + ") is ready");
        Thread.currentThread().join();
    }
}
