package interop

import (
	"testing"
	"time"
)

// TestRestartKeepsMessagesAndOffsets consumes 100 messages with one group, sends 50 more, stops the
// server with SIGTERM (it must exit 0 within 15 s) and starts it again on the same store. The group
// must then receive exactly the 50 unconsumed messages (its committed offsets survived), and a new
// group reading from the first offset must receive all 150 with the ids and queue offsets the sends
// reported.
func TestRestartKeepsMessagesAndOffsets(t *testing.T) {
	s := startStandalone(t)
	topic := uniqueName(t, "T")
	group := uniqueName(t, "CG")

	p := newProducer(t, s)
	consumed := expectedSet{}
	for i := 0; i < 100; i++ {
		e := newExpected(topic, "before", i)
		e.result = sendSync(t, p, e.message())
		consumed.add(e)
	}
	before := newInbox()
	c := newPushConsumer(t, s, group, topic, "*", before)
	before.waitAll(t, "group before restart", consumed)
	checkExactlyOnce(t, "group before restart", before.snapshot(), consumed, s.BrokerAddr)
	// Shutdown commits the consumed offsets (UPDATE_CONSUMER_OFFSET, code 15).
	shutdownWithin(t, "push consumer before restart", c.Shutdown)

	pending := expectedSet{}
	for i := 0; i < 50; i++ {
		e := newExpected(topic, "pending", i)
		e.result = sendSync(t, p, e.message())
		pending.add(e)
	}
	shutdownWithin(t, "producer before restart", p.Shutdown)
	// Give the broker a moment to read the one-way offset commits before it is stopped.
	time.Sleep(500 * time.Millisecond)

	s.restart(t)

	after := newInbox()
	newPushConsumer(t, s, group, topic, "*", after)
	after.waitAll(t, "same group after restart", pending)
	checkExactlyOnce(t, "same group after restart", after.snapshot(), pending, s.BrokerAddr)

	all := expectedSet{}
	for seq, e := range consumed {
		all[seq] = e
	}
	for seq, e := range pending {
		all[seq] = e
	}
	fresh := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG_new"), topic, "*", fresh)
	fresh.waitAll(t, "new group after restart", all)
	checkExactlyOnce(t, "new group after restart", fresh.snapshot(), all, s.BrokerAddr)
}
