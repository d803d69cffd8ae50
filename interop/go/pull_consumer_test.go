package interop

import (
	"context"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// TestPullConsumerRereads sends 120 messages, lets a push consumer group consume them all, then reads
// every queue again from offset 0 with the Go pull consumer of another group (PullFrom, PULL_MESSAGE
// code 11). Each message must come back exactly once, in queue order, with the offsets the sends
// reported; pull results must carry consistent min/max/next offsets, a pull beyond the end must be
// answered PULL_OFFSET_MOVED, and a pull held at the end of a queue must be answered as soon as a
// message is appended to that queue.
func TestPullConsumerRereads(t *testing.T) {
	s := startStandalone(t)
	topic := uniqueName(t, "T")
	p := newProducer(t, s)

	want := expectedSet{}
	var results []*primitive.SendResult
	for i := 0; i < 120; i++ {
		e := newExpected(topic, "pull", i)
		e.result = sendSync(t, p, e.message())
		want.add(e)
		results = append(results, e.result)
	}
	checkQueueOffsets(t, results)
	perQueue := map[int]int64{}
	for _, r := range results {
		perQueue[r.MessageQueue.QueueId]++
	}

	first := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG_push"), topic, "*", first)
	first.waitAll(t, "push consumer group", want)
	checkExactlyOnce(t, "push consumer group", first.snapshot(), want, s.BrokerAddr)

	a := newAdmin(t, s)
	mqs := waitRoute(t, a, topic)

	pc, err := rocketmq.NewPullConsumer(
		consumer.WithNsResolver(s.resolver()),
		consumer.WithGroupName(uniqueName(t, "CG_pull")),
		consumer.WithInstance(uniqueName(t, "pull")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatalf("new pull consumer: %v", err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}); err != nil {
		t.Fatalf("pull consumer subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("start pull consumer: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "pull consumer", pc.Shutdown) })

	got := map[string][]received{}
	for _, mq := range mqs {
		queue := *mq
		offset := pullQueue(t, pc, queue, perQueue[queue.QueueId], got)

		// Beyond the end of the queue the broker answers PULL_OFFSET_MOVED (21) with the max offset.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		res, err := pc.PullFrom(ctx, &queue, offset+5, 32)
		cancel()
		if err != nil {
			t.Fatalf("PullFrom queue %d beyond the end (offset %d): %v", queue.QueueId, offset+5, err)
		}
		if res.Status != primitive.PullOffsetIllegal || res.NextBeginOffset != offset {
			t.Errorf("queue %d: pull at %d (max %d) gave status %v next %d, want %v (PULL_OFFSET_MOVED) next %d",
				queue.QueueId, offset+5, offset, res.Status, res.NextBeginOffset, primitive.PullOffsetIllegal, offset)
		}
	}
	checkExactlyOnce(t, "pull consumer", got, want, s.BrokerAddr)

	// A pull at the end of a queue is held by the broker (long polling, SUSPEND bit, 20 s); a message
	// appended to that queue must answer it long before the hold expires.
	queue := *mqs[0]
	end := perQueue[queue.QueueId]
	type pullOutcome struct {
		res *primitive.PullResult
		err error
		at  time.Time
	}
	outcome := make(chan pullOutcome, 1)
	go func() {
		res, err := pc.PullFrom(context.Background(), &queue, end, 32)
		outcome <- pullOutcome{res, err, time.Now()}
	}()
	time.Sleep(time.Second)
	select {
	case o := <-outcome:
		t.Fatalf("pull at the end of queue %d returned before any new message (status %v, err %v); "+
			"the broker should hold it", queue.QueueId, o.res, o.err)
	default:
	}
	manual := newProducer(t, s, producer.WithQueueSelector(producer.NewManualQueueSelector()))
	late := newExpected(topic, "late", 0)
	msg := late.message()
	msg.Queue = &queue
	sentAt := time.Now()
	late.result = sendSync(t, manual, msg)
	if late.result.MessageQueue.QueueId != queue.QueueId || late.result.QueueOffset != end {
		t.Fatalf("message sent to queue %d landed in queue %d at offset %d, want offset %d",
			queue.QueueId, late.result.MessageQueue.QueueId, late.result.QueueOffset, end)
	}
	select {
	case o := <-outcome:
		if o.err != nil {
			t.Fatalf("held pull failed: %v", o.err)
		}
		if o.res.Status != primitive.PullFound || len(o.res.GetMessageExts()) != 1 {
			t.Fatalf("held pull answered status %v with %d messages, want the new message",
				o.res.Status, len(o.res.GetMessageExts()))
		}
		for _, d := range compareMessage(late, o.res.GetMessageExts()[0], s.BrokerAddr) {
			t.Errorf("message delivered to the held pull: %s", d)
		}
		t.Logf("held pull answered %v after the send", o.at.Sub(sentAt).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("held pull at the end of queue %d was not answered within 10 s of a new message "+
			"(the broker must wake held PULL_MESSAGE requests when a message arrives)", queue.QueueId)
	}
}

// pullQueue reads queue from offset 0 to want with PullFrom, checking offsets on the way, adds every
// message to got and returns the offset reached.
func pullQueue(t *testing.T, pc rocketmq.PullConsumer, queue primitive.MessageQueue, want int64,
	got map[string][]received) int64 {
	t.Helper()
	var offset int64
	for round := 0; offset < want; round++ {
		if round > 100 {
			t.Fatalf("queue %d: still pulling after 100 rounds (offset %d)", queue.QueueId, offset)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		res, err := pc.PullFrom(ctx, &queue, offset, 32)
		cancel()
		if err != nil {
			t.Fatalf("PullFrom queue %d offset %d: %v", queue.QueueId, offset, err)
		}
		if res.MinOffset != 0 || res.MaxOffset != want {
			t.Errorf("queue %d offset %d: pull result min/max offset %d/%d, want 0/%d",
				queue.QueueId, offset, res.MinOffset, res.MaxOffset, want)
		}
		if res.Status != primitive.PullFound {
			t.Fatalf("queue %d offset %d (max %d): pull status %v (0 found, 1 no new msg, 2 no match, "+
				"3 offset illegal), next %d min %d max %d",
				queue.QueueId, offset, want, res.Status, res.NextBeginOffset, res.MinOffset, res.MaxOffset)
		}
		msgs := res.GetMessageExts()
		if len(msgs) == 0 || len(msgs) > 32 {
			t.Fatalf("queue %d offset %d: pull found %d messages, want 1..32", queue.QueueId, offset, len(msgs))
		}
		for i, m := range msgs {
			if m.QueueOffset != offset+int64(i) {
				t.Errorf("queue %d: message %d of a pull at %d has queue offset %d", queue.QueueId, i, offset, m.QueueOffset)
			}
			if m.Queue == nil || m.Queue.QueueId != queue.QueueId {
				t.Errorf("queue %d: pulled message stored in queue %v", queue.QueueId, m.Queue)
			}
			seq := m.GetProperty(seqProperty)
			got[seq] = append(got[seq], received{msg: m, at: time.Now()})
		}
		if next := offset + int64(len(msgs)); res.NextBeginOffset != next {
			t.Fatalf("queue %d: pull at %d returned %d messages but nextBeginOffset %d, want %d",
				queue.QueueId, offset, len(msgs), res.NextBeginOffset, next)
		}
		offset = res.NextBeginOffset
	}
	return offset
}
