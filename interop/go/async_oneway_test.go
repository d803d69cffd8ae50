package interop

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestAsyncAndOneWaySend creates a topic with the admin API (UPDATE_AND_CREATE_TOPIC, code 17), starts
// a push consumer first (so its pulls are held by the broker and must be woken by new messages), then
// sends 150 messages with SendAsync and 150 with SendOneWay. Every async callback must report SEND_OK
// and the consumer must receive all 300 messages exactly once.
func TestAsyncAndOneWaySend(t *testing.T) {
	s := startStandalone(t)
	a := newAdmin(t, s)
	topic := uniqueName(t, "T")
	createTopic(t, s, a, topic, 4)

	in := newInbox()
	newPushConsumer(t, s, uniqueName(t, "CG"), topic, "*", in)
	p := newProducer(t, s)

	want := expectedSet{}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		errs    []error
		results []*primitive.SendResult
	)
	for i := 0; i < 150; i++ {
		e := newExpected(topic, "async", i)
		want.add(e)
		wg.Add(1)
		err := p.SendAsync(context.Background(), func(_ context.Context, res *primitive.SendResult, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case res.Status != primitive.SendOK:
				t.Errorf("async send of %s: status %v", e.seq, res.Status)
			default:
				e.result = res
				results = append(results, res)
			}
		}, e.message())
		if err != nil {
			wg.Done()
			t.Fatalf("SendAsync %s: %v", e.seq, err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("async send callbacks did not all run within 30 s")
	}
	for i, err := range errs {
		if i == 10 {
			break
		}
		t.Errorf("async send failed: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d of 150 async sends failed", len(errs))
	}
	checkQueueOffsets(t, results)

	for i := 0; i < 150; i++ {
		e := newExpected(topic, "oneway", i)
		want.add(e)
		if err := p.SendOneWay(context.Background(), e.message()); err != nil {
			t.Fatalf("SendOneWay %s: %v", e.seq, err)
		}
	}

	in.waitAll(t, "push consumer", want)
	checkExactlyOnce(t, "push consumer", in.snapshot(), want, s.BrokerAddr)
}
