package interopv5

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

// TestMain points the client's log file into the build directory before any client starts.
func TestMain(m *testing.M) {
	logRoot, _ := filepath.Abs("target/client-logs")
	_ = os.MkdirAll(logRoot, 0o755)
	os.Setenv(rmq.CLIENT_LOG_ROOT, logRoot)
	rmq.ResetLogger()
	os.Exit(m.Run())
}

func config(s *server, group string) *rmq.Config {
	return &rmq.Config{Endpoint: s.Endpoint, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

func newProducer(t *testing.T, s *server, topics ...string) rmq.Producer {
	t.Helper()
	p, err := rmq.NewProducer(config(s, ""), rmq.WithTopics(topics...))
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.GracefulStop() })
	return p
}

func newSimpleConsumer(t *testing.T, s *server, group, topic string, filter *rmq.FilterExpression) rmq.SimpleConsumer {
	t.Helper()
	c, err := rmq.NewSimpleConsumer(config(s, group),
		rmq.WithSimpleAwaitDuration(5*time.Second), // the proxy's minimum long polling time,
		rmq.WithSimpleSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: filter}))
	if err != nil {
		t.Fatalf("new simple consumer: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start simple consumer: %v", err)
	}
	t.Cleanup(func() { _ = c.GracefulStop() })
	return c
}

func send(t *testing.T, p rmq.Producer, msg *rmq.Message) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	receipts, err := p.Send(ctx, msg)
	if err != nil {
		t.Fatalf("send to %s: %v", msg.Topic, err)
	}
	if len(receipts) != 1 || receipts[0].MessageID == "" {
		t.Fatalf("send to %s: want one receipt with a message id, got %+v", msg.Topic, receipts)
	}
	return receipts[0].MessageID
}

// receiveUntil receives with the given invisible duration until want messages arrived or the
// deadline passed. An empty receive (MESSAGE_NOT_FOUND) is not an error.
func receiveUntil(t *testing.T, c rmq.SimpleConsumer, want int, invisible, within time.Duration) []*rmq.MessageView {
	t.Helper()
	return receiveBatches(t, c, 16, want, invisible, within)
}

// receiveBatches is receiveUntil with at most batch messages per receive.
func receiveBatches(t *testing.T, c rmq.SimpleConsumer, batch int32, want int, invisible, within time.Duration) []*rmq.MessageView {
	t.Helper()
	var got []*rmq.MessageView
	deadline := time.Now().Add(within)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		views, err := c.Receive(ctx, batch, invisible)
		cancel()
		if err != nil && !strings.Contains(err.Error(), "MESSAGE_NOT_FOUND") {
			t.Fatalf("receive: %v", err)
		}
		got = append(got, views...)
	}
	return got
}

func ack(t *testing.T, c rmq.SimpleConsumer, views []*rmq.MessageView) {
	t.Helper()
	for _, v := range views {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Ack(ctx, v)
		cancel()
		if err != nil {
			t.Fatalf("ack %s: %v", v.GetMessageId(), err)
		}
	}
}

// A NORMAL message keeps its tag, keys, user properties and body on its way through the broker, a
// tag filter drops what it does not match, and an acknowledged message is not delivered again.
func TestSendReceiveAckWithTagFilter(t *testing.T) {
	const topic = "GoV5Normal"
	s := startServer(t, []string{topic}, "")
	p := newProducer(t, s, topic)
	want := map[string]int{}
	for i := 0; i < 8; i++ {
		tag := "TagA"
		if i%2 == 1 {
			tag = "TagB"
		}
		msg := &rmq.Message{Topic: topic, Body: []byte(fmt.Sprintf("normal-%d", i))}
		msg.SetTag(tag)
		msg.SetKeys(fmt.Sprintf("key-%d", i), "common")
		msg.AddProperty("seq", fmt.Sprint(i))
		id := send(t, p, msg)
		if tag == "TagA" {
			want[id] = i
		}
	}
	c := newSimpleConsumer(t, s, "GoV5NormalGroup", topic, rmq.NewFilterExpression("TagA"))
	got := receiveUntil(t, c, len(want), 15*time.Second, 30*time.Second)
	if len(got) != len(want) {
		t.Fatalf("received %d TagA messages, want %d", len(got), len(want))
	}
	for _, v := range got {
		i, ok := want[v.GetMessageId()]
		if !ok {
			t.Fatalf("received message %s that was not sent with TagA (tag %v)", v.GetMessageId(), v.GetTag())
		}
		if string(v.GetBody()) != fmt.Sprintf("normal-%d", i) || v.GetTag() == nil || *v.GetTag() != "TagA" {
			t.Errorf("message %s: body %q tag %v", v.GetMessageId(), v.GetBody(), v.GetTag())
		}
		keys := v.GetKeys()
		sort.Strings(keys)
		if strings.Join(keys, ",") != fmt.Sprintf("common,key-%d", i) {
			t.Errorf("message %s: keys %v", v.GetMessageId(), keys)
		}
		if v.GetProperties()["seq"] != fmt.Sprint(i) {
			t.Errorf("message %s: properties %v", v.GetMessageId(), v.GetProperties())
		}
		if v.GetDeliveryAttempt() != 1 {
			t.Errorf("message %s: delivery attempt %d, want 1", v.GetMessageId(), v.GetDeliveryAttempt())
		}
	}
	ack(t, c, got)
	if again := receiveUntil(t, c, 1, 15*time.Second, 4*time.Second); len(again) != 0 {
		t.Fatalf("%d messages delivered again after their ack", len(again))
	}
}

