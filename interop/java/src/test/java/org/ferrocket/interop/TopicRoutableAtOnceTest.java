package org.ferrocket.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.ferrocket.interop.support.FerrocketTestBase;
import org.ferrocket.interop.support.RawRemoting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * UPDATE_AND_CREATE_TOPIC answers only after the broker has registered the change with its name servers, as
 * Apache does: a route lookup sent the moment the answer arrives finds the new topic.
 */
class TopicRoutableAtOnceTest extends FerrocketTestBase {
    /** RequestCode.UPDATE_AND_CREATE_TOPIC. */
    private static final int UPDATE_AND_CREATE_TOPIC = 17;

    @Test
    @Timeout(120)
    void aRouteLookupRightAfterUpdateTopicFindsIt() throws Exception {
        try (RawRemoting raw = new RawRemoting()) {
            // open both connections first, so that only the broker's own work lies between the two calls
            raw.routeResponseCode(ferrocket.nameServerAddress(), "TBW102");
            for (int i = 0; i < 50; i++) {
                String topic = "RoutableAtOnce" + i;
                RemotingCommand created = raw.invoke(ferrocket.brokerAddress(), UPDATE_AND_CREATE_TOPIC, Map.of(
                        "topic", topic, "defaultTopic", "TBW102", "readQueueNums", "2", "writeQueueNums", "2",
                        "perm", "6", "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false"), null);
                assertEquals(RawRemoting.SUCCESS, created.getCode(), "create " + topic + ": " + created.getRemark());
                assertEquals(RawRemoting.SUCCESS, raw.routeResponseCode(ferrocket.nameServerAddress(), topic),
                        "the name server has no route for " + topic + " right after updateTopic answered");
            }
        }
    }
}
