package interop

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestProduceConsume sends 300 messages one by one with SendSync (SEND_MESSAGE, code 10, long header
// names) to a topic that does not exist yet, so the broker creates it from TBW102, then checks that a
// clustering push consumer reading from the first offset receives each message exactly once with body,
// tag, keys, user properties, ids and queue position intact, and that a second group subscribed to
// "TagA" receives exactly the TagA half.
func TestProduceConsume(t *testing.T) {
	s := startStandalone(t)
	topic := uniqueName(t, "T")
	p := newProducer(t, s)

	want := expectedSet{}
	var results []*primitive.SendResult
	for i := 0; i < 300; i++ {
		e := newExpected(topic, "sync", i)
		if i == 0 {
			// The Go producer finds no route for a new topic, falls back to the route of TBW102 and
			// sends with defaultTopic=TBW102; the broker must auto-create the topic.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			res, err := p.SendSync(ctx, e.message())
			cancel()
			if err != nil {
				t.Fatalf("first SendSync to new topic %s failed: %v\n(the Go producer needs the name server to "+
					"route TBW102 to the broker and the broker to auto-create the topic on SEND_MESSAGE, code 10)",
					topic, err)
			}
			if res.Status != primitive.SendOK {
				t.Fatalf("first SendSync to new topic %s: status %v", topic, res.Status)
			}
			e.result = res
		} else {
			e.result = sendSync(t, p, e.message())
		}
		if e.result.MsgID == "" {
			t.Fatalf("send result of %s has no msgId", e.seq)
		}
		want.add(e)
		results = append(results, e.result)
	}
	checkQueueOffsets(t, results)

	a := newAdmin(t, s)
	mqs := waitRoute(t, a, topic)
	// The broker creates the topic with min(defaultTopicQueueNums sent by the client = 4, write queues
	// of TBW102 = 8) queues.
	if len(mqs) != 4 {
		t.Errorf("auto-created topic routes %d queues, want 4 (the Go producer's defaultTopicQueueNums)", len(mqs))
	}
	used := map[int]bool{}
	for _, r := range results {
		used[r.MessageQueue.QueueId] = true
	}
	if len(used) != len(mqs) {
		t.Errorf("300 round-robin sends used %d queues, the route has %d", len(used), len(mqs))
	}

	all := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG_all"), topic, "*", all)
	onlyA := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG_tagA"), topic, "TagA", onlyA)

	wantA := expectedSet{}
	for seq, e := range want {
		if e.tag == "TagA" {
			wantA[seq] = e
		}
	}
	all.waitAll(t, "group subscribed to *", want)
	onlyA.waitAll(t, "group subscribed to TagA", wantA)
	checkExactlyOnce(t, "group subscribed to *", all.snapshot(), want, s.BrokerAddr)
	checkExactlyOnce(t, "group subscribed to TagA", onlyA.snapshot(), wantA, s.BrokerAddr)
}