// A received message that is not acknowledged comes back once its invisible duration is over,
// with its delivery attempt counted.
func TestUnackedMessageIsRedelivered(t *testing.T) {
	const topic = "GoV5Redeliver"
	s := startServer(t, []string{topic}, "")
	p := newProducer(t, s, topic)
	id := send(t, p, &rmq.Message{Topic: topic, Body: []byte("redeliver me")})
	c := newSimpleConsumer(t, s, "GoV5RedeliverGroup", topic, rmq.SUB_ALL)
	first := receiveUntil(t, c, 1, 10*time.Second, 20*time.Second)
	if len(first) != 1 || first[0].GetMessageId() != id {
		t.Fatalf("first receive: want message %s, got %d messages", id, len(first))
	}
	start := time.Now()
	second := receiveUntil(t, c, 1, 10*time.Second, 40*time.Second)
	if len(second) != 1 || second[0].GetMessageId() != id {
		t.Fatalf("after the invisible duration: want message %s again, got %d messages", id, len(second))
	}
	if waited := time.Since(start); waited < 5*time.Second {
		t.Errorf("redelivered after %s, before its 10 s invisible duration was over", waited)
	}
	if second[0].GetDeliveryAttempt() != 2 {
		t.Errorf("delivery attempt %d on redelivery, want 2", second[0].GetDeliveryAttempt())
	}
	ack(t, c, second)
}

// A DELAY message is not delivered before its delivery timestamp.
func TestDelayMessage(t *testing.T) {
	const topic = "GoV5Delay"
	s := startServer(t, []string{topic}, "")
	p := newProducer(t, s, topic)
	c := newSimpleConsumer(t, s, "GoV5DelayGroup", topic, rmq.SUB_ALL)
	due := time.Now().Add(4 * time.Second)
	msg := &rmq.Message{Topic: topic, Body: []byte("later")}
	msg.SetDelayTimestamp(due)
	id := send(t, p, msg)
	got := receiveUntil(t, c, 1, 15*time.Second, 30*time.Second)
	if len(got) != 1 || got[0].GetMessageId() != id {
		t.Fatalf("want the delayed message %s, got %d messages", id, len(got))
	}
	if early := due.Sub(time.Now()); early > 500*time.Millisecond {
		t.Errorf("delivered %s before its delivery timestamp", early)
	}
	ack(t, c, got)
}

// A SQL92 filter selects by user property.
func TestSQL92Filter(t *testing.T) {
	const topic = "GoV5Sql"
	s := startServer(t, []string{topic}, "enablePropertyFilter=true\n")
	p := newProducer(t, s, topic)
	want := map[string]bool{}
	for i := 0; i < 6; i++ {
		msg := &rmq.Message{Topic: topic, Body: []byte(fmt.Sprint(i))}
		msg.AddProperty("n", fmt.Sprint(i))
		id := send(t, p, msg)
		if i >= 3 {
			want[id] = true
		}
	}
	c := newSimpleConsumer(t, s, "GoV5SqlGroup", topic, rmq.NewFilterExpressionWithType("n >= 3", rmq.SQL92))
	got := receiveUntil(t, c, len(want), 15*time.Second, 30*time.Second)
	for _, v := range got {
		if !want[v.GetMessageId()] {
			t.Errorf("message with n=%s passed the filter n >= 3", v.GetProperties()["n"])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("received %d messages, want %d", len(got), len(want))
	}
	ack(t, c, got)
}

// FIFO: the messages of one message group are delivered in send order, and the next ones only
// after the ones in flight were acknowledged (an ordinary group would get them at once).
func TestFifoMessageGroupOrder(t *testing.T) {
	const topic, group = "GoV5Fifo", "GoV5FifoGroup"
	s := startServerWithFifoGroup(t, topic, group)
	p := newProducer(t, s, topic)
	var ids []string
	for i := 0; i < 6; i++ {
		msg := &rmq.Message{Topic: topic, Body: []byte(fmt.Sprint(i))}
		msg.SetMessageGroup("order-1")
		ids = append(ids, send(t, p, msg))
	}
	c := newSimpleConsumer(t, s, group, topic, rmq.SUB_ALL)
	var order []string
	for len(order) < len(ids) {
		batch := receiveBatches(t, c, 2, 1, 30*time.Second, 30*time.Second)
		if len(batch) == 0 {
			t.Fatalf("nothing received after %d of %d messages", len(order), len(ids))
		}
		if len(order)+len(batch) < len(ids) {
			// the group's next messages wait while these are in flight
			if held := receiveBatches(t, c, 2, 1, 30*time.Second, time.Second); len(held) != 0 {
				t.Fatalf("received %s while the group's earlier messages were not acknowledged", held[0].GetMessageId())
			}
		}
		for _, v := range batch {
			if g := v.GetMessageGroup(); g == nil || *g != "order-1" {
				t.Errorf("message %s: message group %v", v.GetMessageId(), g)
			}
			order = append(order, v.GetMessageId())
		}
		ack(t, c, batch)
	}
	if strings.Join(order, ",") != strings.Join(ids, ",") {
		t.Fatalf("delivery order differs from send order:\n got  %v\n want %v", order, ids)
	}
}

// startServerWithFifoGroup starts a server whose store already holds an orderly (FIFO) group.
func startServerWithFifoGroup(t *testing.T, topic, group string) *server {
	t.Helper()
	return startServer(t, []string{topic}, "", withGroups(fmt.Sprintf(
		`{"subscriptionGroupTable":{%q:{"groupName":%q,"consumeEnable":true,"consumeMessageOrderly":true,"retryMaxTimes":16}}}`,
		group, group)))
}
