package interop

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

const (
	// routeTimeout bounds the wait for a topic route to show up at the name server. RocketMQ brokers
	// register a topic with the name server as soon as it is created, so this is generous.
	routeTimeout = 10 * time.Second
	// shutdownTimeout bounds a client's Shutdown, which talks to the broker.
	shutdownTimeout = 15 * time.Second
)

var (
	instanceSeq   atomic.Int64
	invalidNameRe = regexp.MustCompile(`[^a-zA-Z0-9_-]`)
)

// uniqueName builds a topic/group/instance name valid for RocketMQ and unique in this process.
// Unique instance names matter: the Go client shares one connection pool per client id, and a second
// client with the same id but another name server is refused.
func uniqueName(t *testing.T, kind string) string {
	name := invalidNameRe.ReplaceAllString(t.Name(), "_")
	return fmt.Sprintf("%s_%s_%d_%d", kind, name, os.Getpid(), instanceSeq.Add(1))
}

// resolver points a client at the test's name server only.
func (s *standalone) resolver() primitive.NsResolver {
	return primitive.NewPassthroughResolver([]string{s.NameServerAddr})
}

// shutdownWithin runs a client's Shutdown with a time limit so a stuck broker cannot hang the suite.
func shutdownWithin(t *testing.T, what string, shutdown func() error) {
	done := make(chan error, 1)
	go func() { done <- shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("%s shutdown: %v", what, err)
		}
	case <-time.After(shutdownTimeout):
		t.Errorf("%s did not shut down within %s", what, shutdownTimeout)
	}
}

// newProducer starts a producer bound to the test's name server; it is shut down when the test ends.
func newProducer(t *testing.T, s *standalone, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNsResolver(s.resolver()),
		producer.WithGroupName(uniqueName(t, "PG")),
		producer.WithInstanceName(uniqueName(t, "producer")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10 * time.Second),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "producer", p.Shutdown) })
	return p
}

// newPushConsumer subscribes to topic with the tag expression and starts a clustering push consumer
// that reads from the first offset; it is shut down when the test ends.
func newPushConsumer(t *testing.T, s *standalone, group, topic, tagExpr string, in *inbox,
	opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	all := append([]consumer.Option{
		consumer.WithNsResolver(s.resolver()),
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "consumer")),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := rocketmq.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	selector := consumer.MessageSelector{Type: consumer.TAG, Expression: tagExpr}
	if err := c.Subscribe(topic, selector, in.handle); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start push consumer (group %s, topic %s): %v", group, topic, err)
	}
	t.Cleanup(func() { shutdownWithin(t, "push consumer "+group, c.Shutdown) })
	return c
}

// newAdmin returns an admin client bound to the test's name server.
func newAdmin(t *testing.T, s *standalone) admin.Admin {
	t.Helper()
	a, err := admin.NewAdmin(admin.WithResolver(s.resolver()))
	if err != nil {
		t.Fatalf("new admin: %v", err)
	}
	t.Cleanup(func() { shutdownWithin(t, "admin", a.Close) })
	return a
}

// createTopic creates topic on the broker with UPDATE_AND_CREATE_TOPIC (17) through the Go admin API
// and waits until the name server routes it. The admin API ignores the response code, so the route
// is the proof that the broker accepted the request.
func createTopic(t *testing.T, s *standalone, a admin.Admin, topic string, queues int) []*primitive.MessageQueue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.CreateTopic(ctx,
		admin.WithTopicCreate(topic),
		admin.WithBrokerAddrCreate(s.BrokerAddr),
		admin.WithReadQueueNums(queues),
		admin.WithWriteQueueNums(queues))
	if err != nil {
		t.Fatalf("CreateTopic %s (UPDATE_AND_CREATE_TOPIC, code 17) at %s: %v", topic, s.BrokerAddr, err)
	}
	mqs := waitRoute(t, a, topic)
	if len(mqs) != queues {
		t.Fatalf("topic %s created with %d queues but the name server routes %d: %v", topic, queues, len(mqs), mqs)
	}
	return mqs
}

// waitRoute polls the name server (GET_ROUTEINFO_BY_TOPIC, 105) until topic has writable queues.
func waitRoute(t *testing.T, a admin.Admin, topic string) []*primitive.MessageQueue {
	t.Helper()
	deadline := time.Now().Add(routeTimeout)
	for {
		mqs, err := a.FetchPublishMessageQueues(context.Background(), topic)
		if err == nil && len(mqs) > 0 {
			for _, mq := range mqs {
				if mq.BrokerName != "broker-a" {
					t.Fatalf("route of %s names broker %q, want broker-a: %v", topic, mq.BrokerName, mqs)
				}
			}
			return mqs
		}
		if time.Now().After(deadline) {
			t.Fatalf("name server has no route for topic %s %s after it was created (GET_ROUTEINFO_BY_TOPIC, "+
				"code 105; the broker must register a new topic right away): last error %v, queues %v",
				topic, routeTimeout, err, mqs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sendSync sends one message or a batch and fails the test unless the broker answers SEND_OK.
func sendSync(t *testing.T, p rocketmq.Producer, msgs ...*primitive.Message) *primitive.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, msgs...)
	if err != nil {
		t.Fatalf("SendSync to %s (%d message(s)): %v", msgs[0].Topic, len(msgs), err)
	}
	if res.Status != primitive.SendOK {
		t.Fatalf("SendSync to %s: status %v, want SendOK (%v)", msgs[0].Topic, res.Status, res)
	}
	if res.MessageQueue == nil || res.MessageQueue.Topic != msgs[0].Topic {
		t.Fatalf("SendSync result names queue %v, want topic %s", res.MessageQueue, msgs[0].Topic)
	}
	if res.OffsetMsgID == "" {
		t.Fatalf("SendSync result has no offset message id (ext field msgId missing): %v", res)
	}
	return res
}
