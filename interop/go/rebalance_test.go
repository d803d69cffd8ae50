package interop

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// rebalanceTimeout bounds the wait for two consumers to settle on disjoint queue sets. The Go client
// rebalances on NOTIFY_CONSUMER_IDS_CHANGED (code 40) and otherwise every 20 s.
const rebalanceTimeout = 45 * time.Second

// allocationRecorder wraps AllocateByAveragely and remembers its last answer for one topic.
type allocationRecorder struct {
	topic string

	mu     sync.Mutex
	cids   []string
	queues map[int]bool
}

func (r *allocationRecorder) strategy(group, cid string, mqAll []*primitive.MessageQueue,
	cidAll []string) []*primitive.MessageQueue {
	res := consumer.AllocateByAveragely(group, cid, mqAll, cidAll)
	if len(mqAll) > 0 && mqAll[0].Topic == r.topic {
		queues := map[int]bool{}
		for _, mq := range res {
			queues[mq.QueueId] = true
		}
		r.mu.Lock()
		r.cids = append([]string(nil), cidAll...)
		r.queues = queues
		r.mu.Unlock()
	}
	return res
}

func (r *allocationRecorder) state() ([]string, map[int]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cids, r.queues
}

// TestConsumerGroupSplitsQueues starts two push consumers in one group on a topic with 8 queues. The
// broker must report both members (GET_CONSUMER_LIST_BY_GROUP, code 38) so that each takes 4 queues;
// then 200 messages must be delivered exactly once across the two, each consumer receiving only
// from its own queues and both receiving some.
func TestConsumerGroupSplitsQueues(t *testing.T) {
	s := startStandalone(t)
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	const queueCount = 8
	createTopic(t, s, a, topic, queueCount)

	group := uniqueName(t, "CG")
	recorders := []*allocationRecorder{{topic: topic}, {topic: topic}}
	inboxes := []*inbox{newInbox(), newInbox()}
	start := time.Now()
	for i := range recorders {
		newPushConsumer(t, s, group, topic, "*", inboxes[i], consumer.WithStrategy(recorders[i].strategy))
	}

	settled := func() (bool, string) {
		c0, q0 := recorders[0].state()
		c1, q1 := recorders[1].state()
		desc := fmt.Sprintf("consumer 1 sees members %v and holds queues %v; consumer 2 sees members %v and holds queues %v",
			c0, sortedKeys(q0), c1, sortedKeys(q1))
		if len(c0) != 2 || len(c1) != 2 || len(q0)+len(q1) != queueCount || len(q0) == 0 || len(q1) == 0 {
			return false, desc
		}
		for q := range q0 {
			if q1[q] {
				return false, desc
			}
		}
		return true, desc
	}
	for {
		ok, desc := settled()
		if ok {
			took := time.Since(start)
			t.Logf("group settled after %v: %s", took.Round(time.Millisecond), desc)
			if took > 10*time.Second {
				t.Logf("note: settling took longer than 10 s; the broker may not send NOTIFY_CONSUMER_IDS_CHANGED " +
					"(code 40), so the clients waited for their periodic rebalance")
			}
			break
		}
		if time.Since(start) > rebalanceTimeout {
			t.Fatalf("two consumers of one group did not split %d queues within %s: %s",
				queueCount, rebalanceTimeout, desc)
		}
		time.Sleep(200 * time.Millisecond)
	}

	p := newProducer(t, s)
	want := expectedSet{}
	for i := 0; i < 200; i++ {
		e := newExpected(topic, "split", i)
		e.result = sendSync(t, p, e.message())
		want.add(e)
	}

	deadline := time.Now().Add(deliveryTimeout)
	for mergeInboxes(inboxes).distinct(want) < len(want) {
		if time.Now().After(deadline) {
			merged := mergeInboxes(inboxes)
			t.Fatalf("the group received %d of %d messages within %s; missing: %s",
				merged.distinct(want), len(want), deliveryTimeout, merged.missing(want, 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(duplicateWatch)
	merged := mergeInboxes(inboxes)
	checkExactlyOnce(t, "consumer group", merged.snapshot(), want, s.BrokerAddr)

	for i, in := range inboxes {
		_, own := recorders[i].state()
		got := in.snapshot()
		if len(got) == 0 {
			t.Errorf("consumer %d received nothing although it holds queues %v", i+1, sortedKeys(own))
		}
		for seq, rs := range got {
			for _, r := range rs {
				if r.msg.Queue == nil || !own[r.msg.Queue.QueueId] {
					t.Errorf("consumer %d received %s from queue %v, outside its queues %v", i+1, seq, r.msg.Queue, sortedKeys(own))
				}
			}
		}
		t.Logf("consumer %d received %d messages from queues %v", i+1, len(got), sortedKeys(own))
	}
}

// mergeInboxes combines what several consumers of one group received.
func mergeInboxes(inboxes []*inbox) *inbox {
	merged := newInbox()
	for _, in := range inboxes {
		for seq, rs := range in.snapshot() {
			merged.bySeq[seq] = append(merged.bySeq[seq], rs...)
		}
	}
	return merged
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
