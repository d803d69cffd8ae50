package interop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// modesTimeout bounds every wait of the consumption-mode tests.
const modesTimeout = 60 * time.Second

// journal records the bodies a listener saw, in delivery order, with the reconsume count.
type journal struct {
	mu      sync.Mutex
	entries []journalEntry
}

type journalEntry struct {
	body           string
	queueID        int
	reconsumeTimes int32
}

func (j *journal) add(msgs ...*primitive.MessageExt) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, m := range msgs {
		j.entries = append(j.entries, journalEntry{string(m.Body), m.Queue.QueueId, m.ReconsumeTimes})
	}
}

func (j *journal) snapshot() []journalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]journalEntry(nil), j.entries...)
}

// count returns how many deliveries had a body with the prefix.
func (j *journal) count(prefix string) int {
	n := 0
	for _, e := range j.snapshot() {
		if strings.HasPrefix(e.body, prefix) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(modesTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", modesTimeout, what, describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startConsumer(t *testing.T, s *standalone, group, topic string,
	listener func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error),
	opts ...consumer.Option) {
	t.Helper()
	all := append([]consumer.Option{
		consumer.WithNsResolver(s.resolver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "consumer")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := consumer.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, listener); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer %s: %v", group, err)
	}
	t.Cleanup(func() { shutdownWithin(t, "push consumer "+group, c.Shutdown) })
}

func sendBodies(t *testing.T, p interface {
	SendSync(context.Context, ...*primitive.Message) (*primitive.SendResult, error)
}, topic, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		msg := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s-%d", prefix, i)))
		res, err := p.SendSync(context.Background(), msg)
		if err != nil || res.Status != primitive.SendOK {
			t.Fatalf("send %s-%d: %v %v", prefix, i, err, res)
		}
	}
}

// TestOrderlyConsumerSeesKeysInOrder sends four keys through the hash queue selector and consumes them
// with the Go client's orderly push consumer, which locks its queues with LOCK_BATCH_MQ (41).
func TestOrderlyConsumerSeesKeysInOrder(t *testing.T) {
	s := startStandalone(t)
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)
	p := newProducer(t, s, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	const keys, perKey = 4, 30
	queueOfKey := map[string]int{}
	for seq := 0; seq < perKey; seq++ {
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("order-%d", k)
			msg := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s %d", key, seq))).WithShardingKey(key)
			res := sendSync(t, p, msg)
			if q, ok := queueOfKey[key]; ok && q != res.MessageQueue.QueueId {
				t.Fatalf("key %s went to queue %d and %d", key, q, res.MessageQueue.QueueId)
			}
			queueOfKey[key] = res.MessageQueue.QueueId
		}
	}
	j := &journal{}
	startConsumer(t, s, uniqueName(t, "CG"), topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		j.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumerOrder(true))
	waitFor(t, "every ordered message", func() bool { return len(j.snapshot()) >= keys*perKey },
		func() string { return fmt.Sprintf("%d of %d delivered", len(j.snapshot()), keys*perKey) })
	next := map[string]int{}
	for _, e := range j.snapshot() {
		parts := strings.Fields(e.body)
		seq, _ := strconv.Atoi(parts[1])
		if seq != next[parts[0]] {
			t.Fatalf("key %s: got seq %d, want %d (deliveries %v)", parts[0], seq, next[parts[0]], j.snapshot())
		}
		next[parts[0]]++
	}
}

// TestBroadcastingDeliversToEveryInstance starts two broadcasting consumers of one group; each gets every
// message, and a RECONSUME_LATER in broadcasting mode is not retried.
func TestBroadcastingDeliversToEveryInstance(t *testing.T) {
	s := startStandalone(t)
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)
	group := uniqueName(t, "CG")
	first, second := &journal{}, &journal{}
	startConsumer(t, s, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		first.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumerModel(consumer.BroadCasting))
	startConsumer(t, s, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		second.add(msgs...)
		for _, m := range msgs {
			if string(m.Body) == "bc-3" {
				return consumer.ConsumeRetryLater, nil
			}
		}
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumerModel(consumer.BroadCasting), consumer.WithConsumeMessageBatchMaxSize(1))
	// Broadcasting consumers start from the queue's end; keep sending until both have taken the queues.
	p := newProducer(t, s)
	waitFor(t, "both broadcasting consumers to receive a probe", func() bool {
		sendBodies(t, p, topic, "probe", 1)
		return first.count("probe") > 0 && second.count("probe") > 0
	}, func() string { return "no probe delivered" })
	sendBodies(t, p, topic, "bc", 20)
	waitFor(t, "every message at both instances", func() bool { return first.count("bc-") == 20 && second.count("bc-") >= 20 },
		func() string {
			return fmt.Sprintf("first %d, second %d of 20", first.count("bc-"), second.count("bc-"))
		})
	time.Sleep(3 * time.Second)
	if n := second.count("bc-"); n != 20 {
		t.Fatalf("second instance saw %d deliveries of 20 messages; a failed broadcast message must not be retried", n)
	}
}

