package interop

import (
	"strings"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestBatchSend sends 10 batches of 10 messages with one SendSync call each (SEND_BATCH_MESSAGE,
// code 320). Each batch must be stored contiguously in one queue starting at the offset the send
// reported, the response must list one offset message id per member, and a push consumer must
// receive all 100 members exactly once with their own tags, keys and properties.
func TestBatchSend(t *testing.T) {
	s := startStandalone(t)
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)
	p := newProducer(t, s)

	const batches, perBatch = 10, 10
	want := expectedSet{}
	members := make([][]*expected, batches)
	results := make([]*primitive.SendResult, batches)
	for b := 0; b < batches; b++ {
		msgs := make([]*primitive.Message, 0, perBatch)
		for i := 0; i < perBatch; i++ {
			e := newExpected(topic, "batch", b*perBatch+i)
			e.batch = true
			members[b] = append(members[b], e)
			want.add(e)
			msgs = append(msgs, e.message())
		}
		results[b] = sendSync(t, p, msgs...)
		if ids := strings.Split(results[b].OffsetMsgID, ","); len(ids) != perBatch {
			t.Errorf("batch %d: send response msgId lists %d ids (%q), want %d comma-separated offset ids",
				b, len(ids), results[b].OffsetMsgID, perBatch)
		}
	}
	// Batches sent one after another to the same queue must not overlap.
	byQueue := map[int][]int64{}
	for _, r := range results {
		byQueue[r.MessageQueue.QueueId] = append(byQueue[r.MessageQueue.QueueId], r.QueueOffset)
	}
	for q, offs := range byQueue {
		for i, o := range offs {
			if o != int64(i*perBatch) {
				t.Errorf("queue %d: batches start at offsets %v, want multiples of %d from 0", q, offs, perBatch)
				break
			}
		}
	}

	in := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG"), topic, "*", in)
	in.waitAll(t, "push consumer", want)
	got := in.snapshot()
	checkExactlyOnce(t, "push consumer", got, want, s.BrokerAddr)

	for b, r := range results {
		offsetIDs := strings.Split(r.OffsetMsgID, ",")
		for i, e := range members[b] {
			if len(got[e.seq]) == 0 {
				continue
			}
			m := got[e.seq][0].msg
			if m.Queue == nil || m.Queue.QueueId != r.MessageQueue.QueueId || m.QueueOffset != r.QueueOffset+int64(i) {
				t.Errorf("batch %d member %d stored at queue %v offset %d, want queue %d offset %d",
					b, i, m.Queue, m.QueueOffset, r.MessageQueue.QueueId, r.QueueOffset+int64(i))
			}
			if len(offsetIDs) == perBatch && m.OffsetMsgId != offsetIDs[i] {
				t.Errorf("batch %d member %d: offset msg id %s, send response listed %s", b, i, m.OffsetMsgId, offsetIDs[i])
			}
		}
	}
}
