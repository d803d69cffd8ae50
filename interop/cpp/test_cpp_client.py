"""The official C++ client (librocketmq, through PyPI `rocketmq`) against `ferrocket standalone`.

The C++ client writes its heartbeat with enums as ordinals and `subVersion` as a string, and
reads every header and body with jsoncpp; these tests cover what its users do: send (sync,
oneway, orderly), the push consumer, the pull consumer, and tag filtering on both.
"""

import itertools
import threading
import unittest

from rocketmq.client import Message, Producer, PullConsumer, PushConsumer, SendStatus

from harness import StandaloneTestCase, wait_until

DELIVERY_TIMEOUT_S = 60
_names = itertools.count()


def unique(prefix):
    return "%s_%d" % (prefix, next(_names))


def message(topic, body, tags=None, keys=None, **props):
    m = Message(topic)
    m.set_body(body)
    if tags:
        m.set_tags(tags)
    if keys:
        m.set_keys(keys)
    for k, v in props.items():
        m.set_property(k, v)
    return m


def snapshot(msg):
    """Copies what the tests check out of a received message.

    The wrapper's messages point into the C++ pull result, which is freed once the pull
    generator moves on, so nothing may be read from them later.
    """
    def text(v):
        return v.decode() if isinstance(v, bytes) else v

    return {
        "topic": text(msg.topic),
        "body": text(msg.body),
        "tags": text(msg.tags),
        "keys": text(msg.keys),
        "id": text(msg.id),
        "queue_id": msg.queue_id,
        "queue_offset": msg.queue_offset,
        "origin": text(msg.get_property("origin")),
    }


class Inbox:
    """Messages a push consumer's callback has seen, safe to read from the test thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = []

    def add(self, msg):
        item = snapshot(msg)
        with self._lock:
            self._items.append(item)

    def items(self):
        with self._lock:
            return list(self._items)

    def bodies(self):
        return sorted(i["body"] for i in self.items())


class CppClientTest(StandaloneTestCase):

    def producer(self):
        p = Producer(unique("cpp_pg"))
        p.set_namesrv_addr(self.server.namesrv)
        p.start()
        self.addCleanup(p.shutdown)
        return p

    def push_consumer(self, topic, expression, inbox):
        c = PushConsumer(unique("cpp_cg"))
        c.set_namesrv_addr(self.server.namesrv)
        c.set_instance_name(unique("cpp_instance"))
        c.subscribe(topic, inbox.add, expression)
        c.start()
        self.addCleanup(c.shutdown)
        return c

    def pull_until(self, topic, count, expression="*"):
        """Pulls every queue from offset 0 until `count` messages have been read."""
        c = PullConsumer(unique("cpp_pull"))
        c.set_namesrv_addr(self.server.namesrv)
        c.start()
        self.addCleanup(c.shutdown)
        c.offset_table = {}  # the wrapper keeps offsets in a class attribute; start from 0
        got = []

        def more():
            got.extend(snapshot(m) for m in c.pull(topic, expression))
            return len(got) >= count

        try:
            wait_until(more, DELIVERY_TIMEOUT_S, "%d pulled messages" % count)
        except AssertionError as e:
            raise AssertionError("%s; got %s" % (e, sorted(m["body"] for m in got)))
        return got

    def send_all(self, producer, messages):
        results = [producer.send_sync(m) for m in messages]
        for r in results:
            self.assertEqual(r.status, SendStatus.OK, r)
        self.assertEqual(len({r.msg_id for r in results}), len(results), "message ids are unique")
        return results

    def test_send_sync_and_pull_back_every_field(self):
        topic = unique("CppSend")
        self.server.create_topic(topic, 4)
        p = self.producer()
        sent = self.send_all(p, [
            message(topic, "hello-%d" % i, tags="TagA", keys="key-%d" % i, origin="cpp")
            for i in range(8)
        ])
        got = self.pull_until(topic, 8)
        self.assertEqual(sorted(m["body"] for m in got), sorted("hello-%d" % i for i in range(8)))
        for m in got:
            self.assertEqual(m["topic"], topic)
            self.assertEqual(m["tags"], "TagA")
            self.assertEqual(m["origin"], "cpp")
            self.assertEqual(m["keys"], "key-" + m["body"].split("-")[1])
        self.assertEqual({m["id"] for m in got}, {r.msg_id for r in sent})
        self.assertEqual(len({m["queue_id"] for m in got}), 4, "sends spread over the 4 queues")

    def test_pull_consumer_filters_by_tag(self):
        topic = unique("CppPullTag")
        self.server.create_topic(topic, 2)
        p = self.producer()
        self.send_all(p, [message(topic, "%s-%d" % (t, i), tags=t)
                          for i in range(4) for t in ("TagA", "TagB", "TagC")])
        self.pull_until(topic, 12)
        got = self.pull_until(topic, 8, "TagA || TagC")
        self.assertEqual(sorted(m["body"] for m in got),
                         sorted("%s-%d" % (t, i) for i in range(4) for t in ("TagA", "TagC")))

    def test_push_consumer_receives_every_message(self):
        topic = unique("CppPush")
        self.server.create_topic(topic, 4)
        inbox = Inbox()
        self.push_consumer(topic, "*", inbox)
        p = self.producer()
        self.send_all(p, [message(topic, "push-%d" % i, tags="T", origin="cpp") for i in range(20)])
        wait_until(lambda: len(set(inbox.bodies())) >= 20, DELIVERY_TIMEOUT_S,
                   "20 messages at the push consumer")
        self.assertEqual(sorted(set(inbox.bodies())), sorted("push-%d" % i for i in range(20)))
        self.assertTrue(all(i["origin"] == "cpp" for i in inbox.items()))

    def test_push_consumer_filters_by_tag(self):
        # One queue, so the last message arriving means every earlier one was decided.
        topic = unique("CppPushTag")
        self.server.create_topic(topic, 1)
        inbox = Inbox()
        self.push_consumer(topic, "TagA || TagC", inbox)
        p = self.producer()
        self.send_all(p, [message(topic, "%s-%d" % (t, i), tags=t)
                          for i in range(5) for t in ("TagA", "TagB", "TagC")])
        self.send_all(p, [message(topic, "last", tags="TagC")])
        wait_until(lambda: "last" in inbox.bodies(), DELIVERY_TIMEOUT_S, "the last message")
        expected = sorted(["last"] + ["%s-%d" % (t, i) for i in range(5) for t in ("TagA", "TagC")])
        self.assertEqual(sorted(set(inbox.bodies())), expected)
        self.assertNotIn("TagB", {i["tags"] for i in inbox.items()})

    def test_oneway_and_orderly_sends(self):
        topic = unique("CppModes")
        self.server.create_topic(topic, 4)
        p = self.producer()
        for i in range(3):
            p.send_oneway(message(topic, "oneway-%d" % i))
        for i in range(4):
            r = p.send_orderly(message(topic, "orderly-%d" % i), 7)
            self.assertEqual(r.status, SendStatus.OK)
        want = sorted(["oneway-%d" % i for i in range(3)] + ["orderly-%d" % i for i in range(4)])
        got = self.pull_until(topic, len(want))
        self.assertEqual(sorted(m["body"] for m in got), want)
        orderly = [m for m in got if m["body"].startswith("orderly-")]
        self.assertEqual(len({m["queue_id"] for m in orderly}), 1, "one sharding key, one queue")
        self.assertEqual([m["body"] for m in sorted(orderly, key=lambda m: m["queue_offset"])],
                         ["orderly-%d" % i for i in range(4)])


if __name__ == "__main__":
    unittest.main()