// TestConsumeFromWhereForANewGroup uses accessMessageInMemoryMaxRatio=0, so the broker answers
// QUERY_NOT_FOUND for a new group: LAST skips what was stored before, FIRST reads it, TIMESTAMP
// starts at the first message stored at or after its time (SEARCH_OFFSET_BY_TIMESTAMP, code 29).
func TestConsumeFromWhereForANewGroup(t *testing.T) {
	s := startStandaloneWith(t, "accessMessageInMemoryMaxRatio=0\n")
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)
	p := newProducer(t, s)
	sendBodies(t, p, topic, "old", 20)
	// TIMESTAMP has one-second resolution; the Go client reads it as UTC.
	boundary := time.Now().Truncate(time.Second).Add(2 * time.Second)
	time.Sleep(time.Until(boundary))
	sendBodies(t, p, topic, "mid", 20)

	last, first, byTime := &journal{}, &journal{}, &journal{}
	startConsumer(t, s, uniqueName(t, "CGTime"), topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		byTime.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		consumer.WithConsumeTimestamp(boundary.UTC().Format("20060102150405")))
	startConsumer(t, s, uniqueName(t, "CGLast"), topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		last.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumeFromWhere(consumer.ConsumeFromLastOffset))
	startConsumer(t, s, uniqueName(t, "CGFirst"), topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		first.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}, consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset))
	waitFor(t, "LAST consumer to receive a new message", func() bool {
		sendBodies(t, p, topic, "new", 1)
		return last.count("new") > 0
	}, func() string { return "nothing new delivered" })
	waitFor(t, "FIRST consumer to read the old messages", func() bool { return first.count("old-") == 20 },
		func() string { return fmt.Sprintf("%d of 20", first.count("old-")) })
	waitFor(t, "TIMESTAMP consumer to read the messages stored after its time", func() bool { return byTime.count("mid-") == 20 },
		func() string { return fmt.Sprintf("%d of 20", byTime.count("mid-")) })
	time.Sleep(time.Second)
	if n := last.count("old-") + last.count("mid-"); n != 0 {
		t.Fatalf("CONSUME_FROM_LAST_OFFSET read %d messages stored before the group existed", n)
	}
	if n := byTime.count("old-"); n != 0 {
		t.Fatalf("CONSUME_FROM_TIMESTAMP read %d messages stored before its timestamp", n)
	}
}

// TestRetryThenDeadLetterQueue fails one message always: the Go client sends it back
// (CONSUMER_SEND_MSG_BACK, 36) with growing reconsumeTimes until maxReconsumeTimes, then the broker
// moves it to %DLQ%group where another group can read it.
func TestRetryThenDeadLetterQueue(t *testing.T) {
	s := startStandaloneWith(t, "messageDelayLevel="+strings.TrimSpace(strings.Repeat("1s ", 18))+"\n")
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)
	group := uniqueName(t, "CG")
	p := newProducer(t, s)
	sendBodies(t, p, topic, "poison", 1)
	j := &journal{}
	startConsumer(t, s, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		j.add(msgs...)
		return consumer.ConsumeRetryLater, nil
	}, consumer.WithMaxReconsumeTimes(2))
	// The DLQ topic exists once the broker moved the message there; a Go consumer needs its route to start.
	waitFor(t, "a route for %DLQ%"+group, func() bool {
		mqs, err := a.FetchPublishMessageQueues(context.Background(), "%DLQ%"+group)
		return err == nil && len(mqs) > 0
	}, func() string { return fmt.Sprintf("deliveries so far %v", j.snapshot()) })
	dead := &journal{}
	startConsumer(t, s, uniqueName(t, "CGDlq"), "%DLQ%"+group, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		dead.add(msgs...)
		return consumer.ConsumeSuccess, nil
	})
	waitFor(t, "the message in the DLQ", func() bool { return dead.count("poison") > 0 },
		func() string { return fmt.Sprintf("deliveries so far %v", j.snapshot()) })
	time.Sleep(2 * time.Second)
	var times []int32
	for _, e := range j.snapshot() {
		times = append(times, e.reconsumeTimes)
	}
	if fmt.Sprint(times) != "[0 1 2]" {
		t.Fatalf("reconsumeTimes of the deliveries = %v, want [0 1 2]", times)
	}
}
